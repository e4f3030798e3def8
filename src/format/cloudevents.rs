//! The `cloudevents` format: one SNS message with a body per protocol (`MessageStructure=json`).
//! `default`, which SQS, Lambda, HTTP(S), `email-json` and Firehose subscribers receive, is the
//! CloudEvent; `email` is a plain-text rendering for people; `sms` is one short line.

use std::fmt::Write as _;

use serde::Serialize;

use super::{Message, fact, gsm, label, one_line};
use crate::event::{Event, EventError, clip};

/// SMS subscribers get at most this many characters.
pub const SMS_MAX_CHARS: usize = 140;
/// A resource fact longer than this is cut in the email: it is a summary, not the payload.
const EMAIL_FACT_MAX_CHARS: usize = 500;

#[derive(Serialize)]
struct Structure<'a> {
    default: &'a str,
    email: &'a str,
    sms: &'a str,
}

pub fn render(event: &Event) -> Result<Message, EventError> {
    let email = email(event);
    let sms = sms(event);
    let structure = |cloudevent: &str| {
        serde_json::to_string(&Structure {
            default: cloudevent,
            email: &email,
            sms: &sms,
        })
    };
    // The limit applies to the whole structure, where the CloudEvent is escaped once more: a
    // body that fits as a plain message may not fit here, and then `raw` goes.
    if event.raw.is_some() {
        let body = structure(&event.cloudevent(true)?)?;
        if event.fits(body.len()) {
            return Ok(Message {
                body,
                structured: true,
            });
        }
    }
    Ok(Message {
        body: structure(&event.cloudevent(false)?)?,
        structured: true,
    })
}

/// The `email` body: what an on-call engineer needs to act, no raw payload.
pub fn email(event: &Event) -> String {
    let mut text = String::with_capacity(1024);
    let mut line = |name: &str, value: &str| {
        let _ = writeln!(text, "{:<13}{}", format!("{name}:"), value);
    };
    line("Status", event.status.as_str());
    line(
        "Severity",
        &format!(
            "{} (source: {})",
            event.severity.as_str(),
            event.severity_source
        ),
    );
    line(
        "Provider",
        &format!("{} ({})", event.provider.name(), event.provider.slug()),
    );
    line("Event type", &event.event_type);
    line("Occurred at", &event.occurred_at);
    if let Some(lifecycle) = &event.lifecycle {
        if let Some(open_for) = lifecycle.duration_text() {
            line("Open for", &open_for);
        }
        if lifecycle.count > 1 {
            line(
                "Events",
                &format!("{} since {}", lifecycle.count, lifecycle.first_seen),
            );
        }
    }
    if let Some(url) = &event.url {
        line("Link", &one_line(url));
    }

    let mut out = String::with_capacity(text.len() + 1024);
    let _ = writeln!(out, "{}\n", one_line(&event.title));
    out.push_str(&text);
    if let Some(summary) = event.summary.as_deref().filter(|s| !s.trim().is_empty()) {
        out.push_str("\nSummary\n");
        for row in summary.trim().lines() {
            let _ = writeln!(out, "  {}", row.trim_end());
        }
    }
    let facts: Vec<(String, String)> = event
        .resource
        .iter()
        .filter_map(|(key, value)| Some((label(key), clip(&fact(value)?, EMAIL_FACT_MAX_CHARS))))
        .collect();
    if !facts.is_empty() {
        let width = facts
            .iter()
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0)
            + 2;
        out.push_str("\nResource\n");
        for (name, value) in facts {
            let _ = writeln!(out, "  {:<width$}{}", format!("{name}:"), value);
        }
    }
    // A grouped sender's labels and annotations (the runbook link among them), a line each.
    for (heading, entries) in [
        ("Labels", &event.labels),
        ("Annotations", &event.annotations),
    ] {
        if entries.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{heading}");
        for (name, value) in entries {
            let _ = writeln!(out, "  {name} = {}", one_line(value));
        }
    }
    let _ = write!(
        out,
        "\nAlert id:    {}\nDedup key:   {}\nEvent id:    {}\n\n\
         -- \nSent by alert-relay from a verified {} webhook. Machine subscribers \
         (SQS, Lambda, HTTPS, email-json) receive this alert as a CloudEvent.\n",
        event.alert_id,
        event.dedup_key,
        event.id,
        event.provider.name(),
    );
    out
}

/// The `sms` body: `[severity] provider status: title`, one line of at most 140 characters, all
/// GSM-7 and one segment (`format::gsm`), cut with `...`.
pub fn sms(event: &Event) -> String {
    let line = one_line(&gsm::transliterate(&format!(
        "[{}] {} {}: {}",
        event.severity.as_str(),
        event.provider.slug(),
        event.status.as_str(),
        event.title
    )));
    gsm::fit(&line, SMS_MAX_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{Alert, Severity, Status};
    use crate::event::SNS_MAX_MESSAGE_BYTES;
    use crate::providers::Provider;
    use serde_json::Value;
    use time::macros::datetime;

    fn alert(title: &str) -> Alert {
        let mut alert = Alert::new(Status::Open, Severity::Critical);
        alert.alert_id = Some("abc".into());
        alert.title = Some(title.into());
        alert
    }

    fn event<'a>(title: &str, body: &'a [u8]) -> Event<'a> {
        Event::new(
            Provider::AppServices,
            alert(title),
            crate::alert::SeveritySource::Provider,
            body,
            datetime!(2024-01-15 10:30:00 UTC),
        )
        .unwrap()
    }

    #[test]
    fn default_is_the_cloudevent_with_raw() {
        let event = event("Disk full", br#"{"a": 1}"#);
        let message = render(&event).unwrap();
        assert!(message.structured);
        let structure: Value = serde_json::from_str(&message.body).unwrap();
        assert_eq!(
            structure["default"],
            event.cloudevent(true).unwrap().as_str()
        );
        assert_eq!(structure["sms"], "[critical] app-services open: Disk full");
        assert!(
            structure["email"]
                .as_str()
                .unwrap()
                .starts_with("Disk full\n")
        );
    }

    #[test]
    fn sms_is_one_gsm_7_segment_of_at_most_140_characters() {
        let long = event(&"é\nlong words ".repeat(40), b"{}");
        let sms = sms(&long);
        assert!(sms.chars().count() <= SMS_MAX_CHARS, "{sms}");
        assert!(!sms.contains('\n') && sms.ends_with("..."));
        let septets: usize = sms.chars().map(|c| gsm::septets(c).unwrap()).sum();
        assert!(septets <= gsm::SEGMENT_SEPTETS);
        let emoji = event("Disk 🔥 “full” — 95 %", b"{}");
        assert_eq!(
            super::sms(&emoji),
            "[critical] app-services open: Disk ? \"full\" - 95 %"
        );
    }

    #[test]
    fn email_never_holds_the_raw_payload() {
        let event = event("t", br#"{"secret_looking_field": "payload-only-value"}"#);
        assert!(!email(&event).contains("payload-only-value"));
    }

    #[test]
    fn raw_is_dropped_when_the_escaped_structure_no_longer_fits() {
        // Quotes double when the CloudEvent is escaped into the structure: ~150 KB of them fits
        // as a plain CloudEvent but not inside `default`.
        let body = format!(r#"{{"q":"{}"}}"#, "\\\"".repeat(75_000));
        let event = event("t", body.as_bytes());
        assert!(event.raw.is_some());
        assert!(event.fits(event.cloudevent(true).unwrap().len()));
        let message = render(&event).unwrap();
        assert!(message.body.len() <= SNS_MAX_MESSAGE_BYTES);
        let structure: Value = serde_json::from_str(&message.body).unwrap();
        let cloudevent: Value =
            serde_json::from_str(structure["default"].as_str().unwrap()).unwrap();
        assert_eq!(cloudevent["data"]["raw_truncated"], true);
    }
}
