//! The fixed set of providers: how each authenticates a request and what its alert means.
//!
//! Adding a provider is one file here, one enum arm in each exhaustive `match`, its sample events
//! and its tests.

mod app_services;
mod atlas;
mod monte_carlo;

use http::HeaderMap;
use serde_json::{Map, Value};

use crate::config::{ProviderConfig, Secret};
use crate::event::Alert;
use crate::signature::{Scheme, SignatureError, Tag, secret_equals};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Provider {
    Atlas,
    AppServices,
    MonteCarlo,
}

/// Which message a provider signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignedForm {
    /// The raw body bytes.
    Raw,
    /// Monte Carlo's documented form: `urlencode(json.loads(body))`.
    Documented,
}

impl SignedForm {
    pub fn as_str(self) -> &'static str {
        match self {
            SignedForm::Raw => "raw",
            SignedForm::Documented => "documented",
        }
    }
}

/// How a request proved where it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    Signature {
        form: SignedForm,
        secret_index: usize,
    },
    QuerySecret {
        secret_index: usize,
    },
    /// No credential, accepted because the operator opted in with `<P>_ALLOW_UNSIGNED`.
    Unsigned,
}

/// What authentication looks at: nothing here is trusted yet.
#[derive(Debug, Clone, Copy)]
pub struct Inbound<'a> {
    pub headers: &'a HeaderMap,
    /// Every value of the `secret` and `token` query parameters, in order.
    pub query_secrets: &'a [&'a str],
    pub body: &'a [u8],
}

/// A request whose credential checked out. Only `Provider::authenticate` makes one, so only an
/// authenticated request can be normalized and published.
#[derive(Debug)]
pub struct Verified<'a> {
    provider: Provider,
    inbound: Inbound<'a>,
    credential: Credential,
    /// The body, when authentication already had to parse it (Monte Carlo's documented form).
    parsed: Option<Map<String, Value>>,
}

impl<'a> Verified<'a> {
    pub fn provider(&self) -> Provider {
        self.provider
    }
    pub fn credential(&self) -> Credential {
        self.credential
    }
    pub fn body(&self) -> &'a [u8] {
        self.inbound.body
    }
    pub fn headers(&self) -> &'a HeaderMap {
        self.inbound.headers
    }
}

/// Why authentication failed; the two kinds map to the contract's two 401 bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no signature or query secret")]
    Missing,
    #[error("invalid credential: {0}")]
    Invalid(InvalidCredential),
}

impl AuthError {
    /// The `error` of the 401 body.
    pub fn code(self) -> &'static str {
        match self {
            AuthError::Missing => "missing_signature",
            AuthError::Invalid(_) => "invalid_signature",
        }
    }

    /// The `reason` the request log line gives; `alert-relay-sign verify` reports the same words.
    pub fn reason(self) -> &'static str {
        match self {
            AuthError::Missing => "missing_signature",
            AuthError::Invalid(why) => why.reason(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCredential {
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("signature header sent more than once")]
    DuplicateHeader,
    #[error("signature header is not visible ASCII")]
    UnreadableHeader,
    #[error("a signature was sent but no signing secret is configured")]
    NoSigningSecret,
    #[error("query secret given more than once")]
    DuplicateQuerySecret,
    #[error("query secret does not match")]
    QuerySecretMismatch,
}

impl InvalidCredential {
    /// A short, fixed reason for logs and metrics.
    pub fn reason(self) -> &'static str {
        match self {
            InvalidCredential::Signature(SignatureError::Empty) => "empty_signature",
            InvalidCredential::Signature(SignatureError::TooLong) => "signature_too_long",
            InvalidCredential::Signature(SignatureError::WrongScheme) => "wrong_scheme",
            InvalidCredential::Signature(SignatureError::BadEncoding(_)) => "bad_encoding",
            InvalidCredential::Signature(SignatureError::WrongLength) => "wrong_length",
            InvalidCredential::Signature(SignatureError::Mismatch) => "signature_mismatch",
            InvalidCredential::DuplicateHeader => "duplicate_header",
            InvalidCredential::UnreadableHeader => "unreadable_header",
            InvalidCredential::NoSigningSecret => "no_signing_secret",
            InvalidCredential::DuplicateQuerySecret => "duplicate_query_secret",
            InvalidCredential::QuerySecretMismatch => "query_secret_mismatch",
        }
    }
}

/// The body was authentic but is not an alert we can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MalformedPayload {
    #[error("body is not JSON: {0}")]
    NotJson(String),
    #[error("body is JSON but not an object")]
    NotAnObject,
}

impl MalformedPayload {
    /// The `reason` the request log line gives.
    pub fn reason(&self) -> &'static str {
        match self {
            MalformedPayload::NotJson(_) => "not_json",
            MalformedPayload::NotAnObject => "not_an_object",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("{0} has no documented signing form; sign the raw body")]
    NoDocumentedForm(&'static str),
    #[error("the documented form needs a JSON object body: {0}")]
    NotAnObject(#[from] MalformedPayload),
}

impl Provider {
    pub const ALL: [Provider; 3] = [Provider::Atlas, Provider::AppServices, Provider::MonteCarlo];

    /// The path segment in `/webhooks/{provider}`; exact and case-sensitive.
    pub fn from_slug(slug: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.slug() == slug)
    }

    pub fn slug(self) -> &'static str {
        match self {
            Provider::Atlas => "atlas",
            Provider::AppServices => "app-services",
            Provider::MonteCarlo => "monte-carlo",
        }
    }

    /// The provider's name for people: titles, emails, chat.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Atlas => "MongoDB Atlas",
            Provider::AppServices => "App Services",
            Provider::MonteCarlo => "Monte Carlo",
        }
    }

    /// Prefix of the provider's environment variables.
    pub fn env_prefix(self) -> &'static str {
        match self {
            Provider::Atlas => "ATLAS",
            Provider::AppServices => "APP_SERVICES",
            Provider::MonteCarlo => "MONTE_CARLO",
        }
    }

    pub fn signature_header(self) -> &'static str {
        match self {
            Provider::Atlas => atlas::SIGNATURE_HEADER,
            Provider::AppServices => app_services::SIGNATURE_HEADER,
            Provider::MonteCarlo => monte_carlo::SIGNATURE_HEADER,
        }
    }

    fn scheme(self) -> Scheme {
        match self {
            Provider::Atlas => Scheme::Sha1Base64,
            Provider::AppServices => Scheme::Sha256Hex,
            Provider::MonteCarlo => Scheme::Sha512Hex,
        }
    }

    /// The signature header value this provider sends for `body` under `secret`.
    pub fn sign(self, secret: &[u8], body: &[u8], form: SignedForm) -> Result<String, SignError> {
        match (self, form) {
            (_, SignedForm::Raw) => Ok(self.scheme().sign(secret, body)),
            (Provider::MonteCarlo, SignedForm::Documented) => {
                let object = parse_object(body)?;
                Ok(self
                    .scheme()
                    .sign(secret, crate::pyform::urlencode(&object).as_bytes()))
            }
            (_, SignedForm::Documented) => Err(SignError::NoDocumentedForm(self.slug())),
        }
    }

    /// Checks the request's credential against the provider's settings. Fails closed: a
    /// credential that is present but wrong is rejected even where unsigned requests are allowed.
    pub fn authenticate<'a>(
        self,
        settings: &ProviderConfig,
        inbound: Inbound<'a>,
    ) -> Result<Verified<'a>, AuthError> {
        let verified = |credential, parsed| Verified {
            provider: self,
            inbound,
            credential,
            parsed,
        };
        let invalid = |why: InvalidCredential| AuthError::Invalid(why);

        let mut values = inbound.headers.get_all(self.signature_header()).iter();
        if let Some(header) = values.next() {
            if values.next().is_some() {
                return Err(invalid(InvalidCredential::DuplicateHeader));
            }
            let header = header
                .to_str()
                .map_err(|_| invalid(InvalidCredential::UnreadableHeader))?;
            let tag = self.scheme().parse(header).map_err(|e| invalid(e.into()))?;
            if settings.webhook_secrets.is_empty() {
                return Err(invalid(InvalidCredential::NoSigningSecret));
            }
            let (form, secret_index, parsed) = self
                .match_signature(&tag, &settings.webhook_secrets, inbound.body)
                .ok_or(invalid(SignatureError::Mismatch.into()))?;
            return Ok(verified(
                Credential::Signature { form, secret_index },
                parsed,
            ));
        }

        if !settings.query_secrets.is_empty() && !inbound.query_secrets.is_empty() {
            let [presented] = inbound.query_secrets else {
                return Err(invalid(InvalidCredential::DuplicateQuerySecret));
            };
            let secret_index = settings
                .query_secrets
                .iter()
                .position(|secret| secret_equals(presented, secret))
                .ok_or(invalid(InvalidCredential::QuerySecretMismatch))?;
            return Ok(verified(Credential::QuerySecret { secret_index }, None));
        }

        if settings.allow_unsigned {
            return Ok(verified(Credential::Unsigned, None));
        }
        Err(AuthError::Missing)
    }

    fn match_signature(self, tag: &Tag, secrets: &[Secret], body: &[u8]) -> Option<SignatureMatch> {
        if let Some(index) = tag.match_any(secrets, body) {
            return Some((SignedForm::Raw, index, None));
        }
        match self {
            Provider::MonteCarlo => monte_carlo::match_documented(tag, secrets, body)
                .map(|(index, object)| (SignedForm::Documented, index, Some(object))),
            Provider::Atlas | Provider::AppServices => None,
        }
    }

    /// Reads an authenticated body into the common alert.
    pub fn normalize(self, verified: Verified<'_>) -> Result<Alert, MalformedPayload> {
        let headers = verified.inbound.headers;
        let body = match verified.parsed {
            Some(object) => object,
            None => parse_object(verified.inbound.body)?,
        };
        Ok(match self {
            Provider::Atlas => atlas::normalize(&body, headers),
            Provider::AppServices => app_services::normalize(&body),
            Provider::MonteCarlo => monte_carlo::normalize(&body),
        })
    }
}

/// Parses a body that must be a JSON object.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, MalformedPayload> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(MalformedPayload::NotAnObject),
        Err(e) => Err(MalformedPayload::NotJson(e.classify_name())),
    }
}

trait ClassifyName {
    fn classify_name(&self) -> String;
}

impl ClassifyName for serde_json::Error {
    /// The error's category and position, never the offending text.
    fn classify_name(&self) -> String {
        format!(
            "{:?} error at line {} column {}",
            self.classify(),
            self.line(),
            self.column()
        )
    }
}

/// Which form and secret a signature matched, and the body if matching had to parse it.
type SignatureMatch = (SignedForm, usize, Option<Map<String, Value>>);

/// Small readers shared by the providers' normalizers: a field is used only when it has the
/// expected type and is not blank.
pub(crate) mod fields {
    use serde_json::{Map, Value};

    pub fn str<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
        object
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// A string, or a number rendered as written (ids are sometimes numbers).
    pub fn text(object: &Map<String, Value>, key: &str) -> Option<String> {
        match object.get(key)? {
            Value::String(s) => Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    pub fn object<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Map<String, Value>> {
        object.get(key).and_then(Value::as_object)
    }

    pub fn first_str<'a>(object: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a str> {
        keys.iter().find_map(|key| str(object, key))
    }

    /// `Some(value)` as JSON, or `null`.
    pub fn json(value: Option<impl Into<Value>>) -> Value {
        value.map_or(Value::Null, Into::into)
    }
}
