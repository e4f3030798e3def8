//! One signature per provider (Monte Carlo: both signed forms), computed by implementations that
//! share no code with this crate: CPython's `hmac`, `base64` and `urllib.parse`, and the Standard
//! Webhooks reference library. They are checked in (tests/data/independent-signatures.json, with
//! the command that wrote them), so the fast tier checks the verifier against someone else's
//! signatures without running Python: the crate does not only agree with itself. One flipped bit,
//! of the body or of the tag, is refused.

use alert_relay::providers::{
    Credential, Inbound, Provider, ProviderConfig, SecretEncoding, SignedForm,
};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

const VECTORS: &str = include_str!("data/independent-signatures.json");

struct Vector {
    provider: Provider,
    form: SignedForm,
    secret: String,
    received_at: i64,
    headers: Vec<(String, String)>,
}

fn vectors() -> (String, Vec<Vector>) {
    let file: Value = serde_json::from_str(VECTORS).unwrap();
    let body = file["body"].as_str().unwrap().to_owned();
    let vectors = file["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| Vector {
            provider: Provider::from_slug(case["provider"].as_str().unwrap()).unwrap(),
            form: match case["form"].as_str().unwrap() {
                "raw" => SignedForm::Raw,
                "documented" => SignedForm::Documented,
                "timestamped" => SignedForm::Timestamped,
                "bearer" => SignedForm::Bearer,
                "basic" => SignedForm::Basic,
                other => panic!("no signed form {other}"),
            },
            secret: case["secret"].as_str().unwrap().to_owned(),
            received_at: case["received_at"].as_i64().unwrap(),
            headers: case["headers"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(name, value)| (name.clone(), value.as_str().unwrap().to_owned()))
                .collect(),
        })
        .collect();
    (body, vectors)
}

fn header_map(headers: &[(String, String)]) -> HeaderMap {
    headers
        .iter()
        .map(|(name, value)| {
            (
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            )
        })
        .collect()
}

/// What the crate's verifier says of `headers` over `body`, with the vector's secret configured
/// the way its environment variable writes it.
fn verify(vector: &Vector, headers: &HeaderMap, body: &[u8]) -> Option<Credential> {
    // The variable that holds a credential of the vector's form: basic auth has its own.
    let spec = vector.provider.spec();
    let form = spec
        .secret_variables()
        .map(|(_, form)| form)
        .find(|form| (form.encoding == SecretEncoding::Basic) == (vector.form == SignedForm::Basic))
        .unwrap_or(spec.secrets);
    let secret = form.read(&vector.secret).unwrap();
    let settings = ProviderConfig {
        webhook_secrets: vec![secret],
        ..Default::default()
    };
    let inbound = Inbound {
        headers,
        query_secrets: &[],
        body,
        received_at: vector.received_at,
    };
    vector
        .provider
        .authenticate(&settings, inbound)
        .ok()
        .map(|verified| verified.credential())
}

#[test]
fn every_provider_and_form_has_an_independent_vector() {
    let (_, vectors) = vectors();
    let mut covered: Vec<(Provider, SignedForm)> =
        vectors.iter().map(|v| (v.provider, v.form)).collect();
    covered.sort_by_key(|(p, f)| (p.index(), f.as_str()));
    // Every form of every provider, from the registry.
    let mut expected: Vec<(Provider, SignedForm)> = Provider::ALL
        .into_iter()
        .flat_map(|p| p.spec().forms.iter().map(move |f| (p, *f)))
        .collect();
    expected.sort_by_key(|(p, f)| (p.index(), f.as_str()));
    assert_eq!(covered, expected);
}

#[test]
fn independent_signatures_verify_in_their_own_form() {
    let (body, vectors) = vectors();
    for vector in &vectors {
        let credential = verify(vector, &header_map(&vector.headers), body.as_bytes());
        assert_eq!(
            credential,
            Some(Credential::Signature {
                form: vector.form,
                secret_index: 0
            }),
            "{:?} {:?}",
            vector.provider,
            vector.form
        );
    }
}

#[test]
fn one_flipped_bit_of_the_tag_is_refused() {
    let (body, vectors) = vectors();
    for vector in &vectors {
        let scheme = vector.provider.spec().tag;
        let name = vector.provider.signature_header();
        let (_, signature) = vector
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .unwrap();
        if !vector.form.is_signature() {
            // A credential, not a tag: its last character changed is another credential.
            let mut changed = signature.clone();
            let last = changed.pop().unwrap();
            changed.push(if last == 'A' { 'B' } else { 'A' });
            let mut headers = header_map(&vector.headers);
            headers.insert(name, HeaderValue::from_str(&changed).unwrap());
            assert_eq!(
                verify(vector, &headers, body.as_bytes()),
                None,
                "{:?}",
                vector.form
            );
            continue;
        }
        let tag = scheme.parse(signature).unwrap().bytes().to_vec();
        for bit in [0, tag.len() * 8 / 2, tag.len() * 8 - 1] {
            let mut flipped = tag.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            let mut headers = header_map(&vector.headers);
            headers.insert(
                name,
                HeaderValue::from_str(&scheme.encode(&flipped)).unwrap(),
            );
            assert_eq!(
                verify(vector, &headers, body.as_bytes()),
                None,
                "{:?} {:?}: tag bit {bit}",
                vector.provider,
                vector.form
            );
        }
    }
}

#[test]
fn one_flipped_bit_of_the_body_is_refused() {
    let (body, vectors) = vectors();
    for vector in &vectors {
        let headers = header_map(&vector.headers);
        // Bit 0 of `account`'s first letter: `{"`account`": …}` becomes `{"``bccount`": …}`,
        // still JSON, and a different value for the documented form too.
        let at = body.find("account").unwrap();
        let mut flipped = body.clone().into_bytes();
        flipped[at] ^= 1;
        if !vector.form.is_signature() {
            // A bearer token or basic credentials cover no body: any body goes with them.
            assert!(verify(vector, &headers, &flipped).is_some());
            continue;
        }
        assert_eq!(
            verify(vector, &headers, &flipped),
            None,
            "{:?} {:?}",
            vector.provider,
            vector.form
        );
    }
}
