//! `sign`: prints what a provider would send for a JSON body, signed with a given secret.

use alert_relay::providers::SignError;
use serde_json::Value;
use time::OffsetDateTime;

use crate::cli::{LOCAL_FUNCTION_URL, Output, RequestArgs, SignArgs};
use crate::request::{EventContext, Request};

#[derive(Debug, thiserror::Error)]
pub enum SignFailure {
    #[error("cannot read {0}: {1}")]
    Read(String, #[source] std::io::Error),
    #[error("the environment variable {0} (--secret-env) is not set")]
    SecretEnvUnset(String),
    #[error("the secret is empty")]
    EmptySecret,
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error("the secret is not in the provider's form: it {0}")]
    Secret(&'static str),
    #[error(
        "the body from standard input has a NUL byte, which no shell argument can hold: use --body FILE"
    )]
    Unquotable,
}

/// The secret the arguments name: `None` for `--unsigned`.
pub fn secret(args: &RequestArgs) -> Result<Option<String>, SignFailure> {
    let secret = match (&args.secret, &args.secret_env) {
        (Some(secret), _) => Some(secret.clone()),
        (None, Some(var)) => {
            Some(std::env::var(var).map_err(|_| SignFailure::SecretEnvUnset(var.clone()))?)
        }
        (None, None) => None,
    };
    // alert-relay refuses empty secrets in its configuration, so nothing signed with one passes.
    if secret.as_deref() == Some("") {
        return Err(SignFailure::EmptySecret);
    }
    Ok(secret)
}

/// Reads the body and the secret, and signs at `epoch_ms` (default: now).
pub fn request(args: &RequestArgs, epoch_ms: Option<i64>) -> Result<Request, SignFailure> {
    let body = args
        .body
        .read()
        .map_err(|(what, error)| SignFailure::Read(what, error))?;
    let secret = secret(args)?;
    let epoch_ms = epoch_ms.unwrap_or_else(now_ms);
    Request::build(args, secret.as_deref(), body, epoch_ms)
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

/// What `sign` prints for `args`.
pub fn run(args: &SignArgs) -> Result<String, SignFailure> {
    // One time for the event and for schemes that sign one.
    let epoch_ms = args.epoch_ms.unwrap_or_else(now_ms);
    let request = request(&args.request, Some(epoch_ms))?;
    render(args, &request, Some(epoch_ms))
}

pub fn render(
    args: &SignArgs,
    request: &Request,
    epoch_ms: Option<i64>,
) -> Result<String, SignFailure> {
    let context = || {
        EventContext::new(
            request,
            args.stage.clone(),
            args.base64,
            epoch_ms.or(args.epoch_ms),
            args.request_id.clone(),
        )
    };
    Ok(match args.output {
        Output::Headers => request.header_lines(),
        Output::Curl => {
            let base = args
                .url
                .clone()
                .unwrap_or_else(|| format!("{LOCAL_FUNCTION_URL}{}", request.path));
            request
                .curl(&request.url(&base), &args.request.body)
                .map_err(|_| SignFailure::Unquotable)?
        }
        Output::ApigwV2 => to_json(&request.apigw_v2(&context())),
        Output::ApigwRest => to_json(&request.apigw_rest(&context())),
    })
}

fn to_json(value: &Value) -> String {
    // Serializing a `Value` cannot fail; the fallback keeps the CLI panic-free.
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use alert_relay::providers::{Provider, SignedForm};
    use clap::Parser as _;
    use lambda_http::{Body, RequestExt};

    use super::*;
    use crate::cli::{Cli, Command};

    /// The signature header's value alone: what a provider that signs only the body sends.
    fn signature(provider: Provider, key: &[u8], body: &[u8], form: SignedForm) -> String {
        let headers = provider.sign_body(key, body, form).unwrap();
        provider.signature_in(&headers).unwrap().to_owned()
    }

    const SEED_BODY: &[u8] = br#"{"message":"MESSAGE"}"#;

    fn args(line: &str) -> SignArgs {
        let argv = std::iter::once("alert-relay-sign sign")
            .flat_map(str::split_whitespace)
            .chain(line.split_whitespace())
            .map(OsString::from);
        match Cli::try_parse_from(argv).map(|cli| cli.command) {
            Ok(Command::Sign(args)) => args,
            other => panic!("expected sign arguments, got {other:?}"),
        }
    }

    /// What `sign` prints for `line`, with `body` instead of the `--body` file.
    fn render_with(line: &str, body: &[u8]) -> String {
        let args = args(line);
        let request = Request::build(
            &args.request,
            args.request.secret.as_deref(),
            body.to_vec(),
            0,
        )
        .expect("signs");
        render(&args, &request, None).expect("renders")
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
        let headers = render_with("--provider app-services --secret 12345 --body x", SEED_BODY);
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
        let event = render_with(line, SEED_BODY);
        let request = lambda_http::request::from_str(&event).expect("a valid HTTP API event");
        assert_eq!(request.method(), "POST");
        assert_eq!(request.uri().path(), "/webhooks/atlas");
        assert_eq!(request.headers()["x-mms-event"], "alert.open");
        let signature = signature(Provider::Atlas, b"s", SEED_BODY, SignedForm::Raw);
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
        let event = render_with(line, body);
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
        let signature = signature(Provider::MonteCarlo, b"s", body, SignedForm::Raw);
        assert_eq!(request.headers()["x-mcd-signature"], signature.as_str());
    }

    #[test]
    fn query_secret_reaches_the_request() {
        for output in ["apigw-v2", "apigw-rest"] {
            let line = format!(
                "--provider app-services --unsigned --query secret=a/b&c=d --body x --output {output}"
            );
            let request = lambda_http::request::from_str(&render_with(&line, SEED_BODY)).unwrap();
            let query = request.query_string_parameters();
            assert_eq!(query.first("secret"), Some("a/b&c=d"), "{output}");
            assert!(request.headers().get("x-hook-signature").is_none());
        }
    }

    #[test]
    fn unknown_provider_path_and_wrong_method_are_rendered_as_asked() {
        let line = "--provider atlas --secret s --body x --output apigw-v2 \
                    --path /webhooks/pagerduty --method get";
        let request = lambda_http::request::from_str(&render_with(line, SEED_BODY)).unwrap();
        assert_eq!(request.method(), "GET");
        assert_eq!(request.uri().path(), "/webhooks/pagerduty");
    }

    #[test]
    fn documented_form_signs_the_urlencoded_body() {
        let body = br#"{"type":"open_anomaly_incident","n":1.0}"#;
        let line = "--provider monte-carlo --secret k --form documented --body x";
        let expected = signature(Provider::MonteCarlo, b"k", body, SignedForm::Documented);
        assert_ne!(
            expected,
            signature(Provider::MonteCarlo, b"k", body, SignedForm::Raw)
        );
        assert!(render_with(line, body).contains(&format!("x-mcd-signature: {expected}\n")));
    }

    #[test]
    fn documented_form_is_refused_for_other_providers() {
        let args = args("--provider atlas --secret k --form documented --body x");
        assert!(Request::build(&args.request, Some("k"), SEED_BODY.to_vec(), 0).is_err());
    }

    /// The words a POSIX shell makes of `command`, by the shell itself.
    fn shell_words(command: &str) -> Vec<String> {
        let words = command.strip_prefix("curl ").expect("a curl command");
        let script = format!("set -- {}\nprintf '%s\\0' \"$@\"", words.trim_end());
        let output = std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .expect("sh runs");
        assert!(output.status.success(), "{command}");
        String::from_utf8(output.stdout)
            .unwrap()
            .split_terminator('\0')
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn curl_command_survives_the_shell() {
        let line = "--provider app-services --secret k --body it's.json --output curl \
                    --url https://example.test/webhooks/app-services --query token=x&y \
                    --header X-Note:$HOME`id`\"\\";
        let command = render_with(line, SEED_BODY);
        let signature = signature(Provider::AppServices, b"k", SEED_BODY, SignedForm::Raw);
        assert_eq!(
            shell_words(&command),
            [
                "-sS",
                "-i",
                "-X",
                "POST",
                "https://example.test/webhooks/app-services?token=x%26y",
                "-H",
                "Content-Type: application/json",
                "-H",
                &format!("X-Hook-Signature: {signature}"),
                "-H",
                "X-Note: $HOME`id`\"\\",
                "--data-binary",
                "@it's.json",
            ]
        );
    }

    #[test]
    fn curl_inlines_a_body_from_standard_input() {
        let args = args("--provider atlas --secret k --body - --output curl");
        let body = "{\"note\": \"it's $(not) run\\n\"}\n";
        let request =
            Request::build(&args.request, Some("k"), body.as_bytes().to_vec(), 0).unwrap();
        let words = shell_words(&render(&args, &request, None).unwrap());
        assert_eq!(words.last().map(String::as_str), Some(body));
        let request =
            Request::build(&args.request, Some("k"), b"{\"a\":\"\0\"}".to_vec(), 0).unwrap();
        assert!(matches!(
            render(&args, &request, None),
            Err(SignFailure::Unquotable)
        ));
    }

    #[test]
    fn same_request_gives_the_same_event() {
        let line = "--provider atlas --secret s --body x --output apigw-v2 --epoch-ms 1";
        assert_eq!(render_with(line, SEED_BODY), render_with(line, SEED_BODY));
    }
}
