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
    let provider = outcome.provider.map(Provider::slug);
    let counted = match &outcome.result {
        Ok(Answer::Published { .. }) => metrics::Outcome::Published,
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

    let (form, secret_index) = match outcome.credential {
        Some(Credential::Signature { form, secret_index }) => {
            (Some(form.as_str()), Some(secret_index))
        }
        Some(Credential::QuerySecret { secret_index }) => {
            (Some("query_secret"), Some(secret_index))
        }
        Some(Credential::Unsigned) => (Some("unsigned"), None),
        None => (None, None),
    };
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
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    if let Err(Failed::InProgress(wait)) = &outcome.result {
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
