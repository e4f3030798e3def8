//! The Atlas Administration API, read for one fact the webhook leaves out: the severity an alert
//! configuration sets (`severityOverride`). Atlas's webhook docs: "The webhook payload does not
//! include the alert severity level that you configure in Atlas. To retrieve the configured
//! severity, make an additional call to the Atlas Administration API Get One Alert Configuration
//! endpoint using the alertConfigId from the webhook payload."
//!
//! One client per warm process: a service account's OAuth token reused until shortly before it
//! expires, each configuration's answer cached (found: `ttl`; not found or no override:
//! `negative_ttl`; a transient failure: a few seconds), concurrent lookups of one configuration
//! sharing one request, every lookup bounded by `budget`, and a `429` honoured for later alerts.
//! Whatever fails, the alert still goes out: the answer is then a [`Reason`] and the severity
//! rules decide.

mod token;
mod transport;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::time::{Instant, timeout_at};

use crate::alert::Severity;
use crate::config::AtlasApiAccount;
use crate::pipeline::{LookupFuture, SeverityLookup};
use crate::providers::fields::is_object_id;
use crate::providers::parse_object;
use crate::secret::Secret;
use token::Tokens;
use transport::{Transport, get};

/// The version of the resource this client reads. mongodb/openapi, `openapi/.raw/v2.yaml`
/// (commit 0002f82), operation `getAlertConfiguration`
/// (`GET /api/atlas/v2/groups/{groupId}/alertConfigs/{alertConfigId}`): its 200 response's only
/// content type, schema `GroupAlertsConfig`. Atlas answers 406 to an unversioned `Accept`.
pub const ALERT_CONFIG_ACCEPT: &str = "application/vnd.atlas.2023-01-01+json";

/// How long a transient failure (timeout, 5xx, unreachable, refused token, garbage) stands for
/// later alerts of the same configuration: long enough that a burst shares one failed request,
/// short enough that the next burst tries again.
pub const TRANSIENT_TTL: Duration = Duration::from_secs(5);

/// How long a `429` stops all requests when it does not say (`Retry-After`), and the most a
/// `Retry-After` is believed.
pub const DEFAULT_BACKOFF: Duration = Duration::from_secs(30);
pub const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);

/// The most configurations cached: past it, expired answers are swept out, then the oldest.
pub const MAX_ENTRIES: usize = 1024;

/// The service account, where the API is, and the lookup's bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtlasApiConfig {
    /// `https://cloud.mongodb.com`, or a local stand-in (`http://127.0.0.1:…`); no trailing slash.
    pub base_url: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// The whole lookup, token included, before the alert goes out without it.
    pub budget: Duration,
    /// How long a configuration's severity is reused.
    pub ttl: Duration,
    /// How long "not found" or "no override" is reused.
    pub negative_ttl: Duration,
}

impl AtlasApiConfig {
    /// The account with the default bounds: 1 s budget, 5 min ttl, 1 min negative ttl.
    pub fn new(
        base_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: Secret,
    ) -> Self {
        AtlasApiConfig {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            client_id: client_id.into(),
            client_secret,
            budget: Duration::from_secs(1),
            ttl: Duration::from_secs(5 * 60),
            negative_ttl: Duration::from_secs(60),
        }
    }
}

impl From<&AtlasApiAccount> for AtlasApiConfig {
    fn from(account: &AtlasApiAccount) -> Self {
        AtlasApiConfig::new(
            account.base_url.clone(),
            account.client_id.clone(),
            account.client_secret.clone(),
        )
    }
}

/// What a lookup answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// The configuration's `severityOverride`, in the contract's words.
    Found(Severity),
    /// Why the configuration could not say; the severity rules decide.
    Fallback(Reason),
}

/// Why a lookup fell back, as the log line and the `fallback_reason` metric name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The configuration sets no severity (or one this relay does not know).
    NoOverride,
    /// The token endpoint refused the service account (wrong id or secret, account removed).
    TokenRefused,
    /// The API refused the token (401).
    Unauthorized,
    /// The service account may not read this project's configurations (403).
    Forbidden,
    /// No such configuration in that project (404): deleted since the alert fired.
    NotFound,
    /// Rate limited (429), now or by an earlier answer's `Retry-After`.
    Throttled,
    /// The budget ran out.
    Timeout,
    /// The ids, or the answer, are not what Atlas sends.
    Malformed,
    /// Atlas could not be reached or failed (5xx, connection refused, an unexpected status).
    Unavailable,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NoOverride => "no_override",
            Reason::TokenRefused => "token_refused",
            Reason::Unauthorized => "unauthorized",
            Reason::Forbidden => "forbidden",
            Reason::NotFound => "not_found",
            Reason::Throttled => "throttled",
            Reason::Timeout => "timeout",
            Reason::Malformed => "malformed",
            Reason::Unavailable => "unavailable",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed request: why, and the HTTP status when there was one. Never the request itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Failure {
    reason: Reason,
    status: Option<u16>,
}

impl Failure {
    fn new(reason: Reason) -> Self {
        Failure {
            reason,
            status: None,
        }
    }

    fn status(reason: Reason, status: u16) -> Self {
        Failure {
            reason,
            status: Some(status),
        }
    }
}

/// The one warning per failed request.
fn log_failure(failure: Failure, group_id: &str, alert_config_id: &str) {
    tracing::warn!(
        target: "alert_relay",
        reason = failure.reason.as_str(),
        group_id,
        alert_config_id,
        status = failure.status,
        "atlas alert configuration lookup failed"
    );
}

/// Reads alert configurations' severities through the Admin API; cheap to clone (one shared
/// cache, token and connection pool).
#[derive(Clone)]
pub struct AtlasApi {
    inner: Arc<Inner>,
}

struct Inner {
    config: AtlasApiConfig,
    transport: Transport,
    tokens: Tokens,
    /// One slot per `group/configuration`: its lock is the single flight, its content the cache.
    /// A list in the order the slots were made, searched in order: a project has tens of alert
    /// configurations, and the list holds at most `MAX_ENTRIES`.
    slots: Mutex<Vec<(String, Arc<Slot>)>>,
    /// No request before this instant: a `429` said so.
    backoff_until: Mutex<Option<Instant>>,
}

type Slot = tokio::sync::Mutex<Option<Cached>>;

#[derive(Clone, Copy)]
struct Cached {
    lookup: Lookup,
    until: Instant,
}

impl fmt::Debug for AtlasApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtlasApi")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl AtlasApi {
    /// Builds the client (no request yet). The connector is the one the AWS SDK builds for
    /// itself, so the function links one HTTPS stack.
    pub fn new(config: AtlasApiConfig) -> Self {
        let tokens = Tokens::new(&config);
        AtlasApi {
            inner: Arc::new(Inner {
                config,
                transport: Transport::new(),
                tokens,
                slots: Mutex::new(Vec::new()),
                backoff_until: Mutex::new(None),
            }),
        }
    }

    pub fn config(&self) -> &AtlasApiConfig {
        &self.inner.config
    }

    /// How many configurations the cache holds (answers and lookups in flight).
    pub fn cached(&self) -> usize {
        let slots = self.inner.slots.lock();
        slots.unwrap_or_else(|e| e.into_inner()).len()
    }

    /// The configured severity of `alert_config_id` in project `group_id`, within the budget.
    pub async fn severity(&self, group_id: &str, alert_config_id: &str) -> Lookup {
        // Validated before they reach a URL: an id is 24 hex digits (the spec's `^([a-f0-9]{24})$`).
        let (Some(group_id), Some(config_id)) = (object_id(group_id), object_id(alert_config_id))
        else {
            return Lookup::Fallback(Reason::Malformed);
        };
        let inner = &self.inner;
        let deadline = Instant::now() + inner.config.budget;
        let slot = inner.slot(&group_id, &config_id);
        // Waiting here is waiting for the lookup in flight for the same configuration.
        let Ok(mut cached) = timeout_at(deadline, slot.lock()).await else {
            return Lookup::Fallback(Reason::Timeout);
        };
        if let Some(hit) = cached.filter(|c| c.until > Instant::now()) {
            return hit.lookup;
        }
        let fetched = match timeout_at(deadline, inner.fetch(&group_id, &config_id)).await {
            Ok(fetched) => fetched,
            Err(_) => {
                let failure = Failure::new(Reason::Timeout);
                log_failure(failure, &group_id, &config_id);
                Err(failure)
            }
        };
        let lookup = match fetched {
            Ok(lookup) => lookup,
            Err(failure) => Lookup::Fallback(failure.reason),
        };
        *cached = Some(Cached {
            lookup,
            until: Instant::now() + inner.ttl(lookup),
        });
        lookup
    }
}

impl SeverityLookup for AtlasApi {
    fn atlas_alert_config<'a>(
        &'a self,
        group_id: &'a str,
        alert_config_id: &'a str,
    ) -> LookupFuture<'a> {
        Box::pin(async move {
            match self.severity(group_id, alert_config_id).await {
                Lookup::Found(severity) => Ok(severity),
                Lookup::Fallback(reason) => Err(reason.as_str()),
            }
        })
    }
}

impl Inner {
    fn slot(&self, group_id: &str, config_id: &str) -> Arc<Slot> {
        let key = format!("{group_id}/{config_id}");
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, slot)) = slots.iter().find(|(k, _)| *k == key) {
            return slot.clone();
        }
        if slots.len() >= MAX_ENTRIES {
            let now = Instant::now();
            // Kept: slots in use (locked, or held by a waiter) and fresh answers.
            slots.retain(|(_, slot)| {
                Arc::strong_count(slot) > 1
                    || slot
                        .try_lock()
                        .map_or(true, |c| c.is_some_and(|c| c.until > now))
            });
            // Still full of fresh answers: the oldest go. A lookup still holding one keeps its
            // own copy; only a later lookup of that configuration asks again.
            let excess = (slots.len() + 1).saturating_sub(MAX_ENTRIES);
            slots.drain(..excess);
        }
        let slot = Arc::new(Slot::default());
        slots.push((key, slot.clone()));
        slot
    }

    /// How long an answer stands. Throttled is not cached: the back-off itself answers.
    fn ttl(&self, lookup: Lookup) -> Duration {
        match lookup {
            Lookup::Found(_) => self.config.ttl,
            Lookup::Fallback(Reason::NoOverride | Reason::NotFound | Reason::Forbidden) => {
                self.config.negative_ttl
            }
            Lookup::Fallback(Reason::Throttled) => Duration::ZERO,
            Lookup::Fallback(_) => TRANSIENT_TTL.min(self.config.negative_ttl),
        }
    }

    /// Fails fast while a `429`'s back-off lasts.
    fn check_backoff(&self) -> Result<(), Failure> {
        let until = *self.backoff_until.lock().unwrap_or_else(|e| e.into_inner());
        match until {
            Some(until) if until > Instant::now() => Err(Failure::new(Reason::Throttled)),
            _ => Ok(()),
        }
    }

    fn back_off(&self, retry_after: Option<Duration>) {
        let wait = retry_after.unwrap_or(DEFAULT_BACKOFF).min(MAX_BACKOFF);
        let until = Instant::now() + wait;
        let mut backoff = self.backoff_until.lock().unwrap_or_else(|e| e.into_inner());
        *backoff = Some(backoff.map_or(until, |b| b.max(until)));
    }

    /// One request for the configuration (and one for a token, when none is current). A failed
    /// request is logged here, once; answers replayed from the cache are not.
    async fn fetch(&self, group_id: &str, config_id: &str) -> Result<Lookup, Failure> {
        let logged = |failure: Failure| {
            log_failure(failure, group_id, config_id);
            failure
        };
        // A token failure was logged where the token request failed.
        let token = self.bearer(group_id, config_id).await?;
        self.check_backoff()?;
        let url = format!(
            "{}/api/atlas/v2/groups/{group_id}/alertConfigs/{config_id}",
            self.config.base_url
        );
        let request = get(url, token.header(), ALERT_CONFIG_ACCEPT);
        let answer = self.transport.exchange(request).await.map_err(logged)?;
        let reason = match answer.status {
            200 => {
                return severity_override(&answer.body)
                    .map_err(|reason| logged(Failure::status(reason, 200)));
            }
            401 => {
                self.tokens.forget(&token).await;
                Reason::Unauthorized
            }
            403 => Reason::Forbidden,
            404 => Reason::NotFound,
            429 => {
                self.back_off(answer.retry_after);
                Reason::Throttled
            }
            _ => Reason::Unavailable,
        };
        Err(logged(Failure::status(reason, answer.status)))
    }
}

/// An ObjectId, lower-cased: 24 hex digits, or nothing.
fn object_id(id: &str) -> Option<String> {
    is_object_id(id).then(|| id.to_ascii_lowercase())
}

/// `severityOverride` (CRITICAL, ERROR, WARNING, INFO, any case) of a `GroupAlertsConfig`, in the
/// contract's words.
fn severity_override(body: &[u8]) -> Result<Lookup, Reason> {
    let config = parse_object(body).map_err(|_| Reason::Malformed)?;
    let name = match config.get("severityOverride") {
        None | Some(Value::Null) => return Ok(Lookup::Fallback(Reason::NoOverride)),
        Some(Value::String(name)) => name,
        Some(_) => return Err(Reason::Malformed),
    };
    Ok(Severity::from_name_any_case(name)
        .map_or(Lookup::Fallback(Reason::NoOverride), Lookup::Found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_snake_case_labels() {
        let all = [
            (Reason::NoOverride, "no_override"),
            (Reason::TokenRefused, "token_refused"),
            (Reason::Unauthorized, "unauthorized"),
            (Reason::Forbidden, "forbidden"),
            (Reason::NotFound, "not_found"),
            (Reason::Throttled, "throttled"),
            (Reason::Timeout, "timeout"),
            (Reason::Malformed, "malformed"),
            (Reason::Unavailable, "unavailable"),
        ];
        for (reason, label) in all {
            assert_eq!(reason.as_str(), label);
        }
    }

    #[test]
    fn only_object_ids_reach_a_url() {
        assert_eq!(
            object_id("5D1B6F8E8C2E4E2D3C4A5B6D").as_deref(),
            Some("5d1b6f8e8c2e4e2d3c4a5b6d")
        );
        for bad in [
            "",
            "5d1b6f8e8c2e4e2d3c4a5b6",
            "5d1b6f8e8c2e4e2d3c4a5b6dd",
            "../../../../orgs/5d1b6f8e",
            "5d1b6f8e8c2e4e2d3c4a5b6%",
            "5d1b6f8e8c2e4e2d3c4a5b6\u{e9}",
        ] {
            assert_eq!(object_id(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn severity_override_maps_any_case_and_falls_back_on_the_rest() {
        let read = |body: &str| severity_override(body.as_bytes());
        assert_eq!(
            read(r#"{"severityOverride":"CRITICAL"}"#),
            Ok(Lookup::Found(Severity::Critical))
        );
        assert_eq!(
            read(r#"{"severityOverride":"Warning"}"#),
            Ok(Lookup::Found(Severity::Warning))
        );
        assert_eq!(
            read(r#"{"severityOverride":"error"}"#),
            Ok(Lookup::Found(Severity::Error))
        );
        assert_eq!(
            read(r#"{"severityOverride":"INFO"}"#),
            Ok(Lookup::Found(Severity::Info))
        );
        let none = Ok(Lookup::Fallback(Reason::NoOverride));
        assert_eq!(
            read(r#"{"eventTypeName":"OUTSIDE_METRIC_THRESHOLD"}"#),
            none
        );
        assert_eq!(read(r#"{"severityOverride":null}"#), none);
        assert_eq!(read(r#"{"severityOverride":"UNKNOWN"}"#), none);
        assert_eq!(read(r#"{"severityOverride":"PAGE_ME"}"#), none);
        assert_eq!(read("{not json"), Err(Reason::Malformed));
        assert_eq!(read(r#"["CRITICAL"]"#), Err(Reason::Malformed));
        assert_eq!(read(r#"{"severityOverride":3}"#), Err(Reason::Malformed));
    }

    #[test]
    fn defaults_are_one_second_five_minutes_one_minute() {
        let config = AtlasApiConfig::new("https://cloud.mongodb.com/", "id", Secret::new("s"));
        assert_eq!(config.base_url, "https://cloud.mongodb.com");
        assert_eq!(config.budget, Duration::from_secs(1));
        assert_eq!(config.ttl, Duration::from_secs(300));
        assert_eq!(config.negative_ttl, Duration::from_secs(60));
    }
}
