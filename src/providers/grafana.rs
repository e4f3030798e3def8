//! Grafana Alerting's webhook contact point (<https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/>)
//! with HMAC signing, as grafana/alerting's `http/hmac.go` does it: lower-case hex HMAC-SHA256 of
//! the body in `X-Grafana-Alerting-Signature`, or, when the contact point names a timestamp
//! header, of `<unix seconds>:<body>` with the seconds in that header. Both names are the
//! operator's choice in Grafana (`GRAFANA_SIGNATURE_HEADER`, `GRAFANA_TIMESTAMP_HEADER`; Grafana
//! has no default timestamp header, this is the one the docs tell operators to set). A
//! timestamped signature is checked within 5 minutes of arrival; `GRAFANA_REQUIRE_TIMESTAMP=true`
//! refuses body-only signatures, which can be replayed forever. The body is a group of alerts
//! (`group`).

use super::group::{self, Shape};
use super::{
    InvalidCredential, Matched, Presented, Reader, Refusal, SecretForm, SignError, SignedForm,
    SignedHeaders, Signing, Spec, verify_raw,
};
use crate::alert::Alert;
use crate::secret::Secret;
use crate::signature::{Encoding, Hash, Scheme, SignatureError};

const SIGNATURE: &str = "X-Grafana-Alerting-Signature";
const TIMESTAMP: &str = "X-Grafana-Alerting-Timestamp";
const SCHEME: Scheme = Scheme::new(Hash::Sha256, Encoding::Hex, "");
/// How far a signed timestamp may be from the request's arrival, both ways.
const TOLERANCE_SECONDS: i64 = 5 * 60;

pub(super) const SPEC: Spec = Spec {
    slug: "grafana",
    name: "Grafana",
    env_prefix: "GRAFANA",
    signature_header: SIGNATURE,
    signed_headers: &[TIMESTAMP],
    scheme: "hex of HMAC-SHA256 over timestamp:body, or over the body without a timestamp header",
    tag: SCHEME,
    secrets: SecretForm::TEXT,
    forms: &[SignedForm::Raw, SignedForm::Timestamped],
    event_header: None,
    query_secrets: false,
    variables: &[],
    optional_timestamp: true,
    verify: Some(verify),
    sign: Some(sign),
    normalize: Reader::Group(normalize),
};

const SHAPE: Shape = Shape {
    urls: &["panelURL", "dashboardURL", "generatorURL"],
    resource: &[
        ("generatorURL", "generator_url"),
        ("dashboardURL", "dashboard_url"),
        ("panelURL", "panel_url"),
        ("silenceURL", "silence_url"),
        ("imageURL", "image_url"),
        ("ruleUID", "rule_uid"),
        ("values", "values"),
        ("valueString", "value_string"),
    ],
    summary: Some("valueString"),
};

const REQUIRED: Refusal = Refusal {
    reason: "timestamp_required",
    message: "the signature covers no timestamp and GRAFANA_REQUIRE_TIMESTAMP is true (set the \
              contact point's HMAC timestamp header)",
};
const BAD_TIMESTAMP: Refusal = Refusal {
    reason: "bad_timestamp",
    message: "the timestamp header is not a whole number of seconds since the Unix epoch",
};
const TOO_OLD: Refusal = Refusal {
    reason: "timestamp_too_old",
    message: "the signed timestamp is more than 5 minutes before the request arrived (a replay, \
              or a sender's clock that is behind)",
};
const IN_FUTURE: Refusal = Refusal {
    reason: "timestamp_in_future",
    message: "the signed timestamp is more than 5 minutes after the request arrived (a sender's \
              clock that is ahead)",
};

/// With a timestamp header, only `<timestamp>:<body>` is accepted, and only a fresh one; without,
/// the body alone, unless timestamps are required.
fn verify(presented: &Presented<'_>, secrets: &[Secret]) -> Result<Matched, InvalidCredential> {
    let refused = InvalidCredential::Refused;
    let Some(timestamp) = presented.signed_headers.first().copied().flatten() else {
        if presented.require_timestamp {
            return Err(refused(REQUIRED));
        }
        return verify_raw(SCHEME, presented, secrets);
    };
    let timestamp = timestamp.trim();
    let seconds: i64 = match timestamp.bytes().all(|b| b.is_ascii_digit()) {
        true => timestamp.parse().map_err(|_| refused(BAD_TIMESTAMP))?,
        false => return Err(refused(BAD_TIMESTAMP)),
    };
    if seconds < presented.received_at - TOLERANCE_SECONDS {
        return Err(refused(TOO_OLD));
    }
    if seconds > presented.received_at + TOLERANCE_SECONDS {
        return Err(refused(IN_FUTURE));
    }
    let tag = SCHEME.parse(presented.signature)?;
    let secret_index = tag
        .match_any(secrets, &signed_message(timestamp, presented.body))
        .ok_or(SignatureError::Mismatch)?;
    Ok(Matched {
        form: SignedForm::Timestamped,
        secret_index,
        parsed: None,
    })
}

fn signed_message(timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(timestamp.len() + 1 + body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.push(b':');
    message.extend_from_slice(body);
    message
}

fn sign(secret: &Secret, signing: &Signing<'_>) -> Result<SignedHeaders, SignError> {
    Ok(match signing.form {
        SignedForm::Timestamped => {
            let timestamp = signing.timestamp.to_string();
            let message = signed_message(&timestamp, signing.body);
            vec![
                (TIMESTAMP, timestamp),
                (SIGNATURE, SCHEME.sign(secret.expose(), &message)),
            ]
        }
        _ => vec![(SIGNATURE, SCHEME.sign(secret.expose(), signing.body))],
    })
}

fn normalize(body: &[u8]) -> Result<Vec<Alert>, super::MalformedPayload> {
    group::read(body, &SHAPE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presented<'a>(
        signature: &'a str,
        timestamp: &'a [Option<&'a str>],
        body: &'a [u8],
        require_timestamp: bool,
    ) -> Presented<'a> {
        Presented {
            signature,
            signed_headers: timestamp,
            body,
            received_at: 1_000,
            require_timestamp,
        }
    }

    #[test]
    fn checks_both_forms_and_the_timestamp() {
        let secrets = [Secret::new("secret")];
        let body = b"test message";
        let raw = SCHEME.sign(b"secret", body);
        let stamped = SCHEME.sign(b"secret", b"1000:test message");
        let ok = |p: Presented<'_>| verify(&p, &secrets).map(|m| m.form);
        assert_eq!(
            ok(presented(&raw, &[None], body, false)),
            Ok(SignedForm::Raw)
        );
        assert_eq!(
            ok(presented(&stamped, &[Some("1000")], body, true)),
            Ok(SignedForm::Timestamped)
        );
        let refusal = |p: Presented<'_>| verify(&p, &secrets).unwrap_err().reason();
        assert_eq!(
            refusal(presented(&raw, &[None], body, true)),
            "timestamp_required"
        );
        // A body-only signature with a timestamp header beside it, and a timestamp it does not
        // cover: refused.
        assert_eq!(
            refusal(presented(&raw, &[Some("1000")], body, false)),
            "signature_mismatch"
        );
        assert_eq!(
            refusal(presented(&stamped, &[Some("999")], body, false)),
            "signature_mismatch"
        );
        assert_eq!(
            refusal(presented(&stamped, &[Some("-5")], body, false)),
            "bad_timestamp"
        );
        assert_eq!(
            refusal(presented(&stamped, &[Some("1e3")], body, false)),
            "bad_timestamp"
        );
        assert_eq!(
            refusal(presented(&stamped, &[Some("699")], body, false)),
            "timestamp_too_old"
        );
        assert_eq!(
            refusal(presented(&stamped, &[Some("1301")], body, false)),
            "timestamp_in_future"
        );
        let stale = SCHEME.sign(b"secret", b"700:test message");
        assert_eq!(
            ok(presented(&stale, &[Some("700")], body, false)),
            Ok(SignedForm::Timestamped)
        );
        assert_eq!(
            refusal(presented(&format!("sha256={raw}"), &[None], body, false)),
            "bad_encoding"
        );
    }

    #[test]
    fn signs_what_it_verifies() {
        let secret = Secret::new("secret");
        for form in [SignedForm::Raw, SignedForm::Timestamped] {
            let signing = Signing {
                body: b"{}",
                form,
                timestamp: 1_000,
                id: "",
            };
            let headers = sign(&secret, &signing).unwrap();
            let timestamp: Vec<Option<&str>> = vec![
                headers
                    .iter()
                    .find(|(n, _)| *n == TIMESTAMP)
                    .map(|(_, v)| v.as_str()),
            ];
            let signature = &headers.iter().find(|(n, _)| *n == SIGNATURE).unwrap().1;
            let matched = verify(
                &presented(signature, &timestamp, b"{}", false),
                std::slice::from_ref(&secret),
            );
            assert_eq!(matched.map(|m| m.form), Ok(form));
        }
    }
}
