//! `ALERT_ROUTES`: more topics beside `ALERT_TOPIC_ARN`, each chosen by an SNS filter policy
//! over the alert's attributes and written in its own format. `Routes::outbox` decides, for one
//! alert, which topics get which message; the handler only publishes what it says.

mod filter;

pub use filter::{Filter, FilterError};

use serde::Deserialize;
use serde_json::Value;

use crate::config::ConfigError;
use crate::event::{Event, EventError};
use crate::format::{Format, Message};
use crate::publish::{Fifo, Outbox, Publish};

pub const VARIABLE: &str = "ALERT_ROUTES";
/// More routes than this is a configuration error: each is a concurrent publish per alert.
pub const MAX_ROUTES: usize = 10;

/// The default topic, which receives every alert as a CloudEvent, and the routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routes {
    default_topic: String,
    routes: Vec<Route>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub topic: String,
    pub filter: Filter,
    pub format: Format,
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
}

impl Routes {
    /// `default_topic` alone, with no routes.
    pub fn new(default_topic: impl Into<String>) -> Self {
        Routes {
            default_topic: default_topic.into(),
            routes: Vec::new(),
        }
    }

    /// Reads `ALERT_ROUTES` (a JSON array; absent or empty means no routes).
    pub fn parse(
        default_topic: impl Into<String>,
        value: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let mut routes = Routes::new(default_topic);
        let Some(value) = value else {
            return Ok(routes);
        };
        let written: Vec<Value> = match serde_json::from_str(value) {
            Ok(Value::Array(items)) => items,
            Ok(_) => {
                return Err(crate::config::invalid(
                    VARIABLE,
                    "not a JSON array of routes",
                ));
            }
            Err(_) => return Err(crate::config::invalid(VARIABLE, "not JSON")),
        };
        for (index, item) in written.into_iter().enumerate() {
            let position = index + 1;
            let error = |reason: String| ConfigError::Route { position, reason };
            if position > MAX_ROUTES {
                return Err(error(format!("more than {MAX_ROUTES} routes")));
            }
            let written: Written =
                serde_json::from_value(item).map_err(|e| error(e.to_string()))?;
            let topic = written.topic.trim().to_owned();
            if !crate::config::is_sns_topic_arn(&topic) {
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
            routes.routes.push(Route {
                topic,
                filter,
                format,
            });
        }
        Ok(routes)
    }

    pub fn default_topic(&self) -> &str {
        &self.default_topic
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Everything `event` publishes: the default topic and every route whose filter matches,
    /// each format rendered once however many topics share it.
    pub fn outbox(&self, event: &Event) -> Result<Outbox, EventError> {
        let mut messages: Vec<(Format, Message)> = Vec::with_capacity(2);
        let mut message_for = |format: Format| -> Result<usize, EventError> {
            if let Some(index) = messages.iter().position(|(f, _)| *f == format) {
                return Ok(index);
            }
            messages.push((format, format.render(event)?));
            Ok(messages.len() - 1)
        };
        let mut publishes = vec![Publish {
            route: 0,
            topic_arn: self.default_topic.clone(),
            message: message_for(Format::CloudEvents)?,
        }];
        for (index, route) in self.routes.iter().enumerate() {
            if route.filter.matches(&event.attributes) {
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
