//! `ALERT_ROUTES` through the handler: every alert to the default topic and to each matching
//! route, each topic in its format with its own FIFO fields and 256 KiB budget; a failed route
//! answers 502 and the log names it.

mod common;

use alert_relay::event::SNS_MAX_MESSAGE_BYTES;
use alert_relay::logging;
use alert_relay::providers::{Provider, SignedForm};
use alert_relay::publish::PublishRequest;
use alert_relay::{PublishError, Publisher};
use common::*;
use serde_json::{Value, json};

const PAGING: &str = "arn:aws:sns:us-east-1:123456789012:paging";
const CHAT: &str = "arn:aws:sns:us-east-1:123456789012:chat";
const DATA_FIFO: &str = "arn:aws:sns:us-east-1:123456789012:data-team.fifo";

fn routes() -> String {
    json!([
        {"topic": PAGING, "filter": {"severity": ["critical", "error"]}},
        {"topic": DATA_FIFO, "filter": {"provider": ["monte-carlo"]}},
        {"topic": CHAT, "format": "chatbot"},
    ])
    .to_string()
}

fn routed<P: alert_relay::Publisher>(publisher: P) -> alert_relay::Relay<P> {
    let mut vars = config_vars();
    vars.push(("ALERT_ROUTES".into(), routes()));
    quiet(config_from(&vars), publisher)
}

#[tokio::test]
async fn an_alert_goes_to_the_default_topic_and_every_matching_route() {
    let recording = Recording::default();
    let relay = routed(recording.clone());
    let request = sev1_monte_carlo();
    let (status, body) = send(&relay, &request.v2()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["topics"], 4);

    let sent = recording.messages();
    let topics: Vec<&str> = sent.iter().map(|s| s.topic_arn.as_str()).collect();
    assert_eq!(topics, [TOPIC, PAGING, DATA_FIFO, CHAT]);
    assert_eq!(
        body["message_id"], "msg-1",
        "the default topic's message id"
    );
    for sent in &sent {
        assert_eq!(
            sent.fifo.is_some(),
            sent.topic_arn.ends_with(".fifo"),
            "{}",
            sent.topic_arn
        );
        assert_eq!(sent.attributes[2], ("severity", "critical".to_owned()));
    }
    // The CloudEvents topics get the same bytes; chat gets a custom notification.
    assert_eq!(sent[0].message, sent[1].message);
    assert_eq!(sent[0].message, sent[2].message);
    let chat: Value = serde_json::from_str(&sent[3].message.body).unwrap();
    assert_eq!(chat["source"], "custom");
    assert_eq!(
        chat["metadata"]["threadId"],
        "monte-carlo:f83867b6-8f25-428b-807c-08518f63384c"
    );
    assert_eq!(chat["id"], body["event_id"]);
    let fifo = sent[2].fifo.as_ref().unwrap();
    assert_eq!(fifo.deduplication_id, body["event_id"]);
}

#[tokio::test]
async fn a_quiet_alert_skips_the_routes_that_do_not_match() {
    let recording = Recording::default();
    let relay = routed(recording.clone());
    let (status, body) = send(
        &relay,
        &Http::signed(Provider::Atlas, SECRETS[0], ATLAS_SEED, SignedForm::Raw).v2(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["topics"], 2);
    let topics: Vec<String> = recording
        .messages()
        .into_iter()
        .map(|s| s.topic_arn)
        .collect();
    assert_eq!(topics, [TOPIC, CHAT]);
}

#[tokio::test]
async fn the_default_topic_is_published_as_today_with_readable_email_and_sms() {
    let (relay, recording) = relay();
    let (status, _) = send(
        &relay,
        &Http::signed(Provider::Atlas, SECRETS[0], ATLAS_SEED, SignedForm::Raw).v2(),
    )
    .await;
    assert_eq!(status, 200);
    let sent = &recording.messages()[0];
    assert!(sent.message.structured, "MessageStructure=json");
    let structure: Value = serde_json::from_str(&sent.message.body).unwrap();
    let keys: Vec<&str> = structure
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["default", "email", "sms"]);
    let event: Value = serde_json::from_str(&sent.protocol("default")).unwrap();
    assert_eq!(
        event["data"]["raw"],
        serde_json::from_str::<Value>(ATLAS_SEED).unwrap()
    );
    let email = sent.protocol("email");
    assert!(
        email.contains("Disk space used on data partition is 95.2%."),
        "{email}"
    );
    assert!(email.contains(&format!("Event id:    {}", event["id"].as_str().unwrap())));
    assert!(sent.protocol("sms").chars().count() <= 140);
}

/// A ~250 KiB body: each topic's message is held to 256 KiB on its own.
fn big_body(filler: &str) -> String {
    let mut body: Value = serde_json::from_str(MC_VOLUME_SEED).unwrap();
    let unit = json!(filler).to_string().len() - 2; // as serialized, escapes included
    body["padding"] = json!(filler.repeat((250 * 1024 - MC_VOLUME_SEED.len()) / unit));
    body.to_string()
}

async fn publish_big(body: &str) -> Vec<Sent> {
    let recording = Recording::default();
    let relay = routed(recording.clone());
    let request = Http::signed(Provider::MonteCarlo, SECRETS[0], body, SignedForm::Raw);
    let (status, answer) = send(&relay, &request.v2()).await;
    assert_eq!(status, 200, "{answer}");
    let sent = recording.messages();
    for sent in &sent {
        let attributes: usize = sent
            .attributes
            .iter()
            .map(|(k, v)| k.len() + 6 + v.len())
            .sum();
        assert!(
            sent.message.body.len() + attributes <= SNS_MAX_MESSAGE_BYTES,
            "{}: {} bytes",
            sent.topic_arn,
            sent.message.body.len()
        );
    }
    sent
}

#[tokio::test]
async fn a_250_kib_body_keeps_raw_where_it_still_fits() {
    let body = big_body("plain text ");
    assert!(body.len() > 249 * 1024);
    let sent = publish_big(&body).await;
    let event: Value = serde_json::from_str(&sent[0].body).unwrap();
    assert!(
        event["data"].get("raw").is_some(),
        "few escapes: raw still fits the structure"
    );
    let chat: Value = serde_json::from_str(&sent.last().unwrap().message.body).unwrap();
    assert!(
        !chat.to_string().contains("plain text plain text"),
        "chat never carries the payload"
    );
}

#[tokio::test]
async fn a_250_kib_escape_heavy_body_drops_raw_from_the_structured_message() {
    let sent = publish_big(&big_body("\"q\"")).await;
    let event: Value = serde_json::from_str(&sent[0].body).unwrap();
    assert!(event["data"].get("raw").is_none());
    assert_eq!(event["data"]["raw_truncated"], true);
}

/// Refuses publishes to one topic, like SNS for a topic that does not exist.
struct MissingTopic(&'static str, Recording);

impl Publisher for MissingTopic {
    async fn publish(&self, request: PublishRequest<'_>) -> Result<String, PublishError> {
        if request.topic_arn == self.0 {
            return Err(PublishError::Sns("NotFound: Topic does not exist".into()));
        }
        self.1.publish(request).await
    }
}

#[tokio::test]
async fn a_route_whose_topic_is_missing_answers_502_and_the_log_names_it() {
    let capture = LogCapture::default();
    let writer = capture.clone();
    let _guard = tracing::subscriber::set_default(logging::subscriber(move || writer.clone()));

    let recording = Recording::default();
    let relay = routed(MissingTopic(DATA_FIFO, recording.clone()));
    let request = sev1_monte_carlo();
    let (status, body) = send(&relay, &request.v2()).await;
    assert_eq!((status, body), (502, json!({"error": "publish_failed"})));
    assert_eq!(
        recording.messages().len(),
        3,
        "the other topics were still published"
    );

    let logs = capture.text();
    let lines: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let failed = lines
        .iter()
        .find(|l| l["message"] == "publish failed")
        .expect("a failure line");
    assert_eq!(failed["route"], "2");
    assert_eq!(failed["topic"], DATA_FIFO);
    assert_eq!(failed["reason"], "sns_error");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("Topic does not exist")
    );
    let request_line = lines.iter().find(|l| l["message"] == "request").unwrap();
    assert_eq!(request_line["failed_routes"], "2");
    assert_eq!(request_line["status"], 502);
}
