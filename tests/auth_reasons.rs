//! `AuthError::reason` and `code` are the words the function logs and answers: `alert-relay-sign
//! verify` reports them, so an operator can match its output to the function's log line.

mod common;

use std::sync::{Arc, Mutex};

use alert_relay::Relay;
use alert_relay::providers::{Inbound, Provider, SignedForm};
use common::*;
use lambda_http::RequestExt as _;
use serde_json::Value;

/// The reason the function logs (its EMF line), and the status and error it answers.
async fn logged(event: &Value) -> (u16, String, String) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let relay = Relay::new(config(), Recording::default()).with_metrics(Box::new(move |line| {
        sink.lock().unwrap().push(line.to_owned())
    }));
    let (status, body) = send(&relay, event).await;
    let doc: Value = serde_json::from_str(&lines.lock().unwrap()[0]).unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
        doc["reason"].as_str().unwrap_or_default().to_owned(),
    )
}

/// What `authenticate` says about the same event, read as the function reads it.
fn authenticated(provider: Provider, event: &Value) -> Result<(), (String, String)> {
    let request = request(event);
    let query: Vec<&str> = request
        .query_string_parameters_ref()
        .and_then(|q| q.all("secret"))
        .unwrap_or_default();
    let inbound = Inbound {
        headers: request.headers(),
        query_secrets: &query,
        body: request.body().as_ref(),
        received_at: time::OffsetDateTime::now_utc().unix_timestamp(),
    };
    provider
        .authenticate(config().provider(provider), inbound)
        .map(drop)
        .map_err(|e| (e.code().to_owned(), e.reason().to_owned()))
}

#[tokio::test]
async fn auth_error_words_are_the_logged_ones() {
    let wrong = Http::signed(
        Provider::Atlas,
        "test-wrong-secret",
        ATLAS_SEED,
        SignedForm::Raw,
    );
    let cases = [
        (
            Provider::Atlas,
            Http::post("/webhooks/atlas", ATLAS_SEED).v2(),
        ),
        (Provider::Atlas, wrong.v2()),
        (
            Provider::Atlas,
            Http::post("/webhooks/atlas", ATLAS_SEED)
                .header("X-MMS-Signature", "not base64!")
                .v2(),
        ),
        (
            Provider::AppServices,
            Http::post("/webhooks/app-services", APP_SERVICES_SEED)
                .header("X-Hook-Signature", "abcd")
                .v2(),
        ),
        (
            Provider::MonteCarlo,
            Http::post("/webhooks/monte-carlo", MC_VOLUME_SEED)
                .header("x-mcd-signature", "abcd")
                .v2(),
        ),
        (
            Provider::AppServices,
            Http::post("/webhooks/app-services", APP_SERVICES_SEED)
                .query("secret=test-wrong-secret")
                .v2(),
        ),
    ];
    let mut reasons = Vec::new();
    for (provider, event) in cases {
        let (status, error, reason) = logged(&event).await;
        assert_eq!(status, 401, "{event}");
        assert_eq!(
            authenticated(provider, &event),
            Err((error, reason.clone()))
        );
        reasons.push(reason);
    }
    assert_eq!(
        reasons,
        [
            "missing_signature",
            "signature_mismatch",
            "bad_encoding",
            "wrong_scheme",
            "wrong_length",
            "query_secret_mismatch"
        ]
    );
}

#[tokio::test]
async fn malformed_payload_reasons_are_the_logged_ones() {
    for body in ["[1, 2]", "{not json"] {
        let event = Http::signed(Provider::AppServices, SECRETS[0], body, SignedForm::Raw).v2();
        let (status, error, reason) = logged(&event).await;
        assert_eq!((status, error.as_str()), (400, "malformed_payload"));
        let request = request(&event);
        let expected = alert_relay::providers::parse_object(request.body().as_ref())
            .expect_err("not an object")
            .reason();
        assert_eq!(reason, expected);
    }
}
