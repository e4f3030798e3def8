"""The template's alarms watch metrics the function really emits: the EMF lines the running functions
wrote for a published, a rejected and a failed request declare, under the template's default
namespace and with no dimensions, every metric an alarm of template.yaml names. The failed request
is a real one: SNS (moto) refusing a publish to a topic that does not exist is answered 502, so the
provider retries."""

import json

import pytest

import relaystack as stack


def template() -> dict:
    return stack.template()


def emf_lines(log_text: str) -> list[dict]:
    lines = []
    for line in log_text.splitlines():
        start = line.find("{")
        if start < 0:
            continue
        try:
            document = json.loads(line[start:])
        except ValueError:
            continue
        if isinstance(document, dict) and "_aws" in document:
            lines.append(document)
    return lines


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


def test_every_alarm_watches_a_metric_the_function_emits(function, missing_topic_function):
    assert function.send_event(stack.EVENTS / "atlas-valid.json").status_code == 200
    assert function.send_event(stack.EVENTS / "monte-carlo-bad-signature.json").status_code == 401
    assert missing_topic_function.send_event(stack.EVENTS / "atlas-valid.json").status_code == 502
    outcomes: set[str] = set()
    declared: set[tuple[str, str]] = set()  # (namespace, metric) with the dimensionless set
    logs = [f.service.log_path.read_text(errors="replace") for f in (function, missing_topic_function)]
    for document in emf_lines("\n".join(logs)):
        outcomes |= {k for k in ("published", "rejected", "publish_failed") if document.get(k) == 1}
        for directive in document["_aws"]["CloudWatchMetrics"]:
            if [] in directive["Dimensions"]:
                declared |= {(directive["Namespace"], m["Name"]) for m in directive["Metrics"]}
    assert outcomes == {"published", "rejected", "publish_failed"}, f"EMF lines seen for {outcomes}"

    resources = template()["Resources"]
    namespace = template()["Parameters"]["MetricsNamespace"]["Default"]
    alarms = {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    ours = {name: p for name, p in alarms.items() if p["Namespace"] == {"Ref": "MetricsNamespace"}}
    assert {"PublishFailedAlarm", "RejectedSpikeAlarm"} <= ours.keys()
    for name, properties in ours.items():
        assert "Dimensions" not in properties, f"{name}: the EMF totals carry no dimensions"
        assert (namespace, properties["MetricName"]) in declared, f"{name}: {properties['MetricName']} is never emitted"
    # The function is configured with the namespace the template passes it.
    variables = resources["AlertRelayFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["METRICS_NAMESPACE"] == {"Ref": "MetricsNamespace"}
