"""The stack every end-to-end test talks to, started once per session on free 127.0.0.1 ports:

- moto (SNS + SQS) with the topic `alerts`, the queue `all-alerts` subscribed with raw delivery, and
  `critical-alerts` subscribed with the filter policy {"severity": ["critical"]};
- the function under `cargo lambda watch`, configured with events/test.env and pointed at moto;
- on demand, a second function instance publishing to the FIFO topic `alerts.fifo`.

Every server is stopped at the end of the session, failed or not; their logs are in .run/e2e/ and the
last lines of each are attached to a failing test's report.
"""

import shutil
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import relaystack as stack  # noqa: E402

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
