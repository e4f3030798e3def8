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
/// The fallback queue: the only source whose batches the redrive path accepts.
const QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:fallback";

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
    vars.push(("FALLBACK_QUEUE_ARN".into(), QUEUE_ARN.into()));
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
                "eventSource": "aws:sqs", "eventSourceARN": QUEUE_ARN,
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

// Issue 21: the redrive path trusts only its own queue, and bounds what a record can make it do.

/// `batch`, every record from the queue `arn` instead.
fn batch_from(bodies: &[String], arn: &str) -> SqsEvent {
    let mut event = batch(bodies);
    for record in &mut event.records {
        record.event_source_arn = Some(arn.to_owned());
    }
    event
}

/// A relay as `routed`, whose EMF lines and log lines are kept.
fn observed(sns: &Sns, queue: &Queue) -> (Relay<Sns, Queue>, Arc<Mutex<Vec<String>>>) {
    let metrics: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = metrics.clone();
    let relay = routed(sns, queue)
        .with_metrics(Box::new(move |line| sink.lock().unwrap().push(line.into())));
    (relay, metrics)
}

/// Each EMF line's `redrive_failed` reason (`-` for a record that went out).
fn reasons(metrics: &Mutex<Vec<String>>) -> Vec<String> {
    let lines = std::mem::take(&mut *metrics.lock().unwrap());
    lines
        .iter()
        .map(|line| {
            let emf: Value = serde_json::from_str(line).unwrap();
            emf["reason"].as_str().unwrap_or("-").to_owned()
        })
        .collect()
}

/// One genuine queued record: the Monte Carlo SEV-1 alert, every topic down when it came.
async fn genuine(sns: &Sns, queue: &Queue) -> String {
    let relay = routed(sns, queue);
    sns.down(&[TOPIC, PAGING, DATA, CHAT]);
    assert_eq!(send(&relay, &sev1_monte_carlo().v2()).await.0, 202);
    sns.down(&[]);
    queue.take().remove(0)
}

#[tokio::test]
async fn a_batch_from_another_queue_is_refused_whole_and_logged_once() {
    let (sns, queue) = (Sns::default(), Queue::default());
    let record = genuine(&sns, &queue).await;
    let (relay, metrics) = observed(&sns, &queue);
    let logs = LogCapture::default();
    let writer = logs.clone();
    let _guard =
        tracing::subscriber::set_default(alert_relay::logging::subscriber(move || writer.clone()));
    let before = sns.sent.messages().len();
    let records = [record.clone(), record.clone(), record.clone()];
    for foreign in [
        "arn:aws:sqs:us-east-1:123456789012:someone-elses",
        "arn:aws:sqs:us-east-1:999999999999:fallback",
    ] {
        let response = relay.redrive(batch_from(&records, foreign)).await;
        assert_eq!(failures(&response), ["m-0", "m-1", "m-2"], "{foreign}");
        assert_eq!(
            reasons(&metrics),
            ["foreign_queue"; 3],
            "counted per record"
        );
    }
    // One foreign record among good ones spoils the batch: it was not handed over by the queue.
    let mut mixed = batch(&records);
    mixed.records[1].event_source_arn = None;
    assert_eq!(failures(&relay.redrive(mixed).await), ["m-0", "m-1", "m-2"]);
    assert_eq!(reasons(&metrics), ["foreign_queue"; 3]);
    assert_eq!(sns.sent.messages().len(), before, "nothing published");

    let text = logs.text();
    let refused: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("every record refused"))
        .collect();
    assert_eq!(refused.len(), 3, "one line per batch: {text}");
    assert!(
        !text.contains("sev1") && !text.contains("incident"),
        "{text}"
    );

    // Without the fallback queue configured, no batch is accepted.
    let mut vars = config_vars();
    vars.push(("ALERT_ROUTES".into(), "[]".into()));
    let unconfigured = quiet(config_from(&vars), sns.clone()).with_fallback(queue.clone());
    assert_eq!(
        failures(&unconfigured.redrive(batch(&records[..1])).await),
        ["m-0"]
    );
    // From the fallback queue itself, the record goes out.
    assert!(failures(&relay.redrive(batch(&records[..1])).await).is_empty());
    assert_eq!(sns.sent.messages().len(), before + 4);
}

#[tokio::test]
async fn a_record_naming_a_topic_2000_times_is_refused_before_any_publish() {
    let (sns, queue) = (Sns::default(), Queue::default());
    let mut pending = Pending::decode(&genuine(&sns, &queue).await).unwrap();
    let default = pending.outbox.publishes[0].clone();
    assert_eq!((default.route, default.topic_arn.as_str()), (0, TOPIC));
    pending.outbox.publishes = vec![default; 2000];
    let (relay, metrics) = observed(&sns, &queue);
    let before = sns.sent.messages().len();
    let response = relay.redrive(batch(&[pending.encode().unwrap()])).await;
    assert_eq!(failures(&response), ["m-0"]);
    assert_eq!(reasons(&metrics), ["too_many_publishes"]);
    assert_eq!(sns.sent.messages().len(), before);
}

#[tokio::test]
async fn a_record_is_refused_unless_each_route_names_its_own_topic() {
    let (sns, queue) = (Sns::default(), Queue::default());
    let genuine = Pending::decode(&genuine(&sns, &queue).await).unwrap();
    let forge = |change: &dyn Fn(&mut Pending)| {
        let mut forged = genuine.clone();
        change(&mut forged);
        forged.encode().unwrap()
    };
    let records = [
        // The paging topic under the default route's index.
        forge(&|p| p.outbox.publishes[1].route = 0),
        // The default topic twice (as two routes' worth of publishes).
        forge(&|p| {
            let again = p.outbox.publishes[0].clone();
            p.outbox.publishes[3] = again;
        }),
        // A route this configuration does not have.
        forge(&|p| p.outbox.publishes[3].route = 9),
        // A provider that is not registered.
        forge(&|p| p.outbox.attributes.provider = "pagerduty".into()),
        // A message that is not in the record, and nothing to publish: unreadable as ours.
        forge(&|p| p.outbox.publishes[2].message = 7),
        forge(&|p| p.outbox.publishes.clear()),
        // The genuine record.
        genuine.encode().unwrap(),
    ];
    let (relay, metrics) = observed(&sns, &queue);
    let before = sns.sent.messages().len();
    let response = relay.redrive(batch(&records)).await;
    assert_eq!(
        failures(&response),
        ["m-0", "m-1", "m-2", "m-3", "m-4", "m-5"]
    );
    let mut counted = reasons(&metrics);
    counted.sort();
    let mut expected = vec![
        "foreign_topic",
        "duplicate_topic",
        "foreign_topic",
        "unknown_provider",
        "unreadable",
        "unreadable",
        "-",
    ];
    expected.sort();
    assert_eq!(counted, expected);
    assert_eq!(
        sns.sent.messages().len(),
        before + 4,
        "the genuine record only"
    );
}

#[tokio::test]
async fn a_batch_never_has_more_than_its_bound_of_publishes_in_flight() {
    let (sns, queue) = (Sns::default(), Queue::default());
    let record = genuine(&sns, &queue).await;
    let counter = InFlight::default();
    let mut vars = config_vars();
    let routes = json!([
        {"topic": PAGING, "filter": {"severity": ["critical"]}},
        {"topic": DATA, "filter": {"provider": ["monte-carlo"]}},
        {"topic": CHAT, "format": "chatbot"},
    ]);
    vars.push(("ALERT_ROUTES".into(), routes.to_string()));
    vars.push(("FALLBACK_QUEUE_ARN".into(), QUEUE_ARN.into()));
    let relay = quiet(config_from(&vars), counter.clone()).with_fallback(queue.clone());
    // 10 records of 4 publishes each: 40 publishes, well over the bound.
    let response = relay.redrive(batch(&vec![record; 10])).await;
    assert!(failures(&response).is_empty());
    assert_eq!(*counter.total.lock().unwrap(), 40);
    let most = *counter.most.lock().unwrap();
    assert_eq!(
        most,
        alert_relay::MAX_REDRIVE_PUBLISHES_IN_FLIGHT,
        "bounded, and the bound is used"
    );
}
