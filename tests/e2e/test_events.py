"""Every sample event, through `cargo lambda invoke --data-file` and through plain HTTP to the
function-URL emulation: the status and error of events/README.md's table, and for each published one
the CloudEvent and attributes that reached the subscribed queues (the `severity = critical` filter
subscription gets exactly the critical ones). Nothing unauthenticated or malformed is published."""

import base64
import hashlib
import json
from datetime import datetime

import pytest

import relaystack as stack
from conftest import received

TABLE = stack.expected_events()
STATUSES = {"open", "updated", "acknowledged", "resolved", "cancelled", "informational"}
SEVERITIES = {"critical", "error", "warning", "info", "unknown"}
ATTRIBUTES = ("provider", "status", "severity", "event_type")

ATLAS_ALERT = {
    "subject": "5d1b6f8e8c2e4e2d3c4a5b6c",
    "data.alert_id": "5d1b6f8e8c2e4e2d3c4a5b6c",
    "data.dedup_key": "atlas:5d1b6f8e8c2e4e2d3c4a5b6c",
    # Without Atlas API credentials (events/test.env has none), the default rules decide:
    # OUTSIDE_* metric thresholds are warnings (docs/severity.md, default rule 3).
    "data.severity": "warning",
    "data.severity_source": "default-rule 3",
    "data.event_type": "OUTSIDE_METRIC_THRESHOLD",
    "data.resource.project": "MyProject",
    "data.resource.organization": "MyOrganization",
    "data.resource.group_id": "5d1b6f8e8c2e4e2d3c4a5b6d",
    "data.resource.metric": "DISK_PARTITION_SPACE_USED_DATA",
    "data.resource.units": "RAW",
}
ATLAS_OPEN = {
    **ATLAS_ALERT,
    "type": "alert.open",
    "data.status": "open",
    "time": "2024-01-15T10:30:00Z",
    "data.title": "Disk space used on data partition is 95.2%.",
    "data.resource.value": 95.2,
}
# One alert's life (the atlas-lifecycle-* samples): another alert of the same configuration.
ATLAS_LIFE = {
    **ATLAS_ALERT,
    "subject": "65a5123e8c2e4e2d3c4a5c01",
    "data.alert_id": "65a5123e8c2e4e2d3c4a5c01",
    "data.dedup_key": "atlas:65a5123e8c2e4e2d3c4a5c01",
}
ATLAS_LIFE_CLOSED = {**ATLAS_LIFE, "type": "alert.resolved", "data.status": "resolved",
                     "time": "2024-01-15T12:00:00Z", "data.resource.value": 64.0}
MC_VOLUME = {
    "type": "alert.open",
    "data.status": "open",
    "data.severity": "unknown",
    "data.event_type": "open_anomaly_incident",
    "data.alert_id": "f83867b6-8f25-428b-807c-08518f63384c",
    "data.dedup_key": "monte-carlo:f83867b6-8f25-428b-807c-08518f63384c",
    "data.url": "https://getmontecarlo.com/incidents/f83867b6-8f25-428b-807c-08518f63384c",
}
MC_RULE = {**MC_VOLUME, "data.event_type": "open_custom_rule_anomaly_incident"}
APP_TRIGGER = {
    "subject": "trigger-orders-sync-42",
    "data.alert_id": "trigger-orders-sync-42",
    "data.dedup_key": "app-services:trigger-orders-sync-42",
    "type": "alert.open",
    "data.status": "open",
    "data.severity": "error",
    "data.event_type": "TRIGGER_FAILURE",
    "data.title": "Database trigger orders-sync failed 5 times in a row",
    "data.url": "https://example.invalid/app-services/triggers/orders-sync",
    "data.severity_source": "provider",
}
APP_MESSAGE = {"data.title": "MESSAGE", "data.event_type": "unknown", "data.severity": "unknown"}

SW_ALERT = {
    "data.alert_id": "alrt_2b8f1c9e",
    "data.dedup_key": "standard-webhooks:alrt_2b8f1c9e",
    "data.severity": "critical",
    "data.title": "p99 latency above 2 s on checkout-api",
    "data.url": "https://status.example.com/alerts/alrt_2b8f1c9e",
    "data.resource.service": "checkout-api",
}
SW_FIRING = {**SW_ALERT, "type": "alert.open", "data.status": "open", "data.event_type": "alert.firing",
             "data.resource.webhook_id": "msg_b5c38e12abd003066c79d22104"}

# What SPEC.md pins down for each published sample, beyond what holds for every event.
EXPECTED = {
    "atlas-valid.json": ATLAS_OPEN,
    "atlas-valid-rest.json": ATLAS_OPEN,
    "atlas-rotated-secret.json": ATLAS_OPEN,
    "atlas-close.json": {**ATLAS_ALERT, "type": "alert.resolved", "data.status": "resolved"},
    "atlas-lifecycle-1-open.json": {**ATLAS_LIFE, "type": "alert.open", "data.status": "open",
                                    "time": "2024-01-15T10:30:00Z", "data.resource.value": 95.2},
    "atlas-lifecycle-2-renotified.json": {**ATLAS_LIFE, "type": "alert.updated", "data.status": "updated",
                                          "time": "2024-01-15T10:45:00Z", "data.resource.value": 95.6},
    "atlas-lifecycle-3-renotified.json": {**ATLAS_LIFE, "type": "alert.updated", "data.status": "updated",
                                          "time": "2024-01-15T11:35:00Z", "data.resource.value": 96.1},
    "atlas-lifecycle-4-acknowledged.json": {**ATLAS_LIFE, "type": "alert.acknowledged", "data.status": "acknowledged",
                                            "time": "2024-01-15T11:40:00Z"},
    "atlas-lifecycle-5-closed.json": ATLAS_LIFE_CLOSED,
    "atlas-lifecycle-6-closed-again.json": ATLAS_LIFE_CLOSED,
    "app-services-valid.json": APP_TRIGGER,
    "app-services-valid-rest.json": APP_TRIGGER,
    "app-services-rotated-secret.json": APP_MESSAGE,
    "app-services-query-secret.json": APP_MESSAGE,
    "monte-carlo-valid.json": MC_VOLUME,
    "monte-carlo-rotated-secret.json": MC_VOLUME,
    "monte-carlo-valid-rest.json": MC_RULE,
    "monte-carlo-documented-form.json": MC_RULE,
    "monte-carlo-sev1-critical.json": {
        **MC_VOLUME,
        "data.severity": "critical",
        "data.alert_id": "0b6a4c3e-1f0e-4d7c-9a55-2c1d3e4f5a6b",
        "data.dedup_key": "monte-carlo:0b6a4c3e-1f0e-4d7c-9a55-2c1d3e4f5a6b",
        "data.url": "https://getmontecarlo.com/incidents/0b6a4c3e-1f0e-4d7c-9a55-2c1d3e4f5a6b",
    },
    "app-services-long-title.json": {
        "subject": "trigger-orders-sync-long-43",
        "data.alert_id": "trigger-orders-sync-long-43",
        "type": "alert.open",
        "data.severity": "error",
        "data.severity_source": "provider",
        "data.event_type": "TRIGGER_FAILURE",
        # Titles are cut at 256 characters with an ellipsis; URLs are never cut.
        "data.title": json.loads((stack.EVENTS / "payloads" / "app-services" / "app-services-long-title.json").read_text())["title"][:255] + "\u2026",
    },
    "standard-webhooks-valid.json": SW_FIRING,
    "standard-webhooks-valid-rest.json": SW_FIRING,
    "standard-webhooks-resolved.json": {
        **SW_ALERT, "type": "alert.resolved", "data.status": "resolved",
        "data.event_type": "alert.resolved", "data.resource.webhook_id": "msg_70f716557cad59c63584a2ed05",
    },
    "standard-webhooks-contact-created.json": {
        "data.alert_id": "1f81eb52-5198-4599-803e-771906343485", "data.event_type": "contact.created",
        "data.severity": "unknown", "data.title": "Standard Webhooks alert contact.created",
        "data.resource.webhook_id": "msg_60e4c44654b4dee47d5ab60c15",
    },
}


# The group samples (Grafana, Alertmanager): each alert its own event, in the body's order; the
# severity of each, from its `severity` label (none: unknown).
GROUP_SEVERITIES = {
    "grafana-group-timestamped.json": ["warning", "critical", "critical"],
    "grafana-group-rest.json": ["warning", "critical", "critical"],
    "grafana-documented-body-only.json": ["unknown", "unknown"],
    "alertmanager-group.json": ["critical", "warning", "warning"],
    "alertmanager-group-rest.json": ["critical", "warning", "warning"],
    "alertmanager-basic-auth.json": ["critical"],
}
SENDER_STATUS = {"firing": "open", "resolved": "resolved"}


def lookup(event: dict, dotted: str):
    value = event
    for key in dotted.split("."):
        value = value[key]
    return value


def event_request(file: str) -> tuple[str, bytes]:
    """The provider slug and the raw body bytes a sample event carries."""
    event = json.loads((stack.EVENTS / file).read_text())
    provider = (event.get("pathParameters") or {}).get("provider")
    _, _, _, _, body = stack.request_of_event(event)
    return provider, body


def call(function, transport: str, file: str) -> tuple[int, dict, str | None]:
    """(status, JSON body, Allow header) of one sample event through `transport`."""
    if transport == "invoke":
        response = function.invoke(stack.EVENTS / file)
        return (stack.response_status(response), stack.response_body(response),
                stack.response_header(response, "allow"))
    response = function.send_event(stack.EVENTS / file)
    return response.status_code, response.json(), response.headers.get("allow")


def test_readme_lists_every_event():
    listed = {row["file"] for row in TABLE}
    on_disk = {path.name for path in stack.EVENTS.glob("*.json")}
    assert listed == on_disk
    assert not set(EXPECTED) & set(GROUP_SEVERITIES)
    assert set(EXPECTED) | set(GROUP_SEVERITIES) == {row["file"] for row in TABLE if row["status"] == 200}


@pytest.mark.parametrize("transport", ["invoke", "http"])
@pytest.mark.parametrize("case", TABLE, ids=[row["file"].removesuffix(".json") for row in TABLE])
def test_event(function, moto, topic, transport, case):
    moto.drain(topic.all_alerts)
    moto.drain(topic.critical_alerts)

    status, body, allow = call(function, transport, case["file"])

    provider, raw_body = event_request(case["file"])
    # A sample whose signature covers its request time is a replay when sent over HTTP today
    # (tests/e2e/test_standard_webhooks.py shows the reason, timestamp_too_old).
    replayed = transport == "http" and case["status"] == 200 and stack.time_signed(
        stack.EVENTS / case["file"], stack.registry())
    expected_status, expected_error = (401, "invalid_signature") if replayed else (case["status"], case["error"])
    assert status == expected_status, body
    if status != 200:
        assert body == {"error": expected_error}
        if status == 405:
            assert allow == "POST"
        assert received(moto, topic) == ([], []), "a rejected request was published"
        return
    if case["file"] in GROUP_SEVERITIES:
        check_group(moto, topic, case["file"], provider, raw_body, body)
        return

    assert body["status"] == "published"
    assert body["message_id"]
    delivered, critical = received(moto, topic)
    assert len(delivered) == 1, delivered
    message = delivered[0]
    event = json.loads(message["Body"])
    assert event["id"] == body["event_id"]

    check_cloudevent(event, provider, raw_body)
    for dotted, value in EXPECTED[case["file"]].items():
        assert lookup(event, dotted) == value, dotted
    if "data.alert_id" not in EXPECTED[case["file"]]:
        assert event["data"]["alert_id"] == event["id"]  # no id in the body: the event id

    attributes = message["MessageAttributes"]
    for name in ATTRIBUTES:
        assert attributes[name] == {"DataType": "String", "StringValue": event["data"][name]}, name

    if event["data"]["severity"] == "critical":
        assert [json.loads(m["Body"])["id"] for m in critical] == [event["id"]]
    else:
        assert critical == [], "the severity=critical subscription got a non-critical alert"


def check_group(moto, topic, file: str, provider: str, raw_body: bytes, body: dict) -> None:
    """A group's answer lists an event per alert, each published to the one topic; each alert's
    CloudEvent is its own (its id over its own bytes, its labels, its status and severity)."""
    from test_groups import alert_sources, labels_attribute

    sources = alert_sources(raw_body)
    alerts = [json.loads(source) for source in sources]
    ids = [hashlib.sha256(provider.encode() + b":" + source).hexdigest()[:32] for source in sources]
    assert body == {"status": "published", "events": [
        {"event_id": id_, "status": "published", "topics": 1} for id_ in ids]}, body
    delivered, critical = received(moto, topic)
    events = {json.loads(m["Body"])["id"]: m for m in delivered}
    assert len(delivered) == len(events) == len(ids) and set(events) == set(ids), list(events)
    for source, alert, id_, severity in zip(sources, alerts, ids, GROUP_SEVERITIES[file], strict=True):
        message = events[id_]
        event = json.loads(message["Body"])
        check_cloudevent(event, provider, source)
        data = event["data"]
        assert (data["alert_id"], data["status"], data["severity"]) == (
            alert["fingerprint"], SENDER_STATUS[alert["status"]], severity), data
        assert (data["event_type"], data["title"]) == (alert["labels"]["alertname"], alert["annotations"]["summary"])
        assert data["labels"] == alert["labels"] and data["annotations"] == alert["annotations"]
        attributes = message["MessageAttributes"]
        for name in ATTRIBUTES:
            assert attributes[name] == {"DataType": "String", "StringValue": data[name]}, name
        assert attributes["labels"]["DataType"] == "String.Array"
        assert json.loads(attributes["labels"]["StringValue"]) == labels_attribute(alert["labels"])
    wanted = {id_ for id_, severity in zip(ids, GROUP_SEVERITIES[file]) if severity == "critical"}
    assert {json.loads(m["Body"])["id"] for m in critical} == wanted and len(critical) == len(wanted)


def check_cloudevent(event: dict, provider: str, raw_body: bytes) -> None:
    """What SPEC.md's common event guarantees for every published alert."""
    data = event["data"]
    assert event["specversion"] == "1.0"
    assert event["id"] == hashlib.sha256(provider.encode() + b":" + raw_body).hexdigest()[:32]
    assert event["source"] == f"/webhooks/{provider}"
    assert event["type"] == f"alert.{data['status']}"
    assert event["subject"] == data["alert_id"]
    assert event["datacontenttype"] == "application/json"
    assert datetime.fromisoformat(event["time"].replace("Z", "+00:00")).tzinfo is not None
    assert event["time"] == data["occurred_at"]
    assert data["provider"] == provider
    assert data["dedup_key"] == f"{provider}:{data['alert_id']}"
    assert data["status"] in STATUSES
    assert data["severity"] in SEVERITIES
    assert data["title"].strip()
    assert data["event_type"].strip()
    assert data["raw"] == json.loads(raw_body)


def test_critical_subscription_gets_only_critical_alerts(function, moto, topic):
    """The filter policy routes on the `severity` attribute: of a non-critical and a critical alert
    published back to back, the filtered queue gets only the critical one; the unfiltered both."""
    moto.drain(topic.all_alerts)
    moto.drain(topic.critical_alerts)
    for file in ("monte-carlo-valid.json", "monte-carlo-sev1-critical.json", "atlas-valid.json"):
        status, body, _ = call(function, "invoke", file)
        assert status == 200, body

    everything, critical = received(moto, topic)

    assert len(everything) == 3
    assert [json.loads(m["Body"])["data"]["severity"] for m in critical] == ["critical"]
    assert json.loads(critical[0]["Body"])["data"]["alert_id"] == "0b6a4c3e-1f0e-4d7c-9a55-2c1d3e4f5a6b"


def test_rest_events_carry_a_stage_and_a_base64_body():
    """The REST samples really exercise isBase64Encoded."""
    for row in TABLE:
        event = json.loads((stack.EVENTS / row["file"]).read_text())
        if "httpMethod" in event:
            assert event["isBase64Encoded"] is True
            assert event["requestContext"]["stage"] == "prod"
            json.loads(base64.b64decode(event["body"]))
