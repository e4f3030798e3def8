"""`alert-relay-sign send` against the function: it answers as it answers any sender, and send's exit
status says whether the alert went through."""

import json
import os
import subprocess

import relaystack as stack
from conftest import received

ATLAS_BODY = stack.EVENTS / "payloads" / "atlas" / "atlas-disk-space-alert.json"


def send(signer, function, secret: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(signer), "send", "--provider", "atlas", "--secret-env", "ATLAS_SECRET", "--event", "alert.open",
         "--body", str(ATLAS_BODY), "--url", f"{function.base_url}/webhooks/atlas"],
        capture_output=True, text=True, env={**os.environ, "ATLAS_SECRET": secret}, timeout=60,
    )


def test_send_signed_request_is_published(function, moto, topic, signer):
    moto.drain(topic.all_alerts)
    result = send(signer, function, "test-atlas-secret-2")
    assert result.returncode == 0, result
    status, body = result.stdout.split("\n", 1)
    assert status == "HTTP 200 OK"
    assert json.loads(body)["status"] == "published"
    delivered, _ = received(moto, topic)
    assert len(delivered) == 1
    assert json.loads(delivered[0]["Body"])["data"]["provider"] == "atlas"


def test_send_forged_request_is_refused_and_exits_1(function, moto, topic, signer):
    moto.drain(topic.all_alerts)
    result = send(signer, function, "test-wrong-secret")
    assert result.returncode == 1, result
    status, body = result.stdout.split("\n", 1)
    assert status == "HTTP 401 Unauthorized"
    assert json.loads(body) == {"error": "invalid_signature"}
    assert received(moto, topic) == ([], [])
