"""What a forged body costs in memory (issue 21): the function process, started as Lambda starts it
(scripts/runtime_api.py), at the template's largest MaxBodyBytes (6291456), is handed one forged
5.7 MB Monte Carlo request whose body is the shape that costs a parsed `Value` the most per byte,
`{"a":[0,0,…]}`. It answers 401, and its peak resident set (VmHWM, /proc/<pid>/status) stays under
64 MiB: the documented form is only tried for bodies up to 256 KiB, and built without a `Value`.
Before, one such request peaked at 327 MB, past the function's 128 MB."""

import hashlib
import hmac
import json
import subprocess
import sys
import tempfile

import pytest

import relaystack as stack

sys.path.insert(0, str(stack.ROOT / "scripts"))
from runtime_api import RuntimeApi  # noqa: E402

BINARY = stack.TARGET_DIR / "debug" / stack.FUNCTION
MAX_BODY_BYTES = 6291456
LIMIT_KIB = 64 * 1024


def forged_event(size: int) -> bytes:
    """An HTTP API event for `POST /webhooks/monte-carlo` with a body of about `size` bytes, signed
    with a key the function does not know."""
    count = (size - len('{"a":[]}')) // 2
    body = '{"a":[' + ",".join(["0"] * count) + "]}"
    signature = hmac.new(b"forged-not-the-configured-secret", body.encode(), hashlib.sha512).hexdigest()
    event = {
        "version": "2.0", "routeKey": "POST /webhooks/{provider}", "rawPath": "/webhooks/monte-carlo",
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "x-mcd-signature": signature},
        "requestContext": {
            "accountId": "123456789012", "apiId": "abcdef1234", "domainName": "example.com",
            "http": {"method": "POST", "path": "/webhooks/monte-carlo", "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.10", "userAgent": "forger"},
            "requestId": "forged", "routeKey": "POST /webhooks/{provider}", "stage": "$default",
            "time": "15/Jan/2024:10:30:00 +0000", "timeEpoch": 1705314600000,
        },
        "body": body, "isBase64Encoded": False,
    }
    return json.dumps(event).encode()


def peak_rss_kib(pid: int) -> int:
    for line in open(f"/proc/{pid}/status").read().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def test_a_forged_57_mb_monte_carlo_body_peaks_under_64_mib():
    if not BINARY.exists():
        pytest.fail(f"{BINARY} is missing: run `make e2e` (it builds it)")
    event = forged_event(5_700_000)
    assert 5_700_000 <= len(event) < MAX_BODY_BYTES
    env = {
        **stack.FAKE_AWS,
        "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts",
        "MONTE_CARLO_WEBHOOK_SECRETS": "mc-test-secret-not-real",
        "MAX_BODY_BYTES": str(MAX_BODY_BYTES),
        # Nothing is published: an endpoint that refuses, so no request can leave the machine.
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_LAMBDA_FUNCTION_NAME": "alert-relay", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_LOG_STREAM_NAME": "forged",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/alert-relay",
    }
    with RuntimeApi() as api, tempfile.TemporaryFile() as log:
        run = api.new_run()
        proc = subprocess.Popen([str(BINARY)], env={**env, "AWS_LAMBDA_RUNTIME_API": api.address},
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            if not run.polled.wait(60):
                log.seek(0)
                pytest.fail(f"no /next poll within 60 s: {log.read()[-2000:]!r}")
            before = peak_rss_kib(proc.pid)
            run.invoke("forged-0", event)
            kind, answered, body, _ = run.result(timeout=60)
            # The function is blocked in its next /next poll: nothing runs while this is read.
            peak = peak_rss_kib(proc.pid)
        finally:
            proc.kill()
            proc.wait()
            run.end()
    response = json.loads(body)
    assert (kind, answered, response["statusCode"]) == ("response", "forged-0", 401), body[:300]
    print(f"peak RSS: {peak} KiB after the forged request ({before} KiB before it)")
    assert peak < LIMIT_KIB, f"peak RSS {peak} KiB"
