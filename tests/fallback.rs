//! The fallback queue through the handler and the redrive path, with a publisher that fails the
//! topics a test names and a queue that records (or refuses) what is enqueued. The same code
//! runs against moto in tests/e2e/test_fallback.py.

mod common;

use std::sync::{Arc, Mutex};

use alert_relay::dispatch::Invocation;
use alert_relay::publish::{Fallback, Pending, PublishRequest, QueueError};
use alert_relay::{PublishError, Publisher, Relay};
use aws_lambda_events::event::sqs::SqsEvent;
use common::*;
use serde_json::{Value, json};

const PAGING: &str = "arn:aws:sns:us-east-1:123456789012:paging";
const DATA: &str = "arn:aws:sns:us-east-1:123456789012:data.fifo";
const CHAT: &str = "arn:aws:sns:us-east-1:123456789012:chat";

/// Records every publish; refuses those to the topics in `down`.
#[derive(Clone, Default)]
struct Sns {
    sent: Recording,
    down: Arc<Mutex<Vec<String>>>,
}

impl Sns {
    fn down(&self, topics: &[&str]) {
        *self.down.lock().unwrap() = topics.iter().map(|t| (*t).to_owned()).collect();
    }
}

impl Publisher for Sns {
    async fn publish(&self, request: PublishRequest<'_>) -> Result<String, PublishError> {
        if self
            .down
            .lock()
            .unwrap()
            .iter()
            .any(|t| t == request.topic_arn)
        {
            return Err(PublishError::Sns("ServiceUnavailable".into()));
        }
        self.sent.publish(request).await
    }
}

/// Records what is enqueued; refuses everything when `broken`.
#[derive(Clone, Default)]
struct Queue {
    bodies: Arc<Mutex<Vec<String>>>,
    broken: bool,
}

impl Queue {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.bodies.lock().unwrap())
    }
}

impl Fallback for Queue {
    async fn enqueue(&self, body: String) -> Result<(), QueueError> {
        if self.broken {
            return Err(QueueError("connection refused".into()));
        }
        self.bodies.lock().unwrap().push(body);
        Ok(())
    }
}

fn routed(sns: &Sns, queue: &Queue) -> Relay<Sns, Queue> {
    let mut vars = config_vars();
    let routes = json!([
        {"topic": PAGING, "filter": {"severity": ["critical"]}},
        {"topic": DATA, "filter": {"provider": ["monte-carlo"]}},
        {"topic": CHAT, "format": "chatbot"},
    ]);
    vars.push(("ALERT_ROUTES".into(), routes.to_string()));
    // A fixed clock: Monte Carlo alerts carry no time, so they are dated when received.
    quiet(config_from(&vars), sns.clone())
        .with_clock(|| time::OffsetDateTime::from_unix_timestamp(1_705_314_600).unwrap())
        .with_fallback(queue.clone())
}

/// An SQS batch, as Lambda's event source mapping delivers the queue's messages.
fn batch(bodies: &[String]) -> SqsEvent {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            json!({
                "messageId": format!("m-{i}"), "receiptHandle": format!("r-{i}"), "body": body,
                "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:fallback",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    match Invocation::from_json(&json!({ "Records": records }).to_string()).unwrap() {
        Invocation::Sqs(event) => event,
        Invocation::Http(_) => panic!("an SQS batch taken for HTTP"),
    }
}

/// The topics a pending message still has to reach, in order.
fn topics(pending: &Pending) -> Vec<&str> {
    pending
        .outbox
        .publishes
        .iter()
        .map(|p| p.topic_arn.as_str())
        .collect()
}

fn failures(response: &aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

#[tokio::test]
async fn an_sns_outage_is_answered_202_and_queued_then_redriven_byte_for_byte() {
    let (sns, queue) = (Sns::default(), Queue::default());
    let relay = routed(&sns, &queue);
    sns.down(&[TOPIC, PAGING, DATA, CHAT]);
    let (status, body) = send(&relay, &sev1_monte_carlo().v2()).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "queued");
    let event_id = body["event_id"].as_str().unwrap().to_owned();
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");

    let queued = queue.take();
    assert_eq!(queued.len(), 1, "one message for the whole alert");
    let pending = Pending::decode(&queued[0]).unwrap();
    assert_eq!(pending.outbox.event_id, event_id);
    assert_eq!(pending.outbox.publishes.len(), 4);
    assert_eq!(
        pending.outbox.messages.len(),
        2,
        "three CloudEvents topics share one message"
    );
    assert!(alert_relay::alert::parse_time(&pending.first_attempt).is_some());

    // The same alert published without an outage: what the redrive must reproduce exactly.
    let reference = Sns::default();
    let direct = routed(&reference, &Queue::default());
    assert_eq!(send(&direct, &sev1_monte_carlo().v2()).await.0, 200);

    sns.down(&[]);
    let response = relay.redrive(batch(&queued)).await;
    assert!(failures(&response).is_empty());
    let redriven = sns.sent.messages();
    assert_eq!(redriven.len(), 4);
    for sent in &redriven {
        let original = reference
            .sent
            .to_topic(&sent.topic_arn)
            .pop()
            .expect("the same topic");
        assert_eq!(
            sent, &original,
            "{}: byte for byte as first built",
            sent.topic_arn
        );
        assert_eq!(sent.event_id, event_id);
    }
    assert!(queue.take().is_empty());
}

#[tokio::test]
async fn only_the_failed_publishes_are_queued() {
    let (sns, queue) = (Sns::default(), Queue::default());
    let relay = routed(&sns, &queue);
    sns.down(&[DATA, CHAT]);
    let (status, _) = send(&relay, &sev1_monte_carlo().v2()).await;
    assert_eq!(status, 202);
    let pending = Pending::decode(&queue.take()[0]).unwrap();
    assert_eq!(topics(&pending), [DATA, CHAT]);
    let routes: Vec<usize> = pending.outbox.publishes.iter().map(|p| p.route).collect();
    assert_eq!(routes, [2, 3]);
    assert_eq!(
        sns.sent.messages().len(),
        2,
        "the default and paging topics have it already"
    );
}

#[tokio::test]
async fn a_partial_redrive_requeues_the_rest_and_publishes_nothing_twice() {
    let (sns, queue) = (Sns::default(), Queue::default());
    let relay = routed(&sns, &queue);
    sns.down(&[TOPIC, PAGING, DATA, CHAT]);
    assert_eq!(send(&relay, &sev1_monte_carlo().v2()).await.0, 202);
    let first = queue.take();

    sns.down(&[PAGING, DATA]); // two of the three routes still down
    let response = relay.redrive(batch(&first)).await;
    assert!(
        failures(&response).is_empty(),
        "the record is done: its remainder is a new message"
    );
    let remainder = queue.take();
    assert_eq!(remainder.len(), 1);
    let pending = Pending::decode(&remainder[0]).unwrap();
    assert_eq!(topics(&pending), [PAGING, DATA]);
    assert_eq!(
        pending.first_attempt,
        Pending::decode(&first[0]).unwrap().first_attempt
    );

    sns.down(&[]);
    assert!(failures(&relay.redrive(batch(&remainder)).await).is_empty());
    let mut topics: Vec<String> = sns
        .sent
        .messages()
        .into_iter()
        .map(|s| s.topic_arn)
        .collect();
    topics.sort();
    let mut expected = vec![TOPIC, PAGING, DATA, CHAT];
    expected.sort();
    assert_eq!(topics, expected, "each topic exactly once");
}

#[tokio::test]
async fn records_that_still_fail_or_cannot_be_read_are_reported_and_no_other() {
    let (sns, queue) = (Sns::default(), Queue::default());
    let relay = routed(&sns, &queue);
    sns.down(&[TOPIC, PAGING, DATA, CHAT]);
    assert_eq!(send(&relay, &sev1_monte_carlo().v2()).await.0, 202);
    let good = queue.take().remove(0);
    let mut other = good.clone();
    other = other.replace(CHAT, "arn:aws:sns:us-east-1:123456789012:gone");
    let bodies = vec![
        good.clone(),
        "Hello from SQS!".to_owned(),
        r#"{"format":"alert-relay/pending@1"}"#.to_owned(),
        other,
    ];
    sns.down(&[
        "arn:aws:sns:us-east-1:123456789012:gone",
        TOPIC,
        PAGING,
        DATA,
    ]);
    // Only the chat topic is up: record 0 partly succeeds (requeued), record 3 entirely fails.
    let response = relay.redrive(batch(&bodies)).await;
    assert_eq!(failures(&response), ["m-1", "m-2", "m-3"]);
    assert_eq!(queue.take().len(), 1, "record 0's remainder");
}

#[tokio::test]
async fn a_record_naming_a_foreign_topic_is_never_published() {
    let (sns, queue) = (Sns::default(), Queue::default());
    let relay = routed(&sns, &queue);
    sns.down(&[CHAT]);
    assert_eq!(send(&relay, &sev1_monte_carlo().v2()).await.0, 202);
    let genuine = queue.take().remove(0);
    let published_before = sns.sent.messages().len();
    // A well-formed alert-relay/pending@1 record, as anyone with sqs:SendMessage could write it:
    // one foreign topic among the configured ones.
    let mut forged = Pending::decode(&genuine).unwrap();
    forged.outbox.publishes[0].topic_arn = "arn:aws:sns:us-east-1:123456789012:elsewhere".into();
    let forged = forged.encode().unwrap();
    sns.down(&[]);
    let response = relay.redrive(batch(&[forged, genuine])).await;
    assert_eq!(
        failures(&response),
        ["m-0"],
        "refused, to the dead-letter queue"
    );
    let sent: Vec<String> = sns
        .sent
        .messages()
        .into_iter()
        .map(|m| m.topic_arn)
        .collect();
    assert!(
        sent[published_before..]
            .iter()
            .all(|topic| topic != "arn:aws:sns:us-east-1:123456789012:elsewhere"),
        "{sent:?}"
    );
    assert_eq!(
        sent.len(),
        published_before + 1,
        "only the genuine record's chat publish"
    );
}

#[tokio::test]
async fn sns_and_the_queue_both_down_is_502() {
    let (sns, queue) = (
        Sns::default(),
        Queue {
            broken: true,
            ..Default::default()
        },
    );
    let relay = routed(&sns, &queue);
    sns.down(&[CHAT]);
    let (status, body) = send(&relay, &sev1_monte_carlo().v2()).await;
    assert_eq!((status, body), (502, json!({"error": "publish_failed"})));
}

#[tokio::test]
async fn a_partial_redrive_whose_requeue_fails_is_reported() {
    let (sns, queue) = (Sns::default(), Queue::default());
    let relay = routed(&sns, &queue);
    sns.down(&[TOPIC, PAGING, DATA, CHAT]);
    assert_eq!(send(&relay, &sev1_monte_carlo().v2()).await.0, 202);
    let queued = queue.take();
    let broken = Queue {
        broken: true,
        ..Default::default()
    };
    let relay = routed(&sns, &broken);
    sns.down(&[PAGING]);
    assert_eq!(failures(&relay.redrive(batch(&queued)).await), ["m-0"]);
}

#[test]
fn sqs_events_go_to_the_redrive_path_and_api_gateway_events_to_http() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sqs");
    for sample in [
        "sam-generate-event-receive-message.json",
        "lambda-events-example-sqs-event.json",
    ] {
        let text = std::fs::read_to_string(data.join(sample)).unwrap();
        match Invocation::from_json(&text).unwrap() {
            Invocation::Sqs(event) => assert!(!event.records.is_empty(), "{sample}"),
            Invocation::Http(_) => panic!("{sample} taken for HTTP"),
        }
    }
    let events = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    for entry in std::fs::read_dir(events).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                matches!(Invocation::from_json(&text).unwrap(), Invocation::Http(_)),
                "{}",
                path.display()
            );
        }
    }
    // A body mentioning Records is still HTTP; a list of records from elsewhere is not SQS.
    assert!(matches!(
        Invocation::from_json(
            &sev1_monte_carlo()
                .v2()
                .to_string()
                .replace("incident", "Records")
        )
        .unwrap(),
        Invocation::Http(_)
    ));
    let s3 = r#"{"Records":[{"eventSource":"aws:s3"}]}"#;
    assert!(!matches!(Invocation::from_json(s3), Ok(Invocation::Sqs(_))));
}
