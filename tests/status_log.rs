//! Atlas signs its body but not `X-MMS-Event`: when the header contradicts the body's `status`,
//! the body wins and the request's log line says so. A binary of its own: its log subscriber is
//! the only one, so no other test's callsites interfere.

mod common;

use alert_relay::providers::{Provider, SignedForm};
use alert_relay::{Relay, logging};
use common::*;
use serde_json::Value;

fn request_line(log: &str) -> Value {
    log.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["message"] == "request")
        .unwrap_or_else(|| panic!("no request line in {log}"))
}

/// A relay publishing to `recording`, logging into the capture while the guard lives.
fn logged_relay(
    recording: &Recording,
) -> (
    LogCapture,
    tracing::subscriber::DefaultGuard,
    Relay<Recording>,
) {
    let capture = LogCapture::default();
    let writer = capture.clone();
    let guard = tracing::subscriber::set_default(logging::subscriber(move || writer.clone()));
    let relay = Relay::new(config(), recording.clone()).with_metrics(Box::new(|_| {}));
    (capture, guard, relay)
}

#[tokio::test]
async fn a_header_the_body_contradicts_is_overruled_and_logged() {
    let recording = Recording::default();
    let (capture, _guard, relay) = logged_relay(&recording);

    // The seed's status is OPEN; the unsigned header claims the alert closed.
    let request = Http::signed(
        Provider::Atlas,
        SECRETS[0],
        seed(Provider::Atlas),
        SignedForm::Raw,
    )
    .replace_header("X-MMS-Event", "alert.close");
    let (status, _) = send(&relay, &request.v2()).await;
    assert_eq!(status, 200);
    let event: Value = serde_json::from_str(&recording.messages()[0].protocol("default")).unwrap();
    assert_eq!(event["data"]["status"], "open");
    assert_eq!(
        request_line(&capture.text())["status_note"],
        "header alert.close contradicts body status OPEN; body wins"
    );
}

#[tokio::test]
async fn a_header_that_agrees_leaves_no_note() {
    let (capture, _guard, relay) = logged_relay(&Recording::default());

    let request = Http::signed(
        Provider::Atlas,
        SECRETS[0],
        seed(Provider::Atlas),
        SignedForm::Raw,
    )
    .replace_header("X-MMS-Event", "alert.update");
    let (status, _) = send(&relay, &request.v2()).await;
    assert_eq!(status, 200);
    assert_eq!(request_line(&capture.text()).get("status_note"), None);
}

#[tokio::test]
async fn an_acknowledge_header_needs_the_acknowledgement_in_the_body() {
    let (capture, _guard, relay) = logged_relay(&Recording::default());

    // A captured open alert replayed as acknowledged: the signed body has no acknowledgement.
    let request = Http::signed(
        Provider::Atlas,
        SECRETS[0],
        seed(Provider::Atlas),
        SignedForm::Raw,
    )
    .replace_header("X-MMS-Event", "alert.acknowledge");
    let (status, body) = send(&relay, &request.v2()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        request_line(&capture.text())["status_note"],
        "header alert.acknowledge contradicts body status OPEN with no acknowledgement; body wins"
    );

    // Atlas's own acknowledged alert: OPEN, with who acknowledged it and until when.
    let mut seed: serde_json::Value = serde_json::from_str(seed(Provider::Atlas)).unwrap();
    seed["acknowledgingUsername"] = "oncall@example.com".into();
    seed["acknowledgedUntil"] = "2024-01-16T10:30:00Z".into();
    let acknowledged = seed.to_string();
    let request = Http::signed(Provider::Atlas, SECRETS[0], &acknowledged, SignedForm::Raw)
        .replace_header("X-MMS-Event", "alert.acknowledge");
    let before = capture.text().len();
    let (status, _) = send(&relay, &request.v2()).await;
    assert_eq!(status, 200);
    assert_eq!(
        request_line(&capture.text()[before..]).get("status_note"),
        None
    );
}
