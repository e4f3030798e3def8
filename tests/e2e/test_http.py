"""Requests a sender or an attacker could make over HTTP, signed by the project's own signer."""

import json
import subprocess

import pytest

import relaystack as stack
from conftest import received

ATLAS_BODY = stack.EVENTS / "payloads" / "atlas" / "atlas-disk-space-alert.json"


def signed_headers(signer, provider: str, secret: str, body_file, *extra: str) -> dict[str, str]:
    lines = subprocess.run(
        [str(signer), "sign", "--provider", provider, "--secret", secret, "--body", str(body_file), *extra],
        check=True, capture_output=True, text=True,
    ).stdout.splitlines()
    return dict(line.split(": ", 1) for line in lines)


@pytest.mark.parametrize("path", ["/webhooks/atlas/", "/prod/webhooks/atlas", "/prod/webhooks/atlas/"])
def test_stage_prefix_and_trailing_slash_are_accepted(function, moto, topic, signer, path):
    moto.drain(topic.all_alerts)
    headers = signed_headers(signer, "atlas", "test-atlas-secret-1", ATLAS_BODY, "--event", "alert.open")
    response = function.send("POST", path, headers, ATLAS_BODY.read_bytes())
    assert response.status_code == 200, response.text
    assert len(received(moto, topic)[0]) == 1


def test_forged_signature_is_refused(function, moto, topic):
    moto.drain(topic.all_alerts)
    headers = {"Content-Type": "application/json", "X-MMS-Signature": "Zm9yZ2VkIGZvcmdlZCBmb3JnZWQ="}
    response = function.send("POST", "/webhooks/atlas", headers, ATLAS_BODY.read_bytes())
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_signature"}
    assert received(moto, topic) == ([], [])


def test_body_signed_for_another_provider_is_refused(function, signer):
    """An App Services signature sent in Monte Carlo's header is not Monte Carlo's signature."""
    headers = signed_headers(signer, "monte-carlo", "test-app-services-secret-1", ATLAS_BODY)
    response = function.send("POST", "/webhooks/monte-carlo", headers, ATLAS_BODY.read_bytes())
    assert response.status_code == 401


def test_token_query_parameter_is_a_query_secret(function):
    body = b'{"message":"via token"}'
    response = function.send("POST", "/webhooks/app-services", {"Content-Type": "application/json"},
                             body, "token=test-app-services-query-secret")
    assert response.status_code == 200, response.text


def test_oversized_body_is_refused_before_authentication(function, moto, topic, signer, tmp_path):
    moto.drain(topic.all_alerts)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"id": "big", "padding": "x" * 300_000}))
    headers = signed_headers(signer, "atlas", "test-atlas-secret-1", big)
    response = function.send("POST", "/webhooks/atlas", headers, big.read_bytes())
    assert response.status_code == 413
    assert response.json() == {"error": "payload_too_large"}
    assert received(moto, topic) == ([], [])


def test_signer_prints_a_working_curl_command(function, signer):
    command = subprocess.run(
        [str(signer), "sign", "--provider", "monte-carlo", "--secret-env", "MC_SECRET", "--form", "documented",
         "--body", str(stack.EVENTS / "payloads" / "monte-carlo" / "monte-carlo-rule-breach.json"), "--output", "curl",
         "--url", f"{function.base_url}/webhooks/monte-carlo"],
        check=True, capture_output=True, text=True, env={"MC_SECRET": "test-monte-carlo-secret-2"},
    ).stdout
    output = subprocess.run(["sh", "-c", command], check=True, capture_output=True, text=True).stdout
    assert output.startswith("HTTP/1.1 200"), output
