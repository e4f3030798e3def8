//! Shared test fixtures: API Gateway events built the way API Gateway builds them, signed with the
//! crate's own signer, and publishers that record or fail.
#![allow(dead_code)]

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use alert_relay::format::Message;
use alert_relay::providers::{Provider, SecretEncoding, SignedForm};
use alert_relay::publish::{Fifo, PublishRequest};
use alert_relay::{Config, PublishError, Publisher, Relay};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

pub const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:alerts";
pub const FIFO_TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:alerts.fifo";

/// Obviously fake secrets; index 1 is the "rotated" one.
pub const SECRETS: [&str; 2] = ["test-secret-one", "test-secret-two"];
pub const QUERY_SECRET: &str = "test-query-secret";

// The providers' seeds as constants, for tests about one provider; `seed` finds any provider's.
pub const ATLAS_SEED: &str =
    include_str!("../../events/payloads/atlas/atlas-disk-space-alert.json");
pub const APP_SERVICES_SEED: &str =
    include_str!("../../events/payloads/app-services/app-services-message.json");
pub const MC_VOLUME_SEED: &str =
    include_str!("../../events/payloads/monte-carlo/monte-carlo-volume-anomaly.json");
pub const MC_RULE_SEED: &str =
    include_str!("../../events/payloads/monte-carlo/monte-carlo-rule-breach.json");
pub const STANDARD_WEBHOOKS_SEED: &str =
    include_str!("../../events/payloads/standard-webhooks/standard-webhooks-contact-created.json");

/// The body the generic tests send as `provider`, found by convention: the payload its samples
/// directory, `events/payloads/<slug>/`, names as its `"seed"` in `cases.json` (scripts/samples.py).
/// A new provider needs no line here.
pub fn seed(provider: Provider) -> &'static str {
    static SEEDS: OnceLock<Vec<(Provider, &'static str)>> = OnceLock::new();
    SEEDS
        .get_or_init(|| {
            Provider::ALL
                .into_iter()
                .map(|p| (p, read_seed(p)))
                .collect()
        })
        .iter()
        .find(|(p, _)| *p == provider)
        .map(|(_, seed)| *seed)
        .expect("every provider is in Provider::ALL")
}

/// How many alerts `provider`'s seed holds: one, or its group's.
pub fn seed_alerts(provider: Provider) -> usize {
    match provider.sends_groups() {
        true => serde_json::from_str::<Value>(seed(provider)).unwrap()["alerts"]
            .as_array()
            .unwrap()
            .len(),
        false => 1,
    }
}

/// The event ids a 200 or 202 answer names: its one `event_id`, or each of a group's `events`.
pub fn answered_ids(body: &Value) -> Vec<String> {
    match body["events"].as_array() {
        Some(events) => events
            .iter()
            .map(|e| e["event_id"].as_str().unwrap().to_owned())
            .collect(),
        None => vec![body["event_id"].as_str().unwrap().to_owned()],
    }
}

fn read_seed(provider: Provider) -> &'static str {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("events/payloads")
        .join(provider.slug());
    let read = |path: &Path| {
        std::fs::read_to_string(path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (each provider's samples are in events/payloads/<slug>/: docs/adding-a-provider.md)",
                path.display()
            )
        })
    };
    let cases: Value = serde_json::from_str(&read(&dir.join("cases.json")))
        .unwrap_or_else(|e| panic!("{}/cases.json: {e}", dir.display()));
    let name = cases["seed"]
        .as_str()
        .unwrap_or_else(|| panic!("{}/cases.json names no \"seed\"", dir.display()));
    Box::leak(read(&dir.join(name)).into_boxed_str())
}

/// Now in Unix milliseconds: API Gateway's `timeEpoch` for a request sent now, which a signature
/// that covers a timestamp (signed now, by `sign_body`) is checked against.
pub fn now_ms() -> u64 {
    u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap()
}

/// Now as API Gateway's `requestContext.time` writes it: `15/Jan/2024:10:30:00 +0000`.
fn request_time() -> String {
    let format = time::macros::format_description!(
        "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
    );
    time::OffsetDateTime::now_utc().format(&format).unwrap()
}

/// The signature header's value alone for `body`, signed now.
pub fn signature(provider: Provider, secret: &str, body: &[u8], form: SignedForm) -> String {
    let forms = provider.spec().forms;
    let form = if forms.contains(&form) {
        form
    } else {
        forms[0]
    };
    let headers = provider.sign_body(secret.as_bytes(), body, form).unwrap();
    provider.signature_in(&headers).unwrap().to_owned()
}

/// `request` with the headers a genuine signature over `body` covers besides its own
/// (Standard Webhooks' id and timestamp; none for most providers).
pub fn with_companions(request: Http, provider: Provider, body: &[u8]) -> Http {
    provider
        .sign_body(SECRETS[0].as_bytes(), body, provider.spec().forms[0])
        .unwrap()
        .into_iter()
        .filter(|(name, _)| *name != provider.signature_header())
        .fold(request, |request, (name, value)| {
            request.header(name, &value)
        })
}

/// Every provider enabled with both signing secrets; those whose sender documents query secrets
/// (the registry's `query_secrets`: App Services) also with a query secret.
pub fn config_vars() -> Vec<(String, String)> {
    let mut vars = vec![("ALERT_TOPIC_ARN".to_owned(), TOPIC.to_owned())];
    for p in Provider::ALL {
        for (suffix, form) in p.spec().secret_variables() {
            let written = SECRETS.map(|key| match form.encoding {
                SecretEncoding::Basic => format!("prometheus:{key}"),
                _ => form.write(key.as_bytes()),
            });
            vars.push((format!("{}_{suffix}", p.env_prefix()), written.join(",")));
        }
        if p.spec().query_secrets {
            vars.push((
                format!("{}_QUERY_SECRETS", p.env_prefix()),
                QUERY_SECRET.into(),
            ));
        }
    }
    vars
}

pub fn config_from(vars: &[(String, String)]) -> Config {
    Config::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
        .unwrap()
}

pub fn config() -> Config {
    config_from(&config_vars())
}

/// One publish as the publisher saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub topic_arn: String,
    pub message: Message,
    /// The CloudEvent: `default` of a structured message; the body itself otherwise.
    pub body: String,
    pub event_id: String,
    pub subject: String,
    pub attributes: Vec<(&'static str, String)>,
    pub fifo: Option<Fifo>,
}

impl Sent {
    fn of(request: PublishRequest<'_>) -> Self {
        let body = if request.message.structured {
            let structure: Value = serde_json::from_str(&request.message.body).unwrap();
            structure["default"].as_str().unwrap().to_owned()
        } else {
            request.message.body.clone()
        };
        let event_id = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["id"].as_str().map(str::to_owned))
            .unwrap_or_default();
        Sent {
            topic_arn: request.topic_arn.to_owned(),
            message: request.message.clone(),
            body,
            event_id,
            subject: request.subject.to_owned(),
            attributes: request
                .attributes
                .pairs()
                .iter()
                .map(|(k, v)| (*k, (*v).to_owned()))
                .collect(),
            fifo: request.fifo.cloned(),
        }
    }

    /// One of the structured message's bodies (`default`, `email`, `sms`).
    pub fn protocol(&self, key: &str) -> String {
        let structure: Value = serde_json::from_str(&self.message.body).unwrap();
        structure[key].as_str().unwrap().to_owned()
    }
}

#[derive(Clone, Default)]
pub struct Recording {
    pub published: Arc<Mutex<Vec<Sent>>>,
}

impl Recording {
    /// What was published, in the order publishes started.
    pub fn messages(&self) -> Vec<Sent> {
        self.published.lock().unwrap().clone()
    }

    /// What went to `topic`.
    pub fn to_topic(&self, topic: &str) -> Vec<Sent> {
        self.messages()
            .into_iter()
            .filter(|sent| sent.topic_arn == topic)
            .collect()
    }
}

impl Publisher for Recording {
    async fn publish(&self, request: PublishRequest<'_>) -> Result<String, PublishError> {
        let mut published = self.published.lock().unwrap();
        published.push(Sent::of(request));
        Ok(format!("msg-{}", published.len()))
    }
}

/// A destination that always refuses, like an unreachable SNS.
pub struct Failing;

impl Publisher for Failing {
    async fn publish(&self, _: PublishRequest<'_>) -> Result<String, PublishError> {
        Err(PublishError::Sns("connection refused".into()))
    }
}

/// Monte Carlo's volume-anomaly seed declared `SEV-1` (severity `critical`), signed with secret 0:
/// an alert every example route matches.
pub fn sev1_monte_carlo() -> Http {
    let mut body: Value = serde_json::from_str(MC_VOLUME_SEED).unwrap();
    body["payload"]["declared_alert_severity"] = json!("SEV-1");
    Http::signed(
        Provider::MonteCarlo,
        SECRETS[0],
        &body.to_string(),
        SignedForm::Raw,
    )
}

/// A log writer that keeps what it is given, for `logging::subscriber`.
#[derive(Clone, Default)]
pub struct LogCapture(pub Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// The SDK settings `main` uses, pointed at a local `endpoint` with fake credentials.
#[cfg(feature = "aws")]
pub async fn local_sdk(endpoint: &str) -> aws_config::SdkConfig {
    use aws_sdk_sns::config::{Credentials, Region};
    alert_relay::publish::sdk_loader()
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .load()
        .await
}

/// A relay whose EMF metric lines are dropped instead of written to stdout.
pub fn quiet<P: Publisher>(config: Config, publisher: P) -> Relay<P> {
    Relay::new(config, publisher).with_metrics(Box::new(|_| {}))
}

pub fn relay() -> (Relay<Recording>, Recording) {
    let recording = Recording::default();
    (quiet(config(), recording.clone()), recording)
}

/// One HTTP request, before API Gateway wraps it.
#[derive(Clone, Debug)]
pub struct Http {
    pub method: &'static str,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Http {
    pub fn post(path: &str, body: impl Into<Vec<u8>>) -> Self {
        Http {
            method: "POST",
            path: path.into(),
            query: String::new(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// `name` with this value only, whatever it had.
    pub fn replace_header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.header(name, value)
    }

    pub fn method(mut self, method: &'static str) -> Self {
        self.method = method;
        self
    }

    pub fn query(mut self, query: &str) -> Self {
        self.query = query.into();
        self
    }

    /// A webhook from `provider` signed with `secret` the way the provider signs.
    /// A form the provider does not sign in (`Raw` for Alertmanager's credentials) is its first.
    pub fn signed(provider: Provider, secret: &str, body: &str, form: SignedForm) -> Self {
        let forms = provider.spec().forms;
        let form = if forms.contains(&form) {
            form
        } else {
            forms[0]
        };
        let request = provider
            .sign_body(secret.as_bytes(), body.as_bytes(), form)
            .unwrap()
            .into_iter()
            .fold(
                Http::post(&format!("/webhooks/{}", provider.slug()), body.as_bytes()),
                |request, (name, value)| request.header(name, &value),
            );
        match provider.spec().event_header {
            Some(header) => request.header(header, "alert.open"),
            None => request,
        }
    }

    /// An HTTP API (payload 2.0) event, as a function URL or `cargo lambda watch` sends it.
    pub fn v2(&self) -> Value {
        self.v2_with(false)
    }

    pub fn v2_base64(&self) -> Value {
        self.v2_with(true)
    }

    fn v2_with(&self, base64: bool) -> Value {
        let mut headers = serde_json::Map::new();
        for (k, v) in &self.headers {
            let k = k.to_ascii_lowercase();
            // API Gateway joins repeated headers with commas.
            let joined = match headers.get(&k).and_then(Value::as_str) {
                Some(prev) => format!("{prev},{v}"),
                None => v.clone(),
            };
            headers.insert(k, Value::String(joined));
        }
        json!({
            "version": "2.0",
            "routeKey": "POST /webhooks/{provider}",
            "rawPath": self.path,
            "rawQueryString": self.query,
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012", "apiId": "api-id", "domainName": "id.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "id",
                "http": {"method": self.method, "path": self.path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "test"},
                "requestId": "id", "routeKey": "POST /webhooks/{provider}", "stage": "$default",
                "time": request_time(), "timeEpoch": now_ms()
            },
            "body": self.body_text(base64),
            "isBase64Encoded": base64
        })
    }

    /// A REST API (payload 1.0) event with a stage; the path carries the stage prefix as it does
    /// behind a custom domain's base path mapping.
    pub fn rest(&self, stage: &str, base64: bool) -> Value {
        let mut headers = serde_json::Map::new();
        let mut multi = serde_json::Map::new();
        for (k, v) in &self.headers {
            headers.insert(k.clone(), Value::String(v.clone()));
            multi
                .entry(k.clone())
                .or_insert_with(|| json!([]))
                .as_array_mut()
                .unwrap()
                .push(Value::String(v.clone()));
        }
        let (mut query, mut multi_query) = (serde_json::Map::new(), serde_json::Map::new());
        for pair in self.query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            query.insert(k.into(), Value::String(v.into()));
            multi_query
                .entry(k.to_owned())
                .or_insert_with(|| json!([]))
                .as_array_mut()
                .unwrap()
                .push(Value::String(v.into()));
        }
        json!({
            "resource": "/webhooks/{provider}",
            "path": format!("/{stage}{}", self.path),
            "httpMethod": self.method,
            "headers": headers,
            "multiValueHeaders": multi,
            "queryStringParameters": if query.is_empty() { Value::Null } else { Value::Object(query) },
            "multiValueQueryStringParameters": if multi_query.is_empty() { Value::Null } else { Value::Object(multi_query) },
            "pathParameters": null,
            "stageVariables": null,
            "requestContext": {
                "accountId": "123456789012", "resourceId": "abc123", "stage": stage, "requestId": "req",
                "identity": {"sourceIp": "192.0.2.1", "userAgent": "test"},
                "resourcePath": "/webhooks/{provider}", "httpMethod": self.method, "apiId": "api-id",
                "path": format!("/{stage}{}", self.path), "requestTimeEpoch": now_ms(), "protocol": "HTTP/1.1"
            },
            "body": self.body_text(base64),
            "isBase64Encoded": base64
        })
    }

    fn body_text(&self, base64: bool) -> Value {
        if base64 {
            Value::String(BASE64.encode(&self.body))
        } else if self.body.is_empty() {
            Value::Null
        } else {
            Value::String(String::from_utf8(self.body.clone()).expect("text body"))
        }
    }
}

/// The event as the function receives it: deserialized, guarded, converted by `lambda_http`.
pub fn request(event: &Value) -> Request {
    let event = serde_json::from_value(event.clone()).expect("a valid API Gateway event");
    alert_relay::handler::guard_body(event).into()
}

/// The response's status and JSON body.
pub fn parts(response: Response<Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let body: &[u8] = response.body().as_ref();
    (
        status,
        serde_json::from_slice(body).expect("JSON response body"),
    )
}

pub async fn send<P: Publisher, Q: alert_relay::publish::Fallback>(
    relay: &Relay<P, Q>,
    event: &Value,
) -> (u16, Value) {
    parts(relay.handle(request(event)).await)
}
pub mod golden;
pub mod hostile;
pub mod memory_table;
#[cfg(feature = "oracles")]
pub mod moto;

/// A severity lookup (Atlas alert configurations) that answers every lookup with `answer` and
/// records what it was asked.
#[derive(Clone)]
pub struct StandLookup {
    answer: Result<alert_relay::alert::Severity, &'static str>,
    asked: Arc<Mutex<Vec<(String, String)>>>,
}

impl StandLookup {
    pub fn new(answer: Result<alert_relay::alert::Severity, &'static str>) -> Self {
        StandLookup {
            answer,
            asked: Arc::default(),
        }
    }

    pub fn asked(&self) -> Vec<(String, String)> {
        self.asked.lock().unwrap().clone()
    }
}

impl alert_relay::pipeline::SeverityLookup for StandLookup {
    fn atlas_alert_config<'a>(
        &'a self,
        group_id: &'a str,
        alert_config_id: &'a str,
    ) -> alert_relay::pipeline::LookupFuture<'a> {
        self.asked
            .lock()
            .unwrap()
            .push((group_id.to_owned(), alert_config_id.to_owned()));
        let answer = self.answer;
        Box::pin(async move { answer })
    }
}

/// The rows of every Markdown table in `text`, each as its header's names to its cells (trimmed,
/// backticks dropped), in order.
pub fn markdown_rows(text: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut header: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    for line in text.lines() {
        if !line.starts_with('|') {
            header = None;
            continue;
        }
        let cells: Vec<String> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(|cell| cell.trim().trim_matches('`').to_owned())
            .collect();
        let Some(names) = &header else {
            header = Some(cells);
            continue;
        };
        if cells[0].starts_with("---") {
            continue;
        }
        rows.push(names.iter().cloned().zip(cells).collect());
    }
    rows
}

/// Counts the publishes in flight, each held for a few turns of the scheduler.
#[derive(Clone, Default)]
pub struct InFlight {
    pub now: Arc<Mutex<usize>>,
    pub most: Arc<Mutex<usize>>,
    pub total: Arc<Mutex<usize>>,
}

impl Publisher for InFlight {
    async fn publish(&self, _: PublishRequest<'_>) -> Result<String, PublishError> {
        {
            let mut now = self.now.lock().unwrap();
            *now += 1;
            let mut most = self.most.lock().unwrap();
            *most = (*most).max(*now);
            *self.total.lock().unwrap() += 1;
        }
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
        *self.now.lock().unwrap() -= 1;
        Ok("id".into())
    }
}
