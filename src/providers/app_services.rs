//! MongoDB App Services-style signed requests: `X-Hook-Signature: sha256=<hex HMAC-SHA256>` of
//! the body, or the secret as a query parameter. The body is any JSON object, read best-effort
//! from the names alerting tools commonly use.

use serde_json::{Map, Value};

use super::fields;
use super::{Reader, SecretForm, SignedForm, Spec};
use crate::alert::{Alert, Severity, Status, parse_time};
use crate::signature::Scheme;

const SIGNATURE_HEADER: &str = "X-Hook-Signature";

pub(super) const SPEC: Spec = Spec {
    slug: "app-services",
    name: "App Services",
    env_prefix: "APP_SERVICES",
    signature_header: SIGNATURE_HEADER,
    signed_headers: &[],
    scheme: "sha256=<hex of HMAC-SHA256>",
    tag: Scheme::SHA256_HEX,
    secrets: SecretForm::TEXT,
    forms: &[SignedForm::Raw],
    event_header: None,
    query_secrets: true,
    variables: &[],
    optional_timestamp: false,
    verify: None,
    sign: None,
    normalize: Reader::One(|body, _| normalize(body)),
};

const ID_KEYS: &[&str] = &["id", "alert_id", "alertId", "_id"];
const STATUS_KEYS: &[&str] = &["status", "state"];
const SEVERITY_KEYS: &[&str] = &["severity", "level", "priority"];
const TITLE_KEYS: &[&str] = &["title", "name", "message", "summary"];
const SUMMARY_KEYS: &[&str] = &["summary", "description", "details", "message", "text"];
const URL_KEYS: &[&str] = &["url", "link", "href"];
const EVENT_TYPE_KEYS: &[&str] = &["type", "event_type", "event"];
const TIME_KEYS: &[&str] = &[
    "occurred_at",
    "timestamp",
    "time",
    "created_at",
    "createdAt",
    "updated_at",
];

fn status(value: &str) -> Status {
    match value.trim().to_ascii_lowercase().as_str() {
        "open" | "opened" | "new" | "firing" | "triggered" | "active" | "alert" | "alerting"
        | "problem" => Status::Open,
        "ack" | "acked" | "acknowledged" | "investigating" => Status::Acknowledged,
        "resolved" | "closed" | "ok" | "recovered" | "fixed" | "inactive" => Status::Resolved,
        "cancelled" | "canceled" => Status::Cancelled,
        "info" | "informational" => Status::Informational,
        _ => Status::Updated,
    }
}

pub(super) fn severity(value: &str) -> Severity {
    match value.trim().to_ascii_lowercase().as_str() {
        "critical" | "crit" | "fatal" | "emergency" | "emerg" | "sev-1" | "sev1" | "p1" | "1" => {
            Severity::Critical
        }
        "error" | "err" | "high" | "major" | "sev-2" | "sev2" | "p2" | "2" => Severity::Error,
        "warning" | "warn" | "medium" | "moderate" | "minor" | "sev-3" | "sev3" | "p3" | "3" => {
            Severity::Warning
        }
        "info" | "informational" | "notice" | "low" | "debug" | "sev-4" | "sev4" | "p4" | "4"
        | "p5" | "5" => Severity::Info,
        _ => Severity::Unknown,
    }
}

/// A string, a number, or MongoDB Extended JSON's `{"$oid": "…"}`.
fn id(body: &Map<String, Value>) -> Option<String> {
    ID_KEYS.iter().find_map(|key| {
        fields::text(body, key)
            .or_else(|| fields::object(body, key).and_then(|o| fields::text(o, "$oid")))
    })
}

/// First key present as text (numbers too, for severities like `1`).
fn first_text(body: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|key| fields::text(body, key))
}

/// Best effort, from the names alerting tools commonly use; any sender that posts JSON.
pub(super) fn normalize(body: &Map<String, Value>) -> Alert {
    // No status at all: a sender posting an alert is raising it.
    let status = first_text(body, STATUS_KEYS).map_or(Status::Open, |s| status(&s));
    let severity = first_text(body, SEVERITY_KEYS).map_or(Severity::Unknown, |s| severity(&s));
    let title = fields::first_str(body, TITLE_KEYS);
    let summary = SUMMARY_KEYS
        .iter()
        .filter_map(|key| fields::str(body, key))
        .find(|s| Some(*s) != title);
    let occurred_at = TIME_KEYS
        .iter()
        .find_map(|key| fields::str(body, key).and_then(parse_time));

    let mut resource = Map::new();
    for key in [
        "service",
        "host",
        "environment",
        "resource",
        "source",
        "component",
    ] {
        if let Some(value) = body.get(key).filter(|v| !v.is_null()) {
            resource.insert(key.to_owned(), value.clone());
        }
    }

    Alert {
        alert_id: id(body),
        status,
        severity,
        event_type: fields::first_str(body, EVENT_TYPE_KEYS).map(str::to_owned),
        title: title.map(str::to_owned),
        summary: summary.map(str::to_owned),
        occurred_at,
        updated_at: None,
        url: fields::first_str(body, URL_KEYS).map(str::to_owned),
        resource,
        ownership: Default::default(),
        status_conflict: None,
        labels: Default::default(),
        annotations: Default::default(),
        source: None,
        group: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(body: &str) -> Alert {
        normalize(&serde_json::from_str(body).unwrap())
    }

    #[test]
    fn normalizes_the_documented_message() {
        let alert = run(include_str!(
            "../../tests/data/seeds/app-services-message.json"
        ));
        assert_eq!(alert.title.as_deref(), Some("MESSAGE"));
        assert_eq!(alert.status, Status::Open);
        assert_eq!(alert.severity, Severity::Unknown);
        assert_eq!(alert.alert_id, None);
        assert_eq!(alert.event_type, None);
    }

    #[test]
    fn reads_common_field_names() {
        let alert = run(
            r#"{"_id":{"$oid":"65a1"},"state":"RESOLVED","level":"Warning","name":"Lag high",
                "description":"Replication lag 30s","link":"https://example.test/a","event":"lag",
                "timestamp":"2024-01-15T10:30:00+01:00","host":"db-1"}"#,
        );
        assert_eq!(alert.alert_id.as_deref(), Some("65a1"));
        assert_eq!(alert.status, Status::Resolved);
        assert_eq!(alert.severity, Severity::Warning);
        assert_eq!(alert.title.as_deref(), Some("Lag high"));
        assert_eq!(alert.summary.as_deref(), Some("Replication lag 30s"));
        assert_eq!(alert.url.as_deref(), Some("https://example.test/a"));
        assert_eq!(alert.event_type.as_deref(), Some("lag"));
        assert_eq!(alert.occurred_at, parse_time("2024-01-15T09:30:00Z"));
        assert_eq!(alert.resource["host"], "db-1");
    }

    #[test]
    fn maps_status_and_severity_vocabularies() {
        for (raw, expected) in [
            ("firing", Status::Open),
            ("ack", Status::Acknowledged),
            ("ok", Status::Resolved),
            ("canceled", Status::Cancelled),
            ("info", Status::Informational),
            ("weird", Status::Updated),
        ] {
            assert_eq!(status(raw), expected, "{raw}");
        }
        for (raw, expected) in [
            ("CRITICAL", Severity::Critical),
            ("P2", Severity::Error),
            ("minor", Severity::Warning),
            ("low", Severity::Info),
            ("whatever", Severity::Unknown),
        ] {
            assert_eq!(severity(raw), expected, "{raw}");
        }
        assert_eq!(run(r#"{"priority": 1}"#).severity, Severity::Critical);
        assert_eq!(run(r#"{"alert_id": 42}"#).alert_id.as_deref(), Some("42"));
    }

    #[test]
    fn tolerates_unusual_types() {
        let alert = run(r#"{"id":[1],"status":{},"title":"","message":null,"url":5}"#);
        assert_eq!(alert.alert_id, None);
        assert_eq!(alert.status, Status::Open);
        assert_eq!(alert.title, None);
        assert_eq!(alert.url, None);
    }
}
