//! EMF metrics: one document per request, counting it once as received and once as published,
//! rejected (with its reason) or publish_failed, in the configured namespace.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use alert_relay::Relay;
use alert_relay::providers::{Provider, SignedForm};
use common::*;
use serde_json::Value;

fn capturing<P: alert_relay::Publisher>(
    config: alert_relay::Config,
    publisher: P,
) -> (Relay<P>, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let relay = Relay::new(config, publisher).with_metrics(Box::new(move |line| {
        sink.lock().unwrap().push(line.to_owned())
    }));
    (relay, lines)
}

#[tokio::test]
async fn counts_every_request_once_by_outcome_provider_and_reason() {
    let mut vars = config_vars();
    vars.push(("METRICS_NAMESPACE".into(), "AlertRelay/test-stack".into()));
    let (relay, lines) = capturing(config_from(&vars), Recording::default());
    let (failing, failed_lines) = capturing(config_from(&vars), Failing);

    let cases = common::hostile::cases();
    let mut expected: HashMap<&str, usize> = HashMap::new();
    let mut group_requests = 0;
    for case in &cases {
        let (status, body) = send(&relay, &case.event).await;
        group_requests += usize::from(body.get("events").is_some());
        *expected
            .entry(if status == 200 {
                "published"
            } else {
                "rejected"
            })
            .or_default() += 1;
    }
    let request = Http::signed(
        Provider::MonteCarlo,
        SECRETS[0],
        MC_VOLUME_SEED,
        SignedForm::Raw,
    );
    send(&failing, &request.v2()).await;

    let docs: Vec<Value> = lines
        .lock()
        .unwrap()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // A group's request has a second line, counting its alerts by how each ended.
    let (groups, docs): (Vec<Value>, Vec<Value>) =
        docs.into_iter().partition(|d| d.get("alerts").is_some());
    assert_eq!(docs.len(), cases.len(), "one document per request");
    assert!(group_requests > 0);
    assert_eq!(
        groups.len(),
        group_requests,
        "one alerts line per group request"
    );
    for group in &groups {
        let parts: u64 = [
            "alerts_published",
            "alerts_suppressed",
            "alerts_queued",
            "alerts_failed",
        ]
        .iter()
        .map(|k| group[*k].as_u64().unwrap())
        .sum();
        assert_eq!(group["alerts"].as_u64(), Some(parts), "{group}");
        assert_eq!(group["alerts_published"], group["alerts"], "{group}");
    }
    let mut counted: HashMap<&str, usize> = HashMap::new();
    let mut per_provider: HashMap<&str, usize> = HashMap::new();
    for doc in &docs {
        assert_eq!(doc["received"], 1);
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "AlertRelay/test-stack");
        assert!(doc["_aws"]["Timestamp"].as_u64().unwrap() > 1_600_000_000_000);
        let kind = ["published", "rejected", "publish_failed"]
            .into_iter()
            .find(|k| doc[*k] == 1)
            .unwrap();
        if kind == "rejected" {
            assert!(
                doc["reason"].as_str().is_some_and(|r| !r.is_empty()),
                "{doc}"
            );
        }
        *counted.entry(kind).or_default() += 1;
        *per_provider
            .entry(doc["provider"].as_str().unwrap())
            .or_default() += 1;
    }
    let reasons: Vec<&str> = docs.iter().filter_map(|d| d["reason"].as_str()).collect();
    for reason in [
        "signature_mismatch",
        "missing_signature",
        "payload_too_large",
        "unknown_provider",
        "not_an_object",
        "wrong_scheme",
    ] {
        assert!(
            reasons.contains(&reason),
            "no rejection counted as {reason}"
        );
    }
    assert_eq!(counted, expected);
    for provider in ["atlas", "app-services", "monte-carlo", "unknown"] {
        assert!(
            per_provider.get(provider).is_some_and(|n| *n > 0),
            "nothing counted for {provider}"
        );
    }

    let failed: Vec<Value> = failed_lines
        .lock()
        .unwrap()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["publish_failed"], 1);
    assert_eq!(failed[0]["provider"], "monte-carlo");
}
