//! The guard every golden and snapshot rewrite goes through (tests/common/golden.rs): only
//! `UPDATE_GOLDEN=1` / `UPDATE_SNAPSHOTS=1` rewrites, and under `CI=true` a set variable fails
//! the run, naming it.

#[path = "common/golden.rs"]
mod golden;

use std::ffi::OsStr;

use golden::decide;

fn os(value: &str) -> Option<&OsStr> {
    Some(OsStr::new(value))
}

#[test]
fn only_the_value_1_rewrites() {
    assert_eq!(decide("UPDATE_GOLDEN", os("1"), None), Ok(true));
    assert_eq!(decide("UPDATE_GOLDEN", os("1"), os("false")), Ok(true));
    for value in ["0", "", "true", "yes", "01", " 1"] {
        assert_eq!(
            decide("UPDATE_GOLDEN", os(value), None),
            Ok(false),
            "{value:?}"
        );
    }
    assert_eq!(decide("UPDATE_GOLDEN", None, None), Ok(false));
}

#[test]
fn under_ci_a_set_variable_fails_and_is_named() {
    for value in ["1", "0", ""] {
        let error = decide("UPDATE_SNAPSHOTS", os(value), os("true")).unwrap_err();
        assert!(error.contains("UPDATE_SNAPSHOTS"), "{error}");
        assert!(error.contains("CI=true"), "{error}");
    }
    assert_eq!(decide("UPDATE_SNAPSHOTS", None, os("true")), Ok(false));
}
