//! Issue 21: no answer of the Atlas Admin API, token or alert configuration, panics the function
//! or fails a webhook. A scripted server on 127.0.0.1 answers each endpoint with a generated
//! status, `Retry-After` and body; a signed Atlas alert goes through the handler with the real
//! client, and is published every time, with a severity from the configuration or the rules.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use alert_relay::Secret;
use alert_relay::atlas_api::{AtlasApi, AtlasApiConfig};
use alert_relay::providers::{Provider, SignedForm};
use common::*;
use proptest::prelude::*;
use serde_json::{Value, json};

const GROUP: &str = "5d1b6f8e8c2e4e2d3c4a5b6d";
const CONFIG: &str = "5d1b6f8e8c2e4e2d3c4a5b6e";

/// One scripted answer.
#[derive(Clone, Debug)]
struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: Vec<u8>,
}

/// Answers `/api/oauth/token` with the first answer and anything else with the second.
struct Scripted {
    base_url: String,
    answers: Arc<Mutex<(Answer, Answer)>>,
}

impl Scripted {
    fn start(token: Answer, config: Answer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let answers = Arc::new(Mutex::new((token, config)));
        let serving = answers.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let answers = serving.lock().unwrap().clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() {
                        return;
                    }
                    let token = line.contains("/api/oauth/token");
                    let mut length = 0;
                    loop {
                        let mut header = String::new();
                        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                            break;
                        }
                        if let Some((name, value)) = header.split_once(':')
                            && name.eq_ignore_ascii_case("content-length")
                        {
                            length = value.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    let _ = reader.read_exact(&mut body);
                    let answer = if token { answers.0 } else { answers.1 };
                    let mut head = format!(
                        "HTTP/1.1 {} Scripted\r\nContent-Length: {}\r\nConnection: close\r\n",
                        answer.status,
                        answer.body.len()
                    );
                    if let Some(retry_after) = answer.retry_after {
                        head.push_str(&format!("Retry-After: {retry_after}\r\n"));
                    }
                    head.push_str("\r\n");
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(&answer.body);
                });
            }
        });
        Scripted { base_url, answers }
    }
}

fn status() -> impl Strategy<Value = u16> {
    prop::sample::select(vec![
        200, 201, 204, 301, 400, 401, 403, 404, 406, 429, 500, 503,
    ])
}

fn retry_after() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        Just("18446744073709551616".to_owned()),
        Just("Wed, 21 Oct 2015 07:28:00 GMT".to_owned()),
        Just("Fri, 31 Dec 9999 23:59:59 GMT".to_owned()),
        "[ -~]{0,20}",
    ])
}

/// Numbers and the other values an `expires_in` or a `severityOverride` could be.
fn odd_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(u64::MAX)),
        Just(json!(0)),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        Just(serde_json::from_str::<Value>("1e400").unwrap()),
        Just(serde_json::from_str::<Value>("123456789012345678901234567890").unwrap()),
        Just(Value::Null),
        "\\PC{0,12}".prop_map(Value::from),
        prop::sample::select(vec!["CRITICAL", "error", "Warning", "INFO", "LOW", ""])
            .prop_map(Value::from),
        Just(json!([1, 2])),
        Just(json!({"a": 1})),
    ]
}

fn token_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (
            prop::option::of(prop_oneof![
                "[!-~]{1,40}".prop_map(Value::from),
                "\\PC{0,20}".prop_map(Value::from),
                Just(Value::from("a\u{0}b")),
                odd_value(),
            ]),
            prop::option::of(prop_oneof![
                Just(Value::from("Bearer")),
                Just(Value::from("bearer")),
                odd_value(),
            ]),
            prop::option::of(odd_value()),
        )
            .prop_map(|(access_token, token_type, expires_in)| {
                let mut body = serde_json::Map::new();
                for (key, value) in [
                    ("access_token", access_token),
                    ("token_type", token_type),
                    ("expires_in", expires_in),
                ] {
                    if let Some(value) = value {
                        body.insert(key.into(), value);
                    }
                }
                Value::Object(body).to_string().into_bytes()
            }),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

fn config_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::option::of(odd_value()).prop_map(|severity| {
            let mut body = json!({"id": CONFIG, "groupId": GROUP, "eventTypeName": "X"});
            if let Some(severity) = severity {
                body["severityOverride"] = severity;
            }
            body.to_string().into_bytes()
        }),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

fn answer(body: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Answer> {
    (status(), retry_after(), body).prop_map(|(status, retry_after, body)| Answer {
        status,
        retry_after,
        body,
    })
}

/// The seed disk alert with its alert configuration, signed.
fn disk_alert() -> Value {
    let mut body: serde_json::Map<String, Value> =
        serde_json::from_str(seed(Provider::Atlas)).unwrap();
    body.insert("alertConfigId".into(), CONFIG.into());
    let body = Value::Object(body).to_string();
    Http::signed(Provider::Atlas, SECRETS[0], &body, SignedForm::Raw)
        .replace_header("X-MMS-Event", "alert.open")
        .v2()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn no_answer_panics_or_fails_a_webhook(token in answer(token_body()), configuration in answer(config_body())) {
        let server = Scripted::start(token, configuration);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let api = AtlasApi::new(AtlasApiConfig::new(
            &server.base_url,
            "mdb_sa_id_scripted",
            Secret::new("mdb_sa_sk_scripted-not-a-secret"),
        ));
        let recording = Recording::default();
        let relay = quiet(config(), recording.clone()).with_severity_lookup(api);
        let request = disk_alert();
        for _ in 0..2 {
            let (status, body) = runtime.block_on(send(&relay, &request));
            prop_assert_eq!(status, 200, "{}", body);
        }
        for sent in recording.messages() {
            let event: Value = serde_json::from_str(&sent.body).unwrap();
            let data = &event["data"];
            let source = data["severity_source"].as_str().unwrap();
            prop_assert!(
                source == "atlas-alert-config" || source == "default-rule 3",
                "{}", data
            );
            let severity = data["severity"].as_str().unwrap();
            prop_assert!(["critical", "error", "warning", "info"].contains(&severity), "{}", data);
        }
        drop(server.answers);
    }
}
