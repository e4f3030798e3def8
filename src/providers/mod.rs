//! The fixed set of providers: how each authenticates a request and what its alert means.
//!
//! A provider is a [`Spec`] in its own file: its path slug, names, environment prefix, signature
//! headers and scheme, the signed forms it accepts and its normalizer. The registry below is the
//! one list of them; adding a provider is its file, its `mod` line and its registry line.

pub(crate) mod fields;
mod group;
mod settings;

// The providers' own files: declared here, not inside `registry!`, so that `cargo fmt` reaches them.
mod alertmanager;
mod app_services;
mod atlas;
mod grafana;
mod monte_carlo;
mod standard_webhooks;

pub use settings::{
    Fetched, ProviderConfig, SecretEncoding, SecretForm, SettingsError, SignedHeaderNames,
    parse_secrets,
};

pub use group::{MAX_ALERTS, truncated_alerts};
use http::HeaderMap;
use serde_json::{Map, Value};

use crate::alert::Alert;
use crate::secret::Secret;
use crate::signature::{Scheme, SignatureError, secret_equals};

/// Declares the providers: one `Variant => module` line each, in the order they are listed
/// everywhere (docs, the signer's help, the template).
macro_rules! registry {
    ($($variant:ident => $module:ident),+ $(,)?) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Provider {
            $($variant),+
        }

        impl Provider {
            pub const ALL: [Provider; [$(stringify!($variant)),+].len()] = [$(Provider::$variant),+];

            /// Everything that makes this provider what it is.
            pub fn spec(self) -> &'static Spec {
                match self {
                    $(Provider::$variant => &$module::SPEC),+
                }
            }
        }
    };
}

registry! {
    Atlas => atlas,
    AppServices => app_services,
    MonteCarlo => monte_carlo,
    StandardWebhooks => standard_webhooks,
    Grafana => grafana,
    Alertmanager => alertmanager,
}

/// The headers a signature is sent in: `(name, value)`, the signature's own among them.
pub type SignedHeaders = Vec<(&'static str, String)>;

/// A provider's own check of a present signature.
pub type VerifyFn = fn(&Presented<'_>, &[Secret]) -> Result<Matched, InvalidCredential>;
/// A provider's own signing: the headers it sends.
pub type SignFn = fn(&Secret, &Signing<'_>) -> Result<SignedHeaders, SignError>;

/// A provider, declared in one place.
pub struct Spec {
    /// The path segment in `/webhooks/{provider}`; exact and case-sensitive.
    pub slug: &'static str,
    /// The provider's name for people: titles, emails, chat.
    pub name: &'static str,
    /// Prefix of the provider's environment variables (`<P>_WEBHOOK_SECRETS`, …).
    pub env_prefix: &'static str,
    /// The header that carries the signature: a request without it is unsigned.
    pub signature_header: &'static str,
    /// Other headers the signature covers (each read at most once, with the signature).
    pub signed_headers: &'static [&'static str],
    /// How the signature header's value is made, in words.
    pub scheme: &'static str,
    /// How one tag is written in the signature header.
    pub tag: Scheme,
    /// How a signing secret is written in `<P>_WEBHOOK_SECRETS` (and given to the signer).
    pub secrets: SecretForm,
    /// The variables that hold the provider's credentials, `<P>_<suffix>`, each in its own form;
    /// empty: `<P>_WEBHOOK_SECRETS` in `secrets`' form, as for every provider that signs.
    pub variables: &'static [(&'static str, SecretForm)],
    /// The sender may sign without a timestamp and lets its users rename its headers (Grafana):
    /// `<P>_SIGNATURE_HEADER` and `<P>_TIMESTAMP_HEADER` rename them, and
    /// `<P>_REQUIRE_TIMESTAMP=true` refuses a signature without the timestamp.
    pub optional_timestamp: bool,
    /// The messages a signature may cover, the raw body first.
    pub forms: &'static [SignedForm],
    /// A header the sender sets to say what happened (Atlas's `X-MMS-Event`), for the signer.
    pub event_header: Option<&'static str>,
    /// Whether the sender documents a secret in the URL (`?secret=`) as a way to authenticate.
    /// Only then does template.yaml offer `<P>QuerySecrets`: a URL secret sits in every access
    /// log and proxy on the way, and a sender that signs its requests needs none. The function
    /// honours `<P>_QUERY_SECRETS` for every provider all the same (SPEC.md).
    pub query_secrets: bool,
    /// Checks a present signature against the signing secrets; `None`: one `tag` over the raw
    /// body, as most providers sign.
    pub verify: Option<VerifyFn>,
    /// The signature headers this provider sends; `None`: one `tag` of the raw body in
    /// `signature_header`.
    pub sign: Option<SignFn>,
    /// Reads an authenticated body into its alert, or its group of alerts.
    pub normalize: Reader,
}

/// How a provider reads an authenticated body.
#[derive(Clone, Copy)]
pub enum Reader {
    /// One alert per request, from the body's JSON object and the request's headers.
    One(fn(&Map<String, Value>, &HeaderMap) -> Alert),
    /// A group (`alerts[]`): one alert each, each knowing where its own JSON object is in the
    /// body (`Alert::source`), so that its event id hashes only its own bytes.
    Group(fn(&[u8]) -> Result<Vec<Alert>, MalformedPayload>),
}

impl Spec {
    /// The variables that hold the provider's credentials (suffixes of `<P>_`), each with how
    /// its entries are written.
    pub fn secret_variables(&self) -> impl Iterator<Item = (&'static str, SecretForm)> + use<> {
        let default: &[(&str, SecretForm)] = &[("WEBHOOK_SECRETS", SecretForm::TEXT)];
        let (list, form) = match self.variables {
            [] => (default, Some(self.secrets)),
            list => (list, None),
        };
        list.iter()
            .map(move |&(suffix, own)| (suffix, form.unwrap_or(own)))
    }
}

/// What a provider's `verify` looks at: the signature header's value, the values of its
/// `signed_headers` in order, the body, and when the request was received.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    pub signature: &'a str,
    pub signed_headers: &'a [Option<&'a str>],
    pub body: &'a [u8],
    /// Unix seconds.
    pub received_at: i64,
    /// `<P>_REQUIRE_TIMESTAMP`: a signature without the sender's timestamp is refused.
    pub require_timestamp: bool,
}

/// Which form and secret a signature matched, and the body if matching had to parse it.
#[derive(Debug)]
pub struct Matched {
    pub form: SignedForm,
    pub secret_index: usize,
    pub parsed: Option<Map<String, Value>>,
}

/// What a provider's `sign` signs.
#[derive(Debug, Clone, Copy)]
pub struct Signing<'a> {
    pub body: &'a [u8],
    pub form: SignedForm,
    /// Unix seconds, for schemes that sign a time.
    pub timestamp: i64,
    /// A message id, for schemes that sign one.
    pub id: &'a str,
}

/// Which message a provider signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignedForm {
    /// The raw body bytes.
    Raw,
    /// Monte Carlo's documented form: `urlencode(json.loads(body))`.
    Documented,
    /// `<unix seconds>:<body>`, the seconds in their own header (Grafana's timestamp header).
    Timestamped,
    /// Not a signature: an `Authorization: Bearer` token (Alertmanager).
    Bearer,
    /// Not a signature: `Authorization: Basic` credentials (Alertmanager).
    Basic,
}

impl SignedForm {
    /// Whether it is a signature over the request, which a changed body fails; a bearer token or
    /// basic credentials are not (whoever holds one can send any body).
    pub fn is_signature(self) -> bool {
        !matches!(self, SignedForm::Bearer | SignedForm::Basic)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SignedForm::Raw => "raw",
            SignedForm::Documented => "documented",
            SignedForm::Timestamped => "timestamped",
            SignedForm::Bearer => "bearer",
            SignedForm::Basic => "basic",
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
pub struct Inbound<'a, 'q> {
    pub headers: &'a HeaderMap,
    /// Every value of the `secret` and `token` query parameters, in order.
    pub query_secrets: &'q [&'q str],
    pub body: &'a [u8],
    /// When the request was received, Unix seconds (schemes with a timestamp check it).
    pub received_at: i64,
}

/// A request whose credential checked out. Only `Provider::authenticate` makes one, so only an
/// authenticated request can be normalized and published.
#[derive(Debug)]
pub struct Verified<'a> {
    provider: Provider,
    headers: &'a HeaderMap,
    body: &'a [u8],
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
        self.body
    }
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
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

/// A provider's own reason to refuse a signature that is present (a stale timestamp, say): fixed
/// words for the log line and a sentence for people, never request data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub reason: &'static str,
    pub message: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCredential {
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("{}", .0.message)]
    Refused(Refusal),
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
            InvalidCredential::Refused(refusal) => refusal.reason,
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
    #[error("body is not a group of alerts: {0}")]
    NotAGroup(&'static str),
}

impl MalformedPayload {
    /// The `reason` the request log line gives.
    pub fn reason(&self) -> &'static str {
        match self {
            MalformedPayload::NotJson(_) => "not_json",
            MalformedPayload::NotAnObject => "not_an_object",
            MalformedPayload::NotAGroup(_) => "not_a_group",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("{0} does not sign in that form")]
    NoDocumentedForm(&'static str),
    #[error("the documented form needs a JSON object body: {0}")]
    NotAnObject(#[from] MalformedPayload),
    #[error("the credential {0}")]
    Credential(&'static str),
}

impl Provider {
    /// The path segment in `/webhooks/{provider}`; exact and case-sensitive.
    pub fn from_slug(slug: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.slug() == slug)
    }

    pub fn slug(self) -> &'static str {
        self.spec().slug
    }

    /// The provider's name for people: titles, emails, chat.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// Prefix of the provider's environment variables.
    pub fn env_prefix(self) -> &'static str {
        self.spec().env_prefix
    }

    pub fn signature_header(self) -> &'static str {
        self.spec().signature_header
    }

    /// Index into `Provider::ALL`.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The headers this provider sends to sign `signing.body` with `secret`.
    pub fn sign(self, secret: &Secret, signing: &Signing<'_>) -> Result<SignedHeaders, SignError> {
        let spec = self.spec();
        if !spec.forms.contains(&signing.form) {
            return Err(SignError::NoDocumentedForm(spec.slug));
        }
        match spec.sign {
            Some(sign) => sign(secret, signing),
            None => Ok(sign_raw(spec, secret, signing)),
        }
    }

    /// The headers that sign `body` with the key `key` now, with a message id derived from the
    /// body (the same body, the same id): what a sender of this provider sends.
    pub fn sign_body(
        self,
        key: &[u8],
        body: &[u8],
        form: SignedForm,
    ) -> Result<SignedHeaders, SignError> {
        let signing = Signing {
            body,
            form,
            timestamp: time::OffsetDateTime::now_utc().unix_timestamp(),
            id: &self.message_id(body),
        };
        self.sign(&Secret::from_bytes(key), &signing)
    }

    /// The signature header's own value among the headers a signing produced.
    pub fn signature_in(self, headers: &SignedHeaders) -> Option<&str> {
        headers
            .iter()
            .find(|(name, _)| *name == self.signature_header())
            .map(|(_, value)| value.as_str())
    }

    /// A message id for schemes that sign one: the same body, the same id, as a sender's
    /// redelivery of one message keeps its id.
    pub fn message_id(self, body: &[u8]) -> String {
        use sha2::Digest as _;
        let digest = sha2::Sha256::new()
            .chain_update(self.slug())
            .chain_update(":")
            .chain_update(body)
            .finalize();
        format!("msg_{}", &hex::encode(digest)[..26])
    }

    /// Checks the request's credential against the provider's settings. Fails closed: a
    /// credential that is present but wrong is rejected even where unsigned requests are allowed.
    pub fn authenticate<'a>(
        self,
        settings: &ProviderConfig,
        inbound: Inbound<'a, '_>,
    ) -> Result<Verified<'a>, AuthError> {
        let spec = self.spec();
        let verified = |credential, parsed| Verified {
            provider: self,
            headers: inbound.headers,
            body: inbound.body,
            credential,
            parsed,
        };
        let invalid = |why: InvalidCredential| AuthError::Invalid(why);

        if let Some(signature) = single(inbound.headers, settings.signature_header(spec))? {
            let signed_headers = settings
                .signed_headers(spec)
                .into_iter()
                .map(|name| single(inbound.headers, name))
                .collect::<Result<Vec<_>, _>>()?;
            let presented = Presented {
                signature,
                signed_headers: &signed_headers,
                body: inbound.body,
                received_at: inbound.received_at,
                require_timestamp: settings.require_timestamp,
            };
            let secrets = &settings.webhook_secrets;
            let matched = match spec.verify {
                Some(verify) => verify(&presented, secrets),
                None => verify_raw(spec.tag, &presented, secrets),
            };
            let matched = matched.map_err(|why| match why {
                InvalidCredential::Signature(SignatureError::Mismatch) if secrets.is_empty() => {
                    invalid(InvalidCredential::NoSigningSecret)
                }
                why => invalid(why),
            })?;
            return Ok(verified(
                Credential::Signature {
                    form: matched.form,
                    secret_index: matched.secret_index,
                },
                matched.parsed,
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

    /// Whether a request may carry several alerts (`alerts[]`), each its own event.
    pub fn sends_groups(self) -> bool {
        matches!(self.spec().normalize, Reader::Group(_))
    }

    /// Reads an authenticated body into its alerts: one, or a group's, in the body's order.
    pub fn normalize(self, verified: Verified<'_>) -> Result<Vec<Alert>, MalformedPayload> {
        match self.spec().normalize {
            Reader::One(read) => {
                let body = match verified.parsed {
                    Some(object) => object,
                    None => parse_object(verified.body)?,
                };
                Ok(vec![read(&body, verified.headers)])
            }
            Reader::Group(read) => read(verified.body),
        }
    }
}

/// The one value of header `name`, if sent: sent twice, or not visible ASCII, it is refused.
fn single<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, AuthError> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::Invalid(InvalidCredential::DuplicateHeader));
    }
    value
        .to_str()
        .map(Some)
        .map_err(|_| AuthError::Invalid(InvalidCredential::UnreadableHeader))
}

/// How a provider that signs the raw body with one tag of `scheme` is checked.
pub(crate) fn verify_raw(
    scheme: Scheme,
    presented: &Presented<'_>,
    secrets: &[Secret],
) -> Result<Matched, InvalidCredential> {
    let tag = scheme.parse(presented.signature)?;
    let secret_index = tag
        .match_any(secrets, presented.body)
        .ok_or(SignatureError::Mismatch)?;
    Ok(Matched {
        form: SignedForm::Raw,
        secret_index,
        parsed: None,
    })
}

/// The raw body signed with one tag of the spec's scheme, in its signature header.
pub(crate) fn sign_raw(spec: &Spec, secret: &Secret, signing: &Signing<'_>) -> SignedHeaders {
    vec![(
        spec.signature_header,
        spec.tag.sign(secret.expose(), signing.body),
    )]
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
