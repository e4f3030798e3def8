//! `ALERT_ROUTES`: more topics beside `ALERT_TOPIC_ARN`, each chosen by an SNS filter policy
//! over the alert's attributes and written in its own format. `Routes::outbox` decides, for one
//! alert, which topics get which message; the handler only publishes what it says.

mod filter;
mod policy;

pub use filter::{Filter, FilterError};
pub use policy::{MIN_REPEAT_AFTER, Millis, Notify, Policy, parse_duration};

use serde::Deserialize;
use serde_json::Value;

use crate::event::{Event, EventError};
use crate::format::{Format, Message};
use crate::outbox::{Fifo, Outbox, Publish};

pub const VARIABLE: &str = "ALERT_ROUTES";
/// More routes than this is a configuration error: each is a concurrent publish per alert.
pub const MAX_ROUTES: usize = 10;

/// What is wrong with `ALERT_ROUTES`, said the way a configuration error is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("ALERT_ROUTES is invalid: {0}")]
    Invalid(&'static str),
    /// One route, by its position counted from 1.
    #[error("ALERT_ROUTES route {position}: {reason}")]
    Route { position: usize, reason: String },
}

/// The default topic, which receives every alert as a CloudEvent, and the routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routes {
    default_topic: String,
    /// `ALERT_TOPIC_NOTIFY` and `ALERT_TOPIC_REPEAT_AFTER`, under alert state.
    default_policy: Policy,
    routes: Vec<Route>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub topic: String,
    pub filter: Filter,
    pub format: Format,
    /// `notify` and `repeat_after`, under alert state.
    pub policy: Policy,
}

/// A route as written in `ALERT_ROUTES`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Written {
    topic: String,
    #[serde(default)]
    filter: Option<Value>,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    notify: Option<String>,
    #[serde(default)]
    repeat_after: Option<String>,
}

impl Routes {
    /// `default_topic` alone, with no routes.
    pub fn new(default_topic: impl Into<String>) -> Self {
        Routes {
            default_topic: default_topic.into(),
            default_policy: Policy::default(),
            routes: Vec::new(),
        }
    }

    /// Reads `ALERT_ROUTES` (a JSON array; absent or empty means no routes).
    pub fn parse(
        default_topic: impl Into<String>,
        value: Option<&str>,
    ) -> Result<Self, RouteError> {
        let mut routes = Routes::new(default_topic);
        let Some(value) = value else {
            return Ok(routes);
        };
        let written: Vec<Value> = match serde_json::from_str(value) {
            Ok(Value::Array(items)) => items,
            Ok(_) => {
                return Err(RouteError::Invalid("not a JSON array of routes"));
            }
            Err(_) => return Err(RouteError::Invalid("not JSON")),
        };
        for (index, item) in written.into_iter().enumerate() {
            let position = index + 1;
            let error = |reason: String| RouteError::Route { position, reason };
            if position > MAX_ROUTES {
                return Err(error(format!("more than {MAX_ROUTES} routes")));
            }
            let written: Written =
                serde_json::from_value(item).map_err(|e| error(e.to_string()))?;
            let topic = written.topic.trim().to_owned();
            if !is_sns_topic_arn(&topic) {
                return Err(error(format!("topic {topic:?} is not an SNS topic ARN")));
            }
            if topic == routes.default_topic {
                return Err(error(
                    "topic is ALERT_TOPIC_ARN, which already receives every alert".into(),
                ));
            }
            if let Some(earlier) = routes.routes.iter().position(|r| r.topic == topic) {
                return Err(error(format!("topic is already route {}'s", earlier + 1)));
            }
            let format = match written.format.as_deref() {
                None => Format::default(),
                Some(name) => Format::from_name(name).ok_or_else(|| {
                    error(format!(
                        "unknown format {name:?} (expected \"cloudevents\" or \"chatbot\")"
                    ))
                })?,
            };
            let filter = match &written.filter {
                None => Filter::default(),
                Some(policy) => Filter::parse(policy).map_err(|e| error(format!("filter: {e}")))?,
            };
            let policy = Policy::parse(written.notify.as_deref(), written.repeat_after.as_deref())
                .map_err(error)?;
            routes.routes.push(Route {
                topic,
                filter,
                format,
                policy,
            });
        }
        Ok(routes)
    }

    pub fn default_topic(&self) -> &str {
        &self.default_topic
    }

    /// The default topic's policy (`ALERT_TOPIC_NOTIFY`, `ALERT_TOPIC_REPEAT_AFTER`).
    pub fn with_default_policy(mut self, policy: Policy) -> Self {
        self.default_policy = policy;
        self
    }

    /// Every target of `event` in order, the default topic first: its key under alert state
    /// (`default`, else the route's topic), its policy and whether its filter matches.
    pub fn targets<'a>(&'a self, event: &Event) -> Vec<(&'a str, Policy, bool)> {
        let pairs = event.attributes.pairs();
        std::iter::once(("default", self.default_policy, true))
            .chain(
                self.routes
                    .iter()
                    .map(|r| (r.topic.as_str(), r.policy, r.filter.matches(&pairs))),
            )
            .collect()
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Whether the running configuration publishes to `topic`: the default topic or a route's.
    pub fn publishes_to(&self, topic: &str) -> bool {
        topic == self.default_topic || self.routes.iter().any(|r| r.topic == topic)
    }

    /// Everything `event` publishes: the default topic and every route whose filter matches,
    /// each format rendered once however many topics share it.
    pub fn outbox(&self, event: &Event) -> Result<Outbox, EventError> {
        let pairs = event.attributes.pairs();
        let mut selected = vec![true];
        selected.extend(self.routes.iter().map(|r| r.filter.matches(&pairs)));
        self.outbox_to(event, &selected)
    }

    /// What `event` publishes to the targets `selected` says (the default topic first, then each
    /// route in order), as alert state decided them.
    pub fn outbox_to(&self, event: &Event, selected: &[bool]) -> Result<Outbox, EventError> {
        let mut messages: Vec<(Format, Message)> = Vec::with_capacity(2);
        let mut message_for = |format: Format| -> Result<usize, EventError> {
            if let Some(index) = messages.iter().position(|(f, _)| *f == format) {
                return Ok(index);
            }
            messages.push((format, format.render(event)?));
            Ok(messages.len() - 1)
        };
        let mut publishes = Vec::with_capacity(1 + self.routes.len());
        if selected.first().copied().unwrap_or(false) {
            publishes.push(Publish {
                route: 0,
                topic_arn: self.default_topic.clone(),
                message: message_for(Format::CloudEvents)?,
            });
        }
        for (index, route) in self.routes.iter().enumerate() {
            if selected.get(index + 1).copied().unwrap_or(false) {
                publishes.push(Publish {
                    route: index + 1,
                    topic_arn: route.topic.clone(),
                    message: message_for(route.format)?,
                });
            }
        }
        Ok(Outbox {
            event_id: event.id.clone(),
            subject: event.subject.clone(),
            attributes: event.attributes.clone(),
            fifo: Fifo {
                group_id: event.dedup_key.clone(),
                deduplication_id: event.id.clone(),
            },
            messages: messages.into_iter().map(|(_, m)| m).collect(),
            publishes,
        })
    }
}

/// `arn:<partition>:sns:<region>:<12-digit account>:<name>`, the name 1 to 256 of `A-Z a-z 0-9 _ -`,
/// `.fifo` included where present.
pub fn is_sns_topic_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    let [prefix, partition, service, region, account, name] = parts[..] else {
        return false;
    };
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    prefix == "arn"
        && !partition.is_empty()
        && partition
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-')
        && service == "sns"
        && !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && (1..=256).contains(&name.len())
        && !base.is_empty()
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{Alert, Severity, Status};
    use crate::providers::Provider;
    use time::macros::datetime;

    const DEFAULT: &str = "arn:aws:sns:us-east-1:123456789012:alerts";
    const PAGING: &str = "arn:aws:sns:us-east-1:123456789012:paging";
    const CHAT: &str = "arn:aws:sns:us-east-1:123456789012:chat";
    const DATA_FIFO: &str = "arn:aws:sns:us-east-1:123456789012:data.fifo";

    fn parse(value: &str) -> Result<Routes, String> {
        Routes::parse(DEFAULT, Some(value)).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_topics_filters_and_formats() {
        let routes = parse(&format!(
            r#"[{{"topic": "{PAGING}", "filter": {{"severity": ["critical", "error"]}}}},
                {{"topic": "{CHAT}", "format": "chatbot"}},
                {{"topic": "{DATA_FIFO}", "filter": {{}}, "format": "cloudevents"}}]"#
        ))
        .unwrap();
        let formats: Vec<Format> = routes.routes().iter().map(|r| r.format).collect();
        assert_eq!(
            formats,
            [Format::CloudEvents, Format::Chatbot, Format::CloudEvents]
        );
        assert_eq!(routes.routes()[2].filter, Filter::default());
        assert_eq!(parse("[]").unwrap().routes().len(), 0);
        assert_eq!(Routes::parse(DEFAULT, None).unwrap().routes().len(), 0);
    }

    #[test]
    fn errors_name_the_variable_and_the_route_position() {
        let route = |body: &str| format!(r#"{{"topic": "{PAGING}"}}, {body}"#);
        let cases = [
            ("not json".to_owned(), "ALERT_ROUTES is invalid: not JSON"),
            (
                r#"{"topic": "x"}"#.to_owned(),
                "ALERT_ROUTES is invalid: not a JSON array of routes",
            ),
            (
                format!(
                    "[{}]",
                    route(&format!(r#"{{"topic": "{CHAT}", "format": "slack"}}"#))
                ),
                r#"ALERT_ROUTES route 2: unknown format "slack""#,
            ),
            (
                format!(
                    "[{}]",
                    route(&format!(r#"{{"topic": "{CHAT}", "formt": "chatbot"}}"#))
                ),
                "ALERT_ROUTES route 2: unknown field `formt`",
            ),
            (
                format!(
                    "[{}]",
                    route(r#"{"topic": "arn:aws:sqs:us-east-1:123456789012:q"}"#)
                ),
                "ALERT_ROUTES route 2: topic \"arn:aws:sqs:us-east-1:123456789012:q\" is not an SNS topic ARN",
            ),
            (
                format!("[{}]", route(r#"{"filter": {}}"#)),
                "ALERT_ROUTES route 2: missing field `topic`",
            ),
            (
                format!("[{}]", route(&format!(r#"{{"topic": "{PAGING}"}}"#))),
                "ALERT_ROUTES route 2: topic is already route 1's",
            ),
            (
                format!(r#"[{{"topic": "{DEFAULT}"}}]"#),
                "ALERT_ROUTES route 1: topic is ALERT_TOPIC_ARN",
            ),
            (
                format!(
                    "[{}]",
                    route(&format!(r#"{{"topic": "{CHAT}", "filter": ["x"]}}"#))
                ),
                "ALERT_ROUTES route 2: filter: ",
            ),
            (format!("[{}]", route("7")), "ALERT_ROUTES route 2: "),
        ];
        for (value, expected) in cases {
            let error = parse(&value).unwrap_err();
            assert!(
                error.starts_with(expected),
                "{value}\n  gave {error}\n  want {expected}"
            );
        }
    }

    #[test]
    fn more_than_ten_routes_are_refused() {
        let routes: Vec<String> = (1..=11)
            .map(|n| format!(r#"{{"topic": "arn:aws:sns:us-east-1:123456789012:t{n}"}}"#))
            .collect();
        assert!(parse(&format!("[{}]", routes[..10].join(","))).is_ok());
        assert_eq!(
            parse(&format!("[{}]", routes.join(","))).unwrap_err(),
            "ALERT_ROUTES route 11: more than 10 routes"
        );
    }

    fn event(severity: Severity) -> Event<'static> {
        let mut alert = Alert::new(Status::Open, severity);
        alert.alert_id = Some("a1".into());
        Event::new(
            Provider::Atlas,
            alert,
            crate::alert::SeveritySource::Provider,
            b"{}",
            datetime!(2024-01-15 10:30:00 UTC),
        )
        .unwrap()
    }

    #[test]
    fn outbox_has_the_default_topic_and_every_matching_route() {
        let routes = parse(&format!(
            r#"[{{"topic": "{PAGING}", "filter": {{"severity": ["critical"]}}}},
                {{"topic": "{CHAT}", "format": "chatbot"}},
                {{"topic": "{DATA_FIFO}"}}]"#
        ))
        .unwrap();

        let quiet = routes.outbox(&event(Severity::Warning)).unwrap();
        let topics: Vec<(usize, &str)> = quiet
            .publishes
            .iter()
            .map(|p| (p.route, p.topic_arn.as_str()))
            .collect();
        assert_eq!(topics, [(0, DEFAULT), (2, CHAT), (3, DATA_FIFO)]);

        let loud = routes.outbox(&event(Severity::Critical)).unwrap();
        assert_eq!(loud.publishes.len(), 4);
        // Three CloudEvents topics share one message; chat has its own.
        assert_eq!(loud.messages.len(), 2);
        let message_of = |route: usize| {
            loud.publishes
                .iter()
                .find(|p| p.route == route)
                .unwrap()
                .message
        };
        assert_eq!(message_of(0), message_of(1));
        assert_eq!(message_of(0), message_of(3));
        assert_ne!(message_of(0), message_of(2));
        assert!(loud.messages[message_of(0)].structured);
        assert!(!loud.messages[message_of(2)].structured);

        // FIFO fields only where the topic is FIFO.
        for publish in &loud.publishes {
            let request = loud.request(publish).unwrap();
            assert_eq!(request.fifo.is_some(), publish.topic_arn.ends_with(".fifo"));
        }
        assert_eq!(loud.fifo.group_id, "atlas:a1");
        assert_eq!(loud.fifo.deduplication_id, loud.event_id);
    }
}
