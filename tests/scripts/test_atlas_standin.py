"""scripts/atlas_api_standin.py run as `make run` and the end-to-end tests run it (a process on a free
port, ready when its ready file names the port): the token endpoint checks the service account's
Basic credentials, the alert configuration resource checks the bearer token and the versioned
Accept, each fault answers as Atlas would, and the control endpoints record, switch and reset."""

import base64
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = ROOT / "scripts" / "atlas_api_standin.py"
CONFIGS = ROOT / "tests" / "data" / "atlas-alert-configs.json"
CLIENT_ID = "mdb_sa_id_standin"
CLIENT_SECRET = "mdb_sa_sk_standin-not-a-secret"
ACCEPT = "application/vnd.atlas.2023-01-01+json"
GROUP = "5d1b6f8e8c2e4e2d3c4a5b6d"
CRITICAL = "5d1b6f8e8c2e4e2d3c4a5b6e"
NO_OVERRIDE = "5d1b6f8e8c2e4e2d3c4a5b6f"
MISSING = "5d1b6f8e8c2e4e2d3c4a5b71"
CONFIG_PATH = f"/api/atlas/v2/groups/{GROUP}/alertConfigs/{CRITICAL}"
ERROR_KEYS = {"detail", "error", "errorCode", "parameters", "reason"}


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    ready = tmp_path_factory.mktemp("atlas") / "ready"
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--port", "0", "--configs", str(CONFIGS), "--client-id", CLIENT_ID,
         "--client-secret", CLIENT_SECRET, "--ready-file", str(ready)],
        stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while not ready.exists():
            assert process.poll() is None, "the stand-in exited"
            assert time.monotonic() < deadline, "the stand-in never wrote its ready file"
            time.sleep(0.02)
        port = int(ready.read_text())
        assert process.stdout.readline().strip() == str(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(autouse=True)
def reset(standin):
    call(standin, "POST", "/_standin/reset")
    yield


def call(base, method, path, body=None, headers=None, timeout=5):
    """(status, headers, body bytes) of one request; HTTP errors are answers too."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def basic(client_id=CLIENT_ID, secret=CLIENT_SECRET):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def token(base):
    status, _, body = call(base, "POST", "/api/oauth/token", b"grant_type=client_credentials",
                           {"Authorization": basic(), "Content-Type": "application/x-www-form-urlencoded",
                            "Accept": "application/json"})
    assert status == 200, body
    return json.loads(body)


def alert_config(base, config_id=CRITICAL, accept=ACCEPT, bearer=None, timeout=5):
    bearer = bearer or token(base)["access_token"]
    return call(base, "GET", f"/api/atlas/v2/groups/{GROUP}/alertConfigs/{config_id}",
                headers={"Authorization": f"Bearer {bearer}", "Accept": accept}, timeout=timeout)


def fault(base, name, **extra):
    status, _, body = call(base, "POST", "/_standin/fault", {"fault": name, **extra})
    assert status == 200, body


def test_the_token_endpoint_grants_a_bearer_token_for_an_hour(standin):
    granted = token(standin)
    assert granted["token_type"] == "Bearer"
    assert granted["expires_in"] == 3600
    assert granted["access_token"]
    assert token(standin)["access_token"] != granted["access_token"]


@pytest.mark.parametrize("headers,body,status", [
    ({"Authorization": basic(secret="wrong")}, b"grant_type=client_credentials", 401),
    ({}, b"grant_type=client_credentials", 401),
    ({"Authorization": basic()}, b"grant_type=password", 400),
])
def test_the_token_endpoint_refuses_wrong_credentials_and_grants(standin, headers, body, status):
    headers = {"Content-Type": "application/x-www-form-urlencoded", **headers}
    got, _, answer = call(standin, "POST", "/api/oauth/token", body, headers)
    assert got == status
    assert "error" in json.loads(answer)


def test_an_alert_configuration_is_the_fixture_entry(standin):
    status, headers, body = alert_config(standin)
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    config = json.loads(body)
    fixture = next(c for c in json.loads(CONFIGS.read_text()) if c["id"] == CRITICAL)
    assert config == fixture
    assert config["severityOverride"] == "CRITICAL"
    assert config["eventTypeName"] == "OUTSIDE_METRIC_THRESHOLD"
    assert config["metricThreshold"]["metricName"] == "DISK_PARTITION_SPACE_USED_DATA"
    status, _, body = alert_config(standin, NO_OVERRIDE)
    assert status == 200
    assert "severityOverride" not in json.loads(body)


def test_an_unknown_configuration_is_atlas_404(standin):
    status, _, body = alert_config(standin, MISSING)
    assert status == 404
    error = json.loads(body)
    assert set(error) == ERROR_KEYS
    assert error["error"] == 404
    assert error["errorCode"] == "ALERT_CONFIG_NOT_FOUND"


def test_the_resource_needs_a_token_it_issued_and_the_versioned_accept(standin):
    status, _, body = alert_config(standin, bearer="not-issued")
    assert status == 401
    assert set(json.loads(body)) == ERROR_KEYS
    status, _, _ = call(standin, "GET", CONFIG_PATH, headers={"Accept": ACCEPT})
    assert status == 401
    for accept in ("application/json", "application/vnd.atlas.2024-08-05+json", ""):
        status, _, body = alert_config(standin, accept=accept)
        assert status == 406, accept
        assert json.loads(body)["error"] == 406
    status, _, _ = alert_config(standin, accept=f"application/json, {ACCEPT}")
    assert status == 200


@pytest.mark.parametrize("name,status", [
    ("none", 200), ("401", 401), ("403", 403), ("404", 404), ("500", 500),
])
def test_a_status_fault_answers_its_status_in_atlas_shape(standin, name, status):
    fault(standin, name)
    got, _, body = alert_config(standin)
    assert got == status
    if status != 200:
        error = json.loads(body)
        assert set(error) == ERROR_KEYS
        assert error["error"] == status


def test_token_refused_fails_the_token_endpoint_only(standin):
    bearer = token(standin)["access_token"]
    fault(standin, "token_refused")
    status, _, body = call(standin, "POST", "/api/oauth/token", b"grant_type=client_credentials",
                           {"Authorization": basic(), "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 401
    assert json.loads(body)["error"] == "invalid_client"
    status, _, _ = alert_config(standin, bearer=bearer)
    assert status == 200


def test_429_says_retry_after_unless_told_not_to(standin):
    fault(standin, "429")
    status, headers, body = alert_config(standin)
    assert (status, headers["Retry-After"]) == (429, "30")
    assert json.loads(body)["errorCode"] == "RATE_LIMITED"
    fault(standin, "429", retry_after=2)
    assert alert_config(standin)[1]["Retry-After"] == "2"
    fault(standin, "429_no_retry_after")
    status, headers, _ = alert_config(standin)
    assert status == 429
    assert "Retry-After" not in headers


def test_malformed_is_a_200_that_is_not_json(standin):
    fault(standin, "malformed")
    status, _, body = alert_config(standin)
    assert status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


def test_hang_answers_nothing_until_the_fault_changes(standin):
    bearer = token(standin)["access_token"]
    fault(standin, "hang")
    with pytest.raises((socket.timeout, TimeoutError, urllib.error.URLError)):
        alert_config(standin, bearer=bearer, timeout=0.5)
    fault(standin, "none")
    assert alert_config(standin, bearer=bearer)[0] == 200


def test_an_unknown_fault_is_refused(standin):
    status, _, body = call(standin, "POST", "/_standin/fault", {"fault": "teapot"})
    assert status == 400
    assert "429_no_retry_after" in json.loads(body)["faults"]


def test_requests_are_recorded_without_control_calls_and_reset_clears_them(standin):
    alert_config(standin)
    alert_config(standin, MISSING)
    fault(standin, "500")
    status, _, body = call(standin, "GET", "/_standin/requests")
    assert status == 200
    seen = json.loads(body)
    tokens = [entry.pop("token") for entry in seen if "token" in entry]
    assert len(tokens) == 2 and all(len(t) >= 32 for t in tokens)
    assert seen == [
        {"method": "POST", "path": "/api/oauth/token", "status": 200},
        {"method": "GET", "path": CONFIG_PATH, "status": 200},
        {"method": "POST", "path": "/api/oauth/token", "status": 200},
        {"method": "GET", "path": f"/api/atlas/v2/groups/{GROUP}/alertConfigs/{MISSING}", "status": 404},
    ]
    call(standin, "POST", "/_standin/reset")
    assert json.loads(call(standin, "GET", "/_standin/requests")[2]) == []
    assert alert_config(standin)[0] == 200
