//! Alert state through the handler, in process: an Atlas alert's life against an in-memory table
//! with DynamoDB's conditional writes, concurrent deliveries, a 502 that records nothing, and a
//! table that fails or hangs (the event then goes out stateless). The same against moto's
//! DynamoDB and the real binary: tests/e2e/test_state.py.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use alert_relay::pipeline::Memory;
use alert_relay::providers::{Provider, SignedForm};
use alert_relay::state::TableError;
use alert_relay::{Publisher, Relay};
use common::memory_table::MemoryTable;
use common::*;
use serde_json::{Value, json};

const PAGING: &str = "arn:aws:sns:us-east-1:123456789012:paging";
const CHAT: &str = "arn:aws:sns:us-east-1:123456789012:chat";
const DAY: i64 = 86_400_000;

fn stateful<P: Publisher>(publisher: P, table: &MemoryTable) -> Relay<P> {
    let mut vars = config_vars();
    let routes = json!([
        {"topic": PAGING, "filter": {"severity": ["critical", "error"]}, "repeat_after": "1h"},
        {"topic": CHAT, "format": "chatbot", "filter": {"status": [{"anything-but": "informational"}]}},
    ]);
    vars.push(("ALERT_ROUTES".into(), routes.to_string()));
    quiet(config_from(&vars), publisher).with_memory(Memory::new(table.clone(), 30 * DAY))
}

/// Atlas's disk alert, as Atlas sends it at `minute` of its life with `status` in its body and
/// `event` in `X-MMS-Event`.
fn atlas(event: &str, status: &str, minute: u32) -> Http {
    let mut body: Value = serde_json::from_str(ATLAS_SEED).unwrap();
    body["status"] = json!(status);
    body["updated"] = json!(format!(
        "2024-01-15T{:02}:{:02}:00Z",
        10 + minute / 60,
        minute % 60
    ));
    if status == "CLOSED" {
        body["resolved"] = body["updated"].clone();
    }
    let text = body.to_string();
    Http::signed(Provider::Atlas, SECRETS[0], &text, SignedForm::Raw)
        .replace_header("X-MMS-Event", event)
}

#[tokio::test]
async fn an_atlas_alert_is_told_once_per_change_with_its_lifecycle() {
    let table = MemoryTable::default();
    let sent = Recording::default();
    let relay = stateful(sent.clone(), &table);

    let (status, body) = send(&relay, &atlas("alert.open", "OPEN", 0).v2()).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("published")),
        "{body}"
    );
    assert_eq!(body["topics"], 2, "the default topic and chat: {body}");
    let opened: Value = serde_json::from_str(&sent.to_topic(TOPIC)[0].body).unwrap();
    assert_eq!(opened["data"]["lifecycle"]["count"], 1);
    assert!(opened["data"]["lifecycle"].get("previous_status").is_none());

    let (status, body) = send(&relay, &atlas("alert.open", "OPEN", 0).v2()).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "suppressed", "a redelivery: {body}");
    assert_eq!(body["reason"], "duplicate");
    assert_eq!(body["topics"], 0);

    let (_, body) = send(&relay, &atlas("alert.update", "OPEN", 15).v2()).await;
    assert_eq!(
        (body["status"].as_str(), body["reason"].as_str()),
        (Some("suppressed"), Some("unchanged")),
        "{body}"
    );
    assert_eq!(sent.messages().len(), 2);

    let (status, body) = send(&relay, &atlas("alert.close", "CLOSED", 100).v2()).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("published")),
        "{body}"
    );
    let closed: Value = serde_json::from_str(&sent.to_topic(TOPIC).pop().unwrap().body).unwrap();
    let lifecycle = &closed["data"]["lifecycle"];
    assert_eq!(
        lifecycle["count"], 3,
        "the duplicate is not counted: {lifecycle}"
    );
    assert_eq!(lifecycle["previous_status"], "open");
    assert_eq!(lifecycle["opened_event_id"], opened["id"]);
    assert!(lifecycle["duration_seconds"].is_i64(), "{lifecycle}");
    assert!(
        sent.to_topic(TOPIC)
            .pop()
            .unwrap()
            .protocol("email")
            .contains("Open for:"),
        "the resolve's e-mail says how long it was open"
    );
    let chat: Value = serde_json::from_str(&sent.to_topic(CHAT).pop().unwrap().body).unwrap();
    assert_eq!(
        chat["metadata"]["threadId"], opened["data"]["dedup_key"],
        "one chat thread"
    );
    assert!(
        chat["content"]["description"]
            .as_str()
            .unwrap()
            .contains("*Open for:*")
    );
}

#[tokio::test]
async fn calls_per_webhook_are_one_for_a_duplicate_two_when_suppressed_three_when_told() {
    let table = MemoryTable::default();
    let relay = stateful(Recording::default(), &table);
    let calls = |table: &MemoryTable, from: usize| table.calls()[from..].to_vec();

    send(&relay, &atlas("alert.open", "OPEN", 0).v2()).await;
    assert_eq!(
        calls(&table, 0),
        ["query", "get", "put", "put"],
        "silences once, then get, claim, clear"
    );
    let n = table.calls().len();
    send(&relay, &atlas("alert.update", "OPEN", 15).v2()).await;
    assert_eq!(calls(&table, n), ["get", "put"], "silences cached");
    let n = table.calls().len();
    send(&relay, &atlas("alert.update", "OPEN", 15).v2()).await;
    assert_eq!(calls(&table, n), ["get"]);
}

#[tokio::test]
async fn nine_concurrent_deliveries_to_three_instances_notify_once() {
    let table = MemoryTable::default();
    let sent = Recording::default();
    let relays: Vec<_> = (0..3).map(|_| stateful(sent.clone(), &table)).collect();
    let event = atlas("alert.open", "OPEN", 0).v2();
    let answers =
        futures_util::future::join_all((0..9).map(|i| send(&relays[i % 3], &event))).await;
    let published = answers
        .iter()
        .filter(|(_, b)| b["status"] == "published")
        .count();
    assert_eq!(published, 1, "{answers:?}");
    for (status, body) in &answers {
        assert!(
            *status == 200 || (*status == 409 && body["error"] == "in_progress"),
            "{status} {body}"
        );
    }
    assert_eq!(sent.to_topic(TOPIC).len(), 1);
    assert_eq!(sent.to_topic(CHAT).len(), 1);
}

#[tokio::test]
async fn a_delivery_in_progress_is_answered_409_with_retry_after() {
    let table = MemoryTable::default();
    let relay = stateful(Recording::default(), &table);
    // The first delivery's publish never ends: its claim stays.
    let stuck = stateful(Hanging, &table);
    let event = atlas("alert.open", "OPEN", 0).v2();
    let first = tokio::spawn({
        let event = event.clone();
        async move { send(&stuck, &event).await }
    });
    while table.calls().len() < 3 {
        tokio::task::yield_now().await;
    }
    let response = relay.handle(request(&event)).await;
    assert_eq!(response.status().as_u16(), 409);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    assert_eq!(parts(response).1, json!({"error": "in_progress"}));
    first.abort();
}

/// A publisher whose calls never finish: an instance that hangs (or is killed) mid-publish.
struct Hanging;

impl Publisher for Hanging {
    async fn publish(
        &self,
        _: alert_relay::publish::PublishRequest<'_>,
    ) -> Result<String, alert_relay::PublishError> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn a_502_records_nothing_so_the_senders_retry_goes_through() {
    let table = MemoryTable::default();
    let failing = stateful(Failing, &table);
    let event = atlas("alert.open", "OPEN", 0).v2();
    let (status, body) = send(&failing, &event).await;
    assert_eq!(status, 502, "{body}");
    let working = stateful(Recording::default(), &table);
    let (status, body) = send(&working, &event).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("published")),
        "{body}"
    );
}

/// SNS failing after its SDK's retries: longer than the whole state budget.
struct SlowlyFailing;

impl Publisher for SlowlyFailing {
    async fn publish(
        &self,
        _: alert_relay::publish::PublishRequest<'_>,
    ) -> Result<String, alert_relay::PublishError> {
        tokio::time::sleep(Duration::from_millis(400)).await;
        Err(alert_relay::PublishError::Sns("timed out".into()))
    }
}

#[tokio::test]
async fn a_502_after_a_publish_longer_than_the_budget_still_records_nothing() {
    // The budget is the table calls': the publish between them does not spend it, so the
    // decision is still taken back, and the retry is not held as in progress.
    let table = MemoryTable::default();
    table.delay(Duration::from_millis(20)); // a table that answers over a network
    let failing = stateful(SlowlyFailing, &table);
    let event = atlas("alert.open", "OPEN", 0).v2();
    let (status, body) = send(&failing, &event).await;
    assert_eq!(status, 502, "{body}");
    let working = stateful(Recording::default(), &table);
    let (status, body) = send(&working, &event).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("published")),
        "{body}"
    );
}

#[tokio::test]
async fn a_failing_table_publishes_as_stateless_and_says_so_once() {
    for error in [
        TableError::Throttled("ProvisionedThroughputExceededException".into()),
        TableError::Throttled("ThrottlingException".into()),
        TableError::Refused("AccessDeniedException".into()),
        TableError::Unavailable("HTTP 500".into()),
    ] {
        let table = MemoryTable::default();
        table.fail_with(Some(error.clone()));
        let metrics = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = metrics.clone();
        let sent = Recording::default();
        let relay = stateful(sent.clone(), &table).with_metrics(Box::new(move |line| {
            sink.lock().unwrap().push(line.to_owned())
        }));
        let (status, body) = send(&relay, &atlas("alert.open", "OPEN", 0).v2()).await;
        assert_eq!(
            (status, body["status"].as_str()),
            (200, Some("published")),
            "{error}: {body}"
        );
        let event: Value = serde_json::from_str(&sent.to_topic(TOPIC)[0].body).unwrap();
        assert!(
            event["data"].get("lifecycle").is_none(),
            "stateless: no lifecycle"
        );
        let lines = metrics.lock().unwrap().clone();
        let fallback: Vec<&String> = lines
            .iter()
            .filter(|l| l.contains("state_fallback"))
            .collect();
        assert_eq!(fallback.len(), 1, "{lines:?}");
        assert!(fallback[0].contains(&format!("\"fallback_reason\":\"{}\"", error.reason())));
    }
}

#[tokio::test(start_paused = true)]
async fn a_hanging_table_costs_the_budget_and_no_more() {
    let table = MemoryTable::default();
    table.delay(Duration::from_secs(3600));
    let sent = Recording::default();
    let relay = stateful(sent.clone(), &table);
    let started = tokio::time::Instant::now();
    let (status, body) = send(&relay, &atlas("alert.open", "OPEN", 0).v2()).await;
    let waited = started.elapsed();
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("published")),
        "{body}"
    );
    assert_eq!(
        waited,
        alert_relay::pipeline::remember::STATE_BUDGET,
        "the paused clock's reading"
    );
    assert_eq!(sent.messages().len(), 2);
}

#[tokio::test]
async fn a_reminder_to_one_route_is_published_with_that_routes_message_id() {
    let table = MemoryTable::default();
    let sent = Recording::default();
    let mut vars = config_vars();
    let routes = json!([{"topic": PAGING, "repeat_after": "1h"}]);
    vars.push(("ALERT_ROUTES".into(), routes.to_string()));
    let relay =
        quiet(config_from(&vars), sent.clone()).with_memory(Memory::new(table.clone(), 30 * DAY));
    send(&relay, &atlas("alert.open", "OPEN", 0).v2()).await;
    // An hour and a minute later by API Gateway's clock, Atlas re-notifies.
    let mut later = atlas("alert.update", "OPEN", 61).v2();
    let arrived = later["requestContext"]["timeEpoch"].as_i64().unwrap();
    later["requestContext"]["timeEpoch"] = json!(arrived + 61 * 60_000);
    let (status, body) = send(&relay, &later).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("published")),
        "{body}"
    );
    assert_eq!(body["topics"], 1, "paging's reminder only: {body}");
    assert_eq!(
        body["message_id"], "msg-3",
        "the route's id, the default topic held back"
    );
    assert_eq!(sent.to_topic(PAGING).len(), 2);
    assert_eq!(sent.to_topic(TOPIC).len(), 1);
}

#[tokio::test]
async fn a_publish_kept_in_the_fallback_queue_counts_as_told() {
    use alert_relay::publish::{Fallback, QueueError};
    #[derive(Clone, Default)]
    struct Queue(Arc<Mutex<Vec<String>>>);
    impl Fallback for Queue {
        async fn enqueue(&self, body: String) -> Result<(), QueueError> {
            self.0.lock().unwrap().push(body);
            Ok(())
        }
    }
    let table = MemoryTable::default();
    let queue = Queue::default();
    let relay = stateful(Failing, &table).with_fallback(queue.clone());
    let event = atlas("alert.open", "OPEN", 0).v2();
    let (status, body) = send(&relay, &event).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(queue.0.lock().unwrap().len(), 1);
    let (status, body) = send(&relay, &event).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (200, Some("duplicate")),
        "{body}"
    );
}
