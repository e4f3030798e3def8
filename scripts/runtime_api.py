"""A fake Lambda Runtime API on 127.0.0.1 for starting a function as Lambda does, and moto beside it.
Used by scripts/runtime_smoke.py and bench/coldstart.py.

    with local_moto() as moto, RuntimeApi() as api:
        run = api.new_run()               # before starting each function process
        start the process with AWS_LAMBDA_RUNTIME_API=api.address
        run.invoke("req-0", event)        # bytes as they are, anything else as JSON
        kind, request_id, body, arrived = run.result(timeout=15)
        kill the process, then run.end()

It serves the three calls a function makes: `GET .../runtime/invocation/next` hands out the queued
events one at a time with the Lambda-Runtime-* headers, `POST .../invocation/<id>/response` and
`.../<id>/error` are recorded as results. HTTP/1.1 with keep-alive and TCP_NODELAY, as the real API.

Every process gets its own `Run`: a connection belongs to the run that was current when it was
accepted, so a killed process's last `/next`, read late, cannot take the next process's event.
"""

import contextlib
import json
import os
import queue
import shutil
import sys
import tempfile
import threading
import time
from collections import namedtuple
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from relaystack import Moto

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:alert-relay"

# What the function POSTed: "response" or "error", the request id from the path, the body, and
# time.monotonic() when the request arrived (before its body was read).
Result = namedtuple("Result", "kind request_id body arrived")


class Run:
    """One function process's view of the Runtime API.

    first_poll: time.monotonic() of its first `/next` (None until then), also signalled by `polled`;
    sent: request id -> time.monotonic() when that event was handed out."""

    def __init__(self):
        self.events = queue.Queue()
        self.results = queue.Queue()
        self.first_poll = None
        self.polled = threading.Event()
        self.sent = {}

    def invoke(self, request_id, event):
        """Queues an event for the process's next `/next`: bytes as they are, anything else as JSON."""
        payload = event if isinstance(event, bytes) else json.dumps(event).encode()
        self.events.put((request_id, payload))

    def result(self, timeout=None):
        """The next response or error the process POSTed, as a Result; queue.Empty after `timeout` s."""
        return self.results.get(timeout=timeout)

    def end(self):
        """The process is gone: a `/next` still waiting for an event is answered 500."""
        self.events.put(None)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle and the client's delayed
    # ACK add ~40 ms to every keep-alive exchange.
    disable_nagle_algorithm = True

    def setup(self):
        # A connection belongs to the run that was current when it was accepted: a killed
        # function's last `/next`, read late, must not take the next run's event.
        super().setup()
        self.run = self.server.run

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def do_GET(self):
        run = self.run
        if not self.path.endswith("/runtime/invocation/next"):
            return self.reply(404)
        if run.first_poll is None:
            run.first_poll = time.monotonic()
            run.polled.set()
        item = run.events.get()
        if item is None:  # the run is over; the process is already gone
            return self.reply(500)
        request_id, payload = item
        run.sent[request_id] = time.monotonic()
        self.reply(200, payload, [
            ("Content-Type", "application/json"),
            ("Lambda-Runtime-Aws-Request-Id", request_id),
            ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 10_000)),
            ("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN),
            ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0"),
        ])

    def do_POST(self):
        arrived = time.monotonic()
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        parts = self.path.rstrip("/").split("/")
        self.run.results.put(Result(parts[-1], parts[-2], body, arrived))
        self.reply(202)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A killed function leaves its pending /next connection behind; that is expected.
        if not isinstance(sys.exc_info()[1], (ConnectionError, BrokenPipeError)):
            super().handle_error(request, client_address)


class RuntimeApi:
    """The fake Runtime API, serving from a background thread on a free 127.0.0.1 port until close()."""

    def __init__(self):
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.run = Run()
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.address = f"127.0.0.1:{self._server.server_port}"  # for AWS_LAMBDA_RUNTIME_API

    def new_run(self):
        """A fresh Run: connections accepted from now on belong to it. Call before starting a process."""
        run = self._server.run = Run()
        return run

    def close(self):
        self._server.run.end()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@contextlib.contextmanager
def local_moto():
    """relaystack's Moto (moto_server on a free 127.0.0.1 port), logging to a temporary directory,
    stopped on exit."""
    # moto_server is looked up on PATH (the Makefile puts .venv/bin first): without that, the one
    # beside this interpreter.
    bin_dir = Path(sys.executable).parent
    if shutil.which("moto_server") is None and (bin_dir / "moto_server").exists():
        os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    with tempfile.TemporaryDirectory(prefix="moto-") as logs:
        moto = Moto(Path(logs))
        try:
            yield moto
        finally:
            moto.stop()
