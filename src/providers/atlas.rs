//! MongoDB Atlas alert webhooks: `X-MMS-Signature` is base64 HMAC-SHA1 of the body,
//! `X-MMS-Event` names what happened, and the body is the Admin API alert resource.

use http::HeaderMap;
use serde_json::{Map, Value};

use super::fields::{self, json};
use super::{SecretForm, SignedForm, Spec};
use crate::alert::{Alert, Severity, Status, parse_time};
use crate::signature::Scheme;

const SIGNATURE_HEADER: &str = "X-MMS-Signature";
const EVENT_HEADER: &str = "X-MMS-Event";

pub(super) const SPEC: Spec = Spec {
    slug: "atlas",
    name: "MongoDB Atlas",
    env_prefix: "ATLAS",
    signature_header: SIGNATURE_HEADER,
    signed_headers: &[],
    scheme: "base64 of HMAC-SHA1",
    tag: Scheme::SHA1_BASE64,
    secrets: SecretForm::TEXT,
    forms: &[SignedForm::Raw],
    event_header: Some(EVENT_HEADER),
    verify: None,
    sign: None,
    normalize,
};

fn status_from_event(event: &str) -> Option<Status> {
    Some(match event.trim() {
        "alert.open" => Status::Open,
        "alert.close" => Status::Resolved,
        "alert.update" => Status::Updated,
        "alert.acknowledge" => Status::Acknowledged,
        "alert.cancel" => Status::Cancelled,
        "alert.inform" => Status::Informational,
        _ => return None,
    })
}

fn status_from_body(status: &str) -> Option<Status> {
    Some(match status {
        "OPEN" | "TRACKING" => Status::Open,
        "CLOSED" => Status::Resolved,
        "CANCELLED" => Status::Cancelled,
        "INFORMATIONAL" => Status::Informational,
        _ => return None,
    })
}

fn normalize(body: &Map<String, Value>, headers: &HeaderMap) -> Alert {
    let header_status = headers
        .get(EVENT_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(status_from_event);
    // An event Atlas adds later, or no header: the body's own status, else "something changed".
    let status = header_status
        .or_else(|| fields::str(body, "status").and_then(status_from_body))
        .unwrap_or(Status::Updated);
    let severity = if status == Status::Informational {
        Severity::Info
    } else {
        Severity::Unknown
    };

    let human = fields::str(body, "humanReadable");
    let (project, organization) = human.map(project_and_organization).unwrap_or_default();
    let event_type = fields::str(body, "eventTypeName");
    let metric = fields::str(body, "metricName");
    let current = fields::object(body, "currentValue");

    let title = human
        .and_then(|h| {
            h.lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with("Project: "))
        })
        .map(str::to_owned)
        .or_else(|| {
            event_type.map(|e| match metric {
                Some(m) => format!("{e} ({m})"),
                None => e.to_owned(),
            })
        });

    let time_field = |key| fields::str(body, key).and_then(parse_time);
    let occurred_at = match status {
        Status::Resolved => time_field("resolved").or_else(|| time_field("updated")),
        Status::Open => time_field("created").or_else(|| time_field("updated")),
        _ => time_field("updated").or_else(|| time_field("created")),
    };

    let mut resource = Map::new();
    resource.insert("project".into(), json(project));
    resource.insert("organization".into(), json(organization));
    resource.insert("group_id".into(), json(fields::str(body, "groupId")));
    resource.insert("org_id".into(), json(fields::str(body, "orgId")));
    resource.insert(
        "alert_config_id".into(),
        json(fields::str(body, "alertConfigId")),
    );
    resource.insert("cluster".into(), json(fields::str(body, "clusterName")));
    resource.insert(
        "replica_set".into(),
        json(fields::str(body, "replicaSetName")),
    );
    resource.insert("host".into(), json(fields::str(body, "hostnameAndPort")));
    resource.insert("metric".into(), json(metric));
    resource.insert(
        "value".into(),
        current
            .and_then(|c| c.get("number"))
            .filter(|v| v.is_number())
            .cloned()
            .unwrap_or(Value::Null),
    );
    resource.insert(
        "units".into(),
        json(current.and_then(|c| fields::str(c, "units"))),
    );

    Alert {
        alert_id: fields::text(body, "id"),
        status,
        severity,
        event_type: event_type.map(str::to_owned),
        title,
        summary: human.map(str::to_owned),
        occurred_at,
        url: None,
        resource,
        ownership: Default::default(),
    }
}

/// Atlas writes "Project: <name> Organization: <name>" on a line of `humanReadable`.
fn project_and_organization(human: &str) -> (Option<&str>, Option<&str>) {
    let Some(line) = human
        .lines()
        .find_map(|l| l.trim().strip_prefix("Project: "))
    else {
        return (None, None);
    };
    let (project, organization) = match line.split_once(" Organization: ") {
        Some((p, o)) => (p, Some(o)),
        None => (line, None),
    };
    (clean(project), organization.and_then(clean))
}

fn clean(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const SEED: &str = include_str!("../../tests/data/seeds/atlas-disk-space-alert.json");

    fn run(body: &str, event: Option<&str>) -> Alert {
        let body: Map<String, Value> = serde_json::from_str(body).unwrap();
        let mut headers = HeaderMap::new();
        if let Some(event) = event {
            headers.insert(EVENT_HEADER, HeaderValue::from_str(event).unwrap());
        }
        normalize(&body, &headers)
    }

    #[test]
    fn normalizes_the_documented_disk_alert() {
        let alert = run(SEED, Some("alert.open"));
        assert_eq!(alert.alert_id.as_deref(), Some("5d1b6f8e8c2e4e2d3c4a5b6c"));
        assert_eq!(alert.status, Status::Open);
        assert_eq!(alert.severity, Severity::Unknown);
        assert_eq!(
            alert.event_type.as_deref(),
            Some("OUTSIDE_METRIC_THRESHOLD")
        );
        assert_eq!(
            alert.title.as_deref(),
            Some("Disk space used on data partition is 95.2%.")
        );
        assert_eq!(alert.occurred_at, parse_time("2024-01-15T10:30:00Z"));
        let r = &alert.resource;
        assert_eq!(r["project"], "MyProject");
        assert_eq!(r["organization"], "MyOrganization");
        assert_eq!(r["group_id"], "5d1b6f8e8c2e4e2d3c4a5b6d");
        assert_eq!(r["cluster"], Value::Null);
        assert_eq!(r["metric"], "DISK_PARTITION_SPACE_USED_DATA");
        assert_eq!(r["value"].to_string(), "95.2");
        assert_eq!(r["units"], "RAW");
    }

    #[test]
    fn maps_every_mms_event() {
        let cases = [
            ("alert.open", Status::Open, Severity::Unknown),
            ("alert.close", Status::Resolved, Severity::Unknown),
            ("alert.update", Status::Updated, Severity::Unknown),
            ("alert.acknowledge", Status::Acknowledged, Severity::Unknown),
            ("alert.cancel", Status::Cancelled, Severity::Unknown),
            ("alert.inform", Status::Informational, Severity::Info),
        ];
        for (event, status, severity) in cases {
            let alert = run(SEED, Some(event));
            assert_eq!(
                (alert.status, alert.severity),
                (status, severity),
                "{event}"
            );
        }
    }

    #[test]
    fn without_the_header_the_body_status_decides() {
        let cases = [
            ("OPEN", Status::Open),
            ("TRACKING", Status::Open),
            ("CLOSED", Status::Resolved),
            ("CANCELLED", Status::Cancelled),
            ("INFORMATIONAL", Status::Informational),
            ("SOMETHING_NEW", Status::Updated),
        ];
        for (status, expected) in cases {
            let alert = run(&format!(r#"{{"status":"{status}"}}"#), None);
            assert_eq!(alert.status, expected, "{status}");
        }
        assert_eq!(
            run(r#"{"status":"CLOSED"}"#, Some("alert.unheard-of")).status,
            Status::Resolved
        );
    }

    #[test]
    fn tolerates_an_org_level_alert_with_no_cluster_or_text() {
        let alert = run(
            r#"{"id":"o1","orgId":"org","eventTypeName":"USERS_WITHOUT_MULTI_FACTOR_AUTH","status":"OPEN"}"#,
            None,
        );
        assert_eq!(
            alert.title.as_deref(),
            Some("USERS_WITHOUT_MULTI_FACTOR_AUTH")
        );
        assert_eq!(alert.resource["org_id"], "org");
        assert_eq!(alert.resource["project"], Value::Null);
        assert_eq!(alert.resource["value"], Value::Null);
    }

    #[test]
    fn tolerates_an_empty_body_and_wrong_types() {
        let alert = run(
            r#"{"id": 7, "humanReadable": 3, "currentValue": "x", "created": "yesterday"}"#,
            None,
        );
        assert_eq!(alert.alert_id.as_deref(), Some("7"));
        assert_eq!(alert.title, None);
        assert_eq!(alert.occurred_at, None);
        let alert = run("{}", None);
        assert_eq!(alert.status, Status::Updated);
    }

    #[test]
    fn resolved_alerts_use_the_resolved_time() {
        let alert = run(
            r#"{"status":"CLOSED","created":"2024-01-01T00:00:00Z","resolved":"2024-01-02T00:00:00Z"}"#,
            Some("alert.close"),
        );
        assert_eq!(alert.occurred_at, parse_time("2024-01-02T00:00:00Z"));
    }
}
