//! `providers`: the registry as alert-relay has it, for people and for the scripts that derive
//! the template and the sample events from it.

use alert_relay::providers::{Provider, SecretEncoding};
use serde_json::{Value, json};

/// One line per provider: where it is served, what signs it, what configures it.
pub fn table() -> String {
    let mut out = String::new();
    for provider in Provider::ALL {
        let spec = provider.spec();
        let mut headers = vec![spec.signature_header];
        headers.extend(spec.signed_headers);
        let variables: Vec<String> = spec
            .secret_variables()
            .map(|(suffix, _)| format!("{}_{suffix}", spec.env_prefix))
            .collect();
        out.push_str(&format!(
            "{}: {}\n  POST /webhooks/{}\n  {}: {}\n  {}{}\n",
            spec.slug,
            spec.name,
            spec.slug,
            headers.join(", "),
            spec.scheme,
            variables.join(", "),
            match spec.secrets.prefix {
                "" => String::new(),
                prefix => format!(" ({prefix}… secrets)"),
            },
        ));
    }
    out
}

/// The registry as a JSON array, in its order.
pub fn json() -> String {
    let providers: Vec<Value> = Provider::ALL
        .into_iter()
        .map(|provider| {
            let spec = provider.spec();
            json!({
                "slug": spec.slug,
                "name": spec.name,
                "env_prefix": spec.env_prefix,
                "signature_header": spec.signature_header,
                "signed_headers": spec.signed_headers,
                "scheme": spec.scheme,
                "forms": spec.forms.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
                "secret_prefix": spec.secrets.prefix,
                "secret_encoding": match spec.secrets.encoding {
                    SecretEncoding::Text => "text",
                    SecretEncoding::Base64 => "base64",
                    SecretEncoding::Bearer => "bearer",
                    SecretEncoding::Basic => "basic",
                },
                "secret_variables": spec.secret_variables().map(|(suffix, form)| json!({
                    "variable": format!("{}_{suffix}", spec.env_prefix),
                    "kind": match form.encoding {
                        SecretEncoding::Bearer => "bearer",
                        SecretEncoding::Basic => "basic",
                        _ => "signing",
                    },
                })).collect::<Vec<_>>(),
                "optional_timestamp": spec.optional_timestamp,
                "groups": provider.sends_groups(),
                "event_header": spec.event_header,
                "query_secrets": spec.query_secrets,
            })
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&providers).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lists_every_provider_in_order() {
        let parsed: Vec<Value> = serde_json::from_str(&json()).unwrap();
        let slugs: Vec<&str> = parsed.iter().map(|p| p["slug"].as_str().unwrap()).collect();
        let expected: Vec<&str> = Provider::ALL.iter().map(|p| p.slug()).collect();
        assert_eq!(slugs, expected);
        assert_eq!(parsed[0]["signature_header"], "X-MMS-Signature");
        assert_eq!(parsed[0]["event_header"], "X-MMS-Event");
        assert!(table().contains("POST /webhooks/monte-carlo"));
    }
}
