"""ALERT_ROUTES against moto's own filter policies, end to end: 60 seeded policies, each both an
ALERT_ROUTES route to its own topic and an SQS subscription filter on the default topic. Every
sample event that publishes, and generated alerts covering every status, severity and odd event
type, go through the function; each route must deliver exactly the alerts its subscription twin
delivers, except where moto departs from the SNS documentation (filter_policies.DEPARTURES): there
the route follows the documentation and the subscription follows moto, and the test names the case.
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
    assert len(published) >= 10 and len(bodies) >= 30

    for group in groups:
        function = group.function
        for file in published:
            path = stack.EVENTS / file
            if stack.time_signed(path, providers):
                status = stack.response_status(function.invoke(path))
            else:
                status = function.send_event(path).status_code
            assert status == 200, file
        for n, body in enumerate(bodies):
            path = tmp_path / f"body-{n}.json"
            path.write_bytes(body)
            lines = subprocess.run(
                [str(signer), "--provider", "app-services", "--secret", "test-app-services-secret-1",
                 "--body", str(path)],
                check=True, capture_output=True, text=True,
            ).stdout.splitlines()
            headers = dict(line.split(": ", 1) for line in lines)
            response = function.send("POST", "/webhooks/app-services", headers, body)
            assert response.status_code == 200, response.text

    # Every queue is read up to an end marker (relaystack.Moto.publish_marker). The one published
    # to the default topic proves that its publishes went out, to every subscription: moto's
    # Publish delivers to all of them before it returns. A marker's attributes cannot be made to
    # pass any policy, so each filtered queue gets its marker sent directly, to end its read.
    compared = departures = 0
    for group in groups:
        alerts = {}
        for message in moto.receive_until(group.everything, moto.publish_marker(group.default)):
            # tables arrives as a String.Array (its JSON array); a filter reads its elements.
            alerts[json.loads(message["Body"])["id"]] = fp.from_sqs(message["MessageAttributes"])
        assert len(alerts) == len(set(published)) + len(bodies) - duplicates(published)
        for policy, subscription, route_topic, route_queue in zip(
                group.policies, group.subscriptions, group.route_topics, group.route_queues):
            by_route = received_ids(moto.receive_until(route_queue, moto.publish_marker(route_topic)))
            by_subscription = received_ids(moto.receive_until(subscription, moto.send_marker(subscription)))
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
    assert compared >= 50 * 40, compared
    print(f"{compared} (policy, alert) pairs compared; {departures} on moto's documented departures")


def duplicates(files: list[str]) -> int:
    """Sample events with the same body and provider share an event id (redeliveries)."""
    ids = set()
    for file in files:
        event = json.loads((stack.EVENTS / file).read_text())
        method, path, query, headers, body = stack.request_of_event(event)
        ids.add((path.rstrip("/").rsplit("/", 1)[-1], body))
    return len(files) - len(ids)
