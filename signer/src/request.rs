//! The request a provider would make, and the ways `sign` prints it: header lines, a curl
//! command, or an API Gateway event (HTTP API v2 or REST v1).

use alert_relay::providers::Signing;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::cli::{RequestArgs, Source};
use crate::sign::SignFailure;

pub const USER_AGENT: &str = concat!("alert-relay-sign/", env!("CARGO_PKG_VERSION"));
// Placeholders in the shape `sam local generate-event` uses.
const ACCOUNT_ID: &str = "123456789012";
const API_ID: &str = "abcdef1234";
const SOURCE_IP: &str = "192.0.2.10";

/// RFC 3986 unreserved characters stay as they are; every other byte is percent-encoded.
const QUERY_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The request the provider would make: everything the outputs render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    /// In the order the sender writes them, names as the sender spells them.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The request `args` describe, signed with `secret` (none: unsigned) at `epoch_ms`, as
    /// written in the provider's `<P>_WEBHOOK_SECRETS`.
    pub fn build(
        args: &RequestArgs,
        secret: Option<&str>,
        body: Vec<u8>,
        epoch_ms: i64,
    ) -> Result<Request, SignFailure> {
        let provider = args.provider.0;
        let spec = provider.spec();
        let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        if let (Some(event), Some(header)) = (&args.event, spec.event_header) {
            headers.push((header.to_owned(), event.clone()));
        }
        if let Some(secret) = secret {
            let key = spec.secrets.read(secret).map_err(SignFailure::Secret)?;
            let signing = Signing {
                body: &body,
                form: args.signed_form(),
                timestamp: epoch_ms.div_euclid(1000),
                id: &provider.message_id(&body),
            };
            for (name, value) in provider.sign(&key, &signing)? {
                headers.push((name.to_owned(), value));
            }
        }
        headers.extend(args.headers.iter().cloned());
        Ok(Request {
            method: args.method.clone(),
            path: args.path(),
            query: args.query.clone(),
            headers,
            body,
        })
    }

    pub fn raw_query(&self) -> String {
        self.query
            .iter()
            .map(|(key, value)| {
                format!(
                    "{}={}",
                    utf8_percent_encode(key, QUERY_COMPONENT),
                    utf8_percent_encode(value, QUERY_COMPONENT)
                )
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    /// `base` (an endpoint URL) with the request's query string appended.
    pub fn url(&self, base: &str) -> String {
        let mut url = base.to_owned();
        if !self.query.is_empty() {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&self.raw_query());
        }
        url
    }

    pub fn header_lines(&self) -> String {
        self.headers
            .iter()
            .map(|(name, value)| format!("{name}: {value}\n"))
            .collect()
    }

    /// A curl command for a POSIX shell. A body file is sent by curl itself, byte for byte; a
    /// body from standard input is inlined, which a shell argument cannot do for a NUL byte.
    pub fn curl(&self, url: &str, body: &Source) -> Result<String, shlex::QuoteError> {
        let mut command = format!("curl -sS -i -X {} {}", self.method, quote(url)?);
        for (name, value) in &self.headers {
            command.push_str(&format!(
                " \\\n  -H {}",
                quote(&format!("{name}: {value}"))?
            ));
        }
        let data = match body {
            Source::File(path) => quote(&format!("@{path}"))?,
            Source::Stdin => quote(&String::from_utf8_lossy(&self.body))?,
        };
        command.push_str(&format!(" \\\n  --data-binary {data}\n"));
        Ok(command)
    }

    fn body_field(&self, base64: bool) -> Value {
        if base64 {
            Value::String(BASE64.encode(&self.body))
        } else {
            Value::String(String::from_utf8_lossy(&self.body).into_owned())
        }
    }

    /// API Gateway adds these to what the sender wrote.
    fn gateway_headers(&self) -> Vec<(String, String)> {
        let mut headers = vec![
            (
                "Host".to_owned(),
                format!("{API_ID}.execute-api.us-east-1.amazonaws.com"),
            ),
            ("User-Agent".to_owned(), USER_AGENT.to_owned()),
        ];
        headers.extend(self.headers.iter().cloned());
        headers.extend([
            ("Content-Length".to_owned(), self.body.len().to_string()),
            ("X-Forwarded-For".to_owned(), SOURCE_IP.to_owned()),
            ("X-Forwarded-Port".to_owned(), "443".to_owned()),
            ("X-Forwarded-Proto".to_owned(), "https".to_owned()),
        ]);
        headers
    }

    /// The provider segment when the path is `…/webhooks/{provider}`.
    fn provider_segment(&self) -> Option<&str> {
        let mut segments = self.path.trim_end_matches('/').rsplit('/');
        let last = segments.next().filter(|s| !s.is_empty())?;
        (segments.next() == Some("webhooks")).then_some(last)
    }

    /// An HTTP API (payload format 2.0) event, as `sam local generate-event apigateway
    /// http-api-proxy` shapes it. HTTP APIs lowercase header names and join repeated ones.
    pub fn apigw_v2(&self, context: &EventContext) -> Value {
        let mut headers = Map::new();
        for (name, value) in self.gateway_headers() {
            let name = name.to_ascii_lowercase();
            let joined = match headers.remove(&name) {
                Some(Value::String(previous)) => format!("{previous},{value}"),
                _ => value,
            };
            headers.insert(name, Value::String(joined));
        }
        let stage = context.stage.clone().unwrap_or_else(|| "$default".into());
        let raw_path = if stage == "$default" {
            self.path.clone()
        } else {
            format!("/{stage}{}", self.path)
        };
        let route_key = match self.provider_segment() {
            Some(_) => format!("{} /webhooks/{{provider}}", self.method),
            None => "$default".into(),
        };
        let mut event = Map::new();
        event.insert("version".into(), json!("2.0"));
        event.insert("routeKey".into(), json!(route_key));
        event.insert("rawPath".into(), json!(raw_path));
        event.insert("rawQueryString".into(), json!(self.raw_query()));
        event.insert("headers".into(), Value::Object(headers));
        if !self.query.is_empty() {
            let mut params = Map::new();
            for (key, value) in &self.query {
                let joined = match params.remove(key) {
                    Some(Value::String(previous)) => format!("{previous},{value}"),
                    _ => value.clone(),
                };
                params.insert(key.clone(), Value::String(joined));
            }
            event.insert("queryStringParameters".into(), Value::Object(params));
        }
        event.insert(
            "requestContext".into(),
            json!({
                "accountId": ACCOUNT_ID,
                "apiId": API_ID,
                "domainName": format!("{API_ID}.execute-api.us-east-1.amazonaws.com"),
                "domainPrefix": API_ID,
                "http": {
                    "method": self.method,
                    "path": raw_path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": SOURCE_IP,
                    "userAgent": USER_AGENT,
                },
                "requestId": context.request_id,
                "routeKey": route_key,
                "stage": stage,
                "time": context.clf_time,
                "timeEpoch": context.epoch_ms,
            }),
        );
        if let Some(provider) = self.provider_segment() {
            event.insert("pathParameters".into(), json!({ "provider": provider }));
        }
        event.insert("body".into(), self.body_field(context.base64));
        event.insert("isBase64Encoded".into(), json!(context.base64));
        Value::Object(event)
    }

    /// A REST API (payload format 1.0) event, as `sam local generate-event apigateway aws-proxy`
    /// shapes it. `path` has no stage; `requestContext.path` has it.
    pub fn apigw_rest(&self, context: &EventContext) -> Value {
        let mut headers = Map::new();
        let mut multi_headers = Map::new();
        for (name, value) in self.gateway_headers() {
            headers.insert(name.clone(), Value::String(value.clone()));
            push_multi(&mut multi_headers, &name, &value);
        }
        let (query, multi_query) = if self.query.is_empty() {
            (Value::Null, Value::Null)
        } else {
            let mut single = Map::new();
            let mut multi = Map::new();
            for (key, value) in &self.query {
                single.insert(key.clone(), Value::String(value.clone()));
                push_multi(&mut multi, key, value);
            }
            (Value::Object(single), Value::Object(multi))
        };
        let stage = context.stage.clone().unwrap_or_else(|| "prod".into());
        let (resource, path_parameters) = match self.provider_segment() {
            Some(provider) => (
                "/webhooks/{provider}".to_owned(),
                json!({ "provider": provider }),
            ),
            None => (
                "/{proxy+}".to_owned(),
                json!({ "proxy": self.path.trim_start_matches('/') }),
            ),
        };
        json!({
            "resource": resource,
            "path": self.path,
            "httpMethod": self.method,
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query,
            "multiValueQueryStringParameters": multi_query,
            "pathParameters": path_parameters,
            "stageVariables": null,
            "requestContext": {
                "accountId": ACCOUNT_ID,
                "apiId": API_ID,
                "domainName": format!("{API_ID}.execute-api.us-east-1.amazonaws.com"),
                "domainPrefix": API_ID,
                "httpMethod": self.method,
                "identity": {
                    "sourceIp": SOURCE_IP,
                    "userAgent": USER_AGENT,
                },
                "path": format!("/{stage}{}", self.path),
                "protocol": "HTTP/1.1",
                "requestId": context.request_id,
                "requestTime": context.clf_time,
                "requestTimeEpoch": context.epoch_ms,
                "resourceId": "abc123",
                "resourcePath": resource,
                "stage": stage,
            },
            "body": self.body_field(context.base64),
            "isBase64Encoded": context.base64,
        })
    }
}

/// POSIX shell quoting, by shlex.
fn quote(text: &str) -> Result<String, shlex::QuoteError> {
    shlex::try_quote(text).map(|quoted| quoted.into_owned())
}

fn push_multi(map: &mut Map<String, Value>, key: &str, value: &str) {
    match map.get_mut(key) {
        Some(Value::Array(values)) => values.push(Value::String(value.to_owned())),
        _ => {
            map.insert(key.to_owned(), json!([value]));
        }
    }
}

/// What an event says about when and how it arrived.
pub struct EventContext {
    pub stage: Option<String>,
    pub base64: bool,
    pub epoch_ms: i64,
    /// API Gateway's `requestTime`: `15/Jan/2024:10:30:00 +0000`.
    pub clf_time: String,
    pub request_id: String,
}

impl EventContext {
    pub fn new(
        request: &Request,
        stage: Option<String>,
        base64: bool,
        epoch_ms: Option<i64>,
        request_id: Option<String>,
    ) -> EventContext {
        let epoch_ms = epoch_ms.unwrap_or_else(|| {
            (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
        });
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(epoch_ms) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let request_id = request_id.unwrap_or_else(|| derived_request_id(request, epoch_ms));
        EventContext {
            stage,
            base64,
            epoch_ms,
            clf_time: clf_time(at),
            request_id,
        }
    }
}

fn clf_time(at: OffsetDateTime) -> String {
    let month = at.month().to_string();
    format!(
        "{:02}/{}/{}:{:02}:{:02}:{:02} +0000",
        at.day(),
        &month[..3],
        at.year(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// A UUID-shaped id that depends only on the request, so regenerated fixtures do not churn.
fn derived_request_id(request: &Request, epoch_ms: i64) -> String {
    let mut hasher = Sha256::new();
    for part in [
        request.method.as_bytes(),
        request.path.as_bytes(),
        request.raw_query().as_bytes(),
    ] {
        hasher.update(part);
        hasher.update([0]);
    }
    for (name, value) in &request.headers {
        hasher.update(name.as_bytes());
        hasher.update(b": ");
        hasher.update(value.as_bytes());
        hasher.update([0]);
    }
    hasher.update(&request.body);
    hasher.update(epoch_ms.to_be_bytes());
    let hex = hex::encode(&hasher.finalize()[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_components_keep_only_unreserved_characters() {
        let request = Request {
            method: "POST".into(),
            path: "/webhooks/app-services".into(),
            query: vec![
                ("secret".into(), "a/b&c=d é~-._".into()),
                ("token".into(), "".into()),
            ],
            headers: Vec::new(),
            body: Vec::new(),
        };
        assert_eq!(
            request.raw_query(),
            "secret=a%2Fb%26c%3Dd%20%C3%A9~-._&token="
        );
        assert_eq!(
            request.url("https://x.test/a?b=1"),
            "https://x.test/a?b=1&secret=a%2Fb%26c%3Dd%20%C3%A9~-._&token="
        );
    }
}
