//! The Atlas Admin API client against an in-process stand-in of Atlas on 127.0.0.1 (the OAuth token
//! endpoint and the alert configurations of `tests/data/atlas-alert-configs.json`, with faults):
//! what each failure answers, what is cached and for how long, the 429 back-off, one token for
//! many lookups, and one request for any number of concurrent lookups of one configuration.

#[path = "common/atlas_standin.rs"]
mod atlas_standin;

use std::net::TcpListener;
use std::time::Duration;

use alert_relay::Secret;
use alert_relay::alert::Severity;
use alert_relay::atlas_api::{AtlasApi, AtlasApiConfig, Lookup, Reason};
use alert_relay::pipeline::SeverityLookup;
use atlas_standin::*;
use tokio::time::Instant;

/// Moves tokio's clock forward (the stand-in runs on threads, outside it).
async fn advance(by: Duration) {
    tokio::time::pause();
    tokio::time::advance(by).await;
    tokio::time::resume();
}

fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

#[tokio::test]
async fn reads_the_configured_severity_with_one_token() {
    let atlas = StandIn::start();
    let api = atlas.api();
    assert_eq!(
        api.severity(GROUP, CRITICAL).await,
        Lookup::Found(Severity::Critical)
    );
    assert_eq!(
        api.severity(GROUP, WARNING).await,
        Lookup::Found(Severity::Warning)
    );
    assert_eq!(atlas.requests(), (1, 2));
    // Upper-case ids name the same configuration.
    assert_eq!(
        api.severity(&GROUP.to_uppercase(), &CRITICAL.to_uppercase())
            .await,
        Lookup::Found(Severity::Critical)
    );
    assert_eq!(atlas.requests(), (1, 2));
}

#[tokio::test]
async fn answers_the_normalize_stage_through_severity_lookup() {
    let atlas = StandIn::start();
    let lookup: Box<dyn SeverityLookup> = Box::new(atlas.api());
    assert_eq!(
        lookup.atlas_alert_config(GROUP, CRITICAL).await,
        Ok(Severity::Critical)
    );
    assert_eq!(
        lookup.atlas_alert_config(GROUP, NO_OVERRIDE).await,
        Err("no_override")
    );
    assert_eq!(
        lookup.atlas_alert_config(GROUP, MISSING).await,
        Err("not_found")
    );
}

#[tokio::test]
async fn each_fault_falls_back_with_its_reason() {
    let cases = [
        (Fault::None, NO_OVERRIDE, Reason::NoOverride),
        (Fault::None, MISSING, Reason::NotFound),
        (Fault::TokenRefused, CRITICAL, Reason::TokenRefused),
        (Fault::Status(401), CRITICAL, Reason::Unauthorized),
        (Fault::Status(403), CRITICAL, Reason::Forbidden),
        (Fault::Status(404), CRITICAL, Reason::NotFound),
        (Fault::Throttled(Some(1)), CRITICAL, Reason::Throttled),
        (Fault::Throttled(None), CRITICAL, Reason::Throttled),
        (Fault::Malformed, CRITICAL, Reason::Malformed),
        (Fault::Status(500), CRITICAL, Reason::Unavailable),
        (Fault::Status(503), CRITICAL, Reason::Unavailable),
        (Fault::Hang, CRITICAL, Reason::Timeout),
    ];
    for (fault, config_id, reason) in cases {
        let atlas = StandIn::start();
        atlas.fault(fault);
        let api = atlas.api_with_budget(Duration::from_millis(400));
        assert_eq!(
            api.severity(GROUP, config_id).await,
            Lookup::Fallback(reason),
            "{fault:?}"
        );
        let expected_config_requests = usize::from(fault != Fault::TokenRefused);
        assert_eq!(atlas.requests(), (1, expected_config_requests), "{fault:?}");
    }
}

#[tokio::test]
async fn an_unreachable_api_is_unavailable() {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let base_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let api = AtlasApi::new(AtlasApiConfig::new(
        base_url,
        CLIENT_ID,
        Secret::new(CLIENT_SECRET),
    ));
    assert_eq!(
        api.severity(GROUP, CRITICAL).await,
        Lookup::Fallback(Reason::Unavailable)
    );
}

#[tokio::test]
async fn ids_that_are_not_object_ids_make_no_request() {
    let atlas = StandIn::start();
    let api = atlas.api();
    let bad = [
        "",
        "5d1b6f8e8c2e4e2d3c4a5b6",
        "../../../orgs/5d1b6f8e8c2e4e",
        "5d1b6f8e8c2e4e2d3c4a5b6e/../../x",
        "5d1b6f8e8c2e4e2d3c4a5b6e?pretty=true",
        "5d1b6f8e8c2e4e2d3c4a5b6%",
        "zz1b6f8e8c2e4e2d3c4a5b6e",
    ];
    for id in bad {
        assert_eq!(
            api.severity(GROUP, id).await,
            Lookup::Fallback(Reason::Malformed),
            "{id:?}"
        );
        assert_eq!(
            api.severity(id, CRITICAL).await,
            Lookup::Fallback(Reason::Malformed),
            "{id:?}"
        );
    }
    assert_eq!(atlas.requests(), (0, 0));
}

#[tokio::test]
async fn a_429_stops_every_request_until_its_retry_after() {
    let atlas = StandIn::start();
    let api = atlas.api();
    atlas.fault(Fault::Throttled(Some(2)));
    assert_eq!(
        api.severity(GROUP, CRITICAL).await,
        Lookup::Fallback(Reason::Throttled)
    );
    assert_eq!(atlas.requests(), (1, 1));
    atlas.fault(Fault::None);
    // Another configuration, not cached: still no request while the back-off lasts.
    assert_eq!(
        api.severity(GROUP, WARNING).await,
        Lookup::Fallback(Reason::Throttled)
    );
    assert_eq!(
        api.severity(GROUP, CRITICAL).await,
        Lookup::Fallback(Reason::Throttled)
    );
    assert_eq!(atlas.requests(), (1, 1));
    advance(secs(3)).await;
    assert_eq!(
        api.severity(GROUP, WARNING).await,
        Lookup::Found(Severity::Warning)
    );
    assert_eq!(atlas.requests(), (1, 2));
}

#[tokio::test]
async fn a_429_without_retry_after_backs_off_thirty_seconds() {
    let atlas = StandIn::start();
    let api = atlas.api();
    atlas.fault(Fault::Throttled(None));
    assert_eq!(
        api.severity(GROUP, CRITICAL).await,
        Lookup::Fallback(Reason::Throttled)
    );
    atlas.fault(Fault::None);
    advance(secs(29)).await;
    assert_eq!(
        api.severity(GROUP, WARNING).await,
        Lookup::Fallback(Reason::Throttled)
    );
    assert_eq!(atlas.requests(), (1, 1));
    advance(secs(2)).await;
    assert_eq!(
        api.severity(GROUP, WARNING).await,
        Lookup::Found(Severity::Warning)
    );
    assert_eq!(atlas.requests(), (1, 2));
}

#[tokio::test]
async fn a_throttled_token_endpoint_backs_off_too() {
    let atlas = StandIn::start();
    let api = atlas.api();
    atlas.fault(Fault::TokenThrottled);
    for config_id in [CRITICAL, WARNING] {
        assert_eq!(
            api.severity(GROUP, config_id).await,
            Lookup::Fallback(Reason::Throttled)
        );
    }
    assert_eq!(atlas.requests(), (1, 0));
    atlas.fault(Fault::None);
    advance(secs(11)).await;
    assert_eq!(
        api.severity(GROUP, WARNING).await,
        Lookup::Found(Severity::Warning)
    );
    assert_eq!(atlas.requests(), (2, 1));
}

#[tokio::test]
async fn a_severity_is_reused_for_the_ttl() {
    let atlas = StandIn::start();
    let api = atlas.api();
    assert_eq!(
        api.severity(GROUP, CRITICAL).await,
        Lookup::Found(Severity::Critical)
    );
    advance(secs(299)).await;
    assert_eq!(
        api.severity(GROUP, CRITICAL).await,
        Lookup::Found(Severity::Critical)
    );
    assert_eq!(atlas.requests(), (1, 1));
    advance(secs(2)).await;
    assert_eq!(
        api.severity(GROUP, CRITICAL).await,
        Lookup::Found(Severity::Critical)
    );
    assert_eq!(atlas.requests(), (1, 2));
}

#[tokio::test]
async fn not_found_and_no_override_are_reused_for_the_negative_ttl() {
    let atlas = StandIn::start();
    let api = atlas.api();
    assert_eq!(
        api.severity(GROUP, MISSING).await,
        Lookup::Fallback(Reason::NotFound)
    );
    assert_eq!(
        api.severity(GROUP, NO_OVERRIDE).await,
        Lookup::Fallback(Reason::NoOverride)
    );
    advance(secs(59)).await;
    assert_eq!(
        api.severity(GROUP, MISSING).await,
        Lookup::Fallback(Reason::NotFound)
    );
    assert_eq!(
        api.severity(GROUP, NO_OVERRIDE).await,
        Lookup::Fallback(Reason::NoOverride)
    );
    assert_eq!(atlas.requests(), (1, 2));
    advance(secs(2)).await;
    api.severity(GROUP, MISSING).await;
    api.severity(GROUP, NO_OVERRIDE).await;
    assert_eq!(atlas.requests(), (1, 4));
}

#[tokio::test]
async fn a_transient_failure_is_reused_for_seconds_only() {
    let atlas = StandIn::start();
    let api = atlas.api();
    atlas.fault(Fault::Status(500));
    assert_eq!(
        api.severity(GROUP, CRITICAL).await,
        Lookup::Fallback(Reason::Unavailable)
    );
    assert_eq!(
        api.severity(GROUP, CRITICAL).await,
        Lookup::Fallback(Reason::Unavailable)
    );
    assert_eq!(atlas.requests(), (1, 1));
    atlas.fault(Fault::None);
    advance(secs(6)).await;
    assert_eq!(
        api.severity(GROUP, CRITICAL).await,
        Lookup::Found(Severity::Critical)
    );
    assert_eq!(atlas.requests(), (1, 2));
}

#[tokio::test]
async fn a_token_is_reused_until_a_minute_before_it_expires() {
    let atlas = StandIn::start();
    let api = atlas.api();
    api.severity(GROUP, CRITICAL).await;
    advance(secs(3530)).await;
    api.severity(GROUP, WARNING).await;
    assert_eq!(atlas.requests(), (1, 2));
    advance(secs(20)).await;
    api.severity(GROUP, NO_OVERRIDE).await;
    assert_eq!(atlas.requests(), (2, 3));
}

#[tokio::test]
async fn a_short_lived_token_is_replaced_at_half_its_life() {
    let atlas = StandIn::start();
    atlas.expires_in(100);
    let api = atlas.api();
    api.severity(GROUP, CRITICAL).await;
    advance(secs(49)).await;
    api.severity(GROUP, WARNING).await;
    assert_eq!(atlas.requests(), (1, 2));
    advance(secs(2)).await;
    api.severity(GROUP, NO_OVERRIDE).await;
    assert_eq!(atlas.requests(), (2, 3));
}

#[tokio::test]
async fn a_token_the_api_refuses_is_replaced() {
    let atlas = StandIn::start();
    let api = atlas.api();
    assert_eq!(
        api.severity(GROUP, CRITICAL).await,
        Lookup::Found(Severity::Critical)
    );
    atlas.revoke_tokens();
    assert_eq!(
        api.severity(GROUP, WARNING).await,
        Lookup::Fallback(Reason::Unauthorized)
    );
    assert_eq!(atlas.requests(), (1, 2));
    assert_eq!(
        api.severity(GROUP, NO_OVERRIDE).await,
        Lookup::Fallback(Reason::NoOverride)
    );
    assert_eq!(atlas.requests(), (2, 3));
}

#[tokio::test]
async fn a_refused_token_is_not_asked_for_again_at_once() {
    let atlas = StandIn::start();
    let api = atlas.api();
    atlas.fault(Fault::TokenRefused);
    for config_id in [CRITICAL, WARNING, NO_OVERRIDE] {
        assert_eq!(
            api.severity(GROUP, config_id).await,
            Lookup::Fallback(Reason::TokenRefused)
        );
    }
    assert_eq!(atlas.requests(), (1, 0));
    atlas.fault(Fault::None);
    advance(secs(6)).await;
    assert_eq!(
        api.severity(GROUP, CRITICAL).await,
        Lookup::Found(Severity::Critical)
    );
    assert_eq!(atlas.requests(), (2, 1));
}

/// `n` lookups of one configuration at once, each its own task.
async fn wave(api: &AtlasApi, config_id: &'static str, n: usize) -> Vec<Lookup> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let api = api.clone();
            tokio::spawn(async move { api.severity(GROUP, config_id).await })
        })
        .collect();
    let mut lookups = Vec::new();
    for task in tasks {
        lookups.push(task.await.unwrap());
    }
    lookups
}

async fn one_request_for_concurrent_lookups() {
    let atlas = StandIn::start();
    atlas.delay(Duration::from_millis(150));
    let api = atlas.api();
    let first = wave(&api, CRITICAL, 20).await;
    assert!(
        first
            .iter()
            .all(|l| *l == Lookup::Found(Severity::Critical))
    );
    assert_eq!(atlas.requests(), (1, 1));
    let second = wave(&api, CRITICAL, 20).await;
    assert!(
        second
            .iter()
            .all(|l| *l == Lookup::Found(Severity::Critical))
    );
    assert_eq!(atlas.requests(), (1, 1));
}

#[tokio::test]
async fn concurrent_lookups_of_one_configuration_make_one_request() {
    one_request_for_concurrent_lookups().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_lookups_make_one_request_on_a_multi_thread_runtime() {
    one_request_for_concurrent_lookups().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_lookups_of_different_configurations_share_one_token() {
    let atlas = StandIn::start();
    atlas.delay(Duration::from_millis(150));
    let api = atlas.api();
    let tasks: Vec<_> = [CRITICAL, WARNING, NO_OVERRIDE, MISSING]
        .into_iter()
        .cycle()
        .take(20)
        .map(|config_id| {
            let api = api.clone();
            tokio::spawn(async move { api.severity(GROUP, config_id).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(atlas.requests(), (1, 4));
}

/// `took`, read on tokio's paused clock, is `expected` (its timers round up to the millisecond).
fn on_the_clock(took: Duration, expected: Duration) {
    assert!(
        took >= expected && took <= expected + Duration::from_millis(2),
        "took {took:?} on the clock, not {expected:?}"
    );
}

/// Waits (on the real clock: the stand-in runs on threads) until the stand-in has counted
/// `expected` requests, then checks it counts no more.
fn settles_at(atlas: &StandIn, expected: (usize, usize)) {
    for _ in 0..200 {
        if atlas.requests() == expected {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(atlas.requests(), expected);
}

/// On tokio's paused clock, after a first lookup has fetched the token: the budget alone ends
/// the lookups waiting on a hanging request, each at its own deadline, and they make no request
/// of their own.
#[tokio::test]
async fn a_waiting_lookup_keeps_to_its_own_budget() {
    let atlas = StandIn::start();
    let api = atlas.api_with_budget(Duration::from_millis(300));
    assert_eq!(
        api.severity(GROUP, WARNING).await,
        Lookup::Found(Severity::Warning)
    );
    atlas.fault(Fault::Hang);
    tokio::time::pause();
    let started = Instant::now();
    let lookups = wave(&api, CRITICAL, 5).await;
    on_the_clock(started.elapsed(), Duration::from_millis(300));
    assert!(
        lookups
            .iter()
            .all(|l| *l == Lookup::Fallback(Reason::Timeout))
    );
    tokio::time::resume();
    settles_at(&atlas, (1, 2));
}

/// The budget, on tokio's paused clock: a hanging API is given up at exactly the budget.
#[tokio::test(start_paused = true)]
async fn a_hanging_api_is_given_up_at_the_budget() {
    let atlas = StandIn::start();
    atlas.fault(Fault::Hang);
    let api = atlas.api_with_budget(Duration::from_millis(400));
    let started = Instant::now();
    assert_eq!(
        api.severity(GROUP, CRITICAL).await,
        Lookup::Fallback(Reason::Timeout)
    );
    on_the_clock(started.elapsed(), Duration::from_millis(400));
}

/// docs/severity.md: a `Retry-After` is honoured for 15 minutes at most, however long it asks.
#[tokio::test]
async fn a_retry_after_is_believed_for_fifteen_minutes_at_most() {
    let atlas = StandIn::start();
    let api = atlas.api();
    atlas.fault(Fault::Throttled(Some(24 * 60 * 60)));
    assert_eq!(
        api.severity(GROUP, CRITICAL).await,
        Lookup::Fallback(Reason::Throttled)
    );
    atlas.fault(Fault::None);
    advance(secs(15 * 60 - 1)).await;
    assert_eq!(
        api.severity(GROUP, WARNING).await,
        Lookup::Fallback(Reason::Throttled)
    );
    assert_eq!(atlas.requests(), (1, 1));
    advance(secs(2)).await;
    assert_eq!(
        api.severity(GROUP, WARNING).await,
        Lookup::Found(Severity::Warning)
    );
    assert_eq!(atlas.requests(), (1, 2));
}

/// docs/severity.md: a 403 (no access to the project) is remembered for 1 minute, as a 404 is.
#[tokio::test]
async fn a_forbidden_configuration_is_reused_for_one_minute() {
    let atlas = StandIn::start();
    let api = atlas.api();
    atlas.fault(Fault::Status(403));
    let forbidden = Lookup::Fallback(Reason::Forbidden);
    assert_eq!(api.severity(GROUP, CRITICAL).await, forbidden);
    atlas.fault(Fault::None);
    advance(secs(59)).await;
    assert_eq!(api.severity(GROUP, CRITICAL).await, forbidden);
    assert_eq!(atlas.requests(), (1, 1));
    advance(secs(2)).await;
    assert_eq!(
        api.severity(GROUP, CRITICAL).await,
        Lookup::Found(Severity::Critical)
    );
    assert_eq!(atlas.requests(), (1, 2));
}

/// docs/severity.md: a transient failure (here a 5xx) stands for 5 seconds, not a minute.
#[tokio::test]
async fn a_transient_failure_stands_five_seconds() {
    let atlas = StandIn::start();
    let api = atlas.api();
    atlas.fault(Fault::Status(503));
    let unavailable = Lookup::Fallback(Reason::Unavailable);
    assert_eq!(api.severity(GROUP, CRITICAL).await, unavailable);
    atlas.fault(Fault::None);
    advance(Duration::from_millis(4900)).await;
    assert_eq!(api.severity(GROUP, CRITICAL).await, unavailable);
    assert_eq!(atlas.requests(), (1, 1));
    advance(Duration::from_millis(200)).await;
    assert_eq!(
        api.severity(GROUP, CRITICAL).await,
        Lookup::Found(Severity::Critical)
    );
    assert_eq!(atlas.requests(), (1, 2));
}

// Issue 21.

/// A token said to live `u64::MAX` seconds is used (its life clamped), not a panic.
#[tokio::test]
async fn a_token_that_lives_forever_is_clamped_not_a_panic() {
    let atlas = StandIn::start();
    atlas.expires_in(u64::MAX);
    let api = atlas.api();
    for _ in 0..2 {
        assert_eq!(
            api.severity(GROUP, CRITICAL).await,
            Lookup::Found(Severity::Critical)
        );
    }
    assert_eq!(atlas.requests(), (1, 1));
    // Clamped to a day: it is replaced then, not never.
    advance(secs(24 * 3600)).await;
    assert_eq!(
        api.severity(GROUP, CRITICAL).await,
        Lookup::Found(Severity::Critical)
    );
    assert_eq!(atlas.requests(), (2, 2));
}

/// The cache holds at most `MAX_ENTRIES` configurations, however many fresh answers there are:
/// past it, the oldest goes.
#[tokio::test]
async fn the_cache_is_bounded_by_count_and_drops_the_oldest() {
    let atlas = StandIn::start();
    let api = atlas.api();
    let max = alert_relay::atlas_api::MAX_ENTRIES;
    let id = |n: usize| format!("{n:024x}");
    for n in 0..max + 20 {
        // Unknown to the stand-in: "not found", cached for the negative ttl.
        assert_eq!(
            api.severity(GROUP, &id(n)).await,
            Lookup::Fallback(Reason::NotFound)
        );
    }
    assert_eq!(api.cached(), max);
    let asked = atlas.requests().1;
    assert_eq!(asked, max + 20);
    // The newest are still cached; the oldest are asked for again.
    api.severity(GROUP, &id(max + 19)).await;
    assert_eq!(atlas.requests().1, asked);
    api.severity(GROUP, &id(0)).await;
    assert_eq!(atlas.requests().1, asked + 1);
    assert_eq!(api.cached(), max);
}
