//! Signature vectors computed by CPython's `hmac`, `hashlib`, `base64` and `urllib.parse` (the
//! providers' own reference implementations), never by the code under test: the crate's signer
//! must produce the same header values, and `authenticate` must accept them.
//!
//! The slow tier: built only with the `oracles` feature (`make oracles`), and `python3` missing is
//! a failure there, never a skip.

use std::io::Write;
use std::process::{Command, Stdio};

use alert_relay::Secret;
use alert_relay::providers::ProviderConfig;
use alert_relay::providers::{Credential, Inbound, Provider, SignedForm};
use http::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

const ORACLE: &str = r#"
import base64, hashlib, hmac, json, sys, urllib.parse
out = []
for case in json.load(sys.stdin):
    secret, body = case["secret"].encode(), case["body"].encode()
    message = urllib.parse.urlencode(json.loads(body)).encode() if case["form"] == "documented" else body
    if case["form"] == "timestamped":
        message = str(case["timestamp"]).encode() + b":" + body
    if case["provider"] == "atlas":
        sig = base64.b64encode(hmac.new(secret, message, hashlib.sha1).digest()).decode()
    elif case["provider"] == "app-services":
        sig = "sha256=" + hmac.new(secret, message, hashlib.sha256).hexdigest()
    elif case["provider"] == "monte-carlo":
        sig = hmac.new(secret, message, hashlib.sha512).hexdigest()
    elif case["provider"] == "grafana":
        sig = hmac.new(secret, message, hashlib.sha256).hexdigest()
    else:
        sys.exit("no CPython oracle for " + case["provider"])
    out.append(sig)
json.dump(out, sys.stdout)
"#;

/// When the timestamped forms are signed and received: 2024-01-15T10:30:00Z.
const TIMESTAMP: i64 = 1_705_314_600;

fn cases() -> Vec<(Provider, &'static str, String, SignedForm)> {
    let seeds = [
        include_str!("data/seeds/atlas-disk-space-alert.json"),
        include_str!("data/seeds/app-services-message.json"),
        include_str!("data/seeds/monte-carlo-rule-breach.json"),
        include_str!("data/seeds/monte-carlo-volume-anomaly.json"),
    ];
    let secrets = [
        "12345",
        "test-secret-one",
        "ünïcødé secret ✓",
        &"long-secret-".repeat(20),
    ];
    let mut bodies: Vec<String> = seeds.iter().map(|s| s.to_string()).collect();
    bodies.push(r#"{"k": "v w/x", "n": [1, 2.5, 1e-7, null, true], "s": "it's \"quoted\"\n", "é": {"deep": {}}}"#.into());
    bodies.push("{}".into());
    bodies.push(format!(
        r#"{{"n": {}, "f": 1.5e300, "neg": -{}, "z": -0.0}}"#,
        "9".repeat(500),
        "7".repeat(300)
    ));
    let mut cases = Vec::new();
    // The schemes that sign the body in one header, every form of theirs: the body alone, Monte
    // Carlo's documented form, Grafana's `<seconds>:<body>` (its timestamp in its own header).
    // Standard Webhooks (id, timestamp and body) is checked against its own reference library
    // (tests/e2e/test_standard_webhooks.py) and the vector it publishes; Alertmanager sends a
    // credential, not a signature (tests/independent_signatures.rs).
    let signing = Provider::ALL.into_iter().filter(|p| {
        let spec = p.spec();
        spec.forms.iter().all(|f| f.is_signature())
            && (spec.signed_headers.is_empty() || spec.optional_timestamp)
    });
    for provider in signing {
        for (i, body) in bodies.iter().enumerate() {
            let secret: &'static str =
                Box::leak(secrets[i % secrets.len()].to_owned().into_boxed_str());
            for form in provider.spec().forms {
                cases.push((provider, secret, body.clone(), *form));
            }
        }
    }
    cases
}

fn python_signatures(cases: &[(Provider, &str, String, SignedForm)]) -> Vec<String> {
    let input: Vec<Value> = cases
        .iter()
        .map(|(p, secret, body, form)| json!({"provider": p.slug(), "secret": secret, "body": body, "form": form.as_str(), "timestamp": TIMESTAMP}))
        .collect();
    let mut child = Command::new("python3")
        .args(["-c", ORACLE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is the reference oracle and must be installed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(Value::Array(input).to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "the python oracle failed");
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn signer_matches_cpython_for_every_provider_and_form() {
    let cases = cases();
    let expected = python_signatures(&cases);
    assert_eq!(expected.len(), cases.len());
    assert!(cases.len() >= 20);
    for ((provider, secret, body, form), expected) in cases.iter().zip(&expected) {
        let ours = signature(*provider, secret.as_bytes(), body.as_bytes(), *form);
        assert_eq!(&ours, expected, "{provider:?} {form:?} {body}");
    }
}

#[test]
fn cpython_signatures_authenticate_with_the_right_form() {
    let cases = cases();
    let expected = python_signatures(&cases);
    for ((provider, secret, body, form), signature) in cases.iter().zip(&expected) {
        let settings = ProviderConfig {
            webhook_secrets: vec![Secret::new("some-other-secret"), Secret::new(*secret)],
            ..Default::default()
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            provider.signature_header(),
            HeaderValue::from_str(signature).unwrap(),
        );
        if *form == SignedForm::Timestamped {
            headers.insert(
                provider.spec().signed_headers[0],
                HeaderValue::from(TIMESTAMP),
            );
        }
        let inbound = Inbound {
            headers: &headers,
            query_secrets: &[],
            body: body.as_bytes(),
            received_at: TIMESTAMP,
        };
        let verified = provider
            .authenticate(&settings, inbound)
            .expect("CPython's signature is accepted");
        // Bodies whose documented form equals the raw bytes would be ambiguous; ours are not.
        assert_eq!(
            verified.credential(),
            Credential::Signature {
                form: *form,
                secret_index: 1
            },
            "{provider:?} {body}"
        );

        let wrong = ProviderConfig {
            webhook_secrets: vec![Secret::new("some-other-secret")],
            ..Default::default()
        };
        let inbound = Inbound {
            headers: &headers,
            query_secrets: &[],
            body: body.as_bytes(),
            received_at: TIMESTAMP,
        };
        assert!(provider.authenticate(&wrong, inbound).is_err());
    }
}

/// The signature header's value alone, signed at `TIMESTAMP` (for the forms that sign a time).
fn signature(provider: Provider, key: &[u8], body: &[u8], form: SignedForm) -> String {
    let signing = alert_relay::providers::Signing {
        body,
        form,
        timestamp: TIMESTAMP,
        id: "",
    };
    let headers = provider.sign(&Secret::from_bytes(key), &signing).unwrap();
    provider.signature_in(&headers).unwrap().to_owned()
}
