//! Everything one alert publishes, decided by the routes and rendered by the formats: what the
//! publishers send, and what the fallback queue keeps of it when a publish fails.

use serde::{Deserialize, Serialize};

use crate::event::Attributes;
use crate::format::Message;

/// Everything one alert publishes, exactly as built: each distinct message once, and the topics
/// it goes to. What the fallback queue keeps when a publish fails is a part of this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outbox {
    pub event_id: String,
    pub subject: String,
    pub attributes: Attributes,
    /// The FIFO fields, sent to topics whose ARN ends in `.fifo`.
    pub fifo: Fifo,
    pub messages: Vec<Message>,
    pub publishes: Vec<Publish>,
}

/// `MessageGroupId` (the alert's `dedup_key`) and `MessageDeduplicationId` (the event id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fifo {
    pub group_id: String,
    pub deduplication_id: String,
}

/// One topic an alert goes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publish {
    /// 0 for `ALERT_TOPIC_ARN`, else the route's position in `ALERT_ROUTES`, counted from 1.
    pub route: usize,
    pub topic_arn: String,
    /// Index into `Outbox::messages`.
    pub message: usize,
}

impl Publish {
    /// How logs name the route: `default`, or its position.
    pub fn route_label(&self) -> String {
        match self.route {
            0 => "default".to_owned(),
            n => n.to_string(),
        }
    }

    pub fn is_fifo(&self) -> bool {
        self.topic_arn.ends_with(".fifo")
    }
}

/// One SNS `Publish` call, borrowed from an `Outbox`.
#[derive(Debug, Clone, Copy)]
pub struct PublishRequest<'a> {
    pub topic_arn: &'a str,
    pub message: &'a Message,
    pub subject: &'a str,
    pub attributes: &'a Attributes,
    pub fifo: Option<&'a Fifo>,
}

impl Outbox {
    /// The request for one of `publishes`; `None` if it names a message that is not here.
    pub fn request<'a>(&'a self, publish: &'a Publish) -> Option<PublishRequest<'a>> {
        Some(PublishRequest {
            topic_arn: &publish.topic_arn,
            message: self.messages.get(publish.message)?,
            subject: &self.subject,
            attributes: &self.attributes,
            fifo: publish.is_fifo().then_some(&self.fifo),
        })
    }
}
