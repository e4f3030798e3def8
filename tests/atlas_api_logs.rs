//! The Atlas Admin API client's log: one warning per failed request, with the reason, the ids and
//! the status, never the client secret, the Basic credentials or the access token. A binary of its
//! own: its log subscriber is the only one, so no other test's callsites interfere.

#[path = "common/atlas_standin.rs"]
mod atlas_standin;
mod common;

use alert_relay::alert::Severity;
use alert_relay::atlas_api::{Lookup, Reason};
use alert_relay::logging;
use atlas_standin::*;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::LogCapture;
use serde_json::Value;

#[tokio::test]
async fn neither_debug_nor_logs_show_the_secret_or_the_token() {
    let atlas = StandIn::start();
    let api = atlas.api();
    for shown in [format!("{api:?}"), format!("{:?}", atlas.config())] {
        assert!(shown.contains(CLIENT_ID), "{shown}");
        assert!(!shown.contains(CLIENT_SECRET), "{shown}");
    }

    let capture = LogCapture::default();
    let writer = capture.clone();
    let _guard =
        tracing::subscriber::set_default(logging::subscriber_at("trace", move || writer.clone()));
    tracing::callsite::rebuild_interest_cache();
    assert_eq!(
        api.severity(GROUP, CRITICAL).await,
        Lookup::Found(Severity::Critical)
    );
    atlas.fault(Fault::Status(503));
    for _ in 0..3 {
        assert_eq!(
            api.severity(GROUP, WARNING).await,
            Lookup::Fallback(Reason::Unavailable)
        );
    }
    let logs = capture.text();
    for hidden in [
        CLIENT_SECRET,
        TOKEN_PREFIX,
        &STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}")),
    ] {
        assert!(!logs.contains(hidden), "{hidden} in {logs}");
    }
    // The failed request is logged once; the cached fallbacks after it are not.
    let warnings: Vec<Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["level"] == "WARN")
        .collect();
    assert_eq!(warnings.len(), 1, "{logs}");
    let warning = &warnings[0];
    assert_eq!(warning["reason"], "unavailable");
    assert_eq!(warning["group_id"], GROUP);
    assert_eq!(warning["alert_config_id"], WARNING);
    assert_eq!(warning["status"], 503);
}
