"""Standard Webhooks (standardwebhooks.com) end to end: requests signed by the specification's own
reference library (the `standardwebhooks` package, pinned in requirements-dev.txt) with the
`whsec_` secrets of events/test.env, sent over HTTP to the function under `cargo lambda watch`.

- A delivery is published, as a valid CloudEvent carrying the `webhook-id`; so is one signed with
  the second secret, or with several signatures in one header (rotation).
- A redelivery (same `webhook-id` and body, new timestamp and signature) gets the same event id.
- Outside the 5-minute tolerance, either way, a request is refused; inside it, it passes. Tampered,
  incomplete or unknown-version requests are refused too. Every refusal is a 401, the function's
  request log line gives its reason, the reference library refuses the same request, and nothing
  is published (checked with a positive end marker, not a wait).
- "Now" is API Gateway's request time: an event is judged by its requestContext time, not by the
  function's clock.
- `alert-relay-sign` and the reference library agree both ways: what `sign` prints passes
  `Webhook.verify`, and what the library signs passes `verify`.

Run alone (the stack starts as for every e2e test; `make e2e` builds the binaries first):
    .venv/bin/python -m pytest tests/e2e/test_standard_webhooks.py
"""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import jsonschema
import pytest
from standardwebhooks import Webhook, WebhookVerificationError

import relaystack as stack
from test_events import check_cloudevent

PROVIDER = "standard-webhooks"
PATH = f"/webhooks/{PROVIDER}"
SECRETS_VARIABLE = "STANDARD_WEBHOOKS_WEBHOOK_SECRETS"
TOLERANCE = 5 * 60  # seconds, both ways
WRONG_SECRET = "whsec_" + base64.b64encode(b"test-wrong-secret").decode()
# The CloudEvents 1.0 JSON schema, vendored with its source and licence (tests/data/cloudevents/README.md).
CLOUDEVENTS_SCHEMA = stack.ROOT / "tests" / "data" / "cloudevents" / "cloudevents.json"
SAMPLE_TIME = datetime(2024, 1, 15, 10, 30, tzinfo=timezone.utc)  # what events/ is signed at
SAMPLES = [row for row in stack.expected_events()
           if row["file"].startswith(f"{PROVIDER}-") and row["status"] == 200]


# --- the secrets, the payload, the reference library ----------------------------------------------

@pytest.fixture(scope="module")
def secrets() -> list[str]:
    """STANDARD_WEBHOOKS_WEBHOOK_SECRETS of events/test.env, the secrets the function has."""
    value = stack.env_file_values(stack.EVENTS / "test.env").get(SECRETS_VARIABLE)
    if value:
        return [secret.strip() for secret in value.split(",")]
    pytest.fail(f"events/test.env has no {SECRETS_VARIABLE}: run `make events`")


def alert_payload(**data) -> dict:
    """An alert in the Standard Webhooks payload shape, with an incident id new to this call (so its
    event id is new too)."""
    incident = f"inc_{uuid.uuid4().hex[:16]}"
    return {
        "type": "incident.opened",
        "timestamp": "2024-01-15T10:30:00Z",
        "data": {
            "id": incident,
            "status": "open",
            "severity": "critical",
            "title": "Checkout latency above 2 s",
            "summary": "p99 latency of checkout-api is 2.4 s (threshold 2 s) for 5 minutes",
            "url": f"https://status.example.invalid/incidents/{incident}",
            **data,
        },
    }


def encode(payload: dict) -> bytes:
    """Compact JSON, as senders send it."""
    return json.dumps(payload, separators=(",", ":")).encode()


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def now() -> int:
    return int(time.time())


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64>` entry, made by the reference library."""
    return Webhook(secret).sign(message_id, datetime.fromtimestamp(timestamp, tz=timezone.utc), body)


def signed(secret: str, body: bytes, message_id: str | None = None, timestamp: int | None = None) -> dict:
    """The three headers a Standard Webhooks sender sends, signed by the reference library."""
    message_id = message_id or new_message_id()
    timestamp = now() if timestamp is None else timestamp
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }


def reference_refusal(secrets: list[str], body: bytes, headers: dict) -> str | None:
    """None if the reference library accepts the request with one of `secrets`, else why not."""
    refusals = []
    for secret in secrets:
        try:
            Webhook(secret).verify(body, headers)
            return None
        except WebhookVerificationError as error:
            refusals.append(str(error))
    return refusals[0]


def event_id(body: bytes) -> str:
    return hashlib.sha256(f"{PROVIDER}:".encode() + body).hexdigest()[:32]


# --- the function: its answer and its log line ----------------------------------------------------

@dataclass
class Answer:
    status: int
    body: dict
    log: dict  # the function's one `"message":"request"` log line for this request


def request_lines(function, offset: int, wait: float = 10.0) -> list[dict]:
    """The request log lines the function wrote after byte `offset` of its log, once there is one."""
    deadline = time.monotonic() + wait
    while True:
        lines = [d for d in function.logged_since(offset) if d.get("message") == "request"]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def logged(function, send) -> tuple[object, dict]:
    """`send()`'s result and the one request log line it caused."""
    offset = function.log_size()
    result = send()
    lines = request_lines(function, offset)
    assert len(lines) == 1, f"expected one request log line, got {lines}"
    return result, lines[0]


def post(function, body: bytes, headers: dict) -> Answer:
    response, line = logged(function, lambda: function.send(
        "POST", PATH, {"Content-Type": "application/json", **headers}, body))
    return Answer(response.status_code, response.json(), line)


def invoke(function, event: Path) -> Answer:
    response, line = logged(function, lambda: function.invoke(event))
    return Answer(stack.response_status(response), stack.response_body(response), line)


def received(moto, queue: str, event_ids: list[str], wait: float = 10.0) -> list[dict]:
    """The CloudEvents on `queue` up to and including those of `event_ids`."""
    deadline = time.monotonic() + wait
    events = []
    while not set(event_ids) <= {event["id"] for event in events}:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"{event_ids} did not reach the queue; got {events}"
        events += [json.loads(m["Body"]) for m in moto.receive(queue, wait=remaining)]
    return events


def assert_nothing_published(function, moto, topic, secret: str) -> None:
    """A positive end marker rather than a wait: a valid alert sent after the refused request is the
    first and only message on the queue (moto delivers in publish order)."""
    marker = encode(alert_payload(title="end marker"))
    answer = post(function, marker, signed(secret, marker))
    assert answer.status == 200, answer
    assert [event["id"] for event in received(moto, topic.all_alerts, [event_id(marker)])] == [event_id(marker)], \
        "a refused request was published"


def assert_refused(answer: Answer, reason: str, error: str = "invalid_signature") -> None:
    assert (answer.status, answer.body) == (401, {"error": error}), answer
    assert answer.log.get("provider") == PROVIDER, answer.log
    assert (answer.log.get("outcome"), answer.log.get("status"), answer.log.get("reason")) == \
        ("rejected", 401, reason), answer.log


@pytest.fixture
def queue(moto, topic) -> str:
    """The unfiltered queue subscribed to the function's topic, empty."""
    moto.drain(topic.all_alerts)
    return topic.all_alerts


def sign_with_signer(signer, secret: str, body_file: Path, *extra: str) -> str:
    return subprocess.run(
        [str(signer), "sign", "--provider", PROVIDER, "--secret-env", "SW_SECRET", "--body", str(body_file), *extra],
        check=True, capture_output=True, text=True, timeout=60, env={**os.environ, "SW_SECRET": secret},
    ).stdout


def header_lines(text: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in text.splitlines() if line)


# --- the tests ---------------------------------------------------------------------------------------

def test_the_test_secrets_are_whsec_secrets(secrets):
    """events/test.env holds two secrets in the specification's form, `whsec_` + base64."""
    assert [base64.b64decode(s.removeprefix("whsec_"), validate=True) for s in secrets] == \
        [b"test-standard-webhooks-secret-1", b"test-standard-webhooks-secret-2"]
    assert all(s.startswith("whsec_") for s in secrets)


def test_a_delivery_signed_by_the_reference_library_is_published(function, moto, topic, queue, secrets):
    payload = alert_payload()
    body = encode(payload)
    headers = signed(secrets[0], body)
    assert Webhook(secrets[0]).verify(body, headers) == payload  # what the library itself accepts

    answer = post(function, body, headers)

    assert answer.status == 200, answer
    assert answer.body["status"] == "published"
    assert answer.body["event_id"] == event_id(body)
    assert (answer.log.get("outcome"), answer.log.get("secret_index")) == ("published", 0), answer.log
    messages = moto.receive(queue, wait=10.0)
    assert len(messages) == 1, messages
    event = json.loads(messages[0]["Body"])
    check_cloudevent(event, PROVIDER, body)
    incident = payload["data"]["id"]
    data = event["data"]
    assert (event["id"], event["source"], event["type"], event["subject"]) == \
        (event_id(body), PATH, "alert.open", incident)
    assert data["resource"]["webhook_id"] == headers["webhook-id"]
    assert {key: data[key] for key in
            ("provider", "alert_id", "dedup_key", "status", "severity", "event_type", "title", "summary", "url")} == {
        "provider": PROVIDER,
        "alert_id": incident,
        "dedup_key": f"{PROVIDER}:{incident}",
        "status": "open",
        "severity": "critical",
        "event_type": "incident.opened",
        "title": "Checkout latency above 2 s",
        "summary": payload["data"]["summary"],
        "url": payload["data"]["url"],
    }
    assert datetime.fromisoformat(data["occurred_at"].replace("Z", "+00:00")) == SAMPLE_TIME
    attributes = {name: value["StringValue"] for name, value in messages[0]["MessageAttributes"].items()}
    assert {name: attributes.get(name) for name in ("provider", "status", "severity", "event_type")} == {
        "provider": PROVIDER, "status": "open", "severity": "critical", "event_type": "incident.opened"}


def test_the_event_is_a_valid_cloudevent(function, moto, queue, secrets):
    """Against the CloudEvents specification's own JSON schema (vendored: it never skips)."""
    body = encode(alert_payload())
    assert post(function, body, signed(secrets[0], body)).status == 200
    [event] = received(moto, queue, [event_id(body)])
    schema = json.loads(CLOUDEVENTS_SCHEMA.read_text())
    validator = jsonschema.validators.validator_for(schema)
    validator(schema, format_checker=validator.FORMAT_CHECKER).validate(event)


def test_the_specifications_example_payload_is_normalized(function, moto, queue, secrets):
    """The spec's own example: `type` is the event type even though `data` has a `type` too; the id
    comes from `data`; with no status the alert is open; the `timestamp` is when it occurred."""
    payload = {
        "type": "contact.created",
        "timestamp": "2022-11-03T20:26:10.344522Z",
        "data": {"id": "1f81eb52-5198-4599-803e-771906343485", "type": "contact", "fullName": "John Smith",
                 "relayTest": uuid.uuid4().hex},
    }
    body = encode(payload)
    assert post(function, body, signed(secrets[1], body)).status == 200
    [event] = received(moto, queue, [event_id(body)])
    check_cloudevent(event, PROVIDER, body)
    data = event["data"]
    assert (data["event_type"], data["alert_id"], data["status"]) == \
        ("contact.created", "1f81eb52-5198-4599-803e-771906343485", "open")
    assert datetime.fromisoformat(data["occurred_at"].replace("Z", "+00:00")) == \
        datetime(2022, 11, 3, 20, 26, 10, 344522, tzinfo=timezone.utc)


def test_top_level_fields_come_before_those_of_data(function, moto, queue, secrets):
    payload = alert_payload(title="from data", status="resolved")
    payload.update(title="from the top level", status="acknowledged")
    body = encode(payload)
    assert post(function, body, signed(secrets[0], body)).status == 200
    [event] = received(moto, queue, [event_id(body)])
    assert (event["data"]["title"], event["data"]["status"], event["data"]["alert_id"]) == \
        ("from the top level", "acknowledged", payload["data"]["id"])


ROTATIONS = {
    # name: (how the webhook-signature header is made from the secrets, the secret_index logged)
    "the second secret": (lambda s, i, t, b: signature(s[1], i, t, b), 1),
    "the old and the new signature": (
        lambda s, i, t, b: f"{signature(WRONG_SECRET, i, t, b)} {signature(s[1], i, t, b)}", 1),
    "another version's entry is ignored": (
        lambda s, i, t, b: f"v1a,{base64.b64encode(bytes(64)).decode()} {signature(s[0], i, t, b)}", 0),
}


@pytest.mark.parametrize("rotation", ROTATIONS, ids=list(ROTATIONS))
def test_rotation_is_accepted(function, moto, queue, secrets, rotation):
    make, secret_index = ROTATIONS[rotation]
    body = encode(alert_payload())
    message_id, timestamp = new_message_id(), now()
    headers = {"webhook-id": message_id, "webhook-timestamp": str(timestamp),
               "webhook-signature": make(secrets, message_id, timestamp, body)}
    assert reference_refusal(secrets, body, headers) is None

    answer = post(function, body, headers)

    assert answer.status == 200, answer
    assert answer.log.get("secret_index") == secret_index, answer.log
    assert [e["id"] for e in received(moto, queue, [event_id(body)])] == [event_id(body)]


def test_a_redelivery_keeps_its_event_id(function, moto, queue, secrets):
    """A sender's retry: the same webhook-id and body, a new timestamp and so a new signature."""
    body = encode(alert_payload())
    message_id = new_message_id()
    first = signed(secrets[0], body, message_id, now() - 90)
    retry = signed(secrets[0], body, message_id, now())
    assert first["webhook-signature"] != retry["webhook-signature"]

    answers = [post(function, body, headers) for headers in (first, retry)]

    assert [a.status for a in answers] == [200, 200], answers
    assert answers[0].body["event_id"] == answers[1].body["event_id"] == event_id(body)
    events = received(moto, queue, [event_id(body)])
    events += [json.loads(m["Body"]) for m in moto.receive(queue, wait=2.0)] if len(events) < 2 else []
    # At least once: both copies are published, with the same id, for subscribers to deduplicate.
    assert [(e["id"], e["data"]["resource"]["webhook_id"]) for e in events] == [(event_id(body), message_id)] * 2


@pytest.mark.parametrize(("offset", "reason"), [
    (-(TOLERANCE + 1), "timestamp_too_old"),
    (-3600, "timestamp_too_old"),
    (-30 * 24 * 3600, "timestamp_too_old"),
    # +10 s of slack: the function judges by when the request arrives, a moment after `now()`.
    (TOLERANCE + 10, "timestamp_in_future"),
    (24 * 3600, "timestamp_in_future"),
], ids=lambda value: str(value))
def test_a_replay_outside_the_tolerance_is_refused(function, moto, topic, queue, secrets, offset, reason):
    body = encode(alert_payload())
    headers = signed(secrets[0], body, timestamp=now() + offset)
    expected = "too old" if offset < 0 else "too new"
    assert expected in (reference_refusal(secrets, body, headers) or "accepted")

    assert_refused(post(function, body, headers), reason)
    assert_nothing_published(function, moto, topic, secrets[0])


@pytest.mark.parametrize("offset", [-4 * 60, 4 * 60], ids=["4 minutes old", "4 minutes ahead"])
def test_inside_the_tolerance_is_accepted(function, moto, queue, secrets, offset):
    body = encode(alert_payload())
    headers = signed(secrets[0], body, timestamp=now() + offset)
    assert reference_refusal(secrets, body, headers) is None
    assert post(function, body, headers).status == 200
    assert [e["id"] for e in received(moto, queue, [event_id(body)])] == [event_id(body)]


def without(headers: dict, name: str) -> dict:
    return {k: v for k, v in headers.items() if k != name}


def changed(headers: dict, name: str, value: str) -> dict:
    return {**headers, name: value}


def versioned(headers: dict, version: str) -> dict:
    """The same signature under another version label."""
    return changed(headers, "webhook-signature", headers["webhook-signature"].replace("v1,", f"{version},", 1))


def tampered(body: bytes) -> bytes:
    payload = json.loads(body)
    payload["data"]["severity"] = "info"
    return encode(payload)


# name: (how to make (body sent, headers sent) from a body, the secrets and a timestamp; logged reason)
REFUSED = {
    "tampered body": (lambda b, s, t: (tampered(b), signed(s[0], b, timestamp=t)), "signature_mismatch"),
    "unknown secret": (lambda b, s, t: (b, signed(WRONG_SECRET, b, timestamp=t)), "signature_mismatch"),
    "webhook-id changed": (
        lambda b, s, t: (b, changed(signed(s[0], b, timestamp=t), "webhook-id", new_message_id())),
        "signature_mismatch"),
    "webhook-timestamp changed": (
        lambda b, s, t: (b, changed(signed(s[0], b, timestamp=t), "webhook-timestamp", str(t - 1))),
        "signature_mismatch"),
    "no webhook-id": (lambda b, s, t: (b, without(signed(s[0], b, timestamp=t), "webhook-id")), "missing_webhook_id"),
    "no webhook-timestamp": (
        lambda b, s, t: (b, without(signed(s[0], b, timestamp=t), "webhook-timestamp")), "missing_webhook_timestamp"),
    "timestamp not in Unix seconds": (
        lambda b, s, t: (b, changed(signed(s[0], b, timestamp=t), "webhook-timestamp", "2024-01-15T10:30:00Z")),
        "bad_timestamp"),
    "only an unknown version": (lambda b, s, t: (b, versioned(signed(s[0], b, timestamp=t), "v2")), "wrong_scheme"),
    "not base64": (
        lambda b, s, t: (b, changed(signed(s[0], b, timestamp=t), "webhook-signature", "v1,%%%%")), "bad_encoding"),
    "a truncated signature": (
        lambda b, s, t: (b, changed(signed(s[0], b, timestamp=t), "webhook-signature",
                                    "v1," + base64.b64encode(bytes(16)).decode())),
        "wrong_length"),
    # As the reference library does, the timestamp is checked before the signature.
    "stale and forged": (lambda b, s, t: (b, signed(WRONG_SECRET, b, timestamp=t - 3600)), "timestamp_too_old"),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_a_bad_request_is_refused_with_its_reason(function, moto, topic, queue, secrets, case):
    make, reason = REFUSED[case]
    body, headers = make(encode(alert_payload()), secrets, now())
    assert reference_refusal(secrets, body, headers) is not None

    assert_refused(post(function, body, headers), reason)
    assert_nothing_published(function, moto, topic, secrets[0])


def test_no_signature_header_is_a_missing_signature(function, moto, topic, queue, secrets):
    body = encode(alert_payload())
    headers = without(signed(secrets[0], body), "webhook-signature")
    assert reference_refusal(secrets, body, headers) is not None
    assert_refused(post(function, body, headers), "missing_signature", error="missing_signature")
    assert_nothing_published(function, moto, topic, secrets[0])


# --- "now" is API Gateway's request time ---------------------------------------------------------

def set_request_time(event: dict, epoch_ms: int) -> dict:
    """The request time of an HTTP API (`timeEpoch`) or REST API (`requestTimeEpoch`) event."""
    context = event["requestContext"]
    context["timeEpoch" if event.get("version") == "2.0" else "requestTimeEpoch"] = epoch_ms
    return event


@pytest.mark.parametrize("output", ["apigw-v2", "apigw-rest"])
def test_the_request_time_is_api_gateways(function, moto, queue, signer, secrets, tmp_path, output):
    """An event signed at 2024-01-15T10:30:00Z is accepted when API Gateway received it then, however
    late it is invoked; the same headers are refused when API Gateway's time is 5 minutes and 1 s later
    or earlier, though the function's own clock has not moved."""
    body = encode(alert_payload())
    (tmp_path / "body.json").write_bytes(body)
    sample_ms = int(SAMPLE_TIME.timestamp() * 1000)
    event = json.loads(sign_with_signer(signer, secrets[0], tmp_path / "body.json",
                                        "--output", output, "--epoch-ms", str(sample_ms)))
    headers = {k.lower(): v for k, v in event["headers"].items()}
    assert headers["webhook-timestamp"] == str(sample_ms // 1000)
    # The signer's signature is the reference library's for the same id, time and body.
    assert headers["webhook-signature"] == signature(secrets[0], headers["webhook-id"], sample_ms // 1000, body)

    results = {}
    for name, at_ms in {"on time": sample_ms,
                        "late": sample_ms + (TOLERANCE + 1) * 1000,
                        "early": sample_ms - (TOLERANCE + 1) * 1000}.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(set_request_time(event, at_ms)))
        results[name] = invoke(function, path)

    assert results["on time"].status == 200, results["on time"]
    assert [e["id"] for e in received(moto, queue, [event_id(body)])] == [event_id(body)]
    assert_refused(results["late"], "timestamp_too_old")
    assert_refused(results["early"], "timestamp_in_future")


@pytest.mark.parametrize("sample", [row["file"] for row in SAMPLES])
def test_a_sample_event_replayed_today_is_refused(function, sample):
    """events/ is signed at 2024-01-15T10:30:00Z: replayed over HTTP now, it is a stale replay."""
    response, line = logged(function, lambda: function.send_event(stack.EVENTS / sample))
    assert_refused(Answer(response.status_code, response.json(), line), "timestamp_too_old")


def test_there_are_published_samples():
    assert SAMPLES, f"events/README.md lists no {PROVIDER}-*.json answered 200: run `make events`"


# --- alert-relay-sign and the reference library agree ---------------------------------------------

@pytest.mark.parametrize("index", [0, 1])
def test_the_signers_headers_pass_the_reference_library(signer, secrets, tmp_path, index):
    payload = alert_payload()
    body_file = tmp_path / "body.json"
    body_file.write_bytes(encode(payload))
    before = now()

    headers = header_lines(sign_with_signer(signer, secrets[index], body_file, "--output", "headers"))

    names = {name.lower() for name in headers}
    assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= names, headers
    lowered = {k.lower(): v for k, v in headers.items()}
    assert before - 5 <= int(lowered["webhook-timestamp"]) <= now() + 5
    assert Webhook(secrets[index]).verify(body_file.read_bytes(), headers) == payload
    assert reference_refusal([secrets[1 - index]], body_file.read_bytes(), headers) == "No matching signature found"


@pytest.mark.parametrize(("case", "answer"), [
    ("as signed", "accepted: "),
    ("tampered body", "rejected: 401 invalid_signature, reason=signature_mismatch"),
    ("an hour old", "rejected: 401 invalid_signature, reason=timestamp_too_old"),
], ids=["as signed", "tampered body", "an hour old"])
def test_the_reference_librarys_requests_pass_the_signers_verify(signer, secrets, tmp_path, case, answer):
    body = encode(alert_payload())
    headers = signed(secrets[1], body, timestamp=now() - (3600 if case == "an hour old" else 0))
    (tmp_path / "headers.txt").write_text("".join(f"{k}: {v}\n" for k, v in headers.items()))
    (tmp_path / "body.json").write_bytes(tampered(body) if case == "tampered body" else body)

    done = subprocess.run(
        [str(signer), "verify", "--provider", PROVIDER, "--secret-env", "SW_1", "--secret-env", "SW_2",
         "--headers", str(tmp_path / "headers.txt"), "--body", str(tmp_path / "body.json")],
        capture_output=True, text=True, timeout=60, env={**os.environ, "SW_1": secrets[0], "SW_2": secrets[1]},
    )

    first = done.stdout.split("\n", 1)[0]
    assert first.startswith(answer), done
    assert done.returncode == (0 if case == "as signed" else 1), done
    if case == "as signed":
        assert "secret_index=1" in first, done
    assert secrets[0] not in done.stdout + done.stderr and secrets[1] not in done.stdout + done.stderr


def test_signer_send_is_published(function, moto, queue, signer, secrets, tmp_path):
    body = encode(alert_payload())
    (tmp_path / "body.json").write_bytes(body)
    done = subprocess.run(
        [str(signer), "send", "--provider", PROVIDER, "--secret-env", "SW_SECRET",
         "--body", str(tmp_path / "body.json"), "--url", f"{function.base_url}{PATH}"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "SW_SECRET": secrets[1]},
    )
    assert done.returncode == 0, done
    assert done.stdout.startswith("HTTP 200 OK"), done
    assert [e["id"] for e in received(moto, queue, [event_id(body)])] == [event_id(body)]


def test_the_signature_is_the_specifications_hmac(secrets):
    """The scheme, spelled out (docs/standard-webhooks.md shows it in a shell): HMAC-SHA256 keyed by
    the base64-decoded secret over `{id}.{timestamp}.{body}`, base64 after `v1,`."""
    body, message_id, timestamp = b'{"type":"ping"}', "msg_1", 1705314600
    key = base64.b64decode(secrets[0].removeprefix("whsec_"))
    mac = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    assert signature(secrets[0], message_id, timestamp, body) == "v1," + base64.b64encode(mac).decode()
