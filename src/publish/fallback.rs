//! The fallback queue: the publishes of an alert that failed, kept as one SQS message exactly as
//! they were built, so the redrive path (`crate::redrive`) can send them again byte for byte.
//!
//! A message shared by several topics is stored once. The worst case that keeps `raw` is a
//! structured message just under 256 KiB that escapes to about twice that as a JSON string; when
//! an encoding still passes SQS's limit, it is gzipped (and base64'd, SQS bodies being text).

use std::future::Future;
use std::io::{Read as _, Write as _};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};

use crate::outbox::{Outbox, Publish};

/// Tags every queue message, so a record of any other shape is recognised as not ours.
pub const FORMAT: &str = "alert-relay/pending@1";
/// SQS's largest message (body and attributes), less room for the attributes SQS adds.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024 - 1024;
/// A gzipped body is refused past this when decoding: no record may inflate without bound.
const MAX_INFLATED_BYTES: u64 = 16 * 1024 * 1024;

/// Publishes still to be made, with when the alert was first attempted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// RFC 3339: when the webhook first arrived. Kept across redrives.
    pub first_attempt: String,
    #[serde(flatten)]
    pub outbox: Outbox,
}

/// The queue message: the pending publishes as JSON, or gzipped when that is too big.
#[derive(Serialize, Deserialize)]
struct Envelope<'a> {
    format: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    gzip: Option<String>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pending: Option<Pending>,
}

#[derive(Debug, thiserror::Error)]
pub enum PendingError {
    #[error("not an alert-relay pending message: {0}")]
    NotOurs(&'static str),
    #[error("unreadable pending message: {0}")]
    Json(#[from] serde_json::Error),
    #[error("unreadable gzip in the pending message: {0}")]
    Gzip(String),
    #[error("the pending publishes take {0} bytes even gzipped, over SQS's limit")]
    TooLarge(usize),
}

impl Pending {
    /// The publishes of `outbox` at `failed` (indexes into `outbox.publishes`), with only the
    /// messages they use.
    pub fn of(outbox: &Outbox, failed: &[usize], first_attempt: String) -> Pending {
        let mut messages = Vec::new();
        let mut index_of = Vec::new(); // (old index, new index)
        let mut publishes = Vec::with_capacity(failed.len());
        for publish in failed.iter().filter_map(|&i| outbox.publishes.get(i)) {
            let message = match index_of.iter().find(|(old, _)| *old == publish.message) {
                Some(&(_, new)) => new,
                None => {
                    let Some(message) = outbox.messages.get(publish.message) else {
                        continue;
                    };
                    messages.push(message.clone());
                    index_of.push((publish.message, messages.len() - 1));
                    messages.len() - 1
                }
            };
            publishes.push(Publish {
                message,
                ..publish.clone()
            });
        }
        Pending {
            first_attempt,
            outbox: Outbox {
                event_id: outbox.event_id.clone(),
                subject: outbox.subject.clone(),
                attributes: outbox.attributes.clone(),
                fifo: outbox.fifo.clone(),
                messages,
                publishes,
            },
        }
    }

    /// The SQS message body.
    pub fn encode(&self) -> Result<String, PendingError> {
        let plain = serde_json::to_string(&Envelope {
            format: FORMAT,
            gzip: None,
            pending: Some(self.clone()),
        })?;
        if plain.len() <= MAX_MESSAGE_BYTES {
            return Ok(plain);
        }
        let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
        gzip.write_all(plain.as_bytes())
            .and_then(|()| gzip.try_finish())
            .map_err(|e| PendingError::Gzip(e.to_string()))?;
        let packed = serde_json::to_string(&Envelope {
            format: FORMAT,
            gzip: Some(BASE64.encode(gzip.get_ref())),
            pending: None,
        })?;
        if packed.len() > MAX_MESSAGE_BYTES {
            return Err(PendingError::TooLarge(packed.len()));
        }
        Ok(packed)
    }

    /// Reads a queue message back; anything else is an error, never a guess.
    pub fn decode(body: &str) -> Result<Pending, PendingError> {
        Pending::decode_packed(body, true)
    }

    fn decode_packed(body: &str, may_inflate: bool) -> Result<Pending, PendingError> {
        let envelope: Envelope = serde_json::from_str(body)?;
        if envelope.format != FORMAT {
            return Err(PendingError::NotOurs("unknown format"));
        }
        let pending = match (envelope.gzip, envelope.pending) {
            (Some(packed), None) if may_inflate => {
                let bytes = BASE64
                    .decode(packed)
                    .map_err(|e| PendingError::Gzip(e.to_string()))?;
                let mut json = String::new();
                GzDecoder::new(&bytes[..])
                    .take(MAX_INFLATED_BYTES)
                    .read_to_string(&mut json)
                    .map_err(|e| PendingError::Gzip(e.to_string()))?;
                return Pending::decode_packed(&json, false);
            }
            (None, Some(pending)) => pending,
            _ => return Err(PendingError::NotOurs("neither publishes nor one gzip")),
        };
        let outbox = &pending.outbox;
        if outbox.publishes.is_empty() {
            return Err(PendingError::NotOurs("no publishes"));
        }
        if outbox
            .publishes
            .iter()
            .any(|p| p.message >= outbox.messages.len())
        {
            return Err(PendingError::NotOurs(
                "a publish names a message that is not there",
            ));
        }
        Ok(pending)
    }
}

/// Where failed publishes go: the SQS queue of `FALLBACK_QUEUE_URL` in Lambda, a recorder in tests.
pub trait Fallback: Send + Sync {
    fn enqueue(&self, body: String) -> impl Future<Output = Result<(), QueueError>> + Send;
}

#[derive(Debug, thiserror::Error)]
#[error("the fallback queue refused or could not be reached: {0}")]
pub struct QueueError(pub String);

/// No fallback queue: `Relay`'s default, which never enqueues.
pub enum NoFallback {}

impl Fallback for NoFallback {
    async fn enqueue(&self, _: String) -> Result<(), QueueError> {
        match *self {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Attributes;
    use crate::format::Message;
    use crate::outbox::Fifo;

    fn outbox(bodies: &[&str]) -> Outbox {
        let messages: Vec<Message> = bodies
            .iter()
            .enumerate()
            .map(|(i, body)| Message {
                body: (*body).to_owned(),
                structured: i == 0,
            })
            .collect();
        Outbox {
            event_id: "0123456789abcdef0123456789abcdef".into(),
            subject: "[critical] atlas open: Disk full".into(),
            attributes: Attributes {
                provider: "atlas".into(),
                status: "open".into(),
                severity: "critical".into(),
                event_type: "OUTSIDE_METRIC_THRESHOLD".into(),
                project: Some("Orders".into()),
                cluster: Some("orders-prod".into()),
                group: None,
                tables: Vec::new(),
                labels: Vec::new(),
            },
            fifo: Fifo {
                group_id: "atlas:a1".into(),
                deduplication_id: "0123456789abcdef0123456789abcdef".into(),
            },
            publishes: vec![
                Publish {
                    route: 0,
                    topic_arn: "arn:aws:sns:us-east-1:123456789012:alerts".into(),
                    message: 0,
                },
                Publish {
                    route: 1,
                    topic_arn: "arn:aws:sns:us-east-1:123456789012:paging.fifo".into(),
                    message: 0,
                },
                Publish {
                    route: 2,
                    topic_arn: "arn:aws:sns:us-east-1:123456789012:chat".into(),
                    message: bodies.len() - 1,
                },
            ],
            messages,
        }
    }

    #[test]
    fn round_trips_every_field() {
        let outbox = outbox(&[r#"{"default":"{\"id\":1}","email":"é","sms":"s"}"#, "{}"]);
        let pending = Pending::of(&outbox, &[0, 1, 2], "2024-01-15T10:30:00Z".into());
        assert_eq!(pending.outbox, outbox);
        let body = pending.encode().unwrap();
        assert!(
            body.starts_with(r#"{"format":"alert-relay/pending@1""#),
            "{body}"
        );
        assert_eq!(Pending::decode(&body).unwrap(), pending);
    }

    #[test]
    fn keeps_only_the_failed_publishes_and_the_messages_they_use() {
        let outbox = outbox(&["cloudevents", "chat"]);
        let pending = Pending::of(&outbox, &[2], "t".into());
        assert_eq!(pending.outbox.messages.len(), 1);
        assert_eq!(pending.outbox.messages[0].body, "chat");
        assert_eq!(pending.outbox.publishes[0].message, 0);
        assert_eq!(pending.outbox.publishes[0].route, 2);

        let shared = Pending::of(&outbox, &[0, 1], "t".into());
        assert_eq!(
            shared.outbox.messages.len(),
            1,
            "a message two topics share is kept once"
        );
        let decoded = Pending::decode(&shared.encode().unwrap()).unwrap();
        assert_eq!(decoded, shared);
    }

    #[test]
    fn gzips_what_would_not_fit_and_reads_it_back() {
        // Three distinct messages of ~400 KB each: over 1 MiB as JSON, far under it gzipped.
        let big: Vec<String> = (0..3)
            .map(|i| format!(r#"{{"n":{i},"pad":"{}"}}"#, "\\\"q\\\"".repeat(80_000)))
            .collect();
        let refs: Vec<&str> = big.iter().map(String::as_str).collect();
        let mut outbox = outbox(&refs);
        outbox.publishes[1].message = 1;
        let pending = Pending::of(&outbox, &[0, 1, 2], "t".into());
        let body = pending.encode().unwrap();
        assert!(body.len() <= MAX_MESSAGE_BYTES);
        assert!(body.contains(r#""gzip":"#));
        assert_eq!(Pending::decode(&body).unwrap(), pending);
    }

    #[test]
    fn refuses_what_is_not_a_pending_message() {
        let good = Pending::of(&outbox(&["m"]), &[0], "t".into())
            .encode()
            .unwrap();
        let cases = [
            "not json".to_owned(),
            "{}".to_owned(),
            r#"{"format":"other"}"#.to_owned(),
            r#"{"format":"alert-relay/pending@1"}"#.to_owned(),
            r#"{"format":"alert-relay/pending@1","gzip":"!!"}"#.to_owned(),
            format!(
                r#"{{"format":"alert-relay/pending@1","gzip":"{}"}}"#,
                BASE64.encode(b"not gzip")
            ),
            good.replace(r#""message":0"#, r#""message":7"#),
            good.replace(r#""publishes":["#, r#""publishes":[],"x":["#),
        ];
        for body in cases {
            assert!(Pending::decode(&body).is_err(), "{body}");
        }
    }
}
