//! The `chatbot` format: an Amazon Q Developer in chat applications (formerly AWS Chatbot)
//! custom notification, the same body for every protocol. `metadata.threadId` is the alert's
//! `dedup_key`, so an alert's open, acknowledge and resolve land in one chat thread.
//!
//! Field sizes stay inside the limits of the service's custom-notification schema; anything the
//! sender wrote is cleaned so it cannot form chat links or mentions (`<!channel>`, `<@U123>`).

use std::fmt::Write as _;

use serde::Serialize;

use super::{Message, fact, label, one_line};
use crate::alert::Severity;
use crate::event::{Event, EventError, clip};

const TITLE_MAX_CHARS: usize = 250;
const DESCRIPTION_MAX_CHARS: usize = 8000;
const SUMMARY_MAX_CHARS: usize = 1000;
/// Amazon Q Developer's limit for one `nextSteps` entry.
const STEP_MAX_CHARS: usize = 350;
const KEYWORD_MAX_CHARS: usize = 75;
const RESOURCE_MAX_CHARS: usize = 1000;
const RELATED_MAX_ITEMS: usize = 5;
/// A resource fact longer than this is cut in the description.
const FACT_MAX_CHARS: usize = 500;

#[derive(Serialize)]
struct Notification<'a> {
    version: &'static str,
    source: &'static str,
    id: &'a str,
    content: Content,
    metadata: Metadata<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Content {
    text_type: &'static str,
    title: String,
    description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    next_steps: Vec<String>,
    keywords: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Metadata<'a> {
    thread_id: &'a str,
    summary: String,
    event_type: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_resources: Vec<String>,
    additional_context: Context<'a>,
}

#[derive(Serialize)]
struct Context<'a> {
    alert_id: String,
    event_id: &'a str,
    provider: &'static str,
    status: &'static str,
    severity: &'static str,
    severity_source: String,
}

pub fn render(event: &Event) -> Result<Message, EventError> {
    let url = event.url.as_deref().and_then(link);
    let step = url
        .as_deref()
        .and_then(|url| open_step(url, event.provider.name()));
    let notification = Notification {
        version: "1.0",
        source: "custom",
        id: &event.id,
        content: Content {
            text_type: "client-markdown",
            title: clip(
                &format!(
                    "{} {} {}: {}",
                    marker(event.severity),
                    event.severity.as_str().to_uppercase(),
                    event.status.as_str(),
                    inert(&one_line(&event.title))
                ),
                TITLE_MAX_CHARS,
            ),
            description: clip(&description(event, step.is_none()), DESCRIPTION_MAX_CHARS),
            next_steps: step.into_iter().collect(),
            keywords: [
                event.provider.slug(),
                event.severity.as_str(),
                event.status.as_str(),
                &event.event_type,
            ]
            .into_iter()
            .map(|k| clip(&inert(&one_line(k)), KEYWORD_MAX_CHARS))
            .collect(),
        },
        metadata: Metadata {
            thread_id: &event.dedup_key,
            summary: clip(&inert(&one_line(&event.subject)), SUMMARY_MAX_CHARS),
            event_type: clip(&one_line(&event.event_type), KEYWORD_MAX_CHARS),
            related_resources: related(event),
            additional_context: Context {
                alert_id: clip(&event.alert_id, RESOURCE_MAX_CHARS),
                event_id: &event.id,
                provider: event.provider.slug(),
                status: event.status.as_str(),
                severity: event.severity.as_str(),
                severity_source: event.severity_source.to_string(),
            },
        },
    };
    Ok(Message {
        body: serde_json::to_string(&notification)?,
        structured: false,
    })
}

/// The severity marker that leads the title (emoji short codes, which Slack and Teams render).
fn marker(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => ":rotating_light:",
        Severity::Error => ":red_circle:",
        Severity::Warning => ":warning:",
        Severity::Info => ":information_source:",
        Severity::Unknown => ":grey_question:",
    }
}

/// Markdown: the summary, then the resource facts as a list, then when it happened; and the link
/// when no step could hold it.
fn description(event: &Event, with_link: bool) -> String {
    let mut out = String::with_capacity(1024);
    if let Some(summary) = event.summary.as_deref().filter(|s| !s.trim().is_empty()) {
        let _ = writeln!(out, "{}\n", inert(summary.trim()));
    }
    for (key, value) in &event.resource {
        if let Some(value) = fact(value) {
            let _ = writeln!(
                out,
                "• *{}:* {}",
                label(key),
                inert(&clip(&value, FACT_MAX_CHARS))
            );
        }
    }
    let _ = write!(
        out,
        "• *Severity:* {} (source: {})\n• *Occurred at:* {}\n• *Provider:* {} · *Event type:* {}",
        event.severity.as_str(),
        event.severity_source,
        event.occurred_at,
        event.provider.name(),
        inert(&one_line(&event.event_type))
    );
    if let Some(open_for) = event.lifecycle.as_ref().and_then(|l| l.duration_text()) {
        let _ = write!(out, "\n• *Open for:* {open_for}");
    }
    if let Some(url) = event.url.as_deref().and_then(link).filter(|_| with_link) {
        let _ = write!(out, "\n• *Link:* {url}");
    }
    out
}

/// Names of the resources involved: cluster, host, project, tables… (strings only).
fn related(event: &Event) -> Vec<String> {
    const NAMED: &[&str] = &[
        "cluster",
        "host",
        "replica_set",
        "project",
        "tables",
        "service",
    ];
    NAMED
        .iter()
        .filter_map(|key| event.resource.get(*key))
        .flat_map(|value| match value {
            serde_json::Value::String(s) => vec![s.as_str()],
            serde_json::Value::Array(items) => items.iter().filter_map(|v| v.as_str()).collect(),
            _ => Vec::new(),
        })
        .filter(|s| !s.trim().is_empty())
        .take(RELATED_MAX_ITEMS)
        .map(|s| clip(&inert(&one_line(s)), RESOURCE_MAX_CHARS))
        .collect()
}

/// "Open the alert" as a link, whole or not at all: a cut `<url|text>` is broken markup and a cut
/// URL a wrong one. Too long for a link with its text, the bare URL (chat links it); too long even
/// so, no step: the URL is still the event's `data.url`.
fn open_step(url: &str, provider: &str) -> Option<String> {
    let step = format!("<{url}|Open the alert in {provider}>");
    if step.chars().count() <= STEP_MAX_CHARS {
        Some(step)
    } else {
        (url.chars().count() <= STEP_MAX_CHARS).then(|| url.to_owned())
    }
}

/// Sender text made inert for chat markdown: no `<…>` links or mentions.
fn inert(text: &str) -> String {
    text.replace('<', "‹").replace('>', "›")
}

/// An http(s) URL safe inside `<url|text>`, else nothing.
fn link(url: &str) -> Option<String> {
    let url = url.trim();
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && !url.contains(|c: char| c.is_whitespace() || c.is_control() || "<>|".contains(c));
    ok.then(|| url.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{Alert, Status};
    use crate::providers::Provider;
    use serde_json::{Value, json};
    use time::macros::datetime;

    fn render_value(alert: Alert) -> Value {
        let event = Event::new(
            Provider::MonteCarlo,
            alert,
            crate::alert::SeveritySource::Provider,
            b"{}",
            datetime!(2024-01-15 10:30:00 UTC),
        )
        .unwrap();
        let message = render(&event).unwrap();
        assert!(!message.structured);
        serde_json::from_str(&message.body).unwrap()
    }

    #[test]
    fn threads_by_dedup_key_and_leads_with_severity_and_status() {
        let mut alert = Alert::new(Status::Resolved, Severity::Error);
        alert.alert_id = Some("inc-1".into());
        alert.title = Some("Volume dropped".into());
        alert.url = Some("https://getmontecarlo.com/alerts/inc-1".into());
        let value = render_value(alert);
        assert_eq!(value["version"], "1.0");
        assert_eq!(value["source"], "custom");
        assert_eq!(value["content"]["textType"], "client-markdown");
        assert_eq!(
            value["content"]["title"],
            ":red_circle: ERROR resolved: Volume dropped"
        );
        assert_eq!(value["metadata"]["threadId"], "monte-carlo:inc-1");
        assert_eq!(
            value["content"]["nextSteps"],
            json!(["<https://getmontecarlo.com/alerts/inc-1|Open the alert in Monte Carlo>"])
        );
        assert_eq!(
            value["content"]["keywords"],
            json!(["monte-carlo", "error", "resolved", "unknown"])
        );
        assert_eq!(value["metadata"]["additionalContext"]["alert_id"], "inc-1");
    }

    #[test]
    fn sender_text_cannot_mention_or_link() {
        let mut alert = Alert::new(Status::Open, Severity::Critical);
        alert.title = Some("<!channel> wake up".into());
        alert.summary = Some("see <https://evil.example|here>".into());
        alert.url = Some("https://x.example/a|<!here>".into());
        let value = render_value(alert);
        let text = value.to_string();
        assert!(!text.contains("<!"), "{text}");
        assert!(value["content"].get("nextSteps").is_none());
    }

    #[test]
    fn long_fields_stay_inside_the_schema_limits() {
        let mut alert = Alert::new(Status::Open, Severity::Critical);
        alert.title = Some("t".repeat(5000));
        alert.summary = Some("s".repeat(50_000));
        alert
            .resource
            .insert("tables".into(), json!(vec!["x".repeat(3000); 50]));
        let value = render_value(alert);
        let chars = |v: &Value| v.as_str().unwrap().chars().count();
        assert!(chars(&value["content"]["title"]) <= TITLE_MAX_CHARS);
        assert!(chars(&value["content"]["description"]) <= DESCRIPTION_MAX_CHARS);
        let related = value["metadata"]["relatedResources"].as_array().unwrap();
        assert!(related.len() <= RELATED_MAX_ITEMS);
        assert!(related.iter().all(|r| chars(r) <= RESOURCE_MAX_CHARS));
    }

    #[test]
    fn a_long_link_is_never_cut_into_broken_markup() {
        let step = |url: String| {
            let mut alert = Alert::new(Status::Open, Severity::Critical);
            alert.url = Some(url);
            render_value(alert)["content"]["nextSteps"].clone()
        };
        let short = "https://getmontecarlo.com/incidents/f83867b6".to_owned();
        assert_eq!(
            step(short.clone()),
            json!([format!("<{short}|Open the alert in Monte Carlo>")])
        );
        let long = format!("https://getmontecarlo.com/incidents/{}", "a".repeat(300));
        assert_eq!(step(long.clone()), json!([long]), "the bare URL, whole");
        let huge = format!("https://getmontecarlo.com/incidents/{}", "a".repeat(400));
        assert_eq!(
            step(huge.clone()),
            Value::Null,
            "no step rather than a cut link"
        );
        let mut alert = Alert::new(Status::Open, Severity::Critical);
        alert.url = Some(huge.clone());
        let description = render_value(alert)["content"]["description"].clone();
        assert!(
            description
                .as_str()
                .unwrap()
                .ends_with(&format!("• *Link:* {huge}"))
        );
        for url in [short, long] {
            for entry in step(url).as_array().unwrap() {
                assert!(entry.as_str().unwrap().chars().count() <= STEP_MAX_CHARS);
            }
        }
    }
}
