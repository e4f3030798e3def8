//! Hostile input through the whole handler: each case gets the contract's status and error code, nothing
//! unauthenticated or malformed is published, and nothing panics.

mod common;

use common::hostile;
use common::*;

#[tokio::test]
async fn hostile_inputs_get_the_contract_status_and_publish_nothing_wrong() {
    let cases = hostile::cases();
    assert!(cases.len() > 140, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let recording = Recording::default();
        let relay = quiet(hostile::config(), recording.clone());
        let (status, body) = send(&relay, &case.event).await;
        let published = recording.messages().len();
        let expected_published = match case.status {
            200 => case.alerts,
            _ => 0,
        };
        let error = body["error"].as_str();
        if status != case.status || error != case.error || published != expected_published {
            failures.push(format!(
                "{}: got {status} {body}, published {published}; expected {} {:?}",
                case.name, case.status, case.error
            ));
        }
        if status == 200 && body["events"].is_null() {
            assert_eq!(body["message_id"], "msg-1", "{}", case.name);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
