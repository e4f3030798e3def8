//! Prometheus Alertmanager's webhook receiver (`webhook_config`, payload `version` "4"). It does
//! not sign its requests (HMAC signing is its open request #4248); it authenticates with
//! `http_config`: `authorization` (`Authorization: Bearer <token>`, the default type) or
//! `basic_auth` (`Authorization: Basic <base64 of user:password>`). The credentials it may send are
//! `ALERTMANAGER_BEARER_TOKENS` and `ALERTMANAGER_BASIC_AUTH` (`user:password` entries), several
//! during a rotation; the `Authorization` value is compared with each in constant time, and never
//! logged. A credential is not a signature: whoever has one (or one request) can send anything,
//! as often as they like. docs/alertmanager.md says what bounds that. The body is a group of
//! alerts (`group`); `truncatedAlerts` counts what `max_alerts` left out.

use super::group::{self, Shape};
use super::{
    InvalidCredential, Matched, Presented, Reader, SecretEncoding, SecretForm, SignError,
    SignedForm, SignedHeaders, Signing, Spec,
};
use crate::alert::Alert;
use crate::secret::Secret;
use crate::signature::{Encoding, Hash, Scheme, SignatureError, secret_equals};

const AUTHORIZATION: &str = "Authorization";
/// Longer than any credential an operator configures: not one.
const MAX_CREDENTIAL_LEN: usize = 4096;
const BEARER: SecretForm = SecretForm {
    prefix: "",
    encoding: SecretEncoding::Bearer,
};
const BASIC: SecretForm = SecretForm {
    prefix: "",
    encoding: SecretEncoding::Basic,
};

pub(super) const SPEC: Spec = Spec {
    slug: "alertmanager",
    name: "Alertmanager",
    env_prefix: "ALERTMANAGER",
    signature_header: AUTHORIZATION,
    signed_headers: &[],
    scheme: "Bearer <token> or Basic <base64 of user:password> (http_config), not a signature",
    // Unused: `verify` and `sign` are the provider's own.
    tag: Scheme::new(Hash::Sha256, Encoding::Hex, ""),
    secrets: BEARER,
    forms: &[SignedForm::Bearer, SignedForm::Basic],
    event_header: None,
    query_secrets: false,
    variables: &[("BEARER_TOKENS", BEARER), ("BASIC_AUTH", BASIC)],
    optional_timestamp: false,
    verify: Some(verify),
    sign: Some(sign),
    normalize: Reader::Group(normalize),
};

const SHAPE: Shape = Shape {
    urls: &["generatorURL"],
    resource: &[("generatorURL", "generator_url")],
    summary: None,
};

/// The `Authorization` value, its scheme written as configured credentials are (`Bearer`,
/// `Basic`; HTTP's schemes are case-insensitive), against every credential in constant time.
fn verify(presented: &Presented<'_>, secrets: &[Secret]) -> Result<Matched, InvalidCredential> {
    let value = presented.signature.trim_matches(|c| c == ' ' || c == '\t');
    if value.is_empty() {
        return Err(SignatureError::Empty.into());
    }
    if value.len() > MAX_CREDENTIAL_LEN {
        return Err(SignatureError::TooLong.into());
    }
    let (scheme, credential) = value.split_once(' ').ok_or(SignatureError::WrongScheme)?;
    let (scheme, form) = if scheme.eq_ignore_ascii_case("bearer") {
        ("Bearer", SignedForm::Bearer)
    } else if scheme.eq_ignore_ascii_case("basic") {
        ("Basic", SignedForm::Basic)
    } else {
        return Err(SignatureError::WrongScheme.into());
    };
    let presented = format!("{scheme} {}", credential.trim_start_matches(' '));
    // Every credential is compared, so the time taken does not tell which one matched.
    let matches: Vec<bool> = secrets
        .iter()
        .map(|secret| secret_equals(&presented, secret))
        .collect();
    let secret_index = matches
        .iter()
        .position(|m| *m)
        .ok_or(SignatureError::Mismatch)?;
    Ok(Matched {
        form,
        secret_index,
        parsed: None,
    })
}

/// The `Authorization` header Alertmanager sends: `Bearer <token>`, or with the basic form the
/// secret's `user:password` as `Basic <base64>`.
fn sign(secret: &Secret, signing: &Signing<'_>) -> Result<SignedHeaders, SignError> {
    let text = String::from_utf8_lossy(secret.expose()).into_owned();
    let written = BEARER.write(text.as_bytes());
    let value = match signing.form {
        SignedForm::Basic => BASIC
            .read(&written)
            .map_err(SignError::Credential)?
            .expose()
            .to_vec(),
        _ => BEARER
            .read(&written)
            .map_err(SignError::Credential)?
            .expose()
            .to_vec(),
    };
    Ok(vec![(
        AUTHORIZATION,
        String::from_utf8_lossy(&value).into_owned(),
    )])
}

fn normalize(body: &[u8]) -> Result<Vec<Alert>, super::MalformedPayload> {
    group::read(body, &SHAPE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::parse_secrets;

    fn check(value: &str) -> Result<(SignedForm, usize), &'static str> {
        let mut secrets = parse_secrets("tok-1, tok-2", BEARER).unwrap();
        secrets.extend(parse_secrets("prometheus:s3cret", BASIC).unwrap());
        let presented = Presented {
            signature: value,
            signed_headers: &[],
            body: b"{}",
            received_at: 0,
            require_timestamp: false,
        };
        verify(&presented, &secrets)
            .map(|m| (m.form, m.secret_index))
            .map_err(InvalidCredential::reason)
    }

    #[test]
    fn bearer_tokens_and_basic_credentials() {
        assert_eq!(check("Bearer tok-2"), Ok((SignedForm::Bearer, 1)));
        assert_eq!(check("bearer tok-1"), Ok((SignedForm::Bearer, 0)));
        // Go's SetBasicAuth: base64 of prometheus:s3cret.
        assert_eq!(
            check("Basic cHJvbWV0aGV1czpzM2NyZXQ="),
            Ok((SignedForm::Basic, 2))
        );
        for (value, reason) in [
            ("Bearer tok-3", "signature_mismatch"),
            ("Bearer tok-1x", "signature_mismatch"),
            ("Bearer", "wrong_scheme"),
            ("tok-1", "wrong_scheme"),
            ("Token tok-1", "wrong_scheme"),
            ("Basic tok-1", "signature_mismatch"),
            ("Bearer cHJvbWV0aGV1czpzM2NyZXQ=", "signature_mismatch"),
            ("", "empty_signature"),
        ] {
            assert_eq!(check(value), Err(reason), "{value:?}");
        }
        assert_eq!(
            check(&format!("Bearer {}", "x".repeat(5000))),
            Err("signature_too_long")
        );
    }

    #[test]
    fn signs_both_forms() {
        let sign_as = |secret: &str, form| {
            sign(
                &Secret::new(secret),
                &Signing {
                    body: b"{}",
                    form,
                    timestamp: 0,
                    id: "",
                },
            )
            .map(|headers| headers[0].1.clone())
        };
        assert_eq!(
            sign_as("tok-1", SignedForm::Bearer).unwrap(),
            "Bearer tok-1"
        );
        assert_eq!(
            sign_as("prometheus:s3cret", SignedForm::Basic).unwrap(),
            "Basic cHJvbWV0aGV1czpzM2NyZXQ="
        );
        assert!(sign_as("no-colon", SignedForm::Basic).is_err());
        assert_eq!(
            check(&sign_as("tok-1", SignedForm::Bearer).unwrap()),
            Ok((SignedForm::Bearer, 0))
        );
    }
}
