//! MongoDB Atlas alert webhooks: `X-MMS-Signature` is base64 HMAC-SHA1 of the body,
//! `X-MMS-Event` names what happened, and the body is the Admin API alert resource.

use http::HeaderMap;
use serde_json::{Map, Value};

use super::fields::{self, json};
use super::{Reader, SecretForm, SignedForm, Spec};
use crate::alert::{Alert, Ownership, Severity, Status, StatusConflict, parse_time};
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
    query_secrets: false,
    variables: &[],
    optional_timestamp: false,
    verify: None,
    sign: None,
    normalize: Reader::One(normalize),
};

/// What `X-MMS-Event` says: its value as written, and the status it means.
fn header_event(event: &str) -> Option<(&'static str, Status)> {
    Some(match event.trim() {
        "alert.open" => ("alert.open", Status::Open),
        "alert.close" => ("alert.close", Status::Resolved),
        "alert.update" => ("alert.update", Status::Updated),
        "alert.acknowledge" => ("alert.acknowledge", Status::Acknowledged),
        "alert.cancel" => ("alert.cancel", Status::Cancelled),
        "alert.inform" => ("alert.inform", Status::Informational),
        _ => return None,
    })
}

/// What the body's `status` says: the word, and the status it means.
fn body_status(status: &str) -> Option<(&'static str, Status)> {
    Some(match status.to_ascii_uppercase().as_str() {
        "OPEN" => ("OPEN", Status::Open),
        "TRACKING" => ("TRACKING", Status::Open),
        "CLOSED" => ("CLOSED", Status::Resolved),
        "CANCELLED" => ("CANCELLED", Status::Cancelled),
        "INFORMATIONAL" => ("INFORMATIONAL", Status::Informational),
        _ => return None,
    })
}

/// Whether a header event can describe an alert whose body says `body`. An alert that is still
/// open (`OPEN`, or `TRACKING` before its notification delay) is opened or updated, and
/// acknowledged only when the body carries the acknowledgement (Atlas keeps an acknowledged alert
/// `OPEN`, with `acknowledgedUntil` and `acknowledgingUsername`): a replayed open alert cannot be
/// passed off as acknowledged. An informational event (a primary elected, a user joined the
/// project) is sent once and never closed, and the alert status Atlas's API knows has no
/// informational value, so its body may say `OPEN` or `TRACKING`. The other events each have
/// their own status.
fn agrees(header: &str, body: &str, acknowledged: bool) -> bool {
    matches!(
        (header, body),
        ("alert.open" | "alert.update", "OPEN" | "TRACKING")
            | ("alert.close", "CLOSED")
            | ("alert.cancel", "CANCELLED")
            | ("alert.inform", "OPEN" | "TRACKING" | "INFORMATIONAL")
    ) || (header == "alert.acknowledge" && matches!(body, "OPEN" | "TRACKING") && acknowledged)
}

/// Atlas signs the body but not `X-MMS-Event`. A header that agrees with the body's status keeps
/// its finer word (acknowledged, updated); one that contradicts it loses to the body, and the
/// conflict is reported; either alone decides; neither: "something changed".
fn status(
    header: Option<&str>,
    body: Option<&str>,
    acknowledged: bool,
) -> (Status, Option<StatusConflict>) {
    match (header.and_then(header_event), body.and_then(body_status)) {
        (Some((said, status)), Some((is, _))) if agrees(said, is, acknowledged) => (status, None),
        (Some((said, _)), Some((is, status))) => (
            status,
            Some(StatusConflict {
                header: said,
                body: match (said, is) {
                    ("alert.acknowledge", "OPEN") => "OPEN with no acknowledgement",
                    ("alert.acknowledge", "TRACKING") => "TRACKING with no acknowledgement",
                    _ => is,
                },
            }),
        ),
        (Some((_, status)), None) | (None, Some((_, status))) => (status, None),
        (None, None) => (Status::Updated, None),
    }
}

/// `CRITICAL`, `error`, `Warning`, … in any case; anything else says nothing.
fn severity_word(word: &str) -> Option<Severity> {
    Severity::from_name_any_case(word.trim())
}

/// Atlas sends no severity of its own, but a templated body may carry one: its `severity`, else
/// its `severityOverride` (the alert configuration's field), is the provider's severity. No
/// header is read: Atlas signs only the body and cannot add headers to its webhook, so a header
/// (such as `X-Severity`) could only have been added by whoever replays a captured body.
fn stated_severity(body: &Map<String, Value>) -> Option<Severity> {
    fields::str(body, "severity")
        .and_then(severity_word)
        .or_else(|| fields::str(body, "severityOverride").and_then(severity_word))
}

/// A link to the alerts page in the Atlas console, built only from 24-hex ObjectIds. No MongoDB
/// doc page spells this link out; MongoDB's own navigation (mongodb/leafygreen-ui,
/// `packages/mongo-nav/src/MongoNav.tsx`) links a project's alerts as `v2/<projectId>#alerts`
/// and org pages as `v2#/org/<orgId>/…`, and console links in the wild use `#clusters` and
/// `#/clusters` for the same page, so `#/alerts` is the project's alerts page.
fn console_url(group_id: Option<&str>, org_id: Option<&str>) -> Option<String> {
    if let Some(group) = group_id.filter(|id| fields::is_object_id(id)) {
        return Some(format!("https://cloud.mongodb.com/v2/{group}#/alerts"));
    }
    org_id
        .filter(|id| fields::is_object_id(id))
        .map(|org| format!("https://cloud.mongodb.com/v2#/org/{org}/alerts"))
}

/// `95.2`, `5.14`, `100`: a measurement for a title, at most two decimals.
fn measurement(number: &serde_json::Number, units: Option<&str>) -> String {
    let value = match number.as_f64() {
        Some(f) if f.is_finite() => {
            let rounded = format!("{f:.2}");
            rounded
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_owned()
        }
        _ => number.to_string(),
    };
    match units.filter(|u| !u.eq_ignore_ascii_case("RAW")) {
        Some(units) => format!("{value} {units}"),
        None => value,
    }
}

/// The event types of the OpenAPI specification's replica set alert view
/// (`ReplicaSetEventTypeViewForNdsGroupAlertable`).
const REPLICA_SET_EVENTS: &[&str] = &[
    "REPLICATION_OPLOG_WINDOW_RUNNING_OUT",
    "NO_PRIMARY",
    "PRIMARY_ELECTED",
    "TOO_MANY_ELECTIONS",
    "TOO_FEW_HEALTHY_MEMBERS",
    "TOO_MANY_UNHEALTHY_MEMBERS",
];

/// The title of an alert without `humanReadable` (as the Admin API returns it): the humanized
/// event type, then what was measured and on what, e.g. "Host down: host:27017" or "Outside
/// metric threshold: CONNECTIONS 100 on host:27017".
fn built_title(body: &Map<String, Value>) -> Option<String> {
    let measured = fields::str(body, "metricName").map(|metric| {
        let current = fields::object(body, "currentValue");
        match current
            .and_then(|c| c.get("number"))
            .and_then(Value::as_number)
        {
            Some(number) => format!(
                "{metric} {}",
                measurement(number, current.and_then(|c| fields::str(c, "units")))
            ),
            None => metric.to_owned(),
        }
    });
    let processor =
        fields::str(body, "processorName").map(|p| match fields::str(body, "instanceName") {
            Some(instance) => format!("stream processor {p} in {instance}"),
            None => format!("stream processor {p}"),
        });
    let replica_set = fields::str(body, "replicaSetName").map(|r| format!("replica set {r}"));
    let host = fields::str(body, "hostnameAndPort").map(str::to_owned);
    // A replica set's own events are about the set, even when they name the host that saw them.
    let event_type = fields::str(body, "eventTypeName");
    let (first, second) = match event_type {
        Some(e) if REPLICA_SET_EVENTS.contains(&e) => (replica_set, host),
        _ => (host, replica_set),
    };
    let target = first
        .or(processor)
        .or(second)
        .or_else(|| fields::str(body, "clusterName").map(|c| format!("cluster {c}")));
    let detail = match (measured, target) {
        (Some(m), Some(t)) => Some(format!("{m} on {t}")),
        (m, t) => m.or(t),
    };
    let what = event_type.map(fields::humanize).filter(|w| !w.is_empty());
    match (what, detail) {
        (Some(what), Some(detail)) => Some(format!("{what}: {detail}")),
        (Some(what), None) => Some(what),
        (None, Some(detail)) => Some(format!("Alert: {detail}")),
        (None, None) => None,
    }
}

fn normalize(body: &Map<String, Value>, headers: &HeaderMap) -> Alert {
    let header = headers.get(EVENT_HEADER).and_then(|v| v.to_str().ok());
    let acknowledged = ["acknowledgingUsername", "acknowledgedUntil"]
        .iter()
        .any(|key| fields::str(body, key).is_some());
    let (status, status_conflict) = status(header, fields::str(body, "status"), acknowledged);
    let severity = match stated_severity(body) {
        Some(severity) => severity,
        None if status == Status::Informational => Severity::Info,
        None => Severity::Unknown,
    };

    let human = fields::str(body, "humanReadable");
    let (named_project, named_organization) =
        human.map(project_and_organization).unwrap_or_default();
    // A templated body may name them outright.
    let project = fields::first_str(body, &["projectName", "groupName"]).or(named_project);
    let organization =
        fields::first_str(body, &["orgName", "organizationName"]).or(named_organization);
    let group_id = fields::str(body, "groupId");
    let org_id = fields::str(body, "orgId");
    let cluster = fields::str(body, "clusterName");
    let current = fields::object(body, "currentValue");

    let title = human
        .and_then(|h| {
            h.lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with("Project: "))
        })
        .map(str::to_owned)
        .or_else(|| built_title(body));

    let time_field = |key| fields::str(body, key).and_then(parse_time);
    let occurred_at = match status {
        Status::Resolved => time_field("resolved").or_else(|| time_field("updated")),
        Status::Open => time_field("created").or_else(|| time_field("updated")),
        _ => time_field("updated").or_else(|| time_field("created")),
    };

    // These keys are always there (`null` when the body lacks them): `group_id` and
    // `alert_config_id` are what the alert-configuration lookup reads.
    let mut resource = Map::new();
    resource.insert("project".into(), json(project));
    resource.insert("organization".into(), json(organization));
    resource.insert("group_id".into(), json(group_id));
    resource.insert("org_id".into(), json(org_id));
    resource.insert(
        "alert_config_id".into(),
        json(fields::str(body, "alertConfigId")),
    );
    resource.insert("cluster".into(), json(cluster));
    resource.insert(
        "replica_set".into(),
        json(fields::str(body, "replicaSetName")),
    );
    resource.insert("host".into(), json(fields::str(body, "hostnameAndPort")));
    resource.insert("metric".into(), json(fields::str(body, "metricName")));
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
    // These only when the alert's kind carries them (hosts, sharded clusters, stream
    // processors, App Services, acknowledged alerts).
    for (field, key) in [
        ("hostId", "host_id"),
        ("clusterId", "cluster_id"),
        ("parentClusterId", "parent_cluster_id"),
        ("instanceName", "instance_name"),
        ("processorName", "processor_name"),
        ("processorState", "processor_state"),
        ("processorErrorMsg", "processor_error_msg"),
        ("appId", "app_id"),
        ("appName", "app_name"),
        ("acknowledgingUsername", "acknowledging_username"),
        ("acknowledgementComment", "acknowledgement_comment"),
        ("acknowledgedUntil", "acknowledged_until"),
    ] {
        if let Some(value) = fields::str(body, field) {
            resource.insert(key.into(), value.into());
        }
    }
    let non_running = fields::strings(body, "nonRunningHostIds");
    if !non_running.is_empty() {
        resource.insert("non_running_host_ids".into(), non_running.into());
    }

    Alert {
        alert_id: fields::text(body, "id"),
        status,
        severity,
        event_type: fields::str(body, "eventTypeName").map(str::to_owned),
        title,
        summary: human.map(str::to_owned),
        occurred_at,
        updated_at: time_field("updated"),
        url: console_url(group_id, org_id),
        resource,
        ownership: Ownership {
            project: project.or(group_id).map(str::to_owned),
            cluster: cluster.map(str::to_owned),
            ..Ownership::default()
        },
        status_conflict,
        labels: Default::default(),
        annotations: Default::default(),
        source: None,
        group: None,
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

    fn with_headers(body: &str, headers: &[(&'static str, &str)]) -> Alert {
        let body: Map<String, Value> = serde_json::from_str(body).unwrap();
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        normalize(&body, &map)
    }

    fn run(body: &str, event: Option<&str>) -> Alert {
        match event {
            Some(event) => with_headers(body, &[(EVENT_HEADER, event)]),
            None => with_headers(body, &[]),
        }
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
        assert_eq!(
            alert.url.as_deref(),
            Some("https://cloud.mongodb.com/v2/5d1b6f8e8c2e4e2d3c4a5b6d#/alerts")
        );
        let r = &alert.resource;
        assert_eq!(r["project"], "MyProject");
        assert_eq!(r["organization"], "MyOrganization");
        assert_eq!(r["group_id"], "5d1b6f8e8c2e4e2d3c4a5b6d");
        assert_eq!(r["cluster"], Value::Null);
        assert_eq!(r["metric"], "DISK_PARTITION_SPACE_USED_DATA");
        assert_eq!(r["value"].to_string(), "95.2");
        assert_eq!(r["units"], "RAW");
        assert_eq!(alert.ownership.project.as_deref(), Some("MyProject"));
        assert_eq!(alert.ownership.cluster, None);
        assert_eq!(alert.status_conflict, None);
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
            let alert = run("{}", Some(event));
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
            assert_eq!(alert.status_conflict, None, "{status}");
        }
        assert_eq!(
            run(r#"{"status":"CLOSED"}"#, Some("alert.unheard-of")).status,
            Status::Resolved
        );
    }

    /// Every header against every body status: a header that agrees keeps its own (finer)
    /// status; one that contradicts the signed body loses to it, and says so.
    #[test]
    fn the_signed_body_status_wins_over_a_contradicting_header() {
        use Status::*;
        let headers = [
            "alert.open",
            "alert.update",
            "alert.acknowledge",
            "alert.close",
            "alert.cancel",
            "alert.inform",
        ];
        let bodies = ["OPEN", "TRACKING", "CLOSED", "CANCELLED", "INFORMATIONAL"];
        // (header, body) → status; `true` when the two agree.
        let table: [[(Status, bool); 5]; 6] = [
            // OPEN, TRACKING, CLOSED, CANCELLED, INFORMATIONAL
            [
                (Open, true),
                (Open, true),
                (Resolved, false),
                (Cancelled, false),
                (Informational, false),
            ],
            [
                (Updated, true),
                (Updated, true),
                (Resolved, false),
                (Cancelled, false),
                (Informational, false),
            ],
            // no acknowledgement in these bodies: see the test below for one that has it
            [
                (Open, false),
                (Open, false),
                (Resolved, false),
                (Cancelled, false),
                (Informational, false),
            ],
            [
                (Open, false),
                (Open, false),
                (Resolved, true),
                (Cancelled, false),
                (Informational, false),
            ],
            [
                (Open, false),
                (Open, false),
                (Resolved, false),
                (Cancelled, true),
                (Informational, false),
            ],
            // an informational event's body may say OPEN or TRACKING: it is never closed
            [
                (Informational, true),
                (Informational, true),
                (Resolved, false),
                (Cancelled, false),
                (Informational, true),
            ],
        ];
        for (header, row) in headers.iter().zip(table) {
            for (body, (expected, agrees)) in bodies.iter().zip(row) {
                let alert = run(&format!(r#"{{"status":"{body}"}}"#), Some(header));
                assert_eq!(alert.status, expected, "{header} + {body}");
                let noted = match (*header, *body) {
                    ("alert.acknowledge", "OPEN") => "OPEN with no acknowledgement",
                    ("alert.acknowledge", "TRACKING") => "TRACKING with no acknowledgement",
                    _ => body,
                };
                let conflict = (!agrees).then_some(StatusConflict {
                    header,
                    body: noted,
                });
                assert_eq!(alert.status_conflict, conflict, "{header} + {body}");
            }
        }
    }

    #[test]
    fn an_acknowledged_alert_is_open_in_its_body() {
        let body = r#"{"status":"OPEN","acknowledgedUntil":"2016-10-01T04:00:00Z",
            "acknowledgementComment":"This is normal.","acknowledgingUsername":"someuser@example.com"}"#;
        let alert = run(body, Some("alert.acknowledge"));
        assert_eq!(alert.status, Status::Acknowledged);
        assert_eq!(alert.status_conflict, None);
        let r = &alert.resource;
        assert_eq!(r["acknowledging_username"], "someuser@example.com");
        assert_eq!(r["acknowledgement_comment"], "This is normal.");
        assert_eq!(r["acknowledged_until"], "2016-10-01T04:00:00Z");
    }

    /// Atlas's informational events (PRIMARY_ELECTED, JOINED_GROUP, compute auto-scaling,
    /// maintenance started) are sent once as `alert.inform`, their body's status `OPEN`.
    #[test]
    fn an_informational_event_with_an_open_body_is_informational() {
        for body_status in ["OPEN", "TRACKING", "INFORMATIONAL", "open"] {
            let body = format!(r#"{{"status":"{body_status}","eventTypeName":"PRIMARY_ELECTED"}}"#);
            let alert = run(&body, Some("alert.inform"));
            assert_eq!(alert.status, Status::Informational, "{body_status}");
            assert_eq!(alert.severity, Severity::Info, "{body_status}");
            assert_eq!(alert.status_conflict, None, "{body_status}");
        }
        // Without the header the body decides, as always: an open alert.
        assert_eq!(run(r#"{"status":"OPEN"}"#, None).status, Status::Open);
    }

    #[test]
    fn a_closed_header_on_an_open_body_stays_open_and_is_noted() {
        let alert = run(r#"{"status":"OPEN"}"#, Some("alert.close"));
        assert_eq!(alert.status, Status::Open);
        assert_eq!(
            alert.status_conflict.map(|c| c.to_string()).as_deref(),
            Some("header alert.close contradicts body status OPEN; body wins")
        );
    }

    /// A body, the headers sent with it, and the severity they make.
    type SeverityCase<'a> = (&'a str, &'a [(&'static str, &'a str)], Severity);

    #[test]
    fn a_templated_body_severity_is_the_providers_and_no_header_sets_one() {
        const SEVERITY_HEADER: &str = "X-Severity";
        let cases: [SeverityCase<'_>; 9] = [
            (r#"{"severity":"CRITICAL"}"#, &[], Severity::Critical),
            (r#"{"severity":"warning"}"#, &[], Severity::Warning),
            (r#"{"severityOverride":"Error"}"#, &[], Severity::Error),
            (
                r#"{"severity":"INFO","severityOverride":"CRITICAL"}"#,
                &[],
                Severity::Info,
            ),
            ("{}", &[(SEVERITY_HEADER, "ERROR")], Severity::Unknown),
            (
                r#"{"status":"OPEN"}"#,
                &[(SEVERITY_HEADER, "critical"), (EVENT_HEADER, "alert.open")],
                Severity::Unknown,
            ),
            (
                r#"{"severity":"WARNING"}"#,
                &[(SEVERITY_HEADER, "CRITICAL")],
                Severity::Warning,
            ),
            (
                r#"{"severity":"LOUD"}"#,
                &[(SEVERITY_HEADER, "bogus")],
                Severity::Unknown,
            ),
            (
                r#"{"severity":"CRITICAL"}"#,
                &[(EVENT_HEADER, "alert.inform")],
                Severity::Critical,
            ),
        ];
        for (body, headers, expected) in cases {
            assert_eq!(with_headers(body, headers).severity, expected, "{body}");
        }
    }

    #[test]
    fn titles_api_shaped_alerts_from_the_event_and_the_resource() {
        let cases = [
            (
                r#"{"eventTypeName":"HOST_DOWN","hostnameAndPort":"cluster0-shard-00-01.abcde.mongodb.net:27017"}"#,
                "Host down: cluster0-shard-00-01.abcde.mongodb.net:27017",
            ),
            (
                r#"{"eventTypeName":"OUTSIDE_METRIC_THRESHOLD","metricName":"CONNECTIONS_PERCENT",
                   "currentValue":{"number":5.142857142857142,"units":"RAW"},"hostnameAndPort":"h:27017"}"#,
                "Outside metric threshold: CONNECTIONS_PERCENT 5.14 on h:27017",
            ),
            (
                r#"{"eventTypeName":"OUTSIDE_METRIC_THRESHOLD","metricName":"DB_DATA_SIZE_TOTAL",
                   "currentValue":{"number":12.0,"units":"GB"}}"#,
                "Outside metric threshold: DB_DATA_SIZE_TOTAL 12 GB",
            ),
            (
                r#"{"eventTypeName":"NO_PRIMARY","replicaSetName":"cluster1-shard-0","clusterName":"cluster1"}"#,
                "No primary: replica set cluster1-shard-0",
            ),
            (
                r#"{"eventTypeName":"TOO_MANY_ELECTIONS","replicaSetName":"rs0","hostnameAndPort":"h:27017"}"#,
                "Too many elections: replica set rs0",
            ),
            (
                r#"{"eventTypeName":"HOST_DOWN","replicaSetName":"rs0","hostnameAndPort":"h:27017"}"#,
                "Host down: h:27017",
            ),
            (
                r#"{"eventTypeName":"CLUSTER_MONGOS_IS_MISSING","clusterName":"cluster1"}"#,
                "Cluster mongos is missing: cluster cluster1",
            ),
            (
                r#"{"eventTypeName":"STREAM_PROCESSOR_STATE_IS_FAILED","processorName":"orders","instanceName":"ws1"}"#,
                "Stream processor state is failed: stream processor orders in ws1",
            ),
            (
                r#"{"eventTypeName":"CPS_SNAPSHOT_FAILED"}"#,
                "CPS snapshot failed",
            ),
            (r#"{"metricName":"CONNECTIONS"}"#, "Alert: CONNECTIONS"),
        ];
        for (body, expected) in cases {
            assert_eq!(run(body, None).title.as_deref(), Some(expected), "{body}");
        }
        assert_eq!(run("{}", None).title, None);
    }

    #[test]
    fn tolerates_an_org_level_alert_with_no_cluster_or_text() {
        let alert = run(
            r#"{"id":"o1","orgId":"646f418c72f24c07d430aaca","eventTypeName":"USERS_WITHOUT_MULTI_FACTOR_AUTH","status":"OPEN"}"#,
            None,
        );
        assert_eq!(
            alert.title.as_deref(),
            Some("Users without multi factor auth")
        );
        assert_eq!(alert.resource["org_id"], "646f418c72f24c07d430aaca");
        assert_eq!(alert.resource["project"], Value::Null);
        assert_eq!(alert.resource["value"], Value::Null);
        assert_eq!(alert.ownership, Ownership::default());
        assert_eq!(
            alert.url.as_deref(),
            Some("https://cloud.mongodb.com/v2#/org/646f418c72f24c07d430aaca/alerts")
        );
        let named = run(
            r#"{"orgId":"x","humanReadable":"Credit card expires.\nProject: Billing Organization: Acme"}"#,
            None,
        );
        assert_eq!(named.ownership.project.as_deref(), Some("Billing"));
        assert_eq!(named.url, None);
    }

    #[test]
    fn ownership_is_the_project_name_else_its_id_and_the_cluster() {
        let alert = run(
            r#"{"groupId":"5cd0343ff2a30b3880beddb0","clusterName":"M10AWSTestCluster","replicaSetName":"rs"}"#,
            None,
        );
        assert_eq!(
            alert.ownership.project.as_deref(),
            Some("5cd0343ff2a30b3880beddb0")
        );
        assert_eq!(
            alert.ownership.cluster.as_deref(),
            Some("M10AWSTestCluster")
        );
        assert_eq!(alert.resource["project"], Value::Null);
        // A replica set alone names no cluster.
        let replica_set = run(
            r#"{"groupId":"g","replicaSetName":"atlas-abc-shard-0"}"#,
            None,
        );
        assert_eq!(replica_set.ownership.cluster, None);
        let templated = run(r#"{"groupId":"g","projectName":"Payments"}"#, None);
        assert_eq!(templated.ownership.project.as_deref(), Some("Payments"));
        assert_eq!(templated.resource["project"], "Payments");
    }

    #[test]
    fn links_only_from_object_ids() {
        for (group, org) in [
            ("535683b3794d371327b", "id"),
            ("5d1b6f8e8c2e4e2d3c4a5b6/../x", "646f418c72f24c07d430aac?"),
            ("5d1b6f8e8c2e4e2d3c4a5b6d#x", ""),
        ] {
            let body = serde_json::json!({"groupId": group, "orgId": org}).to_string();
            assert_eq!(run(&body, None).url, None, "{group}");
        }
        let org_only = run(
            r#"{"groupId":"id","orgId":"669500ffd930873050a71637"}"#,
            None,
        );
        assert_eq!(
            org_only.url.as_deref(),
            Some("https://cloud.mongodb.com/v2#/org/669500ffd930873050a71637/alerts")
        );
    }

    #[test]
    fn carries_the_facts_of_every_alert_kind() {
        let alert = run(
            r#"{"hostId":"h1","clusterId":"c1","parentClusterId":"p1","nonRunningHostIds":["a","b"],
                "instanceName":"ws","processorName":"p","processorState":"FAILED",
                "processorErrorMsg":"Kafka down","appId":"app1","appName":"shop"}"#,
            None,
        );
        let r = &alert.resource;
        for (key, value) in [
            ("host_id", "h1"),
            ("cluster_id", "c1"),
            ("parent_cluster_id", "p1"),
            ("instance_name", "ws"),
            ("processor_name", "p"),
            ("processor_state", "FAILED"),
            ("processor_error_msg", "Kafka down"),
            ("app_id", "app1"),
            ("app_name", "shop"),
        ] {
            assert_eq!(r[key], value, "{key}");
        }
        assert_eq!(r["non_running_host_ids"], serde_json::json!(["a", "b"]));
        assert!(!run("{}", None).resource.contains_key("host_id"));
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
        assert_eq!(alert.url, None);
    }

    #[test]
    fn resolved_alerts_use_the_resolved_time() {
        let alert = run(
            r#"{"status":"CLOSED","created":"2024-01-01T00:00:00Z","resolved":"2024-01-02T00:00:00Z"}"#,
            Some("alert.close"),
        );
        assert_eq!(alert.occurred_at, parse_time("2024-01-02T00:00:00Z"));
    }

    #[test]
    fn reads_millisecond_timestamps() {
        let alert = run(
            r#"{"status":"OPEN","created":"2016-08-22T15:57:13.562Z","updated":"2016-08-22T20:14:11.388Z"}"#,
            Some("alert.update"),
        );
        assert_eq!(alert.occurred_at, parse_time("2016-08-22T20:14:11.388Z"));
        assert!(alert.occurred_at.is_some());
    }
}
