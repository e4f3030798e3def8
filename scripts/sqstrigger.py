"""Lambda's SQS event source mapping, emulated against moto: poll a queue, hand the received messages
to the function as a real SQS event, delete what it did not report as failed, and leave the failures
to the queue's visibility timeout (after which they are received again, and after the redrive
policy's maxReceiveCount receives, moved to the dead-letter queue by moto as by SQS).

    trigger = SqsTrigger(moto.sqs, queue_url, invoke=function.invoke_event, work_dir=log_dir)
    batch = trigger.poll(wait=5)      # one receive (up to 10 messages) and one invocation
    batch.failures                    # the messageIds the function reported in batchItemFailures
    trigger.drain()                   # polls until the queue holds nothing, visible or in flight

The event has the shape of `sam local generate-event sqs receive-message` (and of aws_lambda_events'
test data): messageId, receiptHandle, body, attributes (ApproximateReceiveCount, SentTimestamp,
SenderId, ApproximateFirstReceiveTimestamp), messageAttributes, md5OfBody, eventSource "aws:sqs",
eventSourceARN, awsRegion.

As Lambda does: a response naming a messageId that was not in the batch, or a failed invocation,
fails the whole batch (nothing is deleted).
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REGION = "us-east-1"


def lambda_message_attributes(attributes: dict) -> dict:
    """SQS ReceiveMessage's MessageAttributes in the Lambda event's spelling."""
    converted = {}
    for name, value in (attributes or {}).items():
        entry = {"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
        if "StringValue" in value:
            entry["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            entry["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
        converted[name] = entry
    return converted


def sqs_record(message: dict, queue_arn: str, region: str = REGION) -> dict:
    """One Lambda SQS event record for a message as boto3's receive_message returns it (received
    with AttributeNames=["All"] and MessageAttributeNames=["All"])."""
    system = message.get("Attributes") or {}
    attributes = {
        "ApproximateReceiveCount": system.get("ApproximateReceiveCount", "1"),
        "SentTimestamp": system.get("SentTimestamp", str(int(time.time() * 1000))),
        "SenderId": system.get("SenderId", "123456789012"),
        "ApproximateFirstReceiveTimestamp": system.get("ApproximateFirstReceiveTimestamp",
                                                       str(int(time.time() * 1000))),
    }
    for fifo in ("MessageGroupId", "MessageDeduplicationId", "SequenceNumber"):
        if fifo in system:
            attributes[fifo] = system[fifo]
    record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": lambda_message_attributes(message.get("MessageAttributes")),
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def sqs_event(messages: list[dict], queue_arn: str, region: str = REGION) -> dict:
    return {"Records": [sqs_record(message, queue_arn, region) for message in messages]}


@dataclass
class Batch:
    """One poll: the messages received, the function's response, and what was deleted."""

    messages: list[dict]
    event_file: Path
    response: dict | None = None
    error: str | None = None  # the invocation failed, or its response was not a valid batch response
    failures: list[str] = field(default_factory=list)  # messageIds in batchItemFailures
    deleted: list[str] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return [m["MessageId"] for m in self.messages]

    def receive_counts(self) -> dict[str, int]:
        return {m["MessageId"]: int(m["Attributes"]["ApproximateReceiveCount"]) for m in self.messages}


class SqsTrigger:
    """The event source mapping for one queue. `invoke` takes an event file and returns the
    function's response (relaystack.Function.invoke: `cargo lambda invoke --data-file`)."""

    def __init__(self, sqs, queue_url: str, invoke: Callable[[Path], dict], work_dir: Path,
                 batch_size: int = 10, visibility_timeout: int | None = None):
        self.sqs = sqs
        self.queue_url = queue_url
        self.invoke = invoke
        self.work_dir = work_dir
        self.batch_size = batch_size
        # None: the queue's own VisibilityTimeout, which is what Lambda's event source mapping uses.
        self.visibility_timeout = visibility_timeout
        self.queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        self.batches: list[Batch] = []

    def receive(self, wait: float = 0.0) -> list[dict]:
        """Up to batch_size messages, polling up to `wait` seconds for a first one."""
        deadline = time.monotonic() + wait
        arguments = {"QueueUrl": self.queue_url, "MaxNumberOfMessages": self.batch_size,
                     "AttributeNames": ["All"], "MessageAttributeNames": ["All"], "WaitTimeSeconds": 0}
        if self.visibility_timeout is not None:
            arguments["VisibilityTimeout"] = self.visibility_timeout
        while True:
            got = self.sqs.receive_message(**arguments).get("Messages", [])
            if got or time.monotonic() >= deadline:
                return got
            time.sleep(0.1)

    def poll(self, wait: float = 0.0) -> Batch | None:
        """One receive and, if it got anything, one invocation; None when nothing came in `wait` s."""
        messages = self.receive(wait)
        if not messages:
            return None
        return self.deliver(messages)

    def deliver(self, messages: list[dict]) -> Batch:
        """Invokes the function with these received messages and settles them as Lambda does."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        event_file = self.work_dir / f"sqs-event-{len(self.batches) + 1}.json"
        event_file.write_text(json.dumps(sqs_event(messages, self.queue_arn)))
        batch = Batch(messages, event_file)
        self.batches.append(batch)
        try:
            batch.response = self.invoke(event_file)
        except Exception as error:  # noqa: BLE001 - a failed invocation fails the batch, as in Lambda
            batch.error = f"invocation failed: {error}"
            return batch
        failures = batch.response.get("batchItemFailures") if isinstance(batch.response, dict) else None
        ids = set(batch.ids)
        if not isinstance(failures, list) or not all(
                isinstance(f, dict) and f.get("itemIdentifier") in ids for f in failures):
            batch.error = f"not a valid batch response for {sorted(ids)}: {batch.response!r}"
            return batch
        batch.failures = [f["itemIdentifier"] for f in failures]
        for message in messages:
            if message["MessageId"] not in batch.failures:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                batch.deleted.append(message["MessageId"])
        return batch

    def counts(self) -> tuple[int, int]:
        """(visible, in flight) messages on the queue."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def drain(self, timeout: float = 120.0) -> list[Batch]:
        """Polls (waiting out visibility timeouts) until the queue holds nothing, visible or in
        flight; returns the batches. Raises TimeoutError with the batches so far if it cannot."""
        batches = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = self.poll()
            if batch is not None:
                batches.append(batch)
                continue
            if self.counts() == (0, 0):
                return batches
            time.sleep(0.2)
        raise TimeoutError(f"{self.queue_url} still holds messages after {timeout} s: "
                           f"{[(b.ids, b.failures, b.error) for b in batches]}")
