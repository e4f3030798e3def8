//! Where events go: a small `Publisher` trait and its Amazon SNS implementation (`sns.rs`).

use std::future::Future;

use crate::event::Message;

// The AWS SDK is behind the default `aws` feature: what only verifies and normalizes (the fuzz
// targets, the signer) builds without it.
#[cfg(feature = "aws")]
mod sns;
#[cfg(feature = "aws")]
pub use sns::{SnsPublisher, sdk_loader};

/// Publishes one message and returns the id the destination gave it.
pub trait Publisher: Send + Sync {
    fn publish(
        &self,
        message: &Message,
    ) -> impl Future<Output = Result<String, PublishError>> + Send;
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("SNS refused or could not be reached: {0}")]
    Sns(String),
    #[error("SNS answered without a message id")]
    NoMessageId,
    #[error("invalid message attribute: {0}")]
    Attribute(String),
}
