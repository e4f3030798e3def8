"""Alert state end to end: the real binary under `cargo lambda watch` with ALERT_STATE_TABLE, against
moto's DynamoDB (beside its SNS and SQS), with three topics as docs/routes.md sets them up: the
default topic, a paging route (critical or error, repeated after an hour) and a chat route. Each
topic has a queue subscribed with raw delivery; what each received is read up to an end marker.

The same behaviours in process, against an in-memory table: tests/state_handler.rs.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import conftest
import relaystack as stack
from faultproxy import FaultProxy

TABLE = "alert-state-e2e"
TOPICS = ("state-alerts", "state-paging", "state-chat")
ATLAS_SEED = stack.EVENTS / "payloads" / "atlas" / "atlas-disk-space-alert.json"
MONTE_CARLO_SEED = stack.EVENTS / "payloads" / "monte-carlo" / "monte-carlo-sev1-incident.json"
UNAVAILABLE = "alert state unavailable: published as stateless"
# Under cargo lambda watch a claim lasts 30 s (relaystack.Function); Retry-After rounds its rest up.
CLAIM_S = 31
BUDGET_US = 1_500_000  # the 300 ms state budget, and the rest of the request, on a busy 2-core machine


@dataclass
class State:
    moto: object
    log_dir: Path
    signer: Path
    arns: dict  # topic name -> arn
    queues: dict  # topic name -> queue url
    routes: str
    dynamodb: FaultProxy  # in front of moto's DynamoDB, for the main instance
    function: object = None  # the main instance: DynamoDB through `dynamodb`, SNS direct
    started: list = field(default_factory=list)

    def start(self, name: str, dynamodb_endpoint: str | None = None, sns_endpoint: str | None = None):
        """A function instance on the same topics and table (DynamoDB at `dynamodb_endpoint`, moto
        by default; SNS at `sns_endpoint`), stopped at the end of the module."""
        instance = stack.Function(self.log_dir, self.arns["state-alerts"], sns_endpoint or self.moto.endpoint,
                                  name=name, env={"ALERT_ROUTES": self.routes,
                                                  **self.moto.state_env(TABLE, dynamodb_endpoint)})
        conftest._services.append(instance.service)
        self.started.append(instance)
        return instance

    def received(self) -> dict[str, list[dict]]:
        """What each topic's queue received since it was last read, by topic (the messages' bodies)."""
        got = {}
        for name, arn in self.arns.items():
            marker = self.moto.publish_marker(arn)
            got[name] = [json.loads(m["Body"]) for m in self.moto.receive_until(self.queues[name], marker)]
        return got

    def told(self) -> dict[str, int]:
        return {name: len(messages) for name, messages in self.received().items()}


@pytest.fixture(scope="module")
def state(log_dir, moto, signer):
    moto.create_state_table(TABLE)
    arns = {name: moto.create_topic(name) for name in TOPICS}
    queues = {name: moto.subscribe_queue(arn, f"q-{name}") for name, arn in arns.items()}
    routes = json.dumps([
        {"topic": arns["state-paging"], "filter": {"severity": ["critical", "error"]}, "repeat_after": "1h"},
        {"topic": arns["state-chat"], "format": "chatbot"},
    ])
    proxy = FaultProxy(moto.endpoint, "dynamodb")
    relay = State(moto, log_dir / "state", signer, arns, queues, routes, proxy)
    try:
        relay.function = relay.start("function-state", dynamodb_endpoint=proxy.endpoint)
        yield relay
    finally:
        for instance in relay.started:
            instance.stop()
        proxy.close()


@pytest.fixture
def relay(state):
    """The state stack with no fault, its queues read empty before the test."""
    state.dynamodb.reset()
    state.received()
    try:
        yield state
    finally:
        state.dynamodb.reset()


# --- requests ---------------------------------------------------------------------------------

def rfc3339(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def secret(provider: str) -> str:
    prefix = next(p["env_prefix"] for p in stack.registry() if p["slug"] == provider)
    return stack.env_file_values(stack.EVENTS / "test.env")[f"{prefix}_WEBHOOK_SECRETS"].split(",")[0]


def signed(state: State, provider: str, body: dict, at: datetime, event: str | None = None) -> dict:
    """`body` signed by alert-relay-sign as an HTTP API event that API Gateway received at `at`."""
    directory = state.log_dir / "bodies"
    directory.mkdir(parents=True, exist_ok=True)
    body_file = directory / f"{uuid.uuid4().hex[:12]}.json"
    body_file.write_text(json.dumps(body))
    argv = [str(state.signer), "sign", "--provider", provider, "--secret-env", "ALERT_RELAY_SIGN_SECRET",
            "--body", str(body_file), "--output", "apigw-v2", "--epoch-ms", str(int(at.timestamp() * 1000))]
    if event:
        argv += ["--event", event]
    done = subprocess.run(argv, env={**os.environ, "ALERT_RELAY_SIGN_SECRET": secret(provider)},
                          check=True, capture_output=True, timeout=60)
    return json.loads(done.stdout)


def event_id(provider: str, event: dict) -> str:
    return hashlib.sha256(provider.encode() + b":" + event["body"].encode()).hexdigest()[:32]


@dataclass
class Answer:
    status: int
    body: dict
    retry_after: str | None
    line: dict  # the request's log line
    warnings: list[dict]  # its WARN lines


def deliver(function, event: dict) -> Answer:
    offset = function.log_size()
    response = function.invoke_event(event)
    logged = function.logged_until(offset, lambda docs: any(d.get("message") == "request" for d in docs))
    lines = [d for d in logged if d.get("message") == "request"]
    assert len(lines) == 1, f"one request line expected: {logged}"
    return Answer(stack.response_status(response), stack.response_body(response),
                  stack.response_header(response, "Retry-After"), lines[0],
                  [d for d in logged if d.get("level") == "WARN"])


def hex_id() -> str:
    return uuid.uuid4().hex[:24]


def atlas_body(alert_id: str, status: str, updated: datetime, created: datetime, **fields) -> dict:
    body = json.loads(ATLAS_SEED.read_text())
    body.update(id=alert_id, status=status, created=rfc3339(created), updated=rfc3339(updated),
                lastNotified=rfc3339(updated), severity="critical")
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


# --- an Atlas alert's life --------------------------------------------------------------------

def test_an_atlas_alert_is_told_once_per_change_with_its_lifecycle(relay):
    function, alert = relay.function, hex_id()
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=3)
    at = lambda minutes: t0 + timedelta(minutes=minutes)  # noqa: E731
    steps = [
        # (what, X-MMS-Event, body, expected status/reason, topics told, the log's targets)
        ("open", "alert.open", atlas_body(alert, "OPEN", at(0), at(0)), at(0),
         "published", (1, 1, 1), "default=notified 1=notified 2=notified"),
        ("re-notification", "alert.update", atlas_body(alert, "OPEN", at(15), at(0)), at(15),
         "unchanged", (0, 0, 0), "default=unchanged 1=unchanged 2=unchanged"),
        ("re-notification past paging's repeat_after", "alert.update", atlas_body(alert, "OPEN", at(65), at(0)),
         at(65), "published", (0, 1, 0), "default=unchanged 1=notified 2=unchanged"),
        ("acknowledgement", "alert.acknowledge",
         atlas_body(alert, "OPEN", at(70), at(0), acknowledgingUsername="oncall@example.com",
                    acknowledgedUntil=rfc3339(at(300))), at(70),
         "published", (1, 1, 1), "default=notified 1=notified 2=notified"),
        # The resolve says no severity: paging's filter no longer matches, but it was told of the open.
        ("close", "alert.close", atlas_body(alert, "CLOSED", at(90), at(0), resolved=rfc3339(at(90)), severity=None),
         at(90), "published", (1, 1, 1), "default=notified 1=notified 2=notified"),
    ]
    lifecycles, chat = [], []
    for what, header, body, when, expected, told, targets in steps:
        event = signed(relay, "atlas", body, when, header)
        answer = deliver(function, event)
        got = relay.received()
        assert answer.status == 200, f"{what}: {answer.body}"
        if expected == "published":
            assert answer.body["status"] == "published", f"{what}: {answer.body}"
            assert answer.body["topics"] == sum(told), f"{what}: {answer.body}"
        else:
            assert answer.body == {"status": "suppressed", "event_id": event_id("atlas", event),
                                   "reason": expected, "topics": 0}, what
        assert tuple(len(got[name]) for name in TOPICS) == told, f"{what}: {got}"
        assert answer.line["targets"] == targets, what
        assert "state_fallback" not in answer.line, what
        chat += got["state-chat"]
        delivered = got["state-alerts"] or got["state-paging"]
        if delivered:
            assert delivered[0]["id"] == event_id("atlas", event)
            lifecycles.append((what, delivered[0]["data"]["lifecycle"]))
        close = event

    (_, opened), (_, repeated), (_, acknowledged), (_, closed) = lifecycles
    assert opened["count"] == 1 and "previous_status" not in opened, opened
    assert "duration_seconds" not in opened
    assert (repeated["count"], repeated["previous_status"]) == (3, "open"), repeated
    assert (acknowledged["count"], acknowledged["previous_status"]) == (4, "open"), acknowledged
    assert (closed["count"], closed["previous_status"]) == (5, "acknowledged"), closed
    assert closed["duration_seconds"] == 90 * 60, closed
    assert closed["opened_at"] == opened["opened_at"] == rfc3339(t0)
    assert closed["opened_event_id"] == opened["opened_event_id"]
    assert {c["metadata"]["threadId"] for c in chat} == {f"atlas:{alert}"}, "one chat thread"
    assert "*Open for:*" in chat[-1]["content"]["description"], chat[-1]

    retried = deliver(function, close)  # the same close again: Atlas retrying, say
    assert (retried.status, retried.body) == (200, {"status": "suppressed", "event_id": event_id("atlas", close),
                                                    "reason": "duplicate", "topics": 0})
    assert relay.told() == dict.fromkeys(TOPICS, 0)
    assert retried.line["targets"].startswith("default=duplicate"), retried.line

    reopen = signed(relay, "atlas", atlas_body(alert, "OPEN", at(120), at(120)), at(120), "alert.open")
    answer = deliver(function, reopen)
    got = relay.received()
    assert (answer.status, answer.body["status"], answer.body["topics"]) == (200, "published", 3), answer.body
    assert {name: len(got[name]) for name in TOPICS} == dict.fromkeys(TOPICS, 1)
    lifecycle = got["state-alerts"][0]["data"]["lifecycle"]
    assert (lifecycle["count"], lifecycle["previous_status"]) == (6, "resolved"), lifecycle
    assert lifecycle["opened_event_id"] == event_id("atlas", reopen), "a reopen starts a new episode"
    assert "duration_seconds" not in lifecycle


# --- a Monte Carlo incident -------------------------------------------------------------------

def monte_carlo_body(incident: str, kind: str, severity: str, **payload) -> dict:
    body = json.loads(MONTE_CARLO_SEED.read_text())
    body.update(type=kind, declared_alert_severity=severity)
    body["payload"].update(incident_id=incident, **payload)
    return body


def test_a_monte_carlo_incident_is_told_on_its_severity_rise_not_its_owner_changes(relay):
    function, incident, now = relay.function, str(uuid.uuid4()), datetime.now(timezone.utc)
    steps = [
        ("open, SEV-3", monte_carlo_body(incident, "open_anomaly_incident", "SEV-3"),
         "published", (1, 0, 1), "default=notified 1=- 2=notified"),
        ("owner change", monte_carlo_body(incident, "incident_owner_updated", "SEV-3", owner="ana@example.com"),
         "unchanged", (0, 0, 0), "default=unchanged 1=- 2=unchanged"),
        ("another owner change", monte_carlo_body(incident, "incident_owner_updated", "SEV-3", owner="bo@example.com"),
         "unchanged", (0, 0, 0), "default=unchanged 1=- 2=unchanged"),
        ("severity rise to SEV-1", monte_carlo_body(incident, "incident_severity_updated", "SEV-1",
                                                    owner="bo@example.com"),
         "published", (1, 1, 1), "default=notified 1=notified 2=notified"),
    ]
    for step, (what, body, expected, told, targets) in enumerate(steps):
        event = signed(relay, "monte-carlo", body, now + timedelta(seconds=step))
        answer = deliver(function, event)
        got = relay.received()
        assert answer.status == 200, f"{what}: {answer.body}"
        if expected == "published":
            assert (answer.body["status"], answer.body["topics"]) == ("published", sum(told)), f"{what}: {answer.body}"
        else:
            assert (answer.body["status"], answer.body["reason"], answer.body["topics"]) == \
                ("suppressed", expected, 0), f"{what}: {answer.body}"
        assert tuple(len(got[name]) for name in TOPICS) == told, f"{what}: {got}"
        assert answer.line["targets"] == targets, what
    rise = got["state-paging"][0]
    assert (rise["data"]["severity"], rise["data"]["lifecycle"]["count"]) == ("critical", 4), rise["data"]


# --- concurrency and crashes ------------------------------------------------------------------

def test_nine_concurrent_deliveries_to_three_instances_tell_each_topic_once(relay):
    instances = [relay.function, relay.start("function-state-2"), relay.start("function-state-3")]
    now = datetime.now(timezone.utc)
    event = signed(relay, "atlas", atlas_body(hex_id(), "OPEN", now, now), now, "alert.open")
    offsets = [instance.log_size() for instance in instances]
    barrier = threading.Barrier(9)
    answers: list = [None] * 9

    def send(i):
        barrier.wait()
        answers[i] = instances[i % 3].invoke_event(event)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    got = relay.received()
    assert {name: len(got[name]) for name in TOPICS} == dict.fromkeys(TOPICS, 1), got
    outcomes = []
    for response in answers:
        status, body = stack.response_status(response), stack.response_body(response)
        if status == 409:
            assert body == {"error": "in_progress"}
            assert 1 <= int(stack.response_header(response, "Retry-After")) <= CLAIM_S
            outcomes.append("in_progress")
        else:
            assert status == 200, body
            assert body["status"] == "published" or body.get("reason") == "duplicate", body
            outcomes.append(body["status"] if body["status"] == "published" else "duplicate")
    assert outcomes.count("published") == 1, outcomes
    lines = [d for instance, offset in zip(instances, offsets)
             for d in instance.logged_since(offset) if d.get("message") == "request"]
    assert len(lines) == 9 and not any("state_fallback" in line for line in lines), lines
    for instance in instances[1:]:
        instance.stop()


def test_a_claim_left_by_a_killed_instance_expires_and_the_redelivery_is_published(relay):
    sns = FaultProxy(relay.moto.endpoint, "sns-killed")
    try:
        doomed = relay.start("function-state-killed", sns_endpoint=sns.endpoint)
        now = datetime.now(timezone.utc)
        event = signed(relay, "atlas", atlas_body(hex_id(), "OPEN", now, now), now, "alert.open")
        sns.fail("hang", hang_seconds=120)
        threading.Thread(target=lambda: _ignore_errors(doomed.invoke_event, event, 10), daemon=True).start()
        deadline = time.monotonic() + 30
        while not sns.seen("Publish"):  # its claim is written, and it is inside its publish
            assert time.monotonic() < deadline, "the function never reached its publish"
            time.sleep(0.05)
        doomed.service.kill()  # the function itself too, not only cargo lambda watch
        assert not [d for d in doomed.logged_since(0) if d.get("event_id") == event_id("atlas", event)
                    and d.get("message") == "request"], "it died inside the request"
        killed_at = time.monotonic()
    finally:
        sns.close()

    fresh = relay.start("function-state-fresh")
    answer = deliver(fresh, event)
    assert (answer.status, answer.body) == (409, {"error": "in_progress"}), answer.body
    retry_after = int(answer.retry_after)
    assert 1 <= retry_after <= CLAIM_S, answer.retry_after
    assert relay.told() == dict.fromkeys(TOPICS, 0)

    # As a sender would: again after Retry-After, until the claim has expired.
    answers = []
    while True:
        time.sleep(retry_after)
        answer = deliver(fresh, event)
        answers.append((answer.status, answer.body))
        if answer.status != 409:
            break
        retry_after = int(answer.retry_after)
        assert time.monotonic() - killed_at < 45, f"still in progress: {answers}"
    assert (answer.status, answer.body["status"]) == (200, "published"), answers
    assert {name: len(messages) for name, messages in relay.received().items()} == {
        "state-alerts": 1, "state-paging": 1, "state-chat": 1}
    again = deliver(fresh, event)
    assert (again.status, again.body["status"], again.body.get("reason")) == (200, "suppressed", "duplicate")
    fresh.stop()


def _ignore_errors(call, *args):
    try:
        call(*args)
    except Exception:  # noqa: BLE001 (the process is killed under it)
        pass


# --- silences ---------------------------------------------------------------------------------

def silence(relay: State, *args: str) -> str:
    done = subprocess.run([str(relay.signer), "silence", *args, "--table", TABLE],
                          env=stack.clean_env({"AWS_ENDPOINT_URL": relay.moto.endpoint}),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_silence_made_with_the_signer_holds_back_an_alert_until_it_is_expired(relay):
    project = f"e2e-maintenance-{uuid.uuid4().hex[:8]}"
    silence_id = silence(relay, "add", "--match", json.dumps({"project": [project]}), "--for", "1h",
                         "--comment", "e2e maintenance window")
    assert silence_id.startswith("s-"), silence_id
    listed = json.loads(silence(relay, "list", "--json"))
    assert [s["state"] for s in listed if s["id"] == silence_id] == ["active"], listed

    # A fresh instance reads the silences at its first webhook (an older one within 30 s of its last read).
    during = relay.start("function-state-silenced")
    alert, now = hex_id(), datetime.now(timezone.utc).replace(microsecond=0)
    opened = signed(relay, "atlas", atlas_body(alert, "OPEN", now, now, projectName=project), now, "alert.open")
    answer = deliver(during, opened)
    assert (answer.status, answer.body) == (200, {"status": "suppressed", "event_id": event_id("atlas", opened),
                                                  "reason": "silenced", "topics": 0})
    assert answer.line["targets"] == " ".join(f"{t}=silenced:{silence_id}" for t in ("default", "1", "2"))
    assert relay.told() == dict.fromkeys(TOPICS, 0)
    during.stop()

    silence(relay, "expire", silence_id)
    after = relay.start("function-state-unsilenced")
    later = now + timedelta(seconds=5)
    update = signed(relay, "atlas", atlas_body(alert, "OPEN", later, now, projectName=project), later, "alert.update")
    answer = deliver(after, update)
    assert (answer.status, answer.body["status"], answer.body["topics"]) == (200, "published", 3), answer.body
    assert answer.line["targets"] == "default=notified 1=notified 2=notified"
    assert relay.told() == dict.fromkeys(TOPICS, 1)
    after.stop()


# --- DynamoDB faults --------------------------------------------------------------------------

FAULTS = {
    "throttled (ProvisionedThroughputExceededException)":
        (dict(kind="throttle", code="ProvisionedThroughputExceededException"), "throttled"),
    "throttled (ThrottlingException)": (dict(kind="throttle", code="ThrottlingException"), "throttled"),
    "HTTP 500": (dict(kind="500"), "unavailable"),
    "a hang": (dict(kind="hang", hang_seconds=30), "timeout"),
}


def assert_published_stateless(relay: State, answer: Answer, event: dict, reason: str,
                               error: str | None = None) -> None:
    assert (answer.status, answer.body["status"], answer.body["topics"]) == (200, "published", 3), answer.body
    assert answer.line["state_fallback"] == reason, answer.line
    assert "targets" not in answer.line, answer.line
    assert answer.line["duration_us"] < BUDGET_US, answer.line
    unavailable = [w for w in answer.warnings if w["message"] == UNAVAILABLE]
    assert len(unavailable) == 1 and unavailable[0]["reason"] == reason, answer.warnings
    assert unavailable[0]["event_id"] == event_id("atlas", event)
    assert error is None or error in unavailable[0]["error"], unavailable[0]
    got = relay.received()
    assert {name: len(got[name]) for name in TOPICS} == dict.fromkeys(TOPICS, 1), got
    assert "lifecycle" not in got["state-alerts"][0]["data"], "stateless: no lifecycle"


@pytest.mark.parametrize("fault", FAULTS)
def test_a_failing_table_lets_the_event_out_stateless_within_budget(relay, fault):
    kind, reason = FAULTS[fault]
    relay.dynamodb.fail(**kind)
    now = datetime.now(timezone.utc)
    event = signed(relay, "atlas", atlas_body(hex_id(), "OPEN", now, now), now, "alert.open")
    answer = deliver(relay.function, event)
    assert relay.dynamodb.seen(), "the table was asked (its silences, or the alert's state)"
    assert_published_stateless(relay, answer, event, reason)


def test_a_refused_connection_to_the_table_lets_the_event_out_stateless(relay):
    closed_port = stack.free_port()  # nothing listens on it
    refused = relay.start("function-state-refused", dynamodb_endpoint=f"http://127.0.0.1:{closed_port}")
    now = datetime.now(timezone.utc)
    event = signed(relay, "atlas", atlas_body(hex_id(), "OPEN", now, now), now, "alert.open")
    answer = deliver(refused, event)
    # `refused` is the table refusing (access denied, no such table); a dead endpoint is `unavailable`.
    assert_published_stateless(relay, answer, event, "unavailable", error="Connection refused")
    refused.stop()


def test_a_delivery_that_failed_with_502_records_nothing_and_its_retry_is_published(relay):
    """SNS failing every publish, slowly (each attempt held 1 s, then dropped; no fallback queue
    here): 502 after the SDK's retries, far past the 300 ms state budget, and still the decision is
    taken back (the budget is the table calls', not the publish's), so the sender's retry is told as
    new, not answered `in_progress` until the claim expires."""
    sns = FaultProxy(relay.moto.endpoint, "sns-failing")
    try:
        failing = relay.start("function-state-502", sns_endpoint=sns.endpoint)
        now = datetime.now(timezone.utc)
        event = signed(relay, "atlas", atlas_body(hex_id(), "OPEN", now, now), now, "alert.open")
        sns.fail("hang", hang_seconds=1.0)
        answer = deliver(failing, event)
        assert (answer.status, answer.body) == (502, {"error": "publish_failed"}), answer.body
        assert not [w for w in answer.warnings if "could not be taken back" in w["message"]], answer.warnings
        sns.heal()
        retry = deliver(failing, event)
        assert (retry.status, retry.body["status"], retry.body["topics"]) == (200, "published", 3), retry.body
        assert relay.told() == dict.fromkeys(TOPICS, 1)
        failing.stop()
    finally:
        sns.close()
