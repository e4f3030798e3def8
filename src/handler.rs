//! One request: route → method → size → authenticate → parse → publish → response.
//! No provider logic lives here; every failure a caller can cause becomes the contract's status
//! with a short JSON body, and exactly one log line says what happened.

use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use lambda_http::http::{Method, StatusCode, header};
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::Config;
use crate::event::{Event, EventError};
use crate::metrics;
use crate::providers::{AuthError, Credential, Inbound, MalformedPayload, Provider};
use crate::publish::{Fallback, NoFallback, Outbox, Pending, PublishError, Publisher, publish_all};

/// The function: configuration and publisher built once at cold start, shared by every request.
pub struct Relay<P, Q = NoFallback> {
    pub(crate) config: Config,
    pub(crate) publisher: P,
    /// Where publishes that failed go (`FALLBACK_QUEUE_URL`); without it a failure is a 502.
    pub(crate) fallback: Option<Q>,
    pub(crate) metrics: MetricsSink,
    /// When a request is received: an alert without a time of its own is dated by it.
    clock: fn() -> OffsetDateTime,
}

/// Where the per-request EMF line goes: stdout in Lambda, a buffer in tests.
pub type MetricsSink = Box<dyn Fn(&str) + Send + Sync>;

fn stdout_sink() -> MetricsSink {
    Box::new(|line| {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        // A lost metric line must never fail the request.
        let _ = writeln!(out, "{line}");
    })
}

/// Everything the contract can answer besides 200.
#[derive(Debug, thiserror::Error)]
enum Rejection {
    #[error("unknown or disabled provider")]
    UnknownProvider,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("payload too large")]
    TooLarge,
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Malformed(#[from] MalformedPayload),
    #[error("{} of the alert's publishes failed", .0.len())]
    Publish(Vec<Failure>),
    #[error(transparent)]
    Event(#[from] EventError),
}

/// A publish that failed: the route's label (`default` or its position) and why.
#[derive(Debug)]
pub(crate) struct Failure {
    route: String,
    topic_arn: String,
    error: PublishError,
}

/// What one round of an outbox's publishes left.
pub(crate) struct Round {
    /// The default topic's message id, when it took the alert.
    pub(crate) message_id: Option<String>,
    /// Indexes into `Outbox::publishes` of the publishes that failed, and why each did.
    pub(crate) failed: Vec<usize>,
    pub(crate) failures: Vec<Failure>,
}

/// Why failed publishes are not in the fallback queue.
pub(crate) enum Unqueued {
    /// `FALLBACK_QUEUE_URL` is not set.
    NoQueue,
    /// The queue refused or could not be reached (logged).
    Failed,
}

/// What became of an accepted alert.
enum Delivered {
    /// On every topic it was routed to; `message_id` is the default topic's.
    Published { message_id: String, topics: usize },
    /// Some publishes failed; they are in the fallback queue.
    Queued { failures: Vec<Failure> },
}

impl Rejection {
    fn status(&self) -> StatusCode {
        match self {
            Rejection::UnknownProvider => StatusCode::NOT_FOUND,
            Rejection::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Rejection::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::Auth(_) => StatusCode::UNAUTHORIZED,
            Rejection::Malformed(_) => StatusCode::BAD_REQUEST,
            Rejection::Publish(_) => StatusCode::BAD_GATEWAY,
            Rejection::Event(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `error` of the response body.
    fn code(&self) -> &'static str {
        match self {
            Rejection::UnknownProvider => "unknown_provider",
            Rejection::MethodNotAllowed => "method_not_allowed",
            Rejection::TooLarge => "payload_too_large",
            Rejection::Auth(error) => error.code(),
            Rejection::Malformed(_) => "malformed_payload",
            Rejection::Publish(_) => "publish_failed",
            Rejection::Event(_) => "internal_error",
        }
    }

    /// A finer reason for the log line; fixed strings only, never request data.
    fn reason(&self) -> &'static str {
        match self {
            Rejection::Auth(AuthError::Invalid(why)) => why.reason(),
            Rejection::Malformed(malformed) => malformed.reason(),
            Rejection::Publish(failures) => failures
                .first()
                .map_or("publish_failed", |f| f.error.reason()),
            other => other.code(),
        }
    }
}

/// What the log line reports about a request.
#[derive(Default)]
struct Trace {
    provider: Option<Provider>,
    event_id: Option<String>,
    credential: Option<Credential>,
}

impl<P: Publisher> Relay<P> {
    pub fn new(config: Config, publisher: P) -> Self {
        Relay {
            config,
            publisher,
            fallback: None,
            metrics: stdout_sink(),
            clock: OffsetDateTime::now_utc,
        }
    }
}

impl<P: Publisher, Q: Fallback> Relay<P, Q> {
    /// Keeps the publishes that fail in `queue` and answers 202 instead of 502.
    pub fn with_fallback<F: Fallback>(self, queue: F) -> Relay<P, F> {
        Relay {
            config: self.config,
            publisher: self.publisher,
            fallback: Some(queue),
            metrics: self.metrics,
            clock: self.clock,
        }
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

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub async fn handle(&self, request: Request) -> Response<Body> {
        let started = Instant::now();
        let mut trace = Trace::default();
        let result = self.process(&request, &mut trace).await;
        let elapsed = started.elapsed();
        let elapsed_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let (form, secret_index) = match trace.credential {
            Some(Credential::Signature { form, secret_index }) => {
                (Some(form.as_str()), Some(secret_index))
            }
            Some(Credential::QuerySecret { secret_index }) => {
                (Some("query_secret"), Some(secret_index))
            }
            Some(Credential::Unsigned) => (Some("unsigned"), None),
            None => (None, None),
        };
        let provider = trace.provider.map(Provider::slug);
        let counted = match &result {
            Ok(Delivered::Published { .. }) => metrics::Outcome::Published,
            Ok(Delivered::Queued { .. }) => metrics::Outcome::Queued,
            Err(Rejection::Publish(_) | Rejection::Event(_)) => metrics::Outcome::PublishFailed,
            Err(rejection) => metrics::Outcome::Rejected(rejection.reason()),
        };
        let now_ms = metrics::now_ms();
        let emf = metrics::line(
            &self.config.metrics_namespace,
            provider.unwrap_or("unknown"),
            counted,
            now_ms,
            elapsed.as_secs_f64() * 1000.0,
        );
        (self.metrics)(&emf);
        let event_id = trace.event_id.as_deref();
        let (status, outcome, reason, topics, failures, body) = match &result {
            Ok(Delivered::Queued { failures }) => (
                StatusCode::ACCEPTED,
                "queued",
                None,
                None,
                Some(&failures[..]),
                json!({"status": "queued", "event_id": event_id.unwrap_or_default()}),
            ),
            Ok(Delivered::Published { message_id, topics }) => (
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
            Err(rejection) => (
                rejection.status(),
                match rejection {
                    Rejection::Publish(_) | Rejection::Event(_) => "failed",
                    _ => "rejected",
                },
                Some(rejection.reason()),
                None,
                match rejection {
                    Rejection::Publish(failures) => Some(&failures[..]),
                    _ => None,
                },
                json!({"error": rejection.code()}),
            ),
        };
        if let Some(failures) = failures {
            log_failures(provider, event_id, failures);
        }
        tracing::info!(
            provider,
            outcome,
            status = status.as_u16(),
            reason,
            event_id,
            topics,
            failed_routes = failures.map(failed_routes),
            form,
            secret_index,
            duration_us = elapsed_us,
            "request"
        );
        let mut response = json_response(status, &body);
        if status == StatusCode::METHOD_NOT_ALLOWED {
            response
                .headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        }
        response
    }

    async fn process(&self, request: &Request, trace: &mut Trace) -> Result<Delivered, Rejection> {
        let provider = route(request).ok_or(Rejection::UnknownProvider)?;
        let settings = self.config.provider(provider);
        if !settings.is_enabled() {
            return Err(Rejection::UnknownProvider);
        }
        trace.provider = Some(provider);

        if request.method() != Method::POST {
            return Err(Rejection::MethodNotAllowed);
        }
        let body: &[u8] = request.body().as_ref();
        if body.len() > self.config.max_body_bytes {
            return Err(Rejection::TooLarge);
        }

        let query_secrets = query_secrets(request);
        let inbound = Inbound {
            headers: request.headers(),
            query_secrets: &query_secrets,
            body,
            received_at: (self.clock)().unix_timestamp(),
        };
        let verified = provider.authenticate(settings, inbound)?;
        trace.credential = Some(verified.credential());

        // The event id hashes the whole body (up to 256 KiB): `Event::new` does it, so it is
        // done here only for the failures that stop before it.
        let mut event_id = || trace.event_id = Some(crate::event::event_id(provider, body));
        let alert = provider.normalize(verified).inspect_err(|_| event_id())?;
        let received = (self.clock)();
        let event = Event::new(provider, alert, body, received).inspect_err(|_| event_id())?;
        trace.event_id = Some(event.id.clone());
        let outbox = self.config.routes.outbox(&event)?;

        let Round {
            message_id,
            failed,
            failures,
        } = self.publish_round(&outbox).await;
        if let (Some(message_id), true) = (message_id, failures.is_empty()) {
            return Ok(Delivered::Published {
                message_id,
                topics: outbox.publishes.len(),
            });
        }
        let first_attempt = received.format(&Rfc3339).unwrap_or_default();
        match self.keep(&outbox, &failed, first_attempt).await {
            Ok(()) => Ok(Delivered::Queued { failures }),
            Err(Unqueued::NoQueue | Unqueued::Failed) => Err(Rejection::Publish(failures)),
        }
    }

    /// Publishes every one of `outbox`'s publishes at once.
    pub(crate) async fn publish_round(&self, outbox: &Outbox) -> Round {
        let results = publish_all(&self.publisher, outbox).await;
        let mut round = Round {
            message_id: None,
            failed: Vec::new(),
            failures: Vec::new(),
        };
        for (index, (publish, result)) in outbox.publishes.iter().zip(results).enumerate() {
            match result {
                Ok(id) if publish.route == 0 => round.message_id = Some(id),
                Ok(_) => {}
                Err(error) => {
                    round.failed.push(index);
                    round.failures.push(Failure {
                        route: publish.route_label(),
                        topic_arn: publish.topic_arn.clone(),
                        error,
                    });
                }
            }
        }
        round
    }

    /// Writes `outbox`'s publishes at `failed` to the fallback queue, as one message.
    pub(crate) async fn keep(
        &self,
        outbox: &Outbox,
        failed: &[usize],
        first_attempt: String,
    ) -> Result<(), Unqueued> {
        let Some(queue) = &self.fallback else {
            return Err(Unqueued::NoQueue);
        };
        let queued = match Pending::of(outbox, failed, first_attempt).encode() {
            Ok(body) => queue.enqueue(body).await.map_err(|e| e.to_string()),
            Err(error) => Err(error.to_string()),
        };
        queued.map_err(|error| {
            tracing::error!(
                provider = outbox.attributes.provider.as_str(),
                event_id = outbox.event_id.as_str(),
                error = %error,
                "fallback queue failed"
            );
            Unqueued::Failed
        })
    }
}

/// One warning per failed publish: which route, which topic, why.
pub(crate) fn log_failures(provider: Option<&str>, event_id: Option<&str>, failures: &[Failure]) {
    for failure in failures {
        tracing::warn!(
            provider,
            event_id,
            route = failure.route,
            topic = failure.topic_arn,
            reason = failure.error.reason(),
            error = %failure.error,
            "publish failed"
        );
    }
}

/// `2,3`: the failed routes' labels.
fn failed_routes(failures: &[Failure]) -> String {
    let routes: Vec<&str> = failures.iter().map(|f| f.route.as_str()).collect();
    routes.join(",")
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

/// The provider named by the path's last two segments, `webhooks/{provider}`: whatever comes
/// before (a REST API stage, a function-URL prefix) and a trailing slash are ignored. The path is
/// matched as received: no dot-segment or percent-decoding, so only the exact names route.
fn route(request: &Request) -> Option<Provider> {
    let path = match request.raw_http_path() {
        "" => request.uri().path(),
        raw => raw,
    };
    let path = path.strip_suffix('/').unwrap_or(path);
    let (rest, slug) = path.rsplit_once('/')?;
    let (_, literal) = rest.rsplit_once('/')?;
    (literal == "webhooks").then_some(())?;
    Provider::from_slug(slug)
}

/// Every `secret` and `token` query parameter value.
fn query_secrets(request: &Request) -> Vec<&str> {
    let Some(query) = request.query_string_parameters_ref() else {
        return Vec::new();
    };
    ["secret", "token"]
        .into_iter()
        .filter_map(|name| query.all(name))
        .flatten()
        .collect()
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::RequestExt;

    fn route_of(path: &str) -> Option<Provider> {
        route(&Request::default().with_raw_http_path(path))
    }

    #[test]
    fn routes_on_the_last_two_segments() {
        assert_eq!(route_of("/webhooks/atlas"), Some(Provider::Atlas));
        assert_eq!(
            route_of("/webhooks/app-services/"),
            Some(Provider::AppServices)
        );
        assert_eq!(
            route_of("/prod/webhooks/monte-carlo"),
            Some(Provider::MonteCarlo)
        );
        assert_eq!(
            route_of("/lambda-url/alert-relay/webhooks/atlas"),
            Some(Provider::Atlas)
        );
        for path in [
            "",
            "/",
            "/webhooks",
            "/webhooks/",
            "webhooks/atlas",
            "/webhooks/atlas//",
            "/webhooks/Atlas",
            "/hooks/atlas",
            "/webhooks/atlas/../monte-carlo",
            "/webhooks/%61tlas",
        ] {
            assert_eq!(route_of(path), None, "{path}");
        }
    }

    #[test]
    fn every_rejection_has_a_short_json_body_and_status() {
        let cases = [
            (Rejection::UnknownProvider, 404, "unknown_provider"),
            (Rejection::MethodNotAllowed, 405, "method_not_allowed"),
            (Rejection::TooLarge, 413, "payload_too_large"),
            (
                Rejection::Auth(AuthError::Missing),
                401,
                "missing_signature",
            ),
            (
                Rejection::Malformed(MalformedPayload::NotAnObject),
                400,
                "malformed_payload",
            ),
            (
                Rejection::Publish(vec![Failure {
                    route: "default".into(),
                    topic_arn: "arn:aws:sns:us-east-1:123456789012:alerts".into(),
                    error: PublishError::NoMessageId,
                }]),
                502,
                "publish_failed",
            ),
        ];
        for (rejection, status, code) in cases {
            assert_eq!(
                (rejection.status().as_u16(), rejection.code()),
                (status, code)
            );
        }
    }
}
