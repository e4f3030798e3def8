//! How an alert is written for each kind of reader. One file per format, one enum arm each:
//! adding a format is a file here and an arm in the `match`es below.

pub mod chatbot;
pub mod cloudevents;
pub mod gsm;

use serde::{Deserialize, Serialize};

use crate::event::{Event, EventError};

/// The formats a route can ask for (`"format"` in `ALERT_ROUTES`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Format {
    /// `MessageStructure=json`: the CloudEvent for machines, plus readable email and SMS.
    #[default]
    CloudEvents,
    /// An Amazon Q Developer in chat applications (AWS Chatbot) custom notification.
    Chatbot,
}

impl Format {
    pub const ALL: [Format; 2] = [Format::CloudEvents, Format::Chatbot];

    pub fn name(self) -> &'static str {
        match self {
            Format::CloudEvents => "cloudevents",
            Format::Chatbot => "chatbot",
        }
    }

    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The SNS message for `event`, within SNS's 256 KiB together with the attributes whenever
    /// the event's own fields allow it.
    pub fn render(self, event: &Event) -> Result<Message, EventError> {
        match self {
            Format::CloudEvents => cloudevents::render(event),
            Format::Chatbot => chatbot::render(event),
        }
    }
}

/// An SNS message body, and whether it is a JSON object of one body per protocol
/// (`MessageStructure=json`) rather than the same body for every subscriber.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub body: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub structured: bool,
}

/// One line of plain text: control characters and runs of whitespace become one space.
pub(crate) fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A resource field's value as text for people: strings as they are, lists joined with commas,
/// anything else as compact JSON; `None` for null and empty values.
pub(crate) fn fact(value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    let text = match value {
        Value::Null => return None,
        Value::String(s) => one_line(s),
        Value::Array(items) => items.iter().filter_map(fact).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    };
    (!text.is_empty()).then_some(text)
}

/// `group_id` → `Group id`.
pub(crate) fn label(key: &str) -> String {
    let spaced = key.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => spaced,
    }
}
