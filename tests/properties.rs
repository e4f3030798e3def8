//! Properties of the verifiers, normalizers and Monte Carlo's documented form, over generated
//! input: nothing panics, a correctly signed body is always accepted, and any single flipped bit
//! of body or tag is rejected (for the documented form: unless the flipped body is the same JSON
//! value, which is what that form signs).

use alert_relay::Secret;
use alert_relay::providers::ProviderConfig;
use alert_relay::providers::{Inbound, Provider, SignedForm};
use alert_relay::pyform;
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

const SECRETS: [&str; 2] = ["prop-secret-a", "prop-secret-b"];

fn settings() -> ProviderConfig {
    ProviderConfig {
        webhook_secrets: SECRETS.map(Secret::new).to_vec(),
        ..Default::default()
    }
}

fn provider() -> impl Strategy<Value = Provider> {
    prop::sample::select(Provider::ALL.to_vec())
}

fn headers(provider: Provider, signature: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(signature) {
        headers.insert(provider.signature_header(), value);
    }
    headers
}

/// Every header that signs `body` with `secret`: the signature and what it covers.
fn signed(provider: Provider, secret: &str, body: &[u8], form: SignedForm) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in provider.sign_body(secret.as_bytes(), body, form).unwrap() {
        headers.insert(name, HeaderValue::from_str(&value).unwrap());
    }
    headers
}

/// `headers` with the signature's value replaced.
fn resigned(provider: Provider, mut headers: HeaderMap, signature: &str) -> HeaderMap {
    headers.insert(
        provider.signature_header(),
        HeaderValue::from_str(signature).unwrap(),
    );
    headers
}

fn signature_of(provider: Provider, headers: &HeaderMap) -> String {
    headers[provider.signature_header()]
        .to_str()
        .unwrap()
        .to_owned()
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn accepts(provider: Provider, headers: &HeaderMap, body: &[u8]) -> bool {
    provider
        .authenticate(
            &settings(),
            Inbound {
                headers,
                query_secrets: &[],
                body,
                received_at: now(),
            },
        )
        .is_ok()
}

/// Arbitrary JSON values, numbers as literal text as a sender would write them.
fn json_value() -> impl Strategy<Value = Value> {
    let number = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        "-?[1-9][0-9]{0,60}",
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:e}")),
        "-?[0-9]\\.[0-9]{1,20}[eE][+-]?[0-9]{1,3}",
    ]
    .prop_filter_map("a JSON number", |text| {
        serde_json::from_str::<Number>(&text)
            .ok()
            .map(Value::Number)
    });
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number,
        any::<String>().prop_map(Value::String),
        "[ -~'\"\\\\\\n\\t\u{7f}-\u{2030}]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::vec(("[a-z_]{1,8}", json_value()), 0..8)
        .prop_map(|pairs| pairs.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// A fallback-queue record is read back or refused, never a panic: SQS bodies can be anything
    /// someone sent to the queue.
    #[test]
    fn any_queue_record_decodes_or_is_refused(body in ".{0,300}", object in json_object()) {
        let _ = alert_relay::publish::Pending::decode(&body);
        let mut tagged = object;
        tagged.insert("format".into(), Value::from(alert_relay::publish::FALLBACK_FORMAT));
        let _ = alert_relay::publish::Pending::decode(&Value::Object(tagged).to_string());
    }

    #[test]
    fn arbitrary_bytes_and_headers_never_panic_nor_pass(
        provider in provider(),
        body in prop::collection::vec(any::<u8>(), 0..512),
        signature in ".{0,200}",
        extra in prop::collection::vec(("[a-zA-Z-]{1,20}", "[ -~]{0,40}"), 0..4),
    ) {
        let mut headers = headers(provider, &signature);
        for (name, value) in extra {
            if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::from_str(&value)) {
                headers.append(name, value);
            }
        }
        let verified = provider.authenticate(&settings(), Inbound { headers: &headers, query_secrets: &[], body: &body, received_at: now() });
        // A random string is a valid MAC with negligible probability.
        prop_assert!(verified.is_err());
    }

    #[test]
    fn normalizers_never_panic_on_any_json(provider in provider(), object in json_object()) {
        let body = serde_json::to_vec(&object).unwrap();
        let headers = signed(provider, SECRETS[0], &body, SignedForm::Raw);
        let verified = provider.authenticate(&settings(), Inbound { headers: &headers, query_secrets: &[], body: &body, received_at: now() }).unwrap();
        let alert = provider.normalize(verified).unwrap();
        let event = alert_relay::event::Event::new(provider, alert, &body, time::OffsetDateTime::UNIX_EPOCH).unwrap();
        prop_assert!(event.subject.len() <= 99 && event.subject.bytes().all(|b| (b' '..=b'~').contains(&b)));
        prop_assert!(event.attributes.pairs().iter().all(|(_, v)| !v.is_empty()));
        let group = &event.dedup_key;
        prop_assert!(group.len() <= 128 && group.bytes().all(|b| b.is_ascii_graphic()));
        for format in alert_relay::format::Format::ALL {
            let message = format.render(&event).unwrap();
            prop_assert!(event.fits(message.body.len()), "{format:?}");
            let parsed: Value = serde_json::from_str(&message.body).unwrap();
            prop_assert!(parsed.is_object());
        }
        let sms = alert_relay::format::cloudevents::sms(&event);
        prop_assert!(sms.chars().count() <= 140 && !sms.contains('\n'));
    }

    #[test]
    fn documented_form_never_panics(value in json_value()) {
        let mut out = String::new();
        pyform::python_str(&value, &mut out);
        if let Value::Object(object) = &value {
            let encoded = pyform::urlencode(object);
            prop_assert!(encoded.is_ascii());
        }
    }

    #[test]
    fn signed_bodies_are_always_accepted(
        provider in provider(),
        body in prop::collection::vec(any::<u8>(), 0..2048),
        secret in 0usize..2,
    ) {
        prop_assert!(accepts(provider, &signed(provider, SECRETS[secret], &body, SignedForm::Raw), &body));
    }

    #[test]
    fn one_flipped_bit_of_body_or_tag_is_rejected(
        provider in provider(),
        body in prop::collection::vec(any::<u8>(), 1..1024),
        bit in any::<prop::sample::Index>(),
        flip_tag in any::<bool>(),
    ) {
        let headers = signed(provider, SECRETS[0], &body, SignedForm::Raw);
        let scheme = provider.spec().tag;
        let (mut body, mut tag) = (body, scheme.parse(&signature_of(provider, &headers)).unwrap().bytes().to_vec());
        let target = if flip_tag { &mut tag } else { &mut body };
        let i = bit.index(target.len() * 8);
        target[i / 8] ^= 1 << (i % 8);
        prop_assert!(!accepts(provider, &resigned(provider, headers, &scheme.encode(&tag)), &body));
    }

    #[test]
    fn documented_form_accepts_only_the_same_value(object in json_object(), bit in any::<prop::sample::Index>()) {
        let body = serde_json::to_vec_pretty(&object).unwrap();
        let provider = Provider::MonteCarlo;
        let headers = signed(provider, SECRETS[1], &body, SignedForm::Documented);
        prop_assert!(accepts(provider, &headers, &body));

        let mut flipped = body.clone();
        let i = bit.index(flipped.len() * 8);
        flipped[i / 8] ^= 1 << (i % 8);
        let same_value = serde_json::from_slice::<Value>(&flipped)
            .ok()
            .and_then(|v| v.as_object().map(pyform::urlencode))
            .is_some_and(|form| form == pyform::urlencode(&object));
        prop_assert_eq!(accepts(provider, &headers, &flipped), same_value);
    }
}
