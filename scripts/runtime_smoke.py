#!/usr/bin/env python3
"""Run a built `bootstrap` the way Lambda runs a custom runtime, against a local SNS.

Serves a minimal Lambda Runtime API on 127.0.0.1, starts moto (SNS + SQS) with a topic and a
raw-delivery queue subscribed to it, starts the binary with AWS_LAMBDA_RUNTIME_API pointing at the
runtime API and AWS_ENDPOINT_URL_SNS at moto, then feeds it API Gateway events: one Atlas webhook
signed by CPython's hmac, and forged variants of it. Checks: the signed one answers 200 with SNS's
message id and reaches the queue; every forged one answers 401 and publishes nothing.

Runs twice: with the signing secrets in ATLAS_WEBHOOK_SECRETS, and with them in an AWS Secrets
Manager secret (moto's) named by ATLAS_WEBHOOK_SECRETS_ARN.

Then the fallback queue (FALLBACK_QUEUE_URL): one process whose SNS endpoint refuses connections
answers the signed webhook 202 and leaves its publish on the queue; a second, with SNS working, is
invoked with an SQS event made of that queue message (answered with no batchItemFailures, and the
CloudEvent reaches the topic's queue), then with one of a record it cannot read (reported).

usage: runtime_smoke.py path/to/bootstrap
"""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import boto3  # from the venv (moto brings it)

from relaystack import free_port, template
from runtime_api import RuntimeApi, local_moto
from sqstrigger import sqs_event

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-atlas-secret-1"  # fake, see events/README.md
SEED = (ROOT / "tests/data/seeds/atlas-disk-space-alert.json").read_bytes()
REGION = "us-east-1"


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


def configuration_variables() -> tuple[set[str], tuple[str, ...]]:
    """What configures the function, as template.yaml declares it: its variables, and each
    provider's prefix (`ATLAS_`, from ATLAS_ALLOW_UNSIGNED, which every provider has, whatever its
    credential variables), which ATLAS_WEBHOOK_SECRETS, ATLAS_API_CLIENT_ID … share."""
    variables = set(template()["Resources"]["AlertRelayFunction"]["Properties"]["Environment"]["Variables"])
    suffix = "_ALLOW_UNSIGNED"
    return variables, tuple(sorted(v.removesuffix(suffix) + "_" for v in variables if v.endswith(suffix)))


def function_env(api, endpoint, topic, extra):
    """The environment Lambda gives the function, pointed at moto (`endpoint`), plus `extra`: none
    of this shell's AWS settings, nor any of its own configuration that this shell happens to set."""
    variables, prefixes = configuration_variables()
    env = {k: v for k, v in os.environ.items() if k not in variables and not k.startswith(("AWS_", *prefixes))}
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION})
    env.update({
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_NAME": "alert-relay", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_LOG_STREAM_NAME": "smoke",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/alert-relay",
        "AWS_ENDPOINT_URL": endpoint, "ALERT_TOPIC_ARN": topic,
    })
    env.update(extra)
    return env


def run_scenario(bootstrap, moto, secret_env):
    """One function process against fresh topic and queue; returns a list of failures."""
    api = RuntimeApi()
    run = api.new_run()
    function = None
    failures = []
    try:
        name = f"alerts-{int(time.time() * 1000)}"
        topic = moto.create_topic(name)
        queue_url = moto.subscribe_queue(topic, name)  # raw delivery

        env = function_env(api, moto.endpoint, topic, secret_env)
        started = time.monotonic()
        function = subprocess.Popen([str(bootstrap)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        published_id = None
        for i, (name, event, expected) in enumerate(cases()):
            run.invoke(f"req-{i}", event)
            kind, request_id, body, _ = run.result(timeout=15)
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
        init_ms = (run.first_poll - started) * 1000 if run.first_poll else float("nan")
        print(f"process start to first /next poll: {init_ms:.1f} ms")

        received = []
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            batch = moto.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
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
        api.close()  # also answers the killed process's pending /next
    return failures


def invoke_once(bootstrap, api, env, request_id, event):
    """Starts the function, hands it one event, returns (kind, answer as JSON or None, output)."""
    run = api.new_run()
    function = subprocess.Popen([str(bootstrap)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        run.invoke(request_id, event)
        kind, got_id, body, _ = run.result(timeout=30)
        answer = json.loads(body) if kind == "response" and got_id == request_id else None
    finally:
        function.kill()
        output = function.communicate()[0].decode(errors="replace")
        run.end()
    return kind, answer, output


def run_fallback_scenario(bootstrap, moto):
    """A webhook queued while SNS refuses connections, then redriven by an SQS event; and a record
    the function cannot read, reported in batchItemFailures. Returns a list of failures."""
    failures = []
    outputs = []
    name = f"fallback-{int(time.time() * 1000)}"
    topic = moto.create_topic(name)
    delivered = moto.subscribe_queue(topic, name)
    queue_url, _ = moto.fallback_queues(f"{name}-queue")
    queue_arn = moto.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    secrets = {"ATLAS_WEBHOOK_SECRETS": SECRET, "FALLBACK_QUEUE_URL": queue_url}
    api = RuntimeApi()

    def check(ok, what):
        print(f"{'ok  ' if ok else 'FAIL'} {what}")
        if not ok:
            failures.append(what)
        return ok

    def received(url):
        return moto.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"],
                                        MessageAttributeNames=["All"], WaitTimeSeconds=1).get("Messages", [])

    try:
        dead_sns = {"AWS_ENDPOINT_URL_SNS": f"http://127.0.0.1:{free_port()}", **secrets}
        event = cases()[0][1]
        kind, answer, output = invoke_once(bootstrap, api, function_env(api, moto.endpoint, topic, dead_sns), "fb-0", event)
        outputs.append(output)
        body = json.loads((answer or {}).get("body") or "{}")
        check(kind == "response" and answer.get("statusCode") == 202 and body.get("status") == "queued",
              f"SNS unreachable -> {answer and answer.get('statusCode')} {body}")
        queued = received(queue_url)
        check(len(queued) == 1, f"fallback queue holds {len(queued)} message(s), expected 1")

        working = function_env(api, moto.endpoint, topic, secrets)
        if queued:
            kind, answer, output = invoke_once(bootstrap, api, working, "fb-1", sqs_event(queued, queue_arn))
            outputs.append(output)
            check(kind == "response" and answer == {"batchItemFailures": []},
                  f"SQS event of the queued message -> {kind} {answer}")
            events = [json.loads(m["Body"]) for m in received(delivered)]
            check([e.get("id") for e in events] == [body.get("event_id")],
                  f"the topic's queue received the CloudEvent {body.get('event_id')} once")

        moto.sqs.send_message(QueueUrl=queue_url, MessageBody="not a pending publish")
        unreadable = received(queue_url)
        kind, answer, output = invoke_once(bootstrap, api, working, "fb-2", sqs_event(unreadable, queue_arn))
        outputs.append(output)
        expected = {"batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in unreadable]}
        check(len(unreadable) == 1 and kind == "response" and answer == expected,
              f"SQS event of an unreadable record -> {kind} {answer}")
    finally:
        api.close()
    if failures:
        print("\n".join(outputs))
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
    failures = []
    with local_moto() as moto:
        session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
        print("== secrets in ATLAS_WEBHOOK_SECRETS")
        failures += run_scenario(bootstrap, moto, {"ATLAS_WEBHOOK_SECRETS": f"test-atlas-old-secret,{SECRET}"})
        print("== secrets in Secrets Manager, named by ATLAS_WEBHOOK_SECRETS_ARN")
        secrets = session.client("secretsmanager", endpoint_url=moto.endpoint)
        arn = secrets.create_secret(Name="alert-relay/atlas", SecretString=json.dumps(["test-atlas-old-secret", SECRET]))["ARN"]
        failures += run_scenario(bootstrap, moto, {"ATLAS_WEBHOOK_SECRETS_ARN": arn})
        print("== the fallback queue: a webhook queued while SNS is unreachable, then an SQS event redrives it")
        failures += run_fallback_scenario(bootstrap, moto)
        print("== a secret that cannot be read stops the start, naming the variable")
        failures += check_bad_secret(bootstrap, moto.endpoint, arn.replace("alert-relay/atlas", "alert-relay/missing"))
    if failures:
        raise SystemExit(f"runtime smoke test failed: {failures}")
    print("runtime smoke test passed")


if __name__ == "__main__":
    main()
