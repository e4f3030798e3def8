"""Nothing lost when SNS fails (SPEC.md "Delivery guarantees"), end to end: the function's SNS and SQS
go through fault-injecting proxies in front of moto, its fallback queue and dead-letter queue are
made as template.yaml makes them (with a 1 s visibility timeout), and an emulated SQS trigger drains
the queue into the function with real SQS events (conftest.py's `fallback` stack).

Every alert is routed to four topics: `fallback-alerts` (the default), `fallback-paging` and
`fallback-data.fifo` (CloudEvents) and `fallback-chat` (chatbot). How many publishes of each topic
SNS accepted is counted at the proxy, so "exactly once" does not depend on how long a test waits."""

import base64
import gzip
import json
import time
from datetime import datetime

import pytest

import relaystack as stack
from conftest import FALLBACK_TOPICS, atlas_alert

PENDING = "alert-relay/pending@1"
DEDUP_KEY = "atlas:5d1b6f8e8c2e4e2d3c4a5b6c"  # the sample alert's: the FIFO topic's group


def pending(body: str) -> dict:
    """A fallback queue message, decoded (from its gzip form if it is in that form)."""
    document = json.loads(body)
    assert document["format"] == PENDING
    if "gzip" in document:
        assert set(document) == {"format", "gzip"}
        document = json.loads(gzip.decompress(base64.b64decode(document["gzip"])))
        assert document["format"] == PENDING
    return document


def published(outage, topics=FALLBACK_TOPICS) -> dict:
    """How many publishes to each topic SNS (moto) accepted, as seen at the proxy."""
    return {name: outage.sns.succeeded("Publish", outage.topics[name]) for name in topics}


def deliveries(outage) -> dict:
    """What each subscriber queue received, read up to an end marker published to its topic (past
    the fault proxy) once the function has answered: everything, and nothing that may come later."""
    markers = {name: outage.moto.publish_marker(outage.topics[name]) for name in outage.queues}
    return {name: outage.moto.receive_until(url, markers[name]) for name, url in outage.queues.items()}


def dead_letters(outage) -> list[dict]:
    """What the dead-letter queue holds, read up to an end marker sent to it: moto moves a message
    there during the receive that finds it past maxReceiveCount, so once the trigger is drained."""
    return outage.moto.receive_until(outage.dlq, outage.moto.send_marker(outage.dlq))


def counts(got: dict) -> dict:
    return {name: len(messages) for name, messages in got.items()}


def invoke(outage, alert) -> tuple[int, dict]:
    response = outage.function.invoke(alert.event)
    return stack.response_status(response), stack.response_body(response)


def poll(outage, wait: float = 10.0):
    """One batch of the trigger, received within `wait` seconds (the visibility timeout is 1 s)."""
    batch = outage.trigger.poll(wait=wait)
    assert batch is not None, "nothing on the fallback queue"
    assert batch.error is None, batch.error
    return batch


def drain(outage):
    batches = outage.trigger.drain(timeout=120)
    for batch in batches:
        assert batch.error is None, batch.error
    return batches


def shown(document: dict, width: int = 160) -> str:
    """A pending message for a reader (`pytest -s`): each stored message body cut to `width`."""
    messages = [{**m, "body": m["body"][:width] + ("…" if len(m["body"]) > width else "")} for m in document["messages"]]
    return json.dumps({**document, "messages": messages}, indent=1, ensure_ascii=False)


def message_of(document: dict, topic_arn: str) -> dict:
    """The stored message a pending publish to `topic_arn` refers to."""
    [publish] = [p for p in document["publishes"] if p["topic_arn"] == topic_arn]
    return document["messages"][publish["message"]]


def test_an_sns_outage_is_answered_202_and_each_topic_gets_one_copy_after_it(outage, signer):
    alert = atlas_alert(signer, outage.work_dir)
    outage.sns.fail("500")
    status, body = invoke(outage, alert)
    print(f"\nwebhook during the outage -> {status} {json.dumps(body)}")
    assert (status, body) == (202, {"status": "queued", "event_id": alert.event_id})
    assert published(outage) == dict.fromkeys(FALLBACK_TOPICS, 0)

    # Redriven while SNS is still down: reported as failed, so it stays on the queue.
    batch = poll(outage)
    assert batch.failures == batch.ids and len(batch.ids) == 1
    document = pending(batch.messages[0]["Body"])
    print(f"queued message ({len(batch.messages[0]['Body'])} bytes), redriven while SNS is down -> "
          f"{json.dumps(batch.response)}:\n{shown(document)}")
    assert document["event_id"] == alert.event_id
    datetime.fromisoformat(document["first_attempt"].replace("Z", "+00:00"))  # RFC 3339
    assert document["attributes"] == {"provider": "atlas", "status": "open", "severity": "warning",
                                      "event_type": "OUTSIDE_METRIC_THRESHOLD", "project": "MyProject"}
    assert document["subject"].startswith("[warning] atlas open: ")
    assert document["fifo"] == {"group_id": DEDUP_KEY, "deduplication_id": alert.event_id}
    # One pending publish per topic, each naming its route (0: the default topic).
    assert sorted((p["route"], p["topic_arn"]) for p in document["publishes"]) == [
        (route, outage.topics[name]) for route, name in enumerate(FALLBACK_TOPICS)]
    # The three CloudEvents topics share one stored message; the chat topic has its own.
    cloudevents = {p["message"] for p in document["publishes"] if p["topic_arn"] != outage.topics["fallback-chat"]}
    assert len(cloudevents) == 1 and len(document["messages"]) == 2
    stored = message_of(document, outage.topics["fallback-alerts"])
    assert stored["structured"] is True
    default = json.loads(stored["body"])["default"]
    assert json.loads(default)["id"] == alert.event_id

    outage.sns.heal()
    batches = drain(outage)
    assert [b.failures for b in batches] == [[]]
    assert batches[0].ids == batch.ids  # the same message, received again
    got = deliveries(outage)
    print(f"SNS back, redriven -> {json.dumps(batches[0].response)}")
    for name, messages in got.items():
        for message in messages:
            print(f"  {name} received: {message['Body'][:150]}…")
    assert counts(got) == dict.fromkeys(FALLBACK_TOPICS, 1)
    assert published(outage) == dict.fromkeys(FALLBACK_TOPICS, 1)
    # Byte for byte what was built at the first attempt, on every CloudEvents topic.
    for name in ("fallback-alerts", "fallback-paging", "fallback-data.fifo"):
        assert got[name][0]["Body"] == default
    fifo = got["fallback-data.fifo"][0]["Attributes"]
    assert (fifo["MessageGroupId"], fifo["MessageDeduplicationId"]) == (DEDUP_KEY, alert.event_id)
    chat = json.loads(got["fallback-chat"][0]["Body"])
    assert chat["id"] == alert.event_id and chat["metadata"]["threadId"] == DEDUP_KEY
    for message in sum(got.values(), []):
        attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
        assert attributes == document["attributes"]


@pytest.mark.parametrize("kind", ["refuse", "500", "throttle", "hang"])
def test_a_fault_the_sdk_retries_through_is_published_not_queued(outage, signer, kind):
    outage.sns.fail(kind, times=1, hang_seconds=5)
    alert = atlas_alert(signer, outage.work_dir)
    status, body = invoke(outage, alert)
    assert status == 200 and body["status"] == "published" and body["topics"] == 4, body
    assert [r.outcome for r in outage.sns.seen("Publish")].count(kind) == 1
    assert published(outage) == dict.fromkeys(FALLBACK_TOPICS, 1)
    assert outage.trigger.counts() == (0, 0)
    assert outage.sqs.seen("SendMessage") == []


def test_a_partial_outage_queues_only_the_failed_topics_and_publishes_none_twice(outage, signer):
    down = {outage.topics["fallback-paging"], outage.topics["fallback-chat"]}
    outage.sns.fail("throttle", topics=down)
    alert = atlas_alert(signer, outage.work_dir)
    status, body = invoke(outage, alert)
    assert (status, body) == (202, {"status": "queued", "event_id": alert.event_id})
    assert published(outage) == {"fallback-alerts": 1, "fallback-paging": 0, "fallback-data.fifo": 1,
                                 "fallback-chat": 0}

    first = poll(outage)  # still down: failed, kept
    assert first.failures == first.ids
    document = pending(first.messages[0]["Body"])
    assert {p["topic_arn"] for p in document["publishes"]} == down
    assert sorted(p["route"] for p in document["publishes"]) == [1, 3]

    # The paging topic is back, the chat topic still down: the record is done, and what is left
    # goes back on the queue as a new message.
    outage.sns.heal()
    outage.sns.fail("throttle", topics={outage.topics["fallback-chat"]})
    second = poll(outage)
    assert second.ids == first.ids and second.failures == []
    third = poll(outage)
    assert third.ids != first.ids and third.failures == third.ids
    rest = pending(third.messages[0]["Body"])
    assert [p["topic_arn"] for p in rest["publishes"]] == [outage.topics["fallback-chat"]]
    assert (rest["event_id"], rest["first_attempt"]) == (alert.event_id, document["first_attempt"])
    assert message_of(rest, outage.topics["fallback-chat"]) == message_of(document, outage.topics["fallback-chat"])

    outage.sns.heal()
    assert [b.failures for b in drain(outage)] == [[]]
    assert published(outage) == dict.fromkeys(FALLBACK_TOPICS, 1)
    got = deliveries(outage)
    assert counts(got) == dict.fromkeys(FALLBACK_TOPICS, 1)
    assert {json.loads(m["Body"])["id"] for m in sum(got.values(), [])} == {alert.event_id}


def test_a_record_that_keeps_failing_goes_to_the_dead_letter_queue_after_5_receives(outage, signer):
    """After 5 receives the record is in the dead-letter queue, unchanged; sent back to the fallback
    queue, it is delivered once.

    What this does not show: moto has no `start-message-move-task` (the move back is a plain
    SendMessage of the dead letter's body), and moto polices no queue policy or IAM permission. That
    the template's recovery role may run the move (the fallback queue's Deny lets it send) and that
    nobody may send to the dead-letter queue is checked on the template itself
    (tests/scripts/test_gen_template.py); that AWS evaluates it so is AWS's documentation's word."""
    chat = outage.topics["fallback-chat"]
    outage.sns.fail("refuse", topics={chat})
    alert = atlas_alert(signer, outage.work_dir)
    assert invoke(outage, alert)[0] == 202

    batches = drain(outage)  # until the queue is empty: the 6th receive moves it to the DLQ
    [message_id] = batches[0].ids
    assert [b.receive_counts() for b in batches] == [{message_id: n} for n in range(1, 6)]
    assert all(b.failures == [message_id] for b in batches)
    dead = dead_letters(outage)
    assert [m["MessageId"] for m in dead] == [message_id]
    assert dead[0]["Body"] == batches[0].messages[0]["Body"]
    assert published(outage)["fallback-chat"] == 0

    # Sent back once the cause is fixed (standing in for `aws sqs start-message-move-task`, which
    # moto lacks), it is delivered: to the chat topic only, once.
    outage.sns.heal()
    outage.moto.sqs.send_message(QueueUrl=outage.queue, MessageBody=dead[0]["Body"])
    assert [b.failures for b in drain(outage)] == [[]]
    assert published(outage) == dict.fromkeys(FALLBACK_TOPICS, 1)


def malformed(outage) -> list[str]:
    """Records the function cannot read: not JSON, another format, a gzip form that is not base64 or
    not gzip of JSON, and one naming a message it does not hold."""
    return [
        "not json at all",
        json.dumps({"format": "alert-relay/pending@9", "event_id": "0" * 32}),
        json.dumps({"format": PENDING, "gzip": "not base64 !"}),
        json.dumps({"format": PENDING, "gzip": base64.b64encode(gzip.compress(b"{truncated")).decode()}),
        json.dumps({"format": PENDING, "event_id": "0" * 32, "first_attempt": "2026-01-01T00:00:00Z",
                    "subject": "s", "attributes": {"provider": "atlas", "status": "open", "severity": "unknown",
                                                   "event_type": "x"},
                    "fifo": {"group_id": "atlas:x", "deduplication_id": "0" * 32}, "messages": [],
                    "publishes": [{"route": 0, "topic_arn": outage.topics["fallback-alerts"], "message": 0}]}),
    ]


def test_an_unreadable_record_in_a_batch_of_good_ones_is_the_only_one_reported(outage, signer):
    outage.sns.fail("500")
    alerts = [atlas_alert(signer, outage.work_dir) for _ in range(3)]
    for alert in alerts:
        assert invoke(outage, alert) == (202, {"status": "queued", "event_id": alert.event_id})
    bodies = malformed(outage)
    bad_ids = [outage.moto.sqs.send_message(QueueUrl=outage.queue, MessageBody=body)["MessageId"]
               for body in bodies]
    outage.sns.heal()

    batch = poll(outage)
    assert len(batch.ids) == len(alerts) + len(bodies)
    assert sorted(batch.failures) == sorted(bad_ids)
    got = deliveries(outage)
    assert counts(got) == dict.fromkeys(FALLBACK_TOPICS, len(alerts))
    assert {json.loads(m["Body"])["id"] for m in got["fallback-alerts"]} == {a.event_id for a in alerts}

    # Each is retried and then kept in the dead-letter queue, never dropped.
    batches = drain(outage)
    assert all(sorted(b.failures) == sorted(b.ids) for b in batches)
    dead = dead_letters(outage)
    assert sorted(m["MessageId"] for m in dead) == sorted(bad_ids)
    assert sorted(m["Body"] for m in dead) == sorted(bodies)
    assert published(outage) == dict.fromkeys(FALLBACK_TOPICS, len(alerts))


def test_sns_and_the_queue_both_down_is_502_for_the_provider_to_retry(outage, signer):
    outage.sns.fail("500")
    outage.sqs.fail("refuse")
    alert = atlas_alert(signer, outage.work_dir)
    assert invoke(outage, alert) == (502, {"error": "publish_failed"})
    assert outage.sqs.seen("SendMessage"), "the function did not try the queue"
    assert {r.outcome for r in outage.sqs.seen()} == {"refuse"}
    assert outage.trigger.counts() == (0, 0)
    assert published(outage) == dict.fromkeys(FALLBACK_TOPICS, 0)


def test_a_sender_retry_during_an_outage_is_a_copy_with_the_same_event_id(outage, signer):
    """At least once: both copies are delivered, with one event id; the FIFO topic keeps one."""
    alert = atlas_alert(signer, outage.work_dir)
    outage.sns.fail("500")
    assert invoke(outage, alert) == invoke(outage, alert) == (202, {"status": "queued", "event_id": alert.event_id})
    outage.sns.heal()
    batches = drain(outage)
    assert [(len(b.ids), b.failures) for b in batches] == [(2, [])]
    got = deliveries(outage)
    # moto's FIFO queue drops a copy whose deduplication id is on the queue (SNS FIFO topics do
    # within 5 minutes); the standard topics deliver both copies.
    assert counts(got) == {"fallback-alerts": 2, "fallback-paging": 2, "fallback-data.fifo": 1, "fallback-chat": 2}
    assert {json.loads(m["Body"])["id"] for m in sum(got.values(), [])} == {alert.event_id}
    assert got["fallback-data.fifo"][0]["Attributes"]["MessageDeduplicationId"] == alert.event_id


def escape_heavy_body(size: int, unique: str) -> bytes:
    """The sample Atlas alert with a string of escaped quotes and backslashes that brings the body to
    exactly `size` bytes: each `\\"` is 2 bytes here, 4 in the SNS message (the CloudEvent as a
    JSON string), 8 once that message is a JSON string in the queue's message."""
    payload = json.loads(stack.EVENTS.joinpath("payloads", "atlas", "atlas-disk-space-alert.json").read_text())
    payload["relayTest"] = unique
    payload["notes"] = ""
    base = len(json.dumps(payload).encode())
    filler = size - base
    text = '\\"' * (filler // 2) + "x" * (filler % 2)
    body = json.dumps(payload).replace('"notes": ""', f'"notes": "{text}"').encode()
    assert len(body) == size
    return body


@pytest.mark.parametrize("size, keeps_raw", [(125_000, True), (262_144, False)], ids=["120KB-keeps-raw", "max-body"])
def test_every_accepted_alert_fits_one_queue_message_and_is_redriven_whole(outage, signer, size, keeps_raw):
    body = escape_heavy_body(size, f"{size}-{time.time_ns()}")
    alert = atlas_alert(signer, outage.work_dir, body=body)
    outage.sns.fail("500")
    assert invoke(outage, alert) == (202, {"status": "queued", "event_id": alert.event_id})
    [send] = [r for r in outage.sqs.seen("SendMessage") if r.outcome == "forwarded 200"]

    batch = poll(outage)
    document = pending(batch.messages[0]["Body"])
    assert len(document["publishes"]) == 4
    stored = message_of(document, outage.topics["fallback-alerts"])
    cloudevent = json.loads(json.loads(stored["body"])["default"])
    if keeps_raw:
        assert cloudevent["data"]["raw"] == json.loads(body)
        # The hard case: an SNS message close to 256 KiB, which a queue message holding it once per
        # CloudEvents topic, each escaped again as a JSON string, could not hold in 1 MiB.
        assert len(stored["body"]) > 240_000
        assert 3 * len(json.dumps(stored["body"])) > 1_048_576
    else:
        assert "raw" not in cloudevent["data"] and cloudevent["data"]["raw_truncated"] is True
    form = "gzip" if "gzip" in json.loads(batch.messages[0]["Body"]) else "plain"
    print(f"\n{size}-byte body: SNS message {len(stored['body'])} bytes, queue message {form}, "
          f"{len(batch.messages[0]['Body'])} bytes (SendMessage request {send.size} bytes)")
    assert len(batch.messages[0]["Body"].encode()) <= 1_048_576

    outage.sns.heal()
    assert [b.failures for b in drain(outage)] == [[]]
    got = deliveries(outage)
    assert counts(got) == dict.fromkeys(FALLBACK_TOPICS, 1)
    for name in ("fallback-alerts", "fallback-paging", "fallback-data.fifo"):
        assert got[name][0]["Body"] == json.loads(stored["body"])["default"]
    assert json.loads(got["fallback-chat"][0]["Body"])["id"] == alert.event_id


def test_the_template_drains_the_queue_as_the_harness_does():
    """What this file emulates is what template.yaml deploys."""
    resources = stack.template()["Resources"]
    function = resources["AlertRelayFunction"]["Properties"]
    queue = resources["FallbackQueue"]["Properties"]
    # AWS's advice for a queue that triggers a function: at least 6 times the function's timeout.
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": {"GetAtt": "FallbackDeadLetterQueue.Arn"},
                                      "maxReceiveCount": 5}
    for name in ("FallbackQueue", "FallbackDeadLetterQueue"):
        assert resources[name]["Properties"]["MaximumMessageSize"] == 1_048_576
        assert resources[name]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    trigger = resources["FallbackQueueTrigger"]["Properties"]
    assert trigger["EventSourceArn"] == {"GetAtt": "FallbackQueue.Arn"}
    assert trigger["FunctionName"] == {"Ref": "AlertRelayFunction"}
    assert trigger["BatchSize"] == 10 and trigger["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert function["Environment"]["Variables"]["FALLBACK_QUEUE_URL"] == {
        "If": ["HasFallbackQueue", {"Ref": "FallbackQueue"}, {"Ref": "AWS::NoValue"}]}
    sqs_policies = [p["If"][1] for p in function["Policies"] if isinstance(p, dict) and "If" in p
                    and p["If"][0] == "HasFallbackQueue"]
    assert sqs_policies == [{"SQSSendMessagePolicy": {"QueueName": {"GetAtt": "FallbackQueue.QueueName"}}},
                            {"SQSPollerPolicy": {"QueueName": {"GetAtt": "FallbackQueue.QueueName"}}}]
    for name in ("FallbackQueue", "FallbackDeadLetterQueue", "FallbackQueueTrigger"):
        assert resources[name]["Condition"] == "HasFallbackQueue"


def test_a_direct_invoke_naming_another_queue_publishes_nothing(outage, signer):
    """Issue 21: anyone with lambda:InvokeFunction can hand the function an SQS-shaped event. A batch
    whose eventSourceARN is not the fallback queue's is refused whole, even when its records are
    genuine; the same records from the fallback queue are delivered."""
    from sqstrigger import sqs_event

    outage.sns.fail("500")
    alert = atlas_alert(signer, outage.work_dir)
    assert invoke(outage, alert) == (202, {"status": "queued", "event_id": alert.event_id})
    outage.sns.heal()
    messages = outage.trigger.receive(wait=10)
    assert len(messages) == 1
    foreign = outage.trigger.queue_arn.rsplit(":", 1)[0] + ":someone-elses-queue"
    event_file = outage.work_dir / "foreign-sqs-event.json"
    event_file.write_text(json.dumps(sqs_event(messages, foreign)))
    response = outage.function.invoke(event_file)
    assert response == {"batchItemFailures": [{"itemIdentifier": messages[0]["MessageId"]}]}
    assert published(outage) == dict.fromkeys(FALLBACK_TOPICS, 0)

    drain(outage)
    assert published(outage) == dict.fromkeys(FALLBACK_TOPICS, 1)
