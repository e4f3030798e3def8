//! Silences (maintenance windows): a filter policy over the event's attributes, the routes'
//! syntax, active from a start to an end. Kept in the state table (`pk` `silence`, `sk` its id),
//! written by `alert-relay-sign silence`, read by the function at most every 30 s.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::decide::Millis;
use super::item::{Attr, BadItem, EXPIRES_AT, Item, ItemExt, PK, SK, expiry};
use crate::route::Filter;

/// The partition every silence is in: one `Query` reads them all.
pub const SILENCE_PK: &str = "silence";

/// One silence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Silence {
    pub id: String,
    /// The filter policy as written.
    pub matcher: String,
    pub filter: Filter,
    pub starts_at: Millis,
    pub ends_at: Millis,
    pub comment: String,
    pub by: Option<String>,
    pub created_at: Millis,
}

/// What is wrong with a silence as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SilenceError {
    /// Said the way a route's filter error is said.
    #[error("--match: {0}")]
    Match(String),
    #[error("the silence ends before it starts")]
    EndsBeforeStart,
    #[error("--comment is empty: say why the alerts are silenced")]
    NoComment,
}

impl Silence {
    /// A new silence, checked: its match parses as a route's filter would, and it ends after it
    /// starts. Its id is derived from its content and `created_at`.
    pub fn new(
        matcher: &str,
        starts_at: Millis,
        ends_at: Millis,
        comment: &str,
        by: Option<&str>,
        created_at: Millis,
    ) -> Result<Silence, SilenceError> {
        let filter = parse_match(matcher)?;
        if ends_at <= starts_at {
            return Err(SilenceError::EndsBeforeStart);
        }
        if comment.trim().is_empty() {
            return Err(SilenceError::NoComment);
        }
        let mut hash = Sha256::new();
        for part in [matcher, comment, by.unwrap_or_default()] {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        for time in [starts_at, ends_at, created_at] {
            hash.update(time.to_be_bytes());
        }
        let mut id = hex::encode(hash.finalize());
        id.truncate(12);
        Ok(Silence {
            id: format!("s-{id}"),
            matcher: matcher.trim().to_owned(),
            filter,
            starts_at,
            ends_at,
            comment: comment.trim().to_owned(),
            by: by
                .map(str::trim)
                .filter(|b| !b.is_empty())
                .map(str::to_owned),
            created_at,
        })
    }

    /// Whether it holds alerts back at `now`.
    pub fn is_active(&self, now: Millis) -> bool {
        self.starts_at <= now && now < self.ends_at
    }

    /// Its item, kept `retention` after its end.
    pub fn to_item(&self, retention: Millis) -> Item {
        let mut item = Item::new();
        item.insert(PK.into(), Attr::s(SILENCE_PK));
        item.insert(SK.into(), Attr::s(self.id.clone()));
        item.insert("match".into(), Attr::s(self.matcher.clone()));
        item.insert("starts_at".into(), Attr::n(self.starts_at));
        item.insert("ends_at".into(), Attr::n(self.ends_at));
        item.insert("comment".into(), Attr::s(self.comment.clone()));
        if let Some(by) = &self.by {
            item.insert("by".into(), Attr::s(by.clone()));
        }
        item.insert("created_at".into(), Attr::n(self.created_at));
        item.insert(EXPIRES_AT.into(), Attr::n(expiry(self.ends_at, retention)));
        item
    }

    pub fn from_item(item: &Item) -> Result<Silence, BadItem> {
        let matcher = item.string("match")?;
        Ok(Silence {
            id: item.string(SK)?.to_owned(),
            matcher: matcher.to_owned(),
            filter: parse_match(matcher).map_err(|_| BadItem("match"))?,
            starts_at: item.number("starts_at")?,
            ends_at: item.number("ends_at")?,
            comment: item.opt_string("comment").unwrap_or_default().to_owned(),
            by: item.opt_string("by").map(str::to_owned),
            created_at: item.opt_number("created_at")?.unwrap_or_default(),
        })
    }
}

/// A silence's match: an SNS filter policy, refused with the routes' messages.
pub fn parse_match(matcher: &str) -> Result<Filter, SilenceError> {
    let policy: Value =
        serde_json::from_str(matcher).map_err(|_| SilenceError::Match("not JSON".into()))?;
    Filter::parse(&policy).map_err(|e| SilenceError::Match(format!("filter: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silence_reads_back_as_written() {
        let silence = Silence::new(
            r#"{"project": ["orders-prod"]}"#,
            1_000,
            7_201_000,
            "maintenance",
            Some("ops"),
            500,
        )
        .unwrap();
        assert!(silence.id.starts_with("s-") && silence.id.len() == 14);
        let item = silence.to_item(30 * 86_400_000);
        assert_eq!(
            item[EXPIRES_AT],
            Attr::n((7_201_000 + 30 * 86_400_000) / 1000)
        );
        assert_eq!(Silence::from_item(&item), Ok(silence.clone()));
        assert!(
            silence.is_active(1_000) && !silence.is_active(7_201_000) && !silence.is_active(999)
        );
    }

    #[test]
    fn an_invalid_match_is_refused_as_a_route_filter_is() {
        let error = Silence::new(r#"{"severity": [1]}"#, 0, 1, "x", None, 0).unwrap_err();
        let route = crate::route::Routes::parse(
            "arn:aws:sns:us-east-1:123456789012:a",
            Some(r#"[{"topic":"arn:aws:sns:us-east-1:123456789012:b","filter":{"severity":[1]}}]"#),
        )
        .unwrap_err()
        .to_string();
        let said = error.to_string();
        let reason = said.strip_prefix("--match: ").unwrap();
        assert!(route.ends_with(reason), "{route} / {said}");
        assert_eq!(
            Silence::new("{", 0, 1, "x", None, 0),
            Err(SilenceError::Match("not JSON".into()))
        );
        assert_eq!(
            Silence::new("{}", 5, 5, "x", None, 0),
            Err(SilenceError::EndsBeforeStart)
        );
        assert_eq!(
            Silence::new("{}", 0, 5, " ", None, 0),
            Err(SilenceError::NoComment)
        );
    }
}
