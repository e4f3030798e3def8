"""relaystack's reading of a group's answer, as `make run` and `make sam-local` print and check it:
one line per alert, in the body's order; the ids of the published events; and which samples are
time-signed (replayed over HTTP today, refused) by the headers they carry."""

import json

import relaystack as stack

GRAFANA_GROUP = stack.EVENTS / "payloads" / "grafana" / "grafana-mixed-group.json"
REGISTRY = json.loads((stack.ROOT / "tests" / "scripts" / "data" / "providers.json").read_text())


def test_a_line_per_alert_in_the_bodys_order():
    body = GRAFANA_GROUP.read_bytes()
    answer = {"status": "queued", "events": [
        {"event_id": "a" * 32, "status": "published", "topics": 1},
        {"event_id": "b" * 32, "status": "suppressed", "reason": "silenced", "topics": 0},
        {"event_id": "c" * 32, "status": "queued"},
    ]}
    assert stack.alert_lines(answer, body) == [
        "alert 1/3 ac40b722316b73de (PostgresReplicationLag instance=db-1 severity=warning, firing):"
        f" published, 1 topic, event {'a' * 32}",
        "alert 2/3 55fbd403e1cdc278 (PostgresReplicationLag instance=db-2 severity=critical, resolved):"
        f" suppressed (silenced), 0 topics, event {'b' * 32}",
        "alert 3/3 287c6480c5808f21 (PostgresReplicationLag instance=db-3 severity=critical, firing):"
        f" queued, event {'c' * 32}",
    ]
    assert stack.answered_event_ids(answer) == ["a" * 32]
    assert stack.answered_event_ids(answer, "queued") == ["c" * 32]


def test_no_alert_lines_for_a_single_alert_or_a_refusal():
    body = GRAFANA_GROUP.read_bytes()
    assert stack.alert_lines({"status": "published", "event_id": "d" * 32, "topics": 1}, b"{}") == []
    assert stack.alert_lines({"error": "invalid_signature"}, body) == []
    assert stack.answered_event_ids({"status": "published", "event_id": "d" * 32}) == ["d" * 32]
    assert stack.answered_event_ids({"status": "suppressed", "event_id": "d" * 32}) == []


def test_a_failed_group_still_gets_its_lines():
    body = GRAFANA_GROUP.read_bytes()
    answer = {"error": "publish_failed", "events": [
        {"event_id": "a" * 32, "status": "failed", "reason": "sns_error"},
        {"event_id": "b" * 32, "status": "published", "topics": 2},
        {"event_id": "c" * 32, "status": "published", "topics": 2},
    ]}
    lines = stack.alert_lines(answer, body)
    assert len(lines) == 3 and lines[0].endswith(f": failed (sns_error), event {'a' * 32}")


def test_only_samples_carrying_a_signed_header_are_time_signed():
    signed = {row["file"] for row in stack.expected_events()
              if stack.time_signed(stack.EVENTS / row["file"], REGISTRY)}
    assert {"grafana-group-timestamped.json", "grafana-group-rest.json", "standard-webhooks-valid.json"} <= signed
    assert not {"grafana-documented-body-only.json", "alertmanager-group.json", "atlas-valid.json"} & signed
