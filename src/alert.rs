//! The normalized alert every provider's normalizer produces: its status and severity in the
//! contract's words, and the facts the event is built from.

use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Open,
    Updated,
    Acknowledged,
    Resolved,
    Cancelled,
    Informational,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Updated => "updated",
            Status::Acknowledged => "acknowledged",
            Status::Resolved => "resolved",
            Status::Cancelled => "cancelled",
            Status::Informational => "informational",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Error,
    Warning,
    Info,
    Unknown,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
            Severity::Unknown => "unknown",
        }
    }
}

/// What a provider's normalizer reads out of its payload; the event fills in the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub alert_id: Option<String>,
    pub status: Status,
    pub severity: Severity,
    pub event_type: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub occurred_at: Option<OffsetDateTime>,
    pub url: Option<String>,
    pub resource: Map<String, Value>,
}

impl Alert {
    pub fn new(status: Status, severity: Severity) -> Self {
        Alert {
            alert_id: None,
            status,
            severity,
            event_type: None,
            title: None,
            summary: None,
            occurred_at: None,
            url: None,
            resource: Map::new(),
        }
    }
}

/// Parses an RFC 3339 timestamp; anything else is treated as absent.
pub fn parse_time(value: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(value.trim(), &Rfc3339).ok()
}
