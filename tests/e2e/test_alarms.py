"""The template's alarms watch metrics the function really emits: the EMF lines the running functions
wrote for a published, a rejected and a failed request, and for an alert queued during an SNS
outage, redriven in vain, then redriven, declare, under the template's default namespace and with no
dimensions, every metric an alarm of template.yaml names. The failed request is a real one: SNS
(moto) refusing a publish to a topic that does not exist is answered 502, so the provider retries.
The alarms on the fallback queues watch SQS's own metrics of those queues."""

import pytest

import relaystack as stack
from conftest import atlas_alert

OUTCOMES = {"published", "rejected", "publish_failed", "queued", "redriven", "redrive_failed"}


def template() -> dict:
    return stack.template()


def outcomes_of(documents: list[dict]) -> set[str]:
    return {k for document in documents if "_aws" in document for k in OUTCOMES if document.get(k) == 1}


@pytest.fixture(scope="module")
def missing_topic_function(log_dir, moto):
    """An instance whose topic does not exist: every publish is refused by SNS."""
    arn = f"arn:aws:sns:{stack.REGION}:{stack.ACCOUNT_ID}:no-such-topic"
    instance = stack.Function(log_dir, arn, moto.endpoint, name="function-missing-topic")
    try:
        yield instance
    finally:
        instance.stop()


def test_a_publish_sns_refuses_is_502_for_the_provider_to_retry(missing_topic_function):
    response = missing_topic_function.send_event(stack.EVENTS / "atlas-valid.json")
    assert response.status_code == 502
    assert response.json() == {"error": "publish_failed"}


def queued_then_redriven(outage, signer) -> None:
    """An alert queued during an SNS outage (202), redriven while SNS still fails, then after it."""
    outage.sns.fail("500")
    response = outage.function.invoke(atlas_alert(signer, outage.work_dir).event)
    assert stack.response_status(response) == 202, response
    batch = outage.trigger.poll(wait=10)
    assert batch is not None and batch.failures == batch.ids
    outage.sns.heal()
    assert [b.failures for b in outage.trigger.drain(timeout=60)] == [[]]


def test_every_alarm_watches_a_metric_the_function_emits(function, missing_topic_function, outage, signer):
    # Each function's own outcomes, read from its log (polled: a line is written as it answers).
    expected = {function: {"published", "rejected"}, missing_topic_function: {"publish_failed"},
                outage.function: {"queued", "redriven", "redrive_failed"}}
    offsets = {f: f.log_size() for f in expected}
    assert function.send_event(stack.EVENTS / "atlas-valid.json").status_code == 200
    assert function.send_event(stack.EVENTS / "monte-carlo-bad-signature.json").status_code == 401
    assert missing_topic_function.send_event(stack.EVENTS / "atlas-valid.json").status_code == 502
    queued_then_redriven(outage, signer)
    documents = [d for f, wanted in expected.items()
                 for d in f.logged_until(offsets[f], lambda docs, wanted=wanted: wanted <= outcomes_of(docs))
                 if "_aws" in d]
    outcomes = outcomes_of(documents)
    declared: set[tuple[str, str]] = set()  # (namespace, metric) with the dimensionless set
    for document in documents:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            if [] in directive["Dimensions"]:
                declared |= {(directive["Namespace"], m["Name"]) for m in directive["Metrics"]}
    assert outcomes == OUTCOMES, f"EMF lines seen for {outcomes}"

    resources = template()["Resources"]
    namespace = template()["Parameters"]["MetricsNamespace"]["Default"]
    alarms = {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    ours = {name: p for name, p in alarms.items() if p["Namespace"] == {"Ref": "MetricsNamespace"}}
    assert {"PublishFailedAlarm", "RejectedSpikeAlarm", "RedriveFailedAlarm"} <= ours.keys()
    for name, properties in ours.items():
        assert "Dimensions" not in properties, f"{name}: the EMF totals carry no dimensions"
        assert (namespace, properties["MetricName"]) in declared, f"{name}: {properties['MetricName']} is never emitted"
    # The function is configured with the namespace the template passes it.
    variables = resources["AlertRelayFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["METRICS_NAMESPACE"] == {"Ref": "MetricsNamespace"}


def test_the_fallback_alarms_watch_the_fallback_queues():
    """Any message in the dead-letter queue, and an alert older than 15 minutes in the queue."""
    resources = template()["Resources"]
    alarms = {name: r for name, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"
              and r["Properties"]["Namespace"] == "AWS/SQS"}
    watched = {
        (p["Dimensions"][0]["Value"]["GetAtt"], p["MetricName"], p["Statistic"], p["ComparisonOperator"], p["Threshold"])
        for p in (alarm["Properties"] for alarm in alarms.values())
    }
    assert watched == {
        ("FallbackDeadLetterQueue.QueueName", "ApproximateNumberOfMessagesVisible", "Maximum",
         "GreaterThanOrEqualToThreshold", 1),
        ("FallbackQueue.QueueName", "ApproximateAgeOfOldestMessage", "Maximum", "GreaterThanThreshold", 15 * 60),
    }
    for name, alarm in alarms.items():
        assert [d["Name"] for d in alarm["Properties"]["Dimensions"]] == ["QueueName"], name
        assert alarm["Condition"] == "HasFallbackQueue", name
    assert resources["RedriveFailedAlarm"]["Condition"] == "HasFallbackQueue"
