"""A FIFO topic: each alert's messages share a group (MessageGroupId = data.dedup_key) and a
redelivered webhook keeps its deduplication id (MessageDeduplicationId = the CloudEvent id)."""

import json

import relaystack as stack

PUBLISHED = [
    "atlas-valid.json",
    "atlas-close.json",
    "monte-carlo-documented-form.json",
    "monte-carlo-sev1-critical.json",
]


def test_fifo_messages_are_grouped_by_dedup_key(fifo, moto):
    moto.drain(fifo.queue)
    event_ids = []
    for file in PUBLISHED:
        response = fifo.function.invoke(stack.EVENTS / file)
        assert stack.response_status(response) == 200, response
        event_ids.append(stack.response_body(response)["event_id"])

    messages = moto.receive_until(fifo.queue, moto.publish_marker(fifo.arn))
    assert len(messages) == len(PUBLISHED)
    for message in messages:
        event = json.loads(message["Body"])
        assert message["Attributes"]["MessageGroupId"] == event["data"]["dedup_key"]
        assert message["Attributes"]["MessageDeduplicationId"] == event["id"]
    assert sorted(json.loads(m["Body"])["id"] for m in messages) == sorted(event_ids)
    groups = {m["Attributes"]["MessageGroupId"] for m in messages}
    assert "atlas:5d1b6f8e8c2e4e2d3c4a5b6c" in groups  # open and close of one alert: one group


def test_redelivered_webhook_is_deduplicated(fifo, moto):
    moto.drain(fifo.queue)
    first = fifo.function.invoke(stack.EVENTS / "monte-carlo-rotated-secret.json")
    again = fifo.function.invoke(stack.EVENTS / "monte-carlo-valid.json")  # same body, other secret
    assert stack.response_status(first) == stack.response_status(again) == 200
    assert stack.response_body(first)["event_id"] == stack.response_body(again)["event_id"]
    messages = moto.receive_until(fifo.queue, moto.publish_marker(fifo.arn))
    assert [json.loads(m["Body"])["id"] for m in messages] == [stack.response_body(first)["event_id"]]


def test_unconfigured_provider_is_disabled(fifo):
    response = fifo.function.invoke(stack.EVENTS / "app-services-valid.json")
    assert stack.response_status(response) == 404
    assert stack.response_body(response) == {"error": "unknown_provider"}
