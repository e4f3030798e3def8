//! Configuration, read once at cold start from the environment.
//!
//! A bad configuration is an error naming the variable, never its value: the process stops
//! before it serves anything.

use std::fmt;

use crate::providers::Provider;
use crate::route::Routes;

/// Default and ceiling for `MAX_BODY_BYTES`: SNS's own 256 KiB limit and Lambda's 6 MB payload.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;
const LAMBDA_PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;

/// A shared secret. `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the MAC and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How one provider authenticates its requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderConfig {
    /// Signing secrets; any one may match, so a secret can be rotated without downtime.
    pub webhook_secrets: Vec<Secret>,
    /// Secrets accepted as `?secret=` or `?token=`; empty means query secrets are refused.
    pub query_secrets: Vec<Secret>,
    /// Explicit opt-in: a request with no credential at all is accepted.
    pub allow_unsigned: bool,
}

impl ProviderConfig {
    /// A provider with none of its variables set is disabled and answers 404.
    pub fn is_enabled(&self) -> bool {
        !self.webhook_secrets.is_empty() || !self.query_secrets.is_empty() || self.allow_unsigned
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `ALERT_TOPIC_ARN` and `ALERT_ROUTES`: where alerts go.
    pub routes: Routes,
    pub max_body_bytes: usize,
    /// CloudWatch namespace of the EMF metrics (`METRICS_NAMESPACE`).
    pub metrics_namespace: String,
    /// The SQS queue that keeps publishes that failed (`FALLBACK_QUEUE_URL`); none: a 502.
    pub fallback_queue_url: Option<String>,
    atlas: ProviderConfig,
    app_services: ProviderConfig,
    monte_carlo: ProviderConfig,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is required but not set")]
    Missing(&'static str),
    #[error("{var} is invalid: {reason}")]
    Invalid { var: String, reason: &'static str },
    /// One route of `ALERT_ROUTES`, by its position counted from 1.
    #[error("ALERT_ROUTES route {position}: {reason}")]
    Route { position: usize, reason: String },
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any variable source; an empty variable counts as unset, so a
    /// SAM parameter left blank disables what it configures.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::from_sources(lookup, &Fetched::new())
    }

    /// As `from_lookup`, with secret lists already fetched from AWS Secrets Manager, keyed by the
    /// plain variable they stand in for (`ATLAS_WEBHOOK_SECRETS` for `ATLAS_WEBHOOK_SECRETS_ARN`).
    pub fn from_sources(
        lookup: impl Fn(&str) -> Option<String>,
        fetched: &Fetched,
    ) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let topic_arn = get("ALERT_TOPIC_ARN").ok_or(ConfigError::Missing("ALERT_TOPIC_ARN"))?;
        let topic_arn = topic_arn.trim().to_owned();
        if !is_sns_topic_arn(&topic_arn) {
            return Err(invalid(
                "ALERT_TOPIC_ARN",
                "not an SNS topic ARN (arn:<partition>:sns:<region>:<account>:<name>)",
            ));
        }
        let routes = Routes::parse(topic_arn, get(crate::route::VARIABLE).as_deref())?;

        let max_body_bytes = match get("MAX_BODY_BYTES") {
            None => DEFAULT_MAX_BODY_BYTES,
            Some(raw) => match raw.trim().parse::<usize>() {
                Ok(n) if (1..=LAMBDA_PAYLOAD_LIMIT).contains(&n) => n,
                _ => {
                    return Err(invalid(
                        "MAX_BODY_BYTES",
                        "must be a whole number of bytes from 1 to 6291456",
                    ));
                }
            },
        };

        let metrics_namespace = get("METRICS_NAMESPACE")
            .map(|ns| ns.trim().to_owned())
            .unwrap_or_else(|| crate::metrics::DEFAULT_NAMESPACE.to_owned());
        let valid_namespace = metrics_namespace.len() <= 255
            && !metrics_namespace.starts_with(':')
            && metrics_namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || " .-_/#:".contains(c));
        if !valid_namespace {
            return Err(invalid(
                "METRICS_NAMESPACE",
                "not a valid CloudWatch namespace",
            ));
        }

        let fallback_queue_url = get("FALLBACK_QUEUE_URL").map(|url| url.trim().to_owned());
        if fallback_queue_url.as_deref().is_some_and(|url| {
            !(url.starts_with("https://") || url.starts_with("http://"))
                || url.contains(char::is_whitespace)
        }) {
            return Err(invalid(
                "FALLBACK_QUEUE_URL",
                "not an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)",
            ));
        }

        let provider = |p: Provider| -> Result<ProviderConfig, ConfigError> {
            let prefix = p.env_prefix();
            let var = |suffix: &str| format!("{prefix}_{suffix}");
            let secrets = |suffix: &str| -> Result<Vec<Secret>, ConfigError> {
                let name = var(suffix);
                match (get(&name), fetched.get(&name)) {
                    (Some(_), Some(_)) => Err(invalid(
                        &name,
                        "is set together with its _ARN variable; set only one",
                    )),
                    (None, Some(list)) => Ok(list.clone()),
                    (Some(raw), None) => {
                        parse_secrets(&raw).map_err(|reason| invalid(&name, reason))
                    }
                    (None, None) => Ok(Vec::new()),
                }
            };
            let allow_unsigned = match get(&var("ALLOW_UNSIGNED")).as_deref().map(str::trim) {
                None => false,
                Some(v) if v.eq_ignore_ascii_case("true") => true,
                Some(v) if v.eq_ignore_ascii_case("false") => false,
                Some(_) => return Err(invalid(&var("ALLOW_UNSIGNED"), "must be true or false")),
            };
            Ok(ProviderConfig {
                webhook_secrets: secrets("WEBHOOK_SECRETS")?,
                query_secrets: secrets("QUERY_SECRETS")?,
                allow_unsigned,
            })
        };

        Ok(Config {
            routes,
            max_body_bytes,
            metrics_namespace,
            fallback_queue_url,
            atlas: provider(Provider::Atlas)?,
            app_services: provider(Provider::AppServices)?,
            monte_carlo: provider(Provider::MonteCarlo)?,
        })
    }

    pub fn provider(&self, provider: Provider) -> &ProviderConfig {
        match provider {
            Provider::Atlas => &self.atlas,
            Provider::AppServices => &self.app_services,
            Provider::MonteCarlo => &self.monte_carlo,
        }
    }

    /// Replaces one provider's settings (tests and embedders).
    pub fn with_provider(mut self, provider: Provider, settings: ProviderConfig) -> Self {
        *match provider {
            Provider::Atlas => &mut self.atlas,
            Provider::AppServices => &mut self.app_services,
            Provider::MonteCarlo => &mut self.monte_carlo,
        } = settings;
        self
    }

    /// `ALERT_TOPIC_ARN`.
    pub fn topic_arn(&self) -> &str {
        self.routes.default_topic()
    }
}

/// Secret lists fetched at cold start, by the plain variable name they stand in for.
pub type Fetched = std::collections::HashMap<String, Vec<Secret>>;

/// The variables that may instead name an AWS Secrets Manager secret, with `_ARN` appended.
pub fn secret_variables() -> impl Iterator<Item = String> {
    Provider::ALL.into_iter().flat_map(|p| {
        ["WEBHOOK_SECRETS", "QUERY_SECRETS"].map(move |kind| format!("{}_{kind}", p.env_prefix()))
    })
}

/// A Secrets Manager secret's value: a JSON array of strings, or a comma-separated list.
pub fn parse_secret_value(value: &str) -> Result<Vec<Secret>, &'static str> {
    let value = value.trim();
    if value.starts_with('{') {
        // Secrets Manager's key/value form: refused rather than taken as one literal secret.
        return Err("secret value is a JSON object; store a JSON array of strings or a comma list");
    }
    if !value.starts_with('[') {
        return parse_secrets(value);
    }
    let list: Vec<String> = serde_json::from_str(value).map_err(
        |_| "secret value is neither a JSON array of strings nor a comma-separated list",
    )?;
    if list.is_empty() || list.iter().any(|s| s.is_empty()) {
        return Err("secret value's JSON array is empty or has an empty string");
    }
    Ok(list.into_iter().map(Secret::new).collect())
}

pub(crate) fn invalid(var: &str, reason: &'static str) -> ConfigError {
    ConfigError::Invalid {
        var: var.to_owned(),
        reason,
    }
}

/// Comma-separated secrets, surrounding whitespace ignored; an empty item is a mistake, not a
/// secret that matches an empty signature.
fn parse_secrets(raw: &str) -> Result<Vec<Secret>, &'static str> {
    raw.split(',')
        .map(str::trim)
        .map(|s| {
            if s.is_empty() {
                Err("has an empty secret in its comma-separated list")
            } else {
                Ok(Secret::new(s))
            }
        })
        .collect()
}

/// `arn:<partition>:sns:<region>:<12-digit account>:<name>`, the name 1 to 256 of `A-Z a-z 0-9 _ -`,
/// `.fifo` included where present.
pub(crate) fn is_sns_topic_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    let [prefix, partition, service, region, account, name] = parts[..] else {
        return false;
    };
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    prefix == "arn"
        && !partition.is_empty()
        && partition
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-')
        && service == "sns"
        && !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && (1..=256).contains(&name.len())
        && !base.is_empty()
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:alerts";

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn requires_topic_arn() {
        assert_eq!(load(&[]), Err(ConfigError::Missing("ALERT_TOPIC_ARN")));
        assert_eq!(
            load(&[("ALERT_TOPIC_ARN", "  ")]),
            Err(ConfigError::Missing("ALERT_TOPIC_ARN"))
        );
    }

    #[test]
    fn rejects_a_topic_arn_that_is_not_sns() {
        let err = load(&[("ALERT_TOPIC_ARN", "arn:aws:sqs:us-east-1:123456789012:q")]).unwrap_err();
        assert!(err.to_string().starts_with("ALERT_TOPIC_ARN is invalid"));
    }

    #[test]
    fn providers_without_variables_are_disabled() {
        let config = load(&[("ALERT_TOPIC_ARN", TOPIC), ("ATLAS_WEBHOOK_SECRETS", "")]).unwrap();
        assert!(
            Provider::ALL
                .iter()
                .all(|p| !config.provider(*p).is_enabled())
        );
        assert_eq!(config.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert!(config.routes.routes().is_empty());
    }

    #[test]
    fn reads_several_secrets_per_provider() {
        let config = load(&[
            ("ALERT_TOPIC_ARN", TOPIC),
            ("ATLAS_WEBHOOK_SECRETS", "first, second"),
            ("APP_SERVICES_QUERY_SECRETS", "q1"),
            ("MONTE_CARLO_ALLOW_UNSIGNED", "TRUE"),
            ("MAX_BODY_BYTES", "1024"),
        ])
        .unwrap();
        let atlas = config.provider(Provider::Atlas);
        assert_eq!(
            atlas.webhook_secrets,
            vec![Secret::new("first"), Secret::new("second")]
        );
        assert!(config.provider(Provider::AppServices).is_enabled());
        assert!(config.provider(Provider::MonteCarlo).allow_unsigned);
        assert_eq!(config.max_body_bytes, 1024);
    }

    #[test]
    fn errors_name_the_variable_and_never_the_secret() {
        let err = load(&[
            ("ALERT_TOPIC_ARN", TOPIC),
            ("MONTE_CARLO_WEBHOOK_SECRETS", "hunter2,,x"),
        ])
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("MONTE_CARLO_WEBHOOK_SECRETS"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!format!("{err:?}").contains("hunter2"));
    }

    #[test]
    fn rejects_bad_flags_and_sizes() {
        let err = load(&[("ALERT_TOPIC_ARN", TOPIC), ("ATLAS_ALLOW_UNSIGNED", "yes")]).unwrap_err();
        assert!(err.to_string().contains("ATLAS_ALLOW_UNSIGNED"));
        for size in ["0", "-1", "lots", "7000000"] {
            let err = load(&[("ALERT_TOPIC_ARN", TOPIC), ("MAX_BODY_BYTES", size)]).unwrap_err();
            assert!(err.to_string().contains("MAX_BODY_BYTES"));
        }
    }

    #[test]
    fn reads_the_fallback_queue_url() {
        let url = "https://sqs.us-east-1.amazonaws.com/123456789012/alert-relay-fallback";
        let config = load(&[("ALERT_TOPIC_ARN", TOPIC), ("FALLBACK_QUEUE_URL", url)]).unwrap();
        assert_eq!(config.fallback_queue_url.as_deref(), Some(url));
        assert_eq!(
            load(&[("ALERT_TOPIC_ARN", TOPIC)])
                .unwrap()
                .fallback_queue_url,
            None
        );
        let err = load(&[
            ("ALERT_TOPIC_ARN", TOPIC),
            ("FALLBACK_QUEUE_URL", "alert-relay-fallback"),
        ])
        .unwrap_err();
        assert!(
            err.to_string().starts_with("FALLBACK_QUEUE_URL is invalid"),
            "{err}"
        );
    }

    #[test]
    fn topic_arns_are_checked_part_by_part() {
        for good in [
            TOPIC,
            "arn:aws:sns:us-east-1:123456789012:alerts.fifo",
            "arn:aws-us-gov:sns:us-gov-west-1:123456789012:a_b-C9",
        ] {
            assert!(is_sns_topic_arn(good), "{good}");
        }
        for bad in [
            "arn:aws:sns:us-east-1:12345:alerts",
            "arn:aws:sns:us-east-1:123456789012:",
            "arn:aws:sns:us-east-1:123456789012:.fifo",
            "arn:aws:sns:us-east-1:123456789012:a b",
            "arn:aws:sns::123456789012:alerts",
            "arn:aws:sqs:us-east-1:123456789012:alerts",
            "arn:aws:sns:us-east-1:123456789012:alerts:extra",
        ] {
            assert!(!is_sns_topic_arn(bad), "{bad}");
        }
    }

    #[test]
    fn fetched_secrets_stand_in_for_their_variable() {
        let mut fetched = Fetched::new();
        fetched.insert(
            "ATLAS_WEBHOOK_SECRETS".into(),
            vec![Secret::new("a,b"), Secret::new("c")],
        );
        let lookup = |name: &str| (name == "ALERT_TOPIC_ARN").then(|| TOPIC.to_owned());
        let config = Config::from_sources(lookup, &fetched).unwrap();
        assert_eq!(config.provider(Provider::Atlas).webhook_secrets.len(), 2);
        assert!(config.provider(Provider::Atlas).is_enabled());

        let both = |name: &str| match name {
            "ALERT_TOPIC_ARN" => Some(TOPIC.to_owned()),
            "ATLAS_WEBHOOK_SECRETS" => Some("plain".to_owned()),
            _ => None,
        };
        let err = Config::from_sources(both, &fetched).unwrap_err();
        assert!(err.to_string().contains("ATLAS_WEBHOOK_SECRETS"), "{err}");
        assert!(!err.to_string().contains("plain"));
    }

    #[test]
    fn secret_values_are_json_arrays_or_comma_lists() {
        assert_eq!(
            parse_secret_value(r#"["a,b", "c"]"#).unwrap(),
            vec![Secret::new("a,b"), Secret::new("c")]
        );
        assert_eq!(
            parse_secret_value(" a , b ").unwrap(),
            vec![Secret::new("a"), Secret::new("b")]
        );
        for bad in ["[]", r#"[""]"#, "[1]", r#"{"k":"v"}"#, "[", "a,,b", ""] {
            assert!(parse_secret_value(bad).is_err(), "{bad}");
        }
        assert_eq!(secret_variables().count(), 6);
    }

    #[test]
    fn secrets_are_redacted() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret}"), "[redacted]");
        assert!(!format!("{secret:?}").contains("hunter2"));
        let settings = ProviderConfig {
            webhook_secrets: vec![secret],
            ..Default::default()
        };
        assert!(!format!("{settings:?}").contains("hunter2"));
    }
}
