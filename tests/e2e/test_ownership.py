"""Ownership attributes (project, cluster, group, tables) end to end: the function under `cargo lambda
watch`, moto's real SNS and SQS, and the docs' own examples, read from the pages so that the pages
cannot drift from what the function does.

- docs/severity.md's worked example (the orders team): a function with exactly its ALERT_ROUTES and
  SEVERITY_RULES blocks, each of its topics a moto topic of the same name. An Atlas disk alert on
  cluster `orders-prod` is `error` by rule 1 and reaches orders-team, paging and chat; the same
  alert on another cluster is `warning` by rule 3 and reaches chat only; a Monte Carlo SEV-1
  incident naming tables is `critical` and reaches paging and chat. Beside the routes, each topic's
  raw-delivery queue shows the message attributes as SNS carries them: project, cluster and group
  as String, tables as a String.Array holding a JSON array, absent facts absent.
- The same alerts through moto's own subscription filter policies on the stack's topic: what a
  subscriber of the topic gets, compared with filter_policies' model of moto on the attributes the
  raw queue saw (so the differential's moto verdicts are for what the function really publishes).
- The `tables` examples of docs/severity.md and docs/routes.md as routes of a second function, with
  Monte Carlo incidents whose tables are chosen: each route does what the SNS documentation says
  (a value matches through any one table, an anything-but only when no table is excluded), and its
  twin subscription does what moto does (filter_policies.DEPARTURES names where they differ)."""

import json
import re
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

import filter_policies as fp
import relaystack as stack
from conftest import atlas_alert

SEVERITY_DOC = stack.ROOT / "docs" / "severity.md"
ROUTES_DOC = stack.ROOT / "docs" / "routes.md"
MONTE_CARLO_SEED = stack.EVENTS / "payloads" / "monte-carlo" / "monte-carlo-sev1-incident.json"
MONTE_CARLO_SECRET = "test-monte-carlo-secret-1"  # events/test.env


def json_blocks(text: str) -> list:
    """The ```json blocks of a page, parsed, in order (as tests/severity.rs reads them)."""
    return [json.loads(block.split("```")[0]) for block in text.split("```json\n")[1:]]


def inline_objects(text: str) -> list[dict]:
    """The `…` spans of a page that are JSON objects, parsed, in order."""
    found = []
    for span in re.findall(r"`(\{[^`]*\})`", text):
        try:
            value = json.loads(span)
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def worked_example() -> tuple[list, list, str]:
    """docs/severity.md's worked example: its ALERT_ROUTES and SEVERITY_RULES blocks, and its text."""
    section = SEVERITY_DOC.read_text().split("## Worked example: the orders team", 1)[1]
    section = section.split("\n## ", 1)[0]
    routes, rules = json_blocks(section)[:2]
    assert all("topic" in route for route in routes) and all("severity" in rule for rule in rules)
    return routes, rules, section


def topic_name(arn: str) -> str:
    return arn.rsplit(":", 1)[1]


def sign_monte_carlo(signer: Path, directory: Path, payload: dict) -> tuple[Path, dict]:
    """A Monte Carlo webhook for `payload`, signed by alert-relay-sign as an API Gateway event."""
    directory.mkdir(parents=True, exist_ok=True)
    name = uuid.uuid4().hex[:12]
    body = directory / f"{name}.body.json"
    body.write_text(json.dumps(payload))
    event = directory / f"{name}.event.json"
    with open(event, "wb") as out:
        subprocess.run([str(signer), "sign", "--provider", "monte-carlo", "--secret", MONTE_CARLO_SECRET,
                        "--body", str(body), "--output", "apigw-v2"], stdout=out, check=True, timeout=60)
    return event, payload


def monte_carlo_incident(tables: list[str]) -> dict:
    """The SEV-1 sample incident (group warehouse:sales) naming `tables`, under a new incident id."""
    payload = json.loads(MONTE_CARLO_SEED.read_text())
    incident = str(uuid.uuid4())
    payload["payload"]["incident_id"] = incident
    payload["payload"]["url"] = f"https://getmontecarlo.com/incidents/{incident}"
    payload["payload"]["event_list"] = [
        {"event_details": "Has 0 rows vs. 12,480 expected", "full_table_id": table} for table in tables
    ] or [{"event_details": "Has 0 rows vs. 12,480 expected"}]
    return payload


def attributes_of(message: dict) -> dict[str, tuple[str, str]]:
    """A raw-delivery message's SNS message attributes: name -> (DataType, StringValue)."""
    return {name: (value["DataType"], value["StringValue"])
            for name, value in message["MessageAttributes"].items()}


def published(response: dict, topics: int) -> str:
    assert stack.response_status(response) == 200, response
    body = stack.response_body(response)
    assert body["status"] == "published" and body["topics"] == topics, body
    return body["event_id"]


def read_all(moto, topics: dict, queues: dict, twins: dict) -> tuple[dict, dict]:
    """What every route queue and every twin subscription received, each read up to an end marker
    (relaystack.Moto.publish_marker; a twin's marker is sent to it directly, its filter would drop a
    published one). Route queues: name -> messages; twins: index -> set of event ids."""
    got = {name: moto.receive_until(url, moto.publish_marker(topics[name])) for name, url in queues.items()}
    seen = {i: {json.loads(m["Body"])["id"] for m in moto.receive_until(url, moto.send_marker(url))}
            for i, (_, url) in twins.items()}
    return got, seen


@dataclass
class Stack:
    function: object
    topics: dict  # topic name -> arn (the stack's topic first)
    queues: dict  # topic name -> url of a raw-delivery queue subscribed to it, unfiltered
    twins: dict  # index -> (filter policy, url of a queue subscribed to the stack's topic with it)
    default: str  # the stack's topic's name


# Filter policies on the stack's topic, as a subscriber of the topic would write them: the worked
# example's route filters are added to these, as subscriptions.
SUBSCRIBER_POLICIES = [
    {"cluster": [{"exists": False}]},
    {"group": [{"exists": True}]},
    {"project": ["MyProject"], "cluster": [{"anything-but": "orders-prod"}]},
    {"tables": ["analytics:prod.orders"]},
    {"tables": [{"exists": False}], "severity": ["warning", "error"]},
]


@pytest.fixture(scope="module")
def orders(log_dir, moto):
    """A function with exactly the worked example's ALERT_ROUTES and SEVERITY_RULES, its topics
    made in moto under their names, and the twin subscriptions on the stack's topic."""
    routes, rules, _ = worked_example()
    default = "own-alerts"
    names = [default] + [topic_name(route["topic"]) for route in routes]
    topics = {name: moto.create_topic(name) for name in names}
    queues = {name: moto.subscribe_queue(arn, f"q-own-{name}") for name, arn in topics.items()}
    policies = SUBSCRIBER_POLICIES + [route["filter"] for route in routes if "filter" in route]
    twins = {i: (policy, moto.subscribe_queue(topics[default], f"q-own-twin-{i}", policy))
             for i, policy in enumerate(policies)}
    # The doc's ARNs name eu-west-1; moto's topics are in its region: same names, moto's ARNs.
    routed = [{**route, "topic": topics[topic_name(route["topic"])]} for route in routes]
    function = stack.Function(log_dir, topics[default], moto.endpoint, name="function-ownership", env={
        "ALERT_ROUTES": json.dumps(routed),
        "SEVERITY_RULES": json.dumps(rules),
    })
    try:
        yield Stack(function, topics, queues, twins, default)
    finally:
        function.stop()


def test_the_worked_example_routes_the_orders_team_as_the_doc_says(orders, moto, signer, tmp_path):
    _, _, text = worked_example()
    # What the page promises, in its own words.
    assert '`severity_source: "rule 1"`: it reaches `orders-team`, `paging` and `chat`' in text
    assert "another cluster is `warning` (`rule 3`): `chat` and the stack's topic only" in text
    for url in list(orders.queues.values()) + [url for _, url in orders.twins.values()]:
        moto.drain(url)

    on_orders = atlas_alert(signer, tmp_path, clusterName="orders-prod")
    elsewhere = atlas_alert(signer, tmp_path, clusterName="payments-prod")
    tables = ["orders", "analytics:prod.orders", "analytics:prod.users"]
    # The first event also names its table "orders" (table_name, found before the full table ids).
    payload = monte_carlo_incident(tables[1:])
    payload["payload"]["event_list"][0]["table_name"] = "orders"
    incident, _ = sign_monte_carlo(signer, tmp_path, payload)

    ids = {
        "orders-prod": published(orders.function.invoke(on_orders.event), topics=4),
        "other cluster": published(orders.function.invoke(elsewhere.event), topics=2),
        "monte carlo": published(orders.function.invoke(incident), topics=3),
    }
    assert ids["orders-prod"] == on_orders.event_id and ids["other cluster"] == elsewhere.event_id
    got, seen = read_all(moto, orders.topics, orders.queues, orders.twins)
    name_of = {event_id: name for name, event_id in ids.items()}

    def reached(topic: str) -> list[str]:
        return sorted(name_of[json.loads(m["Body"])["id"]] for m in got[topic])

    assert {topic: reached(topic) for topic in got} == {
        "own-alerts": ["monte carlo", "orders-prod", "other cluster"],
        "orders-team": ["orders-prod"],
        "paging": ["monte carlo", "orders-prod"],
        "chat": ["monte carlo", "orders-prod", "other cluster"],
    }

    # The stack's topic carries the CloudEvent: the severity and where it came from.
    events = {name_of[e["id"]]: e for e in (json.loads(m["Body"]) for m in got["own-alerts"])}
    assert (events["orders-prod"]["data"]["severity"], events["orders-prod"]["data"]["severity_source"]) \
        == ("error", "rule 1")
    assert (events["other cluster"]["data"]["severity"], events["other cluster"]["data"]["severity_source"]) \
        == ("warning", "rule 3")
    assert events["monte carlo"]["data"]["severity"] == "critical"
    assert events["monte carlo"]["data"]["resource"]["tables"] == tables

    # The message attributes as a raw-delivery SQS queue sees them, on every topic alike.
    expected = {
        "orders-prod": {
            "provider": ("String", "atlas"), "status": ("String", "open"), "severity": ("String", "error"),
            "event_type": ("String", "OUTSIDE_METRIC_THRESHOLD"), "project": ("String", "MyProject"),
            "cluster": ("String", "orders-prod"),
        },
        "other cluster": {
            "provider": ("String", "atlas"), "status": ("String", "open"), "severity": ("String", "warning"),
            "event_type": ("String", "OUTSIDE_METRIC_THRESHOLD"), "project": ("String", "MyProject"),
            "cluster": ("String", "payments-prod"),
        },
        "monte carlo": {
            "provider": ("String", "monte-carlo"), "status": ("String", "open"),
            "severity": ("String", "critical"), "event_type": ("String", "open_anomaly_incident"),
            "group": ("String", "warehouse:sales"),
            # serde_json's compact JSON array, exactly as filter_policies gives it to moto.
            "tables": ("String.Array", '["orders","analytics:prod.orders","analytics:prod.users"]'),
        },
    }
    assert expected["monte carlo"]["tables"][1] == fp.array_text(tables)
    for topic, messages in got.items():
        for message in messages:
            name = name_of[json.loads(message["Body"])["id"]]  # the chatbot body's id is the event's
            assert attributes_of(message) == expected[name], (topic, name)

    # Subscribers of the stack's topic filtering on the same attributes with moto's own filter
    # policies get what filter_policies says moto delivers on them (and, where moto does not
    # depart from the SNS docs, what the docs say).
    attributes = {name_of[json.loads(m["Body"])["id"]]: fp.from_sqs(m["MessageAttributes"])
                  for m in got["own-alerts"]}
    assert attributes["monte carlo"]["tables"] == tables
    for i, (policy, _) in orders.twins.items():
        by_moto = {ids[name] for name, attrs in attributes.items() if fp.moto_matches(policy, attrs)}
        documented = {ids[name] for name, attrs in attributes.items() if fp.documented_matches(policy, attrs)}
        assert seen[i] == by_moto, f"moto's subscription {policy} differs from filter_policies' model"
        if not any(fp.departures_for(policy, attrs) for attrs in attributes.values()):
            assert seen[i] == documented, policy
    # Spelled out for the ones the worked example is about.
    by_policy = {json.dumps(policy, sort_keys=True): {name_of[e] for e in seen[i]}
                 for i, (policy, _) in orders.twins.items()}
    assert by_policy[json.dumps({"cluster": ["orders-prod"]})] == {"orders-prod"}
    assert by_policy[json.dumps({"tables": ["analytics:prod.orders"]})] == {"monte carlo"}
    assert by_policy[json.dumps({"cluster": [{"exists": False}]})] == {"monte carlo"}
    assert by_policy[json.dumps({"severity": ["critical", "error"]})] == {"monte carlo", "orders-prod"}


def docs_tables_policies() -> list[dict]:
    """The filters on `tables` that the docs show: docs/severity.md's data-team route and every
    `{"tables": …}` policy of docs/routes.md."""
    _, _, text = worked_example()
    data_team = [o["filter"] for o in inline_objects(text) if "tables" in o.get("filter", {})]
    assert len(data_team) == 1, data_team
    shown = [o for o in inline_objects(ROUTES_DOC.read_text()) if set(o) == {"tables"}]
    assert any("anything-but" in json.dumps(p) for p in shown), shown
    return data_team + shown


# Monte Carlo incidents and the tables they name.
INCIDENTS = {
    "prod": ["analytics:prod.orders", "analytics:prod.users"],
    "prod and staging": ["analytics:prod.orders", "analytics:staging.orders"],
    "warehouse": ["warehouse:sales.orders"],
    "no tables": [],
}


@pytest.fixture(scope="module")
def tables_routes(log_dir, moto):
    """A function whose routes are the docs' filters on tables, one topic each, and each filter's
    twin subscription on the stack's topic."""
    policies = docs_tables_policies()
    default = "own-tables-alerts"
    names = [default] + [f"own-tables-{i}" for i in range(len(policies))]
    topics = {name: moto.create_topic(name) for name in names}
    queues = {name: moto.subscribe_queue(arn, f"q-{name}") for name, arn in topics.items()}
    twins = {i: (policy, moto.subscribe_queue(topics[default], f"q-own-tables-twin-{i}", policy))
             for i, policy in enumerate(policies)}
    routes = [{"topic": topics[f"own-tables-{i}"], "filter": policy} for i, policy in enumerate(policies)]
    function = stack.Function(log_dir, topics[default], moto.endpoint, name="function-ownership-tables",
                              env={"ALERT_ROUTES": json.dumps(routes)})
    try:
        yield Stack(function, topics, queues, twins, default)
    finally:
        function.stop()


def test_the_docs_tables_filters_follow_the_sns_docs_and_moto_departs_where_it_is_said(
        tables_routes, moto, signer, tmp_path):
    routed = tables_routes
    for url in list(routed.queues.values()) + [url for _, url in routed.twins.values()]:
        moto.drain(url)
    ids = {}
    for name, tables in INCIDENTS.items():
        event, _ = sign_monte_carlo(signer, tmp_path, monte_carlo_incident(tables))
        response = routed.function.invoke(event)
        assert stack.response_status(response) == 200, response
        ids[name] = stack.response_body(response)["event_id"]
    got, seen = read_all(moto, routed.topics, routed.queues, routed.twins)
    name_of = {event_id: name for name, event_id in ids.items()}
    attributes = {name_of[json.loads(m["Body"])["id"]]: fp.from_sqs(m["MessageAttributes"])
                  for m in got[routed.default]}
    assert {name: attrs.get("tables", []) for name, attrs in attributes.items()} == INCIDENTS

    departed = 0
    for i, (policy, _) in routed.twins.items():
        route = {name_of[json.loads(m["Body"])["id"]] for m in got[f"own-tables-{i}"]}
        twin = {name_of[e] for e in seen[i]}
        documented = {name for name, attrs in attributes.items() if fp.documented_matches(policy, attrs)}
        by_moto = {name for name, attrs in attributes.items() if fp.moto_matches(policy, attrs)}
        assert route == documented, f"route {policy} does not follow the SNS docs"
        assert twin == by_moto, f"moto's subscription {policy} differs from filter_policies' model"
        named = {n for attrs in attributes.values() for n in fp.departures_for(policy, attrs)}
        if twin != route:
            assert named, f"route and moto differ on {policy} with no departure named"
            departed += 1

    by_policy = {json.dumps(policy): i for i, (policy, _) in routed.twins.items()}

    def route_of(policy: dict) -> set[str]:
        i = by_policy[json.dumps(policy)]
        return {name_of[json.loads(m["Body"])["id"]] for m in got[f"own-tables-{i}"]}

    # Spelled out: a value matches through any one table; an anything-but only when no table is
    # excluded, so one staging table among production ones keeps the incident out; an absent
    # tables attribute matches neither.
    assert route_of({"provider": ["monte-carlo"], "tables": [{"prefix": "analytics:prod."}]}) \
        == {"prod", "prod and staging"}
    assert route_of({"tables": [{"anything-but": {"prefix": "analytics:staging."}}]}) == {"prod", "warehouse"}
    # moto never matches a prefix on a String.Array (filter_policies.ARRAY_PREFIX_SUFFIX).
    assert {name_of[e] for e in seen[by_policy[json.dumps(
        {"provider": ["monte-carlo"], "tables": [{"prefix": "analytics:prod."}]})]]} == set()
    assert departed >= 1
