//! A group's one log line: it summarises the group, carries truncation and, under alert state,
//! says why each alert went where. One test in its own binary, as tests/logs.rs: tracing caches
//! each call site's interest for every thread, so a capture shares its binary with no other test.

mod common;

use alert_relay::logging;
use alert_relay::pipeline::Memory;
use alert_relay::providers::{Provider, SignedForm};
use common::memory_table::MemoryTable;
use common::*;
use serde_json::{Value, json};

const MIXED: &str = include_str!("../events/payloads/grafana/grafana-mixed-group.json");

fn grafana(body: &str) -> Value {
    Http::signed(Provider::Grafana, SECRETS[0], body, SignedForm::Timestamped).v2()
}

/// The `request` lines logged so far.
fn request_lines(capture: &LogCapture) -> Vec<Value> {
    capture
        .text()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["message"] == "request")
        .collect()
}

#[tokio::test]
async fn a_groups_log_line_summarises_it_and_says_why_each_alert_went_where() {
    let capture = LogCapture::default();
    let writer = capture.clone();
    let _guard =
        tracing::subscriber::set_default(logging::subscriber_at("info", move || writer.clone()));
    tracing::callsite::rebuild_interest_cache();

    // Stateless: the counts and the truncation.
    let alerts: Vec<Value> = (0..3)
        .map(|i| {
            json!({"status": "firing", "fingerprint": format!("{i:016x}"),
                        "labels": {"alertname": "Lag", "instance": format!("db-{i}")}})
        })
        .collect();
    let group = json!({"alerts": alerts, "truncatedAlerts": 7, "groupKey": "{}:{}"}).to_string();
    let (relay, recording) = relay();
    let (status, _) = send(&relay, &grafana(&group)).await;
    assert_eq!(status, 200);
    let lines = request_lines(&capture);
    assert_eq!(lines.len(), 1, "one line per request");
    let line = &lines[0];
    assert_eq!(line["alerts"], 3);
    assert_eq!(line["alert_outcomes"], "published=3");
    assert_eq!(line["truncated_alerts"], 7);
    assert_eq!(line["provider"], "grafana");
    assert_eq!(line["form"], "timestamped");
    assert!(line.get("alert_targets").is_none(), "{line}");
    let event: Value = serde_json::from_str(&recording.messages()[0].body).unwrap();
    assert_eq!(event["data"]["group"]["truncated_alerts"], 7);
    assert_eq!(event["data"]["group"]["key"], "{}:{}");

    // Under alert state: each alert's targets, by its event id.
    let mut vars = config_vars();
    let paging = "arn:aws:sns:us-east-1:123456789012:paging";
    vars.push((
        "ALERT_ROUTES".into(),
        json!([{"topic": paging, "filter": {"severity": ["critical"]}}]).to_string(),
    ));
    let table = MemoryTable::default();
    let relay = quiet(config_from(&vars), Recording::default())
        .with_memory(Memory::new(table.clone(), 30 * 86_400_000));
    let (_, body) = send(&relay, &grafana(MIXED)).await;
    let lines = request_lines(&capture);
    assert_eq!(lines.len(), 2);
    let targets = lines[1]["alert_targets"].as_str().unwrap();
    let ids = answered_ids(&body);
    // db-1 (warning): the default topic, not paging; db-2 and db-3 (critical) both.
    assert!(
        targets.contains(&format!("{}: default=notified 1=", &ids[0][..8])),
        "{targets}"
    );
    for id in &ids[1..] {
        assert!(
            targets.contains(&format!("{}: default=notified 1=notified", &id[..8])),
            "{targets}"
        );
    }
    assert!(
        !targets.contains(&format!("{}: default=notified 1=notified", &ids[0][..8])),
        "{targets}"
    );
}
