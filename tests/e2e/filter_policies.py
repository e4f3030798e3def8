#!/usr/bin/env python3
"""Seeded SNS filter policies and alert attributes, for testing ALERT_ROUTES against moto.

Used by tests/route_differential.rs (which runs this file, see `differential`) and importable by
the end-to-end tests (tests/e2e is on pytest's path):

    import filter_policies as fp
    policies = fp.policies(seed=7, count=50)          # JSON-able dicts, deterministic per seed
    alerts = fp.attribute_sets(seed=7, count=200)     # {"provider": …, "status": …, "tables": […], …}
    fp.moto_matches(policy, attributes)               # what moto delivers (MessageAttributes scope)
    fp.documented_matches(policy, attributes)         # what the SNS documentation says (ALERT_ROUTES)
    fp.departures_for(policy, attributes)             # the DEPARTURES that make those two differ
    fp.wire_attributes(attributes)                    # the MessageAttributes Publish receives
    fp.from_sqs(message["MessageAttributes"])         # an attribute set, from a raw-delivery message

An attribute set is what src/event.rs `Attributes` holds: the four String attributes every alert
carries (provider, status, severity, event_type), the ownership facts project, cluster and group
(String, absent when the alert does not state them, never empty), tables (a list of 1 to 10
distinct names, published as one String.Array attribute, absent when there are none) and labels
(a grouped sender's labels as 1 to 10 `name=value` entries, distinct names in name order, published
as one String.Array attribute after tables, absent when there are none). Every value is what the
function can publish: one line, no leading, trailing or doubled whitespace. The providers are the
registry's (tests/scripts/data/providers.json, what `alert-relay-sign providers --json` prints).
moto_matches gives moto the attributes exactly as src/publish/sns.rs publishes them (DataType
String, or String.Array with the compact JSON array serde_json writes), through moto's own
Publish-side transform; tests/route_differential.rs checks the wire form against `Attributes`.

The policies stay inside the subset ALERT_ROUTES accepts (src/route/filter.rs): the nine
attributes, exact strings, prefix, suffix, equals-ignore-case, anything-but (a string, a list,
{"prefix": …}, {"suffix": …}), exists, and `$or` (top level and nested in a branch). Each is within
SNS's documented 150 combinations and, unless asked otherwise, accepted by moto's subscribe-time
validation, so it can be a real moto subscription filter too.

The attribute sets hold every provider, status and severity of SPEC.md, and event types chosen to
tell the operators apart: real ones, case variants, overlapping prefixes and suffixes, non-ASCII
text whose lower case differs in length or form, and strings that are JSON text; the ownership
facts and tables likewise (Atlas projects and clusters, Monte Carlo groups and table ids, their case
variants, one-letter table names, names that are JSON text), often absent. Greek sigma is left out
on purpose: "case-insensitive" does not say whether a final ς equals σ, and Python's str.lower
(moto's) and a per-character lower case disagree on it.

A String.Array attribute is matched as the SNS documentation says
(https://docs.aws.amazon.com/sns/latest/dg/string-value-matching.html): "For String.Array type
attributes, each element in the array is treated as a separate string for matching purposes", so a
value in a key's list holds when it holds for any one element; anything-but is the exception: "For
String.Array type attributes, it matches if none of the array elements are listed in the policy
property", so every anything-but form must hold for every element.

Where moto departs from the SNS documentation, the documentation wins: DEPARTURES names each case,
what moto does (moto 5.2.5, moto/sns/utils.py FilterPolicyMatcher and moto/sns/models.py
_validate_filter_policy), what the documentation says, and why we follow it.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The registry the script tests read, written by `make providers-json` and checked by `make check`.
REGISTRY = Path(__file__).resolve().parents[1] / "scripts" / "data" / "providers.json"

# The String attributes every alert carries.
ALWAYS = ("provider", "status", "severity", "event_type")
# Ownership facts: String attributes, absent when the alert does not state them.
OWNERSHIP = ("project", "cluster", "group")
# The String.Array attributes: tables (1 to TABLES_MAX distinct names) and labels (1 to LABELS_MAX
# `name=value` entries, distinct names), each absent when there are none.
ARRAY = "tables"
LABELS = "labels"
ARRAYS = (ARRAY, LABELS)
TABLES_MAX = 10
LABELS_MAX = 10
ATTRIBUTES = ALWAYS + OWNERSHIP + ARRAYS


def registry_providers(path: Path = REGISTRY) -> tuple[str, ...]:
    """The providers' slugs, in the registry's order."""
    return tuple(provider["slug"] for provider in json.loads(path.read_text()))


PROVIDERS = registry_providers()
STATUSES = ("open", "updated", "acknowledged", "resolved", "cancelled", "informational")
SEVERITIES = ("critical", "error", "warning", "info", "unknown")

# The event types the providers send (Atlas eventTypeName, Monte Carlo type, App Services type).
REAL_EVENT_TYPES = (
    "OUTSIDE_METRIC_THRESHOLD",
    "HOST_DOWN",
    "REPLICATION_OPLOG_WINDOW_RUNNING_OUT",
    "CLUSTER_MONGOS_IS_MISSING",
    "open_anomaly_incident",
    "open_custom_rule_anomaly_incident",
    "open_freshness_anomaly_incident",
    "incident_update",
    "deployment.failed",
    "unknown",
)

# Strings that separate exact, prefix, suffix and case-insensitive matching from one another.
ODD_EVENT_TYPES = (
    "open", "OPEN", "Open", "oPeN", "opened", "open_", "_open", "open_open", "op", "o", "O",
    "OUTSIDE", "OUTSIDE_METRIC", "outside_metric_threshold", "Outside_Metric_Threshold",
    "THRESHOLD", "_THRESHOLD", "metric threshold", "a b", " leading space", "trailing space ",
    "tab\tinside", "x", "X", "xx",
    # Lower case longer or shorter than upper case, and look-alikes that are other letters.
    "Größe", "GRÖSSE", "grösse", "straße", "STRASSE", "ẞ", "ß", "SS",
    "İstanbul", "istanbul", "ISTANBUL", "ı", "I", "i",
    "\u212aelvin", "Kelvin", "kelvin", "\u212bngstr\u00f6m", "ångström",
    "Ǆemal", "ǅemal", "ǆemal", "ÉTÉ", "été", "Été", "e\u0301te\u0301",
    "Ωmega", "ωmega", "\u2126mega", "ﬁle", "FILE", "Жук", "ЖУК", "жук",
    "中文告警", "告警", "🔥 fire", "🔥", "fire 🔥",
    # JSON text: moto parses String attribute values as JSON (see DEPARTURES).
    '"open"', '"OUTSIDE_METRIC_THRESHOLD"', '["critical"]', '["open", "resolved"]',
    '{"severity": "critical"}', '{"open": 1}', "[]", "{}", '""', "123", "true", "null",
)

# Fragments for generated event types.
_FRAGMENTS = (
    "open", "OPEN", "Open", "alert", "ALERT", "outside", "OUTSIDE", "metric", "METRIC",
    "threshold", "host", "HOST", "down", "incident", "anomaly", "é", "É", "ß", "ö", "Ö", "中",
    "🔥", "İ", "ı", "Ǆ", "ǅ", "ǆ", "\u212a", "x", "1",
)
_SEPARATORS = ("_", "_", ".", "-", " ", "")


def _random_event_type(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(REAL_EVENT_TYPES + ODD_EVENT_TYPES)
    return _random_text(rng)


def _random_text(rng: random.Random) -> str:
    """Fragments joined by one separator, sometimes as JSON text: always a valid attribute value."""
    parts = [rng.choice(_FRAGMENTS) for _ in range(rng.randint(1, 4))]
    text = rng.choice(_SEPARATORS).join(parts)
    if rng.random() < 0.1:
        text = json.dumps(text) if rng.random() < 0.5 else json.dumps([text])
    return text


def is_fact(text: str) -> bool:
    """Whether an ownership fact or table keeps this value when the function publishes it
    (src/event.rs fact_value): one line, words separated by single spaces, at most 256 characters."""
    return 0 < len(text) <= 256 and " ".join(text.split()) == text and text.isprintable()


# Atlas project names (or the groupId that stands in for one), Atlas cluster names, Monte Carlo
# group ids: real shapes, case variants, prefixes of one another, non-ASCII, and JSON text (moto
# parses a String attribute's value as JSON, see DEPARTURES).
PROJECTS = (
    "Orders", "orders", "ORDERS", "Orders EU", "MyProject", "Payments", "payments-eu",
    "5d1b6f8e8c2e4e2d3c4a5b6d", "Größe", "GRÖSSE", "Été", "été", "中文项目", "İstanbul", "istanbul",
    '"Orders"', '["Orders"]', "x", "X",
)
CLUSTERS = (
    "orders-prod", "orders-prod-2", "orders-staging", "Orders-Prod", "ORDERS-PROD", "orders",
    "payments-prod", "Cluster0", "cluster0", "prod", "ǅemal-prod", "ǆemal-prod", '"orders-prod"',
    '["orders-prod", "payments-prod"]', "{}", "x",
)
GROUPS = (
    "zeus:ares", "Zeus:Ares", "ZEUS:ARES", "zeus", "warehouse:sales", "warehouse:sales-eu",
    "warehouse", "sales", "ẞ:straße", "ß:strasse", '"zeus:ares"', '{"zeus": 1}', "x",
)
# Monte Carlo table ids and names. One-letter names and names made of JSON's own characters tell
# element matching from matching the characters of the array's JSON text (see DEPARTURES), and
# names that are JSON text tell element matching from matching the whole text.
TABLES = (
    "analytics:prod.orders", "analytics:prod.users", "analytics:prod.items",
    "analytics:staging.orders", "Analytics:Prod.Orders", "ANALYTICS:PROD.ORDERS",
    "warehouse:sales.orders", "db:s.t1", "db:s.t2", "orders", "Orders", "ORDERS", "artemis", "t4",
    "a", "b", "ab", "ba", "x", "é", "É", "ö", "Ö", "中", "表", "ß", "ẞ", "[", "]", ",", '"', "\\",
    'quote"inside', "back\\slash", '"orders"', '["orders"]', '["a","b"]', "123", "null", "true",
)
# Tables of the one-table arrays, whose whole JSON text a policy value sometimes is.
SHORT_TABLES = ("orders", "a", "analytics:prod.orders", "Orders")

# Labels of Grafana and Alertmanager alerts, by name: the values docs/routes.md routes on
# (team=orders, instance=db-1), their case variants, prefixes of one another (db-1, db-10), values
# that hold `=` or are JSON text, non-ASCII, an empty value (`team=`).
LABEL_VALUES = {
    "team": ("orders", "Orders", "ORDERS", "orders-eu", "payments", "", "orders=eu", '"orders"'),
    "instance": ("db-1", "db-10", "db-2", "db-1:9100", "kafka-1:9308", "DB-1"),
    "severity": ("critical", "warning", "Critical", "info"),
    "alertname": ("PostgresReplicationLag", "KafkaConsumerLag", "InstanceDown", "Größe", "中文告警"),
    "cluster": ("prod-eu", "prod-us", "orders-prod"),
    "env": ("prod", "staging", "Prod"),
    "job": ("node", "kafka-exporter", "api"),
    "grafana_folder": ("Databases", "databases"),
    "region": ("eu-west-1", "us-east-1"),
    "service": ("checkout", "orders", "a b"),
    "Team": ("orders",),
    "a": ("b", "", "=", '["x"]'),
    "x": ("1", "y"),
    "é": ("ö", "É"),
}
LABEL_ENTRIES = tuple(f"{name}={value}" for name, values in LABEL_VALUES.items() for value in values)
# Labels of the one-label arrays, whose whole JSON text a policy value sometimes is.
SHORT_LABELS = ("team=orders", "instance=db-1", "a=b", "x=y")


def _fact(rng: random.Random, attribute: str) -> str:
    """A project, cluster, group or table name: usually a listed one, sometimes generated."""
    if rng.random() < 0.85:
        return rng.choice(_pool(attribute))
    return _random_text(rng)


def _tables(rng: random.Random) -> list[str]:
    """A tables attribute: often one short table, else 1 to TABLES_MAX distinct names."""
    if rng.random() < 0.35:
        return [rng.choice(SHORT_TABLES)]
    tables: list[str] = []
    for _ in range(rng.randint(1, TABLES_MAX)):
        table = _fact(rng, ARRAY)
        if table not in tables:
            tables.append(table)
    return tables


def _labels(rng: random.Random) -> list[str]:
    """A labels attribute: often one short label, else 1 to LABELS_MAX labels of distinct names,
    in name order (the first ten by name: ALERT_LABELS unset)."""
    if rng.random() < 0.3:
        return [rng.choice(SHORT_LABELS)]
    names = rng.sample(sorted(LABEL_VALUES), rng.randint(1, LABELS_MAX))
    return [f"{name}={rng.choice(LABEL_VALUES[name])}" for name in sorted(names)]


def _pool(attribute: str) -> tuple[str, ...]:
    return {
        "provider": PROVIDERS,
        "status": STATUSES,
        "severity": SEVERITIES,
        "event_type": REAL_EVENT_TYPES + ODD_EVENT_TYPES,
        "project": PROJECTS,
        "cluster": CLUSTERS,
        "group": GROUPS,
        "tables": TABLES,
        "labels": LABEL_ENTRIES,
    }[attribute]


def _target(rng: random.Random, attribute: str) -> str:
    """A string a policy value is built from: usually one the attribute takes, so tests can pass."""
    if attribute in ARRAYS and rng.random() < 0.06:
        # The whole JSON text of a one- or two-entry array (a departure).
        short = SHORT_TABLES if attribute == ARRAY else SHORT_LABELS
        return array_text(rng.sample(short, rng.choice((1, 1, 2))))
    if rng.random() < 0.85:
        return rng.choice(_pool(attribute))
    return _random_event_type(rng)


def _slice(rng: random.Random, text: str, *, head: bool, non_empty: bool = False) -> str:
    """A prefix (head) or suffix of text, sometimes all of it, sometimes more."""
    lo = 1 if non_empty else 0
    if rng.random() < 0.1:
        return (text + rng.choice(("_", "x", "é"))) if head else (rng.choice(("_", "x", "é")) + text)
    if not text:
        return "x" if non_empty else ""
    n = rng.randint(lo, len(text))
    return text[:n] if head else text[len(text) - n :]


def _recase(rng: random.Random, text: str) -> str:
    """Mostly lower case (moto agrees with the docs there), sometimes not (a departure)."""
    r = rng.random()
    if r < 0.8:
        return text.lower()
    if r < 0.9:
        return text.upper()
    if r < 0.95:
        return text.swapcase()
    return text.title()


def _random_value(rng: random.Random, attribute: str) -> Any:
    """One element of a key's list of values. On the attributes that can be absent, `exists` is
    more frequent, and comes after other values in the list as often as before them."""
    if attribute not in ALWAYS and rng.random() < 0.12:
        return {"exists": rng.random() < 0.4}
    r = rng.random()
    t = _target(rng, attribute)
    if r < 0.28:
        return t
    if r < 0.40:
        return {"prefix": _slice(rng, t, head=True)}
    if r < 0.52:
        return {"suffix": _slice(rng, t, head=False)}
    if r < 0.66:
        return {"equals-ignore-case": _recase(rng, t)}
    if r < 0.73:
        return {"anything-but": t}
    if r < 0.80:
        return {"anything-but": sorted({_target(rng, attribute) for _ in range(rng.randint(1, 4))})}
    if r < 0.88:
        return {"anything-but": {"prefix": _slice(rng, t, head=True, non_empty=True)}}
    if r < 0.905:
        # Rare: moto never matches it (a departure), so it hides the rest of its policy from moto.
        return {"anything-but": {"suffix": _slice(rng, t, head=False, non_empty=True)}}
    return {"exists": rng.random() < 0.7}


def _random_keys(rng: random.Random, count: int) -> list[str]:
    """count distinct attributes; tables and labels twice as likely as any other."""
    keys: list[str] = []
    while len(keys) < count:
        key = rng.choice(ATTRIBUTES + ARRAYS)
        if key not in keys:
            keys.append(key)
    return keys


def _random_object(rng: random.Random, depth: int) -> dict[str, Any]:
    keys = _random_keys(rng, rng.choice((1, 1, 2, 2, 2, 3, 4)))
    policy: dict[str, Any] = {
        key: [_random_value(rng, key) for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4)))]
        for key in keys
    }
    if depth < 2 and rng.random() < (0.35 if depth == 0 else 0.2):
        policy["$or"] = [_random_object(rng, depth + 1) for _ in range(rng.choice((2, 2, 3)))]
        if depth == 0 and rng.random() < 0.3:
            # "$or" alone at the top.
            policy = {"$or": policy["$or"]}
    return policy


def sns_combinations(policy: dict[str, Any]) -> int:
    """SNS's documented complexity: product of the list lengths, times the sum over "$or" branches."""
    own = 1
    branches = None
    for key, value in policy.items():
        if key == "$or":
            branches = sum(sns_combinations(b) for b in value)
        else:
            own *= len(value)
    return own if branches is None else own * branches


def moto_accepts(policy: dict[str, Any]) -> bool:
    """Whether moto's Subscribe/SetSubscriptionAttributes would take this FilterPolicy."""
    from moto.sns.models import SNSBackend

    try:
        # It uses nothing from the backend instance.
        SNSBackend._validate_filter_policy(None, policy, "MessageAttributes")  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - any refusal is a refusal
        return False
    return True


# Policies that must always be in the set: SPEC.md's example routes and the README's worked example.
FIXED_POLICIES: tuple[dict[str, Any], ...] = (
    {"severity": ["critical", "error"]},
    {"provider": ["monte-carlo"]},
    {"status": [{"anything-but": "informational"}]},
    {"status": [{"anything-but": ["informational", "cancelled"]}], "severity": [{"exists": True}]},
    {"event_type": [{"prefix": "open_"}, {"suffix": "_THRESHOLD"}]},
    {"event_type": [{"equals-ignore-case": "outside_metric_threshold"}]},
    {"event_type": [{"equals-ignore-case": "OUTSIDE_METRIC_THRESHOLD"}]},
    {"event_type": [{"anything-but": {"prefix": "open_"}}]},
    {"event_type": [{"anything-but": {"suffix": "_incident"}}]},
    {"event_type": ["OUTSIDE"]},
    {
        "provider": ["atlas"],
        "$or": [
            {"severity": ["critical", "error"]},
            {"status": ["open"], "$or": [{"event_type": ["HOST_DOWN"]}, {"severity": ["warning"]}]},
        ],
    },
    {"$or": [{"severity": ["critical"]}, {"provider": ["monte-carlo"], "status": ["open"]}]},
    # docs/severity.md's worked example and docs/routes.md's on the ownership facts.
    {"cluster": ["orders-prod"]},
    {"cluster": ["orders-prod"], "event_type": [{"prefix": "OUTSIDE_"}]},
    {"provider": ["monte-carlo"], "tables": [{"prefix": "analytics:prod."}]},
    {"tables": ["analytics:prod.orders"]},
    {"tables": [{"anything-but": {"prefix": "analytics:staging."}}]},
    {"tables": [{"anything-but": ["analytics:prod.orders"]}]},
    {"tables": [{"anything-but": ["a"]}, "b"]},
    {"tables": [{"equals-ignore-case": "analytics:prod.orders"}]},
    {"tables": ['["orders"]']},
    {"project": [{"exists": False}], "group": [{"exists": True}]},
    {"cluster": ["orders-prod", {"exists": False}]},
    {"cluster": [{"exists": False}, "orders-prod"]},
    {"group": [{"prefix": "warehouse:"}, {"anything-but": "zeus:ares"}]},
    # docs/routes.md on a grouped sender's labels (issue 23).
    {"labels": ["team=orders"]},
    {"labels": [{"prefix": "team="}]},
    {"labels": ["instance=db-1"], "severity": ["critical"]},
    {"labels": [{"prefix": "instance=db-1"}]},
    {"labels": [{"anything-but": ["team=orders"]}]},
    {"labels": [{"anything-but": {"prefix": "team="}}]},
    {"labels": [{"exists": True}]},
    {"labels": [{"exists": False}]},
    {"labels": ["team=orders", {"exists": False}]},
    {"labels": [{"equals-ignore-case": "team=orders"}]},
    {"labels": [{"suffix": "=orders"}]},
)


def policies(
    seed: int, count: int, *, moto_subscribable: bool = True, max_bytes: int | None = None
) -> list[dict[str, Any]]:
    """FIXED_POLICIES, then seeded random ones, `count` in all, each within SNS's 150 combinations.
    With moto_subscribable (the default), only policies moto's subscribe-time validation accepts,
    so each can be a moto subscription filter too: that leaves out most nested "$or" (see the
    or-complexity departure). With max_bytes, only policies of at most that many bytes of compact
    JSON, so that several fit in one ALERT_ROUTES value."""

    def wanted(policy: dict[str, Any]) -> bool:
        return (
            sns_combinations(policy) <= 150
            and (not moto_subscribable or moto_accepts(policy))
            and (max_bytes is None or len(_compact(policy).encode()) <= max_bytes)
        )

    rng = random.Random(seed)
    out = [p for p in FIXED_POLICIES if wanted(p)][:count]
    while len(out) < count:
        policy = _random_object(rng, 0)
        if not wanted(policy):
            continue
        out.append(policy)
    return out


def attribute_sets(seed: int, count: int) -> list[dict[str, Any]]:
    """Every provider x status x severity once (with a random event type), every listed event type
    once, every listed project, cluster and group once, every listed table (5 to a set), then
    random sets up to `count`. Elsewhere each ownership fact is present in about 60% of the sets and
    tables in 65% (a third of them one short table)."""
    rng = random.Random(seed)
    out = [
        _random_set(rng, _random_event_type(rng), provider=p, status=s, severity=v)
        for p in PROVIDERS
        for s in STATUSES
        for v in SEVERITIES
    ]
    for event_type in REAL_EVENT_TYPES + ODD_EVENT_TYPES:
        out.append(_random_set(rng, event_type))
    for attribute in OWNERSHIP:
        for value in _pool(attribute):
            out.append({**_random_set(rng, _random_event_type(rng)), attribute: value})
    shuffled = list(TABLES)
    rng.shuffle(shuffled)
    for start in range(0, len(shuffled), 5):
        out.append({**_random_set(rng, _random_event_type(rng)), ARRAY: shuffled[start:start + 5]})
    for entry in LABEL_ENTRIES:
        out.append({**_random_set(rng, _random_event_type(rng)), LABELS: [entry]})
    while len(out) < count:
        out.append(_random_set(rng, _random_event_type(rng)))
    for attributes in out:
        _check_set(attributes)
    return out


def _random_set(rng: random.Random, event_type: str, **always: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "provider": always.get("provider") or rng.choice(PROVIDERS),
        "status": always.get("status") or rng.choice(STATUSES),
        "severity": always.get("severity") or rng.choice(SEVERITIES),
        "event_type": event_type,
    }
    for attribute in OWNERSHIP:
        if rng.random() < 0.6:
            out[attribute] = _fact(rng, attribute)
    if rng.random() < 0.65:
        out[ARRAY] = _tables(rng)
    if rng.random() < 0.6:
        out[LABELS] = _labels(rng)
    return out


def _check_set(attributes: dict[str, Any]) -> None:
    """What the function can publish: src/event.rs Attributes."""
    assert all(isinstance(attributes[a], str) and attributes[a] for a in ALWAYS), attributes
    for attribute in OWNERSHIP:
        assert attribute not in attributes or is_fact(attributes[attribute]), attributes
    if ARRAY in attributes:
        tables = attributes[ARRAY]
        assert 0 < len(tables) <= TABLES_MAX and len(set(tables)) == len(tables), attributes
        assert all(is_fact(t) for t in tables), attributes
    if LABELS in attributes:
        labels = attributes[LABELS]
        names = [entry.split("=", 1)[0] for entry in labels]
        assert 0 < len(labels) <= LABELS_MAX and names == sorted(set(names)), attributes
        assert all(is_fact(entry) and "=" in entry for entry in labels), attributes
    assert set(attributes) <= set(ATTRIBUTES), attributes


def array_text(values: list[str]) -> str:
    """A String.Array's value as the function writes it: serde_json's compact JSON array (no
    spaces, non-ASCII as is, `"` and `\\` escaped)."""
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


def wire_attributes(attributes: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The MessageAttributes of the Publish call src/publish/sns.rs makes for these attributes
    (event.rs Attributes::typed): the present Strings in their order, then tables, then labels."""
    wire = {
        name: {"DataType": "String", "StringValue": attributes[name]}
        for name in ALWAYS + OWNERSHIP
        if name in attributes
    }
    for array in ARRAYS:
        if array in attributes:
            wire[array] = {"DataType": "String.Array", "StringValue": array_text(attributes[array])}
    return wire


def from_sqs(message_attributes: dict[str, dict[str, str]]) -> dict[str, Any]:
    """An attribute set from the MessageAttributes of an SQS message delivered raw: what a filter
    reads (a String.Array's JSON array as its list of values)."""
    out: dict[str, Any] = {}
    for name, value in message_attributes.items():
        if value["DataType"] == "String.Array":
            out[name] = json.loads(value["StringValue"])
        else:
            out[name] = value["StringValue"]
    return out


def moto_matches(policy: dict[str, Any], attributes: dict[str, Any]) -> bool:
    """moto's own verdict, computed as moto's server does for a subscription with
    FilterPolicyScope=MessageAttributes: the Publish call's MessageAttributes (wire_attributes, as
    src/publish/sns.rs sends them) through moto's own Publish-side transform, then its matcher."""
    from moto.sns.responses import SNSResponse
    from moto.sns.utils import FilterPolicyMatcher

    # It uses nothing from the response instance.
    received = SNSResponse._transform_message_attributes(None, wire_attributes(attributes))  # type: ignore[arg-type]
    return FilterPolicyMatcher(policy, "MessageAttributes").matches(received, "")


# --- What moto does differently, and what the documentation says -----------------------------------

IGNORE_CASE = "equals-ignore-case-policy-value-not-lower-case"
JSON_TEXT = "exact-match-on-json-text-value"
ANYTHING_BUT_SUFFIX = "anything-but-suffix"
ABSENT = "absent-attribute-before-exists-false"
ARRAY_PREFIX_SUFFIX = "prefix-suffix-on-string-array"
ARRAY_ANYTHING_BUT = "anything-but-on-string-array-characters"
ARRAY_WHOLE_TEXT = "string-array-whole-json-text"


@dataclass(frozen=True)
class Departure:
    name: str
    # "match": moto delivers differently (documented_matches with the departure's quirk turned on
    # reproduces moto exactly, see moto_model); "subscribe": moto refuses a policy SNS accepts;
    # "unreachable": a moto difference that alert-relay's alerts cannot trigger.
    kind: str
    moto: str
    documentation: str
    why: str


DEPARTURES: tuple[Departure, ...] = (
    Departure(
        name=IGNORE_CASE,
        kind="match",
        moto="lower-cases only the message's value and compares it with the policy's value as "
        'written (utils.py: _str_exact_match(dict_body[field]["Value"].lower(), value)), so '
        '{"equals-ignore-case": "CRITICAL"} matches nothing, not even "CRITICAL"',
        documentation="string-value-matching.html, Equals-ignore-case matching: a case-insensitive "
        'match; {"equals-ignore-case": "tennis"} matches "TENNIS" and "Tennis"',
        why="case-insensitive is symmetric, and operators copy event types as providers write them "
        '(Atlas sends "OUTSIDE_METRIC_THRESHOLD"); a route that silently never matches is the '
        "worst outcome",
    ),
    Departure(
        name=JSON_TEXT,
        kind="match",
        moto="parses a String attribute's value as JSON and, when that succeeds, tests "
        "`rule in parsed` (utils.py _str_exact_match, also used by equals-ignore-case): an "
        'event_type of "\\"OUTSIDE_METRIC_THRESHOLD\\"" (quotes included) matches ["OUTSIDE"] '
        '(a substring), ["a", "b"] matches ["a"], {"k": 1} matches ["k"]',
        documentation="string-value-matching.html, Exact matching: the policy value equals the "
        "attribute value; array membership is for attributes of Type String.Array only",
        why="our attributes are always Type String, and event_type is whatever the sender put in "
        "its payload (an App Services sender can send any text)",
    ),
    Departure(
        name=ANYTHING_BUT_SUFFIX,
        kind="match",
        moto='returns False for any anything-but object whose key is not "prefix" (utils.py '
        '_anything_but_match: if anything_but_key != "prefix": return False), so '
        '{"anything-but": {"suffix": "_incident"}} matches nothing',
        documentation="string-value-matching.html, anything-but suffix: "
        '[{"anything-but": {"suffix": "ball"}}] matches values that do not end in "ball"',
        why="SNS documents and accepts it; a filter copied from a working SNS subscription must "
        "route the same alerts",
    ),
    Departure(
        name="or-complexity",
        kind="subscribe",
        moto='multiplies the list lengths across "$or" branches and by each key\'s depth '
        "(models.py _validate_filter_policy: combinations * len(_value) * depth), so it refuses "
        '{"$or": [{"severity": [5 values]}, {"status": [6 values]}]} (its count: 240) with '
        '"Filter policy is too complex"; most nested "$or" are refused the same way',
        documentation="and-or-logic.html, Policy constraints that include OR relationships: the "
        "sum of the combinations of each OR statement (5 + 6 = 11 here); the limit is 150",
        why="SNS accepts these policies, so ALERT_ROUTES does too; policies() keeps to moto's "
        "count as well (by default) so that each can also be a moto subscription",
    ),
    Departure(
        name=ABSENT,
        kind="match",
        moto="returns no-match as soon as a string, equals-ignore-case or anything-but value meets "
        "an absent attribute (utils.py _field_match: if field not in dict_body: return False), "
        'before reaching a later {"exists": false} in the same list: ["x", {"exists": false}] '
        'does not match a message without the attribute, [{"exists": false}, "x"] does',
        documentation="attribute-key-matching.html: exists false matches messages without the "
        "attribute; and-or-logic.html: the values in a key's list are ORed, in any order",
        why="project, cluster, group and tables are absent whenever the alert does not state them: "
        '{"cluster": ["orders-prod", {"exists": false}]} must take the alerts of orders-prod and '
        "those that name no cluster, whichever order the values are written in",
    ),
    Departure(
        name=ARRAY_PREFIX_SUFFIX,
        kind="match",
        moto='matches prefix and suffix only on attributes of Type String (utils.py _field_match: '
        'if attr["Type"] == "String"), so {"prefix": …} and {"suffix": …} never match a '
        "String.Array",
        documentation="string-value-matching.html, Exact matching: \"For String.Array type "
        'attributes, each element in the array is treated as a separate string for matching '
        'purposes"; subscription-filter-policy-constraints.html: SNS compares policy properties '
        "with String and String.Array attributes",
        why='the documented way for a data team to take its tables is a prefix on them '
        '({"tables": [{"prefix": "analytics:prod."}]}, docs/severity.md); a route that never '
        "matches is the worst outcome",
    ),
    Departure(
        name=ARRAY_ANYTHING_BUT,
        kind="match",
        moto="tests anything-but on the characters of a String.Array's JSON text, not on its "
        'elements (utils.py _field_match: actual_values = list(attr["Value"])): '
        '{"anything-but": ["analytics:prod.orders"]} matches every array (no character equals '
        'the name), {"anything-but": ["a"]} refuses every array with an "a" anywhere in its '
        'text, {"anything-but": {"prefix": "a"}} likewise',
        documentation='string-value-matching.html, Anything-but matching: "For String.Array type '
        'attributes, it matches if none of the array elements are listed in the policy property"',
        why="an operator excluding a table means the table: moto's reading delivers the incidents "
        "that name it and drops unrelated ones",
    ),
    Departure(
        name=ARRAY_WHOLE_TEXT,
        kind="match",
        moto="compares a String.Array's whole JSON text with an exact or equals-ignore-case value "
        "before its elements (utils.py _str_exact_match: if value == rule), so the policy value "
        '"[\\"orders\\"]" matches the array ["orders"]',
        documentation="string-value-matching.html, Exact matching: each element of a "
        "String.Array is matched as a separate string",
        why="the JSON text is how SNS carries the array, not one of its values",
    ),
)

MATCH_DEPARTURES = tuple(d.name for d in DEPARTURES if d.kind == "match")

# A policy inside SNS's documented limit that moto refuses (the or-complexity departure).
OR_COMPLEXITY_EXAMPLE: dict[str, Any] = {
    "$or": [{"severity": list(SEVERITIES)}, {"status": list(STATUSES)}]
}


def documented_matches(policy: dict[str, Any], attributes: dict[str, Any]) -> bool:
    """The SNS documentation's verdict, one line per documented rule:
    https://docs.aws.amazon.com/sns/latest/dg/and-or-logic.html (keys AND, values OR, "$or"),
    https://docs.aws.amazon.com/sns/latest/dg/string-value-matching.html (the string operators),
    https://docs.aws.amazon.com/sns/latest/dg/attribute-key-matching.html (exists)."""
    return _evaluate(policy, attributes, frozenset())


def moto_model(policy: dict[str, Any], attributes: dict[str, Any]) -> bool:
    """documented_matches with every "match" departure's quirk turned on: the claim, checked by
    tests/route_differential.rs, is that this equals moto_matches on every policy generated here."""
    return _evaluate(policy, attributes, frozenset(MATCH_DEPARTURES))


def departures_for(policy: dict[str, Any], attributes: dict[str, Any]) -> list[str]:
    """The "match" departures that make moto's verdict differ from the documentation's on this
    pair (each alone, or all of them when only their combination does). Empty: moto's verdict is
    the documented one."""
    documented = documented_matches(policy, attributes)
    names = [
        name
        for name in MATCH_DEPARTURES
        if _evaluate(policy, attributes, frozenset((name,))) != documented
    ]
    if not names and moto_model(policy, attributes) != documented:
        names = list(MATCH_DEPARTURES)
    return names


def _evaluate(policy: dict[str, Any], attributes: dict[str, Any], quirks: frozenset[str]) -> bool:
    for key, values in policy.items():
        if key == "$or":
            if not any(_evaluate(branch, attributes, quirks) for branch in values):
                return False
        elif not _key_matches(values, attributes.get(key), quirks):
            return False
    return True


def _key_matches(rules: list[Any], value: str | list[str] | None, quirks: frozenset[str]) -> bool:
    """The values in a key's list are ORed."""
    if value is None:
        return _absent_matches(rules, quirks)
    if isinstance(value, list):
        text = array_text(value)
        return any(_array_test(rule, value, text, quirks) for rule in rules)
    return any(_test(rule, value, quirks) for rule in rules)


def _absent_matches(rules: list[Any], quirks: frozenset[str]) -> bool:
    """An absent attribute matches only {"exists": false}."""
    for rule in rules:
        if isinstance(rule, dict) and "exists" in rule:
            if rule["exists"] is False:
                return True
        elif ABSENT in quirks and not (isinstance(rule, dict) and ("prefix" in rule or "suffix" in rule)):
            return False
    return False


def _array_test(rule: Any, values: list[str], text: str, quirks: frozenset[str]) -> bool:
    """A value of the key's list on a String.Array: through any one element, but anything-but
    through every element. `text` is the array's JSON text, as published."""
    if isinstance(rule, str):
        return rule in values or (ARRAY_WHOLE_TEXT in quirks and text == rule)
    ((operator, operand),) = rule.items()
    if operator == "exists":
        return operand is True
    if operator in ("prefix", "suffix"):
        return ARRAY_PREFIX_SUFFIX not in quirks and any(_test(rule, v, quirks) for v in values)
    if operator == "equals-ignore-case":
        wanted = operand if IGNORE_CASE in quirks else operand.lower()
        return any(v.lower() == wanted for v in values) or (
            ARRAY_WHOLE_TEXT in quirks and text.lower() == wanted
        )
    if operator == "anything-but":
        units = list(text) if ARRAY_ANYTHING_BUT in quirks else values
        return all(_test(rule, unit, quirks) for unit in units)
    raise ValueError(f"not in the supported subset: {rule!r}")


def _test(rule: Any, value: str, quirks: frozenset[str]) -> bool:
    """A value of the key's list on a present String attribute."""
    if isinstance(rule, str):
        return value == rule or (JSON_TEXT in quirks and _json_contains(value, rule))
    ((operator, operand),) = rule.items()
    if operator == "exists":
        return operand is True
    if operator == "prefix":
        return value.startswith(operand)
    if operator == "suffix":
        return value.endswith(operand)
    if operator == "equals-ignore-case":
        wanted = operand if IGNORE_CASE in quirks else operand.lower()
        lowered = value.lower()
        return lowered == wanted or (JSON_TEXT in quirks and _json_contains(lowered, wanted))
    if operator == "anything-but":
        if isinstance(operand, str):
            return value != operand
        if isinstance(operand, list):
            return value not in operand
        ((inner, text),) = operand.items()
        if inner == "prefix":
            return not value.startswith(text)
        return ANYTHING_BUT_SUFFIX not in quirks and not value.endswith(text)
    raise ValueError(f"not in the supported subset: {rule!r}")


def _json_contains(text: str, rule: str) -> bool:
    """moto's reading of a String value: JSON text that contains the rule (substring of a JSON
    string, element of an array, key of an object)."""
    try:
        return rule in json.loads(text)
    except (ValueError, TypeError):
        return False


# --- The differential's batch --------------------------------------------------------------------


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _bits(flags: list[bool]) -> str:
    return "".join("1" if f else "0" for f in flags)


def differential(seed: int, policy_count: int, attribute_count: int) -> Iterator[str]:
    """The lines tests/route_differential.rs reads, one JSON object each. First:
    {"attributes": [{"provider": …, "tables": […], …}, …], "wire": [[[name, DataType, StringValue],
     …], …], "departures": [{name, kind, …}], "or_complexity_example": {…},
     "moto_accepts_or_complexity_example": bool}
    where "wire" holds, per attribute set, the MessageAttributes moto_matches gives moto (in
    wire_attributes' order); then per policy (policies(seed, policy_count, moto_subscribable=False)),
    in order:
    {"policy": {…}, "sns_combinations": n, "moto_accepts": bool,
     "moto": "0110…", "moto_model": "0110…", "documented": "0110…",
     "departures": [[attribute set index, [name, …]], …]}
    where the i-th character of each verdict string is the verdict on the i-th attribute set and
    "departures" lists the pairs where departures_for is not empty."""
    sets = attribute_sets(seed, attribute_count)
    yield _compact(
        {
            "attributes": sets,
            "wire": [
                [[name, v["DataType"], v["StringValue"]] for name, v in wire_attributes(s).items()]
                for s in sets
            ],
            "departures": [d.__dict__ for d in DEPARTURES],
            "or_complexity_example": OR_COMPLEXITY_EXAMPLE,
            "moto_accepts_or_complexity_example": moto_accepts(OR_COMPLEXITY_EXAMPLE),
        }
    )
    for policy in policies(seed, policy_count, moto_subscribable=False):
        yield _compact(
            {
                "policy": policy,
                "sns_combinations": sns_combinations(policy),
                "moto_accepts": moto_accepts(policy),
                "moto": _bits([moto_matches(policy, s) for s in sets]),
                "moto_model": _bits([moto_model(policy, s) for s in sets]),
                "documented": _bits([documented_matches(policy, s) for s in sets]),
                "departures": [
                    [i, names] for i, s in enumerate(sets) if (names := departures_for(policy, s))
                ],
            }
        )


def main() -> int:
    parser = argparse.ArgumentParser(description="Print the batch tests/route_differential.rs reads.")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--policies", type=int, required=True)
    parser.add_argument("--attributes", type=int, required=True)
    args = parser.parse_args()
    out = sys.stdout
    out.reconfigure(encoding="utf-8", newline="\n")  # type: ignore[union-attr]
    for line in differential(args.seed, args.policies, args.attributes):
        out.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
