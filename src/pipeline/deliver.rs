//! The third stage, shared by a webhook and a fallback-queue record: publish every one of an
//! outbox's publishes at once, and keep what failed in the fallback queue as one message.

use tokio::sync::Semaphore;

use crate::outbox::{Outbox, PublishRequest};
use crate::publish::{Fallback, Pending, PublishError, Publisher, publish_all};

/// A publish that failed: the route's label (`default` or its position), its topic and why.
#[derive(Debug)]
pub struct Failure {
    pub route: String,
    pub topic_arn: String,
    pub error: PublishError,
}

/// What to do with failed publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// A webhook: whatever failed goes to the fallback queue.
    Failed,
    /// A queue record: only a partial remainder goes back as a new message; a record none of
    /// whose publishes went out stays where it is, for SQS to retry and dead-letter.
    Remainder,
}

/// Why failed publishes are not in the fallback queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unqueued {
    /// Nothing was published, and `Keep::Remainder` leaves it to the queue it came from.
    Left,
    /// `FALLBACK_QUEUE_URL` is not set.
    NoQueue,
    /// The queue refused or could not be reached (logged).
    QueueFailed,
}

/// What became of an outbox.
#[derive(Debug)]
pub enum Delivery {
    /// On every topic; the default topic's message id, else (when alert state held the default
    /// topic back) the first route's.
    Published { message_id: Option<String> },
    /// Some failed and are in the fallback queue.
    Queued { failures: Vec<Failure> },
    /// Some failed and are not kept.
    Unqueued {
        failures: Vec<Failure>,
        why: Unqueued,
    },
}

/// Where outboxes go: the publisher, and the fallback queue when there is one. Built once at
/// cold start; a webhook and a queue record are delivered by the same one.
pub struct Deliverer<P, Q> {
    pub publisher: P,
    /// `FALLBACK_QUEUE_URL`; without it a failed publish is not kept.
    pub fallback: Option<Q>,
}

impl<P: Publisher, Q: Fallback> Deliverer<P, Q> {
    /// Publishes `outbox`, then keeps what failed as `keep` says. Each failed publish is logged
    /// once, with its route, topic and reason; so is a fallback queue that fails.
    pub async fn deliver(&self, outbox: &Outbox, first_attempt: &str, keep: Keep) -> Delivery {
        deliver(
            &self.publisher,
            self.fallback.as_ref(),
            outbox,
            first_attempt,
            keep,
        )
        .await
    }

    /// As `deliver`, with at most `permits` publishes in flight: a redriven batch shares them.
    pub async fn deliver_bounded(
        &self,
        outbox: &Outbox,
        first_attempt: &str,
        keep: Keep,
        permits: &Semaphore,
    ) -> Delivery {
        let bounded = Bounded {
            publisher: &self.publisher,
            permits,
        };
        deliver(
            &bounded,
            self.fallback.as_ref(),
            outbox,
            first_attempt,
            keep,
        )
        .await
    }
}

/// A publisher that waits for a permit before each publish.
struct Bounded<'a, P> {
    publisher: &'a P,
    permits: &'a Semaphore,
}

impl<P: Publisher> Publisher for Bounded<'_, P> {
    async fn publish(&self, request: PublishRequest<'_>) -> Result<String, PublishError> {
        // Never closed, so `acquire` cannot fail; were it to, the publish goes ahead unbounded.
        let _permit = self.permits.acquire().await.ok();
        self.publisher.publish(request).await
    }
}

async fn deliver<P: Publisher, Q: Fallback>(
    publisher: &P,
    fallback: Option<&Q>,
    outbox: &Outbox,
    first_attempt: &str,
    keep: Keep,
) -> Delivery {
    let results = publish_all(publisher, outbox).await;
    let mut message_id = None;
    let mut first_id = None;
    let mut failed = Vec::new();
    let mut failures = Vec::new();
    for (index, (publish, result)) in outbox.publishes.iter().zip(results).enumerate() {
        match result {
            Ok(id) if publish.route == 0 => message_id = Some(id),
            Ok(id) => {
                first_id.get_or_insert(id);
            }
            Err(error) => {
                failed.push(index);
                failures.push(Failure {
                    route: publish.route_label(),
                    topic_arn: publish.topic_arn.clone(),
                    error,
                });
            }
        }
    }
    log_failures(outbox, &failures);
    if failures.is_empty() {
        // Alert state may hold the default topic back: then the first route's id.
        return Delivery::Published {
            message_id: message_id.or(first_id),
        };
    }
    if keep == Keep::Remainder && failed.len() == outbox.publishes.len() {
        return Delivery::Unqueued {
            failures,
            why: Unqueued::Left,
        };
    }
    let Some(queue) = fallback else {
        return Delivery::Unqueued {
            failures,
            why: Unqueued::NoQueue,
        };
    };
    let queued = match Pending::of(outbox, &failed, first_attempt.to_owned()).encode() {
        Ok(body) => queue.enqueue(body).await.map_err(|e| e.to_string()),
        Err(error) => Err(error.to_string()),
    };
    match queued {
        Ok(()) => Delivery::Queued { failures },
        Err(error) => {
            tracing::error!(
                provider = outbox.attributes.provider.as_str(),
                event_id = outbox.event_id.as_str(),
                error = %error,
                "fallback queue failed"
            );
            Delivery::Unqueued {
                failures,
                why: Unqueued::QueueFailed,
            }
        }
    }
}

/// One warning per failed publish: which route, which topic, why.
fn log_failures(outbox: &Outbox, failures: &[Failure]) {
    for failure in failures {
        tracing::warn!(
            provider = outbox.attributes.provider.as_str(),
            event_id = outbox.event_id.as_str(),
            route = failure.route,
            topic = failure.topic_arn,
            reason = failure.error.reason(),
            error = %failure.error,
            "publish failed"
        );
    }
}
