//! Where events go: everything one alert publishes (`Outbox`), a small `Publisher` trait, its
//! Amazon SNS implementation (`sns.rs`), and the concurrent fan-out over an alert's topics.

use std::future::Future;

pub use crate::outbox::{Fifo, Outbox, Publish, PublishRequest};
use futures_util::future::join_all;

// The AWS SDK is behind the default `aws` feature: what only verifies and normalizes (the fuzz
// targets, the signer) builds without it.
mod fallback;
#[cfg(feature = "aws")]
mod sns;
#[cfg(feature = "aws")]
mod sqs;
#[cfg(feature = "aws")]
mod state_table;

pub use fallback::{
    FORMAT as FALLBACK_FORMAT, Fallback, MAX_MESSAGE_BYTES, NoFallback, Pending, PendingError,
    QueueError,
};
#[cfg(feature = "aws")]
pub use sns::{SnsPublisher, sdk_loader};
#[cfg(feature = "aws")]
pub use sqs::{SqsQueue, sqs_timeouts};
#[cfg(feature = "aws")]
pub use state_table::{StateTable, state_timeouts};

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
