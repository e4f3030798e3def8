//! Real Atlas alert bodies (`../shared/realworld/atlas`, from public sources) and one body per
//! alert view of Atlas's OpenAPI specification (`tests/data/atlas-views`), each signed and sent
//! through the handler: every one must come out with a readable title and every fact its body
//! states, and what it becomes (title, resource, ownership, link) is kept in
//! `tests/data/realworld-snapshot.json`, a diff in review when it changes;
//! `UPDATE_GOLDEN=1 cargo test --test realworld` rewrites it.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use alert_relay::providers::{Provider, SignedForm};
use common::*;
use serde_json::{Map, Value, json};

fn realworld_dir() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/realworld/atlas"
    ))
    .to_owned()
}

fn views_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/atlas-views")
}

fn snapshot_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/realworld-snapshot.json")
}

/// 2030-01-01T00:00:00Z: far from every body's own times, so a time read from the body shows.
fn fixed_clock() -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(1_893_456_000).unwrap()
}

/// One body to send: a name for reports, the bytes, and the `X-MMS-Event` to send it with.
struct Case {
    name: String,
    body: String,
    event: String,
}

/// `X-MMS-Event` per file, from the table of `../shared/realworld/README.md`.
fn realworld_events() -> BTreeMap<String, String> {
    let readme_path = realworld_dir().join("../README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the real-world bodies live beside the checkout, in ../shared/realworld)",
            readme_path.display()
        )
    });
    markdown_rows(&readme)
        .into_iter()
        .filter_map(|mut row| Some((row.remove("file")?, row.remove("X-MMS-Event")?)))
        .collect()
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

fn cases() -> Vec<Case> {
    let events = realworld_events();
    let mut cases = Vec::new();
    for path in json_files(&realworld_dir()) {
        let name = stem(&path);
        let event = events
            .get(&name)
            .unwrap_or_else(|| panic!("{name} is not in ../shared/realworld/README.md"))
            .clone();
        cases.push(Case {
            name: format!("realworld/{name}"),
            body: std::fs::read_to_string(&path).unwrap(),
            event,
        });
    }
    assert!(cases.len() >= 8, "only {} real-world bodies", cases.len());
    for path in json_files(&views_dir()) {
        let body = std::fs::read_to_string(&path).unwrap();
        let status: Value = serde_json::from_str::<Value>(&body).unwrap()["status"].clone();
        let event = match status.as_str() {
            Some("CLOSED") => "alert.close",
            Some("CANCELLED") => "alert.cancel",
            _ => "alert.open",
        };
        cases.push(Case {
            name: format!("atlas-views/{}", stem(&path)),
            body,
            event: event.to_owned(),
        });
    }
    cases
}

/// What the handler published for `case`: the CloudEvent's `data` and the SNS attributes.
async fn publish(case: &Case) -> (Value, Vec<(&'static str, String)>) {
    let recording = Recording::default();
    let relay = quiet(config(), recording.clone()).with_clock(fixed_clock);
    let request = Http::signed(Provider::Atlas, SECRETS[0], &case.body, SignedForm::Raw)
        .replace_header("X-MMS-Event", &case.event);
    let (status, answer) = send(&relay, &request.v2()).await;
    assert_eq!(status, 200, "{}: {answer}", case.name);
    let sent = recording.messages();
    let default = sent.iter().find(|s| s.topic_arn == TOPIC).unwrap();
    let event: Value = serde_json::from_str(&default.body).unwrap();
    (event["data"].clone(), default.attributes.clone())
}

fn attribute<'a>(attributes: &'a [(&str, String)], name: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

fn is_object_id(id: &str) -> bool {
    id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Every fact the body states is carried, under the documented key.
fn check_facts(name: &str, body: &Map<String, Value>, data: &Value, attributes: &[(&str, String)]) {
    let resource = &data["resource"];
    let text = |key: &str| body.get(key).and_then(Value::as_str);
    for (field, key) in [
        ("groupId", "group_id"),
        ("orgId", "org_id"),
        ("alertConfigId", "alert_config_id"),
        ("clusterName", "cluster"),
        ("replicaSetName", "replica_set"),
        ("hostnameAndPort", "host"),
        ("metricName", "metric"),
        ("hostId", "host_id"),
        ("clusterId", "cluster_id"),
        ("parentClusterId", "parent_cluster_id"),
        ("instanceName", "instance_name"),
        ("processorName", "processor_name"),
        ("processorState", "processor_state"),
        ("processorErrorMsg", "processor_error_msg"),
        ("acknowledgingUsername", "acknowledging_username"),
        ("acknowledgementComment", "acknowledgement_comment"),
        ("acknowledgedUntil", "acknowledged_until"),
    ] {
        if let Some(value) = text(field) {
            assert_eq!(resource[key], value, "{name}: {field} → resource.{key}");
        }
    }
    if let Some(ids) = body.get("nonRunningHostIds") {
        assert_eq!(&resource["non_running_host_ids"], ids, "{name}");
    }
    if let Some(current) = body.get("currentValue") {
        assert_eq!(resource["value"], current["number"], "{name}: value");
        assert_eq!(resource["units"], current["units"], "{name}: units");
    }
    if let Some(event_type) = text("eventTypeName") {
        assert_eq!(data["event_type"], event_type, "{name}");
    }
    if let Some(id) = text("id") {
        assert_eq!(data["alert_id"], id, "{name}");
    }
    // Ownership, as the SNS attributes subscribers route on.
    assert_eq!(
        attribute(attributes, "cluster"),
        text("clusterName"),
        "{name}: the cluster attribute is the body's clusterName, or none"
    );
    if text("groupId").is_some() {
        assert!(
            attribute(attributes, "project").is_some(),
            "{name}: a project alert has a project attribute"
        );
    }
    // A link only from ObjectIds.
    let url = match (text("groupId"), text("orgId")) {
        (Some(group), _) if is_object_id(group) => {
            Value::from(format!("https://cloud.mongodb.com/v2/{group}#/alerts"))
        }
        (_, Some(org)) if is_object_id(org) => {
            Value::from(format!("https://cloud.mongodb.com/v2#/org/{org}/alerts"))
        }
        _ => Value::Null,
    };
    assert_eq!(data["url"], url, "{name}: url");
    // The body's own time, never the time received.
    if text("created").is_some() {
        assert_ne!(data["occurred_at"], "2030-01-01T00:00:00Z", "{name}");
    }
}

fn check_title(name: &str, body: &Map<String, Value>, data: &Value) {
    let title = data["title"].as_str().unwrap();
    assert!(!title.trim().is_empty(), "{name}: empty title");
    let bare = title
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    assert!(!bare, "{name}: a bare event type as title: {title}");
    if let Some(event_type) = body.get("eventTypeName").and_then(Value::as_str) {
        assert_ne!(title, event_type, "{name}");
    }
    assert!(
        !title.starts_with("MongoDB Atlas alert"),
        "{name}: the fallback title: {title}"
    );
}

#[tokio::test]
async fn every_real_and_documented_atlas_body_reads_well_and_keeps_its_facts() {
    let update = common::golden::rewrite_requested("UPDATE_GOLDEN");
    let mut snapshot = Map::new();
    for case in cases() {
        let body: Map<String, Value> = serde_json::from_str(&case.body)
            .unwrap_or_else(|e| panic!("{} is not a JSON object: {e}", case.name));
        let (data, attributes) = publish(&case).await;
        check_title(&case.name, &body, &data);
        check_facts(&case.name, &body, &data, &attributes);
        let ownership: Map<String, Value> = attributes
            .iter()
            .filter(|(name, _)| matches!(*name, "project" | "cluster" | "group" | "tables"))
            .map(|(name, value)| ((*name).to_owned(), Value::from(value.as_str())))
            .collect();
        snapshot.insert(
            case.name.clone(),
            json!({
                "x_mms_event": case.event,
                "status": data["status"],
                "severity": data["severity"],
                "title": data["title"],
                "occurred_at": data["occurred_at"],
                "url": data["url"],
                "ownership": ownership,
                "resource": data["resource"],
            }),
        );
    }
    let rendered = serde_json::to_string_pretty(&Value::Object(snapshot)).unwrap() + "\n";
    if update {
        std::fs::write(snapshot_path(), &rendered).unwrap();
    }
    let golden = std::fs::read_to_string(snapshot_path()).unwrap_or_default();
    assert!(
        golden == rendered,
        "the alerts differ from tests/data/realworld-snapshot.json \
         (UPDATE_GOLDEN=1 cargo test --test realworld rewrites it):\n--- golden\n{golden}\n+++ rendered\n{rendered}"
    );
}
