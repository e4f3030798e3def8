//! HTTP for the Admin API on the AWS SDK's own connector: hyper 1 and hyper-util's pooled client
//! over hyper-rustls, rustls with aws-lc-rs, the native roots, as `aws-smithy-http-client` builds
//! it for SNS. Plain `http://` works too, for a local stand-in (config allows it only to
//! loopback and `host.docker.internal`).

use std::time::{Duration, SystemTime};

use aws_smithy_http_client::Connector;
use aws_smithy_http_client::tls::Provider;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_runtime_api::client::http::HttpConnector as _;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::date_time::{DateTime, Format};
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};

use super::{Failure, Reason};
use crate::secret::Secret;

/// The most of an answer's body read: an alert configuration is a few KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub(super) struct Transport {
    connector: Connector,
}

/// A response's status and `Retry-After`, its body not yet read.
pub(super) struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    body: SdkBody,
}

impl Transport {
    pub fn new() -> Self {
        let connector = Connector::builder()
            .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
            .build();
        Transport { connector }
    }

    pub async fn send(&self, request: Result<HttpRequest, Failure>) -> Result<Answer, Failure> {
        let response = self
            .connector
            .call(request?)
            .await
            .map_err(|_| Failure::new(Reason::Unavailable))?;
        let status = response.status().as_u16();
        let retry_after = response.headers().get("retry-after").and_then(retry_after);
        Ok(Answer {
            status,
            retry_after,
            body: response.into_body(),
        })
    }
}

impl Answer {
    /// The body, at most [`MAX_BODY_BYTES`]; more is malformed.
    pub async fn body(self) -> Result<Vec<u8>, Failure> {
        let status = self.status;
        match Limited::new(self.body, MAX_BODY_BYTES).collect().await {
            Ok(collected) => Ok(collected.to_bytes().to_vec()),
            Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
                Err(Failure::status(Reason::Malformed, status))
            }
            Err(_) => Err(Failure::status(Reason::Unavailable, status)),
        }
    }
}

/// `GET url` with a bearer token and the resource's versioned `Accept`.
pub(super) fn get(
    url: &str,
    authorization: &Secret,
    accept: &'static str,
) -> Result<HttpRequest, Failure> {
    request(
        http::Request::get(url).header(ACCEPT, accept),
        authorization,
        SdkBody::empty(),
    )
}

/// `POST url` with a form body.
pub(super) fn post_form(
    url: &str,
    authorization: &Secret,
    form: &'static str,
) -> Result<HttpRequest, Failure> {
    request(
        http::Request::post(url)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded"),
        authorization,
        SdkBody::from(form),
    )
}

fn request(
    builder: http::request::Builder,
    authorization: &Secret,
    body: SdkBody,
) -> Result<HttpRequest, Failure> {
    // No error below carries the header: each is mapped to a bare reason.
    let mut value = HeaderValue::from_bytes(authorization.expose())
        .map_err(|_| Failure::new(Reason::Malformed))?;
    value.set_sensitive(true);
    let request = builder
        .header(AUTHORIZATION, value)
        .body(body)
        .map_err(|_| Failure::new(Reason::Unavailable))?;
    HttpRequest::try_from(request).map_err(|_| Failure::new(Reason::Unavailable))
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
}
