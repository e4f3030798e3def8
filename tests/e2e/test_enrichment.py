"""Atlas alert-configuration severity (issue 16) end to end: the function under `cargo lambda watch`
with ATLAS_API_* pointed at the stand-in Atlas Admin API (scripts/atlas_api_standin.py, a real HTTP
server on 127.0.0.1), routing critical and error alerts to a paging topic as docs/severity.md does.

Each test starts its own function instance: a cold cache and no token, so that what one test left
cached (a token, an answer, a back-off) cannot decide another."""

import json
import time
from dataclasses import dataclass

import pytest

import relaystack as stack
from conftest import atlas_alert

GROUP = "5d1b6f8e8c2e4e2d3c4a5b6d"
CONFIG = "5d1b6f8e8c2e4e2d3c4a5b6e"  # severityOverride CRITICAL in tests/data/atlas-alert-configs.json
TOKEN = ("POST", "/api/oauth/token")
CONFIG_GET = ("GET", f"/api/atlas/v2/groups/{GROUP}/alertConfigs/{CONFIG}")
# Without the alert configuration, the disk alert's severity comes from the default rules.
RULES = {"severity": "warning", "severity_source": "default-rule 3"}

# Each fault of the stand-in, and the reason the function logs and counts for it.
FAULTS = {
    "token_refused": "token_refused",
    "401": "unauthorized",
    "403": "forbidden",
    "404": "not_found",  # a deleted alert configuration
    "429": "throttled",
    "429_no_retry_after": "throttled",
    "hang": "timeout",
    "malformed": "malformed",
    "500": "unavailable",
}


@dataclass
class Enriched:
    function: object
    atlas_api: object
    topics: dict  # name -> arn
    queues: dict  # name -> url


@pytest.fixture(scope="module")
def atlas_api(log_dir):
    api = stack.AtlasApi(log_dir)
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture(scope="module")
def enrich_topics(moto):
    topics = {name: moto.create_topic(name) for name in ("enrich-alerts", "enrich-paging")}
    queues = {name: moto.subscribe_queue(arn, f"q-{name}") for name, arn in topics.items()}
    return topics, queues


def start(log_dir, moto, atlas_api, enrich_topics, name, base_url=None):
    topics, queues = enrich_topics
    routes = [{"topic": topics["enrich-paging"], "filter": {"severity": ["critical", "error"]}}]
    return stack.Function(log_dir, topics["enrich-alerts"], moto.endpoint, name=name,
                          env={**atlas_api.env(base_url), "ALERT_ROUTES": json.dumps(routes)})


@pytest.fixture
def enriched(request, log_dir, moto, atlas_api, enrich_topics):
    topics, queues = enrich_topics
    atlas_api.reset()
    for url in queues.values():
        moto.drain(url)
    function = start(log_dir, moto, atlas_api, enrich_topics, f"function-{request.node.name}")
    try:
        yield Enriched(function, atlas_api, topics, queues)
    finally:
        function.stop()
        atlas_api.reset()


@dataclass
class Sent:
    status: int
    body: dict
    seconds: float
    event: dict | None  # the CloudEvent the default topic received
    paged: int  # messages the paging topic received
    request_line: dict  # the function's `"message":"request"` line
    documents: list  # every JSON line the function wrote for it


def send(moto, enriched: Enriched, signer, tmp_path) -> Sent:
    alert = atlas_alert(signer, tmp_path)
    offset = enriched.function.log_size()
    started = time.monotonic()
    response = enriched.function.invoke(alert.event)
    seconds = time.monotonic() - started
    markers = {name: moto.publish_marker(arn) for name, arn in enriched.topics.items()}
    got = {name: moto.receive_until(url, markers[name]) for name, url in enriched.queues.items()}
    deadline = time.monotonic() + 10
    while True:
        documents = enriched.function.logged_since(offset)
        lines = [d for d in documents if d.get("message") == "request"]
        if lines or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(lines) == 1, documents
    events = [json.loads(m["Body"]) for m in got["enrich-alerts"]]
    assert len(events) <= 1, events
    return Sent(stack.response_status(response), stack.response_body(response), seconds,
                events[0] if events else None, len(got["enrich-paging"]), lines[0], documents)


def metrics(sent: Sent) -> list[dict]:
    return [d for d in sent.documents if "_aws" in d]


def test_the_disk_alert_gets_the_configured_severity_and_pages(moto, enriched, signer, tmp_path):
    sent = send(moto, enriched, signer, tmp_path)
    assert (sent.status, sent.body["status"], sent.body["topics"]) == (200, "published", 2), sent.body
    data = sent.event["data"]
    assert (data["severity"], data["severity_source"]) == ("critical", "atlas-alert-config")
    assert sent.paged == 1
    assert [(r["method"], r["path"]) for r in enriched.atlas_api.seen()] == [TOKEN, CONFIG_GET]
    line = sent.request_line
    assert (line["severity"], line["severity_source"]) == ("critical", "atlas-alert-config"), line
    assert "severity_fallback" not in line
    assert not [m for m in metrics(sent) if "severity_fallback" in m]

    # The next alert of the same configuration: from the warm cache, no request at all.
    again = send(moto, enriched, signer, tmp_path)
    assert (again.event["data"]["severity_source"], again.paged) == ("atlas-alert-config", 1)
    assert len(enriched.atlas_api.seen()) == 2


@pytest.mark.parametrize("fault", FAULTS)
def test_a_fault_of_the_atlas_api_falls_back_to_the_rules(moto, enriched, signer, tmp_path, fault):
    reason = FAULTS[fault]
    enriched.atlas_api.fault(fault)
    sent = send(moto, enriched, signer, tmp_path)

    # Never worse than without enrichment: answered, published, with the rules' severity ...
    assert (sent.status, sent.body["status"], sent.body["topics"]) == (200, "published", 1), sent.body
    data = sent.event["data"]
    assert {k: data[k] for k in RULES} == RULES
    assert sent.paged == 0
    # ... within the lookup's one-second budget (a hang included), plus the function's own work.
    assert sent.seconds < 5, sent.seconds
    # The reason on the request's line, once as a warning from the lookup, and in the metrics.
    assert sent.request_line.get("severity_fallback") == reason, sent.request_line
    assert sent.request_line["severity_source"] == "default-rule 3"
    warnings = [d for d in sent.documents if d.get("level") == "WARN" and d.get("reason") == reason]
    assert len(warnings) == 1, sent.documents
    counted = [m for m in metrics(sent) if m.get("severity_fallback") == 1]
    assert [(m["provider"], m["fallback_reason"]) for m in counted] == [("atlas", reason)], metrics(sent)
    text = json.dumps(sent.documents)
    assert stack.ATLAS_API_CLIENT_SECRET not in text

    first = len(enriched.atlas_api.seen())
    assert first >= 1
    again = send(moto, enriched, signer, tmp_path)
    assert again.status == 200 and again.event["data"]["severity"] == "warning"
    if fault.startswith("429"):
        # Throttled: the back-off (Retry-After, else 30 s) holds the next alert's lookup back.
        assert len(enriched.atlas_api.seen()) == first, enriched.atlas_api.seen()
        assert again.request_line.get("severity_fallback") == "throttled"
    if fault in ("404", "403"):
        # A deleted configuration (or no access) is remembered for a minute: no second request.
        assert len(enriched.atlas_api.seen()) == first, enriched.atlas_api.seen()


def test_with_the_atlas_api_down_alerts_still_flow(moto, log_dir, atlas_api, enrich_topics, signer, tmp_path):
    topics, queues = enrich_topics
    for url in queues.values():
        moto.drain(url)
    closed = f"http://127.0.0.1:{stack.free_port()}"  # nothing listens there
    function = start(log_dir, moto, atlas_api, enrich_topics, "function-atlas-api-down", base_url=closed)
    try:
        sent = send(moto, Enriched(function, atlas_api, topics, queues), signer, tmp_path)
    finally:
        function.stop()
    assert (sent.status, sent.body["status"]) == (200, "published"), sent.body
    assert {k: sent.event["data"][k] for k in RULES} == RULES
    assert sent.request_line.get("severity_fallback") == "unavailable", sent.request_line
    assert sent.seconds < 5
