//! Differential test of `alert_relay::route::Filter` against moto's SNS filter-policy matcher.
//!
//! `tests/e2e/filter_policies.py` (run once, with the project's `.venv` Python and its pinned moto)
//! generates seeded policies in the subset `ALERT_ROUTES` accepts and attribute sets that cover every
//! provider of the registry, status and severity plus awkward event types, and the ownership facts
//! `project`, `cluster`, `group` (often absent), `tables` (a `String.Array` of 1 to 10 names, often
//! absent) and a grouped sender's `labels` (a `String.Array` of 1 to 10 `name=value` entries, often
//! absent), and prints, for every (policy, attributes) pair, three verdicts:
//! - `moto`: moto's own `FilterPolicyMatcher`, as moto's server runs it for a subscription with
//!   `FilterPolicyScope=MessageAttributes`;
//! - `documented`: the SNS documentation's rules, written out one line each in that module;
//! - `moto_model`: the documented rules with each of moto's known departures turned on.
//!
//! Each attribute set is read into `alert_relay::event::Attributes`, and the `MessageAttributes`
//! the module gave moto must be exactly `Attributes::typed`, what `publish::sns` sends (`String`s,
//! then `tables` and `labels` as `String.Array`s holding serde_json's JSON array); `Filter` reads
//! `Attributes::pairs`, as the function does.
//!
//! Where no departure applies to a pair, `Filter` must agree with moto itself. Where one does (the
//! module's `DEPARTURES`: equals-ignore-case with an upper-case policy value, exact matching on a
//! value that is JSON text, anything-but suffix, a value before `"exists": false` on an absent
//! attribute, and on a `String.Array`: prefix and suffix, anything-but on the characters of its JSON
//! text, its whole JSON text as a value), `Filter` must follow the documentation, and moto must do
//! exactly what the departure says (`moto == moto_model` on every pair), so the list of departures
//! is neither incomplete nor stale. A missing `.venv` is a failure naming `make venv`, never a skip.
//! The slow tier: built only with the `oracles` feature (`make oracles`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use alert_relay::event::Attributes;
use alert_relay::route::Filter;
use serde_json::Value;

const SEED: u64 = 0x5eed_0009;
const POLICIES: usize = 400;
const ATTRIBUTE_SETS: usize = 400;
/// Pairs on which `Filter` is compared with moto's own verdict.
const MIN_COMPARED_WITH_MOTO: usize = 100_000;
/// Occurrences of each operator form across the policies, overall and on `tables`.
const MIN_PER_FORM: usize = 10;
/// Attribute sets without each ownership fact, with it, and with several tables or labels.
const MIN_PER_SHAPE: usize = 50;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn venv_python(root: &Path) -> PathBuf {
    let python = root.join(".venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: this differential test runs moto from the project's virtualenv; \
         run `make venv` (it fails rather than skipping without it)",
        python.display()
    );
    python
}

fn run_batch() -> (Value, Vec<Value>) {
    let root = root();
    let output = Command::new(venv_python(&root))
        .arg(root.join("tests/e2e/filter_policies.py"))
        .args(["--seed", &SEED.to_string()])
        .args(["--policies", &POLICIES.to_string()])
        .args(["--attributes", &ATTRIBUTE_SETS.to_string()])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap_or_else(|e| panic!("could not run .venv/bin/python ({e}); run `make venv`"));
    assert!(
        output.status.success(),
        "filter_policies.py failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("filter_policies.py output is not UTF-8");
    let mut lines = stdout.lines().map(|line| {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| {
            panic!("filter_policies.py printed a line that is not JSON ({e}): {line}")
        })
    });
    let header = lines.next().expect("filter_policies.py printed nothing");
    (header, lines.collect())
}

/// The attribute sets, each checked to reach moto exactly as `publish::sns` would publish it.
fn attribute_sets(header: &Value) -> Vec<Attributes> {
    let sets = header["attributes"].as_array().expect("header.attributes");
    let wire = header["wire"].as_array().expect("header.wire");
    assert_eq!(sets.len(), wire.len(), "one wire form per attribute set");
    sets.iter()
        .zip(wire)
        .map(|(set, sent)| {
            let attributes: Attributes = serde_json::from_value(set.clone())
                .unwrap_or_else(|e| panic!("not an event::Attributes ({e}): {set}"));
            let published: Vec<Value> = attributes
                .typed()
                .map(|(name, data_type, value)| serde_json::json!([name, data_type, value]))
                .collect();
            assert_eq!(
                &Value::Array(published),
                sent,
                "moto was not given what publish::sns sends for {set}"
            );
            attributes
        })
        .collect()
}

fn verdicts(record: &Value, key: &str, len: usize) -> Vec<bool> {
    let bits = record[key]
        .as_str()
        .unwrap_or_else(|| panic!("record.{key}"));
    assert_eq!(bits.len(), len, "{key}: one verdict per attribute set");
    bits.bytes().map(|b| b == b'1').collect()
}

/// Counts the operator forms in a policy, to prove the batch exercises each of them: overall, and
/// as "tables <form>", "labels <form>" and "ownership <form>" on those attributes.
fn count_forms(policy: &Value, depth: usize, forms: &mut BTreeMap<String, usize>) {
    for (key, values) in policy.as_object().expect("policy object") {
        let scope = match key.as_str() {
            "tables" => Some("tables"),
            "labels" => Some("labels"),
            "project" | "cluster" | "group" => Some("ownership"),
            _ => None,
        };
        if key == "$or" {
            *forms
                .entry(if depth == 0 { "$or" } else { "nested $or" }.into())
                .or_default() += 1;
            for branch in values.as_array().expect("$or list") {
                count_forms(branch, depth + 1, forms);
            }
            continue;
        }
        for value in values.as_array().expect("values list") {
            let form = match value {
                Value::String(_) => "exact".to_owned(),
                Value::Object(condition) => match condition.iter().next() {
                    Some((op, Value::Object(inner))) => {
                        format!("{op} {}", inner.keys().next().map_or("", String::as_str))
                    }
                    Some((op, Value::Array(_))) => format!("{op} list"),
                    Some((op, Value::Bool(b))) => format!("{op} {b}"),
                    Some((op, _)) => op.clone(),
                    None => "{}".to_owned(),
                },
                other => panic!("generated a value outside the subset: {other}"),
            };
            if let Some(scope) = scope {
                *forms.entry(format!("{scope} {form}")).or_default() += 1;
            }
            *forms.entry(form).or_default() += 1;
        }
    }
}

#[test]
fn filter_matches_moto_except_where_moto_departs_from_the_sns_docs() {
    let started = Instant::now();
    let (header, records) = run_batch();
    let generated = started.elapsed();
    let sets = attribute_sets(&header);
    assert!(
        sets.len() >= ATTRIBUTE_SETS,
        "only {} attribute sets",
        sets.len()
    );
    assert_eq!(records.len(), POLICIES, "one record per policy");
    let shapes = [
        (
            "no project",
            sets.iter().filter(|a| a.project.is_none()).count(),
        ),
        (
            "a project",
            sets.iter().filter(|a| a.project.is_some()).count(),
        ),
        (
            "no cluster",
            sets.iter().filter(|a| a.cluster.is_none()).count(),
        ),
        (
            "a cluster",
            sets.iter().filter(|a| a.cluster.is_some()).count(),
        ),
        (
            "no group",
            sets.iter().filter(|a| a.group.is_none()).count(),
        ),
        ("a group", sets.iter().filter(|a| a.group.is_some()).count()),
        (
            "no tables",
            sets.iter().filter(|a| a.tables.is_empty()).count(),
        ),
        (
            "one table",
            sets.iter().filter(|a| a.tables.len() == 1).count(),
        ),
        (
            "several tables",
            sets.iter().filter(|a| a.tables.len() > 1).count(),
        ),
        (
            "no labels",
            sets.iter().filter(|a| a.labels.is_empty()).count(),
        ),
        (
            "one label",
            sets.iter().filter(|a| a.labels.len() == 1).count(),
        ),
        (
            "several labels",
            sets.iter().filter(|a| a.labels.len() > 1).count(),
        ),
    ];
    for (shape, n) in shapes {
        assert!(n >= MIN_PER_SHAPE, "only {n} attribute sets with {shape}");
    }
    // docs/routes.md's own example, {"labels": ["team=orders"]}, meets alerts of that team.
    let team = sets
        .iter()
        .filter(|a| a.labels.iter().any(|l| l == "team=orders"))
        .count();
    assert!(
        team >= 20,
        "only {team} attribute sets labelled team=orders"
    );

    let kinds: BTreeMap<String, String> = header["departures"]
        .as_array()
        .expect("header.departures")
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_owned(),
                d["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();

    let mut compared_with_moto = 0usize;
    let mut matched = 0usize;
    let mut departure_pairs = 0usize;
    // Per departure: pairs where it applies, and pairs where moto's verdict differs because of it.
    let mut departures: BTreeMap<String, (usize, usize)> = kinds
        .iter()
        .filter(|(_, kind)| *kind == "match")
        .map(|(name, _)| (name.clone(), (0, 0)))
        .collect();
    let mut refused_by_moto = Vec::new();
    let mut forms = BTreeMap::new();
    let mut failures = Vec::new();

    for record in &records {
        let policy = &record["policy"];
        let filter = Filter::parse(policy)
            .unwrap_or_else(|e| panic!("Filter::parse refused a generated policy {policy}: {e}"));
        count_forms(policy, 0, &mut forms);
        if record["moto_accepts"] == Value::Bool(false) {
            refused_by_moto.push(policy);
        }
        let moto = verdicts(record, "moto", sets.len());
        let model = verdicts(record, "moto_model", sets.len());
        let documented = verdicts(record, "documented", sets.len());
        let mut applying: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for pair in record["departures"].as_array().expect("record.departures") {
            let names = pair[1].as_array().expect("names").iter();
            applying.insert(
                pair[0].as_u64().expect("index") as usize,
                names
                    .map(|n| n.as_str().expect("name").to_owned())
                    .collect(),
            );
        }

        for (i, attributes) in sets.iter().enumerate() {
            let ours = filter.matches(&attributes.pairs());
            if moto[i] != model[i] {
                failures.push(format!(
                    "moto's verdict {} is not what DEPARTURES predict ({}): a departure is missing \
                     or no longer holds\n  policy: {policy}\n  attributes: {attributes:?}",
                    moto[i], model[i]
                ));
            }
            match applying.get(&i) {
                None => {
                    compared_with_moto += 1;
                    matched += usize::from(ours);
                    if ours != moto[i] {
                        failures.push(format!(
                            "Filter says {ours}, moto says {}\n  policy: {policy}\n  attributes: {attributes:?}",
                            moto[i]
                        ));
                    }
                }
                Some(names) => {
                    departure_pairs += 1;
                    for name in names {
                        let entry = departures
                            .get_mut(name)
                            .unwrap_or_else(|| panic!("unknown departure {name}"));
                        entry.0 += 1;
                        entry.1 += usize::from(moto[i] != documented[i]);
                    }
                    if ours != documented[i] {
                        failures.push(format!(
                            "Filter says {ours}, the SNS documentation says {} (moto departs: {names:?})\n  \
                             policy: {policy}\n  attributes: {attributes:?}",
                            documented[i]
                        ));
                    }
                }
            }
        }
    }

    // The policy SNS's documented count accepts and moto's refuses: ALERT_ROUTES follows the docs.
    let example = &header["or_complexity_example"];
    assert!(
        Filter::parse(example).is_ok(),
        "the or-complexity example {example} is within SNS's documented limit"
    );
    assert_eq!(
        header["moto_accepts_or_complexity_example"],
        Value::Bool(false),
        "moto now accepts {example}: remove the or-complexity departure"
    );
    // Every policy moto refuses at subscribe time has an "$or": the or-complexity departure is the
    // only subscribe-time difference in this subset.
    for policy in &refused_by_moto {
        assert!(
            policy.get("$or").is_some(),
            "moto refuses {policy}, which has no \"$or\": an undocumented departure"
        );
    }

    for (i, failure) in failures.iter().take(10).enumerate() {
        eprintln!("MISMATCH {}: {failure}", i + 1);
    }
    eprintln!(
        "route differential: {} pairs ({} policies x {} attribute sets) in {:.2?} (Python {:.2?}): \
         {compared_with_moto} compared with moto ({matched} matching), {departure_pairs} on moto's \
         departures {departures:?}; {} policies moto refuses at subscribe time (or-complexity); \
         forms {forms:?}",
        records.len() * sets.len(),
        records.len(),
        sets.len(),
        started.elapsed(),
        generated,
        refused_by_moto.len(),
    );
    assert!(
        failures.is_empty(),
        "{} failures (first ones printed above)",
        failures.len()
    );
    assert!(
        compared_with_moto >= MIN_COMPARED_WITH_MOTO,
        "only {compared_with_moto} pairs compared with moto, expected at least {MIN_COMPARED_WITH_MOTO}"
    );
    assert!(
        matched * 10 >= compared_with_moto
            && (compared_with_moto - matched) * 10 >= compared_with_moto,
        "{matched} of {compared_with_moto} pairs match: the batch must hold plenty of both outcomes"
    );
    for (name, (applies, differs)) in &departures {
        assert!(
            *differs > 0,
            "departure {name} applied to {applies} pairs but never changed moto's verdict: \
             generate cases for it, or remove it if moto no longer departs"
        );
    }
    for form in [
        "exact",
        "prefix",
        "suffix",
        "equals-ignore-case",
        "anything-but",
        "anything-but list",
        "anything-but prefix",
        "anything-but suffix",
        "exists true",
        "exists false",
        "$or",
        "nested $or",
        "tables exact",
        "tables prefix",
        "tables suffix",
        "tables equals-ignore-case",
        "tables anything-but",
        "tables anything-but list",
        "tables anything-but prefix",
        "tables anything-but suffix",
        "tables exists true",
        "tables exists false",
        "labels exact",
        "labels prefix",
        "labels suffix",
        "labels equals-ignore-case",
        "labels anything-but",
        "labels anything-but list",
        "labels anything-but prefix",
        "labels exists true",
        "labels exists false",
        "ownership exact",
        "ownership prefix",
        "ownership anything-but list",
        "ownership exists true",
        "ownership exists false",
    ] {
        let n = forms.get(form).copied().unwrap_or(0);
        assert!(
            n >= MIN_PER_FORM,
            "only {n} occurrences of {form:?} in the policies"
        );
    }
}
