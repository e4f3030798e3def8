//! The command line, parsed by clap: `sign`, `verify`, `send`, `providers`, `silence` and
//! `completions`.

use std::ffi::OsString;
use std::path::PathBuf;

use alert_relay::config::DEFAULT_MAX_BODY_BYTES;
use alert_relay::providers::{Provider, SignedForm};
use alert_relay::state::{Millis, parse_duration};
use clap::builder::PossibleValue;
use clap::error::ErrorKind;
use clap::{ArgGroup, Args, CommandFactory, Parser, Subcommand, ValueEnum};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Where `make run` serves the function.
pub const LOCAL_FUNCTION_URL: &str = "http://127.0.0.1:9000/lambda-url/alert-relay";

const EXAMPLES: &str = "\
Examples:
  alert-relay-sign send --provider atlas --secret-env ATLAS_SECRET --event alert.open \\
      --body events/payloads/atlas/atlas-disk-space-alert.json
  alert-relay-sign sign --provider monte-carlo --secret-env MC_SECRET --form documented \\
      --body incident.json --output apigw-v2 > event.json
  alert-relay-sign verify --provider atlas --secret-env ATLAS_SECRET --headers headers.txt --body body.json

See docs/signer.md.";

#[derive(Debug, Parser)]
#[command(
    name = "alert-relay-sign",
    version,
    about = "Sign, send and verify alert webhooks the way alert-relay checks them",
    after_help = EXAMPLES,
    subcommand_required = true,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print what a provider would send for a JSON body: its headers, a curl command, or an API
    /// Gateway event
    Sign(SignArgs),
    /// Say whether alert-relay would accept a captured request and, if not, why
    #[command(after_help = "\
Exit status: 0 accepted, 1 rejected, 2 usage error (an unreadable file, an unset variable).
Secrets are read from the environment and never printed: a secret is named by its index and its
variable, as the function's log names it by `secret_index`.")]
    Verify(VerifyArgs),
    /// Sign a JSON body and POST it; print the status and the response body
    #[command(after_help = "\
Exit status: 0 on a 2xx answer, 1 on any other answer or none, 2 on a usage error.")]
    Send(SendArgs),
    /// List the providers alert-relay serves: path, signature headers and scheme, variables
    #[command(after_help = "\
--json prints the same as a JSON array, the list scripts/gen-events and scripts/gen-template read.")]
    Providers {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Silence alerts for a maintenance window: add, list and expire silences in the alert-state
    /// table
    #[command(after_help = SILENCE_HELP)]
    Silence {
        #[command(subcommand)]
        command: SilenceCommand,
    },
    /// Print a completion script for SHELL
    #[command(after_help = "\
Example: alert-relay-sign completions bash > ~/.local/share/bash-completion/completions/alert-relay-sign")]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

const SILENCE_HELP: &str = "\
While a silence is active, the function notifies no `changes` target of an event it matches (its
log says `silenced:<id>`); `every` targets still get it, and the acknowledgement or resolve of an
alert still reaches a target told of its open before the silence began. The function reads silences
at most every 30 s.

AWS credentials and region: the standard chain (AWS_PROFILE, AWS_REGION, ...); AWS_ENDPOINT_URL
points it at a local emulator. Exit status: 0 done, 1 AWS refused or the silence is unknown, 2 on
a usage error (an invalid --match among them).

Examples:
  id=$(alert-relay-sign silence add --table alert-relay-state \\
      --match '{\"project\": [\"orders-prod\"]}' --for 2h --comment \"orders-prod upgrade\")
  alert-relay-sign silence list --table alert-relay-state
  alert-relay-sign silence expire --table alert-relay-state \"$id\"";

#[derive(Debug, Subcommand)]
pub enum SilenceCommand {
    /// Hold back the alerts a filter policy matches, from now or --start, for a while; print the
    /// silence's id
    Add(SilenceAddArgs),
    /// Print the silences that are active or still to come (--all: the expired ones too)
    List(SilenceListArgs),
    /// End a silence now: an alert it held back that is still open is notified at its next event
    Expire(SilenceExpireArgs),
}

/// The alert-state table, shared by the `silence` commands.
#[derive(Debug, Clone, Args)]
pub struct TableArgs {
    /// The alert-state table, a name or an ARN: the function's ALERT_STATE_TABLE
    #[arg(long, value_name = "TABLE", env = "ALERT_STATE_TABLE", hide_env_values = true,
          value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub table: String,
}

/// How long the table keeps a silence after its end.
#[derive(Debug, Clone, Args)]
pub struct RetentionArgs {
    /// How long the table keeps the silence after its end: the function's ALERT_STATE_RETENTION
    #[arg(long, value_name = "DURATION", env = "ALERT_STATE_RETENTION", hide_env_values = true,
          default_value = "30d", value_parser = parse_span)]
    pub retention: Millis,
}

#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("end").required(true).args(["duration", "until"])))]
pub struct SilenceAddArgs {
    #[command(flatten)]
    pub table: TableArgs,

    /// The alerts it holds back: an SNS filter policy over the event's attributes (provider,
    /// status, severity, event_type, project, cluster, group), as a route's filter
    #[arg(long = "match", value_name = "POLICY")]
    pub matcher: String,

    /// How long it lasts from its start: <n>m, <n>h or <n>d, e.g. 2h
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_span)]
    pub duration: Option<Millis>,

    /// When it ends, in RFC 3339, e.g. 2026-12-07T22:00:00Z
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub until: Option<Millis>,

    /// When it starts, in RFC 3339 [default: now]
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub start: Option<Millis>,

    /// Why the alerts are silenced, for whoever wonders where their page went
    #[arg(long, value_name = "TEXT")]
    pub comment: String,

    /// Who silenced them
    #[arg(long, value_name = "NAME", env = "USER", hide_env_values = true)]
    pub by: Option<String>,

    #[command(flatten)]
    pub retention: RetentionArgs,
}

#[derive(Debug, Clone, Args)]
pub struct SilenceListArgs {
    #[command(flatten)]
    pub table: TableArgs,

    /// List the expired silences too
    #[arg(long)]
    pub all: bool,

    /// Print JSON: an array of {id, state, match, starts_at, ends_at, comment, by, created_at}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct SilenceExpireArgs {
    #[command(flatten)]
    pub table: TableArgs,

    /// The silence's id, as `silence add` printed it
    #[arg(value_name = "ID", value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub id: String,

    #[command(flatten)]
    pub retention: RetentionArgs,
}

/// The request a provider makes, shared by `sign` and `send`.
#[derive(Debug, Clone, Args)]
#[command(group(
    ArgGroup::new("credential")
        .required(true)
        .args(["secret", "secret_env", "unsigned"])
))]
pub struct RequestArgs {
    /// The provider whose request to make
    #[arg(long, value_name = "PROVIDER")]
    pub provider: ProviderArg,

    /// The signing secret (visible to other local users: prefer --secret-env)
    #[arg(long, value_name = "SECRET")]
    pub secret: Option<String>,

    /// Read the signing secret from the environment variable VAR
    #[arg(long, value_name = "VAR")]
    pub secret_env: Option<String>,

    /// Send no signature header (for query secrets or a missing-signature test)
    #[arg(long)]
    pub unsigned: bool,

    /// The JSON body, sent byte for byte; `-` reads standard input
    #[arg(long, value_name = "FILE|-", value_parser = parse_source)]
    pub body: Source,

    /// What is signed (default: the provider's first form, raw for those that sign; bearer for
    /// alertmanager)
    #[arg(long, value_enum, value_name = "FORM")]
    pub form: Option<Form>,

    /// atlas only: the X-MMS-Event header, e.g. alert.open, alert.close
    #[arg(long, value_name = "NAME")]
    pub event: Option<String>,

    /// An extra header (repeatable)
    #[arg(long = "header", value_name = "'NAME: VALUE'", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,

    /// A query parameter, e.g. secret=... (repeatable)
    #[arg(long = "query", value_name = "KEY=VALUE", value_parser = parse_query)]
    pub query: Vec<(String, String)>,

    /// The HTTP method
    #[arg(long, value_name = "METHOD", default_value = "POST", value_parser = parse_method)]
    pub method: String,

    /// The request path [default: /webhooks/<PROVIDER>]
    #[arg(long, value_name = "PATH", value_parser = parse_path)]
    pub path: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct SignArgs {
    #[command(flatten)]
    pub request: RequestArgs,

    /// What to print
    #[arg(long, value_enum, value_name = "OUTPUT", default_value_t = Output::Headers)]
    pub output: Output,

    /// curl only: the endpoint [default: http://127.0.0.1:9000/lambda-url/alert-relay<PATH>]
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    /// Events: the API stage [default: prod for apigw-rest, $default for apigw-v2]
    #[arg(long, value_name = "STAGE", value_parser = parse_stage)]
    pub stage: Option<String>,

    /// Events: base64-encode the body and set isBase64Encoded
    #[arg(long)]
    pub base64: bool,

    /// Events: the request time in Unix milliseconds [default: now]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(0..))]
    pub epoch_ms: Option<i64>,

    /// Events: the request id [default: derived from the request]
    #[arg(long, value_name = "ID")]
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub request: RequestArgs,

    /// The endpoint [default: http://127.0.0.1:9000/lambda-url/alert-relay<PATH>, the stack of `make
    /// run`]
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    /// Give up after this many seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
}

#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("input").required(true).args(["headers", "event"])))]
#[command(group(
    ArgGroup::new("settings")
        .required(true)
        .multiple(true)
        .args(["secret_env", "query_secret_env", "allow_unsigned"])
))]
pub struct VerifyArgs {
    /// The provider the request was sent to (the last segment of its URL path)
    #[arg(long, value_name = "PROVIDER")]
    pub provider: ProviderArg,

    /// An environment variable holding one signing secret (repeatable: every secret of a rotation,
    /// in the order of <P>_WEBHOOK_SECRETS)
    #[arg(long = "secret-env", value_name = "VAR")]
    pub secret_env: Vec<String>,

    /// An environment variable holding one query secret, `?secret=` or `?token=` (repeatable, as
    /// <P>_QUERY_SECRETS)
    #[arg(long = "query-secret-env", value_name = "VAR")]
    pub query_secret_env: Vec<String>,

    /// Accept a request with no credential at all, as <P>_ALLOW_UNSIGNED=true does
    #[arg(long)]
    pub allow_unsigned: bool,

    /// The captured headers, one `Name: value` a line (what `sign` prints); a first line `POST
    /// /path?query HTTP/1.1` is read too
    #[arg(long, value_name = "FILE", requires = "body")]
    pub headers: Option<PathBuf>,

    /// The captured body, byte for byte; `-` reads standard input
    #[arg(long, value_name = "FILE|-", requires = "headers", value_parser = parse_source)]
    pub body: Option<Source>,

    /// An API Gateway event (HTTP API v2 or REST v1) holding method, path, headers and body, in
    /// place of --headers and --body; `-` reads standard input
    #[arg(long, value_name = "FILE|-", value_parser = parse_source)]
    pub event: Option<Source>,

    /// Which signed forms count
    #[arg(long, value_enum, value_name = "FORM", default_value_t = VerifyForm::Any)]
    pub form: VerifyForm,

    /// The function's MAX_BODY_BYTES
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
}

/// A provider, named by its path segment; the list follows `Provider::ALL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderArg(pub Provider);

impl ValueEnum for ProviderArg {
    fn value_variants<'a>() -> &'a [Self] {
        const VARIANTS: [ProviderArg; Provider::ALL.len()] = {
            let mut variants = [ProviderArg(Provider::ALL[0]); Provider::ALL.len()];
            let mut i = 0;
            while i < variants.len() {
                variants[i] = ProviderArg(Provider::ALL[i]);
                i += 1;
            }
            variants
        };
        &VARIANTS
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let provider = self.0;
        Some(PossibleValue::new(provider.slug()).help(format!(
            "{}: {}",
            provider.signature_header(),
            scheme(provider)
        )))
    }
}

/// How a provider's signature header is made.
pub fn scheme(provider: Provider) -> &'static str {
    provider.spec().scheme
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Form {
    /// The raw body bytes
    Raw,
    /// monte-carlo only: Monte Carlo's documented form, urlencode(json.loads(body))
    Documented,
    /// grafana only: <unix seconds>:<body>, the seconds in X-Grafana-Alerting-Timestamp
    Timestamped,
    /// alertmanager only: the secret is a token, sent as Authorization: Bearer <token>
    Bearer,
    /// alertmanager only: the secret is user:password, sent as Authorization: Basic <base64>
    Basic,
}

impl From<Form> for SignedForm {
    fn from(form: Form) -> SignedForm {
        match form {
            Form::Raw => SignedForm::Raw,
            Form::Documented => SignedForm::Documented,
            Form::Timestamped => SignedForm::Timestamped,
            Form::Bearer => SignedForm::Bearer,
            Form::Basic => SignedForm::Basic,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyForm {
    /// Every form the provider accepts, as alert-relay does
    Any,
    /// Only a signature over the raw body
    Raw,
    /// monte-carlo only: only a signature over the documented form
    Documented,
}

impl VerifyForm {
    pub fn allows(self, form: SignedForm) -> bool {
        match self {
            VerifyForm::Any => true,
            VerifyForm::Raw => form == SignedForm::Raw,
            VerifyForm::Documented => form == SignedForm::Documented,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// One `Name: value` line each, for curl -H @file
    Headers,
    /// A complete curl command
    Curl,
    /// An API Gateway HTTP API (payload 2.0) event
    #[value(name = "apigw-v2")]
    ApigwV2,
    /// An API Gateway REST API (payload 1.0) event
    #[value(name = "apigw-rest")]
    ApigwRest,
}

/// A file, or standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Stdin,
    /// As given on the command line: `--output curl` prints it back.
    File(String),
}

impl Source {
    pub fn read(&self) -> Result<Vec<u8>, (String, std::io::Error)> {
        match self {
            Source::Stdin => {
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
                    .map(|_| bytes)
                    .map_err(|error| ("standard input".to_owned(), error))
            }
            Source::File(path) => std::fs::read(path).map_err(|error| (path.clone(), error)),
        }
    }
}

fn parse_source(raw: &str) -> Result<Source, String> {
    match raw {
        "" => Err("an empty file name".into()),
        "-" => Ok(Source::Stdin),
        path => Ok(Source::File(path.to_owned())),
    }
}

/// `Name: value`: a header name is an RFC 9110 token; surrounding spaces are not part of either.
pub fn parse_header(raw: &str) -> Result<(String, String), String> {
    let invalid = || format!("{raw:?} is not 'Name: value'");
    let (name, value) = raw.split_once(':').ok_or_else(invalid)?;
    let name = name.trim();
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(invalid());
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

fn parse_query(raw: &str) -> Result<(String, String), String> {
    let (key, value) = raw
        .split_once('=')
        .ok_or_else(|| format!("{raw:?} is not KEY=VALUE"))?;
    Ok((key.to_owned(), value.to_owned()))
}

fn parse_method(raw: &str) -> Result<String, String> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err("an HTTP method such as POST or GET".into());
    }
    Ok(raw.to_ascii_uppercase())
}

fn parse_path(raw: &str) -> Result<String, String> {
    if !raw.starts_with('/') || raw.contains(['?', '#', ' ']) {
        return Err("an absolute path without query, e.g. /webhooks/atlas".into());
    }
    Ok(raw.to_owned())
}

/// A duration as the function reads its own (`30m`, `2h`, `30d`).
fn parse_span(raw: &str) -> Result<Millis, String> {
    parse_duration(raw).ok_or_else(|| "a duration such as 30m, 2h or 7d".into())
}

/// An RFC 3339 time, as Unix milliseconds.
pub fn parse_time(raw: &str) -> Result<Millis, String> {
    let time = OffsetDateTime::parse(raw.trim(), &Rfc3339)
        .map_err(|_| "an RFC 3339 time such as 2026-12-07T22:00:00Z".to_owned())?;
    Millis::try_from(time.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| "a time within the next few million years".into())
}

fn parse_stage(raw: &str) -> Result<String, String> {
    if raw.is_empty() || raw.contains('/') {
        return Err("a stage name such as prod".into());
    }
    Ok(raw.to_owned())
}

impl RequestArgs {
    /// What clap cannot say declaratively: the rules that depend on a value.
    pub fn check(&self) -> Result<(), String> {
        let provider = self.provider.0;
        if let Some(form) = self.form {
            let name = SignedForm::from(form).as_str();
            if self.unsigned {
                return Err(format!("--form {name} signs: it cannot go with --unsigned"));
            }
            if !provider.spec().forms.contains(&form.into()) {
                let forms: Vec<&str> = provider.spec().forms.iter().map(|f| f.as_str()).collect();
                return Err(format!(
                    "--form {name}: {} does not sign in that form; its forms: {}",
                    provider.slug(),
                    forms.join(", ")
                ));
            }
        }
        if self.event.is_some() && provider.spec().event_header.is_none() {
            return Err(
                "--event sets Atlas's X-MMS-Event: use --header for other providers".into(),
            );
        }
        Ok(())
    }

    /// The form to sign in: `--form`, else the provider's first.
    pub fn signed_form(&self) -> SignedForm {
        self.form
            .map_or(self.provider.0.spec().forms[0], SignedForm::from)
    }

    pub fn path(&self) -> String {
        self.path
            .clone()
            .unwrap_or_else(|| format!("/webhooks/{}", self.provider.0.slug()))
    }
}

impl VerifyArgs {
    pub fn check(&self) -> Result<(), String> {
        if self.form == VerifyForm::Documented
            && !self
                .provider
                .0
                .spec()
                .forms
                .contains(&SignedForm::Documented)
        {
            return Err(format!(
                "--form documented: {} has no documented signing form",
                self.provider.0.slug()
            ));
        }
        Ok(())
    }
}

/// A usage error found after parsing, reported the way clap reports its own (exit status 2).
/// `subcommand` is its path, e.g. `sign` or `silence add`.
pub fn usage_error(subcommand: &str, message: String) -> clap::Error {
    let mut current = Cli::command();
    current.build();
    for name in subcommand.split_whitespace() {
        match current.find_subcommand(name) {
            Some(sub) => current = sub.clone(),
            None => break,
        }
    }
    current.error(ErrorKind::ArgumentConflict, message)
}

/// `alert-relay-sign --provider …` is how the signer was called before it had subcommands: it
/// still means `sign`, so scripts and the commands already written down keep working.
pub fn with_default_subcommand(args: Vec<OsString>) -> (Vec<OsString>, bool) {
    let implicit = args.get(1).is_some_and(|first| {
        let first = first.to_string_lossy();
        first.starts_with("--") && !matches!(first.as_ref(), "--help" | "--version")
    });
    if !implicit {
        return (args, false);
    }
    let mut rewritten = args;
    rewritten.insert(1, "sign".into());
    (rewritten, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Cli, clap::Error> {
        let args: Vec<OsString> = std::iter::once("alert-relay-sign")
            .chain(line.split_whitespace())
            .map(OsString::from)
            .collect();
        Cli::try_parse_from(with_default_subcommand(args).0)
    }

    fn sign(line: &str) -> SignArgs {
        match parse(line).map(|cli| cli.command) {
            Ok(Command::Sign(args)) => args,
            other => panic!("expected sign arguments, got {other:?}"),
        }
    }

    fn error_kind(line: &str) -> ErrorKind {
        parse(line).expect_err("a usage error").kind()
    }

    #[test]
    fn command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_provider_is_a_value() {
        let slugs: Vec<String> = ProviderArg::value_variants()
            .iter()
            .map(|p| p.to_possible_value().unwrap().get_name().to_owned())
            .collect();
        let expected: Vec<&str> = Provider::ALL.iter().map(|p| p.slug()).collect();
        assert_eq!(slugs, expected);
    }

    #[test]
    fn the_form_without_a_subcommand_still_signs() {
        let args = sign("--provider=atlas --secret s --body x");
        assert_eq!(args.request.provider, ProviderArg(Provider::Atlas));
        assert_eq!(args.request.method, "POST");
        assert_eq!(args.request.path(), "/webhooks/atlas");
        assert_eq!(args.output, Output::Headers);
        let (_, implicit) = with_default_subcommand(vec!["x".into(), "--help".into()]);
        assert!(!implicit);
    }

    #[test]
    fn rejects_bad_usage() {
        assert_eq!(
            error_kind("sign --body x --secret s"),
            ErrorKind::MissingRequiredArgument
        );
        assert_eq!(
            error_kind("sign --provider atlas --body x"),
            ErrorKind::MissingRequiredArgument
        );
        assert_eq!(
            error_kind("sign --provider pagerduty --secret s --body x"),
            ErrorKind::InvalidValue
        );
        assert_eq!(error_kind("sign --provider"), ErrorKind::InvalidValue);
        assert_eq!(error_kind("sign --frobnicate"), ErrorKind::UnknownArgument);
        assert_eq!(
            error_kind("sign --provider atlas --secret a --secret-env B --body x"),
            ErrorKind::ArgumentConflict
        );
        assert_eq!(
            error_kind("sign --provider atlas --provider atlas --secret a --body x"),
            ErrorKind::ArgumentConflict
        );
        assert_eq!(
            error_kind("sign --provider atlas --secret s --body x --method p0st"),
            ErrorKind::ValueValidation
        );
        assert_eq!(
            error_kind("sign --provider atlas --secret s --body x --epoch-ms=-1"),
            ErrorKind::ValueValidation
        );
        assert_eq!(
            error_kind("verify --provider atlas --secret-env S --headers h"),
            ErrorKind::MissingRequiredArgument
        );
        assert_eq!(
            error_kind("verify --provider atlas --secret-env S --event e --headers h --body b"),
            ErrorKind::ArgumentConflict
        );
        assert_eq!(
            error_kind("verify --provider atlas --event e"),
            ErrorKind::MissingRequiredArgument
        );
        assert_eq!(error_kind("completions tcsh"), ErrorKind::InvalidValue);
    }

    #[test]
    fn suggests_the_closest_option() {
        let error = parse("sign --provider atlas --secret s --body x --outptu curl")
            .expect_err("unknown option");
        assert!(error.to_string().contains("--output"), "{error}");
    }

    #[test]
    fn value_dependent_rules() {
        let check = |line: &str| sign(line).request.check();
        assert!(
            check("sign --provider app-services --secret s --event alert.open --body x").is_err()
        );
        assert!(check("sign --provider atlas --secret k --form documented --body x").is_err());
        assert!(
            check("sign --provider monte-carlo --unsigned --form documented --body x").is_err()
        );
        assert!(check("sign --provider monte-carlo --secret k --form documented --body x").is_ok());
        assert!(check("sign --provider atlas --secret k --event alert.open --body x").is_ok());
    }

    fn silence(line: &str) -> SilenceCommand {
        match parse(line).map(|cli| cli.command) {
            Ok(Command::Silence { command }) => command,
            other => panic!("expected a silence command, got {other:?}"),
        }
    }

    #[test]
    fn silence_add_reads_durations_and_rfc_3339_times() {
        let SilenceCommand::Add(args) = silence(
            "silence add --table t --match {} --for 2h --start 2026-12-07T17:00:00+01:00 \
             --comment x --by me --retention 7d",
        ) else {
            panic!("not add")
        };
        assert_eq!(args.table.table, "t");
        assert_eq!(args.matcher, "{}");
        assert_eq!(args.duration, Some(7_200_000));
        assert_eq!(args.start, Some(1_796_659_200_000));
        assert_eq!(args.until, None);
        assert_eq!(args.by.as_deref(), Some("me"));
        assert_eq!(args.retention.retention, 7 * 86_400_000);
        let SilenceCommand::Add(args) =
            silence("silence add --table t --match {} --until 2026-12-07T16:00:00.5Z --comment x")
        else {
            panic!("not add")
        };
        assert_eq!(args.until, Some(1_796_659_200_500));
    }

    #[test]
    fn silence_list_and_expire() {
        let SilenceCommand::List(args) = silence("silence list --table t --json --all") else {
            panic!("not list")
        };
        assert!(args.json && args.all);
        let SilenceCommand::Expire(args) = silence("silence expire --table t s-0123456789ab")
        else {
            panic!("not expire")
        };
        assert_eq!(args.id, "s-0123456789ab");
    }

    #[test]
    fn rejects_bad_silence_usage() {
        let add = "silence add --table t --match {} --comment x";
        assert_eq!(error_kind(add), ErrorKind::MissingRequiredArgument);
        assert_eq!(
            error_kind(&format!("{add} --for 2h --until 2026-12-07T16:00:00Z")),
            ErrorKind::ArgumentConflict
        );
        for bad in [
            "--for 2",
            "--for 0m",
            "--for=-1h",
            "--until tomorrow",
            "--until 2026-12-07",
        ] {
            assert_eq!(
                error_kind(&format!("{add} {bad}")),
                ErrorKind::ValueValidation,
                "{bad}"
            );
        }
        assert_eq!(
            error_kind(&format!("{add} --for 2h --start 16:00")),
            ErrorKind::ValueValidation
        );
        assert_eq!(
            error_kind(&format!("{add} --for 2h --retention forever")),
            ErrorKind::ValueValidation
        );
        assert_eq!(
            error_kind("silence add --table t --for 2h --comment x"),
            ErrorKind::MissingRequiredArgument
        );
        assert_eq!(
            error_kind("silence expire --table t"),
            ErrorKind::MissingRequiredArgument
        );
        assert_eq!(
            error_kind("silence list --table t --match {}"),
            ErrorKind::UnknownArgument
        );
    }

    #[test]
    fn a_silence_usage_error_shows_its_own_usage() {
        let error = usage_error("silence add", "--match: not JSON".into());
        assert_eq!(error.kind(), ErrorKind::ArgumentConflict);
        let text = error.to_string();
        assert!(text.contains("error: --match: not JSON"), "{text}");
        assert!(
            text.contains("Usage: alert-relay-sign silence add "),
            "{text}"
        );
    }

    #[test]
    fn parses_headers_and_queries() {
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("bad name: v").is_err());
        assert_eq!(parse_header("X-A:  b=c "), Ok(("X-A".into(), "b=c".into())));
        assert_eq!(
            parse_query("secret=a=b"),
            Ok(("secret".into(), "a=b".into()))
        );
        assert!(parse_query("secret").is_err());
        assert_eq!(parse_method("get"), Ok("GET".into()));
        assert!(parse_path("webhooks/atlas").is_err());
        assert!(parse_path("/webhooks/atlas?x=1").is_err());
        assert!(parse_stage("a/b").is_err());
    }
}
