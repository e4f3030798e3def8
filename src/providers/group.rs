//! Alert groups as Prometheus Alertmanager's webhook sends them, and Grafana Alerting's after it:
//! `alerts[]`, each with its own `status`, `labels`, `annotations`, `startsAt`, `endsAt`,
//! `generatorURL` and `fingerprint`, and the group's `groupKey`, `receiver`, `truncatedAlerts` and
//! `externalURL`. Each alert becomes its own [`Alert`], knowing where its JSON object is in the
//! body, so that its event id hashes its own bytes: a redelivered group gives the same ids, and an
//! alert a later notification repeats unchanged keeps its id.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::{MalformedPayload, app_services, fields, parse_object};
use crate::alert::{Alert, Labels, Ownership, Severity, Status, parse_time};

/// More alerts than this in one request are refused (400): a sender's `max_alerts` (Alertmanager)
/// keeps a group within it, and the rest is `truncatedAlerts`.
pub const MAX_ALERTS: usize = 1000;

/// Labels besides `alertname` named in a title, at most.
const TITLE_LABELS: usize = 4;

/// What tells one sender's groups from another's.
pub struct Shape {
    /// Where the alert's link is, in order of preference (`panelURL`, `dashboardURL`,
    /// `generatorURL` for Grafana).
    pub urls: &'static [&'static str],
    /// The alert's other fields kept in `data.resource`, `(field, resource key)`.
    pub resource: &'static [(&'static str, &'static str)],
    /// A per-alert text to summarize it with when it has no `description` annotation.
    pub summary: Option<&'static str>,
}

/// The group's own fields; everything else (`alerts` aside) is ignored.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    alerts: Vec<&'a RawValue>,
    #[serde(default, rename = "groupKey")]
    group_key: Option<Value>,
    #[serde(default)]
    receiver: Option<Value>,
    #[serde(default)]
    status: Option<Value>,
    #[serde(default, rename = "truncatedAlerts")]
    truncated_alerts: Option<Value>,
    #[serde(default, rename = "externalURL")]
    external_url: Option<Value>,
    #[serde(default, rename = "commonLabels")]
    common_labels: Option<Map<String, Value>>,
    #[serde(default)]
    version: Option<Value>,
}

/// The alerts of a group body, in its order.
pub fn read(body: &[u8], shape: &Shape) -> Result<Vec<Alert>, MalformedPayload> {
    let envelope: Envelope<'_> = match serde_json::from_slice(body) {
        Ok(envelope) => envelope,
        // Which mistake it is: not JSON, not an object, or an object that is not a group.
        Err(_) => {
            parse_object(body)?;
            return Err(MalformedPayload::NotAGroup(
                "no alerts array of objects (or a group field twice)",
            ));
        }
    };
    if envelope.alerts.len() > MAX_ALERTS {
        return Err(MalformedPayload::NotAGroup("more than 1000 alerts"));
    }
    let group = group(&envelope);
    let common = envelope.common_labels.unwrap_or_default();
    envelope
        .alerts
        .iter()
        .map(|raw| {
            let object: Map<String, Value> = serde_json::from_str(raw.get())
                .map_err(|_| MalformedPayload::NotAGroup("an alert is not an object"))?;
            let mut alert = alert(&object, &common, shape);
            alert.source = source(body, raw);
            alert.group = Some(group.clone());
            Ok(alert)
        })
        .collect()
}

/// Where `raw` (borrowed from `body`) lies in it.
fn source(body: &[u8], raw: &RawValue) -> Option<std::ops::Range<usize>> {
    let own = raw.get().as_bytes();
    let start = (own.as_ptr() as usize).checked_sub(body.as_ptr() as usize)?;
    let range = start..start + own.len();
    (body.get(range.clone()) == Some(own)).then_some(range)
}

/// `data.group`: what the group says of itself, the same in each of its alerts' events.
fn group(envelope: &Envelope<'_>) -> Map<String, Value> {
    let mut group = Map::new();
    let mut put = |key: &str, value: &Option<Value>| {
        if let Some(value) = value.as_ref().filter(|v| !v.is_null()) {
            group.insert(key.to_owned(), value.clone());
        }
    };
    put("key", &envelope.group_key);
    put("receiver", &envelope.receiver);
    put("status", &envelope.status);
    put("external_url", &envelope.external_url);
    put("version", &envelope.version);
    group.insert("alerts".into(), Value::from(envelope.alerts.len()));
    group.insert(
        "truncated_alerts".into(),
        Value::from(truncated(envelope.truncated_alerts.as_ref())),
    );
    group
}

/// `truncatedAlerts`: how many alerts the sender left out of the group (`max_alerts`).
fn truncated(value: Option<&Value>) -> u64 {
    value.and_then(Value::as_u64).unwrap_or(0)
}

/// How many alerts a group's `data.group` says were left out.
pub fn truncated_alerts(group: &Map<String, Value>) -> u64 {
    truncated(group.get("truncated_alerts"))
}

/// A label or annotation map: strings as they are, other values as their JSON.
fn strings(object: &Map<String, Value>, key: &str) -> BTreeMap<String, String> {
    fields::object(object, key)
        .into_iter()
        .flatten()
        .filter(|(_, value)| !value.is_null())
        .map(|(name, value)| {
            let value = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            (name.clone(), value)
        })
        .collect()
}

fn alert(object: &Map<String, Value>, common: &Map<String, Value>, shape: &Shape) -> Alert {
    let labels = strings(object, "labels");
    let annotations = strings(object, "annotations");
    let status = match fields::str(object, "status").map(str::trim) {
        Some("firing") => Status::Open,
        Some("resolved") => Status::Resolved,
        _ => Status::Updated,
    };
    let severity = labels
        .get("severity")
        .map_or(Severity::Unknown, |s| app_services::severity(s));
    let starts_at = time(object, "startsAt");
    // A firing alert's `endsAt` is Go's zero time, or when it will be resolved if not renewed.
    let ends_at = time(object, "endsAt").filter(|_| status == Status::Resolved);
    let occurred_at = ends_at.or(starts_at);
    let fingerprint =
        fields::text(object, "fingerprint").unwrap_or_else(|| fingerprint_of(&labels));
    let note = |key: &str| {
        annotations
            .get(key)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    };
    let title = note("summary")
        .map(str::to_owned)
        .unwrap_or_else(|| named(&labels, common));
    let summary = note("description").map(str::to_owned).or_else(|| {
        shape
            .summary
            .and_then(|key| fields::str(object, key))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    });
    let url = shape
        .urls
        .iter()
        .filter_map(|key| fields::str(object, key))
        .find(|url| !url.trim().is_empty())
        .map(str::to_owned);

    let mut resource = Map::new();
    resource.insert("fingerprint".into(), Value::from(fingerprint.clone()));
    for (key, value) in [("starts_at", starts_at), ("ends_at", ends_at)] {
        if let Some(Ok(text)) =
            value.map(|t| t.format(&time::format_description::well_known::Rfc3339))
        {
            resource.insert(key.into(), Value::from(text));
        }
    }
    for (field, key) in shape.resource {
        match object.get(*field) {
            None | Some(Value::Null) => {}
            Some(Value::String(text)) if text.trim().is_empty() => {}
            Some(value) => {
                resource.insert((*key).to_owned(), value.clone());
            }
        }
    }

    Alert {
        alert_id: Some(fingerprint),
        status,
        severity,
        event_type: labels.get("alertname").cloned(),
        title: Some(title),
        summary,
        occurred_at,
        updated_at: occurred_at,
        url,
        resource,
        ownership: Ownership {
            cluster: labels.get("cluster").cloned(),
            ..Ownership::default()
        },
        status_conflict: None,
        labels: Labels::new(labels),
        annotations,
        source: None,
        group: None,
    }
}

fn time(object: &Map<String, Value>, key: &str) -> Option<OffsetDateTime> {
    // Go's zero time (`0001-01-01T00:00:00Z`) says "none".
    fields::str(object, key)
        .and_then(parse_time)
        .filter(|t| t.year() > 1)
}

/// `alertname (instance=db-1, job=api)`: the alert's name and the labels that tell it from the
/// rest of its group (those not common to every alert of it), a few at most.
fn named(labels: &BTreeMap<String, String>, common: &Map<String, Value>) -> String {
    let name = labels.get("alertname").map_or("alert", String::as_str);
    let own: Vec<String> = labels
        .iter()
        .filter(|(key, value)| {
            *key != "alertname" && common.get(*key).and_then(Value::as_str) != Some(value.as_str())
        })
        .take(TITLE_LABELS)
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    match own.is_empty() {
        true => name.to_owned(),
        false => format!("{name} ({})", own.join(", ")),
    }
}

/// Prometheus's fingerprint of a label set (`model.LabelSet.Fingerprint`): 64-bit FNV-1a over
/// each name and value in name order, each followed by the byte 0xff, as 16 hex digits. Used
/// only when a sender leaves `fingerprint` out, so that the alert keeps one id across its life.
pub fn fingerprint_of(labels: &BTreeMap<String, String>) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for (name, value) in labels {
        for byte in name
            .bytes()
            .chain([0xff])
            .chain(value.bytes())
            .chain([0xff])
        {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHAPE: Shape = Shape {
        urls: &["panelURL", "generatorURL"],
        resource: &[("silenceURL", "silence_url")],
        summary: Some("valueString"),
    };

    #[test]
    fn each_alert_knows_its_own_bytes() {
        let body = br#"{"alerts":[ {"status":"firing","labels":{"alertname":"A"},"fingerprint":"f1"} ,
            {"status":"resolved","labels":{"alertname":"B","severity":"critical"},"fingerprint":"f2",
             "endsAt":"2024-01-15T10:40:00Z","startsAt":"2024-01-15T10:30:00Z"}],
            "groupKey":"{}:{}","truncatedAlerts":2,"commonLabels":{}}"#;
        let alerts = read(body, &SHAPE).unwrap();
        assert_eq!(alerts.len(), 2);
        let own = |a: &Alert| std::str::from_utf8(&body[a.source.clone().unwrap()]).unwrap();
        assert_eq!(
            own(&alerts[0]),
            r#"{"status":"firing","labels":{"alertname":"A"},"fingerprint":"f1"}"#
        );
        assert!(own(&alerts[1]).starts_with(r#"{"status":"resolved""#));
        assert_eq!(alerts[1].status, Status::Resolved);
        assert_eq!(alerts[1].severity, Severity::Critical);
        assert_eq!(
            alerts[1].occurred_at.map(|t| t.unix_timestamp()),
            Some(1_705_315_200)
        );
        assert_eq!(alerts[0].alert_id.as_deref(), Some("f1"));
        let group = alerts[0].group.as_ref().unwrap();
        assert_eq!(truncated_alerts(group), 2);
        assert_eq!(group["alerts"], 2);
    }

    #[test]
    fn refuses_what_is_not_a_group() {
        for (body, reason) in [
            (&b"[1]"[..], "not_an_object"),
            (b"{", "not_json"),
            (b"{}", "not_a_group"),
            (br#"{"alerts":{}}"#, "not_a_group"),
            (br#"{"alerts":[1]}"#, "not_a_group"),
            (br#"{"alerts":[],"alerts":[]}"#, "not_a_group"),
        ] {
            assert_eq!(
                read(body, &SHAPE).unwrap_err().reason(),
                reason,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let many = format!(r#"{{"alerts":[{}{{}}]}}"#, "{},".repeat(MAX_ALERTS));
        assert!(read(many.as_bytes(), &SHAPE).is_err());
        let most = format!(r#"{{"alerts":[{}{{}}]}}"#, "{},".repeat(MAX_ALERTS - 1));
        assert_eq!(read(most.as_bytes(), &SHAPE).unwrap().len(), MAX_ALERTS);
    }

    #[test]
    fn titles_name_the_alert_and_what_tells_it_apart() {
        let body = br#"{"commonLabels":{"job":"api"},"alerts":[
            {"labels":{"alertname":"HighLatency","job":"api","instance":"db-1"}},
            {"labels":{"alertname":"HighLatency","job":"api"},"annotations":{"summary":" Slow "}},
            {"labels":{}}]}"#;
        let titles: Vec<_> = read(body, &SHAPE)
            .unwrap()
            .into_iter()
            .map(|a| a.title.unwrap())
            .collect();
        assert_eq!(titles, ["HighLatency (instance=db-1)", "Slow", "alert"]);
    }

    #[test]
    fn a_missing_fingerprint_is_prometheus_own() {
        // prometheus/common's TestLabelsToSignature: the same hash over the same label set.
        let labels: BTreeMap<String, String> =
            [("name", "garland, briggs"), ("fear", "love is not enough")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
        assert_eq!(
            fingerprint_of(&labels),
            format!("{:016x}", 5_799_056_148_416_392_346_u64)
        );
        assert_eq!(
            fingerprint_of(&BTreeMap::new()),
            format!("{:016x}", 14_695_981_039_346_656_037_u64)
        );
    }
}
