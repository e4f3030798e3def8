//! Properties of the verifiers, normalizers, Monte Carlo's documented form and the fallback
//! queue's records, over generated input: nothing panics, a correctly signed body is always
//! accepted, and any single flipped bit of body or tag is rejected (for the documented form: unless
//! the flipped body is the same JSON value, which is what that form signs); a queue record is read
//! back as it was written, in its plain form and gzipped.

use std::io::Write as _;

use alert_relay::providers::ProviderConfig;
use alert_relay::providers::{Inbound, Provider, Reader, SignedForm};
use alert_relay::publish::{FALLBACK_FORMAT, MAX_MESSAGE_BYTES, Pending, PendingError};
use alert_relay::pyform;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use serde_json::{Map, Number, Value, json};

const SECRETS: [&str; 2] = ["prop-secret-a", "prop-secret-b"];

/// `provider` with both secrets, each written as the provider writes one.
fn settings(provider: Provider) -> ProviderConfig {
    let form = provider.spec().secrets;
    ProviderConfig {
        webhook_secrets: SECRETS
            .map(|s| form.read(&form.write(s.as_bytes())).unwrap())
            .to_vec(),
        ..Default::default()
    }
}

fn provider() -> impl Strategy<Value = Provider> {
    prop::sample::select(Provider::ALL.to_vec())
}

/// The providers whose credential is a signature over the body.
fn signing_provider() -> impl Strategy<Value = Provider> {
    let signing: Vec<Provider> = Provider::ALL
        .into_iter()
        .filter(|p| p.spec().forms.iter().any(|f| f.is_signature()))
        .collect();
    prop::sample::select(signing)
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
    let forms = provider.spec().forms;
    let form = if forms.contains(&form) {
        form
    } else {
        forms[0]
    };
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
            &settings(provider),
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

/// A fallback-queue record in its plain form, as the function writes it (fields in its order,
/// `structured` only when true): any texts, one to four messages of `body` each, and one to six
/// publishes, each naming one of those messages.
fn queue_record(body: impl Strategy<Value = String>) -> impl Strategy<Value = Value> {
    let message = (body, any::<bool>()).prop_map(|(body, structured)| {
        let mut message = json!({ "body": body });
        if structured {
            message["structured"] = Value::Bool(true);
        }
        message
    });
    let publish = (
        any::<usize>(),
        any::<String>(),
        any::<prop::sample::Index>(),
    );
    (
        prop::collection::vec(any::<String>(), 9),
        prop::collection::vec(message, 1..=4),
        prop::collection::vec(publish, 1..=6),
    )
        .prop_map(|(texts, messages, publishes)| {
            let publishes: Vec<Value> = publishes
                .into_iter()
                .map(|(route, topic_arn, message)| {
                    json!({ "route": route, "topic_arn": topic_arn, "message": message.index(messages.len()) })
                })
                .collect();
            json!({
                "format": FALLBACK_FORMAT,
                "first_attempt": texts[0],
                "event_id": texts[1],
                "subject": texts[2],
                "attributes": { "provider": texts[3], "status": texts[4], "severity": texts[5], "event_type": texts[6] },
                "fifo": { "group_id": texts[7], "deduplication_id": texts[8] },
                "messages": messages,
                "publishes": publishes,
            })
        })
}

/// The gzip form of a record, as `Pending::encode` writes one past SQS's limit.
fn gzipped(plain: &str) -> String {
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gzip.write_all(plain.as_bytes()).unwrap();
    json!({ "format": FALLBACK_FORMAT, "gzip": BASE64.encode(gzip.finish().unwrap()) }).to_string()
}

/// What takes the place of a part of a record: nothing (it is dropped), any JSON value, or a
/// string or a number, which some fields take.
fn replacement() -> impl Strategy<Value = Option<Value>> {
    prop::option::of(prop_oneof![
        json_value(),
        any::<String>().prop_map(Value::String),
        any::<u64>().prop_map(Value::from),
    ])
}

/// `record` with one of its parts (any field or item, at any depth) dropped or replaced.
fn mutated(mut record: Value, part: prop::sample::Index, replacement: Option<Value>) -> String {
    fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
        match value {
            Value::Object(fields) => fields
                .iter()
                .for_each(|(key, value)| pointers(value, format!("{at}/{key}"), out)),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .for_each(|(i, value)| pointers(value, format!("{at}/{i}"), out)),
            _ => {}
        }
        out.push(at);
    }
    let mut all = Vec::new();
    pointers(&record, String::new(), &mut all);
    let at = &all[part.index(all.len())];
    match (replacement, at.rsplit_once('/')) {
        (Some(value), _) => *record.pointer_mut(at).unwrap() = value,
        (None, Some((parent, last))) => match record.pointer_mut(parent).unwrap() {
            Value::Object(fields) => drop(fields.shift_remove(last)),
            Value::Array(items) => drop(items.remove(last.parse::<usize>().unwrap())),
            _ => unreachable!("a parent is an object or an array"),
        },
        (None, None) => record = Value::Null,
    }
    record.to_string()
}

/// Whether `Pending::decode` refusing `body` with `error` says what is wrong with it: text that is
/// not JSON is unreadable, JSON of the wrong shape a data error; a wrong format tag is
/// `NotOurs`; a gzip error comes only from a body that has a `gzip`; decoding never reports a
/// size (`TooLarge` is the encoder's).
fn refusal_is_explained(body: &str, error: &PendingError) -> bool {
    let value = serde_json::from_str::<Value>(body).ok();
    match error {
        // Not JSON: refused as unreadable, whichever error serde meets first. JSON: only because
        // it is not the shape of a record (here or inside its gzip), never as a syntax error.
        PendingError::Json(e) => value.is_none() || e.is_data(),
        // The tag checked is the outer one, or the one inside the gzip.
        PendingError::NotOurs("unknown format") => {
            value.is_some_and(|v| v["format"] != FALLBACK_FORMAT || v.get("gzip").is_some())
        }
        PendingError::NotOurs(reason) => {
            value.is_some_and(|v| v["format"] == FALLBACK_FORMAT)
                && [
                    "neither publishes nor one gzip",
                    "no publishes",
                    "a publish names a message that is not there",
                ]
                .contains(reason)
        }
        PendingError::Gzip(_) => value.is_some_and(|v| v.get("gzip").is_some()),
        PendingError::TooLarge(_) => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// A fallback-queue record is read back or refused, never a panic: SQS bodies can be anything
    /// someone sent to the queue. What is read back encodes to a record read back the same.
    #[test]
    fn any_queue_record_decodes_or_is_refused(
        body in ".{0,300}",
        object in json_object(),
        record in queue_record(".{0,40}"),
        part in any::<prop::sample::Index>(),
        replacement in replacement(),
    ) {
        let mut tagged = object;
        tagged.insert("format".into(), Value::from(FALLBACK_FORMAT));
        let mutated = mutated(record, part, replacement);
        for body in [body, Value::Object(tagged).to_string(), gzipped(&mutated), mutated] {
            match Pending::decode(&body) {
                Ok(pending) => {
                    let encoded = pending.encode().unwrap();
                    prop_assert_eq!(Pending::decode(&encoded).unwrap(), pending, "{}", body);
                }
                Err(error) => prop_assert!(refusal_is_explained(&body, &error), "{} refused as {:?}", body, error),
            }
        }
    }

    /// A record that is not JSON, or not tagged with the format, is refused for that reason, never
    /// read; a random object tagged with the format is not a record either.
    #[test]
    fn what_is_not_a_record_is_refused_as_not_ours_or_unreadable(body in ".{0,300}", object in json_object()) {
        let error = Pending::decode(&body).unwrap_err();
        prop_assert!(refusal_is_explained(&body, &error), "{} refused as {:?}", body, error);
        let mut untagged = object.clone();
        untagged.insert("format".into(), Value::from("alert-relay/pending@0"));
        let untagged = Value::Object(untagged).to_string();
        prop_assert!(matches!(Pending::decode(&untagged), Err(PendingError::NotOurs("unknown format")) | Err(PendingError::Json(_))), "{}", untagged);
    }

    /// Every record the function writes is read back, and writing what was read gives the same
    /// record (the same JSON value); its gzip form is read back the same too.
    #[test]
    fn queue_records_round_trip(record in queue_record(".{0,40}")) {
        let plain = record.to_string();
        let pending = Pending::decode(&plain).unwrap();
        let encoded = pending.encode().unwrap();
        prop_assert_eq!(serde_json::from_str::<Value>(&encoded).unwrap(), record);
        prop_assert_eq!(&Pending::decode(&encoded).unwrap(), &pending);
        prop_assert_eq!(&Pending::decode(&gzipped(&plain)).unwrap(), &pending);
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
        let verified = provider.authenticate(&settings(provider), Inbound { headers: &headers, query_secrets: &[], body: &body, received_at: now() });
        // A random string is a valid MAC with negligible probability.
        prop_assert!(verified.is_err());
    }

    #[test]
    fn normalizers_never_panic_on_any_json(provider in provider(), object in json_object()) {
        // A group's sender gets the object as its one alert, and as an alert's labels.
        let object = match provider.sends_groups() {
            true => json!({"alerts": [object.clone(), {"labels": object}]}),
            false => Value::Object(object),
        };
        let body = serde_json::to_vec(&object).unwrap();
        let headers = signed(provider, SECRETS[0], &body, provider.spec().forms[0]);
        let verified = provider.authenticate(&settings(provider), Inbound { headers: &headers, query_secrets: &[], body: &body, received_at: now() }).unwrap();
        for alert in provider.normalize(verified).unwrap() {
        let event = alert_relay::event::Event::new(provider, alert, alert_relay::alert::SeveritySource::Provider, &body, time::OffsetDateTime::UNIX_EPOCH).unwrap();
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
        provider in signing_provider(),
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

proptest! {
    // Each case builds, gzips and reads a record of about 1 MiB: a few are enough.
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Around SQS's limit: a record that fits is written plain, one that does not is gzipped within
    /// the limit, and either is read back the same. The bodies repeat a short text of any
    /// characters, so they compress as real messages do, and one is padded to make the record
    /// `size` bytes.
    #[test]
    fn records_past_the_queue_limit_are_gzipped_and_read_back(
        record in queue_record(".{1,24}"),
        size in (MAX_MESSAGE_BYTES - 4096)..(MAX_MESSAGE_BYTES + 4096),
    ) {
        let mut record = record;
        let messages = record["messages"].as_array_mut().unwrap();
        let each = size / messages.len() / 2;
        for message in messages.iter_mut() {
            let unit = message["body"].as_str().unwrap().to_owned();
            message["body"] = Value::String(unit.repeat(each / Value::String(unit.clone()).to_string().len() + 1));
        }
        let short = size.saturating_sub(record.to_string().len());
        let first = record["messages"][0]["body"].as_str().unwrap().to_owned();
        record["messages"][0]["body"] = Value::String(first + &"x".repeat(short));
        let plain = record.to_string();

        let pending = Pending::decode(&plain).unwrap();
        let encoded = pending.encode().unwrap();
        prop_assert!(encoded.len() <= MAX_MESSAGE_BYTES, "{} bytes", encoded.len());
        let form: Value = serde_json::from_str(&encoded).unwrap();
        if plain.len() <= MAX_MESSAGE_BYTES {
            prop_assert_eq!(form, record);
        } else {
            prop_assert_eq!(form.as_object().unwrap().keys().collect::<Vec<_>>(), ["format", "gzip"]);
        }
        prop_assert_eq!(Pending::decode(&encoded).unwrap(), pending);
    }
}

/// Text as a provider field may hold it: any character, controls, line breaks, U+FFFE/U+FFFF,
/// spaces only, or long.
fn field_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\\x00-\\x1f\\x7f-\\x9f \\u{2028}\\u{FFFE}\\u{FFFF}a-z_]{0,12}",
        Just(" \t\r\n".to_owned()),
        "[A-Z_]{250,300}",
    ]
}

/// Whether SNS takes `value` as a `String` message attribute: not empty, at most 256 characters
/// here, and only characters XML allows (no controls; not U+FFFE or U+FFFF).
fn sns_accepts(value: &str) -> bool {
    !value.is_empty()
        && !value.trim().is_empty()
        && value.chars().count() <= 256
        && value
            .chars()
            .all(|c| !c.is_control() && !matches!(c, '\u{FFFE}' | '\u{FFFF}'))
}

proptest! {
    /// Issue 21: whatever a provider's fields say, every attribute of the alert is one SNS accepts
    /// (`event_type` was the one not cleaned of control characters).
    #[test]
    fn any_provider_field_gives_attributes_sns_accepts(
        provider in provider(),
        a in field_text(),
        b in field_text(),
        c in field_text(),
        d in field_text(),
    ) {
        let body = json!({
            // the event type of every provider
            "eventTypeName": a, "type": a, "event_type": a, "event": a,
            // Atlas's ownership facts
            "humanReadable": format!("Title\nProject: {b} Organization: {c}"),
            "projectName": b, "groupId": c, "clusterName": d,
            // Monte Carlo's
            "payload": {"group_id": d, "event_list": [{"table_name": b}, {"full_table_id": c}]},
            // Standard Webhooks' data
            "data": {"type": a},
        });
        // A group's alert: the same texts as its labels and annotations.
        let group = json!({"alerts": [{
            "labels": {"alertname": a, "cluster": d, "team": b, b.clone(): c, "x": d},
            "annotations": {"summary": b},
            "fingerprint": a,
        }]});
        let Value::Object(body) = body else { unreachable!() };
        let alert = match provider.spec().normalize {
            Reader::One(read) => read(&body, &HeaderMap::new()),
            Reader::Group(read) => read(&serde_json::to_vec(&group).unwrap()).unwrap().remove(0),
        };
        let attributes = alert_relay::event::Attributes::new(provider, &alert);
        for (name, data_type, value) in attributes.typed() {
            match data_type {
                "String" => prop_assert!(sns_accepts(&value), "{name}: {value:?}"),
                _ => {
                    let values: Vec<String> = serde_json::from_str(&value).unwrap();
                    prop_assert!(!values.is_empty() && values.len() <= 10, "{name}: {value}");
                    for value in values {
                        prop_assert!(sns_accepts(&value), "{name}: {value:?}");
                    }
                }
            }
        }
        prop_assert!(attributes.strings().any(|(name, _)| name == "event_type"));
    }
}

/// `json` with every non-ASCII character and `/` written as `\u` escapes (a surrogate pair past
/// U+FFFF), as Python's `json.dumps` writes them: the same value, other bytes.
fn ascii_escaped(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() && c != '/' {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

proptest! {
    /// Issue 21: Monte Carlo's documented form built straight from the body's bytes is the form
    /// of the parsed object, however the body is written (compact, pretty, `\u`-escaped).
    #[test]
    fn the_streamed_documented_form_is_the_parsed_objects(object in json_object()) {
        let expected = pyform::urlencode(&object);
        let value = Value::Object(object);
        for body in [
            serde_json::to_string(&value).unwrap(),
            serde_json::to_string_pretty(&value).unwrap(),
            ascii_escaped(&serde_json::to_string(&value).unwrap()),
        ] {
            let streamed = pyform::urlencode_json(body.as_bytes());
            prop_assert_eq!(streamed.as_deref(), Some(expected.as_str()), "{}", body);
        }
    }

    /// Whatever the bytes, the streamed form is the parsed object's, or the body is not one object
    /// without repeated keys that serde_json reads.
    #[test]
    fn the_streamed_documented_form_refuses_what_serde_json_refuses(body in prop_oneof![
        "[{}\\[\\],:\"a-c0-9 .eE+\\-\\\\u]{0,24}",
        any::<Vec<u8>>().prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]) {
        let streamed = pyform::urlencode_json(body.as_bytes());
        match serde_json::from_str::<Value>(&body) {
            Ok(Value::Object(object)) if streamed.is_some() => {
                prop_assert_eq!(streamed, Some(pyform::urlencode(&object)));
            }
            // Accepted by serde_json but refused here: only for a repeated key.
            Ok(Value::Object(_)) => prop_assert!(body.matches(':').count() >= 2, "{}", body),
            _ => prop_assert_eq!(streamed, None, "{}", body),
        }
    }
}

#[test]
fn the_streamed_documented_form_keeps_serde_jsons_limits() {
    let refused = [
        r#"{"a":"\ud800"}"#,
        r#"{"a":"\udc00x"}"#,
        "{\"a\":\"\u{1}\"}",
        r#"{"a":01}"#,
        r#"{"a":1.}"#,
        r#"{"a":-}"#,
        r#"{"a":[1,]}"#,
        r#"{"a":1,}"#,
        r#"{"a":1} x"#,
        r#"{"a":tru}"#,
        r#"["a"]"#,
        r#"{"a":1,"a":2}"#,
        r#"{"a":{"b":1,"b":2}}"#,
        r#"{"a":"\x"}"#,
    ];
    for body in refused {
        assert_eq!(pyform::urlencode_json(body.as_bytes()), None, "{body}");
    }
    // Nesting: serde_json reads 127 levels and refuses 128; so does the streamed form.
    for depth in [126, 127, 128, 200] {
        let body = format!(
            r#"{{"a":{}{}}}"#,
            "[".repeat(depth - 1),
            "]".repeat(depth - 1)
        );
        let parsed = serde_json::from_str::<Map<String, Value>>(&body).ok();
        let streamed = pyform::urlencode_json(body.as_bytes());
        assert_eq!(
            streamed,
            parsed.map(|o| pyform::urlencode(&o)),
            "depth {depth}"
        );
    }
    // Keys repeated in different objects are fine.
    assert_eq!(
        pyform::urlencode_json(br#"{"a":{"b":1},"c":{"b":"\ud83d\ude00"}}"#).as_deref(),
        Some("a=%7B%27b%27%3A+1%7D&c=%7B%27b%27%3A+%27%F0%9F%98%80%27%7D")
    );
}
