//! The command line's interface, snapshotted: any change to an option, a value or a help text
//! shows up in review as a change to `tests/snapshots/help.txt`.
//! `UPDATE_SNAPSHOTS=1 cargo test -p alert-relay-sign --test help` rewrites the snapshot.

mod common;

use std::path::Path;

use common::*;

const COMMANDS: [&[&str]; 13] = [
    &["--version"],
    &["--help"],
    &["sign", "--help"],
    &["verify", "--help"],
    &["send", "--help"],
    &["completions", "--help"],
    &["providers", "--help"],
    &["silence", "--help"],
    &["silence", "add", "--help"],
    &["silence", "list", "--help"],
    &["silence", "expire", "--help"],
    &["providers"],
    &["sign", "-h"],
];

fn current() -> String {
    let mut text = String::new();
    for args in COMMANDS {
        let run = signer(args, &[], b"");
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        text.push_str(&format!(
            "$ alert-relay-sign {}\n{}\n",
            args.join(" "),
            run.stdout
        ));
    }
    text
}

#[test]
fn help_matches_the_snapshot() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/help.txt");
    let current = current();
    if golden::rewrite_requested("UPDATE_SNAPSHOTS") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &current).unwrap();
        return;
    }
    let snapshot = std::fs::read_to_string(&path).unwrap_or_default();
    if snapshot != current {
        let first = snapshot
            .lines()
            .zip(current.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(snapshot.lines().count().min(current.lines().count()));
        panic!(
            "the CLI's help differs from {} from line {}:\n  snapshot: {:?}\n  now:      {:?}\n\
             If the change is intended: UPDATE_SNAPSHOTS=1 cargo test -p alert-relay-sign --test help",
            path.display(),
            first + 1,
            snapshot.lines().nth(first),
            current.lines().nth(first),
        );
    }
}

#[test]
fn misspelled_option_gets_a_suggestion_and_exit_2() {
    let run = signer(&["sign", "--provder", "atlas"], &[], b"");
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("tip: a similar argument exists: '--provider'"),
        "{}",
        run.stderr
    );
    let run = signer(&["veryfi"], &[], b"");
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("'verify'"), "{}", run.stderr);
}

#[test]
fn completions_are_scripts_the_shells_accept() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let run = signer(&["completions", shell], &[], b"");
        assert_eq!(run.code, 0, "{shell}");
        for word in ["alert-relay-sign", "verify", "completions", "--secret-env"] {
            assert!(run.stdout.contains(word), "{shell}: {word}");
        }
        if matches!(shell, "bash" | "zsh" | "fish") {
            assert!(
                run.stdout.contains("monte-carlo"),
                "{shell} completes the values"
            );
        }
    }
    let bash = signer(&["completions", "bash"], &[], b"").stdout;
    let checked = std::process::Command::new("bash")
        .args(["-n", "-c", &bash])
        .status()
        .expect("bash runs");
    assert!(checked.success(), "bash -n refuses the script");
}

#[test]
fn the_old_command_line_still_signs() {
    let dir = scratch("legacy");
    let body = dir.join("body.json");
    std::fs::write(&body, payload("app-services/app-services-message.json")).unwrap();
    let body = body.display().to_string();
    let args = [
        "--provider",
        "app-services",
        "--secret",
        "12345",
        "--body",
        body.as_str(),
    ];
    let old = signer(&args, &[], b"");
    let new = signer(&[&["sign"][..], &args].concat(), &[], b"");
    assert_eq!(old.code, 0, "{}", old.stderr);
    assert_eq!(old.stdout, new.stdout);
    assert!(
        old.stderr.contains("write `alert-relay-sign sign …`"),
        "{}",
        old.stderr
    );
    assert!(new.stderr.is_empty());
}
