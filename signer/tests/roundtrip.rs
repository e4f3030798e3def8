//! For any body and secret, `verify` accepts what `sign` produced: through every output (the
//! header lines, both API Gateway events), every provider and form, with the signing secret
//! anywhere in a rotation.

use alert_relay::providers::ProviderConfig;
use alert_relay::providers::{Credential, Provider, SignedForm};
use alert_relay::{Secret, providers};
use clap::Parser as _;
use proptest::prelude::*;
use serde_json::{Map, Value};
use signer::cli::{Cli, Command, SignArgs, VerifyForm};
use signer::request::Request;
use signer::sign;
use signer::verify::{Captured, Check, Settings, Verdict};

const OUTPUTS: [&[&str]; 4] = [
    &["--output", "headers"],
    &["--output", "apigw-v2"],
    &["--output", "apigw-rest"],
    &["--output", "apigw-rest", "--base64", "--stage", "prod"],
];

fn sign_args(provider: Provider, secret: &str, form: SignedForm, output: &[&str]) -> SignArgs {
    let secret = format!("--secret={secret}");
    let mut argv = vec!["alert-relay-sign", "sign", "--provider", provider.slug()];
    argv.extend([secret.as_str(), "--body", "-", "--form", form.as_str()]);
    argv.extend(output);
    match Cli::try_parse_from(argv).map(|cli| cli.command) {
        Ok(Command::Sign(args)) => args,
        other => panic!("{other:?}"),
    }
}

/// What `verify` makes of what `sign` printed for `body`.
fn round_trip(
    provider: Provider,
    secret: &str,
    decoys: usize,
    form: SignedForm,
    output: &[&str],
    body: Vec<u8>,
) -> Verdict {
    // The key `secret`, written as the provider writes its secrets.
    let written = provider.spec().secrets.write(secret.as_bytes());
    let args = sign_args(provider, &written, form, output);
    args.request.check().expect("a valid command line");
    // Signed now, as a sender signs: a scheme that signs a time is checked against the event's.
    let now = sign::now_ms();
    let request = Request::build(&args.request, Some(&written), body.clone(), now).expect("signs");
    let printed = sign::render(&args, &request, Some(now)).expect("renders");
    let captured = if output[1] == "headers" {
        Captured::from_header_lines(printed.as_bytes(), body).expect("header lines")
    } else {
        Captured::from_event(printed.as_bytes()).expect("an API Gateway event")
    };
    let mut secrets: Vec<Secret> = (0..decoys)
        .map(|i| Secret::new(format!("test-decoy-secret-{i}")))
        .collect();
    secrets.push(Secret::new(secret));
    let settings = Settings {
        signing: (0..secrets.len()).map(|i| format!("SECRET_{i}")).collect(),
        config: ProviderConfig {
            webhook_secrets: secrets,
            ..ProviderConfig::default()
        },
        query: Vec::new(),
    };
    let check = Check {
        provider,
        settings: &settings,
        form: VerifyForm::Any,
        max_body_bytes: usize::MAX,
    };
    check.run(&captured).verdict
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..4)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// A JSON object as some sender writes it: compact or indented.
fn json_body() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec((any::<String>(), json_value()), 0..6),
        any::<bool>(),
    )
        .prop_map(|(entries, pretty)| {
            let object = Value::Object(entries.into_iter().collect::<Map<String, Value>>());
            if pretty {
                serde_json::to_vec_pretty(&object).unwrap()
            } else {
                serde_json::to_vec(&object).unwrap()
            }
        })
}

fn secret() -> impl Strategy<Value = String> {
    any::<String>().prop_filter("alert-relay refuses empty secrets", |s| !s.is_empty())
}

proptest! {
    #[test]
    fn verify_accepts_what_sign_produced(
        body in json_body(),
        secret in secret(),
        provider in prop::sample::select(Provider::ALL.to_vec()),
        documented in any::<bool>(),
        output in prop::sample::select(OUTPUTS.to_vec()),
        decoys in 0..3usize,
    ) {
        // The documented form wherever the provider has one (Monte Carlo's), else the raw body.
        let form = if documented && provider.spec().forms.contains(&SignedForm::Documented) {
            SignedForm::Documented
        } else {
            SignedForm::Raw
        };
        let verdict = round_trip(provider, &secret, decoys, form, output, body);
        prop_assert_eq!(
            verdict,
            Verdict::Accepted(Credential::Signature { form, secret_index: decoys })
        );
    }

    /// Any bytes at all authenticate; only a body that is not a JSON object is then refused,
    /// with the 400 the function answers.
    #[test]
    fn any_body_authenticates(
        body in prop::collection::vec(any::<u8>(), 0..300),
        secret in secret(),
        provider in prop::sample::select(Provider::ALL.to_vec()),
        base64_event in any::<bool>(),
    ) {
        let output = if base64_event { OUTPUTS[3] } else { OUTPUTS[0] };
        let verdict = round_trip(provider, &secret, 1, SignedForm::Raw, output, body.clone());
        match providers::parse_object(&body) {
            Ok(_) => prop_assert_eq!(
                verdict,
                Verdict::Accepted(Credential::Signature { form: SignedForm::Raw, secret_index: 1 })
            ),
            Err(malformed) => prop_assert!(
                matches!(verdict, Verdict::Rejected { status: 400, reason, .. } if reason == malformed.reason()),
                "{:?}", verdict
            ),
        }
    }
}
