//! The decision of alert state: given what the table remembers of one alert, one event of it,
//! each target's policy and "now", which targets are told and what the table remembers next.
//! Pure: no clock, no AWS, no I/O. `tests/state_decide.rs` drives it as a state machine.

use crate::alert::{Severity, Status};

pub use crate::route::{MIN_REPEAT_AFTER, Millis, Notify, Policy};

/// How many handled event ids an alert remembers, for duplicates. A redelivery older than this
/// many events of its alert is not recognised as a duplicate; it is then stale or unchanged.
pub const HANDLED_MAX: usize = 32;

/// An alert's state: its last status, where `updated` keeps the state it had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertState {
    Open,
    Acknowledged,
    Resolved,
    Cancelled,
    Informational,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        self.status().as_str()
    }

    pub fn from_name(name: &str) -> Option<AlertState> {
        [
            AlertState::Open,
            AlertState::Acknowledged,
            AlertState::Resolved,
            AlertState::Cancelled,
            AlertState::Informational,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }

    pub fn status(self) -> Status {
        match self {
            AlertState::Open => Status::Open,
            AlertState::Acknowledged => Status::Acknowledged,
            AlertState::Resolved => Status::Resolved,
            AlertState::Cancelled => Status::Cancelled,
            AlertState::Informational => Status::Informational,
        }
    }

    /// Whether an episode is under way: opened and not yet resolved or cancelled.
    pub fn is_active(self) -> bool {
        matches!(self, AlertState::Open | AlertState::Acknowledged)
    }

    /// The state `status` leads to from `previous`: `updated` keeps it (an alert first seen
    /// updated is open).
    pub fn after(previous: Option<AlertState>, status: Status) -> AlertState {
        match status {
            Status::Open => AlertState::Open,
            Status::Acknowledged => AlertState::Acknowledged,
            Status::Resolved => AlertState::Resolved,
            Status::Cancelled => AlertState::Cancelled,
            Status::Informational => AlertState::Informational,
            Status::Updated => match previous {
                Some(state) => state,
                None => AlertState::Open,
            },
        }
    }
}

/// What one target was last told of the alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Told {
    /// The target: `default` for `ALERT_TOPIC_ARN`, else the route's topic ARN (positions move
    /// between deployments, topics do not).
    pub target: String,
    pub state: AlertState,
    pub severity: Severity,
    pub at: Millis,
    /// The episode it was told of.
    pub episode: u32,
}

/// An event of the alert that was handled, or is being handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    pub event_id: String,
    /// `Some(deadline)` while the instance that claimed it publishes; a claim past its deadline
    /// was left by a crashed instance and is taken over by the next delivery.
    pub claim_until: Option<Millis>,
    /// The targets it notified (or, while claimed, is notifying), so that a takeover tells the
    /// same ones.
    pub notified: Vec<String>,
}

/// Everything the table remembers of one alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub state: AlertState,
    pub severity: Severity,
    pub first_seen: Millis,
    /// Events of this alert so far, duplicates aside.
    pub count: u64,
    /// The sender's update time of the newest event applied (Atlas's `updated`), for staleness.
    pub last_event_at: Option<Millis>,
    /// The current (or last) episode: its number, when and by which event it opened.
    pub episode: u32,
    pub opened_at: Option<Millis>,
    pub opened_event_id: Option<String>,
    pub told: Vec<Told>,
    /// The newest first, at most [`HANDLED_MAX`].
    pub handled: Vec<Handled>,
}

/// One event of an alert, as the decision needs it.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    pub event_id: &'a str,
    pub status: Status,
    pub severity: Severity,
    /// The sender's own update time, when it has one.
    pub updated_at: Option<Millis>,
    /// The request's arrival at API Gateway: the alert's clock.
    pub now: Millis,
    /// This function's own clock: claims expire by it, as the invocation's deadline does.
    pub wall: Millis,
}

/// One target of the event: the default topic or a route, with whether its filter matched.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub key: &'a str,
    pub policy: Policy,
    pub matches: bool,
}

/// An active silence that matches the event.
#[derive(Debug, Clone, Copy)]
pub struct Silenced<'a> {
    pub id: &'a str,
    pub starts_at: Millis,
}

/// Why a target is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// New to this target: the alert, its state or its severity.
    Change,
    /// Its severity rose since this target was last told.
    Escalation,
    /// Unchanged, but its `repeat_after` has passed.
    Repeat,
    /// Its filter no longer matches, but it was told of this episode and must be able to close it.
    FollowThrough,
    /// An `every` target.
    Every,
    /// The same decision as a crashed instance's claim, taken over.
    Retry,
}

/// Why a target is not told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason<'a> {
    Duplicate,
    Unchanged,
    Stale,
    Silenced(&'a str),
}

impl Reason<'_> {
    /// The fixed label logs and metrics use (`silenced` without the id).
    pub fn label(&self) -> &'static str {
        match self {
            Reason::Duplicate => "duplicate",
            Reason::Unchanged => "unchanged",
            Reason::Stale => "stale",
            Reason::Silenced(_) => "silenced",
        }
    }
}

/// The decision for one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision<'a> {
    Notify(Why),
    Suppress(Reason<'a>),
    /// Its filter does not match and nothing follows through: not a target of this event.
    NotRouted,
}

impl Decision<'_> {
    pub fn notifies(&self) -> bool {
        matches!(self, Decision::Notify(_))
    }
}

/// What the decision says of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// Decided: one decision per target, in the targets' order, and the state to store.
    Decided {
        decisions: Vec<Decision<'a>>,
        next: Box<Stored>,
        lifecycle: Lifecycle,
    },
    /// The same event is being handled by another instance until `until`.
    InProgress { until: Millis },
}

/// `data.lifecycle`: the alert's story so far, as the event carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifecycle {
    pub first_seen: Millis,
    pub count: u64,
    pub previous_status: Option<AlertState>,
    pub opened_at: Option<Millis>,
    pub opened_event_id: Option<String>,
    /// On `resolved` and `cancelled`: how long the episode was open.
    pub duration: Option<Millis>,
}

/// The decision for `event`, to `targets`, given what is `stored` of its alert, the active
/// silences that match it, and `claim_until`, the deadline of this invocation (a claim on the
/// event lasts until then). `next` marks the event claimed when it notifies anyone; the caller
/// clears the claim with [`Stored::complete`] once published, or drops the write when it fails.
pub fn decide<'a>(
    stored: Option<&Stored>,
    event: Incoming<'_>,
    targets: &[Target<'_>],
    silences: &[Silenced<'a>],
    claim_until: Millis,
) -> Verdict<'a> {
    if let Some(stored) = stored
        && let Some(handled) = stored.handled.iter().find(|h| h.event_id == event.event_id)
    {
        return match handled.claim_until {
            Some(until) if until > event.wall => Verdict::InProgress { until },
            // A crashed instance's claim: tell the targets it meant to, again.
            Some(_) => retry(stored, handled, event, targets, claim_until),
            None => Verdict::Decided {
                decisions: targets
                    .iter()
                    .map(|_| Decision::Suppress(Reason::Duplicate))
                    .collect(),
                next: Box::new(stored.clone()),
                lifecycle: stored.lifecycle(None, event.now),
            },
        };
    }

    let stale = match (stored.and_then(|s| s.last_event_at), event.updated_at) {
        (Some(last), Some(at)) => at < last,
        _ => false,
    };
    let previous = stored.map(|s| s.state);
    let state = if stale {
        previous.unwrap_or(AlertState::Open)
    } else {
        AlertState::after(previous, event.status)
    };
    let severity = match (stale, stored) {
        (true, Some(stored)) => stored.severity,
        _ => event.severity,
    };

    let mut next = match stored {
        Some(stored) => stored.clone(),
        None => Stored {
            state,
            severity,
            first_seen: event.now,
            count: 0,
            last_event_at: None,
            episode: 0,
            opened_at: None,
            opened_event_id: None,
            told: Vec::new(),
            handled: Vec::new(),
        },
    };
    next.count += 1;
    next.first_seen = next.first_seen.min(event.now);
    if !stale {
        // A new episode: an alert that opens (or is first seen) when none is under way.
        let opens = state.is_active() && !previous.is_some_and(AlertState::is_active);
        if opens {
            next.episode += 1;
            next.opened_at = Some(event.now);
            next.opened_event_id = Some(event.event_id.to_owned());
        }
        next.state = state;
        next.severity = severity;
        if let Some(at) = event.updated_at {
            next.last_event_at = Some(next.last_event_at.map_or(at, |last| last.max(at)));
        }
    }

    let decisions: Vec<Decision<'a>> = targets
        .iter()
        .map(|target| {
            let told = next.told.iter().find(|t| t.target == target.key);
            decide_target(
                target, told, &next, state, severity, stale, event.now, silences,
            )
        })
        .collect();

    let notified: Vec<String> = targets
        .iter()
        .zip(&decisions)
        .filter(|(_, d)| d.notifies())
        .map(|(t, _)| t.key.to_owned())
        .collect();
    if !stale {
        for target in &notified {
            next.tell(target, state, severity, event.now);
        }
    }
    let lifecycle = next.lifecycle(previous, event.now);
    next.remember(Handled {
        event_id: event.event_id.to_owned(),
        claim_until: (!notified.is_empty()).then_some(claim_until),
        notified,
    });
    Verdict::Decided {
        decisions,
        next: Box::new(next),
        lifecycle,
    }
}

#[allow(clippy::too_many_arguments)]
fn decide_target<'a>(
    target: &Target<'_>,
    told: Option<&Told>,
    next: &Stored,
    state: AlertState,
    severity: Severity,
    stale: bool,
    now: Millis,
    silences: &[Silenced<'a>],
) -> Decision<'a> {
    if target.policy.notify == Notify::Every {
        return match (target.matches, told_of_episode(told, next)) {
            (true, _) => Decision::Notify(Why::Every),
            (false, true) if closes(state) && !stale => Decision::Notify(Why::FollowThrough),
            _ => Decision::NotRouted,
        };
    }
    let told_here = told_of_episode(told, next);
    // Follow-through: a target told of this episode hears how it ends, whatever its filter says.
    let follows =
        told_here && closes(state) && told.is_some_and(|t| t.state != state && t.state.is_active());
    if !target.matches && !follows {
        return Decision::NotRouted;
    }
    if stale {
        return Decision::Suppress(Reason::Stale);
    }
    if let Some(silence) = silences.first() {
        // A page must be closable: a target told of the open before the silence began still
        // hears of its acknowledgement and end.
        let told_before = told.is_some_and(|t| t.at < silence.starts_at);
        if !(follows && told_before) {
            return Decision::Suppress(Reason::Silenced(silence.id));
        }
    }
    let Some(told) = told.filter(|_| told_here || !state.is_active()) else {
        return Decision::Notify(if target.matches {
            Why::Change
        } else {
            Why::FollowThrough
        });
    };
    if told.state != state {
        return Decision::Notify(if target.matches {
            Why::Change
        } else {
            Why::FollowThrough
        });
    }
    if told.severity != severity {
        return Decision::Notify(if rank(severity) > rank(told.severity) {
            Why::Escalation
        } else {
            Why::Change
        });
    }
    match target.policy.repeat_after {
        Some(after) if now.saturating_sub(told.at) >= after => Decision::Notify(Why::Repeat),
        _ => Decision::Suppress(Reason::Unchanged),
    }
}

/// A crashed instance's claim taken over: the targets it meant to tell are told again (at least
/// once); the stored state already holds the rest of its decision.
fn retry<'a>(
    stored: &Stored,
    handled: &Handled,
    event: Incoming<'_>,
    targets: &[Target<'_>],
    claim_until: Millis,
) -> Verdict<'a> {
    let decisions = targets
        .iter()
        .map(|t| {
            if handled.notified.iter().any(|n| n == t.key) {
                Decision::Notify(Why::Retry)
            } else {
                Decision::Suppress(Reason::Duplicate)
            }
        })
        .collect();
    let mut next = stored.clone();
    for entry in &mut next.handled {
        if entry.event_id == event.event_id {
            entry.claim_until = Some(claim_until);
        }
    }
    Verdict::Decided {
        decisions,
        lifecycle: next.lifecycle(None, event.now),
        next: Box::new(next),
    }
}

/// Whether `told` is of the episode under way (or just ended).
fn told_of_episode(told: Option<&Told>, next: &Stored) -> bool {
    told.is_some_and(|t| t.episode == next.episode && next.episode > 0)
}

/// The states that move an episode on, which follow through to whoever was told of it.
fn closes(state: AlertState) -> bool {
    matches!(
        state,
        AlertState::Acknowledged | AlertState::Resolved | AlertState::Cancelled
    )
}

/// Severity as an order: `unknown` lowest.
pub fn rank(severity: Severity) -> u8 {
    match severity {
        Severity::Unknown => 0,
        Severity::Info => 1,
        Severity::Warning => 2,
        Severity::Error => 3,
        Severity::Critical => 4,
    }
}

impl Stored {
    fn tell(&mut self, target: &str, state: AlertState, severity: Severity, at: Millis) {
        let told = Told {
            target: target.to_owned(),
            state,
            severity,
            at,
            episode: self.episode,
        };
        match self.told.iter_mut().find(|t| t.target == target) {
            Some(entry) => *entry = told,
            None => self.told.push(told),
        }
    }

    fn remember(&mut self, handled: Handled) {
        self.handled.retain(|h| h.event_id != handled.event_id);
        self.handled.insert(0, handled);
        self.handled.truncate(HANDLED_MAX);
    }

    /// The event `event_id` was published (or queued): its claim is cleared, and with it the
    /// targets a takeover would have told (the item stays small).
    pub fn complete(&mut self, event_id: &str) {
        for entry in &mut self.handled {
            if entry.event_id == event_id {
                entry.claim_until = None;
                entry.notified.clear();
            }
        }
    }

    /// Whether `event_id` is claimed (being published) in this state.
    pub fn is_claimed(&self, event_id: &str) -> bool {
        self.handled
            .iter()
            .any(|h| h.event_id == event_id && h.claim_until.is_some())
    }

    /// The lifecycle an event of this state carries, at `now`.
    pub fn lifecycle(&self, previous_status: Option<AlertState>, now: Millis) -> Lifecycle {
        let ends = matches!(self.state, AlertState::Resolved | AlertState::Cancelled);
        Lifecycle {
            first_seen: self.first_seen,
            count: self.count,
            previous_status,
            opened_at: self.opened_at,
            opened_event_id: self.opened_event_id.clone(),
            duration: match (ends, self.opened_at) {
                (true, Some(opened)) => Some(now.saturating_sub(opened).max(0)),
                _ => None,
            },
        }
    }
}
