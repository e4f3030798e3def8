//! `alert-relay-sign`: prints what a provider would send for a JSON body — its headers, a curl
//! command, or a complete API Gateway event (HTTP API v2 or REST v1) — signed with a given secret.
//!
//! Users point it at a deployed endpoint with curl; `make events` builds the project's fixtures
//! with it, so every signature in `events/` comes from the crate's own `Provider::sign`.

use std::io::{self, Read, Write};
use std::process::ExitCode;

use alert_relay::providers::{Provider, SignError, SignedForm};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

const USAGE: &str = "\
Usage: alert-relay-sign --provider atlas|app-services|monte-carlo
                        (--secret SECRET | --secret-env VAR | --unsigned)
                        --body FILE|-  [options]

Prints the request the provider would send for the JSON body, signed with the secret.

Options:
  --provider P        atlas (X-MMS-Signature), app-services (X-Hook-Signature) or
                      monte-carlo (x-mcd-signature)
  --secret S          the signing secret (visible to other local users: prefer --secret-env)
  --secret-env VAR    read the signing secret from the environment variable VAR
  --unsigned          send no signature header (for query secrets or a missing-signature test)
  --body FILE|-       the JSON body, sent byte for byte; `-` reads standard input
  --form raw|documented
                      what is signed: the raw body (default) or, for monte-carlo only, Monte
                      Carlo's documented form urlencode(json.loads(body))
  --event NAME        atlas only: the X-MMS-Event header, e.g. alert.open, alert.close
  --header 'K: V'     an extra header (repeatable)
  --query K=V         a query parameter, e.g. secret=... (repeatable)
  --method M          HTTP method (default POST)
  --path P            request path (default /webhooks/<provider>)
  --output O          headers (default): one `Name: value` line each, for curl -H @file
                      curl: a complete curl command
                      apigw-v2: an API Gateway HTTP API (payload 2.0) event
                      apigw-rest: an API Gateway REST API (payload 1.0) event
  --url URL           curl only: the endpoint (default
                      http://127.0.0.1:9000/lambda-url/alert-relay<path>)
  --stage S           events: the API stage (apigw-rest default prod, apigw-v2 default $default)
  --base64            events: base64-encode the body and set isBase64Encoded
  --epoch-ms N        events: the request time in Unix milliseconds (default now)
  --request-id ID     events: the request id (default derived from the request)
  -h, --help          this text

Examples:
  alert-relay-sign --provider atlas --secret-env ATLAS_SECRET --event alert.open \\
      --body alert.json --output curl --url https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/atlas | sh
  alert-relay-sign --provider monte-carlo --secret-env MC_SECRET --form documented \\
      --body incident.json --output apigw-v2 > event.json && cargo lambda invoke --data-file event.json
";

const LOCAL_FUNCTION_URL: &str = "http://127.0.0.1:9000/lambda-url/alert-relay";
const ATLAS_EVENT_HEADER: &str = "X-MMS-Event";
const USER_AGENT: &str = concat!("alert-relay-sign/", env!("CARGO_PKG_VERSION"));
// Placeholders in the shape `sam local generate-event` uses.
const ACCOUNT_ID: &str = "123456789012";
const API_ID: &str = "abcdef1234";
const SOURCE_IP: &str = "192.0.2.10";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match Options::parse(args) {
        Ok(Command::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Sign(options)) => options,
        Err(error) => {
            eprintln!("alert-relay-sign: {error}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(output) => match io::stdout().lock().write_all(output.as_bytes()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("alert-relay-sign: cannot write output: {error}");
                ExitCode::FAILURE
            }
        },
        Err(error) => {
            eprintln!("alert-relay-sign: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(options: &Options) -> Result<String, CliError> {
    let body = read_body(&options.body)?;
    let secret = match &options.secret {
        SecretSource::Value(secret) => Some(secret.clone()),
        SecretSource::Env(var) => {
            Some(std::env::var(var).map_err(|_| CliError::SecretEnvUnset(var.clone()))?)
        }
        SecretSource::Unsigned => None,
    };
    // alert-relay refuses empty secrets in its configuration, so nothing signed with one passes.
    if secret.as_deref() == Some("") {
        return Err(CliError::EmptySecret);
    }
    let request = Request::build(options, secret.as_deref(), body)?;
    Ok(match options.output {
        Output::Headers => request.header_lines(),
        Output::Curl => request.curl(options),
        Output::ApigwV2 => to_json(&request.apigw_v2(&EventContext::new(options, &request))),
        Output::ApigwRest => to_json(&request.apigw_rest(&EventContext::new(options, &request))),
    })
}

fn read_body(source: &BodySource) -> Result<Vec<u8>, CliError> {
    match source {
        BodySource::Stdin => {
            let mut body = Vec::new();
            io::stdin()
                .read_to_end(&mut body)
                .map_err(|error| CliError::Read("standard input".into(), error))?;
            Ok(body)
        }
        BodySource::File(path) => {
            std::fs::read(path).map_err(|error| CliError::Read(path.clone(), error))
        }
    }
}

fn to_json(value: &Value) -> String {
    // Serializing a `Value` cannot fail; the fallback keeps the CLI panic-free.
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("cannot read {0}: {1}")]
    Read(String, #[source] io::Error),
    #[error("the environment variable {0} (--secret-env) is not set")]
    SecretEnvUnset(String),
    #[error("the secret is empty")]
    EmptySecret,
    #[error(transparent)]
    Sign(#[from] SignError),
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
enum UsageError {
    #[error("unknown option {0}")]
    UnknownOption(String),
    #[error("{0} needs a value")]
    MissingValue(&'static str),
    #[error("{0} is required")]
    Required(&'static str),
    #[error("{option}: invalid value {value:?} ({expected})")]
    InvalidValue {
        option: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("{0} given more than once")]
    Repeated(&'static str),
    #[error("{0}")]
    Conflict(&'static str),
}

/// The variant named by `value` among `choices`, or the usage error that lists them.
fn choice<T: Copy>(
    option: &'static str,
    value: String,
    choices: &[(&str, T)],
    expected: &'static str,
) -> Result<T, UsageError> {
    match choices.iter().find(|(name, _)| *name == value) {
        Some(&(_, choice)) => Ok(choice),
        None => Err(UsageError::InvalidValue {
            option,
            value,
            expected,
        }),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum SecretSource {
    Value(String),
    Env(String),
    Unsigned,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum BodySource {
    Stdin,
    File(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    Headers,
    Curl,
    ApigwV2,
    ApigwRest,
}

#[derive(Debug, PartialEq, Eq)]
enum Command {
    Help,
    Sign(Box<Options>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Options {
    provider: Provider,
    secret: SecretSource,
    body: BodySource,
    form: SignedForm,
    event: Option<String>,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    method: String,
    path: String,
    output: Output,
    url: Option<String>,
    stage: Option<String>,
    base64: bool,
    epoch_ms: Option<i64>,
    request_id: Option<String>,
}

/// Sets a once-only option.
fn once<T>(slot: &mut Option<T>, option: &'static str, value: T) -> Result<(), UsageError> {
    match slot.replace(value) {
        Some(_) => Err(UsageError::Repeated(option)),
        None => Ok(()),
    }
}

impl Options {
    fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, UsageError> {
        let mut provider = None;
        let mut secret = None;
        let mut body = None;
        let mut form = None;
        let mut event = None;
        let mut headers = Vec::new();
        let mut query = Vec::new();
        let mut method = None;
        let mut path = None;
        let mut output = None;
        let mut url = None;
        let mut stage = None;
        let mut base64 = false;
        let mut epoch_ms = None;
        let mut request_id = None;

        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            // Both `--option value` and `--option=value`.
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) if name.starts_with("--") => {
                    (name.to_owned(), Some(value.to_owned()))
                }
                _ => (arg.clone(), None),
            };
            let mut value = |option: &'static str| -> Result<String, UsageError> {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or(UsageError::MissingValue(option))
            };
            match name.as_str() {
                "-h" | "--help" => return Ok(Command::Help),
                "--provider" => {
                    let slug = value("--provider")?;
                    let parsed = Provider::from_slug(&slug).ok_or(UsageError::InvalidValue {
                        option: "--provider",
                        value: slug,
                        expected: "atlas, app-services or monte-carlo",
                    })?;
                    once(&mut provider, "--provider", parsed)?;
                }
                "--secret" => once(
                    &mut secret,
                    "--secret",
                    SecretSource::Value(value("--secret")?),
                )?,
                "--secret-env" => once(
                    &mut secret,
                    "--secret-env",
                    SecretSource::Env(value("--secret-env")?),
                )?,
                "--unsigned" => once(&mut secret, "--unsigned", SecretSource::Unsigned)?,
                "--body" => {
                    let source = match value("--body")? {
                        dash if dash == "-" => BodySource::Stdin,
                        file => BodySource::File(file),
                    };
                    once(&mut body, "--body", source)?;
                }
                "--form" => {
                    let forms = [
                        ("raw", SignedForm::Raw),
                        ("documented", SignedForm::Documented),
                    ];
                    let parsed = choice("--form", value("--form")?, &forms, "raw or documented")?;
                    once(&mut form, "--form", parsed)?;
                }
                "--event" => once(&mut event, "--event", value("--event")?)?,
                "--header" => headers.push(parse_header(&value("--header")?)?),
                "--query" => {
                    let pair = value("--query")?;
                    let (key, val) = pair.split_once('=').ok_or(UsageError::InvalidValue {
                        option: "--query",
                        value: pair.clone(),
                        expected: "KEY=VALUE",
                    })?;
                    query.push((key.to_owned(), val.to_owned()));
                }
                "--method" => {
                    let m = value("--method")?;
                    if m.is_empty() || !m.bytes().all(|b| b.is_ascii_alphabetic()) {
                        return Err(UsageError::InvalidValue {
                            option: "--method",
                            value: m,
                            expected: "an HTTP method such as POST or GET",
                        });
                    }
                    once(&mut method, "--method", m.to_ascii_uppercase())?;
                }
                "--path" => {
                    let p = value("--path")?;
                    if !p.starts_with('/') || p.contains(['?', '#', ' ']) {
                        return Err(UsageError::InvalidValue {
                            option: "--path",
                            value: p,
                            expected: "an absolute path without query, e.g. /webhooks/atlas",
                        });
                    }
                    once(&mut path, "--path", p)?;
                }
                "--output" => {
                    let outputs = [
                        ("headers", Output::Headers),
                        ("curl", Output::Curl),
                        ("apigw-v2", Output::ApigwV2),
                        ("apigw-rest", Output::ApigwRest),
                    ];
                    let expected = "headers, curl, apigw-v2 or apigw-rest";
                    let parsed = choice("--output", value("--output")?, &outputs, expected)?;
                    once(&mut output, "--output", parsed)?;
                }
                "--url" => once(&mut url, "--url", value("--url")?)?,
                "--stage" => {
                    let s = value("--stage")?;
                    if s.is_empty() || s.contains('/') {
                        return Err(UsageError::InvalidValue {
                            option: "--stage",
                            value: s,
                            expected: "a stage name such as prod",
                        });
                    }
                    once(&mut stage, "--stage", s)?;
                }
                "--base64" => base64 = true,
                "--epoch-ms" => {
                    let raw = value("--epoch-ms")?;
                    let parsed = raw.parse::<i64>().ok().filter(|ms| *ms >= 0).ok_or(
                        UsageError::InvalidValue {
                            option: "--epoch-ms",
                            value: raw,
                            expected: "Unix time in milliseconds",
                        },
                    )?;
                    once(&mut epoch_ms, "--epoch-ms", parsed)?;
                }
                "--request-id" => once(&mut request_id, "--request-id", value("--request-id")?)?,
                _ => return Err(UsageError::UnknownOption(arg)),
            }
        }

        let provider: Provider = provider.ok_or(UsageError::Required("--provider"))?;
        let secret = secret.ok_or(UsageError::Required("--secret, --secret-env or --unsigned"))?;
        let form = form.unwrap_or(SignedForm::Raw);
        if secret == SecretSource::Unsigned && form != SignedForm::Raw {
            return Err(UsageError::Conflict(
                "--form documented signs: it cannot go with --unsigned",
            ));
        }
        if event.is_some() && provider != Provider::Atlas {
            return Err(UsageError::Conflict(
                "--event sets Atlas's X-MMS-Event: use --header for other providers",
            ));
        }
        Ok(Command::Sign(Box::new(Options {
            provider,
            secret,
            body: body.ok_or(UsageError::Required("--body"))?,
            form,
            event,
            headers,
            query,
            method: method.unwrap_or_else(|| "POST".into()),
            path: path.unwrap_or_else(|| format!("/webhooks/{}", provider.slug())),
            output: output.unwrap_or(Output::Headers),
            url,
            stage,
            base64,
            epoch_ms,
            request_id,
        })))
    }
}

fn parse_header(raw: &str) -> Result<(String, String), UsageError> {
    let invalid = || UsageError::InvalidValue {
        option: "--header",
        value: raw.into(),
        expected: "'Name: value'",
    };
    let (name, value) = raw.split_once(':').ok_or_else(invalid)?;
    let name = name.trim();
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(invalid());
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

/// The request the provider would make: everything the outputs render.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Request {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    /// In the order the sender writes them, names as the sender spells them.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn build(options: &Options, secret: Option<&str>, body: Vec<u8>) -> Result<Request, SignError> {
        let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        if let Some(event) = &options.event {
            headers.push((ATLAS_EVENT_HEADER.to_owned(), event.clone()));
        }
        if let Some(secret) = secret {
            let signature = options
                .provider
                .sign(secret.as_bytes(), &body, options.form)?;
            headers.push((options.provider.signature_header().to_owned(), signature));
        }
        headers.extend(options.headers.iter().cloned());
        Ok(Request {
            method: options.method.clone(),
            path: options.path.clone(),
            query: options.query.clone(),
            headers,
            body,
        })
    }

    fn raw_query(&self) -> String {
        self.query
            .iter()
            .map(|(key, value)| format!("{}={}", percent_encode(key), percent_encode(value)))
            .collect::<Vec<_>>()
            .join("&")
    }

    fn header_lines(&self) -> String {
        self.headers
            .iter()
            .map(|(name, value)| format!("{name}: {value}\n"))
            .collect()
    }

    fn curl(&self, options: &Options) -> String {
        let mut url = options
            .url
            .clone()
            .unwrap_or_else(|| format!("{LOCAL_FUNCTION_URL}{}", self.path));
        if !self.query.is_empty() {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&self.raw_query());
        }
        let mut command = format!("curl -sS -i -X {} {}", self.method, shell_quote(&url));
        for (name, value) in &self.headers {
            command.push_str(&format!(
                " \\\n  -H {}",
                shell_quote(&format!("{name}: {value}"))
            ));
        }
        // A file is sent byte for byte by curl itself; standard input is inlined.
        let data = match &options.body {
            BodySource::File(path) => shell_quote(&format!("@{path}")),
            BodySource::Stdin => shell_quote(&String::from_utf8_lossy(&self.body)),
        };
        command.push_str(&format!(" \\\n  --data-binary {data}\n"));
        command
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
    fn apigw_v2(&self, context: &EventContext) -> Value {
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
    fn apigw_rest(&self, context: &EventContext) -> Value {
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

fn push_multi(map: &mut Map<String, Value>, key: &str, value: &str) {
    match map.get_mut(key) {
        Some(Value::Array(values)) => values.push(Value::String(value.to_owned())),
        _ => {
            map.insert(key.to_owned(), json!([value]));
        }
    }
}

/// What an event says about when and how it arrived.
struct EventContext {
    stage: Option<String>,
    base64: bool,
    epoch_ms: i64,
    /// API Gateway's `requestTime`: `15/Jan/2024:10:30:00 +0000`.
    clf_time: String,
    request_id: String,
}

impl EventContext {
    fn new(options: &Options, request: &Request) -> EventContext {
        let epoch_ms = options.epoch_ms.unwrap_or_else(|| {
            (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
        });
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(epoch_ms) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let request_id = options
            .request_id
            .clone()
            .unwrap_or_else(|| derived_request_id(request, epoch_ms));
        EventContext {
            stage: options.stage.clone(),
            base64: options.base64,
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

/// RFC 3986 percent-encoding of a query key or value (unreserved characters kept).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// POSIX shell single-quoting.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::{Body, RequestExt};

    const SEED_BODY: &[u8] = br#"{"message":"MESSAGE"}"#;

    /// A command line; no argument in these tests holds a space.
    fn parse(line: &str) -> Result<Command, UsageError> {
        Options::parse(line.split_whitespace().map(str::to_owned))
    }

    fn options(line: &str) -> Options {
        match parse(line) {
            Ok(Command::Sign(options)) => *options,
            other => panic!("expected options, got {other:?}"),
        }
    }

    /// What `run` prints for `line`, with `body` instead of the `--body` file.
    fn render(line: &str, body: &[u8]) -> String {
        let options = options(line);
        let secret = match &options.secret {
            SecretSource::Value(secret) => Some(secret.as_str()),
            _ => None,
        };
        let request = Request::build(&options, secret, body.to_vec()).expect("signs");
        let context = EventContext::new(&options, &request);
        match options.output {
            Output::Headers => request.header_lines(),
            Output::Curl => request.curl(&options),
            Output::ApigwV2 => to_json(&request.apigw_v2(&context)),
            Output::ApigwRest => to_json(&request.apigw_rest(&context)),
        }
    }

    fn body_bytes(body: &Body) -> Vec<u8> {
        match body {
            Body::Empty => Vec::new(),
            Body::Text(text) => text.as_bytes().to_vec(),
            Body::Binary(bytes) => bytes.clone(),
            _ => panic!("unexpected body kind"),
        }
    }

    #[test]
    fn signs_the_app_services_documented_vector() {
        let headers = render("--provider app-services --secret 12345 --body x", SEED_BODY);
        let expected = "sha256=828ee180512eaf8a6229eda7eea72323f68e9c0f0093b11a578b0544c5777862";
        assert!(
            headers.contains(&format!("X-Hook-Signature: {expected}\n")),
            "{headers}"
        );
        assert!(headers.contains("Content-Type: application/json\n"));
    }

    #[test]
    fn http_api_event_parses_with_lambda_http() {
        let line = "--provider atlas --secret s --event alert.open --body x --output apigw-v2 \
                    --epoch-ms 1705314600000";
        let event = render(line, SEED_BODY);
        let request = lambda_http::request::from_str(&event).expect("a valid HTTP API event");
        assert_eq!(request.method(), "POST");
        assert_eq!(request.uri().path(), "/webhooks/atlas");
        assert_eq!(request.headers()["x-mms-event"], "alert.open");
        let signature = Provider::Atlas
            .sign(b"s", SEED_BODY, SignedForm::Raw)
            .unwrap();
        assert_eq!(request.headers()["x-mms-signature"], signature.as_str());
        assert_eq!(body_bytes(request.body()), SEED_BODY);
        let value: Value = serde_json::from_str(&event).unwrap();
        assert_eq!(value["routeKey"], "POST /webhooks/{provider}");
        assert_eq!(value["pathParameters"]["provider"], "atlas");
        assert_eq!(
            value["requestContext"]["time"],
            "15/Jan/2024:10:30:00 +0000"
        );
    }

    #[test]
    fn rest_event_with_stage_and_base64_body_parses_with_lambda_http() {
        let line =
            "--provider monte-carlo --secret s --body x --output apigw-rest --stage prod --base64";
        let body = "{\"type\":\"open_anomaly_incident\",\"name\":\"caf\u{e9}\"}".as_bytes();
        let event = render(line, body);
        let value: Value = serde_json::from_str(&event).unwrap();
        assert_eq!(value["isBase64Encoded"], true);
        assert_eq!(value["path"], "/webhooks/monte-carlo");
        assert_eq!(
            value["requestContext"]["path"],
            "/prod/webhooks/monte-carlo"
        );
        let request = lambda_http::request::from_str(&event).expect("a valid REST event");
        assert_eq!(request.uri().path(), "/prod/webhooks/monte-carlo");
        assert_eq!(body_bytes(request.body()), body);
        let signature = Provider::MonteCarlo
            .sign(b"s", body, SignedForm::Raw)
            .unwrap();
        assert_eq!(request.headers()["x-mcd-signature"], signature.as_str());
    }

    #[test]
    fn query_secret_reaches_the_request() {
        for output in ["apigw-v2", "apigw-rest"] {
            let line = format!(
                "--provider app-services --unsigned --query secret=a/b&c=d --body x --output {output}"
            );
            let request = lambda_http::request::from_str(&render(&line, SEED_BODY)).unwrap();
            let query = request.query_string_parameters();
            assert_eq!(query.first("secret"), Some("a/b&c=d"), "{output}");
            assert!(request.headers().get("x-hook-signature").is_none());
        }
    }

    #[test]
    fn unknown_provider_path_and_wrong_method_are_rendered_as_asked() {
        let line = "--provider atlas --secret s --body x --output apigw-v2 \
                    --path /webhooks/pagerduty --method get";
        let request = lambda_http::request::from_str(&render(line, SEED_BODY)).unwrap();
        assert_eq!(request.method(), "GET");
        assert_eq!(request.uri().path(), "/webhooks/pagerduty");
    }

    #[test]
    fn documented_form_signs_the_urlencoded_body() {
        let body = br#"{"type":"open_anomaly_incident","n":1.0}"#;
        let line = "--provider monte-carlo --secret k --form documented --body x";
        let expected = Provider::MonteCarlo
            .sign(b"k", body, SignedForm::Documented)
            .unwrap();
        assert_ne!(
            expected,
            Provider::MonteCarlo
                .sign(b"k", body, SignedForm::Raw)
                .unwrap()
        );
        assert!(render(line, body).contains(&format!("x-mcd-signature: {expected}\n")));
    }

    #[test]
    fn documented_form_is_refused_for_other_providers() {
        let options = options("--provider atlas --secret k --form documented --body x");
        assert!(Request::build(&options, Some("k"), SEED_BODY.to_vec()).is_err());
    }

    #[test]
    fn curl_command_quotes_for_the_shell() {
        let line = "--provider app-services --secret k --body it's.json --output curl \
                    --url https://example.test/webhooks/app-services --query token=x";
        let command = render(line, SEED_BODY);
        assert!(command.starts_with(
            "curl -sS -i -X POST 'https://example.test/webhooks/app-services?token=x'"
        ));
        assert!(command.contains(r"--data-binary '@it'\''s.json'"));
    }

    #[test]
    fn same_request_gives_the_same_event() {
        let line = "--provider atlas --secret s --body x --output apigw-v2 --epoch-ms 1";
        assert_eq!(render(line, SEED_BODY), render(line, SEED_BODY));
    }

    #[test]
    fn rejects_bad_usage() {
        use UsageError::*;
        assert_eq!(parse("--body x --secret s"), Err(Required("--provider")));
        assert_eq!(
            parse("--provider atlas --body x"),
            Err(Required("--secret, --secret-env or --unsigned"))
        );
        assert!(matches!(
            parse("--provider pagerduty"),
            Err(InvalidValue {
                option: "--provider",
                ..
            })
        ));
        assert_eq!(parse("--provider"), Err(MissingValue("--provider")));
        assert_eq!(
            parse("--frobnicate"),
            Err(UnknownOption("--frobnicate".into()))
        );
        assert!(matches!(
            parse("--provider app-services --secret s --event alert.open --body x"),
            Err(Conflict(_))
        ));
        assert_eq!(
            parse("--provider atlas --secret a --secret-env B --body x"),
            Err(Repeated("--secret-env"))
        );
        assert!(matches!(parse_header("no colon"), Err(InvalidValue { .. })));
        assert_eq!(parse_header("X-A:  b=c "), Ok(("X-A".into(), "b=c".into())));
        assert_eq!(parse("--provider=atlas -h"), Ok(Command::Help));
    }
}
