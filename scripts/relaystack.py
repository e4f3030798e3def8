"""The local stack behind `make run` and `make e2e`: moto's SNS/SQS emulator and the function under
`cargo lambda watch`, each in its own process group so that stopping it leaves nothing behind.

Everything listens on 127.0.0.1 only. Tools come from .venv (the Makefile puts it first on PATH).
"""

from __future__ import annotations

import base64
import functools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

import boto3
import requests

from envfile import env_file_lines, env_file_values, env_value  # noqa: F401 (callers use stack.*)

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
TARGET_DIR = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target").resolve()
FUNCTION = "alert-relay"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
STATE_TABLE = "alert-relay-state"  # `make run`'s alert-state table (ALERT_STATE_TABLE)

# Fake credentials and a region: the SDKs need some, and nothing here may reach real AWS.
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without the user's own AWS settings, plus the fake ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(FAKE_AWS)
    env.update(extra or {})
    return env


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _die_with_parent() -> None:
    # Linux: if this script is killed outright, the child is told to stop too (PR_SET_PDEATHSIG).
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def descendants(pid: int) -> list[int]:
    """The processes under `pid` (children first, then theirs), from /proc (Linux)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            parents.setdefault(ppid, []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        children = parents.get(queue.pop(0), [])
        found += children
        queue += children
    return found


class Service:
    """A child process in its own process group (its children included), logging to a file."""

    def __init__(self, name: str, argv: list[str], log_path: Path, env: dict[str, str]):
        self.name = name
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def running(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def kill(self) -> None:
        """A crash: SIGKILL to the process and to every process under it, wherever their process
        group (cargo lambda watch starts the function in one of its own), then stop()."""
        for pid in [*reversed(descendants(self.proc.pid)), self.proc.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.stop(grace=2.0)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to the whole group, then SIGKILL to whatever is left after `grace` seconds."""
        pgid = self.proc.pid
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            self.proc.poll()
            try:
                os.killpg(pgid, 0)  # anyone left in the group?
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()


class Moto:
    """moto_server on 127.0.0.1 (or `host`, e.g. the Docker bridge for `sam local`): the SNS, SQS
    and DynamoDB APIs."""

    def __init__(self, log_dir: Path, port: int | None = None, host: str = "127.0.0.1"):
        self.port = port or free_port(host)
        self.endpoint = f"http://{host}:{self.port}"
        self.service = Service(
            "moto",
            ["moto_server", "-H", host, "-p", str(self.port)],
            log_dir / "moto.log",
            clean_env(),
        )
        try:
            self._wait_ready()
        except BaseException:
            self.service.stop()
            raise
        session = boto3.session.Session(
            aws_access_key_id=FAKE_AWS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_AWS["AWS_SECRET_ACCESS_KEY"],
            region_name=REGION,
        )
        self.sns = session.client("sns", endpoint_url=self.endpoint)
        self.sqs = session.client("sqs", endpoint_url=self.endpoint)
        self.dynamodb = session.client("dynamodb", endpoint_url=self.endpoint)

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.service.running():
                raise RuntimeError(f"moto_server exited:\n{self.service.log_tail()}")
            try:
                requests.get(f"{self.endpoint}/moto-api/", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError(f"moto_server not ready after {timeout}s:\n{self.service.log_tail()}")

    def stop(self) -> None:
        self.service.stop()

    def create_topic(self, name: str) -> str:
        attributes = {}
        if name.endswith(".fifo"):
            # The function sets MessageDeduplicationId itself.
            attributes = {"FifoTopic": "true", "ContentBasedDeduplication": "false"}
        return self.sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]

    def subscribe_queue(self, topic_arn: str, queue_name: str, filter_policy: dict | None = None) -> str:
        """An SQS queue subscribed with raw delivery: its message body is the CloudEvent itself and
        the SNS message attributes arrive as SQS message attributes."""
        attributes = {"FifoQueue": "true"} if queue_name.endswith(".fifo") else {}
        queue_url = self.sqs.create_queue(QueueName=queue_name, Attributes=attributes)["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        subscription = {"RawMessageDelivery": "true"}
        if filter_policy is not None:
            subscription["FilterPolicy"] = json.dumps(filter_policy)
        self.sns.subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes=subscription
        )
        return queue_url

    def create_state_table(self, name: str = STATE_TABLE) -> str:
        """The alert-state table as the SPEC and template.yaml lay it out (`pk` S, `sk` S, on
        demand, TTL on `expires_at`). Returns its name, for ALERT_STATE_TABLE."""
        self.dynamodb.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        self.dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"})
        return name

    def state_env(self, table: str = STATE_TABLE, endpoint: str | None = None) -> dict[str, str]:
        """What turns a Function's alert state on: ALERT_STATE_TABLE, with DynamoDB at `endpoint`
        (a fault proxy in front of moto, say) or moto itself."""
        return {"ALERT_STATE_TABLE": table, "AWS_ENDPOINT_URL_DYNAMODB": endpoint or self.endpoint}

    def fallback_queues(self, name: str, visibility_timeout: int = 1) -> tuple[str, str]:
        """The fallback queue and its dead-letter queue as template.yaml makes them (retention,
        message size, redrive policy), but with `visibility_timeout` seconds so that retries come
        quickly. Returns (queue url, dead-letter queue url)."""
        resources = template()["Resources"]
        queue = resources["FallbackQueue"]["Properties"]
        dead = resources["FallbackDeadLetterQueue"]["Properties"]
        dlq_url = self.sqs.create_queue(QueueName=f"{name}-dlq", Attributes={
            "MessageRetentionPeriod": str(dead["MessageRetentionPeriod"]),
            "MaximumMessageSize": str(dead["MaximumMessageSize"]),
        })["QueueUrl"]
        dlq_arn = self.sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queue_url = self.sqs.create_queue(QueueName=name, Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "MessageRetentionPeriod": str(queue["MessageRetentionPeriod"]),
            "MaximumMessageSize": str(queue["MaximumMessageSize"]),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                         "maxReceiveCount": int(queue["RedrivePolicy"]["maxReceiveCount"])}),
        })["QueueUrl"]
        return queue_url, dlq_url

    def receive(self, queue_url: str, wait: float = 0.0, max_messages: int = 10) -> list[dict]:
        """Receives and deletes what is on the queue; polls up to `wait` seconds for a first one."""
        deadline = time.monotonic() + wait
        while True:
            got = self.sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=max_messages,
                MessageAttributeNames=["All"],
                AttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if got or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        for message in got:
            self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return got

    def drain(self, queue_url: str) -> list[dict]:
        drained = []
        while batch := self.receive(queue_url):
            drained += batch
        return drained

    # End markers: how a test proves that nothing more arrived, instead of sleeping and then looking.
    # After the messages under test, it publishes a marker and reads the queue up to it. That is a
    # proof because of what moto does, which SNS and SQS do not promise: Publish sends to every
    # subscribed queue before it returns (moto/sns/models.py, Topic.publish), and a queue hands out
    # its messages in the order they were sent (moto/sqs/models.py, receive_message; a FIFO queue
    # holds back only a group with a message in flight, and `receive` deletes what it gets). So
    # every message published before the marker (all of the function's, once it has answered: it
    # answers after its publishes return) is received before the marker or with it.

    def publish_marker(self, topic_arn: str, attributes: dict[str, str] | None = None) -> str:
        """Publishes an end marker to `topic_arn` and returns its id. `attributes` become its
        message attributes, for a subscription's filter policy to let it through."""
        marker = f"end-marker-{uuid.uuid4().hex}"
        request = {
            "TopicArn": topic_arn,
            "Message": json.dumps({"id": marker, END_MARKER: True}),
            "MessageAttributes": {name: {"DataType": "String", "StringValue": value}
                                  for name, value in (attributes or {}).items()},
        }
        if topic_arn.endswith(".fifo"):
            request |= {"MessageGroupId": marker, "MessageDeduplicationId": marker}
        self.sns.publish(**request)
        return marker

    def send_marker(self, queue_url: str) -> str:
        """Sends an end marker to the queue itself (one no topic feeds, such as a dead-letter queue)."""
        marker = f"end-marker-{uuid.uuid4().hex}"
        request = {"QueueUrl": queue_url, "MessageBody": json.dumps({"id": marker, END_MARKER: True})}
        if queue_url.endswith(".fifo"):
            request |= {"MessageGroupId": marker, "MessageDeduplicationId": marker}
        self.sqs.send_message(**request)
        return marker

    def receive_until(self, queue_url: str, marker: str, wait: float = 10.0) -> list[dict]:
        """Receives and deletes what `queue_url` holds up to the end marker `marker`, and returns it
        without any end marker (a message in the marker's batch after it is kept: it can only be
        later, an extra). Fails if the marker is not there within `wait` seconds."""
        got: list[dict] = []
        deadline = time.monotonic() + wait
        while True:
            batch = self.receive(queue_url, wait=max(0.0, deadline - time.monotonic()))
            got += [m for m in batch if end_marker(m) is None]
            if any(end_marker(m) == marker for m in batch):
                return got
            if time.monotonic() >= deadline:
                raise AssertionError(f"the end marker did not reach {queue_url} within {wait} s "
                                     f"({len(got)} messages received before giving up)")


END_MARKER = "relay_test_end_marker"


# The stand-in Atlas Admin API's fake service account (events/README.md lists it). Never in
# events/test.env: `make run` and the tests that want enrichment pass it with the stand-in's URL,
# so nothing is ever sent to cloud.mongodb.com.
from fake_credentials import ATLAS_API_CLIENT_ID, ATLAS_API_CLIENT_SECRET  # noqa: E402
ATLAS_API_CONFIGS = ROOT / "tests" / "data" / "atlas-alert-configs.json"


class AtlasApi:
    """scripts/atlas_api_standin.py on 127.0.0.1: the Atlas Admin API's token endpoint and alert
    configurations (tests/data/atlas-alert-configs.json), with faults set through /_standin/."""

    def __init__(self, log_dir: Path, host: str = "127.0.0.1", configs: Path = ATLAS_API_CONFIGS,
                 name: str = "atlas-api"):
        ready = log_dir / f"{name}.port"
        ready.unlink(missing_ok=True)
        self.service = Service(
            name,
            [sys.executable, str(ROOT / "scripts" / "atlas_api_standin.py"), "--host", host, "--port", "0",
             "--configs", str(configs), "--client-id", ATLAS_API_CLIENT_ID,
             "--client-secret", ATLAS_API_CLIENT_SECRET, "--ready-file", str(ready)],
            log_dir / f"{name}.log",
            clean_env(),
        )
        deadline = time.monotonic() + 30
        while not (ready.exists() and ready.read_text().strip()):
            if not self.service.running() or time.monotonic() > deadline:
                self.service.stop()
                raise RuntimeError(f"the Atlas Admin API stand-in did not start:\n{self.service.log_tail()}")
            time.sleep(0.05)
        self.port = int(ready.read_text().strip())
        self.base_url = f"http://{host}:{self.port}"

    def env(self, base_url: str | None = None) -> dict[str, str]:
        """What the function needs to enrich Atlas alerts from this stand-in."""
        return {"ATLAS_API_CLIENT_ID": ATLAS_API_CLIENT_ID, "ATLAS_API_CLIENT_SECRET": ATLAS_API_CLIENT_SECRET,
                "ATLAS_API_BASE_URL": base_url or self.base_url}

    def fault(self, name: str) -> None:
        requests.post(f"{self.base_url}/_standin/fault", json={"fault": name}, timeout=5).raise_for_status()

    def seen(self) -> list[dict]:
        """The requests it served since the last reset: [{"method", "path"}, …]."""
        return requests.get(f"{self.base_url}/_standin/requests", timeout=5).json()

    def reset(self) -> None:
        requests.post(f"{self.base_url}/_standin/reset", timeout=5).raise_for_status()

    def stop(self) -> None:
        self.service.stop()


def end_marker(message: dict) -> str | None:
    """The id of an end marker (Moto.publish_marker), or None for any other message."""
    try:
        body = json.loads(message["Body"])
    except ValueError:
        return None
    return body["id"] if isinstance(body, dict) and body.get(END_MARKER) is True else None


class Function:
    """The `alert-relay` binary under `cargo lambda watch`: the Lambda Runtime API emulator on
    `port`, invoked with `cargo lambda invoke` or over HTTP at /lambda-url/alert-relay/…

    `env` adds to or overrides its environment (`Moto.state_env()` turns alert state on).

    cargo lambda watch gives no usable invocation deadline: its runtime answers `/next` with a
    fixed `Lambda-Runtime-Deadline-Ms: 600000` (in 1970), and `--timeout` only bounds how long an
    invoke waits (a claim's Retry-After stays ~30 s with `--timeout 6`). The function takes a
    deadline in the past as none, so an alert-state claim lasts its 30 s default (src/handler.rs,
    CLAIM_WITHOUT_DEADLINE): tests/e2e/test_state.py waits that out for a killed instance."""

    def __init__(
        self,
        log_dir: Path,
        topic_arn: str,
        sns_endpoint: str,
        port: int | None = None,
        env: dict[str, str] | None = None,
        secrets_file: Path = EVENTS / "test.env",
        name: str = "function",
        reload: bool = False,
    ):
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/lambda-url/{FUNCTION}"
        settings = {"ALERT_TOPIC_ARN": topic_arn, "AWS_ENDPOINT_URL_SNS": sns_endpoint, **FAKE_AWS}
        settings.update(env or {})
        # Values hold commas (secret lists), which --env-var would split: everything goes in a file.
        env_file = log_dir / f"{name}.env"
        env_file.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"{k}={env_value(v)}" for k, v in settings.items()]
        lines += [line for line in env_file_lines(secrets_file) if line.split("=", 1)[0] not in settings]
        env_file.write_text("\n".join(lines) + "\n")
        argv = [
            "cargo", "lambda", "watch", "--bin", FUNCTION, "--quiet",
            "--invoke-address", "127.0.0.1", "--invoke-port", str(self.port),
            "--env-file", str(env_file),
        ]
        if not reload:
            argv.append("--ignore-changes")
        self.service = Service(name, argv, log_dir / f"{name}.log", clean_env())
        try:
            self._wait_ready()
        except BaseException:
            self.service.stop()
            raise

    def _wait_ready(self, timeout: float = 900.0) -> None:
        """Ready once the function itself answers (the first request waits for any build)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.service.running():
                raise RuntimeError(f"cargo lambda watch exited:\n{self.service.log_tail()}")
            # The function stopped at start (a configuration error): cargo lambda watch stays up and
            # would hold the ready request until it times out.
            if "ERROR command exited" in self.service.log_tail():
                raise RuntimeError(f"the function exited at start:\n{self.service.log_tail()}")
            try:
                response = requests.post(f"{self.base_url}/webhooks/-ready-", timeout=5)
                if response.status_code == 404:
                    return
            except (requests.ConnectionError, requests.Timeout):  # not up yet, or still building
                pass
            time.sleep(0.2)
        raise RuntimeError(f"function not ready after {timeout}s:\n{self.service.log_tail()}")

    def stop(self) -> None:
        self.service.stop()

    def log_size(self) -> int:
        return self.service.log_path.stat().st_size

    def logged_since(self, offset: int) -> list[dict]:
        """The JSON objects (log records, EMF metrics) the function wrote in whole lines after byte
        `offset` of its log (`log_size()` before a request)."""
        with open(self.service.log_path, "rb") as log:
            log.seek(offset)
            text = log.read()
        documents = []
        for line in text[: text.rfind(b"\n") + 1].decode(errors="replace").splitlines():
            start = line.find("{")
            try:
                document = json.loads(line[start:]) if start >= 0 else None
            except ValueError:
                continue
            if isinstance(document, dict):
                documents.append(document)
        return documents

    def logged_until(self, offset: int, enough, wait: float = 10.0) -> list[dict]:
        """`logged_since(offset)` once `enough(documents)` holds, or as it is after `wait` seconds
        (the caller asserts what it needs): the function writes its lines as it answers, so a read
        right after the answer can come too early."""
        deadline = time.monotonic() + wait
        while True:
            documents = self.logged_since(offset)
            if enough(documents) or time.monotonic() > deadline:
                return documents
            time.sleep(0.05)

    def invoke(self, event_file: Path) -> dict:
        """`cargo lambda invoke --data-file`: the API Gateway response the function returned."""
        done = subprocess.run(
            [
                "cargo", "lambda", "invoke", FUNCTION,
                "--invoke-address", "127.0.0.1", "--invoke-port", str(self.port),
                "--data-file", str(event_file), "--output-format", "json",
            ],
            cwd=ROOT,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"cargo lambda invoke failed ({done.returncode}): {done.stderr}")
        return json.loads(done.stdout)

    def invoke_event(self, event: dict, timeout: float = 60) -> dict:
        """What `invoke` does, over HTTP in this process (the emulator's Invoke API): for many
        invocations at once, without a process each."""
        response = requests.post(
            f"http://127.0.0.1:{self.port}/2015-03-31/functions/{FUNCTION}/invocations",
            data=json.dumps(event), timeout=timeout)
        response.raise_for_status()
        return response.json()

    def send(
        self, method: str, path: str, headers: dict[str, str], body: bytes, query: str = ""
    ) -> requests.Response:
        url = self.base_url + path + (f"?{query}" if query else "")
        return requests.request(method, url, headers=headers, data=body, timeout=60)

    def send_event(self, event_file: Path) -> requests.Response:
        """Replays an API Gateway event as a plain HTTP request to the function-URL emulation."""
        method, path, query, headers, body = request_of_event(json.loads(event_file.read_text()))
        return self.send(method, path, headers, body, query)


# API Gateway's own headers: requests sets the real ones.
_GATEWAY_HEADERS = {"host", "content-length", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto"}


def request_of_event(event: dict) -> tuple[str, str, str, dict[str, str], bytes]:
    """(method, path, query, headers, body) of an HTTP API v2 or REST v1 event."""
    body = event.get("body") or ""
    body = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    if event.get("version") == "2.0":
        method = event["requestContext"]["http"]["method"]
        path = event["rawPath"]
        query = event.get("rawQueryString", "")
        headers = event.get("headers") or {}
    else:
        method = event["httpMethod"]
        path = event["requestContext"].get("path") or event["path"]  # with the stage
        multi = event.get("multiValueQueryStringParameters") or {}
        query = urllib.parse.urlencode([(k, v) for k, vs in multi.items() for v in vs])
        headers = event.get("headers") or {}
    headers = {k: v for k, v in headers.items() if k.lower() not in _GATEWAY_HEADERS}
    return method, path, query, headers, body


def response_status(response: dict) -> int:
    return int(response["statusCode"])


def response_body(response: dict) -> dict:
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return json.loads(body) if body else {}


def response_header(response: dict, name: str) -> str | None:
    for key, value in (response.get("headers") or {}).items():
        if key.lower() == name.lower():
            return value
    for key, values in (response.get("multiValueHeaders") or {}).items():
        if key.lower() == name.lower() and values:
            return ",".join(values)
    return None


@functools.cache
def registry(signer: Path = TARGET_DIR / "debug" / "alert-relay-sign") -> list[dict]:
    """The providers as the function has them: `alert-relay-sign providers --json` (run once)."""
    return json.loads(subprocess.run([str(signer), "providers", "--json"], check=True,
                                     capture_output=True, text=True).stdout)


def time_signed(event_file: Path, providers: list[dict]) -> bool:
    """Whether a sample event's signature covers more than its body (Standard Webhooks: its id and
    the time it was signed; Grafana's timestamped form: the time), the request time the event
    carries: replayed over HTTP today, such a sample is a replay and refused; invoked as it is, it
    is accepted. A sample of such a provider without its signed headers (Grafana's body-only form)
    is not."""
    event = json.loads(event_file.read_text())
    slug = (event.get("pathParameters") or {}).get("provider")
    carried = {name.lower() for name in (event.get("headers") or {})}
    return any(p["slug"] == slug and carried & {h.lower() for h in p["signed_headers"]} for p in providers)


def signed_now(event_file: Path, headers: dict, body: bytes, providers: list[dict],
               signer: Path = TARGET_DIR / "debug" / "alert-relay-sign") -> dict:
    """`headers` with the signature of a time-signed sample made again now, with the first test
    secret of its provider (events/test.env): what its sender would send today. Signed in the
    provider's first form that writes every signed header the sample carries (Grafana's
    timestamped form for a sample with `X-Grafana-Alerting-Timestamp`, its body-only form for one
    without), so that no stale signed header is left beside the fresh signature."""
    event = json.loads(event_file.read_text())
    slug = (event.get("pathParameters") or {}).get("provider")
    provider = next(p for p in providers if p["slug"] == slug)
    secret = env_file_values(EVENTS / "test.env")[f"{provider['env_prefix']}_WEBHOOK_SECRETS"].split(",")[0]
    carried = {name.lower() for name in headers} & {name.lower() for name in provider["signed_headers"]}
    with tempfile.NamedTemporaryFile(suffix=".json") as file:
        file.write(body)
        file.flush()
        for form in provider.get("forms") or [None]:
            lines = subprocess.run(
                [str(signer), "sign", "--provider", slug, "--secret-env", "ALERT_RELAY_SIGN_SECRET",
                 "--body", file.name, *(["--form", form] if form else [])],
                env={**os.environ, "ALERT_RELAY_SIGN_SECRET": secret},
                check=True, capture_output=True, text=True,
            ).stdout.splitlines()
            fresh = dict(line.split(": ", 1) for line in lines)
            if carried <= {name.lower() for name in fresh}:
                break
        else:
            raise ValueError(f"{event_file.name}: no form of {slug} signs {sorted(carried)}")
    replaced = {name.lower() for name in fresh}
    kept = {name: value for name, value in headers.items() if name.lower() not in replaced}
    return {**kept, **fresh}


def group_alerts(body: bytes) -> list[dict] | None:
    """The alerts of a group body (Grafana, Alertmanager), in its order; None for any other body."""
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    alerts = payload.get("alerts") if isinstance(payload, dict) else None
    return alerts if isinstance(alerts, list) else None


def alert_lines(answer: dict, body: bytes) -> list[str]:
    """One line per alert of a group's answer (`{"status"|"error", "events": […]}`): which alert it
    is (its fingerprint, name and the labels that tell it from the rest of its group, and what its
    sender said of it), and how it ended: status, reason, topics and event id. The answer lists its
    events in the body's order. Empty for an answer without `events` (a single alert, a refusal)."""
    events = answer.get("events") if isinstance(answer, dict) else None
    if not isinstance(events, list):
        return []
    alerts = group_alerts(body) or []
    if len(alerts) != len(events):
        alerts = [{}] * len(events)
    common = {}
    try:
        common = json.loads(body).get("commonLabels") or {}
    except (ValueError, AttributeError):
        pass
    lines = []
    for n, (event, alert) in enumerate(zip(events, alerts), start=1):
        alert = alert if isinstance(alert, dict) else {}
        labels = alert.get("labels") if isinstance(alert.get("labels"), dict) else {}
        own = [f"{k}={v}" for k, v in sorted(labels.items()) if k != "alertname" and common.get(k) != v][:3]
        what = " ".join([str(labels.get("alertname", "alert")), *own])
        ended = str(event.get("status"))
        if event.get("reason"):
            ended += f" ({event['reason']})"
        if event.get("topics") is not None:
            ended += f", {event['topics']} topic{'' if event['topics'] == 1 else 's'}"
        lines.append(f"alert {n}/{len(events)} {alert.get('fingerprint', '?')} ({what}, {alert.get('status', '?')}):"
                     f" {ended}, event {event.get('event_id')}")
    return lines


def answered_event_ids(answer: dict, status: str = "published") -> list[str]:
    """The event ids an answer says ended as `status`: its own `event_id` (a single alert), or
    those of its `events` (a group)."""
    if isinstance(answer.get("events"), list):
        return [e.get("event_id") for e in answer["events"] if e.get("status") == status]
    return [answer["event_id"]] if answer.get("status") == status and answer.get("event_id") else []


def expected_events(readme: Path = EVENTS / "README.md") -> list[dict]:
    """The table in events/README.md: file, status and error of every sample event."""
    rows = []
    header = None
    for line in readme.read_text().splitlines():
        if not line.startswith("|"):
            header = None if not line.strip() else header
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
            continue
        if set(cells[0]) <= {"-", " "}:
            continue
        row = dict(zip(header, cells))
        if "file" in row and "status" in row:
            rows.append({
                "file": row["file"].strip("`"),
                "status": int(row["status"]),
                "error": row.get("error", "").strip("`") or None,
            })
    return rows


def template(path: Path = ROOT / "template.yaml") -> dict:
    """A CloudFormation template as data, its short tags (!Ref, !If, !Sub, …) read as {tag: value}."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def tag(loader, suffix, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {suffix: value}

    Loader.add_multi_constructor("!", tag)
    return yaml.load(path.read_text(), Loader=Loader)


def eprint(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


def printed_commands(output: str, intro: str = "from another terminal:") -> list[str]:
    """The commands `make run` prints, indented, after the line ending with `intro`: one per item,
    a command continued over lines with a trailing backslash kept as printed."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.rstrip().endswith(intro)) + 1
    commands: list[str] = []
    continued = False
    for line in lines[start:]:
        if not line.startswith("  ") or not line.strip():
            break
        text = line[2:]
        if continued:
            commands[-1] += "\n" + text
        else:
            commands.append(text)
        continued = line.rstrip().endswith("\\")
    return commands


def fresh_terminal_env() -> dict[str, str]:
    """What a new terminal has: this environment without .venv on PATH and without the variables
    the Makefile or the test harness set."""
    venv = str(ROOT / ".venv")
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if not p.startswith(venv))
    keep = ("HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TERM", "SHELL", "TMPDIR")
    return {"PATH": path, **{k: os.environ[k] for k in keep if k in os.environ}}


def run_printed(commands: list[str], timeout: float = 120) -> list[tuple[str, subprocess.CompletedProcess, str | None]]:
    """Runs what `make run` printed as a user would in a new terminal: the printed `cd` (the first
    command), then each other command, in a fresh shell without .venv on PATH. Returns each
    command, its result, and what is wrong with it (None when it did what `make run` says)."""
    cd, *rest = commands
    if not cd.startswith("cd "):
        raise ValueError(f"the first printed command is not a cd: {cd!r}")
    results = []
    for command in rest:
        done = subprocess.run(["bash", "-c", f"{cd}\n{command}"], cwd="/", env=fresh_terminal_env(),
                              capture_output=True, text=True, timeout=timeout)
        results.append((command, done, _printed_problem(command, done)))
    return results


def _printed_problem(command: str, done: subprocess.CompletedProcess) -> str | None:
    if done.returncode != 0:
        return f"exit {done.returncode}: {done.stderr.strip()}"
    if "alert-relay-sign silence add" in command:
        # It prints the silence's id, and only it.
        printed = done.stdout.strip()
        return None if printed.startswith("s-") and len(printed.split()) == 1 else f"no silence id: {printed!r}"
    if "alert-relay-sign" in command:
        expected = "200"
    elif command.startswith("curl "):
        expected = "401"
    elif "lambda invoke" in command or "sam local invoke" in command:
        # The response: cargo lambda's whole output, sam's last line (after its own messages).
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        try:
            status = json.loads(done.stdout if "lambda invoke" in command else lines[-1]).get("statusCode")
        except (json.JSONDecodeError, IndexError):
            status = None
        return None if status == 200 else f"no statusCode 200 in: {done.stdout.strip()} {done.stderr.strip()}"
    else:
        return "no expectation for this command: add one to relaystack._printed_problem"
    status_line = done.stdout.split("\n", 1)[0].split()
    # curl -i says `HTTP/1.1 200 OK`; alert-relay-sign send says `HTTP 200 OK`.
    if len(status_line) >= 2 and status_line[0].startswith("HTTP") and status_line[1] == expected:
        return None
    return f"expected HTTP {expected}, got: {done.stdout[:300]!r} {done.stderr.strip()}"
