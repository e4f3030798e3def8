//! The hostile-input table: every way a caller can send something broken, forged or odd, with the
//! status the contract gives it. Shared by the handler test and the log-leak test.

use alert_relay::providers::{Provider, SignedForm};
use alert_relay::signature::Encoding;
use serde_json::Value;

use super::*;

pub struct Case {
    pub name: String,
    pub event: Value,
    pub status: u16,
    /// The response body's `error`; none for a 200.
    pub error: Option<&'static str>,
    /// How many alerts a 200 publishes: the provider's seed's.
    pub alerts: usize,
}

/// What a case must answer: the status and, for a refusal, the contract's `error` code.
type Expect = (u16, Option<&'static str>);
const PUBLISHED: Expect = (200, None);
const MALFORMED: Expect = (400, Some("malformed_payload"));
const MISSING: Expect = (401, Some("missing_signature"));
const INVALID: Expect = (401, Some("invalid_signature"));
const UNKNOWN_PROVIDER: Expect = (404, Some("unknown_provider"));
const NOT_POST: Expect = (405, Some("method_not_allowed"));
const TOO_LARGE: Expect = (413, Some("payload_too_large"));

fn case(name: impl Into<String>, event: Value, (status, error): Expect) -> Case {
    Case {
        name: name.into(),
        event,
        status,
        error,
        alerts: 1,
    }
}

fn path(provider: Provider) -> String {
    format!("/webhooks/{}", provider.slug())
}

/// The signature header's value for `body`.
fn sign(provider: Provider, secret: &str, body: &[u8]) -> String {
    super::signature(provider, secret, body, SignedForm::Raw)
}

/// `value` with its hex in upper case and its prefix as it was.
fn uppercase_hex(provider: Provider, value: &str) -> String {
    let prefix = provider.spec().tag.prefix;
    format!("{prefix}{}", value[prefix.len()..].to_uppercase())
}

/// A request signed over `body` with the first test secret.
fn signed_bytes(provider: Provider, body: &[u8]) -> Http {
    let signing = provider
        .sign_body(SECRETS[0].as_bytes(), body, provider.spec().forms[0])
        .unwrap();
    signing.into_iter().fold(
        Http::post(&path(provider), body),
        |request, (name, value)| request.header(name, &value),
    )
}

/// An alert object as the provider reads it: itself, or for a group's sender a group whose
/// first member is `alerts: [{}]` (`object` may be an unfinished object's start).
fn alert(provider: Provider, object: &str) -> String {
    match provider.sends_groups() {
        true => object.replacen('{', r#"{"alerts":[{}],"#, 1),
        false => object.to_owned(),
    }
}

fn nested(depth: usize) -> String {
    format!("{{\"a\":{}1{}}}", "[".repeat(depth), "]".repeat(depth))
}

/// Every case for every provider, plus the provider-independent ones.
pub fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for p in Provider::ALL {
        let first = cases.len();
        let slug = p.slug();
        let seed = seed(p).as_bytes();
        let good = sign(p, SECRETS[0], seed);
        let header = p.signature_header();
        let with_sig = |sig: &str| {
            super::with_companions(Http::post(&path(p), seed), p, seed).header(header, sig)
        };

        // Bodies.
        let mut bad_base64 = signed_bytes(p, seed).v2_base64();
        bad_base64["body"] = Value::String("not*base64!".into());
        // A credential that covers no body lets an unreadable one through to the parse.
        let signs = p.spec().forms.iter().any(|f| f.is_signature());
        cases.push(case(
            format!("{slug}: invalid base64 body"),
            bad_base64,
            if signs { INVALID } else { MALFORMED },
        ));
        cases.push(case(
            format!("{slug}: invalid UTF-8"),
            signed_bytes(p, b"{\"a\":\"\xff\xfe\"}").v2_base64(),
            MALFORMED,
        ));
        cases.push(case(
            format!("{slug}: empty body, signed"),
            signed_bytes(p, b"").v2(),
            MALFORMED,
        ));
        cases.push(case(
            format!("{slug}: empty body, unsigned"),
            Http::post(&path(p), "").v2(),
            MISSING,
        ));
        cases.push(case(
            format!("{slug}: JSON scalar"),
            signed_bytes(p, b"42").v2(),
            MALFORMED,
        ));
        cases.push(case(
            format!("{slug}: JSON string"),
            signed_bytes(p, b"\"alert\"").v2(),
            MALFORMED,
        ));
        cases.push(case(
            format!("{slug}: JSON array"),
            signed_bytes(p, b"[{\"id\":1}]").v2(),
            MALFORMED,
        ));
        cases.push(case(
            format!("{slug}: JSON null"),
            signed_bytes(p, b"null").v2(),
            MALFORMED,
        ));
        cases.push(case(
            format!("{slug}: 10,000-deep nesting"),
            signed_bytes(p, nested(10_000).as_bytes()).v2(),
            MALFORMED,
        ));
        cases.push(case(
            format!("{slug}: 100-deep nesting"),
            signed_bytes(p, alert(p, &nested(100)).as_bytes()).v2(),
            PUBLISHED,
        ));
        let digits = format!(
            "{{\"id\":\"big\",\"n\":{},\"m\":-{}.5e-300}}",
            "9".repeat(500),
            "1".repeat(500)
        );
        cases.push(case(
            format!("{slug}: 500-digit numbers"),
            signed_bytes(p, alert(p, &digits).as_bytes()).v2(),
            PUBLISHED,
        ));
        cases.push(case(
            format!("{slug}: lone surrogate escape"),
            signed_bytes(p, br#"{"a":"\ud800"}"#).v2(),
            MALFORMED,
        ));
        cases.push(case(
            format!("{slug}: paired surrogate escape"),
            signed_bytes(p, alert(p, r#"{"a":"\ud83d\ude00"}"#).as_bytes()).v2(),
            PUBLISHED,
        ));
        cases.push(case(
            format!("{slug}: trailing garbage"),
            signed_bytes(p, b"{} {}").v2(),
            MALFORMED,
        ));
        cases.push(case(
            format!("{slug}: NaN"),
            signed_bytes(p, b"{\"a\":NaN}").v2(),
            MALFORMED,
        ));

        // Signature headers.
        cases.push(case(
            format!("{slug}: header name in upper case"),
            with_sig(&good).v2(),
            PUBLISHED,
        ));
        let mut lower = super::with_companions(Http::post(&path(p), seed), p, seed);
        lower
            .headers
            .push((header.to_ascii_lowercase(), good.clone()));
        cases.push(case(
            format!("{slug}: header name in lower case, REST"),
            lower.rest("prod", false),
            PUBLISHED,
        ));
        let twice = with_sig(&good).header(&header.to_ascii_uppercase(), &good);
        cases.push(case(
            format!("{slug}: duplicated header (HTTP API joins them)"),
            twice.v2(),
            INVALID,
        ));
        let bad_then_good = with_sig("bad").header(header, &good);
        cases.push(case(
            format!("{slug}: duplicated header, REST, last valid"),
            bad_then_good.rest("prod", false),
            PUBLISHED,
        ));
        let good_then_bad = with_sig(&good).header(header, "bad");
        cases.push(case(
            format!("{slug}: duplicated header, REST, last invalid"),
            good_then_bad.rest("prod", false),
            INVALID,
        ));
        cases.push(case(
            format!("{slug}: whitespace around signature"),
            with_sig(&format!(" {good}\t")).v2(),
            PUBLISHED,
        ));
        if !signs {
            // Not a signature: nothing to write in another case.
        } else if p.spec().tag.encoding == Encoding::Hex {
            cases.push(case(
                format!("{slug}: uppercase hex"),
                with_sig(&uppercase_hex(p, &good)).v2(),
                PUBLISHED,
            ));
        } else {
            cases.push(case(
                format!("{slug}: base64 without padding"),
                with_sig(good.trim_end_matches('=')).v2(),
                INVALID,
            ));
            cases.push(case(
                format!("{slug}: base64url alphabet"),
                with_sig(&good.replace('+', "-").replace('/', "_")).v2(),
                if good.contains(['+', '/']) {
                    INVALID
                } else {
                    PUBLISHED
                },
            ));
        }
        cases.push(case(
            format!("{slug}: empty signature"),
            with_sig("").v2(),
            INVALID,
        ));
        cases.push(case(
            format!("{slug}: truncated signature"),
            with_sig(&good[..good.len() / 2]).v2(),
            INVALID,
        ));
        cases.push(case(
            format!("{slug}: one character short"),
            with_sig(&good[..good.len() - 1]).v2(),
            INVALID,
        ));
        cases.push(case(
            format!("{slug}: over-long signature (100 KB)"),
            with_sig(&"a".repeat(100_000)).v2(),
            INVALID,
        ));
        cases.push(case(
            format!("{slug}: signature plus extra"),
            with_sig(&format!("{good}00")).v2(),
            INVALID,
        ));
        for other in Provider::ALL.into_iter().filter(|o| *o != p) {
            let theirs_value = sign(other, SECRETS[0], seed);
            // Another provider's signature in this header is refused, unless it is this
            // provider's own signature too (the same scheme over the same bytes): then it is
            // genuine, not another's.
            if theirs_value != good {
                cases.push(case(
                    format!("{slug}: {} scheme", other.slug()),
                    with_sig(&theirs_value).v2(),
                    INVALID,
                ));
            }
            // Their header alone is no signature of this provider's, unless the two share it.
            if !other.signature_header().eq_ignore_ascii_case(header) {
                let theirs = super::with_companions(Http::post(&path(p), seed), other, seed)
                    .header(other.signature_header(), &theirs_value);
                cases.push(case(
                    format!("{slug}: {}'s header only", other.slug()),
                    theirs.v2(),
                    MISSING,
                ));
            }
        }
        cases.push(case(
            format!("{slug}: another secret"),
            with_sig(&sign(p, "another-providers-secret", seed)).v2(),
            INVALID,
        ));
        cases.push(case(
            format!("{slug}: non-ASCII signature"),
            with_sig("sïgnature").v2(),
            INVALID,
        ));

        // Query secrets (enabled in the test configuration where the registry documents them:
        // App Services).
        let query = |q: &str| Http::post(&path(p), seed).query(q).v2();
        let enabled = p.spec().query_secrets;
        // Where query secrets are off, a request with only a query string has no credential.
        let refused = if enabled { INVALID } else { MISSING };
        cases.push(case(
            format!("{slug}: query secret"),
            query(&format!("secret={QUERY_SECRET}")),
            if enabled { PUBLISHED } else { MISSING },
        ));
        cases.push(case(
            format!("{slug}: signing secret as query secret"),
            query(&format!("secret={}", SECRETS[0])),
            refused,
        ));
        cases.push(case(
            format!("{slug}: repeated query secret"),
            query(&format!("secret={QUERY_SECRET}&secret={QUERY_SECRET}")),
            refused,
        ));
        cases.push(case(
            format!("{slug}: empty query secret"),
            query("secret="),
            refused,
        ));
        cases.push(case(
            format!("{slug}: query secret, other case"),
            query(&format!("SECRET={QUERY_SECRET}")),
            MISSING,
        ));

        // Paths.
        let mut routed = |name: &str, path: String| {
            let mut request = signed_bytes(p, seed);
            request.path = path;
            cases.push(case(
                format!("{slug}: {name}"),
                request.v2(),
                UNKNOWN_PROVIDER,
            ));
        };
        routed("dot segments", format!("/webhooks/atlas/../{slug}x"));
        routed(
            "dot segments to provider",
            format!("/webhooks/{slug}/../{slug}"),
        );
        routed(
            "percent-encoded name",
            format!("/webhooks/%{:02X}{}", slug.as_bytes()[0], &slug[1..]),
        );
        routed(
            "upper-case name",
            format!("/webhooks/{}", slug.to_uppercase()),
        );
        routed("extra segment", format!("/webhooks/{slug}/extra"));

        // Size, around the default 256 KiB limit.
        let limit = alert_relay::config::DEFAULT_MAX_BODY_BYTES;
        let fill = |len: usize| {
            let open = alert(p, r#"{"pad":""#);
            format!("{open}{}\"}}", "x".repeat(len - open.len() - 2))
        };
        cases.push(case(
            format!("{slug}: one byte under the limit"),
            signed_bytes(p, fill(limit - 1).as_bytes()).v2(),
            PUBLISHED,
        ));
        cases.push(case(
            format!("{slug}: at the limit"),
            signed_bytes(p, fill(limit).as_bytes()).v2(),
            PUBLISHED,
        ));
        cases.push(case(
            format!("{slug}: one byte over the limit"),
            signed_bytes(p, fill(limit + 1).as_bytes()).v2(),
            TOO_LARGE,
        ));
        // The seed's alerts, or the one a group made here holds.
        for case in &mut cases[first..] {
            let body = match case.event["isBase64Encoded"].as_bool() {
                Some(true) => BASE64
                    .decode(case.event["body"].as_str().unwrap_or_default())
                    .unwrap_or_default(),
                _ => case.event["body"]
                    .as_str()
                    .unwrap_or_default()
                    .as_bytes()
                    .to_vec(),
            };
            case.alerts = match serde_json::from_slice::<Value>(&body) {
                Ok(group) if p.sends_groups() => group["alerts"].as_array().map_or(0, Vec::len),
                _ => 1,
            };
        }
    }
    cases.push(case(
        "unknown provider",
        Http::post("/webhooks/pagerduty", "{}").v2(),
        UNKNOWN_PROVIDER,
    ));
    cases.push(case(
        "root path",
        Http::post("/", "{}").v2(),
        UNKNOWN_PROVIDER,
    ));
    cases.push(case(
        "GET",
        Http::post("/webhooks/atlas", "").method("GET").v2(),
        NOT_POST,
    ));
    cases
}

/// The configuration the table expects: the shared test configuration, default body limit.
pub fn config() -> alert_relay::Config {
    super::config()
}
