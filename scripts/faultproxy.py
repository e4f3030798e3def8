"""A fault-injecting HTTP proxy on 127.0.0.1 in front of moto, for making SNS, SQS or DynamoDB fail
from the outside: the function is pointed at the proxy (AWS_ENDPOINT_URL_SNS, AWS_ENDPOINT_URL_SQS,
AWS_ENDPOINT_URL_DYNAMODB) and runs unchanged.

    sns = FaultProxy(moto.endpoint, "sns")
    sns.fail("500")                                  # every request, until healed
    sns.fail("throttle", times=2)                    # the next two requests
    sns.fail("refuse", topics={arn_a, arn_b})        # only Publish requests to these topics
    table.fail("throttle", code="ProvisionedThroughputExceededException")  # DynamoDB's own code
    sns.heal()                                       # forward everything again
    sns.succeeded("Publish", arn_a)                  # how many publishes to arn_a moto accepted

Faults, each answered the way the SDK would meet it in AWS (and retries, within its bounds):
- `refuse`: the connection is reset without an answer (as a dead endpoint or a dropped connection);
- `500`: HTTP 500 `InternalFailure` (DynamoDB: `InternalServerError`);
- `throttle`: HTTP 400 `Throttling` (SQS, DynamoDB: `ThrottlingException`), which the SDK retries;
  `code` gives another (DynamoDB's `ProvisionedThroughputExceededException`);
- `hang`: no answer until `hang_seconds` pass (or the fault is healed), then the connection closes;
- `slow`: moto's own answer, sent after `hang_seconds` (a slow service, e.g. Secrets Manager).

A JSON-protocol error carries the `__type` of the service its `X-Amz-Target` names
(`com.amazonaws.sqs#…`, `com.amazonaws.dynamodb.v20120810#…`), as each service writes it.

The faults are tried in the order they were added; the first that matches a request and has times
left takes it. A request no fault takes is forwarded to moto as it came. Every request is recorded
(`requests`) with its action, its `TopicArn` or `QueueUrl`, and what became of it.
"""

from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KINDS = ("refuse", "500", "throttle", "hang", "slow")
# Not forwarded: they describe this hop, not the request (the body is re-sent with its length).
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
               "content-length"}


@dataclass
class Fault:
    kind: str
    times: int | None = None  # None: until healed
    topics: frozenset[str] | None = None  # only requests whose form-encoded TopicArn is one of these
    actions: frozenset[str] | None = None  # only these actions (Publish, SendMessage, …)
    hang_seconds: float = 30.0
    code: str | None = None  # the error code of a `500` or `throttle`, instead of the service's usual one
    taken: int = 0

    def takes(self, request: "Seen") -> bool:
        if self.times is not None and self.taken >= self.times:
            return False
        if self.topics is not None and request.topic_arn not in self.topics:
            return False
        if self.actions is not None and request.action not in self.actions:
            return False
        return True


@dataclass
class Seen:
    """One request through the proxy: its action, its TopicArn (SNS) or QueueUrl (SQS), and its
    outcome: the fault's kind, or `forwarded <status>`."""

    action: str | None
    topic_arn: str | None = None
    queue_url: str | None = None
    outcome: str = ""
    size: int = 0
    params: dict = field(default_factory=dict, repr=False)


def describe(headers, body: bytes) -> Seen:
    """What a request asks: the query protocol's form (SNS; SQS before JSON) or the JSON protocol's
    X-Amz-Target and body (SQS)."""
    content_type = (headers.get("Content-Type") or "").lower()
    target = headers.get("X-Amz-Target")
    if target or "json" in content_type:
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {}
        params = params if isinstance(params, dict) else {}
        action = target.rsplit(".", 1)[-1] if target else None
    else:
        params = {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace")).items()}
        action = params.get("Action")
    return Seen(action=action, topic_arn=params.get("TopicArn"), queue_url=params.get("QueueUrl"),
                size=len(body), params=params)


def _namespace(target: str | None) -> str:
    """The `__type` namespace of a JSON-protocol service, from its X-Amz-Target prefix."""
    prefix = (target or "").split(".", 1)[0]
    if prefix.startswith("DynamoDB_"):
        return f"com.amazonaws.dynamodb.v{prefix.removeprefix('DynamoDB_')}"
    return "com.amazonaws.sqs"


def _error(json_protocol: bool, status: int, code: str, message: str,
           target: str | None = None) -> tuple[int, list[tuple[str, str]], bytes]:
    request_id = str(uuid.uuid4())
    if json_protocol:
        namespace = _namespace(target)
        body = json.dumps({"__type": f"{namespace}#{code}", "message": message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", request_id)]
        if namespace == "com.amazonaws.sqs":  # SQS's JSON protocol also says it the query protocol's way
            headers.append(("x-amzn-query-error", f"{code};{'Receiver' if status >= 500 else 'Sender'}"))
        return status, headers, body
    kind = "Receiver" if status >= 500 else "Sender"
    body = (f'<ErrorResponse xmlns="https://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>{kind}</Type>'
            f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId>"
            f"</ErrorResponse>").encode()
    return status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def _body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_POST(self):
        self._handle()

    def do_GET(self):
        self._handle()

    def _handle(self):
        proxy: FaultProxy = self.server.proxy
        with proxy._lock:
            proxy._in_flight += 1
            proxy.most_in_flight = max(proxy.most_in_flight, proxy._in_flight)
        try:
            self._answer(proxy)
        finally:
            with proxy._lock:
                proxy._in_flight -= 1

    def _answer(self, proxy: "FaultProxy"):
        body = self._body()
        seen = describe(self.headers, body)
        fault = proxy._take(seen)
        target = self.headers.get("X-Amz-Target")
        json_protocol = bool(target) or "json" in (self.headers.get("Content-Type") or "")
        dynamodb = (target or "").startswith("DynamoDB_")
        if fault is None or fault.kind == "slow":
            if fault is not None:
                proxy._healed.wait(fault.hang_seconds)
            status, headers, answer = proxy._forward(self.command, self.path, self.headers, body)
            seen.outcome = f"{'slow, ' if fault else ''}forwarded {status}"
        elif fault.kind == "refuse":
            seen.outcome = "refuse"
            self._reset()
            return
        elif fault.kind == "hang":
            seen.outcome = "hang"
            proxy._healed.wait(fault.hang_seconds)
            self._reset()
            return
        elif fault.kind == "500":
            seen.outcome = "500"
            code = fault.code or ("InternalServerError" if dynamodb else "InternalFailure")
            status, headers, answer = _error(json_protocol, 500, code, "injected by faultproxy", target)
        else:
            seen.outcome = "throttle"
            code = fault.code or ("ThrottlingException" if json_protocol else "Throttling")
            status, headers, answer = _error(json_protocol, 400, code, "Rate exceeded (injected by faultproxy)", target)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
        self.wfile.flush()

    def _reset(self):
        # SO_LINGER 0: close() sends an RST, so the client sees the connection fail, not an answer.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        try:
            self.connection.close()
        except OSError:
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a reset connection is the point of some faults

    def shutdown_request(self, request):
        try:
            super().shutdown_request(request)
        except OSError:
            pass


class FaultProxy:
    """The proxy, serving from a background thread on a free 127.0.0.1 port until close()."""

    def __init__(self, upstream: str, name: str = "proxy"):
        parsed = urllib.parse.urlsplit(upstream)
        self.name = name
        self._upstream = (parsed.hostname, parsed.port)
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._healed = threading.Event()
        self.requests: list[Seen] = []
        # The most requests held at once since the last reset(): "all at once" counted, not timed.
        self.most_in_flight = 0
        self._in_flight = 0
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        threading.Thread(target=self._server.serve_forever, name=f"faultproxy-{name}", daemon=True).start()
        self.endpoint = f"http://127.0.0.1:{self._server.server_port}"

    def fail(self, kind: str, times: int | None = None, topics=None, actions=None, hang_seconds: float = 30.0,
             code: str | None = None) -> Fault:
        """Adds a fault: `kind` (refuse, 500, throttle, hang, slow) for the next `times` matching requests
        (None: until heal()), matching only `topics` (TopicArn values) and `actions` when given; a
        `500` or `throttle` answers with the error `code` when given."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}: one of {KINDS}")
        fault = Fault(kind, times, frozenset(topics) if topics is not None else None,
                      frozenset(actions) if actions is not None else None, hang_seconds, code)
        with self._lock:
            self._healed.clear()
            self._faults.append(fault)
        return fault

    def heal(self) -> None:
        """Removes every fault, and ends the hangs under way."""
        with self._lock:
            self._faults.clear()
            self._healed.set()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Waits until no request is being answered: a client has its response a moment before the
        proxy's handler is done with it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._in_flight == 0:
                    return True
            time.sleep(0.01)
        return False

    def reset(self) -> None:
        """heal(), and forget the requests seen."""
        self.heal()
        with self._lock:
            self.requests.clear()
            self.most_in_flight = self._in_flight

    def seen(self, action: str | None = None, topic: str | None = None) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests
                    if (action is None or r.action == action) and (topic is None or r.topic_arn == topic)]

    def succeeded(self, action: str, topic: str | None = None) -> int:
        """How many `action` requests (to `topic`) moto answered 200."""
        return sum(1 for r in self.seen(action, topic) if r.outcome == "forwarded 200")

    def close(self) -> None:
        self.heal()
        self._server.shutdown()
        self._server.server_close()

    def _take(self, seen: Seen) -> Fault | None:
        with self._lock:
            self.requests.append(seen)
            for fault in self._faults:
                if fault.takes(seen):
                    fault.taken += 1
                    return fault
        return None

    def _forward(self, method: str, path: str, headers, body: bytes):
        connection = http.client.HTTPConnection(*self._upstream, timeout=60)
        try:
            forwarded = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
            forwarded["Content-Length"] = str(len(body))
            connection.request(method, path, body=body, headers=forwarded)
            response = connection.getresponse()
            answer = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            return response.status, kept, answer
        finally:
            connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
