//! A target's notification policy under alert state: a route's `notify` and `repeat_after`, the
//! default topic's `ALERT_TOPIC_NOTIFY` and `ALERT_TOPIC_REPEAT_AFTER`. Read at start; used only
//! when `ALERT_STATE_TABLE` is set.

/// Milliseconds since the Unix epoch: "now" and every time the state keeps.
pub type Millis = i64;

/// The shortest `repeat_after` a route may set: Atlas's own minimum re-notification interval.
pub const MIN_REPEAT_AFTER: Millis = 5 * 60 * 1000;

/// A target's policy: the default topic's (`ALERT_TOPIC_NOTIFY`, `ALERT_TOPIC_REPEAT_AFTER`) or a
/// route's (`notify`, `repeat_after`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policy {
    pub notify: Notify,
    /// Tell an unchanged alert again once this long has passed since this target was last told.
    pub repeat_after: Option<Millis>,
}

/// Which events a target gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Notify {
    /// Only what is new to it: the default.
    #[default]
    Changes,
    /// Every event that is not a duplicate (audit trails), silences and staleness aside.
    Every,
}

impl Notify {
    pub fn from_name(name: &str) -> Option<Notify> {
        match name {
            "changes" => Some(Notify::Changes),
            "every" => Some(Notify::Every),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Notify::Changes => "changes",
            Notify::Every => "every",
        }
    }
}

impl Policy {
    /// A policy from its two written values, or why not (said like the other route errors).
    pub fn parse(notify: Option<&str>, repeat_after: Option<&str>) -> Result<Policy, String> {
        let notify = match notify.map(str::trim) {
            None | Some("") => Notify::Changes,
            Some(name) => Notify::from_name(name)
                .ok_or_else(|| format!("notify {name:?} is not \"changes\" or \"every\""))?,
        };
        let repeat_after = match repeat_after.map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let after = parse_duration(text).ok_or_else(|| {
                    format!(
                        "repeat_after {text:?} is not a duration such as \"30m\", \"4h\" or \"1d\""
                    )
                })?;
                if after < MIN_REPEAT_AFTER {
                    return Err(format!("repeat_after {text:?} is shorter than 5 minutes"));
                }
                Some(after)
            }
        };
        Ok(Policy {
            notify,
            repeat_after,
        })
    }
}

/// `<n>m`, `<n>h` or `<n>d` (also `<n>s` and `<n>w`) as milliseconds: `repeat_after`,
/// `ALERT_STATE_RETENTION`, a silence's `--for`.
pub fn parse_duration(text: &str) -> Option<Millis> {
    let text = text.trim();
    let unit = text.chars().last()?;
    let n: i64 = text[..text.len() - unit.len_utf8()].parse().ok()?;
    let scale = match unit {
        's' => 1_000,
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        'w' => 7 * 86_400_000,
        _ => return None,
    };
    n.checked_mul(scale).filter(|ms| *ms > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_operators_write_them() {
        assert_eq!(parse_duration("5m"), Some(300_000));
        assert_eq!(parse_duration("2h"), Some(7_200_000));
        assert_eq!(parse_duration("30d"), Some(2_592_000_000));
        assert_eq!(parse_duration("0m"), None);
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("m"), None);
        assert_eq!(parse_duration("-5m"), None);
        assert_eq!(parse_duration("5é"), None);
        assert_eq!(parse_duration("99999999999999999d"), None);
    }

    #[test]
    fn a_policy_is_checked_as_it_is_read() {
        assert_eq!(Policy::parse(None, None), Ok(Policy::default()));
        assert_eq!(
            Policy::parse(Some("every"), Some("1h")),
            Ok(Policy {
                notify: Notify::Every,
                repeat_after: Some(3_600_000)
            })
        );
        assert_eq!(
            Policy::parse(Some("all"), None),
            Err("notify \"all\" is not \"changes\" or \"every\"".into())
        );
        assert_eq!(
            Policy::parse(None, Some("4m")),
            Err("repeat_after \"4m\" is shorter than 5 minutes".into())
        );
        assert!(
            Policy::parse(None, Some("soon"))
                .unwrap_err()
                .contains("not a duration")
        );
    }
}
