//! The contract's one answer for a bug of ours: 500 `{"error":"internal_error"}`, nothing
//! published. It comes from `Unreadable::Event`: an event that cannot be built. Every field a
//! request sets is bounded by then (a parsed RFC 3339 time always formats again), so the way in is
//! the one input that is not the request's: the clock that dates an alert without a time of its
//! own. A clock before year 0 has no RFC 3339 form, `Event::new` fails with `EventError::Time`.

mod common;

use std::sync::{Arc, Mutex};

use alert_relay::Relay;
use alert_relay::providers::{Provider, SignedForm};
use common::*;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// A day before 0000-01-01 (ISO year -2): representable, but RFC 3339 has years 0000 to 9999 only.
fn before_year_zero() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(-62_200_000_000).unwrap()
}

#[tokio::test]
async fn an_event_that_cannot_be_built_is_500_internal_error_and_publishes_nothing() {
    assert!(before_year_zero().year() < 0);
    let recording = Recording::default();
    let metrics = Arc::new(Mutex::new(Vec::new()));
    let sink = metrics.clone();
    let relay = Relay::new(config(), recording.clone())
        .with_metrics(Box::new(move |line| {
            sink.lock().unwrap().push(line.to_owned())
        }))
        .with_clock(before_year_zero);
    // App Services' documented example carries no time: the clock dates it.
    let request = Http::signed(
        Provider::AppServices,
        SECRETS[0],
        APP_SERVICES_SEED,
        SignedForm::Raw,
    );
    let answer = send(&relay, &request.v2()).await;
    assert_eq!(answer, (500, json!({"error": "internal_error"})));
    assert!(
        recording.messages().is_empty(),
        "an internal error published"
    );
    // Counted with the failures that are ours (the PublishFailed alarm), not as a rejection.
    let lines = metrics.lock().unwrap();
    let [line] = lines.as_slice() else {
        panic!("one metrics line per request: {lines:?}")
    };
    let line: Value = serde_json::from_str(line).unwrap();
    assert_eq!(
        (&line["publish_failed"], &line["rejected"]),
        (&json!(1), &Value::Null),
        "{line}"
    );
}

#[tokio::test]
async fn the_same_clock_dates_nothing_when_the_alert_has_its_own_time() {
    // The control: with a time of its own, the alert never reads the clock and is published.
    let recording = Recording::default();
    let relay = quiet(config(), recording.clone()).with_clock(before_year_zero);
    let body = r#"{"message":"MESSAGE","timestamp":"2024-01-15T10:30:00Z"}"#;
    let request = Http::signed(Provider::AppServices, SECRETS[0], body, SignedForm::Raw);
    let (status, body) = send(&relay, &request.v2()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(recording.messages().len(), 1);
}
