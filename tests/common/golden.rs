//! The one guard on rewriting checked-in expectations (tests/golden, tests/data/realworld-snapshot.json,
//! signer/tests/snapshots): only `VAR=1` rewrites them, and never under `CI=true`, where a rewrite
//! would make the run compare the output with itself. Std only: signer/tests includes it by path.
#![allow(dead_code)]

use std::ffi::OsStr;

/// Whether `var` (`UPDATE_GOLDEN`, `UPDATE_SNAPSHOTS`) asks this run to rewrite the files. Panics,
/// naming `var`, when CI=true and `var` is set at all.
pub fn rewrite_requested(var: &str) -> bool {
    match decide(
        var,
        std::env::var_os(var).as_deref(),
        std::env::var_os("CI").as_deref(),
    ) {
        Ok(rewrite) => rewrite,
        Err(why) => panic!("{why}"),
    }
}

/// The rule, on the variables' values: `1` rewrites, anything else (`0`, `true`, empty) compares;
/// under `CI=true` a set `var` is an error that names it.
pub fn decide(var: &str, value: Option<&OsStr>, ci: Option<&OsStr>) -> Result<bool, String> {
    if ci == Some(OsStr::new("true")) {
        if let Some(value) = value {
            return Err(format!(
                "{var}={} is set under CI=true: CI compares with the checked-in files and never \
                 rewrites them (unset {var}, or rewrite them locally with {var}=1 and commit)",
                value.to_string_lossy()
            ));
        }
        return Ok(false);
    }
    Ok(value == Some(OsStr::new("1")))
}
