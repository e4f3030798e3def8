//! Alert groups (Grafana, Alertmanager) through the handler, in process: one event per alert,
//! each routed, assessed and remembered on its own; the answer and the log line of a group; the
//! bounds on what a group has in flight; and, as properties, that any `alerts[]` gives one event
//! per alert with ids that redelivery keeps and labels that stay with their alert. The same
//! against moto and the real binary: tests/e2e/test_groups.py.

mod common;

use std::sync::{Arc, Mutex};

use alert_relay::pipeline::Memory;
use alert_relay::providers::{Provider, SignedForm};
use alert_relay::publish::{Fallback, PublishRequest, QueueError};
use alert_relay::{PublishError, Publisher, Relay};
use common::memory_table::MemoryTable;
use common::*;
use proptest::prelude::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const PAGING: &str = "arn:aws:sns:us-east-1:123456789012:paging";
const ORDERS: &str = "arn:aws:sns:us-east-1:123456789012:orders";
const MIXED: &str = include_str!("../events/payloads/grafana/grafana-mixed-group.json");
const KAFKA: &str = include_str!("../events/payloads/alertmanager/alertmanager-group.json");
const DAY: i64 = 86_400_000;

fn routed_vars(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut vars = config_vars();
    let routes = json!([
        {"topic": PAGING, "filter": {"severity": ["critical"]}},
        {"topic": ORDERS, "filter": {"labels": ["team=orders"]}},
    ]);
    vars.push(("ALERT_ROUTES".into(), routes.to_string()));
    for (name, value) in extra {
        vars.push(((*name).into(), (*value).into()));
    }
    vars
}

fn grafana(body: &str) -> Value {
    Http::signed(Provider::Grafana, SECRETS[0], body, SignedForm::Timestamped).v2()
}

/// The published CloudEvents on `topic`, by alert id.
fn on(recording: &Recording, topic: &str) -> Vec<Value> {
    recording
        .messages()
        .into_iter()
        .filter(|m| m.topic_arn == topic)
        .map(|m| serde_json::from_str(&m.body).unwrap())
        .collect()
}

/// Each event's `status` in a group's answer, in order.
fn statuses(body: &Value) -> Vec<&str> {
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect()
}

fn alert_ids(events: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = events
        .iter()
        .map(|e| e["data"]["alert_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// The first 32 hex digits of SHA-256 over `provider:` and `bytes`: what the contract says an
/// alert's event id is, computed here without the crate.
fn expected_id(provider: &str, bytes: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(provider.as_bytes())
        .chain_update(b":")
        .chain_update(bytes)
        .finalize();
    hex::encode(digest)[..32].to_owned()
}

#[tokio::test]
async fn a_mixed_grafana_group_is_an_event_per_alert_each_routed_on_its_own() {
    let recording = Recording::default();
    let relay = quiet(config_from(&routed_vars(&[])), recording.clone());
    let (status, body) = send(&relay, &grafana(MIXED)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "published");

    let seed: Value = serde_json::from_str(MIXED).unwrap();
    let fingerprints: Vec<&str> = seed["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["fingerprint"].as_str().unwrap())
        .collect();
    let defaults = on(&recording, TOPIC);
    assert_eq!(defaults.len(), 3);
    // The answer names the events in the group's order: db-1, db-2, db-3.
    let events = body["events"].as_array().unwrap();
    for (index, answered) in events.iter().enumerate() {
        let event = defaults
            .iter()
            .find(|e| e["id"] == answered["event_id"])
            .unwrap();
        assert_eq!(event["data"]["alert_id"], fingerprints[index]);
        assert_eq!(
            event["data"]["dedup_key"],
            format!("grafana:{}", fingerprints[index])
        );
        assert_eq!(answered["status"], "published");
    }
    let by_host = |host: &str| {
        defaults
            .iter()
            .find(|e| e["data"]["labels"]["instance"] == host)
            .unwrap()
    };
    let (db1, db2, db3) = (by_host("db-1"), by_host("db-2"), by_host("db-3"));
    assert_eq!(
        [
            &db1["data"]["status"],
            &db2["data"]["status"],
            &db3["data"]["status"]
        ],
        ["open", "resolved", "open"]
    );
    assert_eq!(
        [
            &db1["data"]["severity"],
            &db2["data"]["severity"],
            &db3["data"]["severity"]
        ],
        ["warning", "critical", "critical"]
    );
    assert_eq!(db2["type"], "alert.resolved");
    assert_eq!(db2["data"]["title"], "Replication lag on db-2 is 3s");
    assert_eq!(db2["data"]["event_type"], "PostgresReplicationLag");
    assert_eq!(db2["data"]["occurred_at"], "2024-01-15T10:25:00Z");
    assert_eq!(
        db2["data"]["url"],
        "https://grafana.example.com/d/pg-repl?orgId=1&viewPanel=4"
    );
    assert_eq!(
        db2["data"]["annotations"]["runbook_url"],
        "https://runbooks.example.com/postgres/replication-lag"
    );
    assert_eq!(db2["data"]["group"]["alerts"], 3);
    // Its raw payload is its own object, not the group.
    assert_eq!(db2["data"]["raw"], seed["alerts"][1]);

    // Paging takes the critical ones, the team route all three.
    assert_eq!(
        alert_ids(&on(&recording, PAGING)),
        alert_ids(&[db2.clone(), db3.clone()])
    );
    assert_eq!(alert_ids(&on(&recording, ORDERS)), alert_ids(&defaults));
    assert_eq!(events[0]["topics"], 2);
    assert_eq!(events[1]["topics"], 3);

    // Each message carries its own alert's attributes, labels as a String.Array.
    let db1_message = recording
        .messages()
        .into_iter()
        .find(|m| m.topic_arn == TOPIC && m.event_id == db1["id"])
        .unwrap();
    let attribute = |name: &str| -> Vec<String> {
        db1_message
            .attributes
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    assert_eq!(attribute("severity"), ["warning"]);
    assert_eq!(attribute("cluster"), ["prod-eu"]);
    // One entry per value of the String.Array, as a filter reads it.
    let labels = attribute("labels");
    assert!(labels.contains(&"instance=db-1".to_owned()), "{labels:?}");
    assert!(
        !labels
            .iter()
            .any(|l| l.contains("db-2") || l.contains("db-3"))
    );
}

#[tokio::test]
async fn each_alert_has_the_id_of_its_own_bytes_and_a_redelivery_the_same() {
    let (relay, recording) = relay();
    let (_, first) = send(&relay, &grafana(MIXED)).await;
    let (_, again) = send(&relay, &grafana(MIXED)).await;
    assert_eq!(answered_ids(&first), answered_ids(&again));
    // Each id hashes the alert's object exactly as it lies in the body.
    let mut start = MIXED.find("\"alerts\":[").unwrap() + "\"alerts\":[".len();
    for id in answered_ids(&first) {
        let end = start + object_len(&MIXED[start..]);
        assert_eq!(id, expected_id("grafana", &MIXED.as_bytes()[start..end]));
        start = end + 1;
    }
    assert_eq!(recording.messages().len(), 6);
}

/// The length of the JSON object `text` starts with (no braces inside strings in the samples'
/// alerts is not assumed: strings are skipped).
fn object_len(text: &str) -> usize {
    let (mut depth, mut in_string, mut escaped) = (0, false, false);
    for (index, c) in text.char_indices() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => in_string = false,
            (true, false, _) => {}
            (false, _, '"') => in_string = true,
            (false, _, '{') => depth += 1,
            (false, _, '}') => {
                depth -= 1;
                if depth == 0 {
                    return index + 1;
                }
            }
            _ => {}
        }
    }
    panic!("no object")
}

#[tokio::test]
async fn alert_labels_chooses_what_the_labels_attribute_carries() {
    let recording = Recording::default();
    let vars = routed_vars(&[("ALERT_LABELS", "team, instance, no_such_label")]);
    let relay = quiet(config_from(&vars), recording.clone());
    send(&relay, &grafana(MIXED)).await;
    let labels_of = |message: &Sent| -> Vec<String> {
        message
            .attributes
            .iter()
            .filter(|(n, _)| *n == "labels")
            .map(|(_, v)| v.clone())
            .collect()
    };
    for message in recording.messages().iter().filter(|m| m.topic_arn == TOPIC) {
        let labels = labels_of(message);
        assert_eq!(labels.len(), 2, "{labels:?}");
        assert_eq!(labels[0], "team=orders");
        assert!(labels[1].starts_with("instance=db-"));
    }
    // Without ALERT_LABELS: the first ten by name, `alertname` first.
    let (relay, recording) = common::relay();
    send(&relay, &grafana(MIXED)).await;
    let labels = labels_of(&recording.messages()[0]);
    assert_eq!(labels[0], "alertname=PostgresReplicationLag");
    assert_eq!(labels.len(), 6);
}

#[tokio::test]
async fn severity_rules_and_silences_match_labels() {
    // A rule on a label decides an alert the sender gave no severity.
    let body = json!({"alerts": [
        {"status": "firing", "labels": {"alertname": "Lag", "team": "orders"}, "fingerprint": "a"},
        {"status": "firing", "labels": {"alertname": "Lag", "team": "web"}, "fingerprint": "b"},
    ]})
    .to_string();
    let rules = json!([{"filter": {"labels": ["team=orders"]}, "severity": "error"}]).to_string();
    let recording = Recording::default();
    let vars = routed_vars(&[("SEVERITY_RULES", &rules)]);
    let relay = quiet(config_from(&vars), recording.clone());
    let (status, _) = send(&relay, &grafana(&body)).await;
    assert_eq!(status, 200);
    let events = on(&recording, TOPIC);
    let severity = |id: &str| {
        events
            .iter()
            .find(|e| e["data"]["alert_id"] == id)
            .map(|e| {
                (
                    e["data"]["severity"].clone(),
                    e["data"]["severity_source"].clone(),
                )
            })
            .unwrap()
    };
    assert_eq!(severity("a"), (json!("error"), json!("rule 1")));
    assert_eq!(severity("b"), (json!("unknown"), json!("none")));
}

#[derive(Clone, Default)]
struct Down {
    sent: Recording,
    topic: &'static str,
}

impl Publisher for Down {
    async fn publish(&self, request: PublishRequest<'_>) -> Result<String, PublishError> {
        if request.topic_arn == self.topic {
            return Err(PublishError::Sns("ServiceUnavailable".into()));
        }
        self.sent.publish(request).await
    }
}

#[derive(Clone, Default)]
struct Queue(Arc<Mutex<Vec<String>>>);

impl Fallback for Queue {
    async fn enqueue(&self, body: String) -> Result<(), QueueError> {
        self.0.lock().unwrap().push(body);
        Ok(())
    }
}

#[tokio::test]
async fn a_failed_part_makes_the_group_202_when_queued_and_502_when_not() {
    let down = Down {
        sent: Recording::default(),
        topic: PAGING,
    };
    let relay = quiet(config_from(&routed_vars(&[])), down.clone());
    let (status, body) = send(&relay, &grafana(MIXED)).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"], "publish_failed");
    // db-1 is not critical: it reached all its topics; the critical two did not reach paging.
    assert_eq!(statuses(&body), ["published", "failed", "failed"]);
    assert_eq!(body["events"][1]["reason"], "sns_error");

    let queue = Queue::default();
    let relay = quiet(config_from(&routed_vars(&[])), down.clone()).with_fallback(queue.clone());
    let (status, body) = send(&relay, &grafana(MIXED)).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "queued");
    assert_eq!(statuses(&body), ["published", "queued", "queued"]);
    // One fallback message per alert whose publishes failed, each naming only the paging route.
    let kept = queue.0.lock().unwrap().clone();
    assert_eq!(kept.len(), 2);
    for message in &kept {
        let pending: Value = serde_json::from_str(message).unwrap();
        assert!(
            message.contains(PAGING) && !message.contains(ORDERS),
            "{pending}"
        );
    }
}

fn stateful<P: Publisher>(publisher: P, table: &MemoryTable) -> Relay<P> {
    quiet(config_from(&routed_vars(&[])), publisher)
        .with_memory(Memory::new(table.clone(), 30 * DAY))
}

#[tokio::test]
async fn each_alert_of_a_group_has_its_own_state() {
    let table = MemoryTable::default();
    let sent = Recording::default();
    let relay = stateful(sent.clone(), &table);
    let (status, body) = send(&relay, &grafana(MIXED)).await;
    assert_eq!((status, &body["status"]), (200, &json!("published")));
    let told = sent.messages().len();
    assert_eq!(told, 3 + 2 + 3);

    // The same group again: every alert a duplicate, nobody told.
    let (status, body) = send(&relay, &grafana(MIXED)).await;
    assert_eq!(
        (status, &body["status"]),
        (200, &json!("suppressed")),
        "{body}"
    );
    for event in body["events"].as_array().unwrap() {
        assert_eq!(event["status"], "suppressed");
        assert_eq!(event["reason"], "duplicate");
    }
    assert_eq!(sent.messages().len(), told);

    // db-1 resolves in the next notification; db-3 still fires, unchanged.
    let mut next: Value = serde_json::from_str(MIXED).unwrap();
    next["alerts"][0]["status"] = json!("resolved");
    next["alerts"][0]["endsAt"] = json!("2024-01-15T10:35:00Z");
    let (status, body) = send(&relay, &grafana(&next.to_string())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(statuses(&body), ["published", "suppressed", "suppressed"]);
    let resolved = sent.messages()[told..]
        .iter()
        .map(|m| serde_json::from_str::<Value>(&m.body).unwrap())
        .find(|e| e["data"]["labels"]["instance"] == "db-1")
        .unwrap();
    assert_eq!(resolved["data"]["status"], "resolved");
    assert_eq!(resolved["data"]["lifecycle"]["previous_status"], "open");
    // Alert state times an episode by arrivals (docs/state.md): both came just now.
    assert!(resolved["data"]["lifecycle"]["duration_seconds"].is_u64());
}

/// `count` firing alerts of one group, each its own instance.
fn big_group(count: usize) -> String {
    let alerts: Vec<Value> = (0..count)
        .map(|i| {
            json!({"status": "firing", "fingerprint": format!("{i:016x}"),
                   "labels": {"alertname": "Lag", "instance": format!("db-{i}"), "severity": "critical", "team": "orders"}})
        })
        .collect();
    json!({"alerts": alerts, "truncatedAlerts": 7, "groupKey": "{}:{}"}).to_string()
}

#[tokio::test]
async fn a_100_alert_group_has_at_most_16_publishes_in_flight() {
    let counter = InFlight::default();
    let relay = quiet(config_from(&routed_vars(&[])), counter.clone());
    let (status, body) = send(&relay, &grafana(&big_group(100))).await;
    assert_eq!(status, 200);
    assert_eq!(body["events"].as_array().unwrap().len(), 100);
    assert_eq!(*counter.total.lock().unwrap(), 300);
    let most = *counter.most.lock().unwrap();
    assert!(
        (2..=16).contains(&most),
        "{most} publishes in flight at once"
    );
}

#[tokio::test]
async fn an_alertmanager_group_with_a_bearer_token_or_basic_auth() {
    let (relay, recording) = relay();
    let request = Http::post("/webhooks/alertmanager", KAFKA);
    let bearer = request
        .clone()
        .header("Authorization", &format!("Bearer {}", SECRETS[1]));
    let (status, body) = send(&relay, &bearer.v2()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["events"].as_array().unwrap().len(), 3);
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("prometheus:{}", SECRETS[0]),
    );
    let basic = request
        .clone()
        .header("Authorization", &format!("Basic {basic}"));
    assert_eq!(send(&relay, &basic.v2()).await.0, 200);
    let events = on(&recording, TOPIC);
    assert_eq!(events.len(), 6);
    let kafka3 = events
        .iter()
        .find(|e| e["data"]["labels"]["instance"] == "kafka-3:9308")
        .unwrap();
    assert_eq!(kafka3["data"]["status"], "resolved");
    assert_eq!(kafka3["data"]["resource"]["cluster"], Value::Null);
    assert!(
        kafka3["data"]["url"]
            .as_str()
            .unwrap()
            .starts_with("http://prometheus")
    );
    for wrong in ["Bearer guess", "Basic Z3Vlc3M6Z3Vlc3M=", "Token x"] {
        let (status, body) =
            send(&relay, &request.clone().header("Authorization", wrong).v2()).await;
        assert_eq!(
            (status, body),
            (401, json!({"error": "invalid_signature"})),
            "{wrong}"
        );
    }
    assert_eq!(recording.messages().len(), 6);
}

#[tokio::test]
async fn grafana_timestamps_are_checked_and_may_be_required() {
    let (relay, _) = relay();
    // Signed ten minutes ago: a replay, refused.
    let old = time::OffsetDateTime::now_utc().unix_timestamp() - 600;
    let signing = alert_relay::providers::Signing {
        body: MIXED.as_bytes(),
        form: SignedForm::Timestamped,
        timestamp: old,
        id: "",
    };
    let headers = Provider::Grafana
        .sign(&alert_relay::Secret::new(SECRETS[0]), &signing)
        .unwrap();
    let stale = headers
        .into_iter()
        .fold(Http::post("/webhooks/grafana", MIXED), |r, (n, v)| {
            r.header(n, &v)
        });
    assert_eq!(
        send(&relay, &stale.v2()).await,
        (401, json!({"error": "invalid_signature"}))
    );
    // A body-only signature, accepted by default, refused with GRAFANA_REQUIRE_TIMESTAMP.
    let body_only = Http::signed(Provider::Grafana, SECRETS[0], MIXED, SignedForm::Raw);
    assert_eq!(send(&relay, &body_only.v2()).await.0, 200);
    let mut vars = config_vars();
    vars.push(("GRAFANA_REQUIRE_TIMESTAMP".into(), "true".into()));
    let strict = quiet(config_from(&vars), Recording::default());
    assert_eq!(
        send(&strict, &body_only.v2()).await,
        (401, json!({"error": "invalid_signature"}))
    );
    assert_eq!(send(&strict, &grafana(MIXED)).await.0, 200);
}

/// Grafana's own HMAC test inputs (grafana/alerting http/hmac_test.go, tests/data/
/// grafana-hmac-vectors.json): headers named as each test configures them, through
/// GRAFANA_SIGNATURE_HEADER and GRAFANA_TIMESTAMP_HEADER, at the test's clock (the epoch).
#[test]
fn grafana_own_hmac_test_inputs_verify_in_both_forms() {
    let vectors: Vec<Value> =
        serde_json::from_str(include_str!("data/grafana-hmac-vectors.json")).unwrap();
    let mut checked = 0;
    for vector in vectors.iter().filter(|v| v["expect_error"] != true) {
        let header = vector["header"].as_str().unwrap();
        let timestamp_header = vector["timestamp_header"].as_str();
        let mut vars = vec![
            ("ALERT_TOPIC_ARN".to_owned(), TOPIC.to_owned()),
            (
                "GRAFANA_WEBHOOK_SECRETS".to_owned(),
                vector["secret"].as_str().unwrap().to_owned(),
            ),
            ("GRAFANA_SIGNATURE_HEADER".to_owned(), header.to_owned()),
        ];
        if let Some(name) = timestamp_header {
            vars.push(("GRAFANA_TIMESTAMP_HEADER".to_owned(), name.to_owned()));
        }
        let config = config_from(&vars);
        let settings = config.provider(Provider::Grafana);
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::HeaderName::from_bytes(header.as_bytes()).unwrap(),
            vector["signature"].as_str().unwrap().parse().unwrap(),
        );
        if let (Some(name), Some(value)) = (timestamp_header, vector["timestamp"].as_str()) {
            headers.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        let body = vector["body"].as_str().unwrap().as_bytes();
        let inbound = |body| alert_relay::providers::Inbound {
            headers: &headers,
            query_secrets: &[],
            body,
            received_at: 0,
        };
        let verified = Provider::Grafana.authenticate(settings, inbound(body));
        let form = match timestamp_header {
            Some(_) => SignedForm::Timestamped,
            None => SignedForm::Raw,
        };
        assert_eq!(
            verified.map(|v| v.credential()).ok(),
            Some(alert_relay::providers::Credential::Signature {
                form,
                secret_index: 0
            }),
            "{}",
            vector["name"]
        );
        assert!(
            Provider::Grafana
                .authenticate(settings, inbound(b"tampered"))
                .is_err()
        );
        checked += 1;
    }
    assert!(checked >= 4, "{checked} vectors");
}

#[test]
fn settings_refuse_what_cannot_work() {
    let load = |extra: &[(&str, &str)]| {
        let mut vars = vec![("ALERT_TOPIC_ARN".to_owned(), TOPIC.to_owned())];
        vars.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        alert_relay::Config::from_lookup(|name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
        .map(|_| ())
        .map_err(|e| e.to_string())
    };
    let eleven = (0..11)
        .map(|i| format!("l{i}"))
        .collect::<Vec<_>>()
        .join(",");
    for (vars, var) in [
        (vec![("ALERT_LABELS", eleven.as_str())], "ALERT_LABELS"),
        (vec![("ALERT_LABELS", "team,,env")], "ALERT_LABELS"),
        (vec![("ALERT_LABELS", "team=orders")], "ALERT_LABELS"),
        (
            vec![("GRAFANA_SIGNATURE_HEADER", "X Bad")],
            "GRAFANA_SIGNATURE_HEADER",
        ),
        (
            vec![("GRAFANA_TIMESTAMP_HEADER", "X-Grafana-Alerting-Signature")],
            "GRAFANA_TIMESTAMP_HEADER",
        ),
        (
            vec![("GRAFANA_REQUIRE_TIMESTAMP", "yes")],
            "GRAFANA_REQUIRE_TIMESTAMP",
        ),
        (
            vec![("ALERTMANAGER_BASIC_AUTH", "no-colon")],
            "ALERTMANAGER_BASIC_AUTH",
        ),
        (
            vec![("ALERTMANAGER_BEARER_TOKENS", "a b")],
            "ALERTMANAGER_BEARER_TOKENS",
        ),
    ] {
        let error = load(&vars).unwrap_err();
        assert!(error.starts_with(var), "{error}");
        assert!(
            !error.contains("no-colon") && !error.contains("a b"),
            "{error}"
        );
    }
    assert!(load(&[("ALERT_LABELS", "team, instance")]).is_ok());
    // Only Grafana lets its headers be renamed.
    assert!(load(&[("ATLAS_SIGNATURE_HEADER", "X Bad")]).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any `alerts[]`: one event per alert, in order, each with the id of its own bytes, the
    /// same ids when the group is delivered again, and only its own labels.
    #[test]
    fn any_group_is_one_event_per_alert_with_its_own_labels_and_a_stable_id(
        alerts in prop::collection::vec(
            (
                prop::collection::btree_map("[a-z_]{1,8}", "[ -~]{0,12}", 0..6),
                prop::sample::select(vec!["firing", "resolved", "odd"]),
                prop::option::of("[0-9a-f]{16}"),
            ),
            0..12,
        ),
        pretty in any::<bool>(),
    ) {
        let objects: Vec<String> = alerts
            .iter()
            .map(|(labels, status, fingerprint)| {
                let mut alert = json!({"status": status, "labels": labels});
                if let Some(fingerprint) = fingerprint {
                    alert["fingerprint"] = json!(fingerprint);
                }
                if pretty { serde_json::to_string_pretty(&alert) } else { serde_json::to_string(&alert) }
                    .unwrap()
            })
            .collect();
        let body = format!(r#"{{"receiver":"r","alerts":[{}],"commonLabels":{{}}}}"#, objects.join(" ,\n"));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (relay, recording) = relay();
        let (status, first) = runtime.block_on(send(&relay, &grafana(&body)));
        prop_assert_eq!(status, 200, "{}", first);
        let (_, again) = runtime.block_on(send(&relay, &grafana(&body)));
        let ids = answered_ids(&first);
        prop_assert_eq!(&ids, &answered_ids(&again));
        prop_assert_eq!(ids.len(), alerts.len());
        let published = recording.messages();
        prop_assert_eq!(published.len(), 2 * alerts.len());
        for ((id, object), (labels, _, fingerprint)) in ids.iter().zip(&objects).zip(&alerts) {
            prop_assert_eq!(id, &expected_id("grafana", object.as_bytes()));
            let event: Value = serde_json::from_str(
                &published.iter().find(|m| &m.event_id == id).unwrap().body,
            ).unwrap();
            let own = if labels.is_empty() { Value::Null } else { json!(labels) };
            prop_assert_eq!(&event["data"]["labels"], &own);
            if let Some(fingerprint) = fingerprint {
                prop_assert_eq!(&event["data"]["alert_id"], &json!(fingerprint));
            }
        }
    }
}

#[tokio::test]
async fn a_group_without_alerts_tells_nobody_and_says_so() {
    let (relay, recording) = common::relay();
    let (status, body) = send(&relay, &grafana(r#"{"alerts":[],"receiver":"r"}"#)).await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({"status": "suppressed", "reason": "no_alerts", "events": []})
        )
    );
    assert!(recording.messages().is_empty());
}

/// A silence that began earlier in the same second as the request holds the request's alert: the
/// request's time is API Gateway's in milliseconds, not cut to the second.
#[tokio::test]
async fn a_silence_holds_an_alert_received_in_the_second_it_began() {
    use alert_relay::state::Silence;
    use alert_relay::state::Table as _;
    let table = MemoryTable::default();
    let relay = stateful(Recording::default(), &table);
    let second = common::now_ms() as i64 / 1000 * 1000;
    let silence = Silence::new(
        r#"{"labels": ["instance=db-1"]}"#,
        second + 100,
        second + 3_600_000,
        "db-1 is being rebuilt",
        None,
        second,
    )
    .unwrap();
    table
        .put(silence.to_item(DAY), alert_relay::state::Expect::Absent)
        .await
        .unwrap();
    let mut event = grafana(MIXED);
    event["requestContext"]["timeEpoch"] = json!(second + 900);
    let (status, body) = send(&relay, &event).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(statuses(&body), ["suppressed", "published", "published"]);
    assert_eq!(body["events"][0]["reason"], "silenced");
}
