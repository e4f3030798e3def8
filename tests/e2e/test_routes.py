"""ALERT_ROUTES against moto's real SNS and SQS: one function instance routes to a paging topic
(standard, severity filter), a data-team FIFO topic (provider filter) and a chat topic (chatbot
format), beside the default topic; another routes to a topic that does not exist."""

import json
from dataclasses import dataclass

import pytest

import relaystack as stack


@dataclass
class Routed:
    function: object
    topics: dict  # topic name -> arn
    queues: dict  # topic name -> url of a queue subscribed to it


@pytest.fixture(scope="module")
def routed(log_dir, moto):
    names = ["routed-default", "routed-paging", "routed-data.fifo", "routed-chat"]
    arns = {name: moto.create_topic(name) for name in names}
    queues = {name: moto.subscribe_queue(arn, f"q-{name}") for name, arn in arns.items()}
    routes = [
        {"topic": arns["routed-paging"], "filter": {"severity": ["critical", "error"]}},
        {"topic": arns["routed-data.fifo"], "filter": {"provider": ["monte-carlo"]}},
        {"topic": arns["routed-chat"], "filter": {"status": [{"anything-but": "informational"}]},
         "format": "chatbot"},
    ]
    instance = stack.Function(log_dir, arns["routed-default"], moto.endpoint, name="function-routed",
                              env={"ALERT_ROUTES": json.dumps(routes)})
    try:
        yield Routed(instance, arns, queues)
    finally:
        instance.stop()


def deliveries(moto, routed: Routed) -> dict:
    """What each queue received, read up to an end marker published to its topic once the function
    has answered (relaystack.Moto.publish_marker): everything, and nothing that may come later."""
    markers = {name: moto.publish_marker(routed.topics[name]) for name in routed.queues}
    return {name: moto.receive_until(url, markers[name]) for name, url in routed.queues.items()}


def test_a_critical_monte_carlo_alert_reaches_every_route(routed, moto):
    for url in routed.queues.values():
        moto.drain(url)
    response = routed.function.invoke(stack.EVENTS / "monte-carlo-sev1-critical.json")
    assert stack.response_status(response) == 200, response
    body = stack.response_body(response)
    assert body["topics"] == 4

    got = deliveries(moto, routed)
    assert {name: len(messages) for name, messages in got.items()} == {
        "routed-default": 1, "routed-paging": 1, "routed-data.fifo": 1, "routed-chat": 1}

    default = json.loads(got["routed-default"][0]["Body"])
    assert default["id"] == body["event_id"]
    # The CloudEvents topics deliver the same bytes to SQS; the FIFO one with its FIFO fields.
    assert got["routed-paging"][0]["Body"] == got["routed-default"][0]["Body"]
    fifo = got["routed-data.fifo"][0]
    assert fifo["Body"] == got["routed-default"][0]["Body"]
    assert fifo["Attributes"]["MessageGroupId"] == default["data"]["dedup_key"]
    assert fifo["Attributes"]["MessageDeduplicationId"] == body["event_id"]

    chat = json.loads(got["routed-chat"][0]["Body"])
    assert chat["version"] == "1.0" and chat["source"] == "custom"
    assert chat["id"] == body["event_id"]
    assert chat["metadata"]["threadId"] == default["data"]["dedup_key"]
    assert chat["content"]["title"].startswith(":rotating_light: CRITICAL open:")
    for message in sum(got.values(), []):
        attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
        assert attributes["severity"] == "critical" and attributes["provider"] == "monte-carlo"


def test_an_atlas_warning_goes_to_default_and_chat_only(routed, moto):
    """atlas-valid.json's disk-space alert is a `warning` (the default severity rules): not paged."""
    for url in routed.queues.values():
        moto.drain(url)
    response = routed.function.invoke(stack.EVENTS / "atlas-valid.json")
    assert stack.response_status(response) == 200, response
    assert stack.response_body(response)["topics"] == 2
    got = deliveries(moto, routed)
    assert {name: len(messages) for name, messages in got.items()} == {
        "routed-default": 1, "routed-paging": 0, "routed-data.fifo": 0, "routed-chat": 1}
    assert json.loads(got["routed-default"][0]["Body"])["data"]["severity"] == "warning"


def test_a_route_to_a_missing_topic_answers_502_and_the_log_names_it(log_dir, moto):
    default = moto.create_topic("missing-route-default")
    queue = moto.subscribe_queue(default, "q-missing-route-default")
    missing = f"arn:aws:sns:{stack.REGION}:{stack.ACCOUNT_ID}:no-such-topic"
    routes = [{"topic": f"arn:aws:sns:{stack.REGION}:{stack.ACCOUNT_ID}:other", "filter": {"provider": ["atlas"]}},
              {"topic": missing}]
    instance = stack.Function(log_dir, default, moto.endpoint, name="function-missing-route",
                              env={"ALERT_ROUTES": json.dumps(routes)})
    try:
        response = instance.invoke(stack.EVENTS / "monte-carlo-valid.json")
        assert stack.response_status(response) == 502
        assert stack.response_body(response) == {"error": "publish_failed"}
        # The default topic was published all the same (the provider's retry will repeat it).
        assert len(moto.receive_until(queue, moto.publish_marker(default))) == 1
        lines = instance.logged_until(0, lambda docs: any(d.get("message") == "request" for d in docs))
        failed = [line for line in lines if line.get("message") == "publish failed"]
        assert [(line["route"], line["topic"]) for line in failed] == [("2", missing)]
        request = [line for line in lines if line.get("message") == "request"][-1]
        assert request["failed_routes"] == "2" and request["status"] == 502
    finally:
        instance.stop()
