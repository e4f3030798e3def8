//! Configuration, read once at cold start from the environment.
//!
//! A bad configuration is an error naming the variable, never its value: the process stops
//! before it serves anything.

use crate::pipeline::{Admission, Settings};
use crate::providers::{Fetched, Provider, ProviderConfig, SettingsError};
use crate::route::{Millis, Policy, RouteError, Routes, is_sns_topic_arn, parse_duration};
use crate::secret::Secret;
use crate::severity::{RuleError, SeverityRules};

/// The Atlas Admin API service account's variables.
pub const ATLAS_API_CLIENT_ID: &str = "ATLAS_API_CLIENT_ID";
pub const ATLAS_API_CLIENT_SECRET: &str = "ATLAS_API_CLIENT_SECRET";
pub const ATLAS_API_BASE_URL: &str = "ATLAS_API_BASE_URL";
pub const DEFAULT_ATLAS_API_BASE_URL: &str = "https://cloud.mongodb.com";

/// The fallback queue's ARN: the one queue whose SQS batches the redrive path accepts. Without
/// it, the ARN is derived from `FALLBACK_QUEUE_URL`.
pub const FALLBACK_QUEUE_ARN: &str = "FALLBACK_QUEUE_ARN";

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
    /// The Atlas service account that reads alert configurations (`ATLAS_API_CLIENT_ID`).
    pub atlas_api: Option<AtlasApiAccount>,
    /// Alert state (`ALERT_STATE_TABLE`); none: every verified webhook is published.
    pub state: Option<StateTable>,
}

/// `ALERT_STATE_TABLE` and `ALERT_STATE_RETENTION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateTable {
    /// The table's name or ARN.
    pub table: String,
    /// How long an alert's records outlive its last event (default 30 days).
    pub retention: Millis,
}

pub const DEFAULT_STATE_RETENTION: Millis = 30 * 86_400_000;

/// An Atlas Admin API service account: OAuth 2.0 client credentials, and where the API is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtlasApiAccount {
    /// `https://cloud.mongodb.com`, or a local stand-in; no trailing slash.
    pub base_url: String,
    pub client_id: String,
    pub client_secret: Secret,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is required but not set")]
    Missing(&'static str),
    #[error("{var} is invalid: {reason}")]
    Invalid { var: String, reason: &'static str },
    /// A value whose reason quotes it (never a secret's variable).
    #[error("{var} is invalid: {reason}")]
    Value { var: &'static str, reason: String },
    /// One route of `ALERT_ROUTES`, by its position counted from 1.
    #[error("ALERT_ROUTES route {position}: {reason}")]
    Route { position: usize, reason: String },
    /// `SEVERITY_RULES`, as a whole or one rule by its position counted from 1.
    #[error(transparent)]
    Rules(#[from] RuleError),
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
        let default_policy = Policy::parse(
            get("ALERT_TOPIC_NOTIFY").as_deref(),
            get("ALERT_TOPIC_REPEAT_AFTER").as_deref(),
        )
        .map_err(|reason| ConfigError::Value {
            var: if reason.starts_with("notify") {
                "ALERT_TOPIC_NOTIFY"
            } else {
                "ALERT_TOPIC_REPEAT_AFTER"
            },
            reason,
        })?;
        let routes = Routes::parse(topic_arn, get(crate::route::VARIABLE).as_deref())?
            .with_default_policy(default_policy);
        let state = state_table(get)?;

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

        let fallback_queue_arn = match get(FALLBACK_QUEUE_ARN).map(|arn| arn.trim().to_owned()) {
            Some(arn) if is_sqs_queue_arn(&arn) => Some(arn),
            Some(_) => {
                return Err(invalid(
                    FALLBACK_QUEUE_ARN,
                    "not an SQS queue ARN (arn:<partition>:sqs:<region>:<account>:<name>)",
                ));
            }
            None => match &fallback_queue_url {
                Some(url) => Some(
                    queue_arn_from_url(url, get("AWS_REGION").as_deref().map(str::trim))
                        .ok_or_else(|| {
                            invalid(
                                "FALLBACK_QUEUE_URL",
                                "names no region, account and queue to derive the queue's ARN \
                                 from (set FALLBACK_QUEUE_ARN, or AWS_REGION for a local queue)",
                            )
                        })?,
                ),
                None => None,
            },
        };

        let providers = Provider::ALL
            .into_iter()
            .map(|p| ProviderConfig::read(p, get, fetched))
            .collect::<Result<_, _>>()?;
        // Set but empty counts as absent, like every variable: a blank SAM parameter keeps the
        // defaults. `[]` turns the rules off.
        let severity_rules = SeverityRules::parse(get(crate::severity::VARIABLE).as_deref())?;
        let atlas_api = atlas_api(get, fetched)?;
        let alert_labels = alert_labels(get("ALERT_LABELS").as_deref())?;

        Ok(Config {
            settings: Settings {
                admission: Admission {
                    providers,
                    max_body_bytes,
                },
                routes,
                severity_rules,
                metrics_namespace,
                fallback_queue_arn,
                alert_labels,
            },
            fallback_queue_url,
            atlas_api,
            state,
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

/// `ALERT_STATE_TABLE` turns alert state on; `ALERT_STATE_RETENTION` says for how long.
fn state_table(get: impl Fn(&str) -> Option<String>) -> Result<Option<StateTable>, ConfigError> {
    let retention = match get("ALERT_STATE_RETENTION") {
        None => DEFAULT_STATE_RETENTION,
        Some(text) => match parse_duration(&text) {
            Some(retention) if retention >= 86_400_000 => retention,
            Some(_) => return Err(invalid("ALERT_STATE_RETENTION", "shorter than a day (1d)")),
            None => {
                return Err(invalid(
                    "ALERT_STATE_RETENTION",
                    "not a duration such as \"30d\" or \"12w\"",
                ));
            }
        },
    };
    let Some(table) = get("ALERT_STATE_TABLE").map(|t| t.trim().to_owned()) else {
        return Ok(None);
    };
    // A name (3 to 255 of A-Z a-z 0-9 _ - .) or a table ARN.
    let name = match table.strip_prefix("arn:") {
        Some(arn) => arn.rsplit_once(":table/").map_or("", |(_, name)| name),
        None => table.as_str(),
    };
    let valid = (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
    if !valid {
        return Err(invalid(
            "ALERT_STATE_TABLE",
            "not a DynamoDB table name or ARN (arn:<partition>:dynamodb:<region>:<account>:table/<name>)",
        ));
    }
    Ok(Some(StateTable { table, retention }))
}

/// `ALERT_LABELS`: the label names the `labels` attribute carries, in order, at most ten;
/// unset, the first ten of each alert's labels by name.
fn alert_labels(raw: Option<&str>) -> Result<Option<Vec<String>>, ConfigError> {
    let Some(raw) = raw else { return Ok(None) };
    let invalid = |reason| ConfigError::Invalid {
        var: "ALERT_LABELS".to_owned(),
        reason,
    };
    let names: Vec<String> = raw.split(',').map(|n| n.trim().to_owned()).collect();
    if names.iter().any(|n| n.is_empty() || n.contains('=')) {
        return Err(invalid(
            "has an empty name or a name with '=' in its comma-separated list",
        ));
    }
    if names.len() > crate::alert::LABELS_MAX {
        return Err(invalid(
            "names more than 10 labels; SNS carries at most 10 in the attribute",
        ));
    }
    Ok(Some(names))
}

/// `ATLAS_API_CLIENT_ID` turns the lookup on; its secret is `ATLAS_API_CLIENT_SECRET` or what
/// `ATLAS_API_CLIENT_SECRET_ARN` fetched, never both.
fn atlas_api(
    get: impl Fn(&str) -> Option<String>,
    fetched: &Fetched,
) -> Result<Option<AtlasApiAccount>, ConfigError> {
    let client_id = get(ATLAS_API_CLIENT_ID).map(|id| id.trim().to_owned());
    let plain = get(ATLAS_API_CLIENT_SECRET).map(|s| s.trim().to_owned());
    let from_arn = fetched.get(ATLAS_API_CLIENT_SECRET).and_then(|s| s.first());
    let secret = match (plain, from_arn) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                ATLAS_API_CLIENT_SECRET,
                "is set together with its _ARN variable; set only one",
            ));
        }
        (Some(plain), None) => Some(Secret::new(plain)),
        (None, Some(fetched)) => Some(fetched.clone()),
        (None, None) => None,
    };
    let base_url = get(ATLAS_API_BASE_URL).map(|url| url.trim().trim_end_matches('/').to_owned());
    let Some(client_id) = client_id else {
        if secret.is_some() {
            return Err(invalid(
                ATLAS_API_CLIENT_SECRET,
                "is set without ATLAS_API_CLIENT_ID, which turns the Atlas API lookup on",
            ));
        }
        return Ok(None);
    };
    if client_id.contains(|c: char| c.is_whitespace() || c.is_control() || c == ':') {
        return Err(invalid(
            ATLAS_API_CLIENT_ID,
            "not a service account client id (mdb_sa_id_…)",
        ));
    }
    let Some(client_secret) = secret else {
        return Err(invalid(
            ATLAS_API_CLIENT_ID,
            "is set without ATLAS_API_CLIENT_SECRET or ATLAS_API_CLIENT_SECRET_ARN",
        ));
    };
    let base_url = base_url.unwrap_or_else(|| DEFAULT_ATLAS_API_BASE_URL.to_owned());
    if !is_api_base_url(&base_url) {
        return Err(invalid(
            ATLAS_API_BASE_URL,
            "must be https://host[:port], or http:// to 127.0.0.1, localhost or host.docker.internal",
        ));
    }
    Ok(Some(AtlasApiAccount {
        base_url,
        client_id,
        client_secret,
    }))
}

/// `arn:<partition>:sqs:<region>:<12-digit account>:<name>`, the name as SQS allows it.
fn is_sqs_queue_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    let [prefix, partition, service, region, account, name] = parts[..] else {
        return false;
    };
    prefix == "arn"
        && service == "sqs"
        && is_partition(partition)
        && is_queue(region, account, name)
}

fn is_partition(partition: &str) -> bool {
    !partition.is_empty()
        && partition
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-')
}

/// A region, an account id and a queue name, each as SQS writes them.
fn is_queue(region: &str, account: &str, name: &str) -> bool {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && (1..=80).contains(&name.len())
        && !base.is_empty()
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The ARN of the queue at `url`: `https://sqs.<region>.<domain>/<account>/<name>` (also
/// `sqs-fips.` and the legacy `<region>.queue.<domain>`), the partition by the domain
/// (`amazonaws.com` is `aws`, or `aws-us-gov` for a `us-gov-` region; `amazonaws.com.cn` is
/// `aws-cn`; `c2s.ic.gov` `aws-iso`; `sc2s.sgov.gov` `aws-iso-b`). Any other host (an emulator
/// such as `http://127.0.0.1:PORT/123456789012/name`) is in partition `aws` and in `region`, the
/// function's own (`AWS_REGION`).
fn queue_arn_from_url(url: &str, region: Option<&str>) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let (authority, path) = rest.split_once('/')?;
    let host = authority.split(':').next().unwrap_or_default();
    let (account, name) = path.trim_end_matches('/').split_once('/')?;
    let (region, partition) = match aws_host(host) {
        Some((region, domain)) => {
            let partition = match domain {
                "amazonaws.com" if region.starts_with("us-gov-") => "aws-us-gov",
                "amazonaws.com" => "aws",
                "amazonaws.com.cn" => "aws-cn",
                "c2s.ic.gov" => "aws-iso",
                "sc2s.sgov.gov" => "aws-iso-b",
                _ => return None,
            };
            (region, partition)
        }
        None => (region?, "aws"),
    };
    is_queue(region, account, name)
        .then(|| format!("arn:{partition}:sqs:{region}:{account}:{name}"))
}

/// The region and domain of an SQS endpoint's host name, if it is one.
fn aws_host(host: &str) -> Option<(&str, &str)> {
    const DOMAINS: [&str; 4] = [
        "amazonaws.com",
        "amazonaws.com.cn",
        "c2s.ic.gov",
        "sc2s.sgov.gov",
    ];
    let domain = DOMAINS
        .into_iter()
        .find(|d| host.strip_suffix(d).is_some_and(|h| h.ends_with('.')))?;
    let labels = host.strip_suffix(domain)?.strip_suffix('.')?;
    let region = match labels.split_once('.') {
        Some(("sqs" | "sqs-fips", region)) => region,
        Some((region, "queue")) => region,
        _ => return None,
    };
    (!region.contains('.')).then_some((region, domain))
}

/// An origin the client secret may be sent to: HTTPS anywhere, plain HTTP only to a local stand-in.
fn is_api_base_url(url: &str) -> bool {
    let (https, rest) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        (None, None) => return false,
    };
    let host = rest.rsplit_once(':').map_or(rest, |(host, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) && !port.is_empty() {
            host
        } else {
            rest
        }
    });
    let valid_host = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    valid_host && (https || matches!(host, "127.0.0.1" | "localhost" | "host.docker.internal"))
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

    #[test]
    fn alert_state_settings_are_checked_at_start_naming_the_variable() {
        let config = load(&[
            ("ALERT_TOPIC_ARN", TOPIC),
            ("ALERT_STATE_TABLE", "alert-relay-state"),
            ("ALERT_STATE_RETENTION", "12w"),
        ])
        .unwrap();
        let state = config.state.unwrap();
        assert_eq!(
            (state.table.as_str(), state.retention),
            ("alert-relay-state", 84 * 86_400_000)
        );
        assert_eq!(load(&[("ALERT_TOPIC_ARN", TOPIC)]).unwrap().state, None);
        let error = |vars: &[(&str, &str)]| {
            let mut all = vec![("ALERT_TOPIC_ARN", TOPIC)];
            all.extend_from_slice(vars);
            load(&all).unwrap_err().to_string()
        };
        assert_eq!(
            error(&[("ALERT_TOPIC_NOTIFY", "always")]),
            "ALERT_TOPIC_NOTIFY is invalid: notify \"always\" is not \"changes\" or \"every\""
        );
        assert_eq!(
            error(&[("ALERT_TOPIC_REPEAT_AFTER", "1m")]),
            "ALERT_TOPIC_REPEAT_AFTER is invalid: repeat_after \"1m\" is shorter than 5 minutes"
        );
        assert!(
            error(&[("ALERT_STATE_RETENTION", "2h")])
                .starts_with("ALERT_STATE_RETENTION is invalid")
        );
        assert!(error(&[("ALERT_STATE_TABLE", "a b")]).starts_with("ALERT_STATE_TABLE is invalid"));
        let routes = r#"[{"topic":"arn:aws:sns:us-east-1:123456789012:a"},
                         {"topic":"arn:aws:sns:us-east-1:123456789012:b","repeat_after":"soon"}]"#;
        assert!(
            error(&[("ALERT_ROUTES", routes)])
                .starts_with("ALERT_ROUTES route 2: repeat_after \"soon\" is not a duration"),
            "{}",
            error(&[("ALERT_ROUTES", routes)])
        );
        let table_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/alert-relay-state";
        assert!(load(&[("ALERT_TOPIC_ARN", TOPIC), ("ALERT_STATE_TABLE", table_arn)]).is_ok());
    }

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn severity_rules_default_and_can_be_replaced_or_turned_off() {
        let defaults = load(&[("ALERT_TOPIC_ARN", TOPIC)]).unwrap();
        assert_eq!(defaults.settings.severity_rules, SeverityRules::defaults());
        let none = load(&[("ALERT_TOPIC_ARN", TOPIC), ("SEVERITY_RULES", "[]")]).unwrap();
        assert!(none.settings.severity_rules.is_empty());
        let error = load(&[
            ("ALERT_TOPIC_ARN", TOPIC),
            ("SEVERITY_RULES", r#"[{"filter": {}, "severity": "loud"}]"#),
        ])
        .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("SEVERITY_RULES rule 1: unknown severity \"loud\""),
            "{error}"
        );
    }

    #[test]
    fn the_atlas_api_account_needs_an_id_and_one_secret() {
        let base = [("ALERT_TOPIC_ARN", TOPIC)];
        assert_eq!(load(&base).unwrap().atlas_api, None);
        let account = load(&[
            ("ALERT_TOPIC_ARN", TOPIC),
            ("ATLAS_API_CLIENT_ID", "mdb_sa_id_fake"),
            ("ATLAS_API_CLIENT_SECRET", "mdb_sa_sk_fake-not-a-secret"),
        ])
        .unwrap()
        .atlas_api
        .unwrap();
        assert_eq!(account.base_url, "https://cloud.mongodb.com");
        assert_eq!(account.client_id, "mdb_sa_id_fake");
        assert_eq!(
            account.client_secret.expose(),
            b"mdb_sa_sk_fake-not-a-secret"
        );

        let local = load(&[
            ("ALERT_TOPIC_ARN", TOPIC),
            ("ATLAS_API_CLIENT_ID", "id"),
            ("ATLAS_API_CLIENT_SECRET", "s"),
            ("ATLAS_API_BASE_URL", "http://127.0.0.1:8089/"),
        ])
        .unwrap();
        assert_eq!(local.atlas_api.unwrap().base_url, "http://127.0.0.1:8089");

        let errors = [
            (
                vec![("ATLAS_API_CLIENT_ID", "id")],
                "ATLAS_API_CLIENT_ID is invalid: is set without ATLAS_API_CLIENT_SECRET",
            ),
            (
                vec![("ATLAS_API_CLIENT_SECRET", "s")],
                "ATLAS_API_CLIENT_SECRET is invalid: is set without ATLAS_API_CLIENT_ID",
            ),
            (
                vec![
                    ("ATLAS_API_CLIENT_ID", "id"),
                    ("ATLAS_API_CLIENT_SECRET", "s"),
                    ("ATLAS_API_BASE_URL", "http://cloud.mongodb.com"),
                ],
                "ATLAS_API_BASE_URL is invalid",
            ),
            (
                vec![
                    ("ATLAS_API_CLIENT_ID", "id"),
                    ("ATLAS_API_CLIENT_SECRET", "s"),
                    ("ATLAS_API_BASE_URL", "https://cloud.mongodb.com/api"),
                ],
                "ATLAS_API_BASE_URL is invalid",
            ),
        ];
        for (vars, expected) in errors {
            let mut vars = vars;
            vars.push(("ALERT_TOPIC_ARN", TOPIC));
            let error = load(&vars).unwrap_err().to_string();
            assert!(error.starts_with(expected), "{vars:?}: {error}");
            assert!(!error.contains("s\""), "{error}");
        }
        let mut fetched = Fetched::new();
        fetched.insert(
            ATLAS_API_CLIENT_SECRET.into(),
            vec![Secret::new("from-arn")],
        );
        let vars: HashMap<&str, &str> =
            [("ALERT_TOPIC_ARN", TOPIC), ("ATLAS_API_CLIENT_ID", "id")].into();
        let config =
            Config::from_sources(|name| vars.get(name).map(|v| v.to_string()), &fetched).unwrap();
        assert_eq!(
            config.atlas_api.unwrap().client_secret.expose(),
            b"from-arn"
        );
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
    fn the_fallback_queue_arn_is_given_or_derived_from_its_url() {
        let arn = |vars: &[(&str, &str)]| {
            let mut all = vec![("ALERT_TOPIC_ARN", TOPIC)];
            all.extend_from_slice(vars);
            load(&all).map(|c| c.settings.fallback_queue_arn)
        };
        let url = |url| arn(&[("FALLBACK_QUEUE_URL", url), ("AWS_REGION", "eu-west-1")]);
        let ok = |s: &str| Ok(Some(s.to_owned()));
        assert_eq!(arn(&[]), Ok(None));
        assert_eq!(
            url("https://sqs.us-east-1.amazonaws.com/123456789012/alert-relay-fallback"),
            ok("arn:aws:sqs:us-east-1:123456789012:alert-relay-fallback")
        );
        assert_eq!(
            url("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q.fifo"),
            ok("arn:aws-cn:sqs:cn-north-1:123456789012:q.fifo")
        );
        assert_eq!(
            url("https://sqs-fips.us-gov-west-1.amazonaws.com/123456789012/q"),
            ok("arn:aws-us-gov:sqs:us-gov-west-1:123456789012:q")
        );
        assert_eq!(
            url("https://eu-central-1.queue.amazonaws.com/123456789012/q"),
            ok("arn:aws:sqs:eu-central-1:123456789012:q")
        );
        // An emulator: the function's own region.
        assert_eq!(
            url("http://127.0.0.1:5000/123456789012/fallback"),
            ok("arn:aws:sqs:eu-west-1:123456789012:fallback")
        );
        assert_eq!(
            url("http://localhost:4566/000000000000/fallback/"),
            ok("arn:aws:sqs:eu-west-1:000000000000:fallback")
        );
        // Given, it wins over the URL.
        let given = "arn:aws:sqs:us-east-1:123456789012:the-real-one";
        assert_eq!(
            arn(&[
                (
                    "FALLBACK_QUEUE_URL",
                    "http://127.0.0.1:5000/123456789012/fallback"
                ),
                ("FALLBACK_QUEUE_ARN", given)
            ]),
            ok(given)
        );
        for bad in [
            "arn:aws:sns:us-east-1:123456789012:q",
            "arn:aws:sqs:us-east-1:12345:q",
            "arn:aws:sqs:us-east-1:123456789012:q/x",
            "arn:aws:sqs:us-east-1:123456789012",
        ] {
            let err = arn(&[("FALLBACK_QUEUE_ARN", bad)]).unwrap_err();
            assert!(
                err.to_string().starts_with("FALLBACK_QUEUE_ARN is invalid"),
                "{bad}"
            );
        }
        // No region to be had, or no account and name in the path.
        for bad in [
            "http://127.0.0.1:5000/123456789012/fallback",
            "https://sqs.us-east-1.amazonaws.com/fallback",
            "https://sqs.us-east-1.example.com/123456789012/fallback",
        ] {
            let err = arn(&[("FALLBACK_QUEUE_URL", bad)]).unwrap_err();
            assert!(
                err.to_string().starts_with("FALLBACK_QUEUE_URL is invalid"),
                "{bad}: {err}"
            );
        }
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
