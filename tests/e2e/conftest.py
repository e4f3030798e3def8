"""The stack every end-to-end test talks to, started once per session on free 127.0.0.1 ports:

- moto (SNS + SQS) with the topic `alerts`, the queue `all-alerts` subscribed with raw delivery, and
  `critical-alerts` subscribed with the filter policy {"severity": ["critical"]};
- the function under `cargo lambda watch`, configured with events/test.env and pointed at moto;
- on demand, a second function instance publishing to the FIFO topic `alerts.fifo`;
- on demand, the fallback stack (`fallback`): a function instance whose SNS and SQS go through
  fault-injecting proxies (scripts/faultproxy.py), routed to four topics, with the fallback queue
  and its dead-letter queue made as template.yaml makes them, and an emulated SQS trigger
  (scripts/sqstrigger.py) that drains the queue into the function.

Every server is stopped at the end of the session, failed or not; their logs are in .run/e2e/ and the
last lines of each are attached to a failing test's report.
"""

import hashlib
import json
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))
import ci_skips  # noqa: E402
import relaystack as stack  # noqa: E402
from faultproxy import FaultProxy  # noqa: E402
from sqstrigger import SqsTrigger  # noqa: E402

LOG_DIR = ROOT / ".run" / "e2e"
SIGNER = stack.TARGET_DIR / "debug" / "alert-relay-sign"
CRITICAL_ONLY = {"severity": ["critical"]}

_services: list = []


@dataclass
class Topic:
    arn: str
    all_alerts: str
    critical_alerts: str


def pytest_configure(config):
    if not config.pluginmanager.is_registered(ci_skips):  # under CI=true, a skip fails
        config.pluginmanager.register(ci_skips, "ci_skips")
    # A CI timeout or `kill` stops pytest with SIGTERM: unwind like Ctrl-C so fixtures tear down.
    def interrupt(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed:
        for service in _services:
            lines = 10 if service.name == "moto" else 60
            report.sections.append((f"{service.name} log ({service.log_path})", service.log_tail(lines)))
    return report


@pytest.fixture(scope="session")
def log_dir():
    shutil.rmtree(LOG_DIR, ignore_errors=True)
    LOG_DIR.mkdir(parents=True)
    return LOG_DIR


@pytest.fixture(scope="session")
def moto(log_dir):
    emulator = stack.Moto(log_dir)
    _services.append(emulator.service)
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def topic(moto):
    arn = moto.create_topic("alerts")
    return Topic(
        arn=arn,
        all_alerts=moto.subscribe_queue(arn, "all-alerts"),
        critical_alerts=moto.subscribe_queue(arn, "critical-alerts", CRITICAL_ONLY),
    )


def received(moto, topic: Topic) -> tuple[list[dict], list[dict]]:
    """What `all-alerts` and `critical-alerts` received since they were last read: each read up to
    an end marker published to the topic now (relaystack.Moto.publish_marker): call it once the
    function has answered."""
    marker = moto.publish_marker(topic.arn, {"severity": "critical"})  # through CRITICAL_ONLY too
    return moto.receive_until(topic.all_alerts, marker), moto.receive_until(topic.critical_alerts, marker)


@pytest.fixture(scope="session")
def function(log_dir, moto, topic):
    instance = stack.Function(log_dir, topic.arn, moto.endpoint, name="function")
    _services.append(instance.service)
    try:
        yield instance
    finally:
        instance.stop()


@dataclass
class Fifo:
    function: object
    arn: str
    queue: str


@pytest.fixture(scope="session")
def fifo(log_dir, moto):
    """A second instance on a FIFO topic, with App Services left unconfigured (disabled)."""
    arn = moto.create_topic("alerts.fifo")
    queue = moto.subscribe_queue(arn, "alerts.fifo")
    secrets = log_dir / "fifo-secrets.env"
    secrets.write_text("".join(
        line + "\n" for line in stack.env_file_lines(stack.EVENTS / "test.env")
        if not line.startswith("APP_SERVICES_")
    ))
    instance = stack.Function(log_dir, arn, moto.endpoint, secrets_file=secrets, name="function-fifo")
    _services.append(instance.service)
    try:
        yield Fifo(instance, arn, queue)
    finally:
        instance.stop()


@pytest.fixture(scope="session")
def signer():
    if not SIGNER.exists():
        pytest.fail(f"{SIGNER} is missing: run `make e2e` (it builds it)")
    return SIGNER


ATLAS_SEED = stack.EVENTS / "payloads" / "atlas" / "atlas-disk-space-alert.json"


@dataclass
class Alert:
    """A signed Atlas webhook as an API Gateway event: `event` for Function.invoke, the body's
    bytes, and the event id the function derives from them."""

    event: Path
    body: bytes

    @property
    def event_id(self) -> str:
        return hashlib.sha256(b"atlas:" + self.body).hexdigest()[:32]


def atlas_alert(signer, directory: Path, body: bytes | None = None, **fields) -> Alert:
    """The sample Atlas alert with `fields` added and a field unique to this call (so that its event
    id is new: FIFO queues deduplicate by it), or `body` as given; signed by alert-relay-sign."""
    if body is None:
        payload = json.loads(ATLAS_SEED.read_text())
        payload["relayTest"] = uuid.uuid4().hex
        payload.update(fields)
        body = json.dumps(payload).encode()
    directory.mkdir(parents=True, exist_ok=True)
    name = uuid.uuid4().hex[:12]
    body_file = directory / f"{name}.body.json"
    body_file.write_bytes(body)
    event = directory / f"{name}.event.json"
    with open(event, "wb") as out:
        subprocess.run([str(signer), "sign", "--provider", "atlas", "--secret", "test-atlas-secret-1",
                        "--event", "alert.open", "--body", str(body_file), "--output", "apigw-v2"],
                       stdout=out, check=True, timeout=60)
    return Alert(event, body)


@dataclass
class Fallback:
    function: object
    sns: FaultProxy  # the function's SNS endpoint
    sqs: FaultProxy  # the function's SQS endpoint
    queue: str  # the fallback queue's url
    dlq: str
    trigger: SqsTrigger
    topics: dict  # name -> arn: the default topic, then the routes' in ALERT_ROUTES order
    queues: dict  # topic name -> url of a raw-delivery queue subscribed to it
    work_dir: Path
    moto: object = field(repr=False, default=None)

    def reset(self) -> None:
        """No faults, nothing seen, every queue empty."""
        self.sns.reset()
        self.sqs.reset()
        # Not PurgeQueue: moto allows one a minute per queue, as SQS does.
        for url in [self.queue, self.dlq, *self.queues.values()]:
            deadline = time.monotonic() + 30
            while True:
                self.moto.drain(url)
                attributes = self.moto.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
                    "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
                if set(attributes.values()) == {"0"}:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} keeps messages in flight: {attributes}")
                time.sleep(0.2)  # in flight: visible again after the visibility timeout
        self.trigger.batches.clear()


FALLBACK_TOPICS = ["fallback-alerts", "fallback-paging", "fallback-data.fifo", "fallback-chat"]


@pytest.fixture(scope="session")
def fallback(log_dir, moto, signer):
    """Four topics per alert: the default one and two CloudEvents routes (one FIFO), and a chatbot
    route; none filters, so every alert reaches all four."""
    sns = FaultProxy(moto.endpoint, "sns")
    sqs = FaultProxy(moto.endpoint, "sqs")
    instance = None
    try:
        topics = {name: moto.create_topic(name) for name in FALLBACK_TOPICS}
        queues = {name: moto.subscribe_queue(arn, f"q-{name}") for name, arn in topics.items()}
        queue, dlq = moto.fallback_queues("fallback", visibility_timeout=1)
        routes = [{"topic": topics["fallback-paging"]}, {"topic": topics["fallback-data.fifo"]},
                  {"topic": topics["fallback-chat"], "format": "chatbot"}]
        instance = stack.Function(log_dir, topics["fallback-alerts"], sns.endpoint, name="function-fallback", env={
            "ALERT_ROUTES": json.dumps(routes),
            "FALLBACK_QUEUE_URL": queue,
            "AWS_ENDPOINT_URL_SQS": sqs.endpoint,
        })
        _services.append(instance.service)
        work_dir = log_dir / "fallback"
        trigger = SqsTrigger(moto.sqs, queue, instance.invoke, work_dir / "sqs-events")
        yield Fallback(instance, sns, sqs, queue, dlq, trigger, topics, queues, work_dir, moto)
    finally:
        if instance is not None:
            instance.stop()
        sns.close()
        sqs.close()


@pytest.fixture
def outage(fallback):
    """The fallback stack, reset before and after the test."""
    fallback.reset()
    try:
        yield fallback
    finally:
        fallback.reset()
