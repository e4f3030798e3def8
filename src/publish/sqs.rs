//! The fallback queue on Amazon SQS, behind [`Fallback`].

use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;

use super::{Fallback, QueueError};

/// The queue write comes after SNS's own budget (≤ 4.5 s): 2 attempts, at most 3 s in all, so
/// both finish well inside the function's 10 s timeout.
pub fn sqs_timeouts(config: aws_sdk_sqs::config::Builder) -> aws_sdk_sqs::config::Builder {
    config
        .timeout_config(
            aws_sdk_sqs::config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(1000))
                .read_timeout(Duration::from_millis(1500))
                .operation_attempt_timeout(Duration::from_millis(1500))
                .operation_timeout(Duration::from_millis(3000))
                .build(),
        )
        .retry_config(
            aws_sdk_sqs::config::retry::RetryConfig::standard()
                .with_max_attempts(2)
                .with_initial_backoff(Duration::from_millis(100)),
        )
}

pub struct SqsQueue {
    client: Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        SqsQueue {
            client,
            url: url.into(),
        }
    }
}

impl Fallback for SqsQueue {
    async fn enqueue(&self, body: String) -> Result<(), QueueError> {
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| QueueError(DisplayErrorContext(e).to_string()))
    }
}
