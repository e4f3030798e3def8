//! `<P>_WEBHOOK_SECRETS_ARN` and `<P>_QUERY_SECRETS_ARN`: secret lists kept in AWS Secrets
//! Manager instead of plain environment variables, read once at cold start; and
//! `ATLAS_API_CLIENT_SECRET_ARN`, the Atlas service account's one secret.

use std::future::Future;
use std::time::Duration;

use futures_util::future::join_all;

use crate::config::{ATLAS_API_CLIENT_SECRET, ConfigError, invalid};
use crate::providers::{Fetched, Provider, SecretForm, parse_secrets};
use crate::secret::Secret;

/// The whole fetch, every secret at once, ends within this: Lambda gives the init phase 10 s, and
/// the SDK's own budget per call is 4.5 s (`publish::sdk_loader`).
pub const FETCH_BUDGET: Duration = Duration::from_secs(6);

/// Fetches every secret named by an `_ARN` variable, all at once, within [`FETCH_BUDGET`].
/// `fetch` returns the secret's string value; nothing is fetched (and no client is needed) when no
/// `_ARN` variable is set. The first variable in the documented order that failed is the error.
pub async fn fetch_all<F, Fut, E>(
    lookup: impl Fn(&str) -> Option<String>,
    fetch: F,
) -> Result<Fetched, ConfigError>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<String, E>>,
    E: std::fmt::Display,
{
    fetch_within(lookup, fetch, FETCH_BUDGET).await
}

/// [`fetch_all`] with another budget.
pub async fn fetch_within<F, Fut, E>(
    lookup: impl Fn(&str) -> Option<String>,
    fetch: F,
    budget: Duration,
) -> Result<Fetched, ConfigError>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<String, E>>,
    E: std::fmt::Display,
{
    let requested: Vec<(String, Kind, String)> = variables()
        .filter_map(|(name, kind)| {
            let arn = lookup(&format!("{name}_ARN"))
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())?;
            Some((name, kind, arn))
        })
        .collect();
    let fetches = requested.iter().map(|(name, _, arn)| {
        let request = fetch(arn.clone());
        async move {
            match tokio::time::timeout(budget, request).await {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(error)) => {
                    // The SDK's error says why (access denied, not found), never the value.
                    tracing::error!(variable = %format!("{name}_ARN"), error = %error, "could not read secret");
                    Err("names a secret that could not be read from Secrets Manager")
                }
                Err(_) => {
                    tracing::error!(
                        variable = %format!("{name}_ARN"),
                        budget_ms = budget.as_millis() as u64,
                        "Secrets Manager did not answer in time"
                    );
                    Err("names a secret Secrets Manager did not return in time")
                }
            }
        }
    });
    let values = join_all(fetches).await;
    let mut fetched = Fetched::new();
    for ((name, kind, _), value) in requested.into_iter().zip(values) {
        let arn_var = format!("{name}_ARN");
        let value = value.map_err(|reason| invalid(&arn_var, reason))?;
        let secrets = match kind {
            Kind::List(form) => parse_secret_value(&value, form),
            Kind::One => parse_one(&value).map(|secret| vec![secret]),
        }
        .map_err(|reason| invalid(&arn_var, reason))?;
        fetched.insert(name, secrets);
    }
    Ok(fetched)
}

/// How a fetched value is read: a list of secrets in a provider's form, or one secret as text.
#[derive(Clone, Copy)]
enum Kind {
    List(SecretForm),
    One,
}

/// Every variable that may instead name a Secrets Manager secret, with `_ARN` appended.
fn variables() -> impl Iterator<Item = (String, Kind)> {
    Provider::secret_variables()
        .map(|(name, form)| (name, Kind::List(form)))
        .chain(std::iter::once((
            ATLAS_API_CLIENT_SECRET.to_owned(),
            Kind::One,
        )))
}

/// Whether any `_ARN` variable is set, so `main` builds a Secrets Manager client only then.
pub fn any_requested(lookup: impl Fn(&str) -> Option<String>) -> bool {
    variables()
        .any(|(name, _)| lookup(&format!("{name}_ARN")).is_some_and(|v| !v.trim().is_empty()))
}

/// The service account's client secret, stored as plain text.
fn parse_one(value: &str) -> Result<Secret, &'static str> {
    let value = value.trim();
    if value.is_empty() {
        return Err("secret value is empty");
    }
    if value.starts_with('{') || value.starts_with('[') {
        return Err("secret value is JSON; store the client secret as plain text");
    }
    Ok(Secret::new(value))
}

/// A Secrets Manager secret's value: a JSON array of strings, or a comma-separated list, each
/// secret written in `form`.
pub fn parse_secret_value(value: &str, form: SecretForm) -> Result<Vec<Secret>, &'static str> {
    let value = value.trim();
    if value.starts_with('{') {
        // Secrets Manager's key/value form: refused rather than taken as one literal secret.
        return Err("secret value is a JSON object; store a JSON array of strings or a comma list");
    }
    if !value.starts_with('[') {
        return parse_secrets(value, form);
    }
    let list: Vec<String> = serde_json::from_str(value).map_err(
        |_| "secret value is neither a JSON array of strings nor a comma-separated list",
    )?;
    if list.is_empty() || list.iter().any(|s| s.is_empty()) {
        return Err("secret value's JSON array is empty or has an empty string");
    }
    list.iter().map(|secret| form.read(secret)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[tokio::test]
    async fn fetches_only_the_named_secrets() {
        let lookup = env(&[
            (
                "ALERT_TOPIC_ARN",
                "arn:aws:sns:us-east-1:123456789012:alerts",
            ),
            (
                "MONTE_CARLO_WEBHOOK_SECRETS_ARN",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:mc",
            ),
            (
                "APP_SERVICES_QUERY_SECRETS_ARN",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:q",
            ),
        ]);
        assert!(any_requested(&lookup));
        let fetched = fetch_all(&lookup, |arn: String| async move {
            Ok::<_, &str>(if arn.ends_with(":mc") {
                r#"["one","two"]"#.to_owned()
            } else {
                "q1".to_owned()
            })
        })
        .await
        .unwrap();
        let config = Config::from_sources(&lookup, &fetched).unwrap();
        assert_eq!(
            config
                .provider(crate::providers::Provider::MonteCarlo)
                .webhook_secrets
                .len(),
            2
        );
        assert_eq!(
            config
                .provider(crate::providers::Provider::AppServices)
                .query_secrets
                .len(),
            1
        );
        assert!(
            !config
                .provider(crate::providers::Provider::Atlas)
                .is_enabled()
        );
    }

    #[tokio::test]
    async fn a_secret_that_cannot_be_read_stops_the_start_naming_the_variable() {
        let lookup = env(&[(
            "ATLAS_WEBHOOK_SECRETS_ARN",
            "arn:aws:secretsmanager:us-east-1:1:secret:gone",
        )]);
        let err = fetch_all(&lookup, |_| async { Err::<String, _>("AccessDenied") })
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("ATLAS_WEBHOOK_SECRETS_ARN is invalid"),
            "{err}"
        );
        let err = fetch_all(&lookup, |_| async {
            Ok::<_, &str>(r#"{"k":"hunter2"}"#.to_owned())
        })
        .await
        .unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    /// Six secrets, each answered after 1.8 s: one after another they would make the function
    /// ready after 10.8 s, past Lambda's 10 s init limit.
    const SIX: &[(&str, &str)] = &[
        (
            "ATLAS_WEBHOOK_SECRETS_ARN",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:a",
        ),
        (
            "ATLAS_QUERY_SECRETS_ARN",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:b",
        ),
        (
            "APP_SERVICES_WEBHOOK_SECRETS_ARN",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:c",
        ),
        (
            "APP_SERVICES_QUERY_SECRETS_ARN",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:d",
        ),
        (
            "MONTE_CARLO_WEBHOOK_SECRETS_ARN",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:e",
        ),
        (
            "ATLAS_API_CLIENT_SECRET_ARN",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:f",
        ),
    ];

    #[tokio::test(start_paused = true)]
    async fn slow_secrets_are_fetched_at_once() {
        let started = tokio::time::Instant::now();
        let fetched = fetch_all(env(SIX), |_| async {
            tokio::time::sleep(Duration::from_millis(1800)).await;
            Ok::<_, &str>("s1".to_owned())
        })
        .await
        .unwrap();
        assert_eq!(fetched.len(), 6);
        let took = started.elapsed();
        assert!(took < Duration::from_millis(1900), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_secrets_manager_stops_the_start_within_the_budget() {
        let started = tokio::time::Instant::now();
        let error = fetch_all(env(SIX), |arn: String| async move {
            if arn.ends_with(":c") {
                std::future::pending::<()>().await;
            }
            Ok::<_, &str>("s1".to_owned())
        })
        .await
        .unwrap_err();
        let took = started.elapsed();
        assert!(took <= FETCH_BUDGET + Duration::from_millis(10), "{took:?}");
        assert!(FETCH_BUDGET < Duration::from_secs(10));
        assert_eq!(
            error.to_string(),
            "APP_SERVICES_WEBHOOK_SECRETS_ARN is invalid: names a secret Secrets Manager did not return in time"
        );
    }

    #[tokio::test]
    async fn the_atlas_api_client_secret_is_one_plain_text_secret() {
        let lookup = env(&[(
            "ATLAS_API_CLIENT_SECRET_ARN",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:f",
        )]);
        let fetched = fetch_all(&lookup, |_| async { Ok::<_, &str>(" a,b ".to_owned()) })
            .await
            .unwrap();
        assert_eq!(fetched["ATLAS_API_CLIENT_SECRET"], [Secret::new("a,b")]);
        let error = fetch_all(&lookup, |_| async {
            Ok::<_, &str>(r#"{"secret":"hunter2"}"#.to_owned())
        })
        .await
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "ATLAS_API_CLIENT_SECRET_ARN is invalid: secret value is JSON; store the client secret as plain text"
        );
    }

    #[tokio::test]
    async fn nothing_is_fetched_without_arn_variables() {
        let lookup = env(&[("ATLAS_WEBHOOK_SECRETS", "plain")]);
        assert!(!any_requested(&lookup));
        let fetched = fetch_all(&lookup, |_| async { Err::<String, _>("unreachable") })
            .await
            .unwrap();
        assert!(fetched.is_empty());
    }

    #[test]
    fn secret_values_are_json_arrays_or_comma_lists() {
        assert_eq!(
            parse_secret_value(r#"["a,b", "c"]"#, SecretForm::TEXT).unwrap(),
            vec![Secret::new("a,b"), Secret::new("c")]
        );
        assert_eq!(
            parse_secret_value(" a , b ", SecretForm::TEXT).unwrap(),
            vec![Secret::new("a"), Secret::new("b")]
        );
        for bad in ["[]", r#"[""]"#, "[1]", r#"{"k":"v"}"#, "[", "a,,b", ""] {
            assert!(parse_secret_value(bad, SecretForm::TEXT).is_err(), "{bad}");
        }
        // Each provider's credential variables and its query secrets.
        let variables: Vec<String> = Provider::secret_variables().map(|(v, _)| v).collect();
        assert_eq!(
            variables.len(),
            Provider::ALL
                .iter()
                .map(|p| p.spec().secret_variables().count() + 1)
                .sum::<usize>()
        );
        for variable in [
            "ATLAS_WEBHOOK_SECRETS",
            "ATLAS_QUERY_SECRETS",
            "ALERTMANAGER_BEARER_TOKENS",
            "ALERTMANAGER_BASIC_AUTH",
        ] {
            assert!(variables.iter().any(|v| v == variable), "{variable}");
        }
        assert!(
            !variables
                .iter()
                .any(|v| v == "ALERTMANAGER_WEBHOOK_SECRETS")
        );
    }
}
