//! `verify` on real cases: each request is made by the signer itself (`sign`), then changed the
//! way it gets changed in the wild (a pretty-printer, a proxy, a quoting template, a wrong URL
//! path), and `verify` must name what happened. No signature here is pasted.

mod common;

use std::path::PathBuf;

use common::*;

/// A captured request: the headers `sign` printed, and the body as captured.
struct Capture {
    dir: PathBuf,
}

impl Capture {
    /// What `sign --provider PROVIDER --body SENT ARGS` prints, signed with `secret`; the
    /// captured body is `sent` until `with_body` changes it.
    fn signed(provider: &str, secret: &str, sent: &[u8], args: &[&str]) -> Capture {
        Capture::made(provider, Some(secret), sent, args)
    }

    /// What `sign --unsigned` prints.
    fn unsigned(provider: &str, sent: &[u8], args: &[&str]) -> Capture {
        Capture::made(provider, None, sent, args)
    }

    fn made(provider: &str, secret: Option<&str>, sent: &[u8], args: &[&str]) -> Capture {
        let dir = scratch(provider);
        std::fs::write(dir.join("sent"), sent).unwrap();
        let sent_path = dir.join("sent").display().to_string();
        let mut sign = vec!["sign", "--provider", provider, "--body", &sent_path];
        sign.extend(match secret {
            Some(_) => ["--secret-env", "SIGNING_SECRET"].as_slice(),
            None => ["--unsigned"].as_slice(),
        });
        sign.extend(args);
        let env: Vec<(&str, &str)> = secret.map(|s| ("SIGNING_SECRET", s)).into_iter().collect();
        let run = signer(&sign, &env, b"");
        assert_eq!(run.code, 0, "{}", run.stderr);
        std::fs::write(dir.join("headers"), &run.stdout).unwrap();
        std::fs::write(dir.join("body"), sent).unwrap();
        Capture { dir }
    }

    fn headers(&self) -> String {
        std::fs::read_to_string(self.dir.join("headers")).unwrap()
    }

    /// The headers file, changed by `edit`.
    fn with_headers(self, edit: impl FnOnce(String) -> String) -> Capture {
        let edited = edit(self.headers());
        std::fs::write(self.dir.join("headers"), edited).unwrap();
        self
    }

    fn with_body(self, body: &[u8]) -> Capture {
        std::fs::write(self.dir.join("body"), body).unwrap();
        self
    }

    fn body(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("body")).unwrap()
    }

    /// `expected`, then one `other_scheme` for each other provider of the registry whose own
    /// signature header, given this capture's `provider` signature value, verifies it: `verify`
    /// rightly says so. Derived from the registry, so that a provider whose scheme is another's
    /// with a prefix more or less (Grafana's bare hex HMAC-SHA256, App Services' `sha256=<hex>`)
    /// breaks no expectation here.
    fn expect(
        &self,
        provider: &str,
        secrets: &[&str],
        expected: &[&'static str],
    ) -> Vec<&'static str> {
        let overlapping = self.overlapping(provider, secrets);
        let mut all = expected.to_vec();
        all.extend(overlapping.iter().map(|_| "other_scheme"));
        all
    }

    /// The other providers that accept this capture's `provider` signature value as theirs, moved
    /// into their own header (the other headers kept), checked with `verify --provider` each.
    fn overlapping(&self, provider: &str, secrets: &[&str]) -> Vec<String> {
        let registry = registry();
        let header = &registry
            .iter()
            .find(|(slug, _)| slug == provider)
            .expect("a provider")
            .1;
        let headers = self.headers();
        let named = |line: &str, name: &str| {
            line.split_once(':')
                .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        };
        let values: Vec<&str> = headers.lines().filter(|l| named(l, header)).collect();
        let [line] = values.as_slice() else {
            return Vec::new(); // none, or repeated: `verify` looks no further
        };
        let value = line.split_once(':').unwrap().1.trim();
        registry
            .iter()
            .filter(|(slug, theirs)| slug != provider && !headers.lines().any(|l| named(l, theirs)))
            .filter(|(slug, theirs)| {
                let moved: String = headers
                    .lines()
                    .map(|l| {
                        if named(l, header) {
                            format!("{theirs}: {value}\n")
                        } else {
                            format!("{l}\n")
                        }
                    })
                    .collect();
                let probe = Capture {
                    dir: scratch("overlap"),
                };
                std::fs::write(probe.dir.join("headers"), moved).unwrap();
                std::fs::write(probe.dir.join("body"), self.body()).unwrap();
                // Authenticated is what counts: a body that is not that provider's shape (a
                // group's sender reading one alert) is then a 400, not a refused credential.
                let run = probe.verify(slug, secrets, &[]);
                run.code == 0 || run.first_line().starts_with("rejected: 400 ")
            })
            .map(|(slug, _)| slug.clone())
            .collect()
    }

    /// `verify --provider PROVIDER` with one `--secret-env` per secret, in order.
    fn verify(&self, provider: &str, secrets: &[&str], args: &[&str]) -> Run {
        let headers = self.dir.join("headers").display().to_string();
        let body = self.dir.join("body").display().to_string();
        verify(
            provider,
            secrets,
            &["--headers", &headers, "--body", &body],
            args,
        )
    }
}

/// `verify` with the secrets in SECRET_0, SECRET_1…; checks that none of them is ever printed.
fn verify(provider: &str, secrets: &[&str], input: &[&str], args: &[&str]) -> Run {
    let vars: Vec<String> = (0..secrets.len()).map(|i| format!("SECRET_{i}")).collect();
    let mut argv = vec!["verify", "--provider", provider];
    for var in &vars {
        argv.extend(["--secret-env", var]);
    }
    argv.extend(input);
    argv.extend(args);
    let env: Vec<(&str, &str)> = vars
        .iter()
        .map(String::as_str)
        .zip(secrets.iter().copied())
        .collect();
    let run = signer(&argv, &env, b"");
    for secret in secrets {
        assert!(
            !run.text().contains(secret) && !run.stderr.contains(secret),
            "a secret was printed:\n{}{}",
            run.stdout,
            run.stderr
        );
    }
    run
}

fn assert_rejected(run: &Run, first_line: &str, diagnoses: &[&str]) {
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.first_line(), first_line, "{}", run.stdout);
    assert_eq!(run.diagnoses(), diagnoses, "{}", run.stdout);
}

// CPython's renderings of a body, for the tests behind the `oracles` feature (`make oracles`).
#[cfg(feature = "oracles")]
const COMPACT: &str = "import json, sys; \
    sys.stdout.write(json.dumps(json.load(sys.stdin), separators=(',', ':'), ensure_ascii=False))";
#[cfg(feature = "oracles")]
const SORTED_COMPACT: &str = "import json, sys; sys.stdout.write(json.dumps(json.load(sys.stdin), \
    separators=(',', ':'), ensure_ascii=False, sort_keys=True))";
#[cfg(feature = "oracles")]
/// What `python3 -m json.tool` does to a body: 4-space indent, non-ASCII escaped.
const JSON_TOOL: &str = "import json, sys; print(json.dumps(json.load(sys.stdin), indent=4))";
#[cfg(feature = "oracles")]
const PYTHON_DUMPS: &str = "import json, sys; sys.stdout.write(json.dumps(json.load(sys.stdin)))";
#[cfg(feature = "oracles")]
const URLENCODE: &str = "import json, sys, urllib.parse; \
    sys.stdout.write(urllib.parse.urlencode(json.load(sys.stdin)))";

#[test]
fn accepts_what_sign_produced_and_names_the_secret() {
    let body = payload("atlas/atlas-disk-space-alert.json");
    let capture = Capture::signed("atlas", NEW_SECRET, &body, &["--event", "alert.open"]);
    let run = capture.verify("atlas", &[NEW_SECRET], &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.first_line(),
        "accepted: form=raw secret_index=0 ($SECRET_0)"
    );
    assert!(run.diagnoses().is_empty());
}

#[test]
fn rotated_secret_is_found_by_index() {
    let body = payload("monte-carlo/monte-carlo-volume-anomaly.json");
    let capture = Capture::signed("monte-carlo", NEW_SECRET, &body, &[]);
    let run = capture.verify("monte-carlo", &[OLD_SECRET, NEW_SECRET], &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        run.first_line(),
        "accepted: form=raw secret_index=1 ($SECRET_1)"
    );

    // Only the old secret configured: nothing in the request explains it, so the secret does.
    let run = capture.verify("monte-carlo", &[OLD_SECRET], &[]);
    assert_rejected(
        &run,
        "rejected: 401 invalid_signature, reason=signature_mismatch",
        &capture.expect("monte-carlo", &[OLD_SECRET], &[]),
    );
    assert!(run.text().contains("no diagnosis:"), "{}", run.stdout);
    assert!(run.text().contains("#0 $SECRET_0"), "{}", run.stdout);
}

#[test]
#[cfg(feature = "oracles")] // runs python3 (CPython is the reference): the slow tier, `make oracles`
fn pretty_printed_body_is_diagnosed_as_reencoded() {
    let sent = python(COMPACT, &payload("atlas/atlas-disk-space-alert.json"));
    let capture = Capture::signed("atlas", OLD_SECRET, &sent, &["--event", "alert.open"]);
    let pretty = python(JSON_TOOL, &sent);
    let run = capture
        .with_body(&pretty)
        .verify("atlas", &[OLD_SECRET], &[]);
    assert_rejected(
        &run,
        "rejected: 401 invalid_signature, reason=signature_mismatch",
        &["reencoded_body"],
    );
    assert!(
        run.text().contains(
            "the signature matches the body re-serialized compactly: form=raw secret_index=0 \
             ($SECRET_0)."
        ),
        "{}",
        run.stdout
    );
}

#[test]
#[cfg(feature = "oracles")] // runs python3 (CPython is the reference): the slow tier, `make oracles`
fn canonical_signature_is_diagnosed_as_sorted_keys() {
    // The sender signs its canonical form (sorted keys) and sends the document in its own order.
    let document = payload("app-services/app-services-trigger-failure.json");
    let canonical = python(SORTED_COMPACT, &document);
    let capture = Capture::signed("app-services", NEW_SECRET, &canonical, &[]).with_body(&document);
    let run = capture.verify("app-services", &[OLD_SECRET, NEW_SECRET], &[]);
    assert_rejected(
        &run,
        "rejected: 401 invalid_signature, reason=signature_mismatch",
        &capture.expect(
            "app-services",
            &[OLD_SECRET, NEW_SECRET],
            &["reencoded_body"],
        ),
    );
    assert!(
        run.text()
            .contains("re-serialized compactly with sorted keys: form=raw secret_index=1"),
        "{}",
        run.stdout
    );
}

#[test]
#[cfg(feature = "oracles")] // runs python3 (CPython is the reference): the slow tier, `make oracles`
fn python_sender_behind_a_compacting_proxy_is_diagnosed() {
    let document = "{\"type\": \"open_anomaly_incident\", \"note\": \"caf\u{e9} \u{2713}\", \
                    \"payload\": {\"incident_id\": \"i-1\", \"n\": [1, 2.5]}}";
    let sent = python(PYTHON_DUMPS, document.as_bytes());
    let compacted = python(COMPACT, &sent);
    let capture = Capture::signed("monte-carlo", OLD_SECRET, &sent, &[]).with_body(&compacted);
    let run = capture.verify("monte-carlo", &[OLD_SECRET], &[]);
    assert_rejected(
        &run,
        "rejected: 401 invalid_signature, reason=signature_mismatch",
        &capture.expect("monte-carlo", &[OLD_SECRET], &["reencoded_body"]),
    );
    assert!(
        run.text()
            .contains("re-serialized by Python's json.dumps: form=raw"),
        "{}",
        run.stdout
    );
}

#[test]
fn newline_added_to_the_capture_is_diagnosed() {
    let sent = payload("app-services/app-services-message.json");
    let capture = Capture::signed("app-services", OLD_SECRET, &sent, &[]);
    let mut captured = capture.body();
    captured.extend(b"\n");
    let run = capture
        .with_body(&captured)
        .verify("app-services", &[OLD_SECRET], &[]);
    assert_rejected(
        &run,
        "rejected: 401 invalid_signature, reason=signature_mismatch",
        &["trailing_newline"],
    );
}

#[test]
fn documented_form_checked_as_raw_is_diagnosed() {
    let body = payload("monte-carlo/monte-carlo-rule-breach.json");
    let capture = Capture::signed("monte-carlo", OLD_SECRET, &body, &["--form", "documented"]);
    let run = capture.verify("monte-carlo", &[OLD_SECRET], &["--form", "raw"]);
    assert_rejected(
        &run,
        "rejected: 401 invalid_signature, reason=signature_mismatch",
        &capture.expect("monte-carlo", &[OLD_SECRET], &["documented_form"]),
    );
    assert!(
        run.text().contains("form=documented secret_index=0"),
        "{}",
        run.stdout
    );

    // alert-relay itself accepts both forms.
    let run = capture.verify("monte-carlo", &[OLD_SECRET], &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        run.first_line(),
        "accepted: form=documented secret_index=0 ($SECRET_0)"
    );

    // And the other way round: a raw signature where only the documented form is expected.
    let raw = Capture::signed("monte-carlo", OLD_SECRET, &body, &[]);
    let run = raw.verify("monte-carlo", &[OLD_SECRET], &["--form", "documented"]);
    assert_rejected(
        &run,
        "rejected: 401 invalid_signature, reason=signature_mismatch",
        &raw.expect("monte-carlo", &[OLD_SECRET], &["raw_form"]),
    );
}

#[test]
#[cfg(feature = "oracles")] // runs python3 (CPython is the reference): the slow tier, `make oracles`
fn documented_form_sent_to_another_provider_is_diagnosed() {
    // A sender following Monte Carlo's documentation, signing the way Atlas does, as CPython
    // builds the form.
    let body = payload("atlas/atlas-disk-space-alert.json");
    let form = python(URLENCODE, &body);
    let capture = Capture::signed("atlas", OLD_SECRET, &form, &[]).with_body(&body);
    let run = capture.verify("atlas", &[OLD_SECRET], &[]);
    assert_rejected(
        &run,
        "rejected: 401 invalid_signature, reason=signature_mismatch",
        &capture.expect("atlas", &[OLD_SECRET], &["documented_form"]),
    );
}

#[test]
fn request_for_another_provider_is_a_wrong_url_path() {
    let body = payload("atlas/atlas-disk-space-alert.json");
    let capture = Capture::signed("atlas", OLD_SECRET, &body, &["--event", "alert.open"]);
    let run = capture.verify("monte-carlo", &[OLD_SECRET], &[]);
    assert_rejected(
        &run,
        "rejected: 401 missing_signature, reason=missing_signature",
        &capture.expect("monte-carlo", &[OLD_SECRET], &["other_provider"]),
    );
    assert!(run.text().contains("/webhooks/atlas"), "{}", run.stdout);
    assert!(
        run.text()
            .contains("the request's headers: content-type, x-mms-event, x-mms-signature"),
        "{}",
        run.stdout
    );
}

#[test]
fn another_providers_scheme_in_this_header_is_a_wrong_url_path() {
    let body = payload("app-services/app-services-trigger-failure.json");
    let capture = Capture::signed("app-services", OLD_SECRET, &body, &[])
        .with_headers(|h| h.replace("X-Hook-Signature:", "x-mcd-signature:"));
    let run = capture.verify("monte-carlo", &[OLD_SECRET], &[]);
    assert_rejected(
        &run,
        "rejected: 401 invalid_signature, reason=bad_encoding",
        // One `other_scheme` per provider whose scheme takes the value: App Services', and any
        // other's that is App Services' with a prefix more or less.
        &capture.expect("monte-carlo", &[OLD_SECRET], &[]),
    );
    assert!(
        capture
            .overlapping("monte-carlo", &[OLD_SECRET])
            .contains(&"app-services".to_owned())
    );
    assert!(
        run.text().contains("/webhooks/app-services"),
        "{}",
        run.stdout
    );
}

#[test]
fn quoted_header_value_is_diagnosed() {
    let body = payload("atlas/atlas-disk-space-alert.json");
    let capture = Capture::signed("atlas", OLD_SECRET, &body, &[]).with_headers(|headers| {
        headers
            .lines()
            .map(|line| match line.split_once(": ") {
                Some(("X-MMS-Signature", value)) => format!("X-MMS-Signature: \"{value}\"\n"),
                _ => format!("{line}\n"),
            })
            .collect()
    });
    let run = capture.verify("atlas", &[OLD_SECRET], &[]);
    assert_rejected(
        &run,
        "rejected: 401 invalid_signature, reason=bad_encoding",
        &capture.expect("atlas", &[OLD_SECRET], &["quoted_header"]),
    );
}

#[test]
fn prefix_where_none_belongs_is_diagnosed() {
    let body = payload("monte-carlo/monte-carlo-volume-anomaly.json");
    let capture = Capture::signed("monte-carlo", NEW_SECRET, &body, &[])
        .with_headers(|h| h.replace("x-mcd-signature: ", "x-mcd-signature: sha256="));
    let run = capture.verify("monte-carlo", &[OLD_SECRET, NEW_SECRET], &[]);
    assert_rejected(
        &run,
        "rejected: 401 invalid_signature, reason=bad_encoding",
        &capture.expect(
            "monte-carlo",
            &[OLD_SECRET, NEW_SECRET],
            &["unexpected_prefix"],
        ),
    );
    assert!(run.text().contains("secret_index=1"), "{}", run.stdout);
}

#[test]
fn missing_prefix_is_diagnosed() {
    let body = payload("app-services/app-services-message.json");
    let capture = Capture::signed("app-services", OLD_SECRET, &body, &[])
        .with_headers(|h| h.replace("X-Hook-Signature: sha256=", "X-Hook-Signature: "));
    let run = capture.verify("app-services", &[OLD_SECRET], &[]);
    assert_rejected(
        &run,
        "rejected: 401 invalid_signature, reason=wrong_scheme",
        &capture.expect("app-services", &[OLD_SECRET], &["missing_prefix"]),
    );
}

#[test]
fn repeated_signature_header_is_refused() {
    let body = payload("atlas/atlas-disk-space-alert.json");
    let capture = Capture::signed("atlas", OLD_SECRET, &body, &[]).with_headers(|h| {
        let signature = h
            .lines()
            .find(|line| line.starts_with("X-MMS-Signature"))
            .unwrap()
            .to_owned();
        format!("{h}{signature}\n")
    });
    let run = capture.verify("atlas", &[OLD_SECRET], &[]);
    assert_rejected(
        &run,
        "rejected: 401 invalid_signature, reason=duplicate_header",
        &capture.expect("atlas", &[OLD_SECRET], &[]),
    );
}

#[test]
fn raw_request_capture_with_a_request_line_and_query_secret() {
    let body = payload("app-services/app-services-message.json");
    let capture = Capture::unsigned("app-services", &body, &[]).with_headers(|h| {
        format!("POST /webhooks/app-services?secret=test-query-%2Fsecret HTTP/1.1\r\n{h}")
    });
    let headers = capture.dir.join("headers").display().to_string();
    let body_path = capture.dir.join("body").display().to_string();
    let env = [("QUERY", "test-query-/secret")];
    let argv = [
        "verify",
        "--provider",
        "app-services",
        "--query-secret-env",
        "QUERY",
        "--headers",
        &headers,
        "--body",
        &body_path,
    ];
    let run = signer(&argv, &env, b"");
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.first_line(),
        "accepted: form=query_secret secret_index=0 ($QUERY)"
    );
    let run = signer(&argv, &[("QUERY", "test-query-other")], b"");
    assert_eq!(
        run.first_line(),
        "rejected: 401 invalid_signature, reason=query_secret_mismatch"
    );
}

/// `sign --output OUTPUT`, written to a file for `verify --event`.
fn event(provider: &str, secret: &str, body: &[u8], args: &[&str]) -> String {
    let dir = scratch("event");
    let body_path = dir.join("body").display().to_string();
    std::fs::write(&body_path, body).unwrap();
    let mut argv = vec![
        "sign",
        "--provider",
        provider,
        "--secret-env",
        "S",
        "--body",
        &body_path,
    ];
    argv.extend(args);
    let run = signer(&argv, &[("S", secret)], b"");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let path = dir.join("event.json");
    std::fs::write(&path, run.stdout).unwrap();
    path.display().to_string()
}

#[test]
fn api_gateway_events_are_read_as_the_function_reads_them() {
    let body = payload("monte-carlo/monte-carlo-sev1-incident.json");
    for output in [
        &["--output", "apigw-v2"][..],
        &["--output", "apigw-rest", "--stage", "prod", "--base64"],
        &["--output", "apigw-v2", "--form", "documented"],
    ] {
        let file = event("monte-carlo", NEW_SECRET, &body, output);
        let run = verify(
            "monte-carlo",
            &[OLD_SECRET, NEW_SECRET],
            &["--event", &file],
            &[],
        );
        assert_eq!(run.code, 0, "{output:?}: {}{}", run.stdout, run.stderr);
        assert!(
            run.first_line().ends_with("secret_index=1 ($SECRET_1)"),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn the_function_checks_route_method_and_size_first() {
    let body = payload("atlas/atlas-disk-space-alert.json");
    let file = event(
        "atlas",
        OLD_SECRET,
        &body,
        &["--output", "apigw-v2", "--path", "/webhooks/pagerduty"],
    );
    let run = verify("atlas", &[OLD_SECRET], &["--event", &file], &[]);
    assert_rejected(
        &run,
        "rejected: 404 unknown_provider, reason=unknown_provider",
        &[],
    );

    let file = event(
        "atlas",
        OLD_SECRET,
        &body,
        &["--output", "apigw-v2", "--method", "GET"],
    );
    let run = verify("atlas", &[OLD_SECRET], &["--event", &file], &[]);
    assert_rejected(
        &run,
        "rejected: 405 method_not_allowed, reason=method_not_allowed",
        &[],
    );

    let file = event("atlas", OLD_SECRET, &body, &["--output", "apigw-v2"]);
    let small = (body.len() - 1).to_string();
    let run = verify(
        "atlas",
        &[OLD_SECRET],
        &["--event", &file],
        &["--max-body-bytes", &small],
    );
    assert_rejected(
        &run,
        "rejected: 413 payload_too_large, reason=payload_too_large",
        &[],
    );
}

#[test]
fn authentic_body_that_is_not_an_object_is_a_400() {
    let body = payload("not-an-object.json");
    let capture = Capture::signed("app-services", OLD_SECRET, &body, &[]);
    let run = capture.verify("app-services", &[OLD_SECRET], &[]);
    assert_rejected(
        &run,
        "rejected: 400 malformed_payload, reason=not_an_object",
        &capture.expect("app-services", &[OLD_SECRET], &[]),
    );
}

#[test]
fn usage_errors_exit_2_and_name_the_variable_never_a_secret() {
    let body = payload("atlas/atlas-disk-space-alert.json");
    let capture = Capture::signed("atlas", OLD_SECRET, &body, &[]);
    let headers = capture.dir.join("headers").display().to_string();
    let body_path = capture.dir.join("body").display().to_string();
    let input = ["--headers", headers.as_str(), "--body", body_path.as_str()];

    let unset = signer(
        &[
            &[
                "verify",
                "--provider",
                "atlas",
                "--secret-env",
                "NOT_SET_ANYWHERE",
            ][..],
            &input,
        ]
        .concat(),
        &[],
        b"",
    );
    assert_eq!(unset.code, 2);
    assert!(
        unset.stderr.contains("NOT_SET_ANYWHERE"),
        "{}",
        unset.stderr
    );

    let empty = signer(
        &[
            &["verify", "--provider", "atlas", "--secret-env", "EMPTY"][..],
            &input,
        ]
        .concat(),
        &[("EMPTY", "")],
        b"",
    );
    assert_eq!(empty.code, 2);

    let documented = verify("atlas", &[OLD_SECRET], &input, &["--form", "documented"]);
    assert_eq!(documented.code, 2, "{}", documented.stderr);

    let missing = verify(
        "atlas",
        &[OLD_SECRET],
        &["--headers", "/nonexistent/h", "--body", &body_path],
        &[],
    );
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("/nonexistent/h"),
        "{}",
        missing.stderr
    );

    let no_secret = signer(
        &[&["verify", "--provider", "atlas"][..], &input].concat(),
        &[],
        b"",
    );
    assert_eq!(no_secret.code, 2);
    assert!(
        no_secret.stderr.contains("--secret-env"),
        "{}",
        no_secret.stderr
    );
}

#[test]
fn an_event_routed_to_another_provider_is_noted() {
    let body = payload("atlas/atlas-disk-space-alert.json");
    let file = event(
        "atlas",
        OLD_SECRET,
        &body,
        &["--output", "apigw-rest", "--stage", "prod"],
    );
    let run = verify("monte-carlo", &[OLD_SECRET], &["--event", &file], &[]);
    assert_rejected(
        &run,
        "rejected: 401 missing_signature, reason=missing_signature",
        &["other_provider"],
    );
    assert!(
        run.text().contains(
            "note: the request's path routes to atlas: alert-relay checks it as atlas, not as \
             monte-carlo as asked here"
        ),
        "{}",
        run.stdout
    );
}

#[test]
#[cfg(feature = "oracles")] // runs python3 (CPython is the reference): the slow tier, `make oracles`
fn reencoding_of_a_body_that_ended_with_a_newline_is_diagnosed() {
    // `jq -c`, `print(json.dumps(...))`: the sender's compact body ends with a newline.
    let printed = "import json, sys; \
        print(json.dumps(json.load(sys.stdin), separators=(',', ':'), ensure_ascii=False))";
    let sent = python(
        printed,
        &payload("atlas/atlas-disk-space-alert-closed.json"),
    );
    let capture = Capture::signed("atlas", OLD_SECRET, &sent, &["--event", "alert.close"]);
    let pretty = python(JSON_TOOL, &sent);
    let run = capture
        .with_body(&pretty)
        .verify("atlas", &[OLD_SECRET], &[]);
    assert_rejected(
        &run,
        "rejected: 401 invalid_signature, reason=signature_mismatch",
        &["reencoded_body"],
    );
    assert!(
        run.text()
            .contains("re-serialized compactly, ending with a newline: form=raw"),
        "{}",
        run.stdout
    );
}

/// Alertmanager's credentials come in two forms: a `--secret-env` is read in each, so that a
/// `user:password` entry checks a Basic header and a token a Bearer one.
#[test]
fn alertmanager_credentials_verify_in_either_form() {
    let body = payload("alertmanager/alertmanager-group.json");
    let basic = Capture::signed(
        "alertmanager",
        "prometheus:test-basic-secret",
        &body,
        &["--form", "basic"],
    );
    let run = basic.verify(
        "alertmanager",
        &["test-bearer-token", "prometheus:test-basic-secret"],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        run.first_line(),
        "accepted: form=basic secret_index=2 ($SECRET_1)"
    );
    let bearer = Capture::signed("alertmanager", "test-bearer-token", &body, &[]);
    let run = bearer.verify("alertmanager", &["test-bearer-token"], &[]);
    assert_eq!(
        run.first_line(),
        "accepted: form=bearer secret_index=0 ($SECRET_0)"
    );
    let run = bearer.verify("alertmanager", &["prometheus:test-basic-secret"], &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
}
