//! The common event: a CloudEvents 1.0 envelope around the normalized alert, and the SNS message
//! (subject, attributes, FIFO fields) that carries it.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::alert::{Alert, Ownership, Severity, SeveritySource, Status};
use crate::providers::Provider;

/// SNS's limit for message plus attributes.
pub const SNS_MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// SNS wants subjects shorter than 100 characters.
const SUBJECT_MAX_CHARS: usize = 99;
const TITLE_MAX_CHARS: usize = 256;
const SUMMARY_MAX_CHARS: usize = 4096;
const ATTRIBUTE_MAX_CHARS: usize = 256;
/// Tables beyond these are left out of the `tables` attribute (the event's `resource` has them).
const TABLES_MAX: usize = 10;
/// Longest alert id used verbatim in `dedup_key`, so that it is always a valid `MessageGroupId`.
const PLAIN_ID_MAX_CHARS: usize = 100;

/// A redelivery of the same bytes gets the same id: first 32 hex of SHA-256(provider ':' body).
pub fn event_id(provider: Provider, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(provider.slug().as_bytes());
    hash.update(b":");
    hash.update(body);
    let mut id = hex::encode(hash.finalize());
    id.truncate(32);
    id
}

#[derive(Serialize)]
struct CloudEvent<'a> {
    specversion: &'static str,
    id: &'a str,
    source: String,
    #[serde(rename = "type")]
    kind: String,
    subject: &'a str,
    time: &'a str,
    datacontenttype: &'static str,
    data: Data<'a>,
}

#[derive(Serialize)]
struct Data<'a> {
    provider: &'static str,
    alert_id: &'a str,
    dedup_key: &'a str,
    status: Status,
    severity: Severity,
    severity_source: SeveritySource,
    event_type: &'a str,
    title: &'a str,
    summary: Option<&'a str>,
    occurred_at: &'a str,
    url: Option<&'a str>,
    resource: &'a Map<String, Value>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<&'a Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lifecycle: Option<&'a Lifecycle>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    raw_truncated: bool,
}

/// `data.lifecycle`, under alert state: the alert's story so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lifecycle {
    /// RFC 3339, as every time below.
    pub first_seen: String,
    /// Events of this alert so far, this one included (duplicates aside).
    pub count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_status: Option<Status>,
    /// The event that opened the current (or last) episode.
    pub opened_at: Option<String>,
    pub opened_event_id: Option<String>,
    /// On `resolved` and `cancelled`: how long the episode was open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<i64>,
}

impl Lifecycle {
    /// `1h 40m`, `3m 5s`, `2d 4h`: how long it was open, for readers.
    pub fn duration_text(&self) -> Option<String> {
        let seconds = self.duration_seconds?;
        let (d, h, m, s) = (
            seconds / 86_400,
            seconds % 86_400 / 3_600,
            seconds % 3_600 / 60,
            seconds % 60,
        );
        Some(match (d, h, m) {
            (0, 0, 0) => format!("{s}s"),
            (0, 0, _) if s > 0 => format!("{m}m {s}s"),
            (0, 0, _) => format!("{m}m"),
            (0, _, 0) => format!("{h}h"),
            (0, _, _) => format!("{h}h {m}m"),
            (_, 0, _) => format!("{d}d"),
            _ => format!("{d}d {h}h"),
        })
    }
}

/// The SNS message attributes every publish of an alert carries, so that a subscription filter
/// policy (or an `ALERT_ROUTES` or `SEVERITY_RULES` filter) can route on them. The first four are
/// always there; the ownership facts only when the alert states them. None is ever empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attributes {
    pub provider: String,
    pub status: String,
    pub severity: String,
    pub event_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// A `String.Array` attribute: SNS matches a filter value on it through any one element, an
    /// `anything-but` only when no element is excluded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<String>,
    /// A `String.Array` attribute of `name=value` entries: the alert's chosen labels
    /// (`ALERT_LABELS`, else the first ten by name), matched as `tables` is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

impl Attributes {
    /// The attributes of `alert` as its provider normalized it.
    pub fn new(provider: Provider, alert: &Alert) -> Self {
        let Ownership {
            project,
            cluster,
            group,
            tables,
        } = &alert.ownership;
        let mut kept: Vec<String> = Vec::new();
        for table in tables.iter().filter_map(|t| fact_value(t)) {
            if kept.len() < TABLES_MAX && !kept.contains(&table) {
                kept.push(table);
            }
        }
        Attributes {
            provider: provider.slug().to_owned(),
            status: alert.status.as_str().to_owned(),
            severity: alert.severity.as_str().to_owned(),
            // The provider's own word, cleaned like the ownership facts: a forged or odd
            // `eventTypeName` must not make SNS refuse the publish.
            event_type: alert
                .event_type
                .as_deref()
                .and_then(fact_value)
                .unwrap_or_else(|| "unknown".to_owned()),
            project: project.as_deref().and_then(fact_value),
            cluster: cluster.as_deref().and_then(fact_value),
            group: group.as_deref().and_then(fact_value),
            tables: kept,
            labels: alert
                .labels
                .chosen()
                .filter_map(|(name, value)| fact_value(&format!("{name}={value}")))
                .collect(),
        }
    }

    /// The `String` attributes that are present, `(name, value)`, in a fixed order.
    pub fn strings(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("provider", Some(self.provider.as_str())),
            ("status", Some(self.status.as_str())),
            ("severity", Some(self.severity.as_str())),
            ("event_type", Some(self.event_type.as_str())),
            ("project", self.project.as_deref()),
            ("cluster", self.cluster.as_deref()),
            ("group", self.group.as_deref()),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
    }

    /// Every attribute as `(name, value)`, the array's once per value: what a filter reads.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        self.strings()
            .chain(self.tables.iter().map(|t| ("tables", t.as_str())))
            .chain(self.labels.iter().map(|l| ("labels", l.as_str())))
            .collect()
    }

    /// The `tables` attribute's `String.Array` value (a JSON array), when there are tables.
    pub fn tables_value(&self) -> Option<String> {
        array_value(&self.tables)
    }

    /// The `labels` attribute's `String.Array` value (a JSON array), when there are labels.
    pub fn labels_value(&self) -> Option<String> {
        array_value(&self.labels)
    }

    /// Every attribute as SNS's `Publish` receives it, `(name, DataType, StringValue)`: the
    /// `String`s, then `tables` as a `String.Array` holding its JSON array. `publish::sns` sends
    /// exactly these, and the filter differential gives moto exactly these.
    pub fn typed(&self) -> impl Iterator<Item = (&'static str, &'static str, Cow<'_, str>)> {
        self.strings()
            .map(|(name, value)| (name, "String", Cow::Borrowed(value)))
            .chain(
                self.tables_value()
                    .map(|value| ("tables", "String.Array", Cow::Owned(value))),
            )
            .chain(
                self.labels_value()
                    .map(|value| ("labels", "String.Array", Cow::Owned(value))),
            )
    }

    /// What the attributes count towards SNS's 256 KiB: names, data type and values.
    pub fn size(&self) -> usize {
        self.typed()
            .map(|(name, data_type, value)| name.len() + data_type.len() + value.len())
            .sum()
    }
}

/// A `String.Array` attribute's value: its JSON array, when it has entries.
fn array_value(entries: &[String]) -> Option<String> {
    (!entries.is_empty()).then(|| Value::from(entries.to_vec()).to_string())
}

/// An ownership fact (or the event type) as an attribute value: one line of characters SNS
/// accepts, at most 256 of them, `None` when empty.
fn fact_value(text: &str) -> Option<String> {
    // SNS attribute values are XML text: no controls, and not U+FFFE or U+FFFF.
    let line: String = text
        .split(|c: char| {
            c.is_whitespace() || c.is_control() || matches!(c, '\u{FFFE}' | '\u{FFFF}')
        })
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!line.is_empty()).then(|| clip(&line, ATTRIBUTE_MAX_CHARS))
}

/// An authenticated alert, normalized and ready to be rendered in any format: every field the
/// CloudEvent carries, plus the SNS subject and attributes every publish of it shares.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub id: String,
    pub provider: Provider,
    pub alert_id: String,
    pub dedup_key: String,
    pub status: Status,
    pub severity: Severity,
    pub severity_source: SeveritySource,
    pub event_type: String,
    pub title: String,
    pub summary: Option<String>,
    /// RFC 3339.
    pub occurred_at: String,
    pub url: Option<String>,
    pub resource: Map<String, Value>,
    /// The sender's labels and annotations (grouped senders), all of them.
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// What the alert's group says of itself, when it came in one.
    pub group: Option<Map<String, Value>>,
    /// The body verbatim (a group's alert: its own object), when it could fit a message at all.
    pub raw: Option<&'a RawValue>,
    /// The sender's time of its last change to the alert, when it says one.
    pub updated_at: Option<OffsetDateTime>,
    /// Under alert state, what the table knows of the alert's life.
    pub lifecycle: Option<Lifecycle>,
    pub subject: String,
    pub attributes: Attributes,
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("could not serialize the event: {0}")]
    Json(#[from] serde_json::Error),
    #[error("could not format the event time: {0}")]
    Time(#[from] time::error::Format),
}

impl<'a> Event<'a> {
    /// The event for an authenticated alert whose severity came from `severity_source`. `body`
    /// is the raw request body, already known to be a JSON object; it (a group's alert: its own
    /// object in it) is what the id hashes, and becomes `data.raw` unless it could never fit in
    /// an SNS message.
    pub fn new(
        provider: Provider,
        alert: Alert,
        severity_source: SeveritySource,
        body: &'a [u8],
        received_at: OffsetDateTime,
    ) -> Result<Self, EventError> {
        let body = alert.own(body);
        let id = event_id(provider, body);
        let attributes = Attributes::new(provider, &alert);
        let alert_id = match alert.alert_id {
            Some(alert_id) if !alert_id.is_empty() => alert_id,
            _ => id.clone(),
        };
        let dedup_key = dedup_key(provider, &alert_id);
        let event_type = attributes.event_type.clone();
        let title = match alert
            .title
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(title) => clip(title, TITLE_MAX_CHARS),
            None => format!("{} alert {}", provider.name(), event_type),
        };
        let summary = alert.summary.as_deref().map(|s| clip(s, SUMMARY_MAX_CHARS));
        let occurred_at = alert.occurred_at.unwrap_or(received_at).format(&Rfc3339)?;
        // A body that alone would pass the limit is neither validated nor kept: every format
        // would drop it anyway.
        let raw = (body.trim_ascii().len() + attributes.size() <= SNS_MAX_MESSAGE_BYTES)
            .then(|| serde_json::from_slice(body))
            .transpose()?;
        let subject = subject(&format!(
            "[{}] {} {}: {}",
            alert.severity.as_str(),
            provider.slug(),
            alert.status.as_str(),
            title
        ));
        Ok(Event {
            id,
            provider,
            alert_id,
            dedup_key,
            status: alert.status,
            severity: alert.severity,
            severity_source,
            event_type,
            title,
            summary,
            occurred_at,
            url: alert.url,
            resource: alert.resource,
            labels: alert.labels.into_all(),
            annotations: alert.annotations,
            group: alert.group,
            raw,
            updated_at: alert.updated_at,
            lifecycle: None,
            subject,
            attributes,
        })
    }

    /// The CloudEvent as JSON, with `data.raw` or, without it, `data.raw_truncated: true`.
    pub fn cloudevent(&self, with_raw: bool) -> Result<String, serde_json::Error> {
        let raw = self.raw.filter(|_| with_raw);
        let event = CloudEvent {
            specversion: "1.0",
            id: &self.id,
            source: format!("/webhooks/{}", self.provider.slug()),
            kind: format!("alert.{}", self.status.as_str()),
            subject: &self.alert_id,
            time: &self.occurred_at,
            datacontenttype: "application/json",
            data: Data {
                provider: self.provider.slug(),
                alert_id: &self.alert_id,
                dedup_key: &self.dedup_key,
                status: self.status,
                severity: self.severity,
                severity_source: self.severity_source,
                event_type: &self.event_type,
                title: &self.title,
                summary: self.summary.as_deref(),
                occurred_at: &self.occurred_at,
                url: self.url.as_deref(),
                resource: &self.resource,
                labels: &self.labels,
                annotations: &self.annotations,
                group: self.group.as_ref(),
                lifecycle: self.lifecycle.as_ref(),
                raw,
                raw_truncated: raw.is_none(),
            },
        };
        serde_json::to_string(&event)
    }

    /// Whether a message of `len` bytes fits SNS's limit together with the attributes.
    pub fn fits(&self, len: usize) -> bool {
        len + self.attributes.size() <= SNS_MAX_MESSAGE_BYTES
    }
}

/// `<provider>:<alert_id>`, with an id that is not short printable ASCII replaced by its hash so
/// the key is always a valid SNS `MessageGroupId` (≤ 128 characters of printable ASCII).
fn dedup_key(provider: Provider, alert_id: &str) -> String {
    let plain =
        alert_id.len() <= PLAIN_ID_MAX_CHARS && alert_id.bytes().all(|b| b.is_ascii_graphic());
    if plain {
        format!("{}:{}", provider.slug(), alert_id)
    } else {
        let mut hash = hex::encode(Sha256::digest(alert_id.as_bytes()));
        hash.truncate(32);
        format!("{}:sha256-{}", provider.slug(), hash)
    }
}

/// At most `max` characters, with an ellipsis when cut.
pub(crate) fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some(_) => {
            let end = text
                .char_indices()
                .nth(max - 1)
                .map_or(text.len(), |(i, _)| i);
            format!("{}…", &text[..end])
        }
    }
}

/// SNS subjects: printable ASCII only, no line breaks, fewer than 100 characters.
fn subject(text: &str) -> String {
    let mut out = String::with_capacity(SUBJECT_MAX_CHARS);
    let mut chars = text.chars().map(|c| match c {
        ' '..='~' => c,
        c if c.is_whitespace() || c.is_control() => ' ',
        _ => '?',
    });
    let mut last_space = true;
    for c in chars.by_ref() {
        if c == ' ' && last_space {
            continue;
        }
        last_space = c == ' ';
        out.push(c);
        if out.len() == SUBJECT_MAX_CHARS {
            break;
        }
    }
    if chars.any(|c| c != ' ') {
        out.truncate(SUBJECT_MAX_CHARS - 3);
        out.push_str("...");
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn alert() -> Alert {
        let mut alert = Alert::new(Status::Open, Severity::Critical);
        alert.alert_id = Some("abc123".into());
        alert.event_type = Some("THING".into());
        alert.title = Some("Disk is full".into());
        alert
    }

    const NOW: OffsetDateTime = datetime!(2024-01-15 10:30:00 UTC);

    #[test]
    fn redelivery_keeps_event_id() {
        let body = br#"{"a":1}"#;
        assert_eq!(
            event_id(Provider::Atlas, body),
            event_id(Provider::Atlas, body)
        );
        assert_ne!(
            event_id(Provider::Atlas, body),
            event_id(Provider::MonteCarlo, body)
        );
        assert_eq!(event_id(Provider::Atlas, body).len(), 32);
    }

    #[test]
    fn event_id_is_sha256_of_provider_and_body() {
        // python3 -c "import hashlib;print(hashlib.sha256(b'atlas:{}').hexdigest()[:32])"
        assert_eq!(
            event_id(Provider::Atlas, b"{}"),
            "58ee47049ae1d51d843b6ad51045b262"
        );
    }

    #[test]
    fn builds_a_cloudevent_with_raw_payload() {
        let body = br#"{"id": "abc123", "n": 12345678901234567890123}"#;
        let event = Event::new(
            Provider::Atlas,
            alert(),
            crate::alert::SeveritySource::Provider,
            body,
            NOW,
        )
        .unwrap();
        let json = event.cloudevent(true).unwrap();
        let parsed: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed["specversion"], "1.0");
        assert_eq!(parsed["id"], event.id.as_str());
        assert_eq!(parsed["source"], "/webhooks/atlas");
        assert_eq!(parsed["type"], "alert.open");
        assert_eq!(parsed["subject"], "abc123");
        assert_eq!(parsed["time"], "2024-01-15T10:30:00Z");
        assert_eq!(parsed["data"]["dedup_key"], "atlas:abc123");
        assert_eq!(parsed["data"]["severity"], "critical");
        assert_eq!(parsed["data"]["url"], Value::Null);
        assert!(
            json.contains("12345678901234567890123"),
            "raw keeps big numbers exactly"
        );
        assert!(parsed["data"].get("raw_truncated").is_none());
        assert_eq!(event.subject, "[critical] atlas open: Disk is full");
        assert_eq!(event.attributes.pairs()[3], ("event_type", "THING"));
        assert_eq!(parsed["data"]["severity_source"], "provider");

        let without: Value = serde_json::from_str(&event.cloudevent(false).unwrap()).unwrap();
        assert!(without["data"].get("raw").is_none());
        assert_eq!(without["data"]["raw_truncated"], true);
    }

    #[test]
    fn missing_fields_get_defaults() {
        let event = Event::new(
            Provider::AppServices,
            Alert::new(Status::Open, Severity::Unknown),
            SeveritySource::None,
            b"{}",
            NOW,
        )
        .unwrap();
        assert_eq!(event.alert_id, event.id);
        assert_eq!(event.event_type, "unknown");
        assert_eq!(event.title, "App Services alert unknown");
        assert_eq!(event.occurred_at, "2024-01-15T10:30:00Z");
        assert!(event.attributes.pairs().iter().all(|(_, v)| !v.is_empty()));
        assert_eq!(
            event.attributes.pairs().len(),
            4,
            "no ownership facts, no attributes"
        );
    }

    #[test]
    fn ownership_facts_become_attributes_never_empty() {
        let mut owned = alert();
        owned.ownership = Ownership {
            project: Some("Orders".into()),
            cluster: Some("  ".into()),
            group: Some("zeus:\nares".into()),
            tables: vec!["a".into(), "".into(), "b".into(), "a".into()],
        };
        let event = Event::new(
            Provider::MonteCarlo,
            owned,
            SeveritySource::None,
            b"{}",
            NOW,
        )
        .unwrap();
        let a = &event.attributes;
        assert_eq!(a.project.as_deref(), Some("Orders"));
        assert_eq!(a.cluster, None);
        assert_eq!(a.group.as_deref(), Some("zeus: ares"));
        assert_eq!(a.tables, ["a", "b"]);
        assert_eq!(a.tables_value().as_deref(), Some(r#"["a","b"]"#));
        let names: Vec<&str> = a.pairs().iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "provider",
                "status",
                "severity",
                "event_type",
                "project",
                "group",
                "tables",
                "tables"
            ]
        );
        assert_eq!(
            a.size(),
            a.strings()
                .map(|(n, v)| n.len() + 6 + v.len())
                .sum::<usize>()
                + "tables".len()
                + "String.Array".len()
                + r#"["a","b"]"#.len()
        );
        // A fallback-queue record written before these attributes existed still reads.
        let old: Attributes = serde_json::from_str(
            r#"{"provider":"atlas","status":"open","severity":"info","event_type":"X"}"#,
        )
        .unwrap();
        assert_eq!(old.pairs().len(), 4);
        let mut tables = alert();
        tables.ownership.tables = (0..20).map(|n| format!("t{n}")).collect();
        let event = Event::new(
            Provider::MonteCarlo,
            tables,
            SeveritySource::None,
            b"{}",
            NOW,
        )
        .unwrap();
        assert_eq!(event.attributes.tables.len(), TABLES_MAX);
    }

    #[test]
    fn a_body_that_cannot_fit_is_not_kept() {
        let body = format!(r#"{{"blob":"{}"}}"#, "x".repeat(SNS_MAX_MESSAGE_BYTES));
        let event = Event::new(
            Provider::AppServices,
            alert(),
            crate::alert::SeveritySource::Provider,
            body.as_bytes(),
            NOW,
        )
        .unwrap();
        assert!(event.raw.is_none());
        assert!(event.cloudevent(true).unwrap().len() < 8 * 1024);
    }

    #[test]
    fn odd_alert_ids_are_hashed_in_the_dedup_key() {
        let mut odd = alert();
        odd.alert_id = Some("has space".into());
        let event = Event::new(
            Provider::AppServices,
            odd,
            crate::alert::SeveritySource::Provider,
            b"{}",
            NOW,
        )
        .unwrap();
        assert!(
            event.dedup_key.starts_with("app-services:sha256-") && event.dedup_key.len() <= 128,
            "{}",
            event.dedup_key
        );
    }

    #[test]
    fn subject_is_short_printable_ascii() {
        assert_eq!(subject("a\n\tb  c"), "a b c");
        assert_eq!(subject("Überlauf ✓"), "?berlauf ?");
        let long = subject(&"word ".repeat(60));
        assert!(
            long.len() <= SUBJECT_MAX_CHARS && long.ends_with("..."),
            "{long}"
        );
        assert!(long.bytes().all(|b| (b' '..=b'~').contains(&b)));
    }

    #[test]
    fn clip_cuts_on_char_boundaries() {
        assert_eq!(clip("héllo", 10), "héllo");
        assert_eq!(clip("héllo", 3), "hé…");
    }
}
