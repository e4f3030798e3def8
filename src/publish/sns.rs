//! Amazon SNS behind [`Publisher`], with the SDK settings `main` loads once at cold start.

use std::time::Duration;

use aws_sdk_sns::Client;
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::MessageAttributeValue;

use super::{PublishError, Publisher};
use crate::event::Message;

/// The AWS SDK settings `main` loads at cold start: the SDK's own credential, region and endpoint
/// chain (`AWS_ENDPOINT_URL_SNS` included), with bounded timeouts and retries so an unreachable
/// or hanging SNS becomes a 502 (and a provider retry) well inside a 10 s function timeout:
/// 3 attempts, each at most 2 s, at most 4.5 s in all.
pub fn sdk_loader() -> aws_config::ConfigLoader {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(1000))
        .read_timeout(Duration::from_millis(2000))
        .operation_attempt_timeout(Duration::from_millis(2000))
        .operation_timeout(Duration::from_millis(4500))
        .build();
    let retries = aws_config::retry::RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(100))
        .with_max_backoff(Duration::from_millis(500));
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .retry_config(retries)
}

pub struct SnsPublisher {
    client: Client,
    topic_arn: String,
}

impl SnsPublisher {
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        SnsPublisher {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

impl Publisher for SnsPublisher {
    async fn publish(&self, message: &Message) -> Result<String, PublishError> {
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(&message.body)
            .subject(&message.subject);
        for (name, value) in &message.attributes {
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| PublishError::Attribute(e.to_string()))?;
            request = request.message_attributes(*name, attribute);
        }
        if let Some(fifo) = &message.fifo {
            request = request
                .message_group_id(&fifo.group_id)
                .message_deduplication_id(&fifo.deduplication_id);
        }
        let output = request
            .send()
            .await
            .map_err(|e| PublishError::Sns(DisplayErrorContext(e).to_string()))?;
        output
            .message_id
            .filter(|id| !id.is_empty())
            .ok_or(PublishError::NoMessageId)
    }
}
