//! `ALERT_ROUTES` and `SEVERITY_RULES` filters: SNS subscription filter policies (attribute scope)
//! over the alert's message attributes, parsed once at start and matched per alert per route.
//! `tables` is a `String.Array` attribute, read as SNS documents it: a value in a key's list holds
//! when it holds for any one of the array's elements, except `anything-but` (every form), which
//! holds only when none of the elements is excluded
//! (<https://docs.aws.amazon.com/sns/latest/dg/string-value-matching.html>, "For String.Array type
//! attributes, it matches if none of the array elements are listed in the policy property").
//!
//! The semantics are SNS's documented ones, which moto (the emulator the tests run against) departs
//! from in a few places; `tests/e2e/filter_policies.py` names each departure and
//! `tests/route_differential.rs` checks this module against moto everywhere else.
//! - keys are ANDed, the values in a key's list are ORed
//!   (<https://docs.aws.amazon.com/sns/latest/dg/and-or-logic.html>);
//! - `$or`: a list of at least 2 non-empty policies, alongside other keys and nested in a branch;
//! - values: exact strings, `prefix`, `suffix`, `equals-ignore-case`, `anything-but` (a string, a
//!   list of strings, `{"prefix": …}` or `{"suffix": …}`) and `exists`
//!   (<https://docs.aws.amazon.com/sns/latest/dg/string-value-matching.html>,
//!   <https://docs.aws.amazon.com/sns/latest/dg/attribute-key-matching.html>);
//! - at most 150 combinations, counted as the docs do: the product of the list lengths within one
//!   policy, summed over the `$or` branches
//!   (<https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html>).
//!
//! Everything else SNS offers is refused with a [`FilterError`], because it can never match a
//! String attribute (numbers, `numeric`, `null`, booleans), is out of scope (`cidr`, `wildcard`,
//! `anything-but` with `equals-ignore-case`), or belongs to the `MessageBody` scope (nested
//! objects). SNS's five-key limit is checked on the top-level object, `$or` included, as moto counts
//! it (the docs do not say how the keys inside `$or` branches count).

use std::fmt;

use serde_json::{Map, Value};

/// "The total combination of values in a filter policy must not exceed 150."
pub const MAX_COMBINATIONS: u64 = 150;

/// The message attributes a filter can name, as `event::Attributes::pairs` spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribute {
    Provider,
    Status,
    Severity,
    EventType,
    Project,
    Cluster,
    Group,
    Tables,
    Labels,
}

/// "A filter policy can have a maximum of five attribute names."
pub const MAX_KEYS: usize = 5;

impl Attribute {
    pub const ALL: [Attribute; 9] = [
        Attribute::Provider,
        Attribute::Status,
        Attribute::Severity,
        Attribute::EventType,
        Attribute::Project,
        Attribute::Cluster,
        Attribute::Group,
        Attribute::Tables,
        Attribute::Labels,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Attribute::Provider => "provider",
            Attribute::Status => "status",
            Attribute::Severity => "severity",
            Attribute::EventType => "event_type",
            Attribute::Project => "project",
            Attribute::Cluster => "cluster",
            Attribute::Group => "group",
            Attribute::Tables => "tables",
            Attribute::Labels => "labels",
        }
    }

    fn from_name(name: &str) -> Option<Attribute> {
        Attribute::ALL.into_iter().find(|a| a.name() == name)
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a filter was refused. The lead-in (`ALERT_ROUTES route N: filter: `) is the caller's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("a filter must be a JSON object")]
    NotAnObject,
    #[error(
        "unknown attribute {0:?} (a filter names provider, status, severity, event_type, project, cluster, group, tables, labels or $or)"
    )]
    UnknownAttribute(String),
    #[error("{0} keys, SNS allows at most {MAX_KEYS} in a filter policy")]
    TooManyKeys(usize),
    #[error("\"{0}\": the values must be a list")]
    NotAList(Attribute),
    #[error(
        "\"{0}\": nested objects are not supported (they filter a message body, not attributes)"
    )]
    Nested(Attribute),
    #[error("\"{0}\": empty list")]
    EmptyList(Attribute),
    #[error("\"{0}\": numeric conditions are not supported on string attributes")]
    Numeric(Attribute),
    #[error("\"{attribute}\": {found} can never match a string attribute")]
    NotAString {
        attribute: Attribute,
        found: &'static str,
    },
    #[error("\"{0}\": a list inside the list of values is not supported")]
    NestedList(Attribute),
    #[error("\"{attribute}\": a condition has exactly one operator, this one has {count}")]
    OperatorCount { attribute: Attribute, count: usize },
    #[error("unknown operator {operator:?} on \"{attribute}\"")]
    UnknownOperator {
        attribute: Attribute,
        operator: String,
    },
    #[error("\"{attribute}\": the {operator:?} operator is not supported by ALERT_ROUTES")]
    UnsupportedOperator {
        attribute: Attribute,
        operator: String,
    },
    #[error("\"{attribute}\": {operator:?} needs a string")]
    NeedsString {
        attribute: Attribute,
        operator: &'static str,
    },
    #[error("\"{0}\": \"exists\" needs true or false")]
    ExistsNeedsBool(Attribute),
    #[error(
        "\"{0}\": \"anything-but\" needs a string, a list of strings, {{\"prefix\": …}} or {{\"suffix\": …}}"
    )]
    AnythingButForm(Attribute),
    #[error("\"{0}\": \"anything-but\" with an empty prefix or suffix")]
    AnythingButEmpty(Attribute),
    #[error("\"$or\" needs a list of at least 2 filters")]
    OrNotAList,
    #[error("\"$or\" entry {0} is not a JSON object")]
    OrEntryNotAnObject(usize),
    #[error("\"$or\" entry {0} is empty")]
    OrEntryEmpty(usize),
    #[error("too complex: {0} combinations of values, SNS allows at most {MAX_COMBINATIONS}")]
    TooComplex(u64),
}

/// A parsed filter policy. `Filter::default()` (no conditions) matches every alert, as an absent
/// or `{}` filter policy does in SNS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Every one of these must hold (the policy's keys).
    all: Vec<Condition>,
    /// And at least one of these, unless empty (the `$or` branches).
    any: Vec<Filter>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Condition {
    attribute: Attribute,
    /// At least one of these must hold (the key's list of values).
    tests: Vec<Test>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Test {
    Equals(String),
    Prefix(String),
    Suffix(String),
    /// Stored folded (see [`fold`]).
    EqualsIgnoreCase(String),
    AnythingBut(Vec<String>),
    AnythingButPrefix(String),
    AnythingButSuffix(String),
    Exists(bool),
}

impl Filter {
    /// Parses and validates a filter policy, refusing what SNS would refuse at subscribe time and
    /// what can never match one of our String attributes.
    pub fn parse(policy: &Value) -> Result<Filter, FilterError> {
        let Value::Object(object) = policy else {
            return Err(FilterError::NotAnObject);
        };
        // Counted as moto counts it: the top-level keys, `$or` included.
        if object.len() > MAX_KEYS {
            return Err(FilterError::TooManyKeys(object.len()));
        }
        let filter = parse_object(object)?;
        match filter.combinations() {
            n if n > MAX_COMBINATIONS => Err(FilterError::TooComplex(n)),
            _ => Ok(filter),
        }
    }

    /// Whether an alert with these message attributes goes to the route. An attribute missing
    /// from the slice is absent, as in SNS (only `"exists": false` matches it); an attribute named
    /// more than once is an array (`String.Array`): a value of the key's list matches it through
    /// any one element, an `anything-but` only when it holds for every element.
    pub fn matches(&self, attributes: &[(&str, &str)]) -> bool {
        self.all
            .iter()
            .all(|condition| condition.matches(attributes))
            && (self.any.is_empty() || self.any.iter().any(|branch| branch.matches(attributes)))
    }

    /// SNS's complexity: the product of the list lengths, times the sum over the `$or` branches.
    fn combinations(&self) -> u64 {
        let own = self
            .all
            .iter()
            .fold(1u64, |n, c| n.saturating_mul(c.tests.len() as u64));
        if self.any.is_empty() {
            own
        } else {
            let branches = self
                .any
                .iter()
                .fold(0u64, |n, b| n.saturating_add(b.combinations()));
            own.saturating_mul(branches)
        }
    }
}

impl Condition {
    fn matches(&self, attributes: &[(&str, &str)]) -> bool {
        let name = self.attribute.name();
        let values = || {
            attributes
                .iter()
                .filter(move |(n, _)| *n == name)
                .map(|(_, v)| *v)
        };
        if values().next().is_none() {
            return self.tests.iter().any(|test| test.matches(None));
        }
        self.tests.iter().any(|test| {
            if test.is_exclusion() {
                // "For String.Array type attributes, it matches if none of the array elements are
                // listed in the policy property."
                values().all(|value| test.matches(Some(value)))
            } else {
                values().any(|value| test.matches(Some(value)))
            }
        })
    }
}

impl Test {
    /// The `anything-but` forms: on an array they must hold for every element.
    fn is_exclusion(&self) -> bool {
        matches!(
            self,
            Test::AnythingBut(_) | Test::AnythingButPrefix(_) | Test::AnythingButSuffix(_)
        )
    }

    fn matches(&self, value: Option<&str>) -> bool {
        let Some(value) = value else {
            // An absent attribute matches only `"exists": false`, anything-but included.
            return matches!(self, Test::Exists(false));
        };
        match self {
            Test::Equals(s) => value == s,
            Test::Prefix(s) => value.starts_with(s.as_str()),
            Test::Suffix(s) => value.ends_with(s.as_str()),
            Test::EqualsIgnoreCase(folded) => fold(value).eq(folded.chars()),
            Test::AnythingBut(list) => !list.iter().any(|s| s == value),
            Test::AnythingButPrefix(s) => !value.starts_with(s.as_str()),
            Test::AnythingButSuffix(s) => !value.ends_with(s.as_str()),
            Test::Exists(wanted) => *wanted,
        }
    }
}

/// Case-insensitive comparison without allocating per match: both sides lower-cased character by
/// character, with ς read as σ (one letter, which whole-string lower-casing spells by its position
/// in the word).
fn fold(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ς' { 'σ' } else { c })
}

fn parse_object(object: &Map<String, Value>) -> Result<Filter, FilterError> {
    let mut filter = Filter::default();
    for (key, value) in object {
        if key == "$or" {
            filter.any = parse_or(value)?;
        } else {
            let attribute = Attribute::from_name(key)
                .ok_or_else(|| FilterError::UnknownAttribute(key.clone()))?;
            filter.all.push(Condition {
                attribute,
                tests: parse_values(attribute, value)?,
            });
        }
    }
    Ok(filter)
}

fn parse_or(value: &Value) -> Result<Vec<Filter>, FilterError> {
    // With fewer than 2 objects SNS reads "$or" as an attribute name, which ours can never be.
    let branches = match value {
        Value::Array(branches) if branches.len() >= 2 => branches,
        _ => return Err(FilterError::OrNotAList),
    };
    branches
        .iter()
        .enumerate()
        .map(|(i, branch)| match branch {
            Value::Object(object) if object.is_empty() => Err(FilterError::OrEntryEmpty(i + 1)),
            Value::Object(object) => parse_object(object),
            _ => Err(FilterError::OrEntryNotAnObject(i + 1)),
        })
        .collect()
}

fn parse_values(attribute: Attribute, value: &Value) -> Result<Vec<Test>, FilterError> {
    match value {
        Value::Array(items) if items.is_empty() => Err(FilterError::EmptyList(attribute)),
        Value::Array(items) => items
            .iter()
            .map(|item| parse_test(attribute, item))
            .collect(),
        Value::Object(_) => Err(FilterError::Nested(attribute)),
        _ => Err(FilterError::NotAList(attribute)),
    }
}

fn parse_test(attribute: Attribute, item: &Value) -> Result<Test, FilterError> {
    let not_a_string = |found| FilterError::NotAString { attribute, found };
    match item {
        Value::String(s) => Ok(Test::Equals(s.clone())),
        Value::Number(_) => Err(FilterError::Numeric(attribute)),
        Value::Null => Err(not_a_string("null")),
        Value::Bool(true) => Err(not_a_string("true")),
        Value::Bool(false) => Err(not_a_string("false")),
        Value::Array(_) => Err(FilterError::NestedList(attribute)),
        Value::Object(condition) => {
            let mut entries = condition.iter();
            let (Some((operator, operand)), None) = (entries.next(), entries.next()) else {
                return Err(FilterError::OperatorCount {
                    attribute,
                    count: condition.len(),
                });
            };
            parse_operator(attribute, operator, operand)
        }
    }
}

fn parse_operator(
    attribute: Attribute,
    operator: &str,
    operand: &Value,
) -> Result<Test, FilterError> {
    let string = |operator: &'static str| match operand {
        Value::String(s) => Ok(s.clone()),
        _ => Err(FilterError::NeedsString {
            attribute,
            operator,
        }),
    };
    match operator {
        "prefix" => string("prefix").map(Test::Prefix),
        "suffix" => string("suffix").map(Test::Suffix),
        "equals-ignore-case" => {
            string("equals-ignore-case").map(|s| Test::EqualsIgnoreCase(fold(&s).collect()))
        }
        "anything-but" => parse_anything_but(attribute, operand),
        "exists" => match operand {
            Value::Bool(wanted) => Ok(Test::Exists(*wanted)),
            _ => Err(FilterError::ExistsNeedsBool(attribute)),
        },
        "numeric" => Err(FilterError::Numeric(attribute)),
        // Documented SNS operators that ALERT_ROUTES leaves out.
        "cidr" | "wildcard" => Err(FilterError::UnsupportedOperator {
            attribute,
            operator: operator.to_owned(),
        }),
        _ => Err(FilterError::UnknownOperator {
            attribute,
            operator: operator.to_owned(),
        }),
    }
}

fn parse_anything_but(attribute: Attribute, operand: &Value) -> Result<Test, FilterError> {
    match operand {
        Value::String(s) => Ok(Test::AnythingBut(vec![s.clone()])),
        Value::Array(items) if items.is_empty() => Err(FilterError::EmptyList(attribute)),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                Value::Number(_) => Err(FilterError::Numeric(attribute)),
                _ => Err(FilterError::AnythingButForm(attribute)),
            })
            .collect::<Result<_, _>>()
            .map(Test::AnythingBut),
        Value::Number(_) => Err(FilterError::Numeric(attribute)),
        Value::Object(inner) => {
            let mut entries = inner.iter();
            let (Some((operator, Value::String(text))), None) = (entries.next(), entries.next())
            else {
                return Err(FilterError::AnythingButForm(attribute));
            };
            let test = match operator.as_str() {
                "prefix" => Test::AnythingButPrefix(text.clone()),
                "suffix" => Test::AnythingButSuffix(text.clone()),
                _ => return Err(FilterError::AnythingButForm(attribute)),
            };
            // It would exclude every value; SNS's rule engine (aws/event-ruler) refuses it too.
            if text.is_empty() {
                return Err(FilterError::AnythingButEmpty(attribute));
            }
            Ok(test)
        }
        _ => Err(FilterError::AnythingButForm(attribute)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn filter(policy: Value) -> Filter {
        Filter::parse(&policy).unwrap_or_else(|e| panic!("{policy} refused: {e}"))
    }

    fn refusal(policy: Value) -> String {
        match Filter::parse(&policy) {
            Ok(filter) => panic!("{policy} accepted as {filter:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn alert<'a>(
        provider: &'a str,
        status: &'a str,
        severity: &'a str,
        event_type: &'a str,
    ) -> [(&'static str, &'a str); 4] {
        [
            ("provider", provider),
            ("status", status),
            ("severity", severity),
            ("event_type", event_type),
        ]
    }

    fn event_type(value: &str) -> [(&'static str, &str); 4] {
        alert("atlas", "open", "critical", value)
    }

    #[test]
    fn ownership_attributes_filter_and_tables_match_through_any_element_but_anything_but_all() {
        let owned = [
            ("provider", "monte-carlo"),
            ("group", "zeus:ares"),
            ("tables", "analytics:prod.orders"),
            ("tables", "analytics:prod.users"),
        ];
        assert!(filter(json!({"tables": ["analytics:prod.users"]})).matches(&owned));
        assert!(filter(json!({"tables": [{"prefix": "analytics:prod."}]})).matches(&owned));
        assert!(!filter(json!({"tables": ["analytics:prod.items"]})).matches(&owned));
        assert!(filter(json!({"tables": [{"suffix": ".users"}]})).matches(&owned));
        assert!(
            filter(json!({"tables": [{"equals-ignore-case": "ANALYTICS:PROD.ORDERS"}]}))
                .matches(&owned)
        );
        // anything-but holds only when no element is excluded: one excluded table is enough to
        // refuse the alert, in every form.
        for excluding_one in [
            json!({"tables": [{"anything-but": ["analytics:prod.orders"]}]}),
            json!({"tables": [{"anything-but": "analytics:prod.users"}]}),
            json!({"tables": [{"anything-but": {"prefix": "analytics:prod.u"}}]}),
            json!({"tables": [{"anything-but": {"suffix": ".orders"}}]}),
        ] {
            assert!(
                !filter(excluding_one.clone()).matches(&owned),
                "{excluding_one}"
            );
        }
        for excluding_none in [
            json!({"tables": [{"anything-but": ["analytics:prod.items", "analytics:prod"]}]}),
            json!({"tables": [{"anything-but": {"prefix": "warehouse:"}}]}),
            json!({"tables": [{"anything-but": {"suffix": ".items"}}]}),
        ] {
            assert!(
                filter(excluding_none.clone()).matches(&owned),
                "{excluding_none}"
            );
        }
        // The list is still ORed: another value in it can match through any one element.
        assert!(
            filter(json!({"tables": [{"anything-but": ["analytics:prod.orders"]}, "analytics:prod.users"]}))
                .matches(&owned)
        );
        // A single-element array is a String.
        let one = [
            ("provider", "monte-carlo"),
            ("tables", "analytics:prod.orders"),
        ];
        assert!(
            !filter(json!({"tables": [{"anything-but": ["analytics:prod.orders"]}]})).matches(&one)
        );
        assert!(
            filter(json!({"tables": [{"anything-but": ["analytics:prod.users"]}]})).matches(&one)
        );
        assert!(
            filter(json!({"group": [{"exists": true}], "cluster": [{"exists": false}]}))
                .matches(&owned)
        );
        assert!(!filter(json!({"project": [{"exists": true}]})).matches(&owned));
        assert!(!filter(json!({"tables": [{"exists": false}]})).matches(&owned));
        let atlas = [
            ("provider", "atlas"),
            ("project", "Orders"),
            ("cluster", "orders-prod"),
        ];
        assert!(filter(json!({"cluster": ["orders-prod"], "project": ["Orders"]})).matches(&atlas));
        assert!(!filter(json!({"tables": [{"anything-but": ["x"]}]})).matches(&atlas));
    }

    #[test]
    fn at_most_five_keys_at_the_top() {
        let five = json!({"provider": ["a"], "status": ["b"], "severity": ["c"], "event_type": ["d"], "$or": [{"project": ["e"]}, {"cluster": ["f"]}]});
        assert!(Filter::parse(&five).is_ok());
        let six = json!({"provider": ["a"], "status": ["b"], "severity": ["c"], "event_type": ["d"], "project": ["e"], "cluster": ["f"]});
        assert_eq!(
            refusal(six),
            "6 keys, SNS allows at most 5 in a filter policy"
        );
    }

    #[test]
    fn absent_and_empty_filters_match_every_alert() {
        assert!(Filter::default().matches(&event_type("X")));
        assert!(filter(json!({})).matches(&event_type("X")));
        assert!(Filter::default().matches(&[]));
        assert_eq!(filter(json!({})), Filter::default());
    }

    #[test]
    fn exact_strings_are_case_sensitive_and_ored() {
        let f = filter(json!({"severity": ["critical", "error"]}));
        assert!(f.matches(&alert("atlas", "open", "critical", "X")));
        assert!(f.matches(&alert("atlas", "open", "error", "X")));
        assert!(!f.matches(&alert("atlas", "open", "warning", "X")));
        assert!(!filter(json!({"event_type": ["host_down"]})).matches(&event_type("HOST_DOWN")));
        assert!(!filter(json!({"event_type": ["HOST"]})).matches(&event_type("HOST_DOWN")));
    }

    #[test]
    fn keys_are_anded() {
        let f = filter(json!({"provider": ["monte-carlo"], "status": ["open"]}));
        assert!(f.matches(&alert("monte-carlo", "open", "info", "X")));
        assert!(!f.matches(&alert("monte-carlo", "resolved", "info", "X")));
        assert!(!f.matches(&alert("atlas", "open", "info", "X")));
    }

    #[test]
    fn prefix_and_suffix() {
        let prefix = filter(json!({"event_type": [{"prefix": "open_"}]}));
        assert!(prefix.matches(&event_type("open_anomaly_incident")));
        assert!(prefix.matches(&event_type("open_")));
        assert!(!prefix.matches(&event_type("OPEN_anomaly")));
        assert!(!prefix.matches(&event_type("open")));
        let suffix = filter(json!({"event_type": [{"suffix": "_incident"}]}));
        assert!(suffix.matches(&event_type("open_anomaly_incident")));
        assert!(!suffix.matches(&event_type("open_anomaly_INCIDENT")));
        let unicode = filter(json!({"event_type": [{"prefix": "é"}, {"suffix": "🔥"}]}));
        assert!(unicode.matches(&event_type("été")));
        assert!(unicode.matches(&event_type("feu 🔥")));
        assert!(!unicode.matches(&event_type("e\u{301}té")));
        assert!(filter(json!({"event_type": [{"prefix": ""}]})).matches(&event_type("x")));
    }

    #[test]
    fn equals_ignore_case_ignores_case_on_both_sides() {
        let lower = filter(json!({"severity": [{"equals-ignore-case": "critical"}]}));
        let upper = filter(json!({"severity": [{"equals-ignore-case": "CRITICAL"}]}));
        for f in [&lower, &upper] {
            for value in ["critical", "CRITICAL", "Critical", "cRiTiCaL"] {
                assert!(f.matches(&alert("atlas", "open", value, "X")), "{value}");
            }
            assert!(!f.matches(&alert("atlas", "open", "critical!", "X")));
            assert!(!f.matches(&alert("atlas", "open", "critica", "X")));
        }
        let unicode = filter(json!({"event_type": [{"equals-ignore-case": "ÉTÉ Größe"}]}));
        assert!(unicode.matches(&event_type("été größe")));
        assert!(!unicode.matches(&event_type("ete grosse")));
        // A final sigma is the same letter as σ and Σ.
        let sigma = filter(json!({"event_type": [{"equals-ignore-case": "ΟΔΟΣ"}]}));
        assert!(sigma.matches(&event_type("οδος")));
        assert!(sigma.matches(&event_type("οδοσ")));
    }

    #[test]
    fn anything_but_forms() {
        let one = filter(json!({"status": [{"anything-but": "informational"}]}));
        assert!(one.matches(&alert("atlas", "open", "info", "X")));
        assert!(!one.matches(&alert("atlas", "informational", "info", "X")));
        let list = filter(json!({"severity": [{"anything-but": ["info", "unknown"]}]}));
        assert!(list.matches(&alert("atlas", "open", "critical", "X")));
        assert!(!list.matches(&alert("atlas", "open", "info", "X")));
        assert!(!list.matches(&alert("atlas", "open", "unknown", "X")));
        let prefix = filter(json!({"event_type": [{"anything-but": {"prefix": "open_"}}]}));
        assert!(prefix.matches(&event_type("HOST_DOWN")));
        assert!(prefix.matches(&event_type("open")));
        assert!(!prefix.matches(&event_type("open_anomaly_incident")));
        let suffix = filter(json!({"event_type": [{"anything-but": {"suffix": "_incident"}}]}));
        assert!(suffix.matches(&event_type("HOST_DOWN")));
        assert!(!suffix.matches(&event_type("open_anomaly_incident")));
    }

    #[test]
    fn exists_on_present_and_absent_attributes() {
        let present = filter(json!({"event_type": [{"exists": true}]}));
        let absent = filter(json!({"event_type": [{"exists": false}]}));
        assert!(present.matches(&event_type("X")));
        assert!(!absent.matches(&event_type("X")));
        let missing = [("provider", "atlas")];
        assert!(!present.matches(&missing));
        assert!(absent.matches(&missing));
        // Only "exists": false matches an absent attribute, anything-but included.
        assert!(!filter(json!({"event_type": [{"anything-but": "X"}]})).matches(&missing));
    }

    #[test]
    fn or_alongside_keys_and_nested() {
        let f = filter(json!({
            "provider": ["atlas"],
            "$or": [
                {"severity": ["critical"]},
                {"status": ["open"], "$or": [{"event_type": ["A"]}, {"event_type": [{"prefix": "B"}]}]}
            ]
        }));
        assert!(f.matches(&alert("atlas", "resolved", "critical", "Z")));
        assert!(f.matches(&alert("atlas", "open", "info", "A")));
        assert!(f.matches(&alert("atlas", "open", "info", "Bee")));
        assert!(!f.matches(&alert("atlas", "open", "info", "C")));
        assert!(!f.matches(&alert("atlas", "resolved", "info", "A")));
        assert!(!f.matches(&alert("monte-carlo", "open", "critical", "A")));
        let only_or =
            filter(json!({"$or": [{"severity": ["critical"]}, {"provider": ["monte-carlo"]}]}));
        assert!(only_or.matches(&alert("monte-carlo", "open", "info", "X")));
        assert!(only_or.matches(&alert("atlas", "open", "critical", "X")));
        assert!(!only_or.matches(&alert("atlas", "open", "info", "X")));
    }

    #[test]
    fn the_spec_examples() {
        let paging = filter(json!({"severity": ["critical", "error"]}));
        let data = filter(json!({"provider": ["monte-carlo"]}));
        let chat = filter(json!({"status": [{"anything-but": "informational"}]}));
        let mc = alert(
            "monte-carlo",
            "informational",
            "error",
            "open_anomaly_incident",
        );
        assert_eq!(
            (paging.matches(&mc), data.matches(&mc), chat.matches(&mc)),
            (true, true, false)
        );
    }

    #[test]
    fn counts_combinations_as_the_docs_do() {
        // The docs' example, on our attribute names: 1 * (2 + 1 * (2 + 3)) = 7.
        let docs = filter(json!({
            "provider": ["atlas"],
            "$or": [
                {"severity": ["critical", "error"]},
                {"status": ["open"], "$or": [
                    {"event_type": ["A", "B"]},
                    {"severity": ["info", "warning", "unknown"]}
                ]}
            ]
        }));
        assert_eq!(docs.combinations(), 7);
        // 5 * 6 * 5 = 150 is the most SNS accepts; an anything-but list counts as one value.
        let at_limit = json!({
            "severity": ["critical", "error", "warning", "info", "unknown"],
            "status": ["open", "updated", "acknowledged", "resolved", "cancelled", "informational"],
            "event_type": ["A", "B", "C", "D", {"anything-but": ["E", "F", "G"]}]
        });
        assert_eq!(filter(at_limit.clone()).combinations(), 150);
        let mut over = at_limit;
        over["provider"] = json!(["atlas", "monte-carlo"]);
        assert_eq!(
            refusal(over),
            "too complex: 300 combinations of values, SNS allows at most 150"
        );
        // $or branches add up: 100 + 60.
        let or_over = json!({"$or": [
            {"status": ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"],
             "severity": ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]},
            {"status": ["a", "b", "c", "d", "e", "f"], "provider": ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]}
        ]});
        assert!(refusal(or_over).starts_with("too complex: 160 "));
    }

    #[test]
    fn refuses_what_sns_or_our_attributes_cannot_take() {
        let cases = [
            (json!(["severity"]), "a filter must be a JSON object"),
            (json!(null), "a filter must be a JSON object"),
            (
                json!({"priority": ["high"]}),
                "unknown attribute \"priority\" (a filter names provider, status, severity, event_type, project, cluster, group, tables, labels or $or)",
            ),
            (
                json!({"status": "open"}),
                "\"status\": the values must be a list",
            ),
            (
                json!({"status": {"state": ["open"]}}),
                "\"status\": nested objects are not supported (they filter a message body, not attributes)",
            ),
            (json!({"status": []}), "\"status\": empty list"),
            (
                json!({"severity": [1]}),
                "\"severity\": numeric conditions are not supported on string attributes",
            ),
            (
                json!({"severity": [{"numeric": [">", 1]}]}),
                "\"severity\": numeric conditions are not supported on string attributes",
            ),
            (
                json!({"severity": [{"anything-but": [1, 2]}]}),
                "\"severity\": numeric conditions are not supported on string attributes",
            ),
            (
                json!({"severity": [{"anything-but": 1}]}),
                "\"severity\": numeric conditions are not supported on string attributes",
            ),
            (
                json!({"status": [null]}),
                "\"status\": null can never match a string attribute",
            ),
            (
                json!({"status": [true]}),
                "\"status\": true can never match a string attribute",
            ),
            (
                json!({"status": [false]}),
                "\"status\": false can never match a string attribute",
            ),
            (
                json!({"status": [["open"]]}),
                "\"status\": a list inside the list of values is not supported",
            ),
            (
                json!({"status": [{"prefix": "o", "suffix": "n"}]}),
                "\"status\": a condition has exactly one operator, this one has 2",
            ),
            (
                json!({"status": [{}]}),
                "\"status\": a condition has exactly one operator, this one has 0",
            ),
            (
                json!({"event_type": [{"regex": "o.*"}]}),
                "unknown operator \"regex\" on \"event_type\"",
            ),
            (
                json!({"event_type": [{"wildcard": "*ball"}]}),
                "\"event_type\": the \"wildcard\" operator is not supported by ALERT_ROUTES",
            ),
            (
                json!({"event_type": [{"cidr": "10.0.0.0/24"}]}),
                "\"event_type\": the \"cidr\" operator is not supported by ALERT_ROUTES",
            ),
            (
                json!({"event_type": [{"prefix": 1}]}),
                "\"event_type\": \"prefix\" needs a string",
            ),
            (
                json!({"event_type": [{"suffix": null}]}),
                "\"event_type\": \"suffix\" needs a string",
            ),
            (
                json!({"event_type": [{"equals-ignore-case": ["a"]}]}),
                "\"event_type\": \"equals-ignore-case\" needs a string",
            ),
            (
                json!({"event_type": [{"exists": "true"}]}),
                "\"event_type\": \"exists\" needs true or false",
            ),
            (
                json!({"status": [{"anything-but": []}]}),
                "\"status\": empty list",
            ),
            (
                json!({"status": [{"anything-but": [null]}]}),
                "\"status\": \"anything-but\" needs a string, a list of strings, {\"prefix\": …} or {\"suffix\": …}",
            ),
            (
                json!({"status": [{"anything-but": {"wildcard": "o*"}}]}),
                "\"status\": \"anything-but\" needs a string, a list of strings, {\"prefix\": …} or {\"suffix\": …}",
            ),
            (
                json!({"status": [{"anything-but": {"equals-ignore-case": "open"}}]}),
                "\"status\": \"anything-but\" needs a string, a list of strings, {\"prefix\": …} or {\"suffix\": …}",
            ),
            (
                json!({"status": [{"anything-but": {"prefix": "o", "suffix": "n"}}]}),
                "\"status\": \"anything-but\" needs a string, a list of strings, {\"prefix\": …} or {\"suffix\": …}",
            ),
            (
                json!({"status": [{"anything-but": {"prefix": ""}}]}),
                "\"status\": \"anything-but\" with an empty prefix or suffix",
            ),
            (
                json!({"status": [{"anything-but": {"suffix": ""}}]}),
                "\"status\": \"anything-but\" with an empty prefix or suffix",
            ),
            (
                json!({"$or": {"status": ["open"]}}),
                "\"$or\" needs a list of at least 2 filters",
            ),
            (
                json!({"$or": [{"status": ["open"]}]}),
                "\"$or\" needs a list of at least 2 filters",
            ),
            (
                json!({"$or": [{"status": ["open"]}, ["severity"]]}),
                "\"$or\" entry 2 is not a JSON object",
            ),
            (
                json!({"$or": [{}, {"status": ["open"]}]}),
                "\"$or\" entry 1 is empty",
            ),
            (
                json!({"$or": [{"status": ["open"]}, {"$or": [{"status": ["x"]}, {"prefix": "a"}]}]}),
                "unknown attribute \"prefix\" (a filter names provider, status, severity, event_type, project, cluster, group, tables, labels or $or)",
            ),
        ];
        for (policy, expected) in cases {
            assert_eq!(refusal(policy.clone()), expected, "{policy}");
        }
    }
}
