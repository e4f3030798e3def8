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
}

/// The EMF line for one request. Every request counts once in `received` and once in exactly one
/// of `published`, `rejected`, `publish_failed`, in total and per provider; rejections are also
/// counted per reason. Serialized from borrowed structs: building a `Value` first cost more than
/// the rest of a 1 KiB request's normalization.
pub fn line(
    namespace: &str,
    provider: &str,
    outcome: Outcome,
    timestamp_ms: u64,
    duration_ms: f64,
) -> String {
    let (name, published, rejected, publish_failed, reason) = match outcome {
        Outcome::Published => ("published", Some(1), None, None, None),
        Outcome::Rejected(reason) => ("rejected", None, Some(1), None, Some(reason)),
        Outcome::PublishFailed => ("publish_failed", None, None, Some(1), None),
    };
    let metrics = [count("received"), count(name), milliseconds("duration")];
    let by_reason = [count("rejected")];
    let directives = [
        Directive {
            namespace,
            dimensions: &[&[], &["provider"]],
            metrics: &metrics,
        },
        Directive {
            namespace,
            dimensions: &[&["provider", "reason"]],
            metrics: &by_reason,
        },
    ];
    let line = Line {
        provider,
        received: 1,
        published,
        rejected,
        publish_failed,
        duration: duration_ms,
        reason,
        aws: Aws {
            timestamp: timestamp_ms,
            cloud_watch_metrics: &directives[..if reason.is_some() { 2 } else { 1 }],
        },
    };
    // Plain structs of strings and numbers: serializing them cannot fail.
    serde_json::to_string(&line).unwrap_or_default()
}

#[derive(Serialize)]
struct Line<'a> {
    provider: &'a str,
    received: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    published: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rejected: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    publish_failed: Option<u8>,
    duration: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(rename = "_aws")]
    aws: Aws<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Aws<'a> {
    timestamp: u64,
    cloud_watch_metrics: &'a [Directive<'a>],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Directive<'a> {
    namespace: &'a str,
    dimensions: &'a [&'a [&'a str]],
    metrics: &'a [Metric],
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
    fn every_metric_named_in_a_directive_has_a_value() {
        for outcome in [
            Outcome::Published,
            Outcome::Rejected("x"),
            Outcome::PublishFailed,
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
