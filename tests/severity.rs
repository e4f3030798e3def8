//! Where an alert's severity comes from, through the handler: the provider's own, Atlas's alert
//! configuration (a recording stand-in for the Admin API lookup here; `tests/atlas_api.rs` and the
//! e2e tests run the real client against a stand-in server), the operator's rules or the defaults.
//! Every published event says which (`data.severity_source`), and the routes see the result.

mod common;

use std::sync::{Arc, Mutex};

use alert_relay::Relay;
use alert_relay::alert::Severity;
use alert_relay::providers::{Provider, SignedForm};
use common::*;
use serde_json::{Value, json};

const PAGING: &str = "arn:aws:sns:us-east-1:123456789012:paging";
/// The seed disk alert's project, and the alert configuration a real Atlas body names (the
/// documentation's sample leaves `alertConfigId` out).
const GROUP_ID: &str = "5d1b6f8e8c2e4e2d3c4a5b6d";
const CONFIG_ID: &str = "5d1b6f8e8c2e4e2d3c4a5b6e";

fn vars(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut vars = config_vars();
    vars.push((
        "ALERT_ROUTES".into(),
        json!([{"topic": PAGING, "filter": {"severity": ["critical", "error"]}}]).to_string(),
    ));
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    vars
}

struct Run {
    relay: Relay<Recording>,
    recording: Recording,
    metrics: Arc<Mutex<Vec<String>>>,
}

fn run(extra: &[(&str, &str)], lookup: Option<StandLookup>) -> Run {
    let recording = Recording::default();
    let metrics: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = metrics.clone();
    let mut relay = Relay::new(config_from(&vars(extra)), recording.clone())
        .with_metrics(Box::new(move |line| sink.lock().unwrap().push(line.into())));
    if let Some(lookup) = lookup {
        relay = relay.with_severity_lookup(lookup);
    }
    Run {
        relay,
        recording,
        metrics,
    }
}

fn atlas(body: &str, event: &str) -> Value {
    Http::signed(Provider::Atlas, SECRETS[0], body, SignedForm::Raw)
        .replace_header("X-MMS-Event", event)
        .v2()
}

/// The published event's data and the topics it reached.
async fn publish(run: &Run, request: &Value) -> (Value, Vec<String>) {
    let (status, body) = send(&run.relay, request).await;
    assert_eq!(status, 200, "{body}");
    let messages = run.recording.messages();
    let event: Value = serde_json::from_str(&messages[0].body).unwrap();
    let topics = messages.iter().map(|m| m.topic_arn.clone()).collect();
    (event["data"].clone(), topics)
}

/// The seed disk alert as Atlas sends it, with its `alertConfigId`.
fn disk_alert() -> String {
    let mut body: serde_json::Map<String, Value> =
        serde_json::from_str(seed(Provider::Atlas)).unwrap();
    body.insert("alertConfigId".into(), CONFIG_ID.into());
    Value::Object(body).to_string()
}

fn seed_atlas() -> Value {
    atlas(&disk_alert(), "alert.open")
}

#[tokio::test]
async fn the_atlas_alert_configuration_sets_the_severity_and_the_route_pages() {
    let stand = StandLookup::new(Ok(Severity::Critical));
    let run = run(&[], Some(stand.clone()));
    let (data, topics) = publish(&run, &seed_atlas()).await;
    assert_eq!(data["severity"], "critical");
    assert_eq!(data["severity_source"], "atlas-alert-config");
    assert_eq!(topics, [TOPIC, PAGING]);
    assert_eq!(stand.asked(), [(GROUP_ID.to_owned(), CONFIG_ID.to_owned())]);
    let attributes = &run.recording.messages()[1].attributes;
    assert!(attributes.contains(&("severity", "critical".into())));
}

#[tokio::test]
async fn a_failed_lookup_falls_back_to_the_rules_and_is_counted() {
    let run = run(&[], Some(StandLookup::new(Err("timeout"))));
    let (data, topics) = publish(&run, &seed_atlas()).await;
    assert_eq!(data["severity"], "warning");
    assert_eq!(data["severity_source"], "default-rule 3");
    assert_eq!(topics, [TOPIC], "a warning does not page");

    // The log line: tests/severity_log.rs, a binary of its own for its subscriber.
    let metrics = run.metrics.lock().unwrap();
    let emf: Value = serde_json::from_str(&metrics[0]).unwrap();
    assert_eq!(emf["severity_fallback"], 1);
    assert_eq!(emf["fallback_reason"], "timeout");
}

#[tokio::test]
async fn a_severity_the_provider_states_is_never_looked_up() {
    let stand = StandLookup::new(Ok(Severity::Critical));
    let run = run(&[], Some(stand.clone()));
    // An informational alert (header and body agree: a header the signed body contradicts
    // loses to it).
    let informational = disk_alert().replace(r#""status":"OPEN""#, r#""status":"INFORMATIONAL""#);
    let (data, _) = publish(&run, &atlas(&informational, "alert.inform")).await;
    assert_eq!(data["severity"], "info");
    assert_eq!(data["severity_source"], "provider");
    // A project's webhook template that renders a severity into the body.
    let templated = disk_alert().replace(
        r#""status":"OPEN""#,
        r#""status":"OPEN","severity":"ERROR""#,
    );
    let run = self::run(&[], Some(stand.clone()));
    let (data, _) = publish(&run, &atlas(&templated, "alert.open")).await;
    assert_eq!(data["severity"], "error");
    assert_eq!(data["severity_source"], "provider");
    assert!(stand.asked().is_empty());

    let run = self::run(&[], None);
    let (data, _) = publish(&run, &sev1_monte_carlo().v2()).await;
    assert_eq!(data["severity"], "critical");
    assert_eq!(data["severity_source"], "provider");
}

#[tokio::test]
async fn an_org_level_alert_is_not_looked_up_and_the_rules_still_apply() {
    let stand = StandLookup::new(Ok(Severity::Info));
    let run = run(&[], Some(stand.clone()));
    let body = r#"{"id":"66b1f0c2e4b0a1b2c3d4e5f6","orgId":"5d1b6f8e8c2e4e2d3c4a5b60","alertConfigId":"5d1b6f8e8c2e4e2d3c4a5b61","eventTypeName":"HOST_DOWN","status":"OPEN","created":"2024-01-15T10:30:00.123Z"}"#;
    let (data, topics) = publish(&run, &atlas(body, "alert.open")).await;
    assert!(stand.asked().is_empty());
    assert_eq!(data["severity"], "critical");
    assert_eq!(data["severity_source"], "default-rule 1");
    assert_eq!(topics, [TOPIC, PAGING]);
}

#[tokio::test]
async fn operator_rules_replace_the_defaults_and_see_ownership() {
    let rules = json!([
        {"filter": {"event_type": ["SOMETHING_ELSE"]}, "severity": "info"},
        {"filter": {"provider": ["atlas"], "event_type": [{"prefix": "OUTSIDE_"}]}, "severity": "error"}
    ])
    .to_string();
    let run = run(&[("SEVERITY_RULES", &rules)], None);
    let (data, topics) = publish(&run, &seed_atlas()).await;
    assert_eq!(data["severity"], "error");
    assert_eq!(data["severity_source"], "rule 2");
    assert_eq!(topics, [TOPIC, PAGING]);
}

#[tokio::test]
async fn without_rules_nothing_sets_it() {
    let run = run(&[("SEVERITY_RULES", "[]")], None);
    let (data, _) = publish(&run, &seed_atlas()).await;
    assert_eq!(data["severity"], "unknown");
    assert_eq!(data["severity_source"], "none");
    let email = run.recording.messages()[0].protocol("email");
    assert!(
        email.contains("Severity:    unknown (source: none)"),
        "{email}"
    );
}

/// The ```json blocks of docs/severity.md, in order.
fn docs_json_blocks() -> Vec<Value> {
    let page =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/severity.md")).unwrap();
    page.split("```json\n")
        .skip(1)
        .map(|block| serde_json::from_str(block.split("```").next().unwrap()).unwrap())
        .collect()
}

#[test]
fn the_docs_show_the_default_rules_the_function_reads() {
    let shipped: Value = serde_json::from_str(alert_relay::severity::DEFAULT_RULES).unwrap();
    assert_eq!(docs_json_blocks()[0], shipped);
}

/// Issue 21: Atlas signs only the body and cannot add headers, so an `X-Severity` added to a
/// replayed body decides nothing: the alert configuration, else the rules do.
#[tokio::test]
async fn an_x_severity_header_sets_no_severity() {
    let critical = |request: Value| {
        let mut request = request;
        request["headers"]["x-severity"] = "critical".into();
        request
    };
    let stand = StandLookup::new(Ok(Severity::Warning));
    let run = run(&[], Some(stand.clone()));
    let (data, topics) = publish(&run, &critical(seed_atlas())).await;
    assert_eq!(data["severity"], "warning");
    assert_eq!(data["severity_source"], "atlas-alert-config");
    assert_eq!(topics, [TOPIC], "not paged");
    assert_eq!(stand.asked().len(), 1);

    let run = self::run(&[], None);
    let (data, topics) = publish(&run, &critical(seed_atlas())).await;
    assert_eq!(data["severity"], "warning");
    assert_eq!(data["severity_source"], "default-rule 3");
    assert_eq!(topics, [TOPIC], "not paged");
}

/// Issue 21: Atlas's informational events are sent once, as `alert.inform`, with an `OPEN` body.
#[tokio::test]
async fn an_informational_event_with_an_open_body_is_informational() {
    let stand = StandLookup::new(Ok(Severity::Critical));
    let run = run(&[], Some(stand.clone()));
    let (data, topics) = publish(&run, &atlas(&disk_alert(), "alert.inform")).await;
    assert_eq!(data["status"], "informational");
    assert_eq!(data["severity"], "info");
    assert_eq!(data["severity_source"], "provider");
    assert_eq!(topics, [TOPIC]);
    assert!(stand.asked().is_empty());
}

/// Issue 21: with `ATLAS_ALLOW_UNSIGNED` or `ATLAS_QUERY_SECRETS`, anyone with the URL could pick
/// the ids, so only a signed request costs an Admin API call; the others go to the rules.
#[tokio::test]
async fn only_signed_requests_look_up_the_alert_configuration() {
    let stand = StandLookup::new(Ok(Severity::Critical));
    let extra = [
        ("ATLAS_ALLOW_UNSIGNED", "true"),
        ("ATLAS_QUERY_SECRETS", "atlas-query-secret-not-real"),
    ];
    let run = run(&extra, Some(stand.clone()));
    let unsigned = Http::post("/webhooks/atlas", disk_alert()).header("X-MMS-Event", "alert.open");
    let with_query = Http::post("/webhooks/atlas", disk_alert())
        .header("X-MMS-Event", "alert.open")
        .query("secret=atlas-query-secret-not-real");
    for request in [unsigned.v2(), with_query.v2()] {
        let (data, topics) = publish(&run, &request).await;
        assert_eq!(data["severity"], "warning");
        assert_eq!(data["severity_source"], "default-rule 3");
        assert_eq!(topics, [TOPIC]);
        run.recording.published.lock().unwrap().clear();
    }
    assert!(stand.asked().is_empty(), "{:?}", stand.asked());
    // The same body signed is looked up.
    let (data, _) = publish(&run, &seed_atlas()).await;
    assert_eq!(data["severity_source"], "atlas-alert-config");
    assert_eq!(stand.asked().len(), 1);
}
