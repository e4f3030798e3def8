//! Runs the built `alert-relay-sign` the way a user does, in a scratch directory of its own.
#![allow(dead_code)]

// The workspace's one guard on rewriting snapshots (UPDATE_SNAPSHOTS=1, never under CI=true).
#[path = "../../../tests/common/golden.rs"]
pub mod golden;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

pub const SIGNER: &str = env!("CARGO_BIN_EXE_alert-relay-sign");

/// Obviously fake secrets; "new" is the rotated one.
pub const OLD_SECRET: &str = "test-signer-secret-old";
pub const NEW_SECRET: &str = "test-signer-secret-new";

/// A sample body of `events/payloads/`: a provider's own in its directory
/// (`atlas/atlas-disk-space-alert.json`), or a shared one (`not-an-object.json`).
pub fn payload(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events/payloads")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The registry as `providers --json` prints it, in its order: each provider's slug and
/// signature header. Tests that need every provider, or every other one, read it here.
pub fn registry() -> Vec<(String, String)> {
    let run = signer(&["providers", "--json"], &[], b"");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let parsed: serde_json::Value = serde_json::from_str(&run.stdout).expect("providers --json");
    parsed
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|p| {
            (
                p["slug"].as_str().unwrap().to_owned(),
                p["signature_header"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A fresh directory under the target directory.
pub fn scratch(name: &str) -> PathBuf {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("signer-{}-{name}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().expect("exited"),
            stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
            stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
        }
    }

    /// The codes of the `diagnosis:` lines, in order.
    pub fn diagnoses(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter_map(|line| line.strip_prefix("diagnosis: "))
            .collect()
    }

    /// Standard output with its line wrapping undone, for phrases that may span two lines.
    pub fn text(&self) -> String {
        self.stdout.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    pub fn first_line(&self) -> &str {
        self.stdout.lines().next().unwrap_or_default()
    }
}

/// `alert-relay-sign ARGS` with the variables `env` set and `stdin` as standard input.
pub fn signer(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Run {
    let mut child = Command::new(SIGNER)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the signer runs");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    Run::from(child.wait_with_output().unwrap())
}

/// `alert-relay-sign ARGS` with only the variables `env`: no AWS profile, region or table of
/// the user's own reaches it.
pub fn signer_isolated(args: &[&str], env: &[(&str, &str)]) -> Run {
    let output = Command::new(SIGNER)
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("the signer runs");
    Run::from(output)
}

/// CPython's rendering of a JSON document: `python3 -c SCRIPT` with the document on stdin.
/// A test that calls it is behind the `oracles` feature, so that `cargo test` needs no Python:
/// `make oracles` runs it.
pub fn python(script: &str, input: &[u8]) -> Vec<u8> {
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is the reference and must be installed");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "python3 failed: {script}");
    output.stdout
}
