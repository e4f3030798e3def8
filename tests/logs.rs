//! Logs say what happened to each request (provider, outcome, reason, event id, signed form,
//! secret index, duration) and never carry a secret, a signature, a query string or the body.

mod common;

use alert_relay::logging;
use alert_relay::providers::{Provider, SignedForm};
use common::*;
use serde_json::Value;

/// Text from the requests that must never reach a log line.
const BODY_MARKER: &str = "body-marker-7f3a";

/// At the levels an operator may set to debug a rejection, as well as the default.
#[tokio::test]
async fn logs_one_line_per_request_without_secrets_signatures_queries_or_bodies() {
    for level in ["trace", "debug", "info"] {
        check(level).await;
    }
}

async fn check(level: &str) {
    let capture = LogCapture::default();
    let writer = capture.clone();
    let _guard =
        tracing::subscriber::set_default(logging::subscriber_at(level, move || writer.clone()));
    tracing::callsite::rebuild_interest_cache();

    let (relay, _) = relay();
    let failing = quiet(config(), Failing);
    let body = format!(
        r#"{{"type":"open_anomaly_incident","note":"{BODY_MARKER}","payload":{{"incident_id":"i-1"}}}}"#
    );
    let mut requests = Vec::new();
    for provider in Provider::ALL {
        let wrong_secret = Http::signed(provider, "not-the-secret", &body, SignedForm::Raw);
        let garbled = Http::post(&format!("/webhooks/{}", provider.slug()), body.as_bytes())
            .header(
                provider.signature_header(),
                "Zm9yZ2VkLXNpZ25hdHVyZS12YWx1ZQ==",
            );
        let not_json = "not json ".to_owned() + BODY_MARKER;
        for secret in SECRETS {
            requests.push(Http::signed(provider, secret, &body, SignedForm::Raw));
        }
        requests.push(wrong_secret);
        requests.push(garbled);
        requests.push(Http::post(
            &format!("/webhooks/{}", provider.slug()),
            not_json,
        ));
    }
    let documented = Http::signed(
        Provider::MonteCarlo,
        SECRETS[1],
        &body,
        SignedForm::Documented,
    );
    requests.push(documented);
    requests.push(
        Http::post("/webhooks/app-services", body.as_bytes())
            .query(&format!("secret={QUERY_SECRET}")),
    );
    requests.push(
        Http::post("/webhooks/app-services", body.as_bytes()).query("token=query-guess-9d2c"),
    );
    requests.push(Http::post("/webhooks/unknown", body.as_bytes()));

    for request in &requests {
        send(&relay, &request.v2()).await;
    }
    send(&failing, &requests[0].v2()).await;
    let hostile = common::hostile::cases();
    let hostile_relay = quiet(common::hostile::config(), Recording::default());
    for case in &hostile {
        send(&hostile_relay, &case.event).await;
    }

    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let mut forbidden: Vec<String> = SECRETS.iter().map(|s| s.to_string()).collect();
    forbidden.extend([
        QUERY_SECRET.to_owned(),
        "query-guess-9d2c".into(),
        "secret=".into(),
        "token=".into(),
        BODY_MARKER.into(),
    ]);
    // Every signature header value sent, whatever its provider.
    for request in &requests {
        for (name, value) in &request.headers {
            if Provider::ALL
                .iter()
                .any(|p| p.signature_header().eq_ignore_ascii_case(name))
            {
                forbidden.push(value.clone());
            }
        }
    }
    // And every signature and query string of the hostile table (long enough not to be a word).
    for case in &hostile {
        for (name, value) in case.event["headers"].as_object().into_iter().flatten() {
            let value = value.as_str().unwrap_or_default().trim();
            let is_signature = Provider::ALL
                .iter()
                .any(|p| p.signature_header().eq_ignore_ascii_case(name));
            if is_signature && value.len() >= 12 {
                forbidden.push(value.to_owned());
            }
        }
        if let Some(query) = case.event["rawQueryString"]
            .as_str()
            .filter(|q| !q.is_empty())
        {
            forbidden.push(query.to_owned());
        }
    }
    assert!(
        forbidden.len() >= 18,
        "the leak check looks for every secret and signature"
    );
    for needle in &forbidden {
        assert!(
            !text.contains(needle.as_str()),
            "at {level}, a log line leaks {needle:?}:\n{text}"
        );
    }

    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("every log line is JSON"))
        .collect();
    let requests_logged: Vec<&Value> = lines.iter().filter(|l| l["message"] == "request").collect();
    assert_eq!(
        requests_logged.len(),
        requests.len() + 1 + hostile.len(),
        "one line per request"
    );
    let first = requests_logged[0];
    assert_eq!(first["provider"], "atlas");
    assert_eq!(first["outcome"], "published");
    assert_eq!(first["form"], "raw");
    assert_eq!(first["secret_index"], 0);
    assert_eq!(first["event_id"].as_str().unwrap().len(), 32);
    assert!(first["duration_us"].is_u64());
    assert!(
        requests_logged
            .iter()
            .any(|l| l["form"] == "documented" && l["secret_index"] == 1)
    );
    assert!(
        requests_logged
            .iter()
            .any(|l| l["reason"] == "signature_mismatch" && l["outcome"] == "rejected")
    );
    assert!(requests_logged.iter().any(|l| l["form"] == "query_secret"));
    assert!(
        requests_logged
            .iter()
            .any(|l| l["outcome"] == "failed" && l["reason"] == "sns_error")
    );

    // The function's own debug output stays available to whoever turns the level up: what each
    // request carried, by header name and size (the leak check above covers it too).
    let received: Vec<&Value> = lines
        .iter()
        .filter(|l| l["message"] == "received")
        .collect();
    if level == "info" {
        assert!(received.is_empty());
    } else {
        assert!(!received.is_empty(), "at {level}, no debug line");
        let signed = received
            .iter()
            .find(|l| l["provider"] == "atlas")
            .expect("an Atlas request");
        assert_eq!(signed["level"], "DEBUG");
        assert!(
            signed["headers"]
                .as_str()
                .unwrap()
                .contains("x-mms-signature")
        );
        assert!(signed["body_bytes"].as_u64().unwrap() > 0);
    }
}
