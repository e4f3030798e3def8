//! The alert-state decision as a state machine: tables of whole alert lives, and properties over
//! any sequence of events (no AWS: `state::decide` is pure).

use alert_relay::alert::{Severity, Status};
use alert_relay::state::{
    AlertState, Decision, Incoming, Millis, Notify, Policy, Reason, Silenced, Stored, Target,
    Verdict, decide,
};
use proptest::prelude::*;

const MIN: Millis = 60_000;
const DEADLINE: Millis = 10_000;

/// A target as the tests configure it: its key, policy and filter (over status and severity).
struct Route {
    key: &'static str,
    policy: Policy,
    filter: fn(Status, Severity) -> bool,
}

fn every_alert(_: Status, _: Severity) -> bool {
    true
}

fn paging_filter(_: Status, severity: Severity) -> bool {
    matches!(severity, Severity::Critical | Severity::Error)
}

fn chat_filter(status: Status, _: Severity) -> bool {
    status != Status::Informational
}

/// `docs/routes.md`'s routes: the default topic, paging (critical|error, repeat after an hour),
/// chat (not informational), and an audit trail that wants every event.
fn routes() -> Vec<Route> {
    vec![
        Route {
            key: "default",
            policy: Policy::default(),
            filter: every_alert,
        },
        Route {
            key: "paging",
            policy: Policy {
                notify: Notify::Changes,
                repeat_after: Some(60 * MIN),
            },
            filter: paging_filter,
        },
        Route {
            key: "chat",
            policy: Policy::default(),
            filter: chat_filter,
        },
        Route {
            key: "audit",
            policy: Policy {
                notify: Notify::Every,
                repeat_after: None,
            },
            filter: every_alert,
        },
    ]
}

/// One webhook of the alert.
#[derive(Debug, Clone)]
struct Hook {
    id: String,
    status: Status,
    severity: Severity,
    updated_at: Option<Millis>,
    now: Millis,
}

fn hook(id: &str, status: Status, severity: Severity, minute: i64) -> Hook {
    Hook {
        id: id.into(),
        status,
        severity,
        updated_at: Some(minute * MIN),
        now: minute * MIN + 1_000,
    }
}

/// The alert's table row, kept between events as the store would.
#[derive(Default)]
struct Alert {
    stored: Option<Stored>,
}

/// What one event did: each route's decision by key.
#[derive(Debug)]
struct Step {
    decisions: Vec<(&'static str, String)>,
    lifecycle: alert_relay::state::Lifecycle,
}

impl Step {
    fn of(&self, key: &str) -> &str {
        &self.decisions.iter().find(|(k, _)| *k == key).unwrap().1
    }

    fn notified(&self) -> Vec<&'static str> {
        self.decisions
            .iter()
            .filter(|(_, d)| d.starts_with("notify"))
            .map(|(k, _)| *k)
            .collect()
    }
}

fn label(decision: &Decision) -> String {
    match decision {
        Decision::Notify(why) => format!("notify:{why:?}").to_lowercase(),
        Decision::Suppress(Reason::Silenced(id)) => format!("silenced:{id}"),
        Decision::Suppress(reason) => reason.label().to_owned(),
        Decision::NotRouted => "-".to_owned(),
    }
}

impl Alert {
    /// Decides `hook` for `routes`, then completes its claim (the publish succeeded).
    fn apply(&mut self, routes: &[Route], hook: &Hook, silences: &[Silenced]) -> Step {
        let step = self.decide(routes, hook, silences);
        if let Some(stored) = &mut self.stored {
            stored.complete(&hook.id);
        }
        step
    }

    /// Decides `hook` and stores the result, leaving a claim in place (a crash before publishing).
    fn decide(&mut self, routes: &[Route], hook: &Hook, silences: &[Silenced]) -> Step {
        let targets: Vec<Target> = routes
            .iter()
            .map(|r| Target {
                key: r.key,
                policy: r.policy,
                matches: (r.filter)(hook.status, hook.severity),
            })
            .collect();
        let incoming = Incoming {
            event_id: &hook.id,
            status: hook.status,
            severity: hook.severity,
            updated_at: hook.updated_at,
            now: hook.now,
            wall: hook.now,
        };
        match decide(
            self.stored.as_ref(),
            incoming,
            &targets,
            silences,
            hook.now + DEADLINE,
        ) {
            Verdict::Decided {
                decisions,
                next,
                lifecycle,
            } => {
                self.stored = Some(*next);
                Step {
                    decisions: routes
                        .iter()
                        .map(|r| r.key)
                        .zip(decisions.iter().map(label))
                        .collect(),
                    lifecycle,
                }
            }
            Verdict::InProgress { until } => panic!("in progress until {until}"),
        }
    }
}

/// One Atlas HOST_DOWN alert open for 90 minutes (Atlas re-notifies every 15), acknowledged,
/// resolved, its close retried, then reopened: the 11 webhooks.
fn host_down_life() -> Vec<Hook> {
    let mut hooks = vec![hook("open", Status::Open, Severity::Critical, 0)];
    for n in 1..=6 {
        hooks.push(hook(
            &format!("renotify-{n}"),
            Status::Updated,
            Severity::Critical,
            15 * n,
        ));
    }
    hooks.push(hook("ack", Status::Acknowledged, Severity::Critical, 95));
    hooks.push(hook("close", Status::Resolved, Severity::Info, 100));
    let mut retried = hook("close", Status::Resolved, Severity::Info, 100);
    retried.now += 30_000;
    hooks.push(retried);
    hooks.push(hook("reopen", Status::Open, Severity::Critical, 110));
    hooks
}

#[test]
fn an_atlas_alert_open_for_90_minutes_pages_five_times_and_chats_four() {
    let routes = routes();
    let mut alert = Alert::default();
    let steps: Vec<Step> = host_down_life()
        .iter()
        .map(|h| alert.apply(&routes, h, &[]))
        .collect();
    let count = |key: &str| {
        steps
            .iter()
            .filter(|s| s.of(key).starts_with("notify"))
            .count()
    };
    assert_eq!(count("paging"), 5, "{steps:#?}");
    assert_eq!(count("chat"), 4, "{steps:#?}");
    assert_eq!(count("default"), 4, "{steps:#?}");
    assert_eq!(
        count("audit"),
        10,
        "every event but the duplicate: {steps:#?}"
    );

    let by_id = |i: usize| &steps[i];
    assert_eq!(by_id(0).of("paging"), "notify:change");
    assert_eq!(by_id(1).of("paging"), "unchanged");
    assert_eq!(
        by_id(4).of("paging"),
        "notify:repeat",
        "an hour after the open"
    );
    assert_eq!(
        by_id(5).of("paging"),
        "unchanged",
        "the repeat restarts the hour"
    );
    assert_eq!(by_id(7).of("paging"), "notify:change");
    assert_eq!(
        by_id(8).of("paging"),
        "notify:followthrough",
        "the close is info, but paging was told of the open"
    );
    assert_eq!(by_id(8).of("chat"), "notify:change");
    assert_eq!(by_id(9).notified(), Vec::<&str>::new());
    assert_eq!(by_id(9).of("default"), "duplicate");
    assert_eq!(
        by_id(10).of("paging"),
        "notify:change",
        "a reopen is a new episode"
    );

    let resolved = &by_id(8).lifecycle;
    assert_eq!(resolved.duration, Some(100 * MIN));
    assert_eq!(resolved.count, 9);
    assert_eq!(resolved.previous_status, Some(AlertState::Acknowledged));
    assert_eq!(resolved.opened_event_id.as_deref(), Some("open"));
    let reopened = &by_id(10).lifecycle;
    assert_eq!(reopened.opened_event_id.as_deref(), Some("reopen"));
    assert_eq!(reopened.opened_at, Some(110 * MIN + 1_000));
    assert_eq!(reopened.duration, None);
    assert_eq!(reopened.count, 10, "the duplicate is not counted");
    assert_eq!(by_id(0).lifecycle.previous_status, None);
}

#[test]
fn a_rise_in_severity_always_notifies() {
    let routes = routes();
    let mut alert = Alert::default();
    alert.apply(&routes, &hook("a", Status::Open, Severity::Warning, 0), &[]);
    let step = alert.apply(
        &routes,
        &hook("b", Status::Updated, Severity::Critical, 5),
        &[],
    );
    assert_eq!(step.of("default"), "notify:escalation");
    assert_eq!(step.of("paging"), "notify:change", "new to paging");
    assert_eq!(step.of("chat"), "notify:escalation");
    let step = alert.apply(
        &routes,
        &hook("c", Status::Updated, Severity::Warning, 10),
        &[],
    );
    assert_eq!(
        step.of("default"),
        "notify:change",
        "a drop is a change too"
    );
    assert_eq!(
        step.of("paging"),
        "-",
        "paging's filter no longer matches an open warning"
    );
}

#[test]
fn a_stale_event_changes_nothing_and_reaches_only_every_targets() {
    let routes = routes();
    let mut alert = Alert::default();
    alert.apply(
        &routes,
        &hook("open", Status::Open, Severity::Critical, 0),
        &[],
    );
    alert.apply(
        &routes,
        &hook("close", Status::Resolved, Severity::Critical, 20),
        &[],
    );
    let mut late = hook("update", Status::Updated, Severity::Error, 10);
    late.now = 21 * MIN;
    let step = alert.apply(&routes, &late, &[]);
    assert_eq!(step.of("default"), "stale");
    assert_eq!(step.of("paging"), "stale");
    assert_eq!(step.of("audit"), "notify:every");
    let stored = alert.stored.as_ref().unwrap();
    assert_eq!(stored.state, AlertState::Resolved);
    assert_eq!(stored.severity, Severity::Critical);
    assert_eq!(stored.count, 3);
}

#[test]
fn without_an_update_time_arrival_order_decides() {
    let routes = routes();
    let mut alert = Alert::default();
    let mut open = hook("open", Status::Open, Severity::Error, 0);
    open.updated_at = None;
    let mut close = hook("close", Status::Resolved, Severity::Error, 5);
    close.updated_at = None;
    let mut late = hook("late", Status::Updated, Severity::Error, 1);
    late.updated_at = None;
    late.now = 6 * MIN;
    alert.apply(&routes, &open, &[]);
    alert.apply(&routes, &close, &[]);
    let step = alert.apply(&routes, &late, &[]);
    assert_eq!(
        step.of("default"),
        "unchanged",
        "updated keeps the resolved state"
    );
}

#[test]
fn a_claim_in_progress_answers_in_progress_and_a_crashed_one_is_taken_over() {
    let routes = routes();
    let mut alert = Alert::default();
    let open = hook("open", Status::Open, Severity::Critical, 0);
    let first = alert.decide(&routes, &open, &[]);
    assert_eq!(first.notified(), ["default", "paging", "chat", "audit"]);
    assert!(alert.stored.as_ref().unwrap().is_claimed("open"));

    // Another delivery while the first instance publishes.
    let targets: Vec<Target> = routes
        .iter()
        .map(|r| Target {
            key: r.key,
            policy: r.policy,
            matches: true,
        })
        .collect();
    let incoming = Incoming {
        event_id: "open",
        status: Status::Open,
        severity: Severity::Critical,
        updated_at: open.updated_at,
        now: open.now + 2_000,
        wall: open.now + 2_000,
    };
    let verdict = decide(alert.stored.as_ref(), incoming, &targets, &[], 0);
    assert_eq!(
        verdict,
        Verdict::InProgress {
            until: open.now + DEADLINE
        }
    );

    // The first instance crashed; the sender retries after the deadline.
    let mut retried = open.clone();
    retried.now += DEADLINE + 1;
    let step = alert.apply(&routes, &retried, &[]);
    assert_eq!(
        step.notified(),
        ["default", "paging", "chat", "audit"],
        "a crash never turns a retry into a duplicate: {step:?}"
    );
    assert!(step.decisions.iter().all(|(_, d)| d == "notify:retry"));
    assert!(!alert.stored.as_ref().unwrap().is_claimed("open"));
    let again = alert.apply(&routes, &retried, &[]);
    assert!(again.decisions.iter().all(|(_, d)| d == "duplicate"));
}

#[test]
fn silences_hold_back_changes_but_not_the_end_of_a_page() {
    let routes = routes();
    let mut alert = Alert::default();
    alert.apply(
        &routes,
        &hook("open", Status::Open, Severity::Critical, 0),
        &[],
    );
    let silence = [Silenced {
        id: "s-1",
        starts_at: 5 * MIN,
    }];
    let step = alert.apply(
        &routes,
        &hook("up", Status::Updated, Severity::Error, 10),
        &silence,
    );
    assert_eq!(step.of("default"), "silenced:s-1");
    assert_eq!(
        step.of("audit"),
        "notify:every",
        "every targets still get it"
    );
    let step = alert.apply(
        &routes,
        &hook("close", Status::Resolved, Severity::Info, 20),
        &silence,
    );
    assert_eq!(
        step.of("paging"),
        "notify:followthrough",
        "told of the open before the silence"
    );
    assert_eq!(step.of("default"), "notify:change");
}

#[test]
fn an_alert_opened_during_a_silence_is_told_at_its_next_event_after_it() {
    let routes = routes();
    let mut alert = Alert::default();
    let silence = [Silenced {
        id: "s-1",
        starts_at: 0,
    }];
    let step = alert.apply(
        &routes,
        &hook("open", Status::Open, Severity::Critical, 1),
        &silence,
    );
    assert_eq!(step.of("paging"), "silenced:s-1");
    let step = alert.apply(
        &routes,
        &hook("close", Status::Resolved, Severity::Critical, 2),
        &silence,
    );
    assert_eq!(
        step.of("paging"),
        "silenced:s-1",
        "never told of the open: nothing to close"
    );
    let mut alert = Alert::default();
    alert.apply(
        &routes,
        &hook("open", Status::Open, Severity::Critical, 1),
        &silence,
    );
    let step = alert.apply(
        &routes,
        &hook("up", Status::Updated, Severity::Critical, 60),
        &[],
    );
    assert_eq!(
        step.of("paging"),
        "notify:change",
        "after the silence, still open"
    );
}

#[test]
fn informational_events_are_told_once() {
    let routes = routes();
    let mut alert = Alert::default();
    let step = alert.apply(
        &routes,
        &hook("i", Status::Informational, Severity::Info, 0),
        &[],
    );
    assert_eq!(step.of("default"), "notify:change");
    assert_eq!(step.of("chat"), "-");
    assert_eq!(
        step.lifecycle.opened_at, None,
        "an informational event opens no episode"
    );
}

// ---- properties ----

fn status() -> impl Strategy<Value = Status> {
    prop_oneof![
        Just(Status::Open),
        Just(Status::Updated),
        Just(Status::Acknowledged),
        Just(Status::Resolved),
        Just(Status::Cancelled),
        Just(Status::Informational),
    ]
}

fn severity() -> impl Strategy<Value = Severity> {
    prop_oneof![
        Just(Severity::Critical),
        Just(Severity::Error),
        Just(Severity::Warning),
        Just(Severity::Info),
        Just(Severity::Unknown),
    ]
}

/// Events with distinct ids and update times (a permutation of minutes), arriving in order.
fn hooks(max: usize) -> impl Strategy<Value = Vec<Hook>> {
    prop::collection::vec((status(), severity(), any::<bool>()), 1..max).prop_flat_map(|events| {
        let n = events.len();
        (
            Just(events),
            Just((0..n as i64).collect::<Vec<_>>()).prop_shuffle(),
        )
            .prop_map(|(events, minutes)| {
                events
                    .into_iter()
                    .zip(minutes)
                    .enumerate()
                    .map(|(i, ((status, severity, timed), minute))| Hook {
                        id: format!("e{minute}"),
                        status,
                        severity,
                        updated_at: timed.then_some(minute * MIN),
                        now: (i as i64) * MIN,
                    })
                    .collect()
            })
    })
}

/// Changes-only routes without repeats: any notification must be a change.
fn change_routes() -> Vec<Route> {
    routes()
        .into_iter()
        .filter(|r| r.policy.notify == Notify::Changes)
        .map(|mut r| {
            r.policy.repeat_after = None;
            r
        })
        .collect()
}

proptest! {
    #[test]
    fn a_target_is_never_told_one_change_twice(hooks in hooks(24), redeliver in prop::collection::vec(0usize..24, 0..8)) {
        let routes = change_routes();
        let mut alert = Alert::default();
        let mut sequence = hooks.clone();
        // Redeliveries of earlier events, later.
        for (k, index) in redeliver.into_iter().enumerate() {
            if let Some(h) = hooks.get(index) {
                let mut again = h.clone();
                again.now = (hooks.len() + k) as i64 * MIN;
                sequence.push(again);
            }
        }
        let mut last: std::collections::HashMap<&str, (AlertState, Severity, u32)> = Default::default();
        for h in &sequence {
            let step = alert.apply(&routes, h, &[]);
            let stored = alert.stored.as_ref().unwrap();
            for key in step.notified() {
                let told = (stored.state, stored.severity, stored.episode);
                prop_assert_ne!(last.get(key), Some(&told), "{} told {:?} twice", key, told);
                last.insert(key, told);
            }
        }
    }

    #[test]
    fn any_order_of_arrival_ends_in_the_same_state(hooks in hooks(16), seed in any::<u64>()) {
        // Every event timed: the sender's update times order them, whatever the arrival.
        let hooks: Vec<Hook> = hooks.into_iter().map(|mut h| {
            h.updated_at = Some(h.id[1..].parse::<i64>().unwrap() * MIN);
            h
        }).collect();
        let mut shuffled = hooks.clone();
        let mut s = seed;
        for i in (1..shuffled.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (s >> 33) as usize % (i + 1));
        }
        let end = |hooks: &[Hook]| {
            let routes = routes();
            let mut alert = Alert::default();
            for (i, h) in hooks.iter().enumerate() {
                let mut h = h.clone();
                h.now = i as i64 * MIN;
                alert.apply(&routes, &h, &[]);
            }
            let s = alert.stored.unwrap();
            (s.count, s.last_event_at, s.severity, newest_state(hooks))
        };
        let (count_a, last_a, severity_a, _) = end(&hooks);
        let (count_b, last_b, severity_b, _) = end(&shuffled);
        prop_assert_eq!(count_a, count_b);
        prop_assert_eq!(last_a, last_b);
        prop_assert_eq!(severity_a, severity_b);
        // The state is the newest event's, or what `updated` keeps of the newest before it.
        let routes = routes();
        let mut a = Alert::default();
        for h in &hooks { a.apply(&routes, h, &[]); }
        let mut b = Alert::default();
        for h in &shuffled { b.apply(&routes, h, &[]); }
        let newest = hooks.iter().max_by_key(|h| h.updated_at).unwrap();
        if newest.status != Status::Updated {
            prop_assert_eq!(a.stored.unwrap().state, b.stored.unwrap().state);
        }
    }

    #[test]
    fn a_target_told_of_an_open_is_told_of_its_resolve(hooks in hooks(16), close_severity in severity()) {
        let routes = routes();
        let mut alert = Alert::default();
        for h in &hooks {
            alert.apply(&routes, h, &[]);
        }
        let stored = alert.stored.clone().unwrap();
        let told_active: Vec<&str> = stored
            .told
            .iter()
            .filter(|t| t.episode == stored.episode && t.state.is_active() && stored.state.is_active())
            .map(|t| t.target.as_str())
            .collect::<Vec<_>>()
            .into_iter()
            .filter_map(|t| routes.iter().find(|r| r.key == t).map(|r| r.key))
            .collect();
        let newest = hooks.iter().filter_map(|h| h.updated_at).max().unwrap_or(0);
        let close = Hook {
            id: "the-close".into(),
            status: Status::Resolved,
            severity: close_severity,
            updated_at: Some(newest + MIN),
            now: hooks.len() as i64 * MIN,
        };
        let step = alert.apply(&routes, &close, &[]);
        for key in told_active {
            prop_assert!(step.of(key).starts_with("notify"), "{} was told of the open, then {}", key, step.of(key));
        }
        prop_assert!(step.lifecycle.duration.is_some() == stored.opened_at.is_some());
    }
}

fn newest_state(hooks: &[Hook]) -> Option<Status> {
    hooks.iter().max_by_key(|h| h.updated_at).map(|h| h.status)
}
