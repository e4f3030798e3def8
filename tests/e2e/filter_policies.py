#!/usr/bin/env python3
"""Seeded SNS filter policies and alert attributes, for testing ALERT_ROUTES against moto.

Used by tests/route_differential.rs (which runs this file, see `differential`) and importable by
the end-to-end tests (tests/e2e is on pytest's path):

    import filter_policies as fp
    policies = fp.policies(seed=7, count=50)          # JSON-able dicts, deterministic per seed
    alerts = fp.attribute_sets(seed=7, count=200)     # {"provider": …, "status": …, …}
    fp.moto_matches(policy, attributes)               # what moto delivers (MessageAttributes scope)
    fp.documented_matches(policy, attributes)         # what the SNS documentation says (ALERT_ROUTES)
    fp.departures_for(policy, attributes)             # the DEPARTURES that make those two differ

The policies stay inside the subset ALERT_ROUTES accepts (src/route.rs): the four String attributes,
exact strings, prefix, suffix, equals-ignore-case, anything-but (a string, a list, {"prefix": …},
{"suffix": …}), exists, and `$or` (top level and nested in a branch). Each is within SNS's
documented 150 combinations and, unless asked otherwise, accepted by moto's subscribe-time
validation, so it can be a real moto subscription filter too.

The attribute sets hold every provider, status and severity of SPEC.md, and event types chosen to
tell the operators apart: real ones, case variants, overlapping prefixes and suffixes, non-ASCII
text whose lower case differs in length or form, and strings that are JSON text. Greek sigma is
left out on purpose: "case-insensitive" does not say whether a final ς equals σ, and Python's
str.lower (moto's) and a per-character lower case disagree on it.

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
from typing import Any

ATTRIBUTES = ("provider", "status", "severity", "event_type")
PROVIDERS = ("atlas", "app-services", "monte-carlo")
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
    parts = [rng.choice(_FRAGMENTS) for _ in range(rng.randint(1, 4))]
    text = rng.choice(_SEPARATORS).join(parts)
    if rng.random() < 0.1:
        text = json.dumps(text) if rng.random() < 0.5 else json.dumps([text])
    return text


def _pool(attribute: str) -> tuple[str, ...]:
    return {
        "provider": PROVIDERS,
        "status": STATUSES,
        "severity": SEVERITIES,
        "event_type": REAL_EVENT_TYPES + ODD_EVENT_TYPES,
    }[attribute]


def _target(rng: random.Random, attribute: str) -> str:
    """A string a policy value is built from: usually one the attribute takes, so tests can pass."""
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
    """One element of a key's list of values."""
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


def _random_object(rng: random.Random, depth: int) -> dict[str, Any]:
    keys = rng.sample(ATTRIBUTES, rng.choice((1, 1, 2, 2, 2, 3, 4)))
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


def attribute_sets(seed: int, count: int) -> list[dict[str, str]]:
    """Every provider x status x severity once (with a random event type), every listed event type
    once, then random sets: at least 90 + len(REAL_EVENT_TYPES + ODD_EVENT_TYPES) in all."""
    rng = random.Random(seed)
    out = [
        {"provider": p, "status": s, "severity": v, "event_type": _random_event_type(rng)}
        for p in PROVIDERS
        for s in STATUSES
        for v in SEVERITIES
    ]
    for event_type in REAL_EVENT_TYPES + ODD_EVENT_TYPES:
        out.append(_random_set(rng, event_type))
    while len(out) < count:
        out.append(_random_set(rng, _random_event_type(rng)))
    return out


def _random_set(rng: random.Random, event_type: str) -> dict[str, str]:
    return {
        "provider": rng.choice(PROVIDERS),
        "status": rng.choice(STATUSES),
        "severity": rng.choice(SEVERITIES),
        "event_type": event_type,
    }


def moto_matches(policy: dict[str, Any], attributes: dict[str, str]) -> bool:
    """moto's own verdict, computed as moto's server does for a subscription with
    FilterPolicyScope=MessageAttributes and String attributes."""
    from moto.sns.utils import FilterPolicyMatcher

    message_attributes = {k: {"Type": "String", "Value": v} for k, v in attributes.items()}
    return FilterPolicyMatcher(policy, "MessageAttributes").matches(message_attributes, "")


# --- What moto does differently, and what the documentation says -----------------------------------

IGNORE_CASE = "equals-ignore-case-policy-value-not-lower-case"
JSON_TEXT = "exact-match-on-json-text-value"
ANYTHING_BUT_SUFFIX = "anything-but-suffix"


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
        name="absent-attribute-before-exists-false",
        kind="unreachable",
        moto="returns no-match as soon as a string, equals-ignore-case or anything-but value meets "
        "an absent attribute (utils.py _field_match: if field not in dict_body: return False), "
        'before reaching a later {"exists": false} in the same list: ["x", {"exists": false}] '
        'does not match a message without the attribute, [{"exists": false}, "x"] does',
        documentation="attribute-key-matching.html: exists false matches messages without the "
        "attribute; the values in a list are ORed, in any order",
        why="never exercised: every alert carries all four attributes; src/route.rs follows the "
        "documentation and its unit tests cover absent attributes",
    ),
)

MATCH_DEPARTURES = tuple(d.name for d in DEPARTURES if d.kind == "match")

# A policy inside SNS's documented limit that moto refuses (the or-complexity departure).
OR_COMPLEXITY_EXAMPLE: dict[str, Any] = {
    "$or": [{"severity": list(SEVERITIES)}, {"status": list(STATUSES)}]
}


def documented_matches(policy: dict[str, Any], attributes: dict[str, str]) -> bool:
    """The SNS documentation's verdict, one line per documented rule:
    https://docs.aws.amazon.com/sns/latest/dg/and-or-logic.html (keys AND, values OR, "$or"),
    https://docs.aws.amazon.com/sns/latest/dg/string-value-matching.html (the string operators),
    https://docs.aws.amazon.com/sns/latest/dg/attribute-key-matching.html (exists)."""
    return _evaluate(policy, attributes, frozenset())


def moto_model(policy: dict[str, Any], attributes: dict[str, str]) -> bool:
    """documented_matches with every "match" departure's quirk turned on: the claim, checked by
    tests/route_differential.rs, is that this equals moto_matches on every policy generated here."""
    return _evaluate(policy, attributes, frozenset(MATCH_DEPARTURES))


def departures_for(policy: dict[str, Any], attributes: dict[str, str]) -> list[str]:
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


def _evaluate(policy: dict[str, Any], attributes: dict[str, str], quirks: frozenset[str]) -> bool:
    for key, values in policy.items():
        if key == "$or":
            if not any(_evaluate(branch, attributes, quirks) for branch in values):
                return False
        elif not any(_test(rule, attributes.get(key), quirks) for rule in values):
            return False
    return True


def _test(rule: Any, value: str | None, quirks: frozenset[str]) -> bool:
    if isinstance(rule, str):
        if value is None:
            return False
        return value == rule or (JSON_TEXT in quirks and _json_contains(value, rule))
    ((operator, operand),) = rule.items()
    if operator == "exists":
        return operand == (value is not None)
    if value is None:
        return False
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
    {"attributes": [[provider, status, severity, event_type], …], "departures": [{name, kind, …}],
     "or_complexity_example": {…}, "moto_accepts_or_complexity_example": bool}
    then per policy (policies(seed, policy_count, moto_subscribable=False)), in order:
    {"policy": {…}, "sns_combinations": n, "moto_accepts": bool,
     "moto": "0110…", "moto_model": "0110…", "documented": "0110…",
     "departures": [[attribute set index, [name, …]], …]}
    where the i-th character of each verdict string is the verdict on the i-th attribute set and
    "departures" lists the pairs where departures_for is not empty."""
    sets = attribute_sets(seed, attribute_count)
    yield _compact(
        {
            "attributes": [[s[a] for a in ATTRIBUTES] for s in sets],
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
