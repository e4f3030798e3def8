"""relaystack's end markers against a real moto: a queue read up to its marker returns everything
published before it and no marker, through filter policies and FIFO groups, and a marker that does
not come is a failure naming the queue, not an empty result."""

import json
import time

import pytest

from relaystack import end_marker
from runtime_api import local_moto

CRITICAL = {"severity": "critical"}


@pytest.fixture(scope="module")
def moto():
    with local_moto() as emulator:
        yield emulator


def publish(moto, topic: str, text: str, attributes: dict, **fifo) -> None:
    moto.sns.publish(TopicArn=topic, Message=json.dumps({"id": text}), **fifo, MessageAttributes={
        name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()})


def ids(messages: list[dict]) -> list[str]:
    return [json.loads(m["Body"])["id"] for m in messages]


def test_everything_published_before_the_marker_is_read_and_no_marker(moto):
    topic = moto.create_topic("markers")
    everything = moto.subscribe_queue(topic, "markers-all")
    critical = moto.subscribe_queue(topic, "markers-critical", {"severity": ["critical"]})
    for n in range(25):  # more than one receive's 10
        publish(moto, topic, f"m{n}", CRITICAL if n % 5 == 0 else {"severity": "info"})
    moto.publish_marker(topic, CRITICAL)  # another read's marker, never read: left out too
    marker = moto.publish_marker(topic, CRITICAL)
    assert ids(moto.receive_until(everything, marker)) == [f"m{n}" for n in range(25)]
    assert ids(moto.receive_until(critical, marker)) == ["m0", "m5", "m10", "m15", "m20"]
    assert moto.receive(everything) == moto.receive(critical) == []
    assert end_marker({"Body": "not json"}) is None


def test_a_fifo_queue_is_read_across_groups(moto):
    topic = moto.create_topic("markers.fifo")
    queue = moto.subscribe_queue(topic, "markers.fifo")
    for n in range(3):
        publish(moto, topic, f"f{n}", CRITICAL, MessageGroupId=f"group-{n % 2}", MessageDeduplicationId=f"f{n}")
    assert ids(moto.receive_until(queue, moto.publish_marker(topic))) == ["f0", "f1", "f2"]


def test_a_queue_no_topic_feeds_takes_its_marker_directly(moto):
    queue = moto.sqs.create_queue(QueueName="markers-direct")["QueueUrl"]
    moto.sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"id": "d0"}))
    assert ids(moto.receive_until(queue, moto.send_marker(queue))) == ["d0"]


def test_a_marker_that_does_not_come_fails_within_the_wait(moto):
    topic = moto.create_topic("markers-filtered")
    critical = moto.subscribe_queue(topic, "markers-filtered-critical", {"severity": ["critical"]})
    publish(moto, topic, "c0", CRITICAL)
    started = time.monotonic()
    with pytest.raises(AssertionError, match="end marker did not reach .*markers-filtered-critical"):
        moto.receive_until(critical, moto.publish_marker(topic, {"severity": "info"}), wait=1.0)
    assert time.monotonic() - started < 5
