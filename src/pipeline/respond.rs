//! The last stage: one outcome becomes the response (the contract's status and short JSON body),
//! the request's one log line and its EMF metrics line.

use std::time::Duration;

use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Response};
use serde_json::json;

use super::admit::Rejection;
use super::deliver::Failure;
use super::normalize::{Assessment, Unreadable};
use crate::alert::StatusConflict;
use crate::metrics;
use crate::providers::{Credential, Provider};

/// Where the EMF metric lines go: stdout in Lambda, a buffer in tests.
pub type MetricsSink = Box<dyn Fn(&str) + Send + Sync>;

/// An alert accepted: 200 or 202.
#[derive(Debug)]
pub enum Answer {
    /// On every topic it was routed to; `message_id` is the default topic's.
    Published { message_id: String, topics: usize },
    /// Some publishes failed; they are in the fallback queue.
    Queued { failures: Vec<Failure> },
    /// Alert state told no topic: the default topic's reason (`duplicate`, `unchanged`, `stale`,
    /// `silenced`).
    Suppressed { reason: &'static str },
    /// A group's alerts (Grafana, Alertmanager), each its own event, in the body's order; and how
    /// many the sender left out (`truncatedAlerts`). Its status is its alerts' worst.
    Group { alerts: Vec<Told>, truncated: u64 },
}

/// One alert of a group: its event, and how it ended.
#[derive(Debug)]
pub struct Told {
    pub event_id: String,
    pub assessment: Option<Assessment>,
    /// Under alert state, each target's outcome (as `Outcome::targets`).
    pub targets: Option<String>,
    pub state_fallback: Option<&'static str>,
    /// Never `Rejected` or `Malformed`: the request as a whole was admitted and read.
    pub result: Result<Answer, Failed>,
}

impl Told {
    /// `published`, `queued`, `suppressed`, `in_progress` or `failed`.
    fn name(&self) -> &'static str {
        match &self.result {
            Ok(Answer::Published { .. }) | Ok(Answer::Group { .. }) => "published",
            Ok(Answer::Queued { .. }) => "queued",
            Ok(Answer::Suppressed { .. }) => "suppressed",
            Err(Failed::InProgress(_)) => "in_progress",
            Err(_) => "failed",
        }
    }

    /// `{"event_id","status","topics"}`, and why when it was not published.
    fn json(&self) -> serde_json::Value {
        let mut item = json!({"event_id": self.event_id, "status": self.name()});
        match &self.result {
            Ok(Answer::Published { topics, .. }) => item["topics"] = json!(topics),
            Ok(Answer::Suppressed { reason }) => {
                item["topics"] = json!(0);
                item["reason"] = json!(reason);
            }
            Ok(_) => {}
            Err(failed) => item["reason"] = json!(failed.reason()),
        }
        item
    }
}

/// A group's answer, from its alerts' ends: 502 when any alert was neither published nor
/// queued (the sender retries the group; alert state makes what was told a duplicate), 409 when
/// one is in progress elsewhere, 202 when any is in the fallback queue, else 200.
fn group_status(alerts: &[Told]) -> (StatusCode, &'static str, Option<Duration>) {
    let failed = alerts
        .iter()
        .any(|a| matches!(&a.result, Err(failed) if failed.is_ours()));
    let wait = alerts
        .iter()
        .filter_map(|a| match &a.result {
            Err(Failed::InProgress(wait)) => Some(*wait),
            _ => None,
        })
        .max();
    let queued = alerts
        .iter()
        .any(|a| matches!(a.result, Ok(Answer::Queued { .. })));
    let told = alerts
        .iter()
        .any(|a| matches!(a.result, Ok(Answer::Published { .. })));
    if failed {
        (StatusCode::BAD_GATEWAY, "publish_failed", None)
    } else if wait.is_some() {
        (StatusCode::CONFLICT, "in_progress", wait)
    } else if queued {
        (StatusCode::ACCEPTED, "queued", None)
    } else if told {
        (StatusCode::OK, "published", None)
    } else {
        // Every alert held back by alert state; or no alert at all (`no_alerts`).
        (StatusCode::OK, "suppressed", None)
    }
}

/// `published=2 suppressed=1`: how many of a group's alerts ended each way, for the log line.
fn group_summary(alerts: &[Told]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for alert in alerts {
        let name = alert.name();
        match counts.iter_mut().find(|(n, _)| *n == name) {
            Some((_, count)) => *count += 1,
            None => counts.push((name, 1)),
        }
    }
    counts
        .iter()
        .map(|(name, count)| format!("{name}={count}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Everything the contract can answer besides 200 and 202.
#[derive(Debug, thiserror::Error)]
pub enum Failed {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error(transparent)]
    Unreadable(#[from] Unreadable),
    #[error("{} of the alert's publishes failed", .0.len())]
    Publish(Vec<Failure>),
    /// The same event is being published by another invocation: retry after this long.
    #[error("the same event is in progress")]
    InProgress(Duration),
}

impl Failed {
    pub fn status(&self) -> StatusCode {
        let code = match self {
            Failed::Rejected(rejection) => rejection.status(),
            Failed::Unreadable(Unreadable::Malformed(_)) => 400,
            Failed::Unreadable(Unreadable::Event(_)) => 500,
            Failed::Publish(_) => 502,
            Failed::InProgress(_) => 409,
        };
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The `error` of the response body.
    pub fn code(&self) -> &'static str {
        match self {
            Failed::Rejected(rejection) => rejection.code(),
            Failed::Unreadable(Unreadable::Malformed(_)) => "malformed_payload",
            Failed::Unreadable(Unreadable::Event(_)) => "internal_error",
            Failed::Publish(_) => "publish_failed",
            Failed::InProgress(_) => "in_progress",
        }
    }

    /// A finer reason for the log line; fixed strings only, never request data.
    pub fn reason(&self) -> &'static str {
        match self {
            Failed::Rejected(rejection) => rejection.reason(),
            Failed::Unreadable(Unreadable::Malformed(malformed)) => malformed.reason(),
            Failed::Unreadable(Unreadable::Event(_)) => "internal_error",
            Failed::Publish(failures) => failures
                .first()
                .map_or("publish_failed", |f| f.error.reason()),
            Failed::InProgress(_) => "in_progress",
        }
    }

    /// Whether the alert was authentic and the failure is ours, not the sender's.
    fn is_ours(&self) -> bool {
        matches!(
            self,
            Failed::Publish(_) | Failed::Unreadable(Unreadable::Event(_))
        )
    }
}

/// What happened to one request: what the stages learned on the way, and how it ended.
#[derive(Debug)]
pub struct Outcome {
    pub provider: Option<Provider>,
    pub credential: Option<Credential>,
    pub event_id: Option<String>,
    /// How the alert's severity was decided, once the body was an alert.
    pub assessment: Option<Assessment>,
    /// Where the signed body's status overruled an unsigned header.
    pub status_conflict: Option<StatusConflict>,
    pub result: Result<Answer, Failed>,
    pub elapsed: Duration,
    /// Under alert state: per target (`default`, then each route by position), `notified` or why
    /// not, e.g. `default=notified 1=unchanged 2=silenced:s-…`.
    pub targets: Option<String>,
    /// Why alert state could not be used, when it could not (the event went out stateless).
    pub state_fallback: Option<&'static str>,
}

/// The response to `outcome`, after writing its EMF line to `metrics` (in `namespace`, at
/// `now_ms`) and its log line.
pub fn respond(
    outcome: &Outcome,
    namespace: &str,
    now_ms: u64,
    metrics: &dyn Fn(&str),
) -> Response<Body> {
    if let Ok(Answer::Group { alerts, truncated }) = &outcome.result {
        return respond_group(outcome, alerts, *truncated, namespace, now_ms, metrics);
    }
    let provider = outcome.provider.map(Provider::slug);
    let counted = match &outcome.result {
        Ok(Answer::Published { .. } | Answer::Group { .. }) => metrics::Outcome::Published,
        Ok(Answer::Queued { .. }) => metrics::Outcome::Queued,
        Ok(Answer::Suppressed { reason }) => metrics::Outcome::Suppressed(reason),
        Err(failed) if failed.is_ours() => metrics::Outcome::PublishFailed,
        Err(failed) => metrics::Outcome::Rejected(failed.reason()),
    };
    metrics(&metrics::line(
        namespace,
        provider.unwrap_or("unknown"),
        counted,
        outcome.assessment.and_then(|a| a.fallback),
        now_ms,
        outcome.elapsed.as_secs_f64() * 1000.0,
    ));
    if let Some(reason) = outcome.state_fallback {
        metrics(&metrics::state_fallback_line(
            namespace,
            provider.unwrap_or("unknown"),
            reason,
            now_ms,
        ));
    }

    let (form, secret_index) = credential_fields(outcome.credential);
    let event_id = outcome.event_id.as_deref();
    let (status, name, reason, topics, failures, body) = match &outcome.result {
        Ok(Answer::Queued { failures }) => (
            StatusCode::ACCEPTED,
            "queued",
            None,
            None,
            Some(&failures[..]),
            json!({"status": "queued", "event_id": event_id.unwrap_or_default()}),
        ),
        Ok(Answer::Suppressed { reason }) => (
            StatusCode::OK,
            "suppressed",
            Some(*reason),
            Some(0),
            None,
            json!({
                "status": "suppressed",
                "event_id": event_id.unwrap_or_default(),
                "reason": reason,
                "topics": 0,
            }),
        ),
        Ok(Answer::Group { .. }) => (StatusCode::OK, "published", None, None, None, json!({})),
        Ok(Answer::Published { message_id, topics }) => (
            StatusCode::OK,
            "published",
            None,
            Some(*topics),
            None,
            json!({
                "status": "published",
                "event_id": event_id.unwrap_or_default(),
                "message_id": message_id,
                "topics": topics,
            }),
        ),
        Err(failed) => (
            failed.status(),
            if failed.is_ours() {
                "failed"
            } else {
                "rejected"
            },
            Some(failed.reason()),
            None,
            match failed {
                Failed::Publish(failures) => Some(&failures[..]),
                _ => None,
            },
            json!({"error": failed.code()}),
        ),
    };
    let elapsed_us = u64::try_from(outcome.elapsed.as_micros()).unwrap_or(u64::MAX);
    let assessment = outcome.assessment.as_ref();
    tracing::info!(
        provider,
        outcome = name,
        status = status.as_u16(),
        reason,
        event_id,
        severity = assessment.map(|a| a.severity.as_str()),
        severity_source = assessment.map(|a| tracing::field::display(a.source)),
        severity_fallback = assessment.and_then(|a| a.fallback),
        status_note = outcome.status_conflict.map(tracing::field::display),
        topics,
        failed_routes = failures.map(failed_routes),
        targets = outcome.targets.as_deref(),
        state_fallback = outcome.state_fallback,
        form,
        secret_index,
        duration_us = elapsed_us,
        "request"
    );
    let wait = match &outcome.result {
        Err(Failed::InProgress(wait)) => Some(*wait),
        _ => None,
    };
    response(status, &body, wait)
}

/// The response: `body` as JSON, `Retry-After` when `wait`, `Allow` on a 405.
fn response(
    status: StatusCode,
    body: &serde_json::Value,
    wait: Option<Duration>,
) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    if let Some(wait) = wait {
        // Whole seconds, at least one: the sender waits for the claim to be cleared or expire.
        let seconds = wait.as_millis().div_ceil(1000).max(1);
        if let Ok(value) = header::HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    if status == StatusCode::METHOD_NOT_ALLOWED {
        response
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
    }
    response
}

/// A group's response, log line and metrics: the request counted once by its status, and a
/// line counting its alerts by how each ended.
fn respond_group(
    outcome: &Outcome,
    alerts: &[Told],
    truncated: u64,
    namespace: &str,
    now_ms: u64,
    metrics: &dyn Fn(&str),
) -> Response<Body> {
    let provider = outcome.provider.map(Provider::slug);
    let (status, name, wait) = group_status(alerts);
    let first_reason = |wanted: &'static str| -> Option<&'static str> {
        alerts
            .iter()
            .find(|a| a.name() == wanted)
            .map(|a| match &a.result {
                Ok(Answer::Suppressed { reason }) => *reason,
                Err(failed) => failed.reason(),
                _ => wanted,
            })
    };
    let reason = match name {
        "publish_failed" => first_reason("failed"),
        "in_progress" => Some("in_progress"),
        "suppressed" => first_reason("suppressed").or(Some("no_alerts")),
        _ => None,
    };
    let counted = match name {
        "publish_failed" => metrics::Outcome::PublishFailed,
        "in_progress" => metrics::Outcome::Rejected("in_progress"),
        "queued" => metrics::Outcome::Queued,
        "suppressed" => metrics::Outcome::Suppressed(reason.unwrap_or("unchanged")),
        _ => metrics::Outcome::Published,
    };
    let provider_name = provider.unwrap_or("unknown");
    metrics(&metrics::line(
        namespace,
        provider_name,
        counted,
        None,
        now_ms,
        outcome.elapsed.as_secs_f64() * 1000.0,
    ));
    let count = |wanted: &str| alerts.iter().filter(|a| a.name() == wanted).count();
    metrics(&metrics::group_line(
        namespace,
        provider_name,
        &metrics::GroupCounts {
            alerts: alerts.len(),
            published: count("published"),
            suppressed: count("suppressed"),
            queued: count("queued"),
            failed: count("failed") + count("in_progress"),
            truncated,
        },
        now_ms,
    ));
    let fallbacks = alerts.iter().filter_map(|a| a.state_fallback);
    if let Some(reason) = fallbacks.clone().next() {
        metrics(&metrics::state_fallback_line(
            namespace,
            provider_name,
            reason,
            now_ms,
        ));
    }

    let (form, secret_index) = credential_fields(outcome.credential);
    let topics: usize = alerts
        .iter()
        .map(|a| match &a.result {
            Ok(Answer::Published { topics, .. }) => *topics,
            _ => 0,
        })
        .sum();
    let failed: Vec<&Failure> = alerts
        .iter()
        .flat_map(|a| match &a.result {
            Err(Failed::Publish(failures)) | Ok(Answer::Queued { failures }) => &failures[..],
            _ => &[],
        })
        .collect();
    let mut failed_routes: Vec<&str> = failed.iter().map(|f| f.route.as_str()).collect();
    failed_routes.sort_unstable();
    failed_routes.dedup();
    let elapsed_us = u64::try_from(outcome.elapsed.as_micros()).unwrap_or(u64::MAX);
    tracing::info!(
        provider,
        outcome = match name {
            "publish_failed" => "failed",
            "in_progress" => "rejected",
            _ => name,
        },
        status = status.as_u16(),
        reason,
        alerts = alerts.len(),
        alert_outcomes = group_summary(alerts),
        truncated_alerts = (truncated > 0).then_some(truncated),
        topics,
        failed_routes = (!failed_routes.is_empty()).then(|| failed_routes.join(",")),
        state_fallback = fallbacks.clone().next(),
        alert_targets = alert_targets(alerts),
        form,
        secret_index,
        duration_us = elapsed_us,
        "request"
    );
    let events: Vec<serde_json::Value> = alerts.iter().map(Told::json).collect();
    let body = match (status.is_success(), alerts.is_empty()) {
        (true, true) => json!({"status": name, "reason": "no_alerts", "events": events}),
        (true, false) => json!({"status": name, "events": events}),
        (false, _) => json!({"error": name, "events": events}),
    };
    response(status, &body, wait)
}

/// Under alert state, each alert's targets by its event id's first 8 digits:
/// `3f9a0c1e: default=notified 1=unchanged; 77b2…`, so that the one line still says why an alert
/// of the group reached a topic or not.
fn alert_targets(alerts: &[Told]) -> Option<String> {
    let told: Vec<String> = alerts
        .iter()
        .filter_map(|a| {
            let targets = a.targets.as_deref()?;
            Some(format!(
                "{}: {targets}",
                a.event_id.get(..8).unwrap_or(&a.event_id)
            ))
        })
        .collect();
    (!told.is_empty()).then(|| told.join("; "))
}

/// The log line's `form` and `secret_index`: how the request proved itself.
fn credential_fields(credential: Option<Credential>) -> (Option<&'static str>, Option<usize>) {
    match credential {
        Some(Credential::Signature { form, secret_index }) => {
            (Some(form.as_str()), Some(secret_index))
        }
        Some(Credential::QuerySecret { secret_index }) => {
            (Some("query_secret"), Some(secret_index))
        }
        Some(Credential::Unsigned) => (Some("unsigned"), None),
        None => (None, None),
    }
}

/// `2,3`: the failed routes' labels.
fn failed_routes(failures: &[Failure]) -> String {
    let routes: Vec<&str> = failures.iter().map(|f| f.route.as_str()).collect();
    routes.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::{AuthError, MalformedPayload};
    use crate::publish::PublishError;

    #[test]
    fn every_failure_has_a_short_json_body_and_status() {
        let cases = [
            (
                Failed::Rejected(Rejection::Auth(AuthError::Missing)),
                401,
                "missing_signature",
            ),
            (
                Failed::Unreadable(Unreadable::Malformed(MalformedPayload::NotAnObject)),
                400,
                "malformed_payload",
            ),
            (
                Failed::Publish(vec![Failure {
                    route: "default".into(),
                    topic_arn: "arn:aws:sns:us-east-1:123456789012:alerts".into(),
                    error: PublishError::NoMessageId,
                }]),
                502,
                "publish_failed",
            ),
        ];
        for (failed, status, code) in cases {
            assert_eq!((failed.status().as_u16(), failed.code()), (status, code));
        }
    }
}
