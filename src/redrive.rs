//! The SQS path: the fallback queue's records published again, byte for byte as first built (the
//! same event id, message and FIFO ids), by the same `Deliverer` as a webhook, with the records
//! that still failed reported back so SQS retries only those, and moves them to the dead-letter
//! queue after its `maxReceiveCount`.
//!
//! The queue is not trusted to name topics: whoever can send to it could otherwise make the
//! function publish anything to any topic its role reaches. A record whose publishes name a topic
//! the running configuration does not publish to (`ALERT_TOPIC_ARN` or a route's) is refused
//! whole, reported as a batch-item failure (so it ends in the dead-letter queue) and counted as
//! `redrive_failed` with reason `foreign_topic`.

use std::time::Instant;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures_util::future::join_all;

use crate::metrics;
use crate::pipeline::{Deliverer, Delivery, Keep, Unqueued};
use crate::publish::{Fallback, Pending, Publisher};
use crate::route::Routes;

/// What became of one record.
enum Redriven {
    /// Every pending publish went out.
    Published,
    /// Some went out; the rest is a new message on the queue, so none is published twice.
    Requeued,
    /// Left on the queue for SQS to retry.
    Failed(&'static str),
}

/// Handles one batch of the fallback queue (`ReportBatchItemFailures`): every record at once,
/// each with its EMF line (in `namespace`, to `metrics`) and its log line.
pub async fn redrive<P: Publisher, Q: Fallback>(
    deliverer: &Deliverer<P, Q>,
    routes: &Routes,
    namespace: &str,
    metrics: &dyn Fn(&str),
    event: SqsEvent,
) -> SqsBatchResponse {
    let batch = Batch {
        deliverer,
        routes,
        namespace,
        metrics,
    };
    let outcomes = join_all(event.records.iter().map(|r| batch.record(r))).await;
    let mut response = SqsBatchResponse::default();
    for (record, failed) in event.records.iter().zip(outcomes) {
        if failed {
            response.add_failure(record.message_id.clone().unwrap_or_default());
        }
    }
    response
}

/// What every record of a batch shares.
struct Batch<'a, P, Q> {
    deliverer: &'a Deliverer<P, Q>,
    routes: &'a Routes,
    namespace: &'a str,
    metrics: &'a dyn Fn(&str),
}

impl<P: Publisher, Q: Fallback> Batch<'_, P, Q> {
    /// Whether the record must be reported as failed.
    async fn record(&self, record: &SqsMessage) -> bool {
        let started = Instant::now();
        let message_id = record.message_id.as_deref().unwrap_or_default();
        let pending = record
            .body
            .as_deref()
            .ok_or_else(|| "the record has no body".to_owned())
            .and_then(|body| Pending::decode(body).map_err(|e| e.to_string()));
        let (provider, event_id, outcome) = match pending {
            Err(error) => {
                tracing::error!(message_id, error = %error, "unreadable fallback record");
                ("unknown".to_owned(), None, Redriven::Failed("unreadable"))
            }
            Ok(pending) => {
                let foreign = pending
                    .outbox
                    .publishes
                    .iter()
                    .find(|p| !self.routes.publishes_to(&p.topic_arn));
                let outcome = match foreign {
                    Some(publish) => {
                        tracing::error!(
                            message_id,
                            topic = %publish.topic_arn,
                            "fallback record names a topic this function does not publish to"
                        );
                        Redriven::Failed("foreign_topic")
                    }
                    None => self.publish(&pending).await,
                };
                let outbox = pending.outbox;
                (outbox.attributes.provider, Some(outbox.event_id), outcome)
            }
        };
        let (name, counted, reason) = match outcome {
            Redriven::Published => ("redriven", metrics::Outcome::Redriven, None),
            Redriven::Requeued => ("requeued", metrics::Outcome::Redriven, None),
            Redriven::Failed(reason) => ("failed", metrics::Outcome::RedriveFailed, Some(reason)),
        };
        let elapsed = started.elapsed();
        (self.metrics)(&metrics::line(
            self.namespace,
            &provider,
            counted,
            None,
            metrics::now_ms(),
            elapsed.as_secs_f64() * 1000.0,
        ));
        tracing::info!(
            provider,
            outcome = name,
            reason,
            event_id,
            message_id,
            receive_count = record
                .attributes
                .get("ApproximateReceiveCount")
                .map(String::as_str),
            duration_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            "redrive"
        );
        matches!(outcome, Redriven::Failed(_))
    }

    async fn publish(&self, pending: &Pending) -> Redriven {
        let delivery = self
            .deliverer
            .deliver(&pending.outbox, &pending.first_attempt, Keep::Remainder)
            .await;
        match delivery {
            Delivery::Published { .. } => Redriven::Published,
            Delivery::Queued { .. } => Redriven::Requeued,
            Delivery::Unqueued { why, .. } => Redriven::Failed(match why {
                Unqueued::Left => "publish_failed",
                Unqueued::NoQueue => "no_fallback_queue",
                Unqueued::QueueFailed => "requeue_failed",
            }),
        }
    }
}
