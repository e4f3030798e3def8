//! Small readers shared by the providers' normalizers: a field is used only when it has the
//! expected type and is not blank.

use serde_json::{Map, Value};

pub fn str<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    object
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A string, or a number rendered as written (ids are sometimes numbers).
pub fn text(object: &Map<String, Value>, key: &str) -> Option<String> {
    match object.get(key)? {
        Value::String(s) => Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub fn object<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Map<String, Value>> {
    object.get(key).and_then(Value::as_object)
}

pub fn first_str<'a>(object: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|key| str(object, key))
}

/// The non-blank strings of an array field, trimmed, in order; nothing when it is not an array.
pub fn strings<'a>(object: &'a Map<String, Value>, key: &str) -> Vec<&'a str> {
    object
        .get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// `Some(value)` as JSON, or `null`.
pub fn json(value: Option<impl Into<Value>>) -> Value {
    value.map_or(Value::Null, Into::into)
}

/// A MongoDB ObjectId as Atlas writes its ids: exactly 24 hexadecimal digits. Only such an id
/// is put into a URL, so a payload cannot smuggle a path, query or fragment into a link.
pub fn is_object_id(id: &str) -> bool {
    id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Words kept in capitals when an event name is humanized.
const ACRONYMS: &[&str] = &[
    "API", "AWS", "BI", "CA", "CPS", "CPU", "CRL", "DB", "FTS", "GB", "GCP", "ID", "IOPS", "IP",
    "KMS", "LDAP", "MFA", "NDS", "OOM", "PIT", "RPU", "SLA", "SQL", "SSH", "SSL", "TLS", "TTL",
    "URL", "WPU",
];

/// An event name for people: `HOST_DOWN` → "Host down", `CPS_SNAPSHOT_FAILED` → "CPS snapshot
/// failed", `open_freshness_anomaly_incident` → "Open freshness anomaly incident". Known
/// acronyms and words with digits (`M0`, `X509`) keep their capitals; the rest is lower case.
pub fn humanize(name: &str) -> String {
    let words: Vec<String> = name
        .split(|c: char| c == '_' || c == '-' || c.is_whitespace())
        .filter(|word| !word.is_empty())
        .map(|word| {
            let upper = word.to_ascii_uppercase();
            if ACRONYMS.contains(&upper.as_str()) || word.bytes().any(|b| b.is_ascii_digit()) {
                upper
            } else {
                word.to_lowercase()
            }
        })
        .collect();
    let sentence = words.join(" ");
    let mut chars = sentence.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanizes_event_names_keeping_acronyms() {
        let cases = [
            ("HOST_DOWN", "Host down"),
            ("OUTSIDE_METRIC_THRESHOLD", "Outside metric threshold"),
            ("CPS_SNAPSHOT_FAILED", "CPS snapshot failed"),
            (
                "MAX_M0_CLUSTERS_PER_GROUP_EXCEEDED",
                "Max M0 clusters per group exceeded",
            ),
            (
                "NDS_X509_USER_AUTHENTICATION_CUSTOMER_CA_EXPIRATION_CHECK",
                "NDS X509 user authentication customer CA expiration check",
            ),
            ("HOST_SSL_CERTIFICATE_STALE", "Host SSL certificate stale"),
            (
                "open_freshness_anomaly_incident",
                "Open freshness anomaly incident",
            ),
            ("type", "Type"),
            ("", ""),
            ("__", ""),
        ];
        for (name, expected) in cases {
            assert_eq!(humanize(name), expected, "{name}");
        }
    }

    #[test]
    fn object_ids_are_24_hex_digits_only() {
        assert!(is_object_id("5d1b6f8e8c2e4e2d3c4a5b6d"));
        assert!(!is_object_id("535683b3794d371327b"));
        assert!(!is_object_id("5d1b6f8e8c2e4e2d3c4a5b6/"));
        assert!(!is_object_id("5d1b6f8e8c2e4e2d3c4a5b6d#"));
        assert!(!is_object_id("id"));
    }

    #[test]
    fn strings_keeps_non_blank_strings_in_order() {
        let object: Map<String, Value> =
            serde_json::from_str(r#"{"t": [" a ", "", 3, null, "b"], "n": "a"}"#).unwrap();
        assert_eq!(strings(&object, "t"), ["a", "b"]);
        assert!(strings(&object, "n").is_empty());
        assert!(strings(&object, "missing").is_empty());
    }
}
