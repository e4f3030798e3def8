#!/usr/bin/env python3
"""Run a built `bootstrap` the way Lambda runs a custom runtime, against a local SNS.

Serves a minimal Lambda Runtime API on 127.0.0.1, starts moto (SNS + SQS) with a topic and a
raw-delivery queue subscribed to it, starts the binary with AWS_LAMBDA_RUNTIME_API pointing at the
runtime API and AWS_ENDPOINT_URL_SNS at moto, then feeds it API Gateway events: one Atlas webhook
signed by CPython's hmac, and forged variants of it. Checks: the signed one answers 200 with SNS's
message id and reaches the queue; every forged one answers 401 and publishes nothing.

Runs twice: with the signing secrets in ATLAS_WEBHOOK_SECRETS, and with them in an AWS Secrets
Manager secret (moto's) named by ATLAS_WEBHOOK_SECRETS_ARN.

usage: runtime_smoke.py path/to/bootstrap
"""

import base64
import hashlib
import hmac
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-atlas-secret-1"  # fake, see events/README.md
SEED = (ROOT / "tests/data/seeds/atlas-disk-space-alert.json").read_bytes()
REGION = "us-east-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def atlas_signature(secret, body):
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha1).digest()).decode()


def v2_event(body, headers):
    return {
        "version": "2.0",
        "routeKey": "POST /webhooks/{provider}",
        "rawPath": "/webhooks/atlas",
        "rawQueryString": "",
        "headers": {"content-type": "application/json", **headers},
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "domainName": "localhost", "domainPrefix": "local",
            "http": {"method": "POST", "path": "/webhooks/atlas", "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "runtime-smoke"},
            "requestId": "smoke", "routeKey": "POST /webhooks/{provider}", "stage": "$default",
            "time": "15/Jan/2024:10:30:00 +0000", "timeEpoch": 1705314600000,
        },
        "body": body.decode(),
        "isBase64Encoded": False,
    }


def cases():
    good = atlas_signature(SECRET, SEED)
    tampered = SEED.replace(b"95.2%", b"15.2%")
    return [
        ("signed", v2_event(SEED, {"x-mms-signature": good, "x-mms-event": "alert.open"}), 200),
        ("wrong secret", v2_event(SEED, {"x-mms-signature": atlas_signature("guess", SEED)}), 401),
        ("tampered body", v2_event(tampered, {"x-mms-signature": good}), 401),
        ("truncated", v2_event(SEED, {"x-mms-signature": good[:-4]}), 401),
        ("empty", v2_event(SEED, {"x-mms-signature": ""}), 401),
        ("missing", v2_event(SEED, {}), 401),
        ("hex sha1", v2_event(SEED, {"x-mms-signature": hmac.new(SECRET.encode(), SEED, hashlib.sha1).hexdigest()}), 401),
        ("sha256 scheme", v2_event(SEED, {"x-mms-signature": "sha256=" + hmac.new(SECRET.encode(), SEED, hashlib.sha256).hexdigest()}), 401),
    ]


class RuntimeApi(BaseHTTPRequestHandler):
    """The three Runtime API calls a function makes: next, response, error."""

    events: "queue.Queue" = queue.Queue()
    results: "queue.Queue" = queue.Queue()
    first_poll = None

    def log_message(self, *args):
        pass

    def do_GET(self):
        if not self.path.endswith("/runtime/invocation/next"):
            return self.send_error(404)
        api = type(self)
        if api.first_poll is None:
            api.first_poll = time.monotonic()
        request_id, event = api.events.get()
        payload = json.dumps(event).encode()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 10_000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:alert-relay")
        self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        parts = self.path.split("/")
        kind = parts[-1]
        type(self).results.put((kind, parts[-2] if len(parts) > 2 else "", body))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


def start_moto(venv_bin):
    port = free_port()
    proc = subprocess.Popen([str(venv_bin / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=0.2)
            return proc, url
        except Exception:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("moto_server did not start")


def run_scenario(bootstrap, moto_url, session, secret_env):
    """One function process against fresh topic and queue; returns a list of failures."""
    # A fresh handler class per process, so a killed process's pending /next cannot take an event.
    api = type("Api", (RuntimeApi,), {"events": queue.Queue(), "results": queue.Queue(), "first_poll": None})
    server = ThreadingHTTPServer(("127.0.0.1", 0), api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    function = None
    failures = []
    try:
        sns = session.client("sns", endpoint_url=moto_url)
        sqs = session.client("sqs", endpoint_url=moto_url)
        name = f"alerts-{int(time.time() * 1000)}"
        topic = sns.create_topic(Name=name)["TopicArn"]
        queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})

        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ATLAS_", "APP_SERVICES_", "MONTE_CARLO_"))}
        env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION})
        env.update({
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_port}",
            "AWS_LAMBDA_FUNCTION_NAME": "alert-relay", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_LOG_STREAM_NAME": "smoke",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/alert-relay",
            "AWS_ENDPOINT_URL": moto_url, "ALERT_TOPIC_ARN": topic,
        })
        env.update(secret_env)
        started = time.monotonic()
        function = subprocess.Popen([str(bootstrap)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        published_id = None
        for i, (name, event, expected) in enumerate(cases()):
            api.events.put((f"req-{i}", event))
            kind, request_id, body = api.results.get(timeout=15)
            response = json.loads(body) if kind == "response" else {}
            status = response.get("statusCode")
            answer = json.loads(response.get("body") or "{}")
            ok = kind == "response" and request_id == f"req-{i}" and status == expected
            if expected == 200:
                ok = ok and answer.get("status") == "published" and bool(answer.get("message_id"))
                published_id = answer.get("event_id")
            print(f"{'ok  ' if ok else 'FAIL'} {name:<14} -> {status} {answer}")
            if not ok:
                failures.append(name)
        init_ms = (api.first_poll - started) * 1000 if api.first_poll else float("nan")
        print(f"process start to first /next poll: {init_ms:.1f} ms")

        received = []
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            received += batch
            if not batch and received:
                break
        events = [json.loads(m["Body"]) for m in received]
        if [e.get("id") for e in events] != [published_id]:
            failures.append(f"queue held {len(events)} message(s), expected exactly the signed one")
        else:
            print(f"ok   queue received the CloudEvent {published_id} ({events[0]['type']}, {events[0]['data']['title']!r})")
    finally:
        if function:
            function.kill()
            output = function.communicate()[0].decode(errors="replace")
            if failures:
                print(output)
        server.shutdown()
        server.server_close()
    return failures


def check_bad_secret(bootstrap, moto_url, arn):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION,
                "AWS_ENDPOINT_URL": moto_url, "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9",
                "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts", "ATLAS_WEBHOOK_SECRETS_ARN": arn})
    done = subprocess.run([str(bootstrap)], env=env, capture_output=True, timeout=30)
    output = (done.stdout + done.stderr).decode(errors="replace")
    ok = done.returncode != 0 and "ATLAS_WEBHOOK_SECRETS_ARN" in output
    print(f"{'ok  ' if ok else 'FAIL'} exit {done.returncode}: {done.stderr.decode(errors='replace').strip()}")
    return [] if ok else ["unreadable secret did not stop the start"]


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    bootstrap = Path(sys.argv[1]).resolve()
    venv_bin = Path(sys.executable).parent
    import boto3  # from the venv (moto brings it)

    moto, moto_url = start_moto(venv_bin)
    failures = []
    try:
        session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
        print("== secrets in ATLAS_WEBHOOK_SECRETS")
        failures += run_scenario(bootstrap, moto_url, session, {"ATLAS_WEBHOOK_SECRETS": f"test-atlas-old-secret,{SECRET}"})
        print("== secrets in Secrets Manager, named by ATLAS_WEBHOOK_SECRETS_ARN")
        secrets = session.client("secretsmanager", endpoint_url=moto_url)
        arn = secrets.create_secret(Name="alert-relay/atlas", SecretString=json.dumps(["test-atlas-old-secret", SECRET]))["ARN"]
        failures += run_scenario(bootstrap, moto_url, session, {"ATLAS_WEBHOOK_SECRETS_ARN": arn})
        print("== a secret that cannot be read stops the start, naming the variable")
        failures += check_bad_secret(bootstrap, moto_url, arn.replace("alert-relay/atlas", "alert-relay/missing"))
    finally:
        moto.kill()
        moto.wait()
    if failures:
        raise SystemExit(f"runtime smoke test failed: {failures}")
    print("runtime smoke test passed")


if __name__ == "__main__":
    main()
