//! The table's items, without the AWS SDK: what the function and the signer write and read,
//! in DynamoDB's own attribute types, so that one place says the layout (`docs/state.md`).
//!
//! | item | `pk` | `sk` | holds |
//! | --- | --- | --- | --- |
//! | an alert's state | `alert#<dedup_key>` | `state` | [`Stored`], a version `v`, `expires_at` |
//! | a silence | `silence` | its id | [`Silence`](super::Silence), `expires_at` |

use std::collections::BTreeMap;

use crate::alert::Severity;

use super::decide::{AlertState, Handled, Millis, Stored, Told};

/// A DynamoDB attribute value, as far as the table uses them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attr {
    S(String),
    /// A number, as DynamoDB carries it: its decimal text.
    N(String),
    M(Item),
    L(Vec<Attr>),
}

/// One item: attribute names to values.
pub type Item = BTreeMap<String, Attr>;

/// The partition key of an alert's state.
pub fn alert_key(dedup_key: &str) -> String {
    format!("alert#{dedup_key}")
}

pub const STATE_SK: &str = "state";
pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// The table's TTL attribute: epoch seconds.
pub const EXPIRES_AT: &str = "expires_at";
/// The state item's version: each write is conditional on the version it read.
pub const VERSION: &str = "v";

/// Why an item could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the table's item has a missing or invalid {0}")]
pub struct BadItem(pub &'static str);

impl Attr {
    pub fn n(value: i64) -> Attr {
        Attr::N(value.to_string())
    }

    pub fn s(value: impl Into<String>) -> Attr {
        Attr::S(value.into())
    }
}

/// Reading typed values out of an item.
pub trait ItemExt {
    fn string(&self, name: &'static str) -> Result<&str, BadItem>;
    fn number(&self, name: &'static str) -> Result<i64, BadItem>;
    fn opt_string(&self, name: &'static str) -> Option<&str>;
    fn opt_number(&self, name: &'static str) -> Result<Option<i64>, BadItem>;
}

impl ItemExt for Item {
    fn string(&self, name: &'static str) -> Result<&str, BadItem> {
        self.opt_string(name).ok_or(BadItem(name))
    }

    fn number(&self, name: &'static str) -> Result<i64, BadItem> {
        self.opt_number(name)?.ok_or(BadItem(name))
    }

    fn opt_string(&self, name: &'static str) -> Option<&str> {
        match self.get(name) {
            Some(Attr::S(s)) => Some(s),
            _ => None,
        }
    }

    fn opt_number(&self, name: &'static str) -> Result<Option<i64>, BadItem> {
        match self.get(name) {
            None => Ok(None),
            Some(Attr::N(n)) => n.parse().map(Some).map_err(|_| BadItem(name)),
            Some(_) => Err(BadItem(name)),
        }
    }
}

fn severity(name: &str) -> Result<Severity, BadItem> {
    match name {
        "unknown" => Ok(Severity::Unknown),
        other => Severity::from_name(other).ok_or(BadItem("severity")),
    }
}

fn state(name: &str) -> Result<AlertState, BadItem> {
    AlertState::from_name(name).ok_or(BadItem("state"))
}

/// `stored` as the state item of `dedup_key`, at `version`, kept until `expires_at` (epoch s).
pub fn state_item(dedup_key: &str, stored: &Stored, version: i64, expires_at: i64) -> Item {
    let mut item = Item::new();
    item.insert(PK.into(), Attr::s(alert_key(dedup_key)));
    item.insert(SK.into(), Attr::s(STATE_SK));
    item.insert(VERSION.into(), Attr::n(version));
    item.insert(EXPIRES_AT.into(), Attr::n(expires_at));
    item.insert("state".into(), Attr::s(stored.state.as_str()));
    item.insert("severity".into(), Attr::s(stored.severity.as_str()));
    item.insert("first_seen".into(), Attr::n(stored.first_seen));
    item.insert("count".into(), Attr::n(stored.count as i64));
    item.insert("episode".into(), Attr::n(i64::from(stored.episode)));
    if let Some(at) = stored.last_event_at {
        item.insert("last_event_at".into(), Attr::n(at));
    }
    if let Some(at) = stored.opened_at {
        item.insert("opened_at".into(), Attr::n(at));
    }
    if let Some(id) = &stored.opened_event_id {
        item.insert("opened_event_id".into(), Attr::s(id.clone()));
    }
    let told = stored
        .told
        .iter()
        .map(|t| {
            let mut m = Item::new();
            m.insert("state".into(), Attr::s(t.state.as_str()));
            m.insert("severity".into(), Attr::s(t.severity.as_str()));
            m.insert("at".into(), Attr::n(t.at));
            m.insert("episode".into(), Attr::n(i64::from(t.episode)));
            (t.target.clone(), Attr::M(m))
        })
        .collect();
    item.insert("told".into(), Attr::M(told));
    let handled = stored
        .handled
        .iter()
        .map(|h| {
            let mut m = Item::new();
            m.insert("id".into(), Attr::s(h.event_id.clone()));
            if let Some(until) = h.claim_until {
                m.insert("claim_until".into(), Attr::n(until));
            }
            if !h.notified.is_empty() {
                m.insert(
                    "notified".into(),
                    Attr::L(h.notified.iter().cloned().map(Attr::S).collect()),
                );
            }
            Attr::M(m)
        })
        .collect();
    item.insert("handled".into(), Attr::L(handled));
    item
}

/// The state and version an item holds.
pub fn read_state(item: &Item) -> Result<(Stored, i64), BadItem> {
    let version = item.number(VERSION)?;
    let mut told = Vec::new();
    if let Some(Attr::M(map)) = item.get("told") {
        for (target, value) in map {
            let Attr::M(t) = value else {
                return Err(BadItem("told"));
            };
            told.push(Told {
                target: target.clone(),
                state: state(t.string("state")?)?,
                severity: severity(t.string("severity")?)?,
                at: t.number("at")?,
                episode: u32::try_from(t.number("episode")?).map_err(|_| BadItem("episode"))?,
            });
        }
    }
    let mut handled = Vec::new();
    if let Some(Attr::L(list)) = item.get("handled") {
        for value in list {
            let Attr::M(h) = value else {
                return Err(BadItem("handled"));
            };
            let notified = match h.get("notified") {
                Some(Attr::L(names)) => names
                    .iter()
                    .map(|n| match n {
                        Attr::S(s) => Ok(s.clone()),
                        _ => Err(BadItem("notified")),
                    })
                    .collect::<Result<_, _>>()?,
                _ => Vec::new(),
            };
            handled.push(Handled {
                event_id: h.string("id")?.to_owned(),
                claim_until: h.opt_number("claim_until")?,
                notified,
            });
        }
    }
    let stored = Stored {
        state: state(item.string("state")?)?,
        severity: severity(item.string("severity")?)?,
        first_seen: item.number("first_seen")?,
        count: u64::try_from(item.number("count")?).map_err(|_| BadItem("count"))?,
        last_event_at: item.opt_number("last_event_at")?,
        episode: u32::try_from(item.number("episode")?).map_err(|_| BadItem("episode"))?,
        opened_at: item.opt_number("opened_at")?,
        opened_event_id: item.opt_string("opened_event_id").map(str::to_owned),
        told,
        handled,
    };
    Ok((stored, version))
}

/// An item's size as DynamoDB counts it for capacity: names and values, numbers at about one
/// byte per two digits, maps and lists with their per-element overhead
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html>).
pub fn size(item: &Item) -> usize {
    fn value(attr: &Attr) -> usize {
        match attr {
            Attr::S(s) => s.len(),
            Attr::N(n) => n.trim_start_matches('-').len().div_ceil(2) + 1,
            Attr::M(map) => {
                3 + map
                    .iter()
                    .map(|(k, v)| k.len() + value(v) + 1)
                    .sum::<usize>()
            }
            Attr::L(list) => 3 + list.iter().map(|v| value(v) + 1).sum::<usize>(),
        }
    }
    item.iter()
        .map(|(name, attr)| name.len() + value(attr))
        .sum()
}

/// Epoch seconds of `at` plus `retention`, for the TTL attribute.
pub fn expiry(at: Millis, retention: Millis) -> i64 {
    at.saturating_add(retention) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_reads_back_as_written() {
        let stored = Stored {
            state: AlertState::Acknowledged,
            severity: Severity::Critical,
            first_seen: 1,
            count: 3,
            last_event_at: Some(5),
            episode: 2,
            opened_at: Some(4),
            opened_event_id: Some("e".into()),
            told: vec![Told {
                target: "default".into(),
                state: AlertState::Open,
                severity: Severity::Unknown,
                at: 7,
                episode: 2,
            }],
            handled: vec![Handled {
                event_id: "e".into(),
                claim_until: Some(9),
                notified: vec!["default".into()],
            }],
        };
        let item = state_item("atlas:abc", &stored, 7, 100);
        assert_eq!(item[PK], Attr::s("alert#atlas:abc"));
        assert_eq!(read_state(&item), Ok((stored, 7)));
    }

    #[test]
    fn a_damaged_item_names_what_is_wrong() {
        let mut item = state_item("k", &minimal(), 1, 1);
        item.insert("severity".into(), Attr::s("loud"));
        assert_eq!(read_state(&item), Err(BadItem("severity")));
    }

    #[test]
    fn a_state_item_stays_within_two_write_units() {
        use crate::state::HANDLED_MAX;
        let topic = |name: &str| format!("arn:aws:sns:eu-west-1:123456789012:{name}");
        let mut stored = minimal();
        stored.opened_at = Some(1_705_314_600_000);
        stored.opened_event_id = Some("fd598308abaea1259becfca3b878e56d".into());
        stored.last_event_at = Some(1_705_314_600_000);
        stored.told = ["default".to_owned(), topic("paging"), topic("chat")]
            .into_iter()
            .map(|target| Told {
                target,
                state: AlertState::Acknowledged,
                severity: Severity::Critical,
                at: 1_705_314_600_000,
                episode: 1,
            })
            .collect();
        let new = state_item("atlas:5d1b6f8e8c2e4e2d3c4a5b6c", &stored, 1, 1_767_225_600);
        assert!(
            size(&new) < 1024,
            "a new alert's item: {} bytes",
            size(&new)
        );
        // A long-lived alert: every remembered event completed, one still claimed.
        stored.handled = (0..HANDLED_MAX)
            .map(|i| Handled {
                event_id: format!("{i:032x}"),
                claim_until: (i == 0).then_some(1_705_314_610_000),
                notified: if i == 0 {
                    vec!["default".into(), topic("paging"), topic("chat")]
                } else {
                    Vec::new()
                },
            })
            .collect();
        let full = state_item("atlas:5d1b6f8e8c2e4e2d3c4a5b6c", &stored, 99, 1_767_225_600);
        assert!(size(&full) <= 2048, "a full item: {} bytes", size(&full));
    }

    fn minimal() -> Stored {
        Stored {
            state: AlertState::Open,
            severity: Severity::Error,
            first_seen: 0,
            count: 1,
            last_event_at: None,
            episode: 1,
            opened_at: None,
            opened_event_id: None,
            told: Vec::new(),
            handled: Vec::new(),
        }
    }
}
