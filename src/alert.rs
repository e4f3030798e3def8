//! The normalized alert every provider's normalizer produces: its status and severity in the
//! contract's words, and the facts the event is built from.

use std::collections::BTreeMap;
use std::ops::Range;

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

    /// The contract's words, as `SEVERITY_RULES` writes them (`unknown` is not one a rule sets).
    pub fn from_name(name: &str) -> Option<Severity> {
        Self::KNOWN.into_iter().find(|s| s.as_str() == name)
    }

    /// As [`Severity::from_name`], in any case (`CRITICAL`, `Warning`): how Atlas writes them.
    pub fn from_name_any_case(name: &str) -> Option<Severity> {
        Self::KNOWN
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(name))
    }

    const KNOWN: [Severity; 4] = [
        Severity::Critical,
        Severity::Error,
        Severity::Warning,
        Severity::Info,
    ];
}

/// Where an alert's severity came from (`data.severity_source`): an operator asking "why was this
/// paged" reads the answer here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeveritySource {
    /// The provider's payload (or a header it sent) said it.
    Provider,
    /// Atlas's alert configuration (`severityOverride`), looked up through the Admin API.
    AtlasAlertConfig,
    /// The operator's `SEVERITY_RULES`, this rule counted from 1.
    Rule(usize),
    /// The shipped default rule set, this rule counted from 1.
    DefaultRule(usize),
    /// Nothing said: the severity is `unknown`.
    None,
}

impl std::fmt::Display for SeveritySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SeveritySource::Provider => f.write_str("provider"),
            SeveritySource::AtlasAlertConfig => f.write_str("atlas-alert-config"),
            SeveritySource::Rule(n) => write!(f, "rule {n}"),
            SeveritySource::DefaultRule(n) => write!(f, "default-rule {n}"),
            SeveritySource::None => f.write_str("none"),
        }
    }
}

impl Serialize for SeveritySource {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Who owns what the alert is about: the facts teams route and page on, carried as SNS message
/// attributes. A fact the payload does not state is `None` (or no tables), never an empty string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ownership {
    /// Atlas: the project's name, else its `groupId`.
    pub project: Option<String>,
    /// Atlas: the cluster's name.
    pub cluster: Option<String>,
    /// Monte Carlo: the payload's `group_id`, verbatim.
    pub group: Option<String>,
    /// Monte Carlo: the tables the incident names, each once, in the payload's order.
    pub tables: Vec<String>,
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
    /// The sender's own time of its last change to the alert (Atlas's `updated`): alert state
    /// orders events by it, and treats an older one as stale.
    pub updated_at: Option<OffsetDateTime>,
    pub url: Option<String>,
    pub resource: Map<String, Value>,
    pub ownership: Ownership,
    /// Where an unsigned header said one thing and the signed body another (Atlas's
    /// `X-MMS-Event` against the body's `status`): the body won, and the log line says so.
    pub status_conflict: Option<StatusConflict>,
    /// The sender's labels (Grafana, Alertmanager): `data.labels`, and the `labels` attribute.
    pub labels: Labels,
    /// The sender's annotations (`summary`, `description`, `runbook_url`, …): `data.annotations`.
    pub annotations: BTreeMap<String, String>,
    /// Where in the body this alert's own JSON object is, when the body is a group of alerts:
    /// its bytes are what the event id hashes and what `data.raw` holds. `None`: the whole body.
    pub source: Option<Range<usize>>,
    /// What the group an alert came in says of itself (`data.group`): its key, receiver, size,
    /// and how many alerts the sender left out.
    pub group: Option<Map<String, Value>>,
}

/// At most this many labels travel as the `labels` message attribute.
pub const LABELS_MAX: usize = 10;

/// An alert's labels, and which of them its `labels` message attribute carries (`name=value`):
/// the ones `ALERT_LABELS` names, else the first [`LABELS_MAX`] by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels {
    all: BTreeMap<String, String>,
    chosen: Vec<String>,
}

impl Labels {
    /// `labels`, the first [`LABELS_MAX`] by name chosen.
    pub fn new(all: BTreeMap<String, String>) -> Self {
        let chosen = all.keys().take(LABELS_MAX).cloned().collect();
        Labels { all, chosen }
    }

    /// Chooses the labels named in `names` that the alert has, in that order, at most
    /// [`LABELS_MAX`]; `None` keeps the first by name.
    pub fn choose(&mut self, names: Option<&[String]>) {
        let Some(names) = names else { return };
        self.chosen = names
            .iter()
            .filter(|name| self.all.contains_key(*name))
            .take(LABELS_MAX)
            .cloned()
            .collect();
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.all.get(name).map(String::as_str)
    }

    pub fn all(&self) -> &BTreeMap<String, String> {
        &self.all
    }

    pub fn into_all(self) -> BTreeMap<String, String> {
        self.all
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// The chosen labels as `(name, value)`, in their order.
    pub fn chosen(&self) -> impl Iterator<Item = (&str, &str)> {
        self.chosen
            .iter()
            .filter_map(|name| Some((name.as_str(), self.all.get(name)?.as_str())))
    }
}

/// An unsigned header's word for what happened, contradicted by the signed body's own status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusConflict {
    /// The header's value, e.g. `alert.close`.
    pub header: &'static str,
    /// The body's status, e.g. `OPEN`.
    pub body: &'static str,
}

impl std::fmt::Display for StatusConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "header {} contradicts body status {}; body wins",
            self.header, self.body
        )
    }
}

impl Alert {
    /// This alert's own bytes in `body`: all of it, or a group's alert's object.
    pub fn own<'b>(&self, body: &'b [u8]) -> &'b [u8] {
        self.source
            .clone()
            .and_then(|range| body.get(range))
            .unwrap_or(body)
    }

    pub fn new(status: Status, severity: Severity) -> Self {
        Alert {
            alert_id: None,
            status,
            severity,
            event_type: None,
            title: None,
            summary: None,
            occurred_at: None,
            updated_at: None,
            url: None,
            resource: Map::new(),
            ownership: Ownership::default(),
            status_conflict: None,
            labels: Labels::default(),
            annotations: BTreeMap::new(),
            source: None,
            group: None,
        }
    }
}

/// Parses an RFC 3339 timestamp (fractional seconds too); anything else is treated as absent.
pub fn parse_time(value: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(value.trim(), &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_times_with_milliseconds() {
        let time = parse_time("2024-01-15T10:30:00.123Z").unwrap();
        assert_eq!(time.unix_timestamp(), 1_705_314_600);
        assert_eq!(time.millisecond(), 123);
        assert_eq!(
            parse_time("2016-08-22T15:57:13.562Z").map(|t| t.millisecond()),
            Some(562)
        );
        assert_eq!(parse_time("2024-01-15 10:30"), None);
    }

    #[test]
    fn a_status_conflict_reads_as_a_sentence() {
        let conflict = StatusConflict {
            header: "alert.close",
            body: "OPEN",
        };
        assert_eq!(
            conflict.to_string(),
            "header alert.close contradicts body status OPEN; body wins"
        );
    }
}
