//! Standard Webhooks (<https://www.standardwebhooks.com>), the scheme many senders share:
//! `webhook-id`, `webhook-timestamp` and `webhook-signature` (`v1,<base64>` entries, space
//! separated, several during a rotation), HMAC-SHA256 over `{id}.{timestamp}.{body}` keyed by the
//! base64 of a `whsec_…` secret, and a timestamp within 5 minutes of when the request arrived.
//! The body is any JSON object, usually `{"type", "timestamp", "data"}`, read best-effort.

use http::HeaderMap;
use serde_json::{Map, Value};

use super::{
    InvalidCredential, Matched, Presented, Reader, Refusal, SecretEncoding, SecretForm, SignError,
    SignedForm, SignedHeaders, Signing, Spec, fields,
};
use crate::alert::{Alert, parse_time};
use crate::secret::Secret;
use crate::signature::{Encoding, Hash, Scheme, SignatureError, Tag};

const ID: &str = "webhook-id";
const TIMESTAMP: &str = "webhook-timestamp";
const SIGNATURE: &str = "webhook-signature";
const SCHEME: Scheme = Scheme::new(Hash::Sha256, Encoding::Base64, "v1,");
/// The specification's tolerance, both ways.
const TOLERANCE_SECONDS: i64 = 5 * 60;
/// More signatures than a rotation needs is not a signature header.
const MAX_SIGNATURES: usize = 16;

pub(super) const SPEC: Spec = Spec {
    slug: "standard-webhooks",
    name: "Standard Webhooks",
    env_prefix: "STANDARD_WEBHOOKS",
    signature_header: SIGNATURE,
    signed_headers: &[ID, TIMESTAMP],
    scheme: "v1,<base64 of HMAC-SHA256 over id.timestamp.body>",
    tag: SCHEME,
    secrets: SecretForm {
        prefix: "whsec_",
        encoding: SecretEncoding::Base64,
    },
    forms: &[SignedForm::Raw],
    event_header: None,
    query_secrets: false,
    variables: &[],
    optional_timestamp: false,
    verify: Some(verify),
    sign: Some(sign),
    normalize: Reader::One(normalize),
};

const MISSING_ID: Refusal = Refusal {
    reason: "missing_webhook_id",
    message: "the webhook-signature header came without a webhook-id",
};
const MISSING_TIMESTAMP: Refusal = Refusal {
    reason: "missing_webhook_timestamp",
    message: "the webhook-signature header came without a webhook-timestamp",
};
const BAD_TIMESTAMP: Refusal = Refusal {
    reason: "bad_timestamp",
    message: "webhook-timestamp is not a whole number of seconds since the Unix epoch",
};
const TOO_OLD: Refusal = Refusal {
    reason: "timestamp_too_old",
    message: "webhook-timestamp is more than 5 minutes before the request arrived (a replay, or a \
              sender's clock that is behind)",
};
const IN_FUTURE: Refusal = Refusal {
    reason: "timestamp_in_future",
    message: "webhook-timestamp is more than 5 minutes after the request arrived (a sender's \
              clock that is ahead)",
};

/// The timestamp first, as the specification's libraries do: a stale request costs no MAC.
fn verify(presented: &Presented<'_>, secrets: &[Secret]) -> Result<Matched, InvalidCredential> {
    let refused = InvalidCredential::Refused;
    let [id, timestamp] = presented.signed_headers else {
        return Err(refused(MISSING_ID));
    };
    let id = id.filter(|id| !id.is_empty()).ok_or(refused(MISSING_ID))?;
    let timestamp = timestamp
        .filter(|t| !t.is_empty())
        .ok_or(refused(MISSING_TIMESTAMP))?;
    let seconds: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| refused(BAD_TIMESTAMP))?;
    if seconds < presented.received_at - TOLERANCE_SECONDS {
        return Err(refused(TOO_OLD));
    }
    if seconds > presented.received_at + TOLERANCE_SECONDS {
        return Err(refused(IN_FUTURE));
    }

    let tags = tags(presented.signature)?;
    let message = signed_message(id, timestamp.trim(), presented.body);
    // One MAC per secret, compared to every tag: 16 forged tags cost what one does.
    SCHEME
        .match_any_tag(&tags, secrets, &message)
        .map(|secret_index| Matched {
            form: SignedForm::Raw,
            secret_index,
            parsed: None,
        })
        .ok_or(SignatureError::Mismatch.into())
}

/// The `v1` tags of a signature header. Entries of other versions are skipped, as the
/// specification says; a header with no usable `v1` entry fails with why its first one did not
/// decode, or as of the wrong scheme when it has none.
fn tags(header: &str) -> Result<Vec<Tag>, SignatureError> {
    let entries: Vec<&str> = header.split(' ').filter(|e| !e.is_empty()).collect();
    if entries.is_empty() {
        return Err(SignatureError::Empty);
    }
    if entries.len() > MAX_SIGNATURES {
        return Err(SignatureError::TooLong);
    }
    let mut first_error = None;
    let mut tags = Vec::new();
    for entry in entries.iter().filter(|e| e.starts_with(SCHEME.prefix)) {
        match SCHEME.parse(entry) {
            Ok(tag) => tags.push(tag),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    match (tags.is_empty(), first_error) {
        (false, _) => Ok(tags),
        (true, Some(error)) => Err(error),
        (true, None) => Err(SignatureError::WrongScheme),
    }
}

fn signed_message(id: &str, timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(id.len() + timestamp.len() + body.len() + 2);
    message.extend_from_slice(id.as_bytes());
    message.push(b'.');
    message.extend_from_slice(timestamp.as_bytes());
    message.push(b'.');
    message.extend_from_slice(body);
    message
}

fn sign(secret: &Secret, signing: &Signing<'_>) -> Result<SignedHeaders, SignError> {
    let timestamp = signing.timestamp.to_string();
    let message = signed_message(signing.id, &timestamp, signing.body);
    Ok(vec![
        (ID, signing.id.to_owned()),
        (TIMESTAMP, timestamp),
        (SIGNATURE, SCHEME.sign(secret.expose(), &message)),
    ])
}

/// Best effort, as for App Services, over the payload with its `data` object's fields beside the
/// top level's (the top level wins: its `type` is the event's type); the `webhook-id` goes into
/// the resource so that a redelivery of one message can be recognized.
fn normalize(body: &Map<String, Value>, headers: &HeaderMap) -> Alert {
    let mut view: Map<String, Value> = body
        .iter()
        .filter(|(key, _)| *key != "data")
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    if let Some(data) = fields::object(body, "data") {
        for (key, value) in data {
            view.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    let mut alert = super::app_services::normalize(&view);
    if alert.occurred_at.is_none() {
        alert.occurred_at = fields::str(body, "timestamp").and_then(parse_time);
    }
    let webhook_id = headers.get(ID).and_then(|v| v.to_str().ok());
    alert
        .resource
        .insert("webhook_id".into(), fields::json(webhook_id));
    alert
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{Severity, Status};
    use crate::providers::{AuthError, Credential, Inbound, Provider, ProviderConfig};
    use http::HeaderValue;

    const NOW: i64 = 1_705_314_600;
    /// The test vector the reference libraries publish (standard-webhooks' and Svix's tests).
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn settings(secrets: &[&str]) -> ProviderConfig {
        ProviderConfig {
            webhook_secrets: secrets
                .iter()
                .map(|s| SPEC.secrets.read(s).unwrap())
                .collect(),
            ..Default::default()
        }
    }

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn check(
        secrets: &[&str],
        pairs: &[(&'static str, String)],
        body: &[u8],
        now: i64,
    ) -> Result<Credential, AuthError> {
        let headers = headers(pairs);
        Provider::StandardWebhooks
            .authenticate(
                &settings(secrets),
                Inbound {
                    headers: &headers,
                    query_secrets: &[],
                    body,
                    received_at: now,
                },
            )
            .map(|verified| verified.credential())
    }

    fn signed(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> SignedHeaders {
        let key = SPEC.secrets.read(secret).unwrap();
        sign(
            &key,
            &Signing {
                body,
                form: SignedForm::Raw,
                timestamp,
                id,
            },
        )
        .unwrap()
    }

    fn reason(result: Result<Credential, AuthError>) -> &'static str {
        result.unwrap_err().reason()
    }

    #[test]
    fn reproduces_the_published_test_vector() {
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = br#"{"test": 2432232314}"#;
        let headers = signed(SPEC_SECRET, id, 1_614_265_330, body);
        let expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        assert_eq!(headers[2], (SIGNATURE, expected.to_owned()));
        let pairs = [
            (ID, id.to_owned()),
            (TIMESTAMP, "1614265330".to_owned()),
            (SIGNATURE, format!("v1,bm9wZQ== {expected}")),
        ];
        assert!(check(&[SPEC_SECRET], &pairs, body, 1_614_265_330).is_ok());
    }

    #[test]
    fn signs_the_id_timestamp_and_body() {
        let body = br#"{"type":"alert.firing"}"#;
        let headers = signed(SPEC_SECRET, "msg_1", NOW, body);
        assert_eq!(headers[0], (ID, "msg_1".to_owned()));
        assert_eq!(headers[1], (TIMESTAMP, NOW.to_string()));
        let key = SPEC.secrets.read(SPEC_SECRET).unwrap();
        let message = format!("msg_1.{NOW}.{{\"type\":\"alert.firing\"}}");
        assert_eq!(headers[2].1, SCHEME.sign(key.expose(), message.as_bytes()));
        assert!(headers[2].1.starts_with("v1,"));
        assert_eq!(
            check(&[SPEC_SECRET], &headers, body, NOW),
            Ok(Credential::Signature {
                form: SignedForm::Raw,
                secret_index: 0
            })
        );
    }

    #[test]
    fn accepts_any_v1_entry_and_any_secret_of_a_rotation() {
        let old = "whsec_b2xkLXNlY3JldA==";
        let body = b"{}";
        let new_sig = signed(SPEC_SECRET, "msg_2", NOW, body);
        let old_sig = signed(old, "msg_2", NOW, body);
        let both = format!("v1a,ignored {} {}", old_sig[2].1, new_sig[2].1);
        let pairs = [new_sig[0].clone(), new_sig[1].clone(), (SIGNATURE, both)];
        assert_eq!(
            check(&[SPEC_SECRET], &pairs, body, NOW),
            Ok(Credential::Signature {
                form: SignedForm::Raw,
                secret_index: 0
            })
        );
        assert_eq!(
            check(
                &[SPEC_SECRET, old],
                &new_sig[..2]
                    .iter()
                    .cloned()
                    .chain([(SIGNATURE, old_sig[2].1.clone())])
                    .collect::<Vec<_>>(),
                body,
                NOW
            ),
            Ok(Credential::Signature {
                form: SignedForm::Raw,
                secret_index: 1
            })
        );
    }

    #[test]
    fn the_timestamp_must_be_within_five_minutes_either_way() {
        let body = b"{}";
        for (skew, expected) in [
            (-TOLERANCE_SECONDS, None),
            (TOLERANCE_SECONDS, None),
            (-TOLERANCE_SECONDS - 1, Some("timestamp_too_old")),
            (TOLERANCE_SECONDS + 1, Some("timestamp_in_future")),
            (-86_400, Some("timestamp_too_old")),
        ] {
            let pairs = signed(SPEC_SECRET, "msg_3", NOW + skew, body);
            let result = check(&[SPEC_SECRET], &pairs, body, NOW);
            assert_eq!(result.err().map(|e| e.reason()), expected, "{skew}");
        }
    }

    #[test]
    fn a_stale_forgery_is_refused_for_its_time_before_any_mac() {
        let mut pairs = signed(SPEC_SECRET, "msg_4", NOW - 3_600, b"{}");
        pairs[2].1 = "v1,AAAA".into();
        assert_eq!(
            reason(check(&[SPEC_SECRET], &pairs, b"{}", NOW)),
            "timestamp_too_old"
        );
    }

    #[test]
    fn every_refusal_has_its_reason() {
        let body = b"{}";
        let good = signed(SPEC_SECRET, "msg_5", NOW, body);
        let with = |name: &'static str, value: &str| -> Vec<(&'static str, String)> {
            good.iter()
                .map(|(n, v)| {
                    (
                        *n,
                        if *n == name {
                            value.to_owned()
                        } else {
                            v.clone()
                        },
                    )
                })
                .collect()
        };
        let without = |name: &'static str| -> Vec<(&'static str, String)> {
            good.iter().filter(|(n, _)| *n != name).cloned().collect()
        };
        let cases = [
            (without(ID), "missing_webhook_id"),
            (without(TIMESTAMP), "missing_webhook_timestamp"),
            (with(TIMESTAMP, "2024-01-15T10:30:00Z"), "bad_timestamp"),
            (with(SIGNATURE, "v2,abc"), "wrong_scheme"),
            (with(SIGNATURE, "v1,%%%%"), "bad_encoding"),
            (
                with(SIGNATURE, "v1,AAAAAAAAAAAAAAAAAAAAAA=="),
                "wrong_length",
            ),
            (with(ID, "msg_other"), "signature_mismatch"),
            (with(SIGNATURE, &"v1,x ".repeat(20)), "signature_too_long"),
        ];
        for (pairs, expected) in cases {
            assert_eq!(
                reason(check(&[SPEC_SECRET], &pairs, body, NOW)),
                expected,
                "{pairs:?}"
            );
        }
        let mut twice = good.clone();
        twice.push((ID, "msg_6".into()));
        assert_eq!(
            reason(check(&[SPEC_SECRET], &twice, body, NOW)),
            "duplicate_header"
        );
        assert_eq!(
            reason(check(&[SPEC_SECRET], &good, b"{ }", NOW)),
            "signature_mismatch"
        );
        assert_eq!(
            reason(check(&[SPEC_SECRET], &without(SIGNATURE), body, NOW)),
            "missing_signature"
        );
    }

    #[test]
    fn normalizes_the_payload_and_keeps_the_webhook_id() {
        let body: Map<String, Value> = serde_json::from_str(
            r#"{"type": "alert.firing", "timestamp": "2024-01-15T10:30:00Z",
                "data": {"id": "a-1", "severity": "critical", "title": "Disk full",
                         "status": "firing", "type": "ignored", "url": "https://example.test/a-1"}}"#,
        )
        .unwrap();
        let headers = headers(&[(ID, "msg_7".into())]);
        let alert = normalize(&body, &headers);
        assert_eq!(alert.alert_id.as_deref(), Some("a-1"));
        assert_eq!(alert.status, Status::Open);
        assert_eq!(alert.severity, Severity::Critical);
        assert_eq!(alert.event_type.as_deref(), Some("alert.firing"));
        assert_eq!(alert.title.as_deref(), Some("Disk full"));
        assert_eq!(alert.url.as_deref(), Some("https://example.test/a-1"));
        assert_eq!(alert.occurred_at, parse_time("2024-01-15T10:30:00Z"));
        assert_eq!(alert.resource["webhook_id"], "msg_7");

        let bare = normalize(&Map::new(), &HeaderMap::new());
        assert_eq!(bare.resource["webhook_id"], Value::Null);
        assert_eq!(bare.status, Status::Open);
    }
}
