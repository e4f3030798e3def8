//! `verify`: would alert-relay accept this captured request, and if not, why?
//!
//! The verdict comes from the function's own code: `Provider::authenticate`, then
//! `Provider::normalize`, with the reasons the function logs. A diagnosis is a variation of the
//! request (the body as it was before something re-encoded it, the header without its quotes,
//! another provider's scheme…) that the same `authenticate` accepts: verify never checks a
//! signature any other way.

use std::fmt::Write as _;

use alert_relay::pipeline::{Admission, Failed, Rejection, Unreadable, admit};
use alert_relay::providers::{
    AuthError, Credential, Inbound, InvalidCredential, Provider, ProviderConfig, SecretForm,
    SignedForm, parse_object,
};
use alert_relay::pyform;
use alert_relay::signature::SignatureError;
use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};
use lambda_http::RequestExt as _;
use lambda_http::aws_lambda_events::query_map::QueryMap;
use lambda_http::http::Method;
use lambda_http::request::LambdaRequest;

use crate::cli::{Source, VerifyArgs, VerifyForm, scheme};
use crate::reencode::{self, Kind};

/// A request as captured: what the function would be given.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    /// Known from an event or a request line; `None`: assumed POST.
    pub method: Option<String>,
    /// The path, when known from an event or a request line.
    pub path: Option<String>,
    pub headers: HeaderMap,
    /// The query string's parameters, as lambda_http reads them for the function.
    pub query: QueryMap,
    pub body: Vec<u8>,
    /// When the request was received, Unix seconds: the event's, else now.
    pub received_at: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {0}: {1}")]
    Read(String, #[source] std::io::Error),
    #[error("{file}, line {line}: {what}")]
    Headers {
        file: String,
        line: usize,
        what: String,
    },
    #[error("{0} is not an API Gateway event: {1}")]
    Event(String, String),
    #[error("the environment variable {0} is not set")]
    Unset(String),
    #[error("the environment variable {0} is empty, and alert-relay refuses empty secrets")]
    Empty(String),
    #[error("the environment variable {0} {1}, which alert-relay refuses at start")]
    Form(String, &'static str),
    #[error("give the request: --event FILE, or --headers FILE with --body FILE")]
    NoInput,
}

fn read(source: &Source) -> Result<Vec<u8>, LoadError> {
    source
        .read()
        .map_err(|(what, error)| LoadError::Read(what, error))
}

fn name(source: &Source) -> String {
    match source {
        Source::Stdin => "standard input".into(),
        Source::File(path) => path.clone(),
    }
}

impl Captured {
    /// `Name: value` lines (what `sign` prints, what `curl -H @file` reads), optionally after a
    /// request line such as `POST /webhooks/atlas?token=… HTTP/1.1`, up to the first empty line.
    /// Repeated headers are kept as repeated.
    pub fn from_header_lines(text: &[u8], body: Vec<u8>) -> Result<Captured, (usize, String)> {
        let mut captured = Captured {
            body,
            received_at: crate::sign::now_ms().div_euclid(1000),
            ..Captured::default()
        };
        let mut seen_any = false;
        for (index, line) in text.split(|b| *b == b'\n').enumerate() {
            let number = index + 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                // As in HTTP, an empty line ends the headers: a whole captured request may follow
                // with its body, which --body gives.
                if seen_any {
                    break;
                }
                continue;
            }
            if !seen_any && let Some((method, target)) = request_line(line) {
                let (path, query) = target.split_once('?').unwrap_or((&target, ""));
                captured.method = Some(method);
                // What lambda_http does with an HTTP API event's `rawQueryString`.
                captured.query = query.parse().unwrap_or_default();
                captured.path = Some(path.to_owned());
                seen_any = true;
                continue;
            }
            seen_any = true;
            let colon = line
                .iter()
                .position(|b| *b == b':')
                .ok_or((number, "not a `Name: value` line".to_owned()))?;
            let name = HeaderName::from_bytes(line[..colon].trim_ascii())
                .map_err(|_| (number, "not a valid header name".to_owned()))?;
            let value = HeaderValue::from_bytes(line[colon + 1..].trim_ascii())
                .map_err(|_| (number, "a header value with a control character".to_owned()))?;
            captured.headers.append(name, value);
        }
        Ok(captured)
    }

    /// An API Gateway event, read the way the function reads its invocation.
    pub fn from_event(text: &[u8]) -> Result<Captured, String> {
        let event: LambdaRequest = serde_json::from_slice(text).map_err(|e| e.to_string())?;
        let request = lambda_http::Request::from(alert_relay::handler::guard_body(event));
        let now = crate::sign::now_ms().div_euclid(1000);
        Ok(Captured {
            method: Some(request.method().as_str().to_owned()),
            path: Some(admit::request_path(&request).to_owned()),
            headers: request.headers().clone(),
            query: request.query_string_parameters(),
            body: request.body().as_ref().to_vec(),
            // The event's own time, as the function takes it: a sample event stays as valid as
            // it was when it was made.
            received_at: admit::received_at(&request, now),
        })
    }
}

/// `METHOD target HTTP/x.y`.
fn request_line(line: &[u8]) -> Option<(String, String)> {
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    let is_method = !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase());
    (is_method && version.starts_with("HTTP/") && parts.next().is_none())
        .then(|| (method.to_owned(), target.to_owned()))
}

impl Captured {
    /// The request the function would be given, at `path`: POST unless the capture says
    /// otherwise.
    fn request(&self, path: &str) -> lambda_http::Request {
        let mut request = lambda_http::Request::new(lambda_http::Body::Binary(self.body.clone()));
        *request.method_mut() = self
            .method
            .as_deref()
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
            .unwrap_or(Method::POST);
        *request.headers_mut() = self.headers.clone();
        request
            .with_raw_http_path(path)
            .with_query_string_parameters(self.query.clone())
    }
}

/// The function's settings for one provider, from the variables named on the command line.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config: ProviderConfig,
    /// The variable each signing secret came from, by `secret_index`.
    pub signing: Vec<String>,
    /// The variable each query secret came from, by `secret_index`.
    pub query: Vec<String>,
}

impl Settings {
    pub fn from_env(args: &VerifyArgs) -> Result<Settings, LoadError> {
        // Signing secrets as the provider writes them (`whsec_…`, say); query secrets as text. A
        // provider whose credentials come in several forms (Alertmanager's bearer tokens and
        // `user:password` entries) gets each secret in every form it can be read in, each named
        // by its variable.
        let spec = args.provider.0.spec();
        let mut forms: Vec<SecretForm> = Vec::new();
        for (_, form) in spec.secret_variables() {
            if !forms.contains(&form) {
                forms.push(form);
            }
        }
        let value = |var: &String| match std::env::var(var) {
            Err(_) => Err(LoadError::Unset(var.clone())),
            Ok(value) if value.is_empty() => Err(LoadError::Empty(var.clone())),
            Ok(value) => Ok(value),
        };
        let mut webhook_secrets = Vec::new();
        let mut signing = Vec::new();
        for var in &args.secret_env {
            let value = value(var)?;
            let mut first_error = None;
            for form in &forms {
                match form.read(&value) {
                    Ok(secret) => {
                        webhook_secrets.push(secret);
                        signing.push(var.clone());
                    }
                    Err(reason) => {
                        first_error.get_or_insert(reason);
                    }
                }
            }
            if !signing.contains(var) {
                let reason = first_error.unwrap_or("cannot be read");
                return Err(LoadError::Form(var.clone(), reason));
            }
        }
        let query_secrets = args
            .query_secret_env
            .iter()
            .map(|var| {
                let value = value(var)?;
                SecretForm::TEXT
                    .read(&value)
                    .map_err(|reason| LoadError::Form(var.clone(), reason))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Settings {
            config: ProviderConfig {
                webhook_secrets,
                query_secrets,
                allow_unsigned: args.allow_unsigned,
                ..ProviderConfig::default()
            },
            signing,
            query: args.query_secret_env.clone(),
        })
    }

    /// `form=raw secret_index=1 ($ATLAS_SECRET_NEW)`: the log line's words, and the variable.
    pub fn describe(&self, credential: Credential) -> String {
        let var = |vars: &[String], index: usize| {
            vars.get(index)
                .map_or_else(String::new, |var| format!(" (${var})"))
        };
        match credential {
            Credential::Signature { form, secret_index } => format!(
                "form={} secret_index={secret_index}{}",
                form.as_str(),
                var(&self.signing, secret_index)
            ),
            Credential::QuerySecret { secret_index } => format!(
                "form=query_secret secret_index={secret_index}{}",
                var(&self.query, secret_index)
            ),
            Credential::Unsigned => "form=unsigned".into(),
        }
    }
}

/// What the function would answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accepted(Credential),
    Rejected {
        status: u16,
        /// The `error` of the response body.
        error: &'static str,
        /// The `reason` of the log line.
        reason: &'static str,
        /// The library's own message for it.
        why: String,
    },
}

/// A variation of the request that the function would accept, and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    pub code: &'static str,
    pub credential: Credential,
    /// What matched, e.g. "the signature matches the body re-serialized compactly".
    pub finding: String,
    /// What to do about it.
    pub advice: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub provider: Provider,
    pub verdict: Verdict,
    /// For an accepted request: its credential in the log line's words.
    pub credential: String,
    pub diagnoses: Vec<Diagnosis>,
    /// A line of context: what was checked, or which headers there were.
    pub checked: String,
    /// What the request says that the command line did not expect.
    pub notes: Vec<String>,
}

impl Report {
    pub fn accepted(&self) -> bool {
        matches!(self.verdict, Verdict::Accepted(_))
    }
}

/// One check of a captured request against one provider's settings.
pub struct Check<'a> {
    pub provider: Provider,
    pub settings: &'a Settings,
    pub form: VerifyForm,
    pub max_body_bytes: usize,
}

const MONTE_CARLO_FORM: &str = "Monte Carlo's documented form urlencode(json.loads(body))";

impl Check<'_> {
    /// The function's checks in its order (route, method, size, authentication, parse), then,
    /// for a rejected credential, every diagnosis that applies.
    pub fn run(&self, captured: &Captured) -> Report {
        let report = |verdict: Verdict, diagnoses: Vec<Diagnosis>, checked: String| Report {
            provider: self.provider,
            credential: match verdict {
                Verdict::Accepted(credential) => self.settings.describe(credential),
                Verdict::Rejected { .. } => String::new(),
            },
            verdict,
            diagnoses,
            checked,
            notes: self.notes(captured),
        };
        // As asked: a path that routes to another provider is checked as this one (and noted).
        let asked = format!("/webhooks/{}", self.provider.slug());
        let path = match captured.path.as_deref() {
            Some(path) if admit::route(path).is_some() => &asked,
            Some(path) => path,
            None => &asked,
        };
        let request = captured.request(path);
        let mut providers = vec![ProviderConfig::default(); Provider::ALL.len()];
        providers[self.provider.index()] = self.settings.config.clone();
        let admission = Admission {
            providers,
            max_body_bytes: self.max_body_bytes,
        };
        let checked = self.checked(captured);
        let verified = match admit(&request, &admission, captured.received_at) {
            Ok(verified) => verified,
            Err(refused) => {
                let rejection = refused.rejection;
                let rejected = |why: String| Verdict::Rejected {
                    status: rejection.status(),
                    error: rejection.code(),
                    reason: rejection.reason(),
                    why,
                };
                return match rejection {
                    Rejection::UnknownProvider => report(
                        rejected(format!(
                            "{path} names no provider: alert-relay serves POST …/webhooks/{{provider}}, \
                             with provider one of {}",
                            Provider::ALL.map(Provider::slug).join(", ")
                        )),
                        Vec::new(),
                        String::new(),
                    ),
                    Rejection::MethodNotAllowed => report(
                        rejected(format!(
                            "alert-relay takes POST only, and this request is {}",
                            request.method()
                        )),
                        Vec::new(),
                        String::new(),
                    ),
                    Rejection::TooLarge => report(
                        rejected(format!(
                            "the body is {} bytes, over MAX_BODY_BYTES ({}); nothing is checked \
                             past the size",
                            captured.body.len(),
                            self.max_body_bytes
                        )),
                        Vec::new(),
                        String::new(),
                    ),
                    Rejection::Auth(error) => report(
                        rejected(why(self.provider, error)),
                        self.diagnose(captured),
                        checked,
                    ),
                };
            }
        };
        let credential = verified.credential();
        if let Credential::Signature { form, .. } = credential
            && !self.form.allows(form)
        {
            // What a verifier checking only the expected form finds: no match.
            let mismatch = AuthError::Invalid(SignatureError::Mismatch.into());
            let (expected, flag) = match self.form {
                VerifyForm::Raw => ("the raw body", "raw"),
                VerifyForm::Any | VerifyForm::Documented => (MONTE_CARLO_FORM, "documented"),
            };
            let verdict = Verdict::Rejected {
                status: 401,
                error: mismatch.code(),
                reason: mismatch.reason(),
                why: format!("no signature over {expected} matched (--form {flag})"),
            };
            return report(
                verdict,
                vec![self.form_diagnosis(form, credential)],
                checked,
            );
        }
        match self.provider.normalize(verified) {
            Ok(_) => report(Verdict::Accepted(credential), Vec::new(), checked),
            Err(malformed) => {
                let failed = Failed::Unreadable(Unreadable::Malformed(malformed.clone()));
                let verdict = Verdict::Rejected {
                    status: failed.status().as_u16(),
                    error: failed.code(),
                    reason: failed.reason(),
                    why: format!(
                        "authenticated ({}), but {malformed}",
                        self.settings.describe(credential)
                    ),
                };
                report(verdict, Vec::new(), checked)
            }
        }
    }

    fn notes(&self, captured: &Captured) -> Vec<String> {
        let routed = captured.path.as_deref().and_then(admit::route);
        match routed {
            Some(other) if other != self.provider => vec![format!(
                "the request's path routes to {}: alert-relay checks it as {}, not as {} as asked here",
                other.slug(),
                other.slug(),
                self.provider.slug()
            )],
            _ => Vec::new(),
        }
    }

    /// What authentication looked at, by name only.
    fn checked(&self, captured: &Captured) -> String {
        let header = self.provider.signature_header();
        let secrets = |kind: &str, vars: &[String]| {
            let listed: Vec<String> = vars
                .iter()
                .enumerate()
                .map(|(i, var)| format!("#{i} ${var}"))
                .collect();
            match vars.len() {
                0 => format!("no {kind} secret"),
                1 => format!("1 {kind} secret: {}", listed.join(", ")),
                n => format!("{n} {kind} secrets: {}", listed.join(", ")),
            }
        };
        if captured.headers.contains_key(header) {
            format!(
                "{header} ({}) against {}",
                scheme(self.provider),
                secrets("signing", &self.settings.signing)
            )
        } else if !captured.query.is_empty() {
            format!(
                "no {header} header; the query's `secret`/`token` against {}",
                secrets("query", &self.settings.query)
            )
        } else {
            let names: Vec<&str> = captured.headers.keys().map(HeaderName::as_str).collect();
            format!(
                "no {header} header and no query secret; the request's headers: {}",
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            )
        }
    }

    /// The signature credential `provider` finds in `headers` over `body`, if any.
    fn signed(&self, provider: Provider, headers: &HeaderMap, body: &[u8]) -> Option<Credential> {
        let inbound = Inbound {
            headers,
            query_secrets: &[],
            body,
            received_at: 0,
        };
        let credential = provider
            .authenticate(&self.settings.config, inbound)
            .ok()?
            .credential();
        // `allow_unsigned` accepts a request with no header at all: that proves nothing here.
        matches!(credential, Credential::Signature { .. }).then_some(credential)
    }

    fn diagnosis(
        &self,
        code: &'static str,
        credential: Credential,
        finding: String,
        advice: String,
    ) -> Diagnosis {
        Diagnosis {
            code,
            credential,
            finding: format!("{finding}: {}", self.settings.describe(credential)),
            advice,
        }
    }

    fn form_diagnosis(&self, form: SignedForm, credential: Credential) -> Diagnosis {
        match form {
            SignedForm::Documented => self.diagnosis(
                "documented_form",
                credential,
                format!("the signature matches {MONTE_CARLO_FORM}, not the raw body"),
                "alert-relay accepts this form for monte-carlo (verify --form any). A verifier that \
                 checks the raw body only rejects it: sign the raw body if that is what you expect."
                    .into(),
            ),
            SignedForm::Timestamped | SignedForm::Bearer | SignedForm::Basic => self.diagnosis(
                "other_form",
                credential,
                format!("the credential is of the {} form", form.as_str()),
                "alert-relay accepts it (verify --form any).".into(),
            ),
            SignedForm::Raw => self.diagnosis(
                "raw_form",
                credential,
                format!("the signature matches the raw body, not {MONTE_CARLO_FORM}"),
                "alert-relay accepts both forms for monte-carlo (verify --form any).".into(),
            ),
        }
    }

    fn diagnose(&self, captured: &Captured) -> Vec<Diagnosis> {
        let provider = self.provider;
        let header = provider.signature_header();
        let mut found = Vec::new();
        let mut values = captured.headers.get_all(header).iter();
        let value = match (values.next(), values.next()) {
            (Some(value), None) => value.to_str().ok(),
            _ => None,
        };

        if let Some(value) = value {
            for fix in header_fixes(provider, value) {
                let Ok(fixed) = HeaderValue::from_str(&fix.value) else {
                    continue;
                };
                let mut headers = captured.headers.clone();
                headers.insert(header, fixed);
                if let Some(credential) = self.signed(provider, &headers, &captured.body) {
                    found.push(self.diagnosis(fix.code, credential, fix.finding, fix.advice));
                }
            }

            for variant in reencode::variants(&captured.body) {
                let Some(credential) = self.signed(provider, &captured.headers, &variant.bytes)
                else {
                    continue;
                };
                found.push(match variant.kind {
                    Kind::TrailingWhitespace => self.diagnosis(
                        "trailing_newline",
                        credential,
                        "the signature matches the body without its trailing newline".into(),
                        "The body gained whitespace at its end after it was signed: an editor, `echo` or \
                         a copy and paste when it was captured, or something in transit. Capture the \
                         body byte for byte; if the function received it so, fix what appends it."
                            .into(),
                    ),
                    Kind::Reserialized => self.diagnosis(
                        "reencoded_body",
                        credential,
                        format!("the signature matches the body {}", variant.how),
                        "Something between the sender and this capture re-encoded the JSON: a proxy, an \
                         API Gateway mapping, a logging tool, a pretty-printer. A signature covers the \
                         exact bytes sent; alert-relay checks the bytes it receives. Make sure nothing \
                         parses and re-writes the body on its way to the function, and capture it \
                         before anything does."
                            .into(),
                    ),
                });
            }

            if !provider.spec().forms.contains(&SignedForm::Documented)
                && let Ok(object) = parse_object(&captured.body)
            {
                let form = pyform::urlencode(&object);
                if let Some(credential) = self.signed(provider, &captured.headers, form.as_bytes())
                {
                    found.push(self.diagnosis(
                        "documented_form",
                        credential,
                        format!("the signature is {header}'s scheme over {MONTE_CARLO_FORM}, not over the raw body"),
                        format!(
                            "Only monte-carlo accepts that form: the sender follows Monte Carlo's \
                             documentation. Make it sign the raw body, as {} does.",
                            provider.slug()
                        ),
                    ));
                }
            }
        }

        for other in Provider::ALL.into_iter().filter(|p| *p != provider) {
            let their_header = other.signature_header();
            if captured.headers.contains_key(their_header) {
                if let Some(credential) = self.signed(other, &captured.headers, &captured.body) {
                    found.push(self.diagnosis(
                        "other_provider",
                        credential,
                        format!(
                            "the request carries {their_header}, {}'s signature header, and it verifies as {}",
                            other.slug(),
                            other.slug()
                        ),
                        format!(
                            "The webhook is {}'s, sent to the {} endpoint: point the sender at \
                             /webhooks/{} (wrong URL path).",
                            other.slug(),
                            provider.slug(),
                            other.slug()
                        ),
                    ));
                }
                continue;
            }
            let Some(value) = value.and_then(|v| HeaderValue::from_str(v).ok()) else {
                continue;
            };
            let mut headers = captured.headers.clone();
            headers.remove(header);
            headers.insert(their_header, value);
            if let Some(credential) = self.signed(other, &headers, &captured.body) {
                found.push(self.diagnosis(
                    "other_scheme",
                    credential,
                    format!(
                        "the {header} value is a {} signature ({}) and verifies with {}'s scheme",
                        other.slug(),
                        scheme(other),
                        other.slug()
                    ),
                    format!(
                        "The sender signs the way {} does: send its webhooks to /webhooks/{} with \
                         the {their_header} header (wrong URL path), or make it sign as {} does ({}).",
                        other.slug(),
                        other.slug(),
                        provider.slug(),
                        scheme(provider)
                    ),
                ));
            }
        }
        found
    }
}

/// The library's message, and what it means for this provider.
fn why(provider: Provider, error: AuthError) -> String {
    let header = provider.signature_header();
    match error {
        AuthError::Missing => format!(
            "{error}: the request has no {header} header ({}'s signature), and no `secret` or \
             `token` query parameter that alert-relay is configured to check",
            provider.slug()
        ),
        AuthError::Invalid(InvalidCredential::NoSigningSecret) => {
            format!("{error}: pass the signing secrets with --secret-env")
        }
        AuthError::Invalid(InvalidCredential::Signature(
            SignatureError::Empty
            | SignatureError::WrongScheme
            | SignatureError::BadEncoding(_)
            | SignatureError::WrongLength,
        )) => format!(
            "{error}: a {} signature is {} in {header}",
            provider.slug(),
            scheme(provider)
        ),
        AuthError::Invalid(_) => error.to_string(),
    }
}

/// A corrected header value to try, with what it means if it matches.
struct HeaderFix {
    code: &'static str,
    value: String,
    finding: String,
    advice: String,
}

/// Quotes around the value; a `sha256=`-style prefix where the provider uses none; none where
/// app-services needs one.
fn header_fixes(provider: Provider, value: &str) -> Vec<HeaderFix> {
    let header = provider.signature_header();
    let value = value.trim();
    let mut fixes = Vec::new();
    let unquoted = ['"', '\''].into_iter().find_map(|quote| {
        value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
    });
    if let Some(unquoted) = unquoted {
        fixes.push(HeaderFix {
            code: "quoted_header",
            value: unquoted.to_owned(),
            finding: format!("the {header} value is wrapped in quotes; without them it matches"),
            advice: "Send the bare value: something quoted it (the sender's header template, a \
                     proxy, or the tool that captured it), and alert-relay takes the value as it is."
                .into(),
        });
    }
    let bare = unquoted.unwrap_or(value);
    let quoted_too = if unquoted.is_some() {
        " (and its quotes)"
    } else {
        ""
    };
    let wanted = provider.spec().tag.prefix;
    match wanted {
        "" => {
            let prefix = ["sha1=", "sha256=", "sha512="].into_iter().find(|p| {
                bare.get(..p.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(p))
            });
            if let Some(prefix) = prefix {
                fixes.push(HeaderFix {
                    code: "unexpected_prefix",
                    value: bare[prefix.len()..].to_owned(),
                    finding: format!(
                        "the {header} value starts with `{}`{quoted_too}, which {} does not use; without it, it matches",
                        &bare[..prefix.len()],
                        provider.slug()
                    ),
                    advice: format!(
                        "A {} signature is the bare {}: only app-services' X-Hook-Signature carries a \
                         `sha256=` prefix. Make the sender send the value alone.",
                        provider.slug(),
                        scheme(provider)
                    ),
                });
            }
        }
        wanted => {
            let fixed = match bare.get(..wanted.len()) {
                Some(prefix) if prefix == wanted => None,
                Some(prefix) if prefix.eq_ignore_ascii_case(wanted) => {
                    Some(format!("{wanted}{}", &bare[wanted.len()..]))
                }
                _ => Some(format!("{wanted}{bare}")),
            };
            if let Some(fixed) = fixed {
                fixes.push(HeaderFix {
                    code: "missing_prefix",
                    value: fixed,
                    finding: format!(
                        "the {header} value lacks the exact `{wanted}` prefix{quoted_too}; with it, it \
                         matches"
                    ),
                    advice: format!(
                        "A{} {} signature is {}: make the sender write the prefix, in \
                         lowercase.",
                        if provider.slug().starts_with(['a', 'e', 'i', 'o', 'u']) { "n" } else { "" },
                        provider.slug(),
                        scheme(provider)
                    ),
                });
            }
        }
    }
    fixes
}

/// Loads the captured request and the secrets, and checks.
pub fn run(args: &VerifyArgs) -> Result<Report, LoadError> {
    let settings = Settings::from_env(args)?;
    let captured =
        match (&args.event, &args.headers, &args.body) {
            (Some(event), _, _) => {
                let text = read(event)?;
                Captured::from_event(&text).map_err(|e| LoadError::Event(name(event), e))?
            }
            (None, Some(headers), Some(body)) => {
                let file = headers.display().to_string();
                let text = std::fs::read(headers).map_err(|e| LoadError::Read(file.clone(), e))?;
                let body = read(body)?;
                Captured::from_header_lines(&text, body)
                    .map_err(|(line, what)| LoadError::Headers { file, line, what })?
            }
            // clap requires --event, or --headers with --body.
            _ => Captured::default(),
        };
    let check = Check {
        provider: args.provider.0,
        settings: &settings,
        form: args.form,
        max_body_bytes: args.max_body_bytes,
    };
    Ok(check.run(&captured))
}

/// The report as `verify` prints it.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    match &report.verdict {
        Verdict::Accepted(_) => {
            let _ = writeln!(out, "accepted: {}", report.credential);
            let _ = writeln!(
                out,
                "  alert-relay would authenticate this {} request and publish its alert",
                report.provider.slug()
            );
        }
        Verdict::Rejected {
            status,
            error,
            reason,
            why,
        } => {
            let _ = writeln!(out, "rejected: {status} {error}, reason={reason}");
            let _ = writeln!(out, "{}", indented(why));
        }
    }
    for note in &report.notes {
        let _ = writeln!(out, "{}", indented(&format!("note: {note}")));
    }
    if !report.checked.is_empty() {
        let _ = writeln!(out, "{}", indented(&format!("checked: {}", report.checked)));
    }
    for diagnosis in &report.diagnoses {
        let _ = writeln!(out, "diagnosis: {}", diagnosis.code);
        let _ = writeln!(out, "{}", indented(&format!("{}.", diagnosis.finding)));
        let _ = writeln!(out, "{}", indented(&diagnosis.advice));
    }
    let signature_rejected = matches!(
        report.verdict,
        Verdict::Rejected {
            reason: "signature_mismatch",
            ..
        }
    );
    if signature_rejected && report.diagnoses.is_empty() {
        let _ = writeln!(out, "no diagnosis:");
        let _ = writeln!(
            out,
            "{}",
            indented(
                "Nothing verify tries matches with these secrets: the JSON re-encoded, a trailing \
                 newline, quotes or a prefix on the header, another provider's scheme, Monte \
                 Carlo's documented form. The likeliest cause is the secret: compare it with the \
                 sender's, and pass every secret of a rotation with --secret-env."
            )
        );
    }
    out
}

/// Two spaces in, wrapped to 100 columns.
fn indented(text: &str) -> String {
    textwrap::fill(
        text,
        textwrap::Options::new(100)
            .initial_indent("  ")
            .subsequent_indent("  ")
            .word_splitter(textwrap::WordSplitter::NoHyphenation),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines_stop_at_the_empty_line_of_a_raw_request() {
        let raw = b"\r\nPOST /prod/webhooks/atlas?token=a%2Fb&x=1&secret=c+d HTTP/1.1\r\n\
                    Host: example.test\r\nX-MMS-Signature: abc=\r\nX-MMS-Signature:  def= \r\n\r\n\
                    {\"id\": \"not a header\"}\r\n";
        let captured = Captured::from_header_lines(raw, b"{}".to_vec()).unwrap();
        assert_eq!(captured.method.as_deref(), Some("POST"));
        assert_eq!(captured.path.as_deref(), Some("/prod/webhooks/atlas"));
        assert_eq!(captured.query.all("secret"), Some(vec!["c d"]));
        assert_eq!(captured.query.all("token"), Some(vec!["a/b"]));
        let signatures: Vec<&str> = captured
            .headers
            .get_all("x-mms-signature")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(signatures, ["abc=", "def="]);
        assert_eq!(captured.headers.len(), 3);
        assert_eq!(captured.body, b"{}");
    }

    #[test]
    fn header_lines_name_the_line_that_is_not_a_header() {
        let error = Captured::from_header_lines(b"Content-Type: a\nno colon here\n", Vec::new())
            .unwrap_err();
        assert_eq!(error.0, 2);
        assert!(Captured::from_header_lines(b"bad name: v", Vec::new()).is_err());
    }
}
