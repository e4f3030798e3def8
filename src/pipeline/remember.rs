//! The stage between `normalize` and `deliver` under alert state (`ALERT_STATE_TABLE`): read what
//! the table remembers of the event's alert, decide per target ([`state::decide`]), write the
//! decision with a conditional write before anything is published, and, once delivered, clear
//! the claim (or, when nothing was published or queued, take the decision back).
//!
//! Every table call of a request shares one budget ([`STATE_BUDGET`]). A table that refuses,
//! throttles, fails or is slower than that makes the event go out as if stateless: the caller
//! logs it once and counts it (`state_fallback`). Nothing is lost for want of the table.
//!
//! Calls per webhook: a duplicate, 1 (`GetItem`); an event that notifies nobody, 2 (`GetItem`,
//! `PutItem`); one that notifies, 3 (and the claim's `PutItem` after the publish). Silences are a
//! `Query` at most every [`SILENCES_TTL`] per instance. A conflict (another delivery of the
//! same alert wrote first) costs one more read and write.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::event::{Event, Lifecycle};
use crate::route::{Millis, Policy};
use crate::state::item::{STATE_SK, alert_key, expiry, read_state, state_item};
use crate::state::{
    Decision, Expect, Incoming, Reason, SILENCE_PK, Silence, Silenced, Stored, Table, TableError,
    Target, Verdict, Why, decide,
};

/// All state calls of one request: past it, the event goes out stateless.
pub const STATE_BUDGET: Duration = Duration::from_millis(300);
/// How long an instance keeps the silences it read.
pub const SILENCES_TTL: Duration = Duration::from_secs(30);
/// Reads and writes again after a conflict, before giving up on the table for this event.
const CONFLICT_ATTEMPTS: usize = 5;

/// The times one event's decision is made at.
#[derive(Debug, Clone, Copy)]
pub struct When {
    /// API Gateway's arrival time: the alert's clock.
    pub now: OffsetDateTime,
    /// This function's own clock, by which claims expire.
    pub wall: Millis,
    /// The invocation's deadline: a claim lasts until then.
    pub deadline: Millis,
    /// When the request's state calls began: the budget counts from it.
    pub started: Instant,
}

/// The alert state of the function: the table, built once at cold start, and its silences.
pub struct Memory {
    table: Box<dyn Table>,
    retention: Millis,
    budget: Duration,
    silences: Mutex<Option<(Instant, Arc<Vec<Silence>>)>>,
}

/// What became of one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetOutcome {
    Notified(Why),
    /// Why not: `duplicate`, `unchanged`, `stale` or `silenced`, and the silence's id.
    Suppressed {
        reason: &'static str,
        silence: Option<String>,
    },
    /// Its filter does not match, and nothing follows through.
    NotRouted,
}

impl TargetOutcome {
    pub fn notifies(&self) -> bool {
        matches!(self, TargetOutcome::Notified(_))
    }

    /// How the log line says it: `notified`, `unchanged`, `silenced:s-…`.
    pub fn label(&self) -> String {
        match self {
            TargetOutcome::Notified(_) => "notified".to_owned(),
            TargetOutcome::Suppressed {
                silence: Some(id), ..
            } => format!("silenced:{id}"),
            TargetOutcome::Suppressed { reason, .. } => (*reason).to_owned(),
            TargetOutcome::NotRouted => "-".to_owned(),
        }
    }
}

/// What the table said of an event.
#[derive(Debug)]
pub enum Recall {
    /// Decided and written: one outcome per target (the default topic first), the lifecycle to
    /// carry, and the claim to clear once delivered (when anything is to be published).
    Decided {
        outcomes: Vec<TargetOutcome>,
        lifecycle: Lifecycle,
        claim: Option<Box<Claim>>,
    },
    /// The same event is being published by another invocation: 409, retry after this long.
    InProgress { retry_after: Duration },
    /// The table could not say: publish as if stateless, and say why (`timeout`, `throttled`…).
    Fallback(&'static str),
}

/// A decision written with its claim, to clear or take back after the delivery.
#[derive(Debug)]
pub struct Claim {
    pk: String,
    dedup_key: String,
    event_id: String,
    written: Stored,
    version: i64,
    /// What was there before, for taking the decision back.
    previous: Option<Stored>,
    expires_at: i64,
}

impl Memory {
    pub fn new(table: impl Table + 'static, retention: Millis) -> Self {
        Memory {
            table: Box::new(table),
            retention,
            budget: STATE_BUDGET,
            silences: Mutex::new(None),
        }
    }

    /// A budget other than [`STATE_BUDGET`] (tests).
    pub fn with_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// Decides `event` for `targets` (`Routes::targets`) at `when`.
    pub async fn recall(
        &self,
        event: &Event<'_>,
        targets: &[(&str, Policy, bool)],
        when: When,
    ) -> Recall {
        match self.try_recall(event, targets, when).await {
            Ok(recall) => recall,
            Err(error) => {
                tracing::warn!(
                    provider = event.provider.slug(),
                    event_id = event.id.as_str(),
                    reason = error.reason(),
                    error = %error,
                    "alert state unavailable: published as stateless"
                );
                Recall::Fallback(error.reason())
            }
        }
    }

    async fn try_recall(
        &self,
        event: &Event<'_>,
        targets: &[(&str, Policy, bool)],
        When {
            now,
            wall,
            deadline,
            started,
        }: When,
    ) -> Result<Recall, TableError> {
        let now_ms = millis(now);
        let silences = self.silences(wall, started).await?;
        let pairs = event.attributes.pairs();
        let silenced: Vec<Silenced> = silences
            .iter()
            .filter(|s| s.is_active(now_ms) && s.filter.matches(&pairs))
            .map(|s| Silenced {
                id: &s.id,
                starts_at: s.starts_at,
            })
            .collect();
        let targets: Vec<Target> = targets
            .iter()
            .map(|(key, policy, matches)| Target {
                key,
                policy: *policy,
                matches: *matches,
            })
            .collect();
        let incoming = Incoming {
            event_id: &event.id,
            status: event.status,
            severity: event.severity,
            updated_at: event.updated_at.map(millis),
            now: now_ms,
            wall,
        };
        let pk = alert_key(&event.dedup_key);
        for _ in 0..CONFLICT_ATTEMPTS {
            let current = self.timed(started, self.table.get(&pk, STATE_SK)).await?;
            let (stored, version) = match current {
                Some(item) => {
                    let (stored, version) = read_state(&item)?;
                    (Some(stored), Some(version))
                }
                None => (None, None),
            };
            let (decisions, next, lifecycle) =
                match decide(stored.as_ref(), incoming, &targets, &silenced, deadline) {
                    Verdict::InProgress { until } => {
                        let wait = u64::try_from(until.saturating_sub(wall)).unwrap_or(0);
                        return Ok(Recall::InProgress {
                            retry_after: Duration::from_millis(wait),
                        });
                    }
                    Verdict::Decided {
                        decisions,
                        next,
                        lifecycle,
                    } => (decisions, next, lifecycle),
                };
            let outcomes: Vec<TargetOutcome> = decisions.iter().map(outcome).collect();
            let lifecycle = lifecycle_of(&lifecycle);
            let duplicate = decisions
                .iter()
                .all(|d| *d == Decision::Suppress(Reason::Duplicate));
            if duplicate {
                return Ok(Recall::Decided {
                    outcomes,
                    lifecycle,
                    claim: None,
                });
            }
            let written_version = version.map_or(1, |v| v + 1);
            let expires_at = expiry(now_ms.max(wall), self.retention);
            let item = state_item(&event.dedup_key, &next, written_version, expires_at);
            let expect = version.map_or(Expect::Absent, Expect::Version);
            match self.timed(started, self.table.put(item, expect)).await {
                Ok(()) => {}
                Err(TableError::Conflict) => continue,
                Err(error) => return Err(error),
            }
            let claim = next.is_claimed(&event.id).then(|| {
                Box::new(Claim {
                    pk: pk.clone(),
                    dedup_key: event.dedup_key.clone(),
                    event_id: event.id.clone(),
                    written: *next,
                    version: written_version,
                    previous: stored,
                    expires_at,
                })
            });
            return Ok(Recall::Decided {
                outcomes,
                lifecycle,
                claim,
            });
        }
        Err(TableError::Conflict)
    }

    /// The event was published (or queued): its claim is cleared, so that a redelivery is a
    /// duplicate. A failure here is logged; the claim then expires at the deadline.
    pub async fn complete(&self, claim: Box<Claim>, started: Instant) {
        let Claim {
            pk,
            dedup_key,
            event_id,
            mut written,
            mut version,
            expires_at,
            ..
        } = *claim;
        let mut result = Err(TableError::Conflict);
        for _ in 0..CONFLICT_ATTEMPTS {
            written.complete(&event_id);
            let item = state_item(&dedup_key, &written, version + 1, expires_at);
            result = self
                .timed(started, self.table.put(item, Expect::Version(version)))
                .await;
            if result != Err(TableError::Conflict) {
                break;
            }
            // Another event of the alert wrote since: clear the claim in what it wrote.
            match self.timed(started, self.table.get(&pk, STATE_SK)).await {
                Ok(Some(item)) => match read_state(&item) {
                    Ok((stored, now_version)) if stored.is_claimed(&event_id) => {
                        written = stored;
                        version = now_version;
                    }
                    Ok(_) => return,
                    Err(error) => {
                        result = Err(error.into());
                        break;
                    }
                },
                Ok(None) => return,
                Err(error) => {
                    result = Err(error);
                    break;
                }
            }
        }
        if let Err(error) = result {
            tracing::warn!(
                event_id,
                reason = error.reason(),
                error = %error,
                "alert state: the claim could not be cleared; it expires at the invocation's deadline"
            );
        }
    }

    /// Nothing was published or queued (502): the decision is taken back, so that the sender's
    /// retry goes through as if this delivery never happened. If another event of the alert
    /// wrote since, the claim is left to expire at the deadline, and the retry takes it over.
    pub async fn release(&self, claim: Box<Claim>, started: Instant) {
        let expect = Expect::Version(claim.version);
        let call = match &claim.previous {
            Some(previous) => {
                let item = state_item(
                    &claim.dedup_key,
                    previous,
                    claim.version + 1,
                    claim.expires_at,
                );
                self.timed(started, self.table.put(item, expect)).await
            }
            None => {
                self.timed(started, self.table.delete(&claim.pk, STATE_SK, expect))
                    .await
            }
        };
        if let Err(error) = call {
            tracing::warn!(
                event_id = claim.event_id,
                reason = error.reason(),
                error = %error,
                "alert state: the decision could not be taken back; its claim expires at the invocation's deadline"
            );
        }
    }

    /// The silences, read at most every [`SILENCES_TTL`]; the last ones read when the table
    /// fails to answer, if there are any.
    async fn silences(
        &self,
        wall: Millis,
        started: Instant,
    ) -> Result<Arc<Vec<Silence>>, TableError> {
        let cached = self.silences.lock().ok().and_then(|c| c.clone());
        if let Some((at, silences)) = &cached
            && at.elapsed() < SILENCES_TTL
        {
            return Ok(silences.clone());
        }
        match self.timed(started, self.table.query(SILENCE_PK)).await {
            Ok(items) => {
                let silences: Vec<Silence> = items
                    .iter()
                    .filter_map(|item| match Silence::from_item(item) {
                        Ok(silence) => Some(silence),
                        Err(error) => {
                            tracing::warn!(error = %error, "a silence in the table is unreadable; ignored");
                            None
                        }
                    })
                    .filter(|s| s.ends_at > wall)
                    .collect();
                let silences = Arc::new(silences);
                if let Ok(mut cache) = self.silences.lock() {
                    *cache = Some((Instant::now(), silences.clone()));
                }
                Ok(silences)
            }
            Err(error) => match cached {
                Some((_, silences)) => Ok(silences),
                None => Err(error),
            },
        }
    }

    /// `call`, within what is left of the budget.
    async fn timed<T>(
        &self,
        started: Instant,
        call: impl Future<Output = Result<T, TableError>>,
    ) -> Result<T, TableError> {
        let left = self.budget.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, call).await {
            Ok(result) => result,
            Err(_) => Err(TableError::Timeout),
        }
    }
}

fn outcome(decision: &Decision) -> TargetOutcome {
    match decision {
        Decision::Notify(why) => TargetOutcome::Notified(*why),
        Decision::Suppress(reason) => TargetOutcome::Suppressed {
            reason: reason.label(),
            silence: match reason {
                Reason::Silenced(id) => Some((*id).to_owned()),
                _ => None,
            },
        },
        Decision::NotRouted => TargetOutcome::NotRouted,
    }
}

fn lifecycle_of(lifecycle: &crate::state::Lifecycle) -> Lifecycle {
    Lifecycle {
        first_seen: rfc3339(lifecycle.first_seen),
        count: lifecycle.count,
        previous_status: lifecycle.previous_status.map(|s| s.status()),
        opened_at: lifecycle.opened_at.map(rfc3339),
        opened_event_id: lifecycle.opened_event_id.clone(),
        duration_seconds: lifecycle.duration.map(|ms| ms / 1000),
    }
}

/// Unix milliseconds of `time`.
pub fn millis(time: OffsetDateTime) -> Millis {
    i64::try_from(time.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn rfc3339(ms: Millis) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}
