//! The second stage: a verified body read as the provider's alert, its severity decided and
//! explained, made the event, and routed into everything it publishes.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;
use time::OffsetDateTime;

use crate::alert::{Alert, Severity, SeveritySource, StatusConflict};
use crate::event::{Attributes, Event, EventError, event_id};
use crate::providers::{MalformedPayload, Provider, Verified};
use crate::severity::SeverityRules;

/// Why an authenticated request could not become an event.
#[derive(Debug, thiserror::Error)]
pub enum Unreadable {
    /// Not a JSON object: the sender's mistake (400).
    #[error(transparent)]
    Malformed(#[from] MalformedPayload),
    /// A bug: the event could not be serialized (500).
    #[error(transparent)]
    Event(#[from] EventError),
}

/// What a severity lookup answers: the severity, or the fallback reason (a fixed label such as
/// `timeout` or `not_found`) that the log line and the metrics carry.
pub type LookupFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Severity, &'static str>> + Send + 'a>>;

/// Where an alert's configured severity lives outside its payload: Atlas's alert configurations,
/// read through the Admin API (`atlas_api`). Tests put a recording stand-in here.
pub trait SeverityLookup: Send + Sync {
    fn atlas_alert_config<'a>(
        &'a self,
        group_id: &'a str,
        alert_config_id: &'a str,
    ) -> LookupFuture<'a>;
}

/// How an alert's severity was decided: the answer to "why was this paged".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assessment {
    pub severity: Severity,
    pub source: SeveritySource,
    /// Why the alert configuration could not say, when it was asked and could not.
    pub fallback: Option<&'static str>,
}

/// What the second stage learned: the event id always, how the severity was decided once the body
/// was an alert, and the event.
pub struct Normalized<'a> {
    pub event_id: String,
    pub assessment: Option<Assessment>,
    /// An unsigned header the signed body contradicted (the body won), for the log line.
    pub status_conflict: Option<StatusConflict>,
    pub event: Result<Event<'a>, Unreadable>,
}

/// The event of one alert of an authenticated body (a group has several), its severity decided;
/// the event id always. `lookup` is asked only for a signed body: with `<P>_ALLOW_UNSIGNED` or a
/// query secret, anyone who can reach the URL could make an Admin API call per request with ids
/// of their choosing.
pub async fn normalize<'a>(
    provider: Provider,
    mut alert: Alert,
    body: &'a [u8],
    rules: &SeverityRules,
    lookup: Option<&dyn SeverityLookup>,
    received: OffsetDateTime,
) -> Normalized<'a> {
    let assessment = assess(provider, &mut alert, rules, lookup).await;
    let status_conflict = alert.status_conflict;
    let own = alert.own(body);
    match Event::new(provider, alert, assessment.source, body, received) {
        Ok(event) => Normalized {
            event_id: event.id.clone(),
            assessment: Some(assessment),
            status_conflict,
            event: Ok(event),
        },
        Err(error) => Normalized {
            event_id: event_id(provider, own),
            assessment: None,
            status_conflict,
            event: Err(error.into()),
        },
    }
}

/// The alerts of a verified body (one, or a group's), their labels chosen for the `labels`
/// attribute (`ALERT_LABELS`); or why it is not one, with the body's event id.
pub fn read<'a>(
    verified: Verified<'a>,
    labels: Option<&[String]>,
) -> Result<Vec<Alert>, (String, Unreadable)> {
    let provider = verified.provider();
    let body = verified.body();
    let mut alerts = provider
        .normalize(verified)
        .map_err(|malformed| (event_id(provider, body), malformed.into()))?;
    for alert in &mut alerts {
        alert.labels.choose(labels);
    }
    Ok(alerts)
}

/// The severity, in order: the provider's own; for Atlas, the alert configuration's
/// `severityOverride` when a lookup is configured and the alert names its configuration; the
/// first matching rule; else `unknown`.
pub async fn assess(
    provider: Provider,
    alert: &mut Alert,
    rules: &SeverityRules,
    lookup: Option<&dyn SeverityLookup>,
) -> Assessment {
    let mut assessment = Assessment {
        severity: alert.severity,
        source: SeveritySource::Provider,
        fallback: None,
    };
    if alert.severity != Severity::Unknown {
        return assessment;
    }
    if let (Provider::Atlas, Some(lookup)) = (provider, lookup) {
        let id = |key: &str| match alert.resource.get(key) {
            Some(Value::String(id)) if !id.is_empty() => Some(id.clone()),
            _ => None,
        };
        // An org-level alert has no project: nothing to look up, the rules decide.
        if let (Some(group_id), Some(config_id)) = (id("group_id"), id("alert_config_id")) {
            match lookup.atlas_alert_config(&group_id, &config_id).await {
                Ok(severity) => {
                    alert.severity = severity;
                    assessment.severity = severity;
                    assessment.source = SeveritySource::AtlasAlertConfig;
                    return assessment;
                }
                Err(reason) => assessment.fallback = Some(reason),
            }
        }
    }
    match rules.decide(&Attributes::new(provider, alert)) {
        Some((severity, source)) => {
            alert.severity = severity;
            assessment.severity = severity;
            assessment.source = source;
        }
        None => assessment.source = SeveritySource::None,
    }
    assessment
}
