//! Amazon SNS behind [`Publisher`], with the SDK settings `main` loads once at cold start.

use std::time::Duration;

use aws_sdk_sns::Client;
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::MessageAttributeValue;

use super::{PublishError, PublishRequest, Publisher};

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

/// Publishes to whichever topic each request names, with one SDK client built at cold start.
pub struct SnsPublisher {
    client: Client,
}

impl SnsPublisher {
    pub fn new(client: Client) -> Self {
        SnsPublisher { client }
    }
}

impl Publisher for SnsPublisher {
    async fn publish(&self, request: PublishRequest<'_>) -> Result<String, PublishError> {
        let mut call = self
            .client
            .publish()
            .topic_arn(request.topic_arn)
            .message(&request.message.body)
            .subject(request.subject);
        if request.message.structured {
            call = call.message_structure("json");
        }
        for (name, data_type, value) in request.attributes.typed() {
            let attribute = MessageAttributeValue::builder()
                .data_type(data_type)
                .string_value(value)
                .build()
                .map_err(|e| PublishError::Attribute(e.to_string()))?;
            call = call.message_attributes(name, attribute);
        }
        if let Some(fifo) = request.fifo {
            call = call
                .message_group_id(&fifo.group_id)
                .message_deduplication_id(&fifo.deduplication_id);
        }
        let output = call
            .send()
            .await
            .map_err(|e| PublishError::Sns(DisplayErrorContext(e).to_string()))?;
        output
            .message_id
            .filter(|id| !id.is_empty())
            .ok_or(PublishError::NoMessageId)
    }
}
