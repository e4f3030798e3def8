//! Monte Carlo data-observability alerts: `x-mcd-signature` is hex HMAC-SHA512, over the raw body
//! or over the form Monte Carlo documents, `urllib.parse.urlencode(json.loads(body))`.

use serde_json::{Map, Value};

use super::{
    InvalidCredential, Matched, Presented, Reader, SecretForm, SignError, SignedForm,
    SignedHeaders, Signing, Spec, fields, parse_object,
};
use crate::alert::{Alert, Ownership, Severity, Status};
use crate::secret::Secret;
use crate::signature::{Scheme, SignatureError};

const SIGNATURE_HEADER: &str = "x-mcd-signature";
const SCHEME: Scheme = Scheme::SHA512_HEX;

pub(super) const SPEC: Spec = Spec {
    slug: "monte-carlo",
    name: "Monte Carlo",
    env_prefix: "MONTE_CARLO",
    signature_header: SIGNATURE_HEADER,
    signed_headers: &[],
    scheme: "hex of HMAC-SHA512",
    tag: SCHEME,
    secrets: SecretForm::TEXT,
    forms: &[SignedForm::Raw, SignedForm::Documented],
    event_header: None,
    query_secrets: false,
    variables: &[],
    optional_timestamp: false,
    verify: Some(verify),
    sign: Some(sign),
    normalize: Reader::One(|body, _| normalize(body)),
};

/// The largest body whose documented form is tried: SNS's 256 KiB, the default `MAX_BODY_BYTES`.
/// Monte Carlo sends an incident, far smaller; a larger body is checked in the raw form only.
pub const DOCUMENTED_FORM_MAX_BYTES: usize = 256 * 1024;

/// The raw body, else the documented form, built straight from the body's bytes and MACed once
/// per secret, stopping at the first match. The body is parsed into a `Value` only once a
/// signature matched (by the normalizer), so a forgery costs one pass over at most 256 KiB
/// whatever its shape (BENCHMARKS.md, forged requests).
fn verify(presented: &Presented<'_>, secrets: &[Secret]) -> Result<Matched, InvalidCredential> {
    let tag = SCHEME.parse(presented.signature)?;
    if let Some(secret_index) = tag.match_any(secrets, presented.body) {
        return Ok(Matched {
            form: SignedForm::Raw,
            secret_index,
            parsed: None,
        });
    }
    // A forgery that cannot be a JSON object gets no more than the raw check above.
    if presented.body.len() > DOCUMENTED_FORM_MAX_BYTES || !could_be_object(presented.body) {
        return Err(SignatureError::Mismatch.into());
    }
    let form = crate::pyform::urlencode_json(presented.body).ok_or(SignatureError::Mismatch)?;
    let secret_index = tag
        .match_any(secrets, form.as_bytes())
        .ok_or(SignatureError::Mismatch)?;
    Ok(Matched {
        form: SignedForm::Documented,
        secret_index,
        parsed: None,
    })
}

/// Whether `body` may be a JSON object: `{` … `}` around JSON's whitespace.
fn could_be_object(body: &[u8]) -> bool {
    let json_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let first = body.iter().find(|b| !json_space(b));
    let last = body.iter().rev().find(|b| !json_space(b));
    first == Some(&b'{') && last == Some(&b'}')
}

fn sign(secret: &Secret, signing: &Signing<'_>) -> Result<SignedHeaders, SignError> {
    let message = match signing.form {
        SignedForm::Documented => crate::pyform::urlencode(&parse_object(signing.body)?),
        _ => return Ok(super::sign_raw(&SPEC, secret, signing)),
    };
    Ok(vec![(
        SIGNATURE_HEADER,
        SCHEME.sign(secret.expose(), message.as_bytes()),
    )])
}

fn status(body: &Map<String, Value>, payload: Option<&Map<String, Value>>) -> Status {
    let feedback = fields::str(body, "alert_feedback")
        .or_else(|| payload.and_then(|p| fields::str(p, "alert_feedback")));
    match feedback {
        Some("fixed" | "expected" | "no_action_needed" | "false_positive") => {
            return Status::Resolved;
        }
        Some("investigating" | "work_in_progress") => return Status::Acknowledged,
        _ => {}
    }
    match fields::str(body, "type") {
        Some(kind) if kind.starts_with("open_") => Status::Open,
        _ => Status::Updated,
    }
}

/// Monte Carlo's `declared_alert_severity`: `SEV-1` … `SEV-4`, also written `SEV_1`, `sev1`,
/// `SEV 1` or a bare `1`, in any case. Anything else, or an explicit `null` (no severity
/// declared), is `unknown`, so that the operator's rules decide.
fn severity(value: Option<&Value>) -> Severity {
    let level = match value {
        Some(Value::String(text)) => {
            let text = text.trim().to_ascii_uppercase();
            let level = text.strip_prefix("SEV").unwrap_or(&text);
            level.trim_start_matches(['-', '_', ' ']).parse::<u8>().ok()
        }
        Some(Value::Number(n)) => n.as_u64().and_then(|n| u8::try_from(n).ok()),
        _ => None,
    };
    match level {
        Some(1) => Severity::Critical,
        Some(2) => Severity::Error,
        Some(3) => Severity::Warning,
        Some(4) => Severity::Info,
        _ => Severity::Unknown,
    }
}

/// The tables an incident names, each once, in the payload's order: every event's `table_name`
/// and `full_table_id`, its rule's `full_table_id` (and its comparisons'), and any list of
/// `tables` or `full_table_ids`, in an event or in the payload.
fn tables<'a>(
    payload: Option<&'a Map<String, Value>>,
    events: &[&'a Map<String, Value>],
) -> Vec<&'a str> {
    fn named<'a>(object: &'a Map<String, Value>, found: &mut Vec<&'a str>) {
        found.extend(fields::str(object, "table_name"));
        found.extend(fields::str(object, "full_table_id"));
        found.extend(fields::strings(object, "tables"));
        found.extend(fields::strings(object, "table_names"));
        found.extend(fields::strings(object, "full_table_ids"));
    }
    let mut found = Vec::new();
    for event in events {
        named(event, &mut found);
        if let Some(rule) = fields::object(event, "rule") {
            named(rule, &mut found);
            let comparisons = rule.get("comparisons").and_then(Value::as_array);
            for comparison in comparisons.into_iter().flatten() {
                if let Some(comparison) = comparison.as_object() {
                    named(comparison, &mut found);
                }
            }
        }
    }
    if let Some(payload) = payload {
        named(payload, &mut found);
    }
    // In order, each once: linear, as a 256 KiB incident may name thousands of tables.
    let mut seen = std::collections::HashSet::new();
    found.retain(|table| seen.insert(*table));
    found
}

/// One line for an event of the list: "<table>: <what happened>", either part alone, or nothing.
fn describe(event: &Map<String, Value>) -> Option<String> {
    let table = fields::str(event, "table_name");
    let data = fields::object(event, "data");
    let what = fields::str(event, "event_details")
        .or_else(|| fields::object(event, "rule").and_then(|r| fields::str(r, "description")))
        .or_else(|| data.and_then(|d| fields::str(d, "metric_display_name")));
    match (table, what) {
        (Some(t), Some(w)) => Some(format!("{t}: {w}")),
        (Some(t), None) => Some(t.to_owned()),
        (None, Some(w)) => Some(w.to_owned()),
        (None, None) => None,
    }
}

fn normalize(body: &Map<String, Value>) -> Alert {
    let payload = fields::object(body, "payload");
    let from_either =
        |key| fields::str(body, key).or_else(|| payload.and_then(|p| fields::str(p, key)));
    let events: Vec<&Map<String, Value>> = payload
        .and_then(|p| p.get("event_list"))
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    let descriptions: Vec<String> = events.iter().filter_map(|e| describe(e)).collect();
    let kind = fields::str(body, "type");

    let title = match descriptions.as_slice() {
        [] => kind.map(fields::humanize),
        [one] => Some(one.clone()),
        [first, rest @ ..] => Some(format!("{first} (+{} more)", rest.len())),
    };
    let summary = (descriptions.len() > 1).then(|| descriptions.join("; "));

    let tables = tables(payload, &events);
    let group = payload.and_then(|p| fields::str(p, "group_id"));
    // A key at the top level is the update's own word, even `null` (no severity declared).
    let declared = body
        .get("declared_alert_severity")
        .or_else(|| payload.and_then(|p| p.get("declared_alert_severity")));
    let mut resource = Map::new();
    resource.insert(
        "account_id".into(),
        fields::json(fields::object(body, "account").and_then(|a| fields::str(a, "id"))),
    );
    resource.insert("group_id".into(), fields::json(group));
    resource.insert("action".into(), fields::json(fields::str(body, "action")));
    resource.insert("owner".into(), fields::json(from_either("owner")));
    resource.insert("tables".into(), tables.clone().into());
    resource.insert("event_count".into(), Value::from(events.len()));

    Alert {
        alert_id: payload.and_then(|p| fields::text(p, "incident_id")),
        status: status(body, payload),
        severity: severity(declared),
        event_type: kind.map(str::to_owned),
        title,
        summary,
        occurred_at: None,
        updated_at: None,
        url: payload
            .and_then(|p| fields::str(p, "url"))
            .map(str::to_owned),
        resource,
        ownership: Ownership {
            group: group.map(str::to_owned),
            tables: tables.into_iter().map(str::to_owned).collect(),
            ..Ownership::default()
        },
        status_conflict: None,
        labels: Default::default(),
        annotations: Default::default(),
        source: None,
        group: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE_BREACH: &str = include_str!("../../tests/data/seeds/monte-carlo-rule-breach.json");
    const VOLUME: &str = include_str!("../../tests/data/seeds/monte-carlo-volume-anomaly.json");

    fn run(body: &str) -> Alert {
        normalize(&serde_json::from_str(body).unwrap())
    }

    fn with(seed: &str, extra: &[(&str, &str)]) -> Alert {
        let mut body: Map<String, Value> = serde_json::from_str(seed).unwrap();
        for (k, v) in extra {
            body.insert((*k).into(), Value::String((*v).into()));
        }
        normalize(&body)
    }

    #[test]
    fn only_a_body_that_could_be_an_object_is_parsed_for_the_documented_form() {
        for body in [&b"{}"[..], b" {\"a\": 1}\n", b"\t{ } "] {
            assert!(could_be_object(body), "{body:?}");
        }
        for body in [
            &b""[..],
            b"[]",
            b"xxxx",
            b"{\"a\": 1",
            b"\"{}\"",
            b"{} x",
            b"\x0c{}",
        ] {
            assert!(!could_be_object(body), "{body:?}");
        }
        // Refused as a mismatch either way: the answer does not say which check refused it.
        let secrets = [Secret::new("s".to_owned())];
        let signature = SCHEME.sign(b"other", b"not json");
        let presented = Presented {
            signature: &signature,
            signed_headers: &[],
            body: b"not json",
            received_at: 0,
            require_timestamp: false,
        };
        assert!(matches!(
            verify(&presented, &secrets),
            Err(InvalidCredential::Signature(SignatureError::Mismatch))
        ));
    }

    #[test]
    fn normalizes_the_volume_anomaly_example() {
        let alert = run(VOLUME);
        assert_eq!(
            alert.alert_id.as_deref(),
            Some("f83867b6-8f25-428b-807c-08518f63384c")
        );
        assert_eq!(alert.status, Status::Open);
        assert_eq!(alert.severity, Severity::Unknown);
        assert_eq!(alert.event_type.as_deref(), Some("open_anomaly_incident"));
        assert_eq!(
            alert.title.as_deref(),
            Some("artemis: Has 42 rows vs. 101 expected")
        );
        assert_eq!(
            alert.url.as_deref(),
            Some("https://getmontecarlo.com/incidents/f83867b6-8f25-428b-807c-08518f63384c")
        );
        assert_eq!(alert.resource["group_id"], "zeus:ares");
        assert_eq!(
            alert.resource["account_id"],
            "9a59c6f1-203a-4c72-8cd7-132db7f21b92"
        );
        assert_eq!(alert.resource["tables"], serde_json::json!(["artemis"]));
    }

    #[test]
    fn normalizes_the_rule_breach_example() {
        let alert = run(RULE_BREACH);
        assert_eq!(alert.status, Status::Open);
        assert_eq!(
            alert.event_type.as_deref(),
            Some("open_custom_rule_anomaly_incident")
        );
        assert_eq!(alert.title.as_deref(), Some("test rule"));
        assert_eq!(alert.resource["group_id"], Value::Null);
    }

    #[test]
    fn maps_every_feedback_value() {
        let cases = [
            ("fixed", Status::Resolved),
            ("expected", Status::Resolved),
            ("no_action_needed", Status::Resolved),
            ("false_positive", Status::Resolved),
            ("investigating", Status::Acknowledged),
            ("work_in_progress", Status::Acknowledged),
            ("no_status", Status::Open),
        ];
        for (feedback, expected) in cases {
            assert_eq!(
                with(VOLUME, &[("alert_feedback", feedback)]).status,
                expected,
                "{feedback}"
            );
        }
        let update = with(
            VOLUME,
            &[
                ("type", "incident_status_updated"),
                ("alert_feedback", "no_status"),
            ],
        );
        assert_eq!(update.status, Status::Updated);
        let nested = run(r#"{"type":"x","payload":{"alert_feedback":"fixed"}}"#);
        assert_eq!(nested.status, Status::Resolved);
    }

    #[test]
    fn maps_every_declared_severity() {
        let cases = [
            ("SEV-1", Severity::Critical),
            ("SEV-2", Severity::Error),
            ("SEV-3", Severity::Warning),
            ("SEV-4", Severity::Info),
            ("sev-1", Severity::Critical),
            ("SEV_1", Severity::Critical),
            ("sev1", Severity::Critical),
            ("SEV 2", Severity::Error),
            ("Sev-3", Severity::Warning),
            ("4", Severity::Info),
            (" SEV-4 ", Severity::Info),
            ("SEV-9", Severity::Unknown),
            ("SEV-", Severity::Unknown),
            ("SEVERE", Severity::Unknown),
            ("", Severity::Unknown),
        ];
        for (declared, expected) in cases {
            assert_eq!(
                with(VOLUME, &[("declared_alert_severity", declared)]).severity,
                expected,
                "{declared}"
            );
        }
        let nested = run(r#"{"payload":{"declared_alert_severity":"SEV-2","owner":"ana"}}"#);
        assert_eq!(nested.severity, Severity::Error);
        assert_eq!(nested.resource["owner"], "ana");
    }

    #[test]
    fn an_explicit_null_or_a_number_severity() {
        let null = run(
            r#"{"declared_alert_severity":null,"payload":{"declared_alert_severity":"SEV-1"}}"#,
        );
        assert_eq!(null.severity, Severity::Unknown);
        assert_eq!(
            run(r#"{"payload":{"declared_alert_severity":null}}"#).severity,
            Severity::Unknown
        );
        assert_eq!(
            run(r#"{"declared_alert_severity":2}"#).severity,
            Severity::Error
        );
        assert_eq!(
            run(r#"{"declared_alert_severity":{"level":1}}"#).severity,
            Severity::Unknown
        );
    }

    #[test]
    fn ownership_is_the_group_and_the_tables() {
        let alert = run(VOLUME);
        assert_eq!(alert.ownership.group.as_deref(), Some("zeus:ares"));
        assert_eq!(alert.ownership.tables, ["artemis"]);
        assert_eq!(alert.ownership.project, None);
        let rule = run(RULE_BREACH);
        assert_eq!(rule.ownership, Ownership::default());
        assert_eq!(rule.resource["tables"], serde_json::json!([]));
    }

    #[test]
    fn tables_come_from_every_place_once_in_order() {
        let alert = run(
            r#"{"payload":{"group_id":"g","tables":["db:s.t3","db:s.t1"],"event_list":[
                {"table_name":"t1","rule":{"full_table_id":"db:s.t1","comparisons":[{"full_table_id":"db:s.t2"},{"full_table_id":null}]}},
                {"table_name":"t1","full_table_id":"db:s.t1"},
                {"tables":["t4"," ",""]}
            ]}}"#,
        );
        let expected = ["t1", "db:s.t1", "db:s.t2", "t4", "db:s.t3"];
        assert_eq!(alert.ownership.tables, expected);
        assert_eq!(alert.resource["tables"], serde_json::json!(expected));
        assert_eq!(alert.ownership.group.as_deref(), Some("g"));
    }

    #[test]
    fn titles_from_the_type_when_there_are_no_events() {
        let alert = run(r#"{"type":"open_freshness_anomaly_incident"}"#);
        assert_eq!(
            alert.title.as_deref(),
            Some("Open freshness anomaly incident")
        );
        assert_eq!(run("{}").title, None);
    }

    #[test]
    fn summarizes_several_events() {
        let alert = run(
            r#"{"payload":{"event_list":[{"table_name":"a","event_details":"x"},{"table_name":"b"},3]}}"#,
        );
        assert_eq!(alert.title.as_deref(), Some("a: x (+1 more)"));
        assert_eq!(alert.summary.as_deref(), Some("a: x; b"));
        assert_eq!(alert.resource["event_count"], 2);
    }
}
