//! HTTP for the Admin API on the AWS SDK's own connector: hyper 1 and hyper-util's pooled client
//! over hyper-rustls, rustls with aws-lc-rs, the native roots, as `aws-smithy-http-client` builds
//! it for SNS. Plain `http://` works too, for a local stand-in (config allows it only to
//! loopback and `host.docker.internal`).
//!
//! Written for size: requests are the SDK's own request type, bodies are read frame by frame, and
//! one boxed exchange serves both endpoints, so the binary gains little beyond this file's logic.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use aws_smithy_http_client::Connector;
use aws_smithy_http_client::tls::Provider;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_runtime_api::client::http::HttpConnector as _;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::date_time::{DateTime, Format};
use http_body_util::BodyExt as _;

use super::{Failure, Reason};
use crate::secret::Secret;

/// The most of an answer's body read: an alert configuration is a few KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub(super) struct Transport {
    /// Built at the first request, not at start: building it loads the trust roots, a cost the
    /// cold start need not pay for a lookup that may never come.
    connector: std::sync::OnceLock<Connector>,
}

/// An answer: its status, its `Retry-After`, and for a 2xx its body.
pub(super) struct Exchange {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

type Exchanging<'a> = Pin<Box<dyn Future<Output = Result<Exchange, Failure>> + Send + 'a>>;

impl Transport {
    pub fn new() -> Self {
        Transport {
            connector: std::sync::OnceLock::new(),
        }
    }

    fn connector(&self) -> &Connector {
        self.connector.get_or_init(|| {
            Connector::builder()
                .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
                .build()
        })
    }

    /// Sends `request` and reads a 2xx answer's body (at most [`MAX_BODY_BYTES`]: more is
    /// malformed). No error carries the request: each is a bare [`Reason`].
    pub fn exchange(&self, request: Result<HttpRequest, Failure>) -> Exchanging<'_> {
        Box::pin(async move {
            let response = self
                .connector()
                .call(request?)
                .await
                .map_err(|_| Failure::new(Reason::Unavailable))?;
            let status = response.status().as_u16();
            let retry_after = response.headers().get("retry-after").and_then(retry_after);
            let mut body = Vec::new();
            if (200..300).contains(&status) {
                let mut frames = std::pin::pin!(response.into_body());
                while let Some(frame) = frames.frame().await {
                    let frame = frame.map_err(|_| Failure::status(Reason::Unavailable, status))?;
                    if let Ok(data) = frame.into_data() {
                        if body.len() + data.len() > MAX_BODY_BYTES {
                            return Err(Failure::status(Reason::Malformed, status));
                        }
                        body.extend_from_slice(&data);
                    }
                }
            }
            Ok(Exchange {
                status,
                retry_after,
                body,
            })
        })
    }
}

/// `GET url` with a bearer token and the resource's versioned `Accept`.
pub(super) fn get(
    url: String,
    authorization: &Secret,
    accept: &'static str,
) -> Result<HttpRequest, Failure> {
    request(
        "GET",
        url,
        [("accept", accept)],
        authorization,
        SdkBody::empty(),
    )
}

/// `POST url` with a form body.
pub(super) fn post_form(
    url: String,
    authorization: &Secret,
    form: &'static str,
) -> Result<HttpRequest, Failure> {
    request(
        "POST",
        url,
        [
            ("accept", "application/json"),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        authorization,
        SdkBody::from(form),
    )
}

fn request<const N: usize>(
    method: &str,
    url: String,
    headers: [(&'static str, &'static str); N],
    authorization: &Secret,
    body: SdkBody,
) -> Result<HttpRequest, Failure> {
    // Mapped to bare reasons: no error below may carry the Authorization header.
    let unusable = Failure::new(Reason::Unavailable);
    let mut request = HttpRequest::new(body);
    request.set_method(method).map_err(|_| unusable)?;
    request.set_uri(url).map_err(|_| unusable)?;
    let authorization = std::str::from_utf8(authorization.expose())
        .map_err(|_| Failure::new(Reason::Malformed))?
        .to_owned();
    let fields = request.headers_mut();
    for (name, value) in headers {
        fields.try_insert(name, value).map_err(|_| unusable)?;
    }
    fields
        .try_insert("authorization", authorization)
        .map_err(|_| Failure::new(Reason::Malformed))?;
    Ok(request)
}

/// `Retry-After`: delay-seconds, or an HTTP-date (RFC 9110 10.2.3).
fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::from_str(value, Format::HttpDate).ok()?;
    let at = SystemTime::try_from(at).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        assert_eq!(retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        let later = SystemTime::now() + Duration::from_secs(600);
        let date = DateTime::from(later).fmt(Format::HttpDate).unwrap();
        let wait = retry_after(&date).unwrap();
        assert!(wait > Duration::from_secs(590) && wait <= Duration::from_secs(600));
        assert_eq!(retry_after("soon"), None);
        assert_eq!(retry_after("-5"), None);
    }

    #[test]
    fn requests_carry_the_method_url_and_headers_asked_for() {
        let bearer = Secret::new("Bearer t0ken");
        let request = get(
            "https://cloud.mongodb.com/api/atlas/v2/groups/a/alertConfigs/b".to_owned(),
            &bearer,
            "application/vnd.atlas.2023-01-01+json",
        )
        .unwrap();
        assert_eq!(request.method(), "GET");
        assert_eq!(
            request.uri(),
            "https://cloud.mongodb.com/api/atlas/v2/groups/a/alertConfigs/b"
        );
        let headers = request.headers();
        assert_eq!(
            headers.get("accept"),
            Some("application/vnd.atlas.2023-01-01+json")
        );
        assert_eq!(headers.get("authorization"), Some("Bearer t0ken"));
        // The SDK's own Debug redacts it.
        assert!(!format!("{request:?}").contains("t0ken"));

        let basic = Secret::new("Basic aWQ6c2VjcmV0");
        let request = post_form(
            "https://cloud.mongodb.com/api/oauth/token".to_owned(),
            &basic,
            "grant_type=client_credentials",
        )
        .unwrap();
        assert_eq!(request.method(), "POST");
        assert_eq!(
            request.headers().get("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(
            request.body().bytes(),
            Some(&b"grant_type=client_credentials"[..])
        );
        let broken = Secret::new("Bearer a\nb");
        assert!(get("https://h/x".to_owned(), &broken, "a/b").is_err());
    }
}
