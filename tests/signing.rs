//! Signing without an oracle: App Services' published vector, and which providers have a documented
//! form. (`signature_differential.rs`, in the slow tier, checks every scheme against CPython.)

use alert_relay::providers::{Provider, SignedForm};

#[test]
fn app_services_published_vector() {
    let ours = Provider::AppServices
        .sign_body(b"12345", br#"{"message":"MESSAGE"}"#, SignedForm::Raw)
        .unwrap();
    assert_eq!(
        ours,
        [(
            "X-Hook-Signature",
            "sha256=828ee180512eaf8a6229eda7eea72323f68e9c0f0093b11a578b0544c5777862".to_owned()
        )]
    );
}

#[test]
fn only_monte_carlo_has_a_documented_form() {
    assert!(
        Provider::Atlas
            .sign_body(b"k", b"{}", SignedForm::Documented)
            .is_err()
    );
    assert!(
        Provider::AppServices
            .sign_body(b"k", b"{}", SignedForm::Documented)
            .is_err()
    );
    assert!(
        Provider::MonteCarlo
            .sign_body(b"k", b"[1]", SignedForm::Documented)
            .is_err()
    );
}
