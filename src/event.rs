//! The common event: a CloudEvents 1.0 envelope around the normalized alert, and the SNS message
//! (subject, attributes, FIFO fields) that carries it.

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::providers::Provider;

/// SNS's limit for message plus attributes.
pub const SNS_MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// SNS wants subjects shorter than 100 characters.
const SUBJECT_MAX_CHARS: usize = 99;
const TITLE_MAX_CHARS: usize = 256;
const SUMMARY_MAX_CHARS: usize = 4096;
const ATTRIBUTE_MAX_CHARS: usize = 256;
/// Longest alert id used verbatim in `dedup_key`, so that it is always a valid `MessageGroupId`.
const PLAIN_ID_MAX_CHARS: usize = 100;

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

/// Parses an RFC 3339 timestamp; anything else is treated as absent.
pub fn parse_time(value: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(value.trim(), &Rfc3339).ok()
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
    event_type: &'a str,
    title: &'a str,
    summary: Option<&'a str>,
    occurred_at: &'a str,
    url: Option<&'a str>,
    resource: &'a Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    raw_truncated: bool,
}

/// The SNS `Publish` request, without the topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub event_id: String,
    pub body: String,
    pub subject: String,
    /// `provider`, `status`, `severity`, `event_type`: never empty, for filter policies.
    pub attributes: [(&'static str, String); 4],
    /// `MessageGroupId` and `MessageDeduplicationId`, on FIFO topics only.
    pub fifo: Option<Fifo>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fifo {
    pub group_id: String,
    pub deduplication_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("could not serialize the event: {0}")]
    Json(#[from] serde_json::Error),
    #[error("could not format the event time: {0}")]
    Time(#[from] time::error::Format),
}

/// Builds the SNS message for an authenticated alert. `body` is the raw request body, already
/// known to be a JSON object, and goes into `data.raw` as received unless that would pass SNS's
/// size limit.
pub fn build_message(
    provider: Provider,
    alert: &Alert,
    body: &[u8],
    received_at: OffsetDateTime,
    fifo: bool,
) -> Result<Message, EventError> {
    let id = event_id(provider, body);
    let alert_id = alert
        .alert_id
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or(&id);
    let dedup_key = dedup_key(provider, alert_id);
    let event_type = clip(
        alert
            .event_type
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or("unknown"),
        ATTRIBUTE_MAX_CHARS,
    );
    let title = match alert
        .title
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(title) => clip(title, TITLE_MAX_CHARS),
        None => format!("{} alert {}", provider_name(provider), event_type),
    };
    let summary = alert.summary.as_deref().map(|s| clip(s, SUMMARY_MAX_CHARS));
    let occurred_at = alert.occurred_at.unwrap_or(received_at).format(&Rfc3339)?;
    let attributes = [
        ("provider", provider.slug().to_owned()),
        ("status", alert.status.as_str().to_owned()),
        ("severity", alert.severity.as_str().to_owned()),
        ("event_type", event_type.clone()),
    ];
    let attributes_size: usize = attributes
        .iter()
        .map(|(k, v)| k.len() + "String".len() + v.len())
        .sum();

    // `raw` is the body verbatim, less surrounding whitespace: a body that alone would pass the
    // limit is neither validated nor copied (up to 256 KiB) into a message that is thrown away.
    let fits = |len: usize| len + attributes_size <= SNS_MAX_MESSAGE_BYTES;
    let raw: Option<&RawValue> = fits(body.trim_ascii().len())
        .then(|| serde_json::from_slice(body))
        .transpose()?;

    let mut event = CloudEvent {
        specversion: "1.0",
        id: &id,
        source: format!("/webhooks/{}", provider.slug()),
        kind: format!("alert.{}", alert.status.as_str()),
        subject: alert_id,
        time: &occurred_at,
        datacontenttype: "application/json",
        data: Data {
            provider: provider.slug(),
            alert_id,
            dedup_key: &dedup_key,
            status: alert.status,
            severity: alert.severity,
            event_type: &event_type,
            title: &title,
            summary: summary.as_deref(),
            occurred_at: &occurred_at,
            url: alert.url.as_deref(),
            resource: &alert.resource,
            raw,
            raw_truncated: false,
        },
    };

    let with_raw = raw
        .is_some()
        .then(|| serde_json::to_string(&event))
        .transpose()?
        .filter(|body| fits(body.len()));
    let body = match with_raw {
        Some(body) => body,
        None => {
            event.data.raw = None;
            event.data.raw_truncated = true;
            serde_json::to_string(&event)?
        }
    };

    let subject = subject(&format!(
        "[{}] {} {}: {}",
        alert.severity.as_str(),
        provider.slug(),
        alert.status.as_str(),
        title
    ));
    let fifo = fifo.then(|| Fifo {
        group_id: dedup_key.clone(),
        deduplication_id: id.clone(),
    });
    Ok(Message {
        event_id: id,
        body,
        subject,
        attributes,
        fifo,
    })
}

fn provider_name(provider: Provider) -> &'static str {
    match provider {
        Provider::Atlas => "MongoDB Atlas",
        Provider::AppServices => "App Services",
        Provider::MonteCarlo => "Monte Carlo",
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
fn clip(text: &str, max: usize) -> String {
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
        let message = build_message(Provider::Atlas, &alert(), body, NOW, false).unwrap();
        let event: Value = serde_json::from_str(&message.body).unwrap();
        assert_eq!(event["specversion"], "1.0");
        assert_eq!(event["id"], message.event_id);
        assert_eq!(event["source"], "/webhooks/atlas");
        assert_eq!(event["type"], "alert.open");
        assert_eq!(event["subject"], "abc123");
        assert_eq!(event["time"], "2024-01-15T10:30:00Z");
        assert_eq!(event["data"]["dedup_key"], "atlas:abc123");
        assert_eq!(event["data"]["severity"], "critical");
        assert_eq!(event["data"]["url"], Value::Null);
        assert!(
            message.body.contains("12345678901234567890123"),
            "raw keeps big numbers exactly"
        );
        assert!(event["data"].get("raw_truncated").is_none());
        assert_eq!(message.subject, "[critical] atlas open: Disk is full");
        assert_eq!(message.attributes[3], ("event_type", "THING".to_owned()));
        assert_eq!(message.fifo, None);
    }

    #[test]
    fn missing_fields_get_defaults() {
        let body = b"{}";
        let message = build_message(
            Provider::AppServices,
            &Alert::new(Status::Open, Severity::Unknown),
            body,
            NOW,
            false,
        )
        .unwrap();
        let event: Value = serde_json::from_str(&message.body).unwrap();
        assert_eq!(event["data"]["alert_id"], message.event_id);
        assert_eq!(event["data"]["event_type"], "unknown");
        assert_eq!(event["data"]["title"], "App Services alert unknown");
        assert_eq!(event["time"], "2024-01-15T10:30:00Z");
        assert!(message.attributes.iter().all(|(_, v)| !v.is_empty()));
    }

    #[test]
    fn drops_raw_when_the_message_would_pass_the_sns_limit() {
        let body = format!(r#"{{"blob":"{}"}}"#, "x".repeat(SNS_MAX_MESSAGE_BYTES));
        let message =
            build_message(Provider::AppServices, &alert(), body.as_bytes(), NOW, false).unwrap();
        let event: Value = serde_json::from_str(&message.body).unwrap();
        assert!(event["data"].get("raw").is_none());
        assert_eq!(event["data"]["raw_truncated"], true);
        assert!(message.body.len() < 8 * 1024);
    }

    #[test]
    fn fifo_topics_group_by_dedup_key() {
        let message = build_message(Provider::MonteCarlo, &alert(), b"{}", NOW, true).unwrap();
        let fifo = message.fifo.unwrap();
        assert_eq!(fifo.group_id, "monte-carlo:abc123");
        assert_eq!(fifo.deduplication_id, message.event_id);
    }

    #[test]
    fn odd_alert_ids_are_hashed_in_the_dedup_key() {
        let mut odd = alert();
        odd.alert_id = Some("has space".into());
        let message = build_message(Provider::AppServices, &odd, b"{}", NOW, true).unwrap();
        let group = message.fifo.unwrap().group_id;
        assert!(
            group.starts_with("app-services:sha256-") && group.len() <= 128,
            "{group}"
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
