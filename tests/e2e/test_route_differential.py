"""ALERT_ROUTES against moto's own filter policies, end to end: 60 seeded policies, each both an
ALERT_ROUTES route to its own topic and an SQS subscription filter on the default topic. Every
sample event that publishes, and generated alerts covering every status, severity and odd event
type, go through the function; each route must deliver exactly the alerts its subscription twin
delivers, except where moto departs from the SNS documentation (filter_policies.DEPARTURES): there
the route follows the documentation and the subscription follows moto, and the test names the case.

The generated `labels` (the String.Array a grouped sender's alerts carry, `name=value` entries) go
in as Alertmanager groups whose alerts carry each generated label set, so that the policies over
`labels` (exact, prefix, suffix, equals-ignore-case, anything-but, exists) meet real ones.
"""

import json
import subprocess
from dataclasses import dataclass

import pytest

import filter_policies as fp
import relaystack as stack

SEED = 2026
POLICIES = fp.policies(seed=SEED, count=60)
GROUP = 10  # ALERT_ROUTES takes at most 10 routes: one function instance per 10 policies


def generated_bodies() -> list[bytes]:
    """App Services alerts whose status, severity and event type are chosen: every status x
    severity, and every listed event type (the odd ones included)."""
    sets = fp.attribute_sets(seed=SEED, count=0)
    seen, bodies = set(), []
    for attributes in sets:
        key = (attributes["status"], attributes["severity"])
        if key in seen and attributes["event_type"] not in fp.REAL_EVENT_TYPES + fp.ODD_EVENT_TYPES:
            continue
        seen.add(key)
        bodies.append(json.dumps({
            "id": f"diff-{len(bodies)}",
            "status": attributes["status"],
            "severity": attributes["severity"],
            "event_type": attributes["event_type"],
            "title": "route differential",
        }).encode())
    return bodies


GROUP_SIZE = 50  # alerts per Alertmanager group
MANY_LABELS = 40  # generated sets of several labels sent, beside every one-label set
READ_WAIT = 120  # seconds to read a queue of a few hundred messages up to its end marker


def labelled_groups() -> list[bytes]:
    """Alertmanager groups (`version` 4) whose alerts carry the generated label sets (a one-label
    set of every listed `name=value`, and the first MANY_LABELS sets of several labels):
    each alert's `labels` attribute is its set (at most ten, distinct names in name order, as the
    function chooses them with ALERT_LABELS unset); status and fingerprint are each alert's own."""
    labelled = [s for s in fp.attribute_sets(seed=SEED, count=0) if fp.LABELS in s]
    singles = {tuple(s[fp.LABELS]): s for s in labelled if len(s[fp.LABELS]) == 1}
    sets = list(singles.values()) + [s for s in labelled if len(s[fp.LABELS]) > 1][:MANY_LABELS]
    alerts = []
    for n, attributes in enumerate(sets):
        labels = dict(entry.split("=", 1) for entry in attributes[fp.LABELS])
        resolved = n % 3 == 2
        alerts.append({
            "status": "resolved" if resolved else "firing",
            "labels": labels,
            "annotations": {"summary": f"route differential {n}"},
            "startsAt": "2024-01-15T10:20:00Z",
            "endsAt": "2024-01-15T10:25:00Z" if resolved else "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example.com:9090/graph",
            "fingerprint": f"d1ff{n:012x}",
        })
    return [json.dumps({
        "version": "4", "groupKey": f"{{}}:{{differential=\"{g}\"}}", "truncatedAlerts": 0,
        "status": "firing", "receiver": "route-differential", "groupLabels": {}, "commonLabels": {},
        "commonAnnotations": {}, "externalURL": "http://alertmanager.example.com:9093",
        "alerts": alerts[g:g + GROUP_SIZE],
    }).encode() for g in range(0, len(alerts), GROUP_SIZE)]


def answered_ids(answer: dict) -> set[str]:
    """The event ids an answer names: its `event_id`, or each of a group's `events` (all of them
    published: these functions are stateless)."""
    if "events" in answer:
        assert all(e["status"] == "published" for e in answer["events"]), answer
        return {e["event_id"] for e in answer["events"]}
    return {answer["event_id"]}


@dataclass
class Group:
    policies: list
    function: object
    default: str  # the default topic's arn
    everything: str  # url of its unfiltered queue
    subscriptions: list  # url of the queue subscribed to it with each policy
    route_topics: list  # arn of each policy's route topic
    route_queues: list  # url of the queue subscribed to each


@pytest.fixture(scope="module")
def groups(log_dir, moto):
    """Per 10 policies: a default topic with each policy as a filtered subscription (plus one
    unfiltered queue), 10 route topics each with a queue, and a function routing to them."""
    built, started = [], []
    try:
        for g in range(0, len(POLICIES), GROUP):
            policies = POLICIES[g:g + GROUP]
            default = moto.create_topic(f"diff-{g}")
            everything = moto.subscribe_queue(default, f"diff-{g}-all")
            subscriptions = [moto.subscribe_queue(default, f"diff-{g}-sub-{i}", policy)
                             for i, policy in enumerate(policies)]
            route_topics = [moto.create_topic(f"diff-{g}-route-{i}") for i in range(len(policies))]
            route_queues = [moto.subscribe_queue(t, f"diff-{g}-route-{i}") for i, t in enumerate(route_topics)]
            routes = [{"topic": t, "filter": p} for t, p in zip(route_topics, policies)]
            function = stack.Function(log_dir, default, moto.endpoint, name=f"function-diff-{g}",
                                      env={"ALERT_ROUTES": json.dumps(routes)})
            started.append(function)
            built.append(Group(policies, function, default, everything, subscriptions, route_topics, route_queues))
        yield built
    finally:
        for function in started:
            function.stop()


def received_ids(messages: list[dict]) -> set[str]:
    return {json.loads(m["Body"])["id"] for m in messages}


def test_routes_select_what_moto_subscriptions_select(groups, moto, signer, tmp_path):
    published = [row["file"] for row in stack.expected_events() if row["status"] == 200]
    providers = stack.registry(signer)
    bodies = generated_bodies()
    labelled = labelled_groups()
    assert len(published) >= 10 and len(bodies) >= 30
    assert sum(len(json.loads(g)["alerts"]) for g in labelled) >= len(fp.LABEL_ENTRIES) + MANY_LABELS

    def headers_for(provider: str, secret: str, body: bytes, n: int) -> dict:
        path = tmp_path / f"{provider}-{n}.json"
        path.write_bytes(body)
        lines = subprocess.run(
            [str(signer), "sign", "--provider", provider, "--secret", secret, "--body", str(path)],
            check=True, capture_output=True, text=True,
        ).stdout.splitlines()
        return dict(line.split(": ", 1) for line in lines)

    expected: dict[str, set[str]] = {}  # per default topic: the event ids its function answered
    for group in groups:
        function = group.function
        ids = expected.setdefault(group.default, set())
        for file in published:
            path = stack.EVENTS / file
            if stack.time_signed(path, providers):
                response = function.invoke(path)
                status, answer = stack.response_status(response), stack.response_body(response)
            else:
                response = function.send_event(path)
                status, answer = response.status_code, response.json()
            assert status == 200, file
            ids |= answered_ids(answer)
        for n, body in enumerate(bodies):
            headers = headers_for("app-services", "test-app-services-secret-1", body, n)
            response = function.send("POST", "/webhooks/app-services", headers, body)
            assert response.status_code == 200, response.text
            ids |= answered_ids(response.json())
        for n, body in enumerate(labelled):
            headers = headers_for("alertmanager", "test-alertmanager-secret-1", body, n)
            response = function.send("POST", "/webhooks/alertmanager", headers, body)
            assert response.status_code == 200, response.text[:500]
            assert len(response.json()["events"]) == len(json.loads(body)["alerts"])
            ids |= answered_ids(response.json())

    # Every queue is read up to an end marker (relaystack.Moto.publish_marker). The one published
    # to the default topic proves that its publishes went out, to every subscription: moto's
    # Publish delivers to all of them before it returns. A marker's attributes cannot be made to
    # pass any policy, so each filtered queue gets its marker sent directly, to end its read.
    compared = departures = labelled_pairs = 0
    for group in groups:
        alerts = {}
        for message in moto.receive_until(group.everything, moto.publish_marker(group.default), wait=READ_WAIT):
            # tables arrives as a String.Array (its JSON array); a filter reads its elements.
            alerts[json.loads(message["Body"])["id"]] = fp.from_sqs(message["MessageAttributes"])
        assert set(alerts) == expected[group.default], "the default topic's queue holds what was answered"
        assert sum(fp.LABELS in a for a in alerts.values()) >= len(fp.LABEL_ENTRIES) + MANY_LABELS, "the labelled alerts arrived with labels"
        for policy, subscription, route_topic, route_queue in zip(
                group.policies, group.subscriptions, group.route_topics, group.route_queues):
            by_route = received_ids(moto.receive_until(route_queue, moto.publish_marker(route_topic), wait=READ_WAIT))
            by_subscription = received_ids(moto.receive_until(subscription, moto.send_marker(subscription),
                                                              wait=READ_WAIT))
            for event_id, attributes in alerts.items():
                documented = fp.documented_matches(policy, attributes)
                named = fp.departures_for(policy, attributes)
                where = f"policy {json.dumps(policy)} attributes {attributes}"
                assert (event_id in by_route) == documented, f"route differs from the SNS docs: {where}"
                if named:
                    # The documentation wins for the route; the subscription shows what moto does.
                    assert (event_id in by_subscription) == fp.moto_matches(policy, attributes), where
                    departures += (event_id in by_subscription) != documented
                else:
                    assert (event_id in by_route) == (event_id in by_subscription), \
                        f"route and moto subscription disagree: {where}"
                compared += 1
                labelled_pairs += fp.LABELS in attributes and any(
                    fp.LABELS in branch for branch in [policy, *policy.get("$or", [])])
    assert compared >= 50 * 40, compared
    assert labelled_pairs >= 1000, labelled_pairs
    print(f"{compared} (policy, alert) pairs compared ({labelled_pairs} of a labels policy and labelled alert); "
          f"{departures} on moto's documented departures")

