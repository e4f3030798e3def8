//! Replays every sample event in `events/` through the handler, parsed the way the Lambda runtime
//! parses it (`lambda_http::request::from_str`), with the secrets of `events/test.env`: each must
//! get the status and error that `events/README.md` lists, and only the 200s may publish.

mod common;

use std::path::{Path, PathBuf};

use alert_relay::Config;
use common::{Recording, answered_ids, quiet};
use serde_json::Value;

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:alerts";

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("events")
}

/// The function's configuration under `make run`: events/test.env plus a topic.
fn config() -> Config {
    let text = std::fs::read_to_string(events_dir().join("test.env")).expect("events/test.env");
    let mut vars: Vec<(String, String)> = text
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        // A value in single quotes is literal, as cargo-lambda's env-file reader takes it.
        .map(|(k, v)| {
            let v = v
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or(v);
            (k.to_owned(), v.to_owned())
        })
        .collect();
    vars.push(("ALERT_TOPIC_ARN".into(), TOPIC.into()));
    Config::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
        .expect("events/test.env is a valid configuration")
}

struct Expected {
    file: String,
    status: u16,
    error: Option<String>,
}

/// The table of events/README.md whose header starts `| file |`.
fn expected() -> Vec<Expected> {
    let readme = std::fs::read_to_string(events_dir().join("README.md")).expect("events/README.md");
    common::markdown_rows(&readme)
        .into_iter()
        .filter_map(|mut row| {
            Some(Expected {
                status: row.get("status")?.parse().expect("a numeric status"),
                file: row.remove("file")?,
                error: row.remove("error").filter(|e| !e.is_empty()),
            })
        })
        .collect()
}

#[test]
fn readme_lists_every_event() {
    let mut listed: Vec<String> = expected().into_iter().map(|row| row.file).collect();
    let mut on_disk: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".json"))
        .collect();
    listed.sort();
    on_disk.sort();
    assert!(!listed.is_empty());
    assert_eq!(listed, on_disk);
}

#[tokio::test]
async fn every_sample_event_gets_its_documented_status() {
    for row in expected() {
        let text = std::fs::read_to_string(events_dir().join(&row.file)).unwrap();
        let request = lambda_http::request::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not an API Gateway event: {e}", row.file));
        let recording = Recording::default();
        let relay = quiet(config(), recording.clone());

        let response = relay.handle(request).await;

        let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(
            response.status().as_u16(),
            row.status,
            "{}: {body}",
            row.file
        );
        let published = recording.messages().len();
        match &row.error {
            None => {
                assert_eq!(body["status"], "published", "{}", row.file);
                // One event per alert: one, or each of a group's.
                let ids = answered_ids(&body);
                assert_eq!(published, ids.len(), "{}", row.file);
                let sent: Vec<String> = recording
                    .messages()
                    .into_iter()
                    .map(|m| m.event_id)
                    .collect();
                for id in &ids {
                    assert!(
                        sent.contains(id),
                        "{}: {id} answered, not published",
                        row.file
                    );
                }
            }
            Some(error) => {
                assert_eq!(body, serde_json::json!({ "error": error }), "{}", row.file);
                assert_eq!(published, 0, "{} published a rejected request", row.file);
            }
        }
    }
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// 2024-01-15T10:30:00Z, the date of events/: alerts without a time of their own get it.
fn fixed_clock() -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(1_705_314_600).unwrap()
}

/// What each published sample event looks like to every kind of reader: the CloudEvent
/// (`default`), the email text, the SMS line and the chat notification, compared with the files
/// in tests/golden/<event>/. A change to the event or a format shows up there as a diff in
/// review; `UPDATE_GOLDEN=1 cargo test --test events` rewrites them.
#[tokio::test]
async fn every_published_event_renders_as_its_golden_files() {
    const CHAT: &str = "arn:aws:sns:us-east-1:123456789012:chat";
    let update = common::golden::rewrite_requested("UPDATE_GOLDEN");
    let mut config = config();
    config.settings.routes = alert_relay::route::Routes::parse(
        TOPIC,
        Some(&format!(r#"[{{"topic": "{CHAT}", "format": "chatbot"}}]"#)),
    )
    .unwrap();
    let mut checked = Vec::new();
    let mut stale = Vec::new();
    for row in expected().into_iter().filter(|row| row.status == 200) {
        let text = std::fs::read_to_string(events_dir().join(&row.file)).unwrap();
        let recording = Recording::default();
        let relay = quiet(config.clone(), recording.clone()).with_clock(fixed_clock);
        let response = relay
            .handle(lambda_http::request::from_str(&text).unwrap())
            .await;
        assert_eq!(response.status(), 200, "{}", row.file);

        let sent = recording.messages();
        let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        let ids = answered_ids(&body);
        let pretty = |json: &str| {
            let value: Value = serde_json::from_str(json).unwrap();
            serde_json::to_string_pretty(&value).unwrap() + "\n"
        };
        let stem = row.file.trim_end_matches(".json");
        let mut files = Vec::new();
        // A group's alerts each have their own files, `alert-<n>.` first, in the group's order.
        for (index, id) in ids.iter().enumerate() {
            let default = sent
                .iter()
                .find(|s| s.topic_arn == TOPIC && &s.event_id == id)
                .unwrap();
            let event: Value = serde_json::from_str(&default.protocol("default")).unwrap();
            let chat = sent
                .iter()
                .find(|s| {
                    s.topic_arn == CHAT
                        && serde_json::from_str::<Value>(&s.message.body).unwrap()["metadata"]
                            ["threadId"]
                            == event["data"]["dedup_key"]
                })
                .unwrap();
            let prefix = match body["events"].is_array() {
                true => format!("alert-{}.", index + 1),
                false => String::new(),
            };
            files.extend([
                (
                    format!("{prefix}cloudevent.json"),
                    pretty(&default.protocol("default")),
                ),
                (format!("{prefix}email.txt"), default.protocol("email")),
                (format!("{prefix}sms.txt"), default.protocol("sms") + "\n"),
                (format!("{prefix}chatbot.json"), pretty(&chat.message.body)),
            ]);
        }
        let dir = golden_dir().join(stem);
        for (name, rendered) in files {
            let path = dir.join(name);
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &rendered).unwrap();
            }
            let golden = std::fs::read_to_string(&path).unwrap_or_default();
            if golden != rendered {
                stale.push(format!(
                    "{}\n--- golden\n{golden}\n+++ rendered\n{rendered}",
                    path.display()
                ));
            }
        }
        checked.push(stem.to_owned());
    }
    assert!(
        checked.len() >= 10,
        "only {} events rendered",
        checked.len()
    );
    let mut on_disk: Vec<String> = std::fs::read_dir(golden_dir())
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    on_disk.sort();
    checked.sort();
    assert_eq!(
        on_disk, checked,
        "tests/golden/ has a directory per published sample event"
    );
    assert!(
        stale.is_empty(),
        "rendering differs from tests/golden (UPDATE_GOLDEN=1 cargo test --test events rewrites it):\n{}",
        stale.join("\n")
    );
}
