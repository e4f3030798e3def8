//! `SEVERITY_RULES`: what an operator says about alerts whose provider (and Atlas's alert
//! configuration) left the severity `unknown`. Each rule is an SNS filter policy over the alert's
//! message attributes, the same language and attributes as `ALERT_ROUTES`, and the severity it
//! sets; the first rule that matches wins.
//!
//! Unset, the shipped default rules apply (`default-rules.json`, justified in docs/severity.md);
//! `[]` turns them off; any other value replaces them (an operator who wants them and more copies
//! them from the docs).

use serde::Deserialize;
use serde_json::Value;

use crate::alert::{Severity, SeveritySource};
use crate::event::Attributes;
use crate::route::Filter;

pub const VARIABLE: &str = "SEVERITY_RULES";
/// The shipped rules, as an operator would write them.
pub const DEFAULT_RULES: &str = include_str!("default-rules.json");
/// Each rule is a filter evaluated per alert still `unknown`; more than this is a mistake.
pub const MAX_RULES: usize = 50;

/// What is wrong with `SEVERITY_RULES`, said the way a configuration error is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("SEVERITY_RULES is invalid: {0}")]
    Invalid(&'static str),
    /// One rule, by its position counted from 1.
    #[error("SEVERITY_RULES rule {position}: {reason}")]
    Rule { position: usize, reason: String },
}

/// The rules in force, and whether they are the shipped defaults (`default-rule <n>`) or the
/// operator's (`rule <n>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeverityRules {
    rules: Vec<Rule>,
    defaults: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    filter: Filter,
    severity: Severity,
}

/// A rule as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Written {
    filter: Value,
    severity: String,
}

impl Default for SeverityRules {
    fn default() -> Self {
        SeverityRules::defaults()
    }
}

impl SeverityRules {
    /// The shipped default rules.
    pub fn defaults() -> Self {
        let rules = parse_rules(DEFAULT_RULES).expect("the default severity rules are valid");
        SeverityRules {
            rules,
            defaults: true,
        }
    }

    /// No rules at all (`SEVERITY_RULES=[]`).
    pub fn none() -> Self {
        SeverityRules {
            rules: Vec::new(),
            defaults: false,
        }
    }

    /// Reads `SEVERITY_RULES`: absent means the defaults.
    pub fn parse(value: Option<&str>) -> Result<Self, RuleError> {
        match value {
            None => Ok(SeverityRules::defaults()),
            Some(value) => Ok(SeverityRules {
                rules: parse_rules(value)?,
                defaults: false,
            }),
        }
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The severity of the first rule whose filter matches `attributes`, and which rule it was.
    pub fn decide(&self, attributes: &Attributes) -> Option<(Severity, SeveritySource)> {
        let pairs = attributes.pairs();
        let (index, rule) = self
            .rules
            .iter()
            .enumerate()
            .find(|(_, rule)| rule.filter.matches(&pairs))?;
        let position = index + 1;
        let source = if self.defaults {
            SeveritySource::DefaultRule(position)
        } else {
            SeveritySource::Rule(position)
        };
        Some((rule.severity, source))
    }
}

fn parse_rules(value: &str) -> Result<Vec<Rule>, RuleError> {
    let written: Vec<Value> = match serde_json::from_str(value) {
        Ok(Value::Array(items)) => items,
        Ok(_) => return Err(RuleError::Invalid("not a JSON array of rules")),
        Err(_) => return Err(RuleError::Invalid("not JSON")),
    };
    written
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            let position = index + 1;
            let error = |reason: String| RuleError::Rule { position, reason };
            if position > MAX_RULES {
                return Err(error(format!("more than {MAX_RULES} rules")));
            }
            let written: Written =
                serde_json::from_value(item).map_err(|e| error(e.to_string()))?;
            let severity = Severity::from_name(&written.severity).ok_or_else(|| {
                error(format!(
                    "unknown severity {:?} (expected \"critical\", \"error\", \"warning\" or \"info\")",
                    written.severity
                ))
            })?;
            let filter = Filter::parse(&written.filter).map_err(|e| error(format!("filter: {e}")))?;
            Ok(Rule { filter, severity })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{Alert, Ownership, Status};
    use crate::providers::Provider;

    fn attributes(provider: Provider, event_type: &str, ownership: Ownership) -> Attributes {
        let mut alert = Alert::new(Status::Open, Severity::Unknown);
        alert.event_type = Some(event_type.to_owned());
        alert.ownership = ownership;
        Attributes::new(provider, &alert)
    }

    fn atlas(event_type: &str) -> Attributes {
        attributes(Provider::Atlas, event_type, Ownership::default())
    }

    #[test]
    fn the_defaults_page_on_what_stops_a_cluster_and_warn_on_thresholds() {
        let rules = SeverityRules::parse(None).unwrap();
        assert_eq!(rules, SeverityRules::defaults());
        let cases = [
            ("HOST_DOWN", Severity::Critical, 1),
            ("NO_PRIMARY", Severity::Critical, 1),
            ("CLUSTER_MONGOS_IS_MISSING", Severity::Critical, 1),
            ("CPS_RESTORE_FAILED", Severity::Error, 2),
            ("OUTSIDE_METRIC_THRESHOLD", Severity::Warning, 3),
            ("OUTSIDE_SERVERLESS_METRIC_THRESHOLD", Severity::Warning, 3),
            ("REPLICATION_OPLOG_WINDOW_RUNNING_OUT", Severity::Warning, 3),
            ("AWS_ENCRYPTION_KEY_NEEDS_ROTATION", Severity::Warning, 3),
            ("PRIMARY_ELECTED", Severity::Info, 4),
        ];
        for (event_type, severity, rule) in cases {
            assert_eq!(
                rules.decide(&atlas(event_type)),
                Some((severity, SeveritySource::DefaultRule(rule))),
                "{event_type}"
            );
        }
        assert_eq!(rules.decide(&atlas("SOMETHING_NEW")), None);
        // The defaults speak about Atlas only.
        let other = attributes(Provider::AppServices, "HOST_DOWN", Ownership::default());
        assert_eq!(rules.decide(&other), None);
    }

    #[test]
    fn the_first_matching_rule_wins_and_rules_count_from_one() {
        let rules = SeverityRules::parse(Some(
            r#"[{"filter": {"cluster": ["orders-prod"]}, "severity": "critical"},
                {"filter": {"event_type": [{"prefix": "OUTSIDE_"}]}, "severity": "warning"},
                {"filter": {}, "severity": "info"}]"#,
        ))
        .unwrap();
        let owned = Ownership {
            project: Some("Orders".into()),
            cluster: Some("orders-prod".into()),
            ..Ownership::default()
        };
        let prod = attributes(Provider::Atlas, "OUTSIDE_METRIC_THRESHOLD", owned);
        assert_eq!(
            rules.decide(&prod),
            Some((Severity::Critical, SeveritySource::Rule(1)))
        );
        assert_eq!(
            rules.decide(&atlas("OUTSIDE_METRIC_THRESHOLD")),
            Some((Severity::Warning, SeveritySource::Rule(2)))
        );
        assert_eq!(
            rules.decide(&atlas("HOST_DOWN")),
            Some((Severity::Info, SeveritySource::Rule(3))),
            "a set SEVERITY_RULES replaces the defaults"
        );
    }

    #[test]
    fn rules_see_monte_carlo_groups_and_tables() {
        let rules = SeverityRules::parse(Some(
            r#"[{"filter": {"provider": ["monte-carlo"], "tables": [{"prefix": "analytics:prod."}]}, "severity": "error"}]"#,
        ))
        .unwrap();
        let tables = Ownership {
            group: Some("zeus:ares".into()),
            tables: vec!["analytics:dev.x".into(), "analytics:prod.orders".into()],
            ..Ownership::default()
        };
        let alert = attributes(Provider::MonteCarlo, "open_anomaly_incident", tables);
        assert_eq!(
            rules.decide(&alert),
            Some((Severity::Error, SeveritySource::Rule(1)))
        );
    }

    #[test]
    fn an_empty_list_turns_the_rules_off() {
        let rules = SeverityRules::parse(Some("[]")).unwrap();
        assert!(rules.is_empty());
        assert_eq!(rules.decide(&atlas("HOST_DOWN")), None);
    }

    #[test]
    fn errors_name_the_variable_and_the_rule_position() {
        let ok = r#"{"filter": {}, "severity": "info"}"#;
        let cases = [
            ("nope".to_owned(), "SEVERITY_RULES is invalid: not JSON"),
            (
                r#"{"filter": {}}"#.to_owned(),
                "SEVERITY_RULES is invalid: not a JSON array of rules",
            ),
            (
                format!(r#"[{ok}, {{"filter": {{}}, "severity": "page-me"}}]"#),
                r#"SEVERITY_RULES rule 2: unknown severity "page-me""#,
            ),
            (
                format!(r#"[{ok}, {{"filter": {{}}, "severity": "unknown"}}]"#),
                r#"SEVERITY_RULES rule 2: unknown severity "unknown""#,
            ),
            (
                format!(r#"[{ok}, {{"severity": "info"}}]"#),
                "SEVERITY_RULES rule 2: missing field `filter`",
            ),
            (
                format!(r#"[{ok}, {ok}, {{"filter": {{"team": ["x"]}}, "severity": "info"}}]"#),
                r#"SEVERITY_RULES rule 3: filter: unknown attribute "team""#,
            ),
            (
                r#"[{"filter": {}, "severity": "info", "topic": "x"}]"#.to_owned(),
                "SEVERITY_RULES rule 1: unknown field `topic`",
            ),
            (
                r#"[{"filter": ["x"], "severity": "info"}]"#.to_owned(),
                "SEVERITY_RULES rule 1: filter: a filter must be a JSON object",
            ),
        ];
        for (value, expected) in cases {
            let error = SeverityRules::parse(Some(&value)).unwrap_err().to_string();
            assert!(
                error.starts_with(expected),
                "{value}\n  gave {error}\n  want {expected}"
            );
        }
    }
}
