//! The first stage: which provider a request is for, whether it may be looked at (method,
//! size), and whether its credential checks out. Only what passes becomes a `Verified` request.

use lambda_http::http::Method;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::providers::{AuthError, Inbound, Provider, ProviderConfig, Verified};

/// What admission checks against: each provider's settings and the largest body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// In the order of `Provider::ALL`.
    pub providers: Vec<ProviderConfig>,
    pub max_body_bytes: usize,
}

impl Admission {
    pub fn provider(&self, provider: Provider) -> &ProviderConfig {
        &self.providers[provider.index()]
    }
}

/// Why a request was not admitted, in the order the checks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("unknown or disabled provider")]
    UnknownProvider,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("payload too large")]
    TooLarge,
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl Rejection {
    pub fn status(self) -> u16 {
        match self {
            Rejection::UnknownProvider => 404,
            Rejection::MethodNotAllowed => 405,
            Rejection::TooLarge => 413,
            Rejection::Auth(_) => 401,
        }
    }

    /// The `error` of the response body.
    pub fn code(self) -> &'static str {
        match self {
            Rejection::UnknownProvider => "unknown_provider",
            Rejection::MethodNotAllowed => "method_not_allowed",
            Rejection::TooLarge => "payload_too_large",
            Rejection::Auth(error) => error.code(),
        }
    }

    /// The `reason` of the log line: fixed words, never request data.
    pub fn reason(self) -> &'static str {
        match self {
            Rejection::Auth(error) => error.reason(),
            other => other.code(),
        }
    }
}

/// A request refused, and the provider it was for once that was known (an enabled one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub provider: Option<Provider>,
    pub rejection: Rejection,
}

/// Admits `request`, received at `received_at` (Unix seconds), or says why not.
pub fn admit<'r>(
    request: &'r Request,
    admission: &Admission,
    received_at: i64,
) -> Result<Verified<'r>, Refused> {
    let refused = |provider, rejection| Refused {
        provider,
        rejection,
    };
    let provider = route(request_path(request))
        .filter(|p| admission.provider(*p).is_enabled())
        .ok_or(refused(None, Rejection::UnknownProvider))?;
    let known = Some(provider);
    if request.method() != Method::POST {
        return Err(refused(known, Rejection::MethodNotAllowed));
    }
    let body: &[u8] = request.body().as_ref();
    if body.len() > admission.max_body_bytes {
        return Err(refused(known, Rejection::TooLarge));
    }
    let query_secrets = query_secrets(request);
    // For an operator debugging a rejection (RUST_LOG=debug): what arrived, by name and size
    // only. Header values, the query string and the body may hold credentials: never logged.
    tracing::debug!(
        provider = provider.slug(),
        body_bytes = body.len(),
        headers = %HeaderNames(request.headers()),
        query_credentials = query_secrets.len(),
        "received"
    );
    let inbound = Inbound {
        headers: request.headers(),
        query_secrets: &query_secrets,
        body,
        received_at,
    };
    provider
        .authenticate(admission.provider(provider), inbound)
        .map_err(|error| refused(known, Rejection::Auth(error)))
}

/// A request's header names, comma-separated, in the order received (values left out).
struct HeaderNames<'a>(&'a http::HeaderMap);

impl std::fmt::Display for HeaderNames<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, name) in self.0.keys().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(name.as_str())?;
        }
        Ok(())
    }
}

/// The path as API Gateway received it (a function URL has no `pathParameters`: route on it).
pub fn request_path(request: &Request) -> &str {
    match request.raw_http_path() {
        "" => request.uri().path(),
        raw => raw,
    }
}

/// The provider named by the path's last two segments, `webhooks/{provider}`: whatever comes
/// before (a REST API stage, a function-URL prefix) and a trailing slash are ignored. The path is
/// matched as received: no dot-segment or percent-decoding, so only the exact names route.
pub fn route(path: &str) -> Option<Provider> {
    let path = path.strip_suffix('/').unwrap_or(path);
    let (rest, slug) = path.rsplit_once('/')?;
    let (_, literal) = rest.rsplit_once('/')?;
    (literal == "webhooks").then_some(())?;
    Provider::from_slug(slug)
}

/// Every `secret` and `token` query parameter value, in that order.
pub fn query_secrets(request: &Request) -> Vec<&str> {
    let Some(query) = request.query_string_parameters_ref() else {
        return Vec::new();
    };
    ["secret", "token"]
        .into_iter()
        .filter_map(|name| query.all(name))
        .flatten()
        .collect()
}

/// Epoch values below this are seconds, above it milliseconds (it is 1973 in milliseconds and
/// the year 5138 in seconds): API Gateway sends milliseconds, `cargo lambda watch` seconds.
const MILLISECONDS_FROM: i64 = 100_000_000_000;

/// When API Gateway received the request (`requestContext.timeEpoch`, or the REST API's
/// `requestTimeEpoch`), in Unix seconds; `now` where the event has no time of its own. A sender's
/// signed timestamp is compared with it: what a caller cannot set, and what a replayed sample
/// event keeps.
pub fn received_at(request: &Request, now: i64) -> i64 {
    received_at_ms(request, now.saturating_mul(1000)).div_euclid(1000)
}

/// As [`received_at`], in Unix milliseconds: alert state compares it with a silence's start,
/// which is in milliseconds too (a request in the second a silence began, after it, is silenced).
pub fn received_at_ms(request: &Request, now_ms: i64) -> i64 {
    let epoch = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.time_epoch,
        Some(RequestContext::ApiGatewayV1(context)) => context.request_time_epoch,
        #[allow(unreachable_patterns)]
        _ => 0,
    };
    match epoch {
        ..=0 => now_ms,
        seconds if seconds < MILLISECONDS_FROM => seconds.saturating_mul(1000),
        milliseconds => milliseconds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_on_the_last_two_segments() {
        assert_eq!(route("/webhooks/atlas"), Some(Provider::Atlas));
        assert_eq!(
            route("/webhooks/app-services/"),
            Some(Provider::AppServices)
        );
        assert_eq!(
            route("/prod/webhooks/monte-carlo"),
            Some(Provider::MonteCarlo)
        );
        assert_eq!(
            route("/lambda-url/alert-relay/webhooks/atlas"),
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
            "/webhooks/pagerduty",
        ] {
            assert_eq!(route(path), None, "{path}");
        }
    }

    #[test]
    fn every_rejection_has_the_contracts_status_and_code() {
        let cases = [
            (Rejection::UnknownProvider, 404, "unknown_provider"),
            (Rejection::MethodNotAllowed, 405, "method_not_allowed"),
            (Rejection::TooLarge, 413, "payload_too_large"),
            (
                Rejection::Auth(AuthError::Missing),
                401,
                "missing_signature",
            ),
        ];
        for (rejection, status, code) in cases {
            assert_eq!((rejection.status(), rejection.code()), (status, code));
        }
    }

    #[test]
    fn the_request_time_is_api_gateways_else_now() {
        let event = |context: &str| {
            format!(
                r#"{{"version":"2.0","routeKey":"$default","rawPath":"/webhooks/atlas","rawQueryString":"",
                    "headers":{{}},"requestContext":{{"http":{{"method":"POST","path":"/webhooks/atlas",
                    "protocol":"HTTP/1.1","sourceIp":"192.0.2.1","userAgent":"t"}},{context}
                    "accountId":"1","apiId":"a","domainName":"d","domainPrefix":"d","requestId":"r",
                    "routeKey":"$default","stage":"$default"}},"isBase64Encoded":false}}"#
            )
        };
        let dated =
            lambda_http::request::from_str(&event(r#""timeEpoch":1705314600123,"#)).unwrap();
        assert_eq!(received_at(&dated, 7), 1_705_314_600);
        let seconds = lambda_http::request::from_str(&event(r#""timeEpoch":1705314600,"#)).unwrap();
        assert_eq!(received_at(&seconds, 7), 1_705_314_600);
        let undated = lambda_http::request::from_str(&event("")).unwrap();
        assert_eq!(received_at(&undated, 7), 7);
        assert_eq!(received_at_ms(&dated, 7_000), 1_705_314_600_123);
        assert_eq!(received_at_ms(&seconds, 7_000), 1_705_314_600_000);
        assert_eq!(received_at_ms(&undated, 7_000), 7_000);
    }
}
