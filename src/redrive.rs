//! The SQS path: the fallback queue's records published again, byte for byte as first built (the
//! same event id, message and FIFO ids), by the same `Deliverer` as a webhook, with the records
//! that still failed reported back so SQS retries only those, and moves them to the dead-letter
//! queue after its `maxReceiveCount`.
//!
//! Neither the invocation nor the queue is trusted. Anyone with `lambda:InvokeFunction` can hand
//! the function an SQS-shaped event, and anyone who can send to the queue can write a record, and
//! either could otherwise make the function publish anything to any topic its role reaches:
//! - a batch is accepted only when every record's `eventSourceARN` is the fallback queue's ARN
//!   (`FALLBACK_QUEUE_ARN`, or derived from `FALLBACK_QUEUE_URL`); else every record of it is
//!   refused (`foreign_queue`), and the batch is logged once;
//! - a record holds at most `1 + routes` publishes, to distinct topics, each the topic its route
//!   index names in the running configuration (0 is `ALERT_TOPIC_ARN`), and its `provider` is a
//!   registered slug; else it is refused whole.
//!
//! A refused record is a batch-item failure (so it ends in the dead-letter queue), counted as
//! `redrive_failed` with its reason, and logged with the reason, never with its content. A batch
//! has at most [`MAX_PUBLISHES_IN_FLIGHT`] publishes in flight, whatever its records say.

use std::time::Instant;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures_util::future::join_all;
use tokio::sync::Semaphore;

use crate::metrics;
use crate::outbox::Outbox;
use crate::pipeline::{Deliverer, Delivery, Keep, Unqueued};
use crate::providers::Provider;
use crate::publish::{Fallback, Pending, PendingError, Publisher};
use crate::route::Routes;

/// The most publishes of one batch in flight at once. A batch from the event source mapping is at
/// most 10 records (the template's `BatchSize`) of at most `1 + MAX_ROUTES` = 11 publishes; more
/// wait for a slot rather than open more connections to SNS at once.
pub const MAX_PUBLISHES_IN_FLIGHT: usize = 16;

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
/// each with its EMF line (in `namespace`, to `metrics`) and its log line; `queue_arn` is the
/// fallback queue's, the only source of a batch that is accepted.
pub async fn redrive<P: Publisher, Q: Fallback>(
    deliverer: &Deliverer<P, Q>,
    routes: &Routes,
    queue_arn: Option<&str>,
    namespace: &str,
    metrics: &dyn Fn(&str),
    event: SqsEvent,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    let foreign = event
        .records
        .iter()
        .filter(|r| queue_arn.is_none() || r.event_source_arn.as_deref() != queue_arn)
        .count();
    if foreign > 0 {
        let started = Instant::now();
        tracing::error!(
            records = event.records.len(),
            foreign,
            fallback_queue = queue_arn.is_some(),
            "SQS batch from a source other than the fallback queue: every record refused"
        );
        for record in &event.records {
            response.add_failure(record.message_id.clone().unwrap_or_default());
            (metrics)(&metrics::line(
                namespace,
                "unknown",
                metrics::Outcome::RedriveFailed("foreign_queue"),
                None,
                metrics::now_ms(),
                started.elapsed().as_secs_f64() * 1000.0,
            ));
        }
        return response;
    }
    let batch = Batch {
        deliverer,
        routes,
        namespace,
        metrics,
        permits: Semaphore::new(MAX_PUBLISHES_IN_FLIGHT),
    };
    let outcomes = join_all(event.records.iter().map(|r| batch.record(r))).await;
    for (record, failed) in event.records.iter().zip(outcomes) {
        if failed {
            response.add_failure(record.message_id.clone().unwrap_or_default());
        }
    }
    response
}

/// Why a well-formed record is not ours to publish, if it is not: a fixed reason.
fn refusal(outbox: &Outbox, routes: &Routes) -> Option<&'static str> {
    if Provider::from_slug(&outbox.attributes.provider).is_none() {
        return Some("unknown_provider");
    }
    // `Pending::decode` saw to the rest: at least one publish, each naming a message it holds.
    let publishes = &outbox.publishes;
    if publishes.len() > 1 + routes.routes().len() {
        return Some("too_many_publishes");
    }
    for (index, publish) in publishes.iter().enumerate() {
        let topic = match publish.route {
            0 => Some(routes.default_topic()),
            n => routes.routes().get(n - 1).map(|route| route.topic.as_str()),
        };
        if topic != Some(publish.topic_arn.as_str()) {
            return Some("foreign_topic");
        }
        if publishes[..index]
            .iter()
            .any(|p| p.topic_arn == publish.topic_arn)
        {
            return Some("duplicate_topic");
        }
    }
    None
}

/// Why a record could not be read, in fixed words: a JSON error's text may quote the record.
fn unreadable(error: &PendingError) -> &'static str {
    match error {
        PendingError::NotOurs(_) => "not an alert-relay pending message",
        PendingError::Json(_) => "not the pending message's JSON",
        PendingError::Gzip(_) => "unreadable gzip",
        PendingError::TooLarge(_) => "too large",
    }
}

/// What every record of a batch shares.
struct Batch<'a, P, Q> {
    deliverer: &'a Deliverer<P, Q>,
    routes: &'a Routes,
    namespace: &'a str,
    metrics: &'a dyn Fn(&str),
    /// Shared by every record's publishes: `MAX_PUBLISHES_IN_FLIGHT`.
    permits: Semaphore,
}

impl<P: Publisher, Q: Fallback> Batch<'_, P, Q> {
    /// Whether the record must be reported as failed.
    async fn record(&self, record: &SqsMessage) -> bool {
        let started = Instant::now();
        let message_id = record.message_id.as_deref().unwrap_or_default();
        let pending = match record.body.as_deref() {
            None => Err("the record has no body"),
            Some(body) => Pending::decode(body).map_err(|e| unreadable(&e)),
        };
        let (provider, event_id, outcome) = match pending {
            Err(error) => {
                tracing::error!(message_id, error, "unreadable fallback record");
                ("unknown".to_owned(), None, Redriven::Failed("unreadable"))
            }
            Ok(pending) => match refusal(&pending.outbox, self.routes) {
                Some(reason) => {
                    tracing::error!(
                        message_id,
                        reason,
                        "fallback record refused: it is not what this function queues"
                    );
                    let provider = Provider::from_slug(&pending.outbox.attributes.provider)
                        .map_or("unknown", Provider::slug);
                    (provider.to_owned(), None, Redriven::Failed(reason))
                }
                None => {
                    let outcome = self.publish(&pending).await;
                    let outbox = pending.outbox;
                    (outbox.attributes.provider, Some(outbox.event_id), outcome)
                }
            },
        };
        let (name, counted, reason) = match outcome {
            Redriven::Published => ("redriven", metrics::Outcome::Redriven, None),
            Redriven::Requeued => ("requeued", metrics::Outcome::Redriven, None),
            Redriven::Failed(reason) => (
                "failed",
                metrics::Outcome::RedriveFailed(reason),
                Some(reason),
            ),
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
            .deliver_bounded(
                &pending.outbox,
                &pending.first_attempt,
                Keep::Remainder,
                &self.permits,
            )
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
