//! A provider's configuration: its `<P>_…` variables, read once at start. A provider with none of
//! them set is disabled.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::Provider;
use crate::secret::Secret;

/// How one provider authenticates its requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderConfig {
    /// Signing secrets; any one may match, so a secret can be rotated without downtime.
    pub webhook_secrets: Vec<Secret>,
    /// Secrets accepted as `?secret=` or `?token=`; empty means query secrets are refused.
    pub query_secrets: Vec<Secret>,
    /// Explicit opt-in: a request with no credential at all is accepted.
    pub allow_unsigned: bool,
    /// The headers this deployment's sender signs in, where the sender lets them be renamed
    /// (`<P>_SIGNATURE_HEADER`, `<P>_TIMESTAMP_HEADER`; Grafana): `None` keeps the spec's.
    pub headers: Option<SignedHeaderNames>,
    /// `<P>_REQUIRE_TIMESTAMP`: a signature that does not cover a timestamp (and so can be
    /// replayed forever) is refused.
    pub require_timestamp: bool,
}

/// Renamed signature headers: the signature's own, and the ones it covers, in the spec's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaderNames {
    pub signature: String,
    pub signed: Vec<String>,
}

/// A variable that is set wrong; its value is never part of the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var} is invalid: {reason}")]
pub struct SettingsError {
    pub var: String,
    pub reason: &'static str,
}

/// Secret lists fetched at cold start (Secrets Manager), as written, by the plain variable they
/// stand in for (`ATLAS_WEBHOOK_SECRETS` for `ATLAS_WEBHOOK_SECRETS_ARN`).
pub type Fetched = HashMap<String, Vec<Secret>>;

/// How a provider writes a signing secret: a prefix, then the key as text or in base64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretForm {
    pub prefix: &'static str,
    pub encoding: SecretEncoding,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretEncoding {
    /// The text is the key (its UTF-8 bytes).
    Text,
    /// Standard base64 of the key's bytes.
    Base64,
    /// A bearer token: the key is the `Authorization` value, `Bearer <token>`.
    Bearer,
    /// `user:password`: the key is the `Authorization` value, `Basic <base64(user:password)>`.
    Basic,
}

impl SecretForm {
    /// The key is the secret's text, as the providers' consoles show it.
    pub const TEXT: SecretForm = SecretForm {
        prefix: "",
        encoding: SecretEncoding::Text,
    };

    /// The key a written secret stands for.
    pub fn read(self, written: &str) -> Result<Secret, &'static str> {
        let Some(rest) = written.strip_prefix(self.prefix) else {
            return Err("has a secret without the provider's prefix");
        };
        match self.encoding {
            SecretEncoding::Text => Ok(Secret::new(rest)),
            SecretEncoding::Base64 => match BASE64.decode(rest) {
                Ok(key) if !key.is_empty() => Ok(Secret::from_bytes(key)),
                _ => Err("has a secret that is not base64 after the provider's prefix"),
            },
            SecretEncoding::Bearer if rest.bytes().all(|b| b.is_ascii_graphic()) => {
                Ok(Secret::new(format!("Bearer {rest}")))
            }
            SecretEncoding::Bearer => Err("has a token that is not visible ASCII"),
            SecretEncoding::Basic => match rest.split_once(':') {
                Some((user, _)) if !user.is_empty() && !user.contains(char::is_control) => Ok(
                    Secret::new(format!("Basic {}", BASE64.encode(rest.as_bytes()))),
                ),
                _ => Err("has an entry that is not user:password"),
            },
        }
    }

    /// How `key` is written, the inverse of `read`.
    pub fn write(self, key: &[u8]) -> String {
        let text = String::from_utf8_lossy(key);
        let body = match self.encoding {
            SecretEncoding::Text => text.into_owned(),
            SecretEncoding::Base64 => BASE64.encode(key),
            SecretEncoding::Bearer => text.strip_prefix("Bearer ").unwrap_or(&text).to_owned(),
            SecretEncoding::Basic => text
                .strip_prefix("Basic ")
                .and_then(|b64| BASE64.decode(b64).ok())
                .map_or_else(
                    || text.to_string(),
                    |pair| String::from_utf8_lossy(&pair).into_owned(),
                ),
        };
        format!("{}{body}", self.prefix)
    }
}

impl ProviderConfig {
    /// A provider with none of its variables set is disabled and answers 404.
    pub fn is_enabled(&self) -> bool {
        !self.webhook_secrets.is_empty() || !self.query_secrets.is_empty() || self.allow_unsigned
    }

    /// Reads the provider's credential variables (`<P>_WEBHOOK_SECRETS` for most),
    /// `<P>_QUERY_SECRETS` (or what their `_ARN` variables fetched), `<P>_ALLOW_UNSIGNED`, and
    /// where the spec allows them the header names and `<P>_REQUIRE_TIMESTAMP`; `get` treats a
    /// blank variable as unset.
    pub fn read(
        provider: Provider,
        get: impl Fn(&str) -> Option<String>,
        fetched: &Fetched,
    ) -> Result<Self, SettingsError> {
        let prefix = provider.env_prefix();
        let var = |suffix: &str| format!("{prefix}_{suffix}");
        let invalid = |var: &str, reason| SettingsError {
            var: var.to_owned(),
            reason,
        };
        let secrets = |suffix: &str, form: SecretForm| -> Result<Vec<Secret>, SettingsError> {
            let name = var(suffix);
            match (get(&name), fetched.get(&name)) {
                (Some(_), Some(_)) => Err(invalid(
                    &name,
                    "is set together with its _ARN variable; set only one",
                )),
                (None, Some(list)) => Ok(list.clone()),
                (Some(raw), None) => {
                    parse_secrets(&raw, form).map_err(|reason| invalid(&name, reason))
                }
                (None, None) => Ok(Vec::new()),
            }
        };
        let flag = |suffix: &str| match get(&var(suffix)).as_deref().map(str::trim) {
            None => Ok(false),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(_) => Err(invalid(&var(suffix), "must be true or false")),
        };
        let spec = provider.spec();
        let mut webhook_secrets = Vec::new();
        for (suffix, form) in spec.secret_variables() {
            webhook_secrets.extend(secrets(suffix, form)?);
        }
        let (headers, require_timestamp) = if spec.optional_timestamp {
            (header_names(spec, &get, &var)?, flag("REQUIRE_TIMESTAMP")?)
        } else {
            (None, false)
        };
        Ok(ProviderConfig {
            webhook_secrets,
            query_secrets: secrets("QUERY_SECRETS", SecretForm::TEXT)?,
            allow_unsigned: flag("ALLOW_UNSIGNED")?,
            headers,
            require_timestamp,
        })
    }

    /// The signature header's name here: the spec's, unless renamed.
    pub fn signature_header<'a>(&'a self, spec: &'static super::Spec) -> &'a str {
        self.headers
            .as_ref()
            .map_or(spec.signature_header, |h| h.signature.as_str())
    }

    /// The names of the headers the signature covers here, in the spec's order.
    pub fn signed_headers<'a>(&'a self, spec: &'static super::Spec) -> Vec<&'a str> {
        match &self.headers {
            Some(names) => names.signed.iter().map(String::as_str).collect(),
            None => spec.signed_headers.to_vec(),
        }
    }
}

/// `<P>_SIGNATURE_HEADER` and `<P>_TIMESTAMP_HEADER`, when either is set: header names as HTTP
/// allows them (a token), compared without regard to case as HTTP does.
fn header_names(
    spec: &super::Spec,
    get: &impl Fn(&str) -> Option<String>,
    var: &impl Fn(&str) -> String,
) -> Result<Option<SignedHeaderNames>, SettingsError> {
    let name = |suffix: &str, default: &str| -> Result<(String, bool), SettingsError> {
        match get(&var(suffix)) {
            None => Ok((default.to_ascii_lowercase(), false)),
            Some(raw) => {
                let raw = raw.trim();
                match http::HeaderName::from_bytes(raw.as_bytes()) {
                    Ok(header) => Ok((header.as_str().to_owned(), true)),
                    Err(_) => Err(SettingsError {
                        var: var(suffix),
                        reason: "is not an HTTP header name",
                    }),
                }
            }
        }
    };
    let (signature, renamed) = name("SIGNATURE_HEADER", spec.signature_header)?;
    let mut signed = Vec::new();
    let mut any = renamed;
    // The first header a signature covers is the sender's timestamp.
    for (index, default) in spec.signed_headers.iter().enumerate() {
        let (header, renamed) = match index {
            0 => name("TIMESTAMP_HEADER", default)?,
            _ => (default.to_ascii_lowercase(), false),
        };
        any |= renamed;
        signed.push(header);
    }
    if signed.contains(&signature) {
        return Err(SettingsError {
            var: var("TIMESTAMP_HEADER"),
            reason: "names the signature header",
        });
    }
    Ok(any.then_some(SignedHeaderNames { signature, signed }))
}

impl Provider {
    /// The variables that may instead name an AWS Secrets Manager secret, with `_ARN` appended,
    /// and how the secrets in each are written: signing secrets in the provider's form, query
    /// secrets as text (they are compared as sent).
    pub fn secret_variables() -> impl Iterator<Item = (String, SecretForm)> {
        Provider::ALL.into_iter().flat_map(|p| {
            p.spec()
                .secret_variables()
                .chain([("QUERY_SECRETS", SecretForm::TEXT)])
                .map(move |(kind, form)| (format!("{}_{kind}", p.env_prefix()), form))
        })
    }
}

/// Comma-separated secrets written in `form`, surrounding whitespace ignored; an empty item is a
/// mistake, not a secret that matches an empty signature.
pub fn parse_secrets(raw: &str, form: SecretForm) -> Result<Vec<Secret>, &'static str> {
    raw.split(',')
        .map(str::trim)
        .map(|s| {
            if s.is_empty() {
                Err("has an empty secret in its comma-separated list")
            } else {
                form.read(s)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHSEC: SecretForm = SecretForm {
        prefix: "whsec_",
        encoding: SecretEncoding::Base64,
    };

    #[test]
    fn secret_forms_read_what_they_write() {
        assert_eq!(SecretForm::TEXT.read("abc"), Ok(Secret::new("abc")));
        assert_eq!(SecretForm::TEXT.write(b"abc"), "abc");
        let written = WHSEC.write(b"\x00key\xff");
        assert_eq!(written, "whsec_AGtlef8=");
        assert_eq!(
            WHSEC.read(&written),
            Ok(Secret::from_bytes(*b"\x00key\xff"))
        );
        for bad in ["AGtlef8=", "whsec_", "whsec_not base64!"] {
            assert!(WHSEC.read(bad).is_err(), "{bad}");
        }
    }
}
