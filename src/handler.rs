//! A webhook: the stages of `pipeline` in their order, `admit` → `normalize` → `remember` →
//! `deliver` → `respond`, the middle three once per alert (a group's alerts a bounded number at a
//! time); and a fallback-queue batch, handed to `redrive`. No provider logic lives here.

use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Request, RequestExt as _, Response};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::alert::StatusConflict;
use crate::metrics;
use crate::pipeline::remember::{When, millis};
use futures_util::StreamExt as _;
use tokio::sync::Semaphore;

use crate::alert::Alert;
use crate::event::Event;
use crate::pipeline::{
    Answer, Assessment, Deliverer, Delivery, Failed, Keep, Memory, MetricsSink, Normalized,
    Outcome, Recall, Settings, SeverityLookup, TargetOutcome, Told, Unreadable, admit, normalize,
    read, respond,
};
use crate::providers::{Credential, Provider, truncated_alerts};
use crate::publish::{Fallback, NoFallback, Publisher};
use crate::redrive;

/// The function: its settings, publisher and fallback queue built once at cold start, shared by
/// every request and every queue record.
pub struct Relay<P, Q = NoFallback> {
    settings: Settings,
    deliverer: Deliverer<P, Q>,
    metrics: MetricsSink,
    /// Atlas's alert configurations (`ATLAS_API_CLIENT_ID`), when configured.
    lookup: Option<Box<dyn SeverityLookup>>,
    /// When a request is received: an alert without a time of its own is dated by it.
    clock: fn() -> OffsetDateTime,
    /// Alert state (`ALERT_STATE_TABLE`), when configured.
    memory: Option<Memory>,
}

/// How long a claim lasts when the invocation says no deadline (outside Lambda).
const CLAIM_WITHOUT_DEADLINE: Duration = Duration::from_secs(30);

/// What the stages learned of a request, whatever its end.
#[derive(Default)]
struct Seen {
    provider: Option<Provider>,
    credential: Option<Credential>,
    event_id: Option<String>,
    assessment: Option<Assessment>,
    status_conflict: Option<StatusConflict>,
    targets: Option<String>,
    state_fallback: Option<&'static str>,
}

fn stdout_sink() -> MetricsSink {
    Box::new(|line| {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        // A lost metric line must never fail the request.
        let _ = writeln!(out, "{line}");
    })
}

impl<P: Publisher> Relay<P> {
    pub fn new(settings: impl Into<Settings>, publisher: P) -> Self {
        Relay {
            settings: settings.into(),
            deliverer: Deliverer {
                publisher,
                fallback: None,
            },
            metrics: stdout_sink(),
            lookup: None,
            clock: OffsetDateTime::now_utc,
            memory: None,
        }
    }
}

impl<P: Publisher, Q: Fallback> Relay<P, Q> {
    /// Keeps the publishes that fail in `queue` and answers 202 instead of 502.
    pub fn with_fallback<F: Fallback>(self, queue: F) -> Relay<P, F> {
        Relay {
            settings: self.settings,
            deliverer: Deliverer {
                publisher: self.deliverer.publisher,
                fallback: Some(queue),
            },
            metrics: self.metrics,
            lookup: self.lookup,
            clock: self.clock,
            memory: self.memory,
        }
    }

    /// Remembers alerts in `memory`: one notification per change, not per webhook.
    pub fn with_memory(mut self, memory: Memory) -> Self {
        self.memory = Some(memory);
        self
    }

    /// Asks `lookup` for the severity of Atlas alerts their payload does not state.
    pub fn with_severity_lookup(mut self, lookup: impl SeverityLookup + 'static) -> Self {
        self.lookup = Some(Box::new(lookup));
        self
    }

    /// A fixed clock, for output that must not depend on when it was made (golden files).
    pub fn with_clock(mut self, clock: fn() -> OffsetDateTime) -> Self {
        self.clock = clock;
        self
    }

    /// Sends the EMF metric lines somewhere other than stdout.
    pub fn with_metrics(mut self, sink: MetricsSink) -> Self {
        self.metrics = sink;
        self
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub async fn handle(&self, request: Request) -> Response<Body> {
        let started = Instant::now();
        let mut seen = Seen::default();
        let result = self.process(&request, &mut seen).await;
        let outcome = Outcome {
            provider: seen.provider,
            credential: seen.credential,
            event_id: seen.event_id,
            assessment: seen.assessment,
            status_conflict: seen.status_conflict,
            result,
            elapsed: started.elapsed(),
            targets: seen.targets,
            state_fallback: seen.state_fallback,
        };
        respond(
            &outcome,
            &self.settings.metrics_namespace,
            metrics::now_ms(),
            &*self.metrics,
        )
    }

    /// Handles one batch of the fallback queue (`ReportBatchItemFailures`).
    pub async fn redrive(&self, event: SqsEvent) -> SqsBatchResponse {
        redrive::redrive(
            &self.deliverer,
            &self.settings.routes,
            self.settings.fallback_queue_arn.as_deref(),
            &self.settings.metrics_namespace,
            &*self.metrics,
            event,
        )
        .await
    }

    /// The stages in order; what each learns goes into `seen` for the response and the log.
    async fn process(&self, request: &Request, seen: &mut Seen) -> Result<Answer, Failed> {
        let received = (self.clock)();
        // API Gateway's request time: in seconds for signatures, in milliseconds for alert state.
        let now_ms = admit::received_at_ms(request, millis(received));
        let now = now_ms.div_euclid(1000);
        let verified = admit(request, &self.settings.admission, now).map_err(|refused| {
            seen.provider = refused.provider;
            refused.rejection
        })?;
        let provider = verified.provider();
        seen.provider = Some(provider);
        seen.credential = Some(verified.credential());
        let body = verified.body();
        let lookup = self
            .lookup
            .as_deref()
            .filter(|_| matches!(verified.credential(), Credential::Signature { .. }));
        let mut alerts = read(verified, self.settings.alert_labels.as_deref()).map_err(
            |(event_id, unreadable)| {
                seen.event_id = Some(event_id);
                unreadable
            },
        )?;
        let arrival = Arrival {
            request,
            body,
            lookup,
            received,
            arrived: OffsetDateTime::from_unix_timestamp_nanos(i128::from(now_ms) * 1_000_000)
                .unwrap_or(received),
        };

        if !provider.sends_groups()
            && let Some(alert) = alerts.pop()
        {
            let (told, status_conflict) = self.tell(provider, alert, &arrival, None).await;
            seen.event_id = Some(told.event_id);
            seen.assessment = told.assessment;
            seen.status_conflict = status_conflict;
            seen.targets = told.targets;
            seen.state_fallback = told.state_fallback;
            return told.result;
        }

        // A group: each alert on its own, a bounded number at a time, sharing a bound on publishes.
        let truncated = alerts
            .first()
            .and_then(|a| a.group.as_ref())
            .map_or(0, truncated_alerts);
        let permits = Semaphore::new(GROUP_PUBLISHES_IN_FLIGHT);
        let alerts = futures_util::stream::iter(alerts)
            .map(|alert| self.tell(provider, alert, &arrival, Some(&permits)))
            .buffered(GROUP_ALERTS_IN_FLIGHT)
            .map(|(told, _)| told)
            .collect()
            .await;
        Ok(Answer::Group { alerts, truncated })
    }

    /// One alert, from its severity to its topics: normalize, remember, deliver; and where the
    /// signed body overruled an unsigned header (Atlas), for a single alert's log line.
    async fn tell(
        &self,
        provider: Provider,
        alert: Alert,
        arrival: &Arrival<'_, '_>,
        permits: Option<&Semaphore>,
    ) -> (Told, Option<StatusConflict>) {
        let Normalized {
            event_id,
            assessment,
            status_conflict,
            event,
        } = normalize(
            provider,
            alert,
            arrival.body,
            &self.settings.severity_rules,
            arrival.lookup,
            arrival.received,
        )
        .await;
        let mut recalled = Recalled::default();
        let result = match event {
            Ok(event) => self.deliver(event, arrival, permits, &mut recalled).await,
            Err(unreadable) => Err(unreadable.into()),
        };
        let told = Told {
            event_id,
            assessment,
            targets: recalled.targets,
            state_fallback: recalled.state_fallback,
            result,
        };
        (told, status_conflict)
    }

    /// An event's state decision and publishes; what state learns goes into `recalled`.
    async fn deliver(
        &self,
        mut event: Event<'_>,
        arrival: &Arrival<'_, '_>,
        permits: Option<&Semaphore>,
        recalled: &mut Recalled,
    ) -> Result<Answer, Failed> {
        let routes = &self.settings.routes;
        let (outbox, claim) = match &self.memory {
            None => (routes.outbox(&event).map_err(Unreadable::from)?, None),
            Some(memory) => {
                let state_started = Instant::now();
                let targets = routes.targets(&event);
                let wall = millis((self.clock)());
                let deadline = arrival
                    .request
                    .lambda_context_ref()
                    .and_then(|c| i64::try_from(c.deadline).ok())
                    .filter(|d| *d > wall)
                    .unwrap_or(wall + CLAIM_WITHOUT_DEADLINE.as_millis() as i64);
                match memory
                    .recall(
                        &event,
                        &targets,
                        When {
                            now: arrival.arrived,
                            wall,
                            deadline,
                            started: state_started,
                        },
                    )
                    .await
                {
                    Recall::Fallback(reason) => {
                        recalled.state_fallback = Some(reason);
                        (routes.outbox(&event).map_err(Unreadable::from)?, None)
                    }
                    Recall::InProgress { retry_after } => {
                        return Err(Failed::InProgress(retry_after));
                    }
                    Recall::Decided {
                        outcomes,
                        lifecycle,
                        claim,
                    } => {
                        recalled.targets = Some(targets_label(&outcomes));
                        event.lifecycle = Some(lifecycle);
                        let selected: Vec<bool> =
                            outcomes.iter().map(TargetOutcome::notifies).collect();
                        if !selected.contains(&true) {
                            let reason = match &outcomes[0] {
                                TargetOutcome::Suppressed { reason, .. } => reason,
                                _ => "unchanged",
                            };
                            return Ok(Answer::Suppressed { reason });
                        }
                        match routes.outbox_to(&event, &selected) {
                            Ok(outbox) => {
                                (outbox, claim.map(|c| (memory, c, state_started.elapsed())))
                            }
                            Err(error) => {
                                if let Some(claim) = claim {
                                    memory.release(claim, state_started).await;
                                }
                                return Err(Unreadable::from(error).into());
                            }
                        }
                    }
                }
            }
        };

        let first_attempt = arrival.received.format(&Rfc3339).unwrap_or_default();
        let delivery = match permits {
            None => {
                self.deliverer
                    .deliver(&outbox, &first_attempt, Keep::Failed)
                    .await
            }
            Some(permits) => {
                self.deliverer
                    .deliver_bounded(&outbox, &first_attempt, Keep::Failed, permits)
                    .await
            }
        };
        if let Some((memory, claim, spent)) = claim {
            // The budget is the table calls': the publish between them does not spend it (a
            // failing SNS takes seconds, and its 502 must still take the decision back).
            let now = Instant::now();
            let state_started = now.checked_sub(spent).unwrap_or(now);
            match delivery {
                Delivery::Unqueued { .. } => memory.release(claim, state_started).await,
                _ => memory.complete(claim, state_started).await,
            }
        }
        match delivery {
            Delivery::Published { message_id } => Ok(Answer::Published {
                // The default topic's; under alert state it may be held back, and then the
                // first topic's that was told.
                message_id: message_id.unwrap_or_default(),
                topics: outbox.publishes.len(),
            }),
            Delivery::Queued { failures } => Ok(Answer::Queued { failures }),
            Delivery::Unqueued { failures, .. } => Err(Failed::Publish(failures)),
        }
    }
}

/// A group's alerts in flight at once (each a state decision and its publishes).
const GROUP_ALERTS_IN_FLIGHT: usize = 16;
/// A group's publishes in flight at once, all its alerts' together.
const GROUP_PUBLISHES_IN_FLIGHT: usize = 16;

/// What every alert of a request shares.
struct Arrival<'r, 'l> {
    request: &'r Request,
    body: &'r [u8],
    /// Atlas's alert configurations, for a signed request only.
    lookup: Option<&'l dyn SeverityLookup>,
    /// When the request was received (the clock's), and API Gateway's request time for it.
    received: OffsetDateTime,
    arrived: OffsetDateTime,
}

/// What alert state said of an event: each target's outcome, or why it could not be asked.
#[derive(Default)]
struct Recalled {
    targets: Option<String>,
    state_fallback: Option<&'static str>,
}

/// `default=notified 1=unchanged 2=silenced:s-…`: each target's outcome, routes by position.
fn targets_label(outcomes: &[TargetOutcome]) -> String {
    let mut out = String::with_capacity(16 * outcomes.len());
    for (index, outcome) in outcomes.iter().enumerate() {
        if !out.is_empty() {
            out.push(' ');
        }
        match index {
            0 => out.push_str("default"),
            n => out.push_str(&n.to_string()),
        }
        out.push('=');
        out.push_str(&outcome.label());
    }
    out
}

/// API Gateway only sets `isBase64Encoded` on valid base64, but a hand-made or corrupted event may
/// not be, and `lambda_http` panics decoding it. Such a body is kept as the opaque text it is: it
/// cannot match a signature (401), nor parse as JSON where unsigned requests are allowed (400).
pub fn guard_body(mut event: LambdaRequest) -> LambdaRequest {
    let (flag, body) = match &mut event {
        LambdaRequest::ApiGatewayV1(e) => (&mut e.is_base64_encoded, e.body.as_deref()),
        LambdaRequest::ApiGatewayV2(e) => (&mut e.is_base64_encoded, e.body.as_deref()),
        _ => return event,
    };
    if *flag && body.is_some_and(|b| BASE64.decode(b).is_err()) {
        *flag = false;
    }
    event
}
