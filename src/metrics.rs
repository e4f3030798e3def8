//! Per-request metrics in CloudWatch Embedded Metric Format: one JSON line on stdout, which
//! Lambda's log pipeline turns into metrics. No SDK call, nothing added to the request's latency
//! beyond formatting the line.

use serde::Serialize;

/// Default namespace; `METRICS_NAMESPACE` overrides it so stacks do not share metrics.
pub const DEFAULT_NAMESPACE: &str = "AlertRelay";

/// What became of a request, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Published,
    /// Refused before publishing; the reason is a fixed label (`signature_mismatch`, …).
    Rejected(&'static str),
    PublishFailed,
    /// Accepted (202): what SNS did not take is in the fallback queue.
    Queued,
    /// A fallback-queue record whose publishes all went out (a remainder requeued counts too).
    Redriven,
    /// A fallback-queue record left for SQS to retry, or refused; the reason is a fixed label
    /// (`publish_failed`, `foreign_queue`, …).
    RedriveFailed(&'static str),
    /// Verified, and alert state told no topic; the reason is `duplicate`, `unchanged`, `stale`
    /// or `silenced`.
    Suppressed(&'static str),
}

/// The EMF timestamp: now, in Unix milliseconds.
pub fn now_ms() -> u64 {
    u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

/// The EMF line for one request. Every request counts once in `received` and once in exactly one
/// of `published`, `rejected`, `publish_failed`, in total and per provider; rejections are also
/// counted per reason. An alert whose Atlas alert configuration could not give its severity counts
/// once in `severity_fallback`, per provider and `fallback_reason`. Serialized from borrowed
/// structs: building a `Value` first cost more than the rest of a 1 KiB request's normalization.
pub fn line(
    namespace: &str,
    provider: &str,
    outcome: Outcome,
    severity_fallback: Option<&str>,
    timestamp_ms: u64,
    duration_ms: f64,
) -> String {
    let name = match outcome {
        Outcome::Published => "published",
        Outcome::Rejected(_) => "rejected",
        Outcome::PublishFailed => "publish_failed",
        Outcome::Queued => "queued",
        Outcome::Redriven => "redriven",
        Outcome::RedriveFailed(_) => "redrive_failed",
        Outcome::Suppressed(_) => "suppressed",
    };
    let reason = match outcome {
        Outcome::Rejected(reason)
        | Outcome::RedriveFailed(reason)
        | Outcome::Suppressed(reason) => Some(reason),
        _ => None,
    };
    // A fallback-queue record is not a webhook request: it is not counted in `received`.
    let webhook = !matches!(outcome, Outcome::Redriven | Outcome::RedriveFailed(_));
    let metrics = [count("received"), count(name), milliseconds("duration")];
    let metrics = if webhook { &metrics[..] } else { &metrics[1..] };
    // `rejected`, `redrive_failed` or `suppressed`, per reason too.
    let by_reason = [count(name)];
    let by_fallback = [count("severity_fallback")];
    let fallback_directive = Directive {
        namespace,
        dimensions: &[&["provider", "fallback_reason"]],
        metrics: &by_fallback,
    };
    let directives = [
        Directive {
            namespace,
            dimensions: &[&[], &["provider"]],
            metrics,
        },
        Directive {
            namespace,
            dimensions: &[&["provider", "reason"]],
            metrics: &by_reason,
        },
    ];
    let mut directives: Vec<Directive> =
        directives[..if reason.is_some() { 2 } else { 1 }].to_vec();
    if severity_fallback.is_some() {
        directives.push(fallback_directive);
    }
    let one = |wanted: &str| (name == wanted).then_some(1);
    let line = Line {
        provider,
        received: webhook.then_some(1),
        published: one("published"),
        rejected: one("rejected"),
        publish_failed: one("publish_failed"),
        queued: one("queued"),
        redriven: one("redriven"),
        redrive_failed: one("redrive_failed"),
        suppressed: one("suppressed"),
        severity_fallback: severity_fallback.map(|_| 1),
        duration: duration_ms,
        reason,
        fallback_reason: severity_fallback,
        aws: Aws {
            timestamp: timestamp_ms,
            cloud_watch_metrics: &directives,
        },
    };
    // Plain structs of strings and numbers: serializing them cannot fail.
    serde_json::to_string(&line).unwrap_or_default()
}

/// The EMF line for a request whose alert state could not be used (the table refused, throttled,
/// failed or was too slow): `state_fallback`, per provider and `fallback_reason`.
pub fn state_fallback_line(
    namespace: &str,
    provider: &str,
    reason: &str,
    timestamp_ms: u64,
) -> String {
    let metrics = [count("state_fallback")];
    let directives = [Directive {
        namespace,
        dimensions: &[&[], &["provider", "fallback_reason"]],
        metrics: &metrics,
    }];
    serde_json::to_string(&serde_json::json!({
        "provider": provider,
        "state_fallback": 1,
        "fallback_reason": reason,
        "_aws": Aws {
            timestamp: timestamp_ms,
            cloud_watch_metrics: &directives,
        },
    }))
    .unwrap_or_default()
}

#[derive(Serialize)]
struct Line<'a> {
    provider: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    received: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    published: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rejected: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    publish_failed: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    queued: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redriven: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redrive_failed: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressed: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    severity_fallback: Option<u8>,
    duration: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fallback_reason: Option<&'a str>,
    #[serde(rename = "_aws")]
    aws: Aws<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Aws<'a> {
    timestamp: u64,
    cloud_watch_metrics: &'a [Directive<'a>],
}

#[derive(Serialize, Clone, Copy)]
#[serde(rename_all = "PascalCase")]
struct Directive<'a> {
    namespace: &'a str,
    dimensions: &'a [&'a [&'a str]],
    metrics: &'a [Metric],
}

/// How a group's alerts ended (Grafana, Alertmanager): each alert counts once in `alerts` and
/// once in one of the others; `truncated_alerts` counts those the sender left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct GroupCounts {
    pub alerts: usize,
    #[serde(rename = "alerts_published")]
    pub published: usize,
    #[serde(rename = "alerts_suppressed")]
    pub suppressed: usize,
    #[serde(rename = "alerts_queued")]
    pub queued: usize,
    #[serde(rename = "alerts_failed")]
    pub failed: usize,
    #[serde(rename = "truncated_alerts")]
    pub truncated: u64,
}

/// The EMF line for a group request's alerts, besides its `line`: per provider and in total.
pub fn group_line(
    namespace: &str,
    provider: &str,
    counts: &GroupCounts,
    timestamp_ms: u64,
) -> String {
    let metrics = [
        count("alerts"),
        count("alerts_published"),
        count("alerts_suppressed"),
        count("alerts_queued"),
        count("alerts_failed"),
        count("truncated_alerts"),
    ];
    let directives = [Directive {
        namespace,
        dimensions: &[&[], &["provider"]],
        metrics: &metrics,
    }];
    #[derive(Serialize)]
    struct GroupLine<'a> {
        provider: &'a str,
        #[serde(flatten)]
        counts: &'a GroupCounts,
        #[serde(rename = "_aws")]
        aws: Aws<'a>,
    }
    serde_json::to_string(&GroupLine {
        provider,
        counts,
        aws: Aws {
            timestamp: timestamp_ms,
            cloud_watch_metrics: &directives,
        },
    })
    .unwrap_or_default()
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Metric {
    name: &'static str,
    unit: &'static str,
}

const fn count(name: &'static str) -> Metric {
    Metric {
        name,
        unit: "Count",
    }
}

const fn milliseconds(name: &'static str) -> Metric {
    Metric {
        name,
        unit: "Milliseconds",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// The line, parsed: what CloudWatch reads.
    fn document(
        namespace: &str,
        provider: &str,
        outcome: Outcome,
        timestamp_ms: u64,
        duration_ms: f64,
    ) -> Value {
        serde_json::from_str(&line(
            namespace,
            provider,
            outcome,
            None,
            timestamp_ms,
            duration_ms,
        ))
        .expect("the EMF line is JSON")
    }

    #[test]
    fn published_requests_count_received_and_published() {
        let doc = document("NS", "atlas", Outcome::Published, 1_700_000_000_000, 1.5);
        assert_eq!(doc["received"], 1);
        assert_eq!(doc["published"], 1);
        assert_eq!(doc["provider"], "atlas");
        assert!(doc.get("reason").is_none());
        let aws = &doc["_aws"];
        assert_eq!(aws["Timestamp"], 1_700_000_000_000u64);
        assert_eq!(aws["CloudWatchMetrics"].as_array().unwrap().len(), 1);
        assert_eq!(aws["CloudWatchMetrics"][0]["Namespace"], "NS");
        assert_eq!(
            aws["CloudWatchMetrics"][0]["Dimensions"],
            json!([[], ["provider"]])
        );
    }

    #[test]
    fn rejections_are_counted_by_reason_too() {
        let doc = document(
            "NS",
            "monte-carlo",
            Outcome::Rejected("signature_mismatch"),
            0,
            0.1,
        );
        assert_eq!(doc["rejected"], 1);
        assert_eq!(doc["reason"], "signature_mismatch");
        let directives = doc["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives[1]["Dimensions"], json!([["provider", "reason"]]));
        assert_eq!(directives[1]["Metrics"][0]["Name"], "rejected");
    }

    #[test]
    fn severity_fallbacks_are_counted_by_reason() {
        let doc: Value = serde_json::from_str(&line(
            "NS",
            "atlas",
            Outcome::Published,
            Some("timeout"),
            0,
            1.0,
        ))
        .unwrap();
        assert_eq!(doc["published"], 1);
        assert_eq!(doc["severity_fallback"], 1);
        assert_eq!(doc["fallback_reason"], "timeout");
        let directives = doc["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives.len(), 2);
        assert_eq!(
            directives[1]["Dimensions"],
            json!([["provider", "fallback_reason"]])
        );
        assert_eq!(directives[1]["Metrics"][0]["Name"], "severity_fallback");
    }

    #[test]
    fn queue_outcomes_have_their_own_metrics() {
        let queued = document("NS", "atlas", Outcome::Queued, 0, 1.0);
        assert_eq!(
            (queued["received"].clone(), queued["queued"].clone()),
            (json!(1), json!(1))
        );
        let redriven = document("NS", "atlas", Outcome::Redriven, 0, 1.0);
        assert_eq!(redriven["redriven"], 1);
        assert!(
            redriven.get("received").is_none(),
            "a record is not a webhook request"
        );
        let failed = document(
            "NS",
            "atlas",
            Outcome::RedriveFailed("foreign_queue"),
            0,
            1.0,
        );
        assert_eq!(failed["redrive_failed"], 1);
        assert_eq!(failed["reason"], "foreign_queue");
        let by_reason = &failed["_aws"]["CloudWatchMetrics"][1];
        assert_eq!(by_reason["Dimensions"], json!([["provider", "reason"]]));
        assert_eq!(by_reason["Metrics"][0]["Name"], "redrive_failed");
        let names: Vec<&str> = failed["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["redrive_failed", "duration"]);
    }

    #[test]
    fn every_metric_named_in_a_directive_has_a_value() {
        for outcome in [
            Outcome::Published,
            Outcome::Rejected("x"),
            Outcome::PublishFailed,
            Outcome::Queued,
            Outcome::Redriven,
            Outcome::RedriveFailed("x"),
        ] {
            let doc = document("NS", "p", outcome, 0, 0.0);
            for directive in doc["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
                for metric in directive["Metrics"].as_array().unwrap() {
                    assert!(
                        doc[metric["Name"].as_str().unwrap()].is_number(),
                        "{outcome:?} {metric}"
                    );
                }
                for set in directive["Dimensions"].as_array().unwrap() {
                    for dim in set.as_array().unwrap() {
                        assert!(doc[dim.as_str().unwrap()].is_string());
                    }
                }
            }
        }
    }
}
