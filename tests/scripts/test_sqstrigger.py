"""scripts/sqstrigger.py against a real moto, with a stand-in function: the events have the shape SAM
generates, the records not reported are deleted, the reported ones come back after the visibility
timeout and reach the dead-letter queue after maxReceiveCount receives, and a response naming a
record that is not in the batch fails the whole batch, as in Lambda."""

import json
import subprocess

import pytest

from relaystack import ROOT
from runtime_api import local_moto
from sqstrigger import SqsTrigger


@pytest.fixture(scope="module")
def moto():
    with local_moto() as emulator:
        yield emulator


class StandIn:
    """A function that reports failed every record whose body is in `failing`."""

    def __init__(self, failing=(), answer=None):
        self.failing = set(failing)
        self.answer = answer
        self.events = []

    def __call__(self, event_file):
        event = json.loads(event_file.read_text())
        self.events.append(event)
        if self.answer is not None:
            return self.answer
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]
                                      if r["body"] in self.failing]}


def queues(moto, name):
    return moto.fallback_queues(name, visibility_timeout=1)


def test_the_event_has_the_shape_sam_generates(moto, tmp_path):
    queue, _ = queues(moto, "shape")
    moto.sqs.send_message(QueueUrl=queue, MessageBody="hello",
                          MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}})
    function = StandIn()
    batch = SqsTrigger(moto.sqs, queue, function, tmp_path).poll(wait=2)
    [record] = function.events[0]["Records"]
    generated = subprocess.run([str(ROOT / ".venv" / "bin" / "sam"), "local", "generate-event", "sqs", "receive-message"],
                               capture_output=True, text=True, check=True, env={"SAM_CLI_TELEMETRY": "0", "PATH": "/usr/bin:/bin"})
    [sample] = json.loads(generated.stdout)["Records"]
    assert set(sample) <= set(record)
    assert set(sample["attributes"]) <= set(record["attributes"])
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"].endswith(":shape")
    assert (record["body"], record["attributes"]["ApproximateReceiveCount"]) == ("hello", "1")
    assert record["messageAttributes"]["kind"] == {"stringValue": "test", "stringListValues": [],
                                                   "binaryListValues": [], "dataType": "String"}
    assert batch.deleted == batch.ids and batch.failures == []


def test_reported_records_come_back_then_go_to_the_dead_letter_queue(moto, tmp_path):
    queue, dlq = queues(moto, "redrive")
    for body in ("ok-1", "bad", "ok-2"):
        moto.sqs.send_message(QueueUrl=queue, MessageBody=body)
    function = StandIn(failing={"bad"})
    batches = SqsTrigger(moto.sqs, queue, function, tmp_path).drain(timeout=60)
    assert [sorted(r["body"] for r in event["Records"]) for event in function.events] == [
        ["bad", "ok-1", "ok-2"], ["bad"], ["bad"], ["bad"], ["bad"]]
    assert [list(b.receive_counts().values()) for b in batches[1:]] == [[2], [3], [4], [5]]
    assert [m["Body"] for m in moto.receive(dlq, wait=2)] == ["bad"]


def test_a_response_naming_another_record_fails_the_whole_batch(moto, tmp_path):
    queue, _ = queues(moto, "invalid")
    moto.sqs.send_message(QueueUrl=queue, MessageBody="x")
    trigger = SqsTrigger(moto.sqs, queue, StandIn(answer={"batchItemFailures": [{"itemIdentifier": "nope"}]}), tmp_path)
    batch = trigger.poll(wait=2)
    assert batch.error and batch.deleted == []
    assert trigger.counts() == (0, 1)  # in flight until the visibility timeout
