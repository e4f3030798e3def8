//! `silence` without AWS: what is refused before any call, and how a refused call is reported.
//! The commands against a table are in `silence_moto.rs` (the `oracles` tier: moto's DynamoDB).

mod common;

use std::net::TcpListener;

use common::*;

/// An endpoint nothing listens on: a call that is made fails at once.
fn closed_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn aws(endpoint: &str) -> Vec<(&str, &str)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_MAX_ATTEMPTS", "1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
}

#[test]
fn an_invalid_match_is_a_usage_error_with_the_routes_message() {
    let endpoint = closed_endpoint();
    let run = signer_isolated(
        &[
            "silence",
            "add",
            "--table",
            "t",
            "--match",
            r#"{"priority": ["P1"]}"#,
            "--for",
            "2h",
            "--comment",
            "x",
        ],
        &aws(&endpoint),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr.starts_with(
            "error: --match: filter: unknown attribute \"priority\" (a filter names provider, \
             status, severity, event_type, project, cluster, group, tables, labels or $or)\n"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Usage: alert-relay-sign silence add "));
}

#[test]
fn the_table_comes_from_alert_state_table_when_not_given() {
    let args = [
        "silence",
        "add",
        "--match",
        "{",
        "--for",
        "2h",
        "--comment",
        "x",
    ];
    let missing = signer_isolated(&args, &[]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("--table <TABLE>"),
        "{}",
        missing.stderr
    );
    let from_env = signer_isolated(&args, &[("ALERT_STATE_TABLE", "alert-relay-state")]);
    assert_eq!(from_env.code, 2);
    assert!(
        from_env.stderr.starts_with("error: --match: not JSON"),
        "{}",
        from_env.stderr
    );
}

#[test]
fn a_silence_over_before_now_is_refused() {
    let run = signer_isolated(
        &[
            "silence",
            "add",
            "--table",
            "t",
            "--match",
            "{}",
            "--start",
            "2020-01-01T00:00:00Z",
            "--until",
            "2020-01-01T02:00:00Z",
            "--comment",
            "x",
        ],
        &[],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .starts_with("error: the silence would have ended at 2020-01-01T02:00:00Z, before now"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_unreachable_table_is_exit_status_1_with_the_sdks_reason() {
    let endpoint = closed_endpoint();
    for args in [
        &["silence", "list", "--table", "t"][..],
        &["silence", "expire", "--table", "t", "s-0123456789ab"],
        &[
            "silence",
            "add",
            "--table",
            "t",
            "--match",
            "{}",
            "--for",
            "1h",
            "--comment",
            "x",
        ],
    ] {
        let run = signer_isolated(args, &aws(&endpoint));
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        let said = run
            .stderr
            .strip_prefix("alert-relay-sign: cannot ")
            .unwrap_or_else(|| {
                panic!("{args:?}: {}", run.stderr);
            });
        // DisplayErrorContext: the SDK's error and its causes, down to the refused connection.
        assert!(said.contains(" in table t: dispatch failure"), "{said}");
        assert!(said.contains("onnection refused"), "{said}");
    }
    // The SDK's service-specific variable, read by aws-config as AWS_ENDPOINT_URL is.
    let mut env = aws(&endpoint);
    env[0].0 = "AWS_ENDPOINT_URL_DYNAMODB";
    let run = signer_isolated(&["silence", "list", "--table", "t"], &env);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("onnection refused"), "{}", run.stderr);
}
