//! Where events go: everything one alert publishes (`Outbox`), a small `Publisher` trait, its
//! Amazon SNS implementation (`sns.rs`), and the concurrent fan-out over an alert's topics.

use std::future::Future;

use futures_util::future::join_all;
use serde::{Deserialize, Serialize};

use crate::event::Attributes;
use crate::format::Message;

// The AWS SDK is behind the default `aws` feature: what only verifies and normalizes (the fuzz
// targets, the signer) builds without it.
mod fallback;
#[cfg(feature = "aws")]
mod sns;
#[cfg(feature = "aws")]
mod sqs;

pub use fallback::{
    FORMAT as FALLBACK_FORMAT, Fallback, MAX_MESSAGE_BYTES, NoFallback, Pending, PendingError,
    QueueError,
};
#[cfg(feature = "aws")]
pub use sns::{SnsPublisher, sdk_loader};
#[cfg(feature = "aws")]
pub use sqs::{SqsQueue, sqs_timeouts};

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

/// Publishes one message and returns the id the destination gave it.
pub trait Publisher: Send + Sync {
    fn publish(
        &self,
        request: PublishRequest<'_>,
    ) -> impl Future<Output = Result<String, PublishError>> + Send;
}

/// Publishes every one of the outbox's publishes at once: an alert routed to four topics costs
/// about one SNS round trip, not four. The results are in the order of `outbox.publishes`.
pub async fn publish_all<P: Publisher>(
    publisher: &P,
    outbox: &Outbox,
) -> Vec<Result<String, PublishError>> {
    join_all(outbox.publishes.iter().map(|publish| async move {
        match outbox.request(publish) {
            Some(request) => publisher.publish(request).await,
            None => Err(PublishError::NoMessage(publish.message)),
        }
    }))
    .await
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("SNS refused or could not be reached: {0}")]
    Sns(String),
    #[error("SNS answered without a message id")]
    NoMessageId,
    #[error("invalid message attribute: {0}")]
    Attribute(String),
    #[error("the outbox has no message {0}")]
    NoMessage(usize),
}

impl PublishError {
    /// A short, fixed reason for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            PublishError::Sns(_) => "sns_error",
            PublishError::NoMessageId => "no_message_id",
            PublishError::Attribute(_) => "bad_attribute",
            PublishError::NoMessage(_) => "bad_outbox",
        }
    }
}
