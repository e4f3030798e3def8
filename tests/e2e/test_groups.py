"""Alert groups end to end (issue 23): Grafana and Alertmanager groups through the real binary under
`cargo lambda watch`, against moto's SNS, SQS and DynamoDB.

Each stack here has three topics, each with a queue subscribed with raw delivery: the default topic
and two ALERT_ROUTES routes, `paging` ({"severity": ["critical"]}) and `team`
({"labels": ["team=orders"]}, on the `labels` String.Array attribute). What each queue received is
read up to an end marker (relaystack.Moto.publish_marker), so "nothing else arrived" is proven, not
waited for.

- a mixed Grafana group (timestamped signature, signed now) reaches the routes alert by alert, each
  alert its own CloudEvent (its own id over its own JSON bytes, alert_id its fingerprint);
- with alert state on: a resolve in a group resolves its alert's state, an alert a later group
  repeats byte for byte is a duplicate, and a redelivered group notifies nobody;
- a silence made with the signer on `{"labels": ["instance=…"]}` holds back that alert of a group
  only;
- Alertmanager groups with `Authorization: Bearer` and with basic auth reach SNS; a wrong credential
  is 401 and publishes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import conftest
import relaystack as stack

PAYLOADS = stack.EVENTS / "payloads"
GRAFANA_GROUP = PAYLOADS / "grafana" / "grafana-mixed-group.json"
ALERTMANAGER_GROUP = PAYLOADS / "alertmanager" / "alertmanager-group.json"
ALERTMANAGER_DOCUMENTED = PAYLOADS / "alertmanager" / "alertmanager-documented-example.json"
TABLE = "alert-state-groups-e2e"
TOPICS = ("default", "paging", "team")
PAGING = {"severity": ["critical"]}
TEAM = {"labels": ["team=orders"]}
LABELS_MAX = 10  # SNS carries at most this many labels in the `labels` attribute (src/alert.rs)


# --- the alerts of a group, as their bytes ----------------------------------------------------

def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def alert_sources(body: bytes) -> list[bytes]:
    """Each alert of the group's `alerts` array, as the bytes the body holds for it (what its event
    id hashes), in order. Found with Python's own JSON scanner, independently of the function."""
    text = body.decode()
    decoder = json.JSONDecoder()
    i = _skip_ws(text, 0)
    assert text[i] == "{", "a group is a JSON object"
    i += 1
    found = None
    while True:
        i = _skip_ws(text, i)
        if text[i] == "}":
            break
        key, i = decoder.raw_decode(text, i)
        i = _skip_ws(text, i)
        assert text[i] == ":"
        i = _skip_ws(text, i + 1)
        if key == "alerts":
            assert text[i] == "["
            i = _skip_ws(text, i + 1)
            found = []
            while text[i] != "]":
                _, end = decoder.raw_decode(text, i)
                found.append(text[i:end].encode())
                i = _skip_ws(text, end)
                if text[i] == ",":
                    i = _skip_ws(text, i + 1)
            i += 1
        else:
            _, i = decoder.raw_decode(text, i)
        i = _skip_ws(text, i)
        if text[i] == ",":
            i += 1
    assert found is not None, "no alerts array"
    return found


def event_id(provider: str, source: bytes) -> str:
    """The event id of one alert of a group: SHA-256 over the provider, `:` and its own bytes."""
    return hashlib.sha256(provider.encode() + b":" + source).hexdigest()[:32]


def labels_attribute(labels: dict[str, str]) -> list[str]:
    """The `labels` attribute with ALERT_LABELS unset: the first ten labels by name, `name=value`."""
    return [f"{name}={labels[name]}" for name in sorted(labels)][:LABELS_MAX]


def compact(payload: dict) -> bytes:
    """A group body as Grafana writes one: compact JSON."""
    return json.dumps(payload, separators=(",", ":")).encode()


# --- the stacks -------------------------------------------------------------------------------

@dataclass
class Stack:
    moto: object
    log_dir: Path
    signer: Path
    arns: dict  # topic name (TOPICS) -> arn
    queues: dict  # topic name -> queue url
    routes: str
    function: object = None
    started: list = field(default_factory=list)

    def start(self, name: str, env: dict | None = None):
        """A function instance on these topics, stopped at the end of the module."""
        instance = stack.Function(self.log_dir, self.arns["default"], self.moto.endpoint, name=name,
                                  env={"ALERT_ROUTES": self.routes, **(env or {})})
        conftest._services.append(instance.service)
        self.started.append(instance)
        return instance

    def received(self) -> dict[str, list[dict]]:
        """The messages each topic's queue received since it was last read, by topic."""
        got = {}
        for name, arn in self.arns.items():
            got[name] = self.moto.receive_until(self.queues[name], self.moto.publish_marker(arn))
        return got

    def stop(self) -> None:
        for instance in self.started:
            instance.stop()


def build(log_dir: Path, moto, signer: Path, prefix: str) -> Stack:
    arns = {name: moto.create_topic(f"{prefix}-{name}") for name in TOPICS}
    queues = {name: moto.subscribe_queue(arn, f"q-{prefix}-{name}") for name, arn in arns.items()}
    routes = json.dumps([{"topic": arns["paging"], "filter": PAGING}, {"topic": arns["team"], "filter": TEAM}])
    return Stack(moto, log_dir / prefix, signer, arns, queues, routes)


@pytest.fixture(scope="module")
def stateless(log_dir, moto, signer):
    relay = build(log_dir, moto, signer, "groups")
    try:
        relay.function = relay.start("function-groups")
        yield relay
    finally:
        relay.stop()


@pytest.fixture(scope="module")
def stateful(log_dir, moto, signer):
    moto.create_state_table(TABLE)
    relay = build(log_dir, moto, signer, "groups-state")
    try:
        relay.function = relay.start("function-groups-state", moto.state_env(TABLE))
        yield relay
    finally:
        relay.stop()


@pytest.fixture
def quiet(stateless):
    stateless.received()  # empty before the test
    return stateless


@pytest.fixture
def remembering(stateful):
    stateful.received()
    return stateful


# --- requests ---------------------------------------------------------------------------------

def credential_of(name: str) -> str:
    return stack.env_file_values(stack.EVENTS / "test.env")[name]


def signed(relay: Stack, provider: str, body: bytes, form: str, credential: str) -> dict:
    """`body` as an HTTP API event received now, its credential made by alert-relay-sign."""
    directory = relay.log_dir / "bodies"
    directory.mkdir(parents=True, exist_ok=True)
    body_file = directory / f"{uuid.uuid4().hex[:12]}.json"
    body_file.write_bytes(body)
    done = subprocess.run(
        [str(relay.signer), "sign", "--provider", provider, "--secret-env", "ALERT_RELAY_SIGN_SECRET",
         "--form", form, "--body", str(body_file), "--output", "apigw-v2"],
        env={**os.environ, "ALERT_RELAY_SIGN_SECRET": credential}, check=True, capture_output=True, timeout=60)
    return json.loads(done.stdout)


def grafana(relay: Stack, body: bytes) -> dict:
    return signed(relay, "grafana", body, "timestamped", credential_of("GRAFANA_WEBHOOK_SECRETS").split(",")[0])


@dataclass
class Answer:
    status: int
    body: dict
    line: dict  # the request's one log line


def deliver(function, event: dict) -> Answer:
    offset = function.log_size()
    response = function.invoke_event(event)
    logged = function.logged_until(offset, lambda docs: any(d.get("message") == "request" for d in docs))
    lines = [d for d in logged if d.get("message") == "request"]
    assert len(lines) == 1, f"one request line expected: {logged}"
    return Answer(stack.response_status(response), stack.response_body(response), lines[0])


def cloudevents(messages: list[dict]) -> dict[str, dict]:
    """The CloudEvents received, by id (each id once)."""
    events = [json.loads(m["Body"]) for m in messages]
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids)), f"an event received twice: {ids}"
    return dict(zip(ids, events))


def published(event_id_: str, topics: int) -> dict:
    return {"event_id": event_id_, "status": "published", "topics": topics}


def suppressed(event_id_: str, reason: str) -> dict:
    return {"event_id": event_id_, "status": "suppressed", "reason": reason, "topics": 0}


def fresh_group(seed: Path = GRAFANA_GROUP, tag: str | None = None) -> dict:
    """The sample group with fingerprints (and `instance` labels) of its own, so that alert state
    and silences meet it as new."""
    tag = tag or uuid.uuid4().hex[:8]
    payload = json.loads(seed.read_text())
    for alert in payload["alerts"]:
        alert["fingerprint"] = f"{alert['fingerprint'][:8]}{tag}"
        alert["labels"]["instance"] = f"{alert['labels']['instance']}.{tag}"
    return payload


# --- a mixed Grafana group, alert by alert ----------------------------------------------------

def test_a_mixed_grafana_group_reaches_the_routes_alert_by_alert(quiet):
    body = GRAFANA_GROUP.read_bytes()
    payload = json.loads(body)
    sources = alert_sources(body)
    assert len(sources) == 3 and [json.loads(s) for s in sources] == payload["alerts"]
    ids = [event_id("grafana", s) for s in sources]
    assert len(set(ids)) == 3
    db1, db2, db3 = payload["alerts"]
    assert [(a["labels"]["instance"], a["status"], a["labels"]["severity"]) for a in (db1, db2, db3)] == [
        ("db-1", "firing", "warning"), ("db-2", "resolved", "critical"), ("db-3", "firing", "critical")]

    answer = deliver(quiet.function, grafana(quiet, body))
    got = quiet.received()

    # db-1 (warning) reaches the default topic and the team's; db-2 and db-3 (critical) all three.
    assert (answer.status, answer.body) == (200, {"status": "published", "events": [
        published(ids[0], 2), published(ids[1], 3), published(ids[2], 3)]}), answer.body
    assert (answer.line["alerts"], answer.line["alert_outcomes"], answer.line["topics"]) == \
        (3, "published=3", 8), answer.line
    assert answer.line["form"] == "timestamped", answer.line
    by_topic = {name: cloudevents(messages) for name, messages in got.items()}
    assert set(by_topic["default"]) == set(ids)
    assert set(by_topic["team"]) == set(ids)
    assert set(by_topic["paging"]) == {ids[1], ids[2]}, "db-1 is a warning: not paged"

    for source, alert, id_ in zip(sources, (db1, db2, db3), ids):
        fingerprint = alert["fingerprint"]
        wanted_status = {"firing": "open", "resolved": "resolved"}[alert["status"]]
        for name in ("default", "team") + (("paging",) if alert["labels"]["severity"] == "critical" else ()):
            event = by_topic[name][id_]
            data = event["data"]
            assert (event["subject"], data["alert_id"], data["dedup_key"]) == \
                (fingerprint, fingerprint, f"grafana:{fingerprint}"), (name, event)
            assert (data["status"], data["severity"], data["event_type"]) == \
                (wanted_status, alert["labels"]["severity"], "PostgresReplicationLag"), (name, data)
            assert data["labels"] == alert["labels"], "no alert's labels leak into another's event"
            assert data["title"] == alert["annotations"]["summary"]
            assert data["group"]["alerts"] == 3 and data["group"]["receiver"] == "alert-relay"
            assert event["type"] == f"alert.{wanted_status}"
        # The message attributes, on every topic alike.
        for name, messages in got.items():
            for message in messages:
                if json.loads(message["Body"])["id"] != id_:
                    continue
                attributes = message["MessageAttributes"]
                assert attributes["labels"]["DataType"] == "String.Array", (name, attributes)
                assert json.loads(attributes["labels"]["StringValue"]) == labels_attribute(alert["labels"]), name
                strings = {k: v["StringValue"] for k, v in attributes.items() if v["DataType"] == "String"}
                assert strings == {"provider": "grafana", "status": wanted_status,
                                   "severity": alert["labels"]["severity"],
                                   "event_type": "PostgresReplicationLag", "cluster": "prod-eu"}, (name, strings)
    # The raw payload each event carries is its own alert, not the group.
    for source, id_ in zip(sources, ids):
        assert by_topic["default"][id_]["data"]["raw"] == json.loads(source)


# --- alert state ------------------------------------------------------------------------------

def test_a_resolve_in_a_group_resolves_its_alerts_state_and_a_redelivered_group_tells_nobody(remembering):
    relay = remembering
    first_payload = fresh_group()
    a, b, c = first_payload["alerts"]
    # First group: A firing (critical), B firing (warning). db-2's resolve waits for the second.
    a["status"], a["labels"]["severity"] = "firing", "critical"
    b["status"], b["labels"]["severity"] = "firing", "warning"
    for alert in (a, b):
        alert["endsAt"] = "0001-01-01T00:00:00Z"
    first_payload["alerts"] = [a, b]
    first = compact(first_payload)
    first_sources = alert_sources(first)
    first_ids = [event_id("grafana", s) for s in first_sources]

    answer = deliver(relay.function, grafana(relay, first))
    got = relay.received()
    assert (answer.status, answer.body) == (200, {"status": "published", "events": [
        published(first_ids[0], 3), published(first_ids[1], 2)]}), answer.body
    opened = cloudevents(got["default"])[first_ids[0]]
    assert opened["data"]["lifecycle"]["count"] == 1 and "previous_status" not in opened["data"]["lifecycle"]
    assert set(cloudevents(got["paging"])) == {first_ids[0]}

    # Second group: A resolved now; B repeated byte for byte (Grafana resends what still fires).
    resolved_a = json.loads(first_sources[0])
    resolved_a["status"] = "resolved"
    resolved_a["endsAt"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    second_payload = dict(first_payload, alerts=[resolved_a, b], status="firing")
    second = compact(second_payload)
    second_sources = alert_sources(second)
    assert second_sources[1] == first_sources[1], "B's bytes are the same in both groups"
    second_ids = [event_id("grafana", s) for s in second_sources]

    event = grafana(relay, second)
    answer = deliver(relay.function, event)
    got = relay.received()
    assert (answer.status, answer.body) == (200, {"status": "published", "events": [
        published(second_ids[0], 3), suppressed(first_ids[1], "duplicate")]}), answer.body
    assert second_ids[1] == first_ids[1]
    assert {name: list(cloudevents(messages)) for name, messages in got.items()} == dict.fromkeys(
        TOPICS, [second_ids[0]]), "the resolve reaches every target told of the open, and only it"
    resolve = cloudevents(got["default"])[second_ids[0]]
    data = resolve["data"]
    assert (data["alert_id"], data["status"], resolve["type"]) == (a["fingerprint"], "resolved", "alert.resolved")
    lifecycle = data["lifecycle"]
    assert (lifecycle["count"], lifecycle["previous_status"]) == (2, "open"), lifecycle
    assert lifecycle["opened_event_id"] == first_ids[0], lifecycle
    assert "duration_seconds" in lifecycle, lifecycle

    # The same group again, byte for byte (Grafana retrying): every alert a duplicate, nobody told.
    again = deliver(relay.function, event)
    assert (again.status, again.body) == (200, {"status": "suppressed", "events": [
        suppressed(second_ids[0], "duplicate"), suppressed(second_ids[1], "duplicate")]}), again.body
    assert again.line["alert_outcomes"] == "suppressed=2", again.line
    assert {name: len(messages) for name, messages in relay.received().items()} == dict.fromkeys(TOPICS, 0)

    # Re-signed (another timestamp, so another request) but the same body: still duplicates.
    resent = deliver(relay.function, grafana(relay, second))
    assert [e["reason"] for e in resent.body["events"]] == ["duplicate", "duplicate"], resent.body
    assert {name: len(messages) for name, messages in relay.received().items()} == dict.fromkeys(TOPICS, 0)


# --- labels: routes and silences as SNS would -------------------------------------------------

def silence(relay: Stack, *args: str) -> str:
    done = subprocess.run([str(relay.signer), "silence", *args, "--table", TABLE],
                          env=stack.clean_env({"AWS_ENDPOINT_URL": relay.moto.endpoint}),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_labels_silence_holds_back_one_alert_of_a_group_and_a_labels_route_takes_the_rest(remembering):
    relay = remembering
    payload = fresh_group()
    db1, db2, db3 = payload["alerts"]
    instance = db1["labels"]["instance"]  # db-1.<tag>: this test's own
    # Begun a minute ago: the function dates a request by its request time in whole seconds, so a
    # silence begun now would not yet hold a request made within the same second.
    start = (datetime.now(timezone.utc) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    silence_id = silence(relay, "add", "--match", json.dumps({"labels": [f"instance={instance}"]}),
                         "--start", start, "--for", "1h", "--comment", "e2e: db-1 under maintenance")
    assert silence_id.startswith("s-"), silence_id
    try:
        # A fresh instance reads the silences at its first webhook.
        during = relay.start("function-groups-silenced", relay.moto.state_env(TABLE))
        body = compact(payload)
        ids = [event_id("grafana", s) for s in alert_sources(body)]
        answer = deliver(during, grafana(relay, body))
        got = relay.received()
        assert (answer.status, answer.body) == (200, {"status": "published", "events": [
            suppressed(ids[0], "silenced"), published(ids[1], 3), published(ids[2], 3)]}), answer.body
        assert answer.line["alert_outcomes"] == "suppressed=1 published=2", answer.line
        by_topic = {name: cloudevents(messages) for name, messages in got.items()}
        assert set(by_topic["team"]) == {ids[1], ids[2]}, "the team route takes the unsilenced alerts"
        assert set(by_topic["default"]) == {ids[1], ids[2]}
        assert set(by_topic["paging"]) == {ids[1], ids[2]}
        for event in by_topic["team"].values():
            assert f"instance={instance}" not in event["data"]["labels"].values()
            assert event["data"]["labels"]["team"] == "orders"
        during.stop()
    finally:
        silence(relay, "expire", silence_id)


def test_a_labels_route_does_not_take_another_teams_alerts(quiet):
    """{"labels": ["team=orders"]} is an exact match on one element: team=orders-eu, or a label
    whose value says team=orders, are not it."""
    payload = json.loads(GRAFANA_GROUP.read_text())
    db1, db2, db3 = payload["alerts"]
    db1["labels"]["team"] = "orders-eu"
    db2["labels"]["team"] = "payments"
    db2["labels"]["note"] = "team=orders"  # an element `note=team=orders`, not `team=orders`
    body = compact(payload)
    ids = [event_id("grafana", s) for s in alert_sources(body)]
    answer = deliver(quiet.function, grafana(quiet, body))
    got = quiet.received()
    assert (answer.status, answer.body) == (200, {"status": "published", "events": [
        published(ids[0], 1), published(ids[1], 2), published(ids[2], 3)]}), answer.body
    assert set(cloudevents(got["team"])) == {ids[2]}
    assert set(cloudevents(got["paging"])) == {ids[1], ids[2]}
    labels = {json.loads(m["Body"])["id"]: json.loads(m["MessageAttributes"]["labels"]["StringValue"])
              for m in got["default"]}
    assert labels[ids[1]] == labels_attribute(db2["labels"]) and "note=team=orders" in labels[ids[1]]


# --- Alertmanager -----------------------------------------------------------------------------

def alertmanager(relay: Stack, body: bytes, form: str, credential: str) -> dict:
    return signed(relay, "alertmanager", body, form, credential)


def test_an_alertmanager_group_with_a_bearer_token_reaches_sns(quiet):
    body = ALERTMANAGER_GROUP.read_bytes()
    payload = json.loads(body)
    sources = alert_sources(body)
    ids = [event_id("alertmanager", s) for s in sources]
    token = credential_of("ALERTMANAGER_BEARER_TOKENS").split(",")[1]  # the second: rotation
    event = alertmanager(quiet, body, "bearer", token)
    assert event["headers"].get("authorization", event["headers"].get("Authorization")) == f"Bearer {token}"
    answer = deliver(quiet.function, event)
    got = quiet.received()
    # kafka-1 critical firing: all three topics; kafka-2 warning, kafka-3 resolved warning: two.
    assert (answer.status, answer.body) == (200, {"status": "published", "events": [
        published(ids[0], 3), published(ids[1], 2), published(ids[2], 2)]}), answer.body
    assert (answer.line["form"], answer.line["secret_index"]) == ("bearer", 1), answer.line
    assert token not in json.dumps(answer.line)
    events = cloudevents(got["default"])
    assert set(events) == set(ids) and set(cloudevents(got["team"])) == set(ids)
    assert set(cloudevents(got["paging"])) == {ids[0]}
    for alert, id_ in zip(payload["alerts"], ids):
        data = events[id_]["data"]
        assert (data["alert_id"], data["dedup_key"]) == (alert["fingerprint"], f"alertmanager:{alert['fingerprint']}")
        assert data["status"] == {"firing": "open", "resolved": "resolved"}[alert["status"]]
        assert data["labels"] == alert["labels"]
        assert data["group"]["version"] == "4"
    for message in got["default"]:
        alert = payload["alerts"][ids.index(json.loads(message["Body"])["id"])]
        assert message["MessageAttributes"]["labels"]["DataType"] == "String.Array"
        assert json.loads(message["MessageAttributes"]["labels"]["StringValue"]) == labels_attribute(alert["labels"])


def test_an_alertmanager_group_with_basic_auth_reaches_sns(quiet):
    body = ALERTMANAGER_DOCUMENTED.read_bytes()
    (alert,) = json.loads(body)["alerts"]
    (source,) = alert_sources(body)
    entry = credential_of("ALERTMANAGER_BASIC_AUTH").split(",")[0]
    event = alertmanager(quiet, body, "basic", entry)
    answer = deliver(quiet.function, event)
    got = quiet.received()
    id_ = event_id("alertmanager", source)
    # InstanceDown, critical, no team label: the default topic and paging.
    assert (answer.status, answer.body) == (200, {"status": "published", "events": [published(id_, 2)]}), answer.body
    # secret_index counts the credentials of both variables, ALERTMANAGER_BEARER_TOKENS' two first.
    tokens = len(credential_of("ALERTMANAGER_BEARER_TOKENS").split(","))
    assert (answer.line["form"], answer.line["secret_index"]) == ("basic", tokens), answer.line
    assert {name: list(cloudevents(messages)) for name, messages in got.items()} == {
        "default": [id_], "paging": [id_], "team": []}
    data = cloudevents(got["default"])[id_]["data"]
    assert (data["alert_id"], data["title"]) == (alert["fingerprint"], alert["annotations"]["summary"])


@pytest.mark.parametrize("form,credential", [
    ("bearer", "test-alertmanager-wrong-token"),
    ("basic", "test-alertmanager-user:test-alertmanager-wrong-password"),
    ("basic", "someone-else:test-alertmanager-secret-1"),
])
def test_a_wrong_alertmanager_credential_is_401_and_publishes_nothing(quiet, form, credential):
    event = alertmanager(quiet, ALERTMANAGER_GROUP.read_bytes(), form, credential)
    answer = deliver(quiet.function, event)
    assert (answer.status, answer.body) == (401, {"error": "invalid_signature"}), answer.body
    assert (answer.line["outcome"], answer.line["status"]) == ("rejected", 401), answer.line
    assert "wrong" not in json.dumps(answer.line) and "someone-else" not in json.dumps(answer.line)
    assert {name: len(messages) for name, messages in quiet.received().items()} == dict.fromkeys(TOPICS, 0)
