//! Configuration, read once at cold start from the environment.
//!
//! A bad configuration is an error naming the variable, never its value: the process stops
//! before it serves anything.

use crate::pipeline::{Admission, Settings};
use crate::providers::{Fetched, Provider, ProviderConfig, SettingsError};
use crate::route::{RouteError, Routes, is_sns_topic_arn};

/// Default and ceiling for `MAX_BODY_BYTES`: SNS's own 256 KiB limit and Lambda's 6 MB payload.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;
const LAMBDA_PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;

/// What the environment says: the request stages' settings, and the fallback queue `main`
/// builds a client for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub settings: Settings,
    /// The SQS queue that keeps publishes that failed (`FALLBACK_QUEUE_URL`); none: a 502.
    pub fallback_queue_url: Option<String>,
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

impl From<Config> for Settings {
    fn from(config: Config) -> Settings {
        config.settings
    }
}

impl From<SettingsError> for ConfigError {
    fn from(error: SettingsError) -> Self {
        ConfigError::Invalid {
            var: error.var,
            reason: error.reason,
        }
    }
}

impl From<RouteError> for ConfigError {
    fn from(error: RouteError) -> Self {
        match error {
            RouteError::Invalid(reason) => invalid(crate::route::VARIABLE, reason),
            RouteError::Route { position, reason } => ConfigError::Route { position, reason },
        }
    }
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

        let providers = Provider::ALL
            .into_iter()
            .map(|p| ProviderConfig::read(p, get, fetched))
            .collect::<Result<_, _>>()?;

        Ok(Config {
            settings: Settings {
                admission: Admission {
                    providers,
                    max_body_bytes,
                },
                routes,
                metrics_namespace,
            },
            fallback_queue_url,
        })
    }

    pub fn provider(&self, provider: Provider) -> &ProviderConfig {
        self.settings.admission.provider(provider)
    }

    /// Replaces one provider's settings (tests and embedders).
    pub fn with_provider(mut self, provider: Provider, settings: ProviderConfig) -> Self {
        self.settings.admission.providers[provider.index()] = settings;
        self
    }
}

pub(crate) fn invalid(var: &str, reason: &'static str) -> ConfigError {
    ConfigError::Invalid {
        var: var.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
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
        assert_eq!(
            config.settings.admission.max_body_bytes,
            DEFAULT_MAX_BODY_BYTES
        );
        assert!(config.settings.routes.routes().is_empty());
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
        assert_eq!(config.settings.admission.max_body_bytes, 1024);
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
