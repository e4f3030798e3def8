//! The request's log line says how its severity was decided, and why a lookup fell back. A binary
//! of its own: its log subscriber is the only one, so no other test's callsites interfere.

mod common;

use alert_relay::providers::{Provider, SignedForm};
use alert_relay::{Relay, logging};
use common::*;
use serde_json::Value;

#[tokio::test]
async fn the_log_line_carries_the_severity_its_source_and_the_fallback() {
    let capture = LogCapture::default();
    let writer = capture.clone();
    let _guard = tracing::subscriber::set_default(logging::subscriber(move || writer.clone()));

    let relay = Relay::new(config(), Recording::default())
        .with_metrics(Box::new(|_| {}))
        .with_severity_lookup(StandLookup::new(Err("not_found")));
    let mut body: serde_json::Map<String, Value> =
        serde_json::from_str(seed(Provider::Atlas)).unwrap();
    body.insert("alertConfigId".into(), "5d1b6f8e8c2e4e2d3c4a5b6e".into());
    let body = Value::Object(body).to_string();
    let request = Http::signed(Provider::Atlas, SECRETS[0], &body, SignedForm::Raw);
    let (status, _) = send(&relay, &request.v2()).await;
    assert_eq!(status, 200);

    let log = capture.text();
    let line: Value = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["message"] == "request")
        .unwrap_or_else(|| panic!("no request line in {log}"));
    assert_eq!(line["severity"], "warning");
    assert_eq!(line["severity_source"], "default-rule 3");
    assert_eq!(line["severity_fallback"], "not_found");
}
