//! Per-request metrics in CloudWatch Embedded Metric Format: one JSON line on stdout, which
//! Lambda's log pipeline turns into metrics. No SDK call, nothing added to the request's latency
//! beyond formatting the line.

use serde_json::{Value, json};

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

/// The EMF document for one request. Every request counts once in `received` and once in exactly
/// one of `published`, `rejected`, `publish_failed`, in total and per provider; rejections are also
/// counted per reason.
pub fn document(
    namespace: &str,
    provider: &str,
    outcome: Outcome,
    timestamp_ms: u64,
    duration_ms: f64,
) -> Value {
    let name = match outcome {
        Outcome::Published => "published",
        Outcome::Rejected(_) => "rejected",
        Outcome::PublishFailed => "publish_failed",
    };
    let mut directives = vec![json!({
        "Namespace": namespace,
        "Dimensions": [[], ["provider"]],
        "Metrics": [
            {"Name": "received", "Unit": "Count"},
            {"Name": name, "Unit": "Count"},
            {"Name": "duration", "Unit": "Milliseconds"},
        ],
    })];
    let mut doc = json!({
        "provider": provider,
        "received": 1,
        name: 1,
        "duration": duration_ms,
    });
    if let Outcome::Rejected(reason) = outcome {
        directives.push(json!({
            "Namespace": namespace,
            "Dimensions": [["provider", "reason"]],
            "Metrics": [{"Name": "rejected", "Unit": "Count"}],
        }));
        doc["reason"] = Value::from(reason);
    }
    doc["_aws"] = json!({"Timestamp": timestamp_ms, "CloudWatchMetrics": directives});
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

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
