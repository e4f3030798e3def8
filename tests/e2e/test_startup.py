"""The binary refuses a bad configuration at start, naming the variable and never the secret."""

import subprocess

import pytest

import relaystack as stack

BINARY = stack.TARGET_DIR / "debug" / stack.FUNCTION
SECRET = "do-not-print-this-secret"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"ATLAS_WEBHOOK_SECRETS": SECRET}, "ALERT_TOPIC_ARN"),
        ({"ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts", "ATLAS_WEBHOOK_SECRETS": SECRET,
          "MAX_BODY_BYTES": "lots"}, "MAX_BODY_BYTES"),
    ],
)
def test_bad_configuration_stops_the_process(env, variable):
    if not BINARY.exists():
        pytest.fail(f"{BINARY} is missing: run `make e2e` (it builds it)")
    done = subprocess.run(
        [str(BINARY)], env={**stack.FAKE_AWS, **env}, capture_output=True, text=True, timeout=30,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert variable in output
    assert SECRET not in output


# --- Secrets Manager at cold start (issue 17): every `_ARN` secret at once, the whole fetch bounded --

import time  # noqa: E402

import boto3  # noqa: E402
from faultproxy import FaultProxy  # noqa: E402

# Six secrets read at start, each from Secrets Manager (moto, behind a fault-injecting proxy).
SIX = {
    "ATLAS_WEBHOOK_SECRETS_ARN": "test-atlas-secret-1",
    "ATLAS_QUERY_SECRETS_ARN": "test-atlas-query-secret",
    "APP_SERVICES_WEBHOOK_SECRETS_ARN": "test-app-services-secret-1",
    "APP_SERVICES_QUERY_SECRETS_ARN": "test-app-services-query-secret",
    "MONTE_CARLO_WEBHOOK_SECRETS_ARN": "test-monte-carlo-secret-1",
    "ATLAS_API_CLIENT_SECRET_ARN": stack.ATLAS_API_CLIENT_SECRET,
}
# Lambda's init phase is 10 s; the function bounds the whole fetch at 6 s (src/secrets.rs).
INIT_LIMIT = 10.0


@pytest.fixture(scope="module")
def secrets_proxy(moto):
    client = boto3.session.Session(
        aws_access_key_id=stack.FAKE_AWS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=stack.FAKE_AWS["AWS_SECRET_ACCESS_KEY"], region_name=stack.REGION,
    ).client("secretsmanager", endpoint_url=moto.endpoint)
    arns = {name: client.create_secret(Name=f"startup-{name.lower()}", SecretString=value)["ARN"]
            for name, value in SIX.items()}
    proxy = FaultProxy(moto.endpoint, "secretsmanager")
    try:
        yield proxy, arns
    finally:
        proxy.close()


def start_with_secrets(proxy, arns, fault: str, seconds: float) -> tuple[float, str]:
    """Runs the binary, every GetSecretValue meeting `fault` for `seconds`, until it stops: past its
    configuration (secrets read), it stops for want of a Lambda Runtime API. Its run time and output."""
    proxy.reset()
    proxy.fail(fault, actions={"GetSecretValue"}, hang_seconds=seconds)
    try:
        return _run_with_secrets(proxy, arns)
    finally:
        proxy.heal()


def _run_with_secrets(proxy, arns) -> tuple[float, str]:
    if not BINARY.exists():
        pytest.fail(f"{BINARY} is missing: run `make e2e` (it builds it)")
    env = {**stack.FAKE_AWS, "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts",
           "AWS_ENDPOINT_URL_SECRETS_MANAGER": proxy.endpoint, "ATLAS_API_CLIENT_ID": stack.ATLAS_API_CLIENT_ID,
           **arns}
    started = time.monotonic()
    done = subprocess.run([str(BINARY)], env=env, capture_output=True, text=True, timeout=60)
    return time.monotonic() - started, done.stdout + done.stderr


def test_six_slow_secrets_are_read_at_once(secrets_proxy):
    proxy, arns = secrets_proxy
    seconds, output = start_with_secrets(proxy, arns, "slow", 1.8)
    # Configured (every secret read): it got as far as looking for the Runtime API.
    assert "AWS_LAMBDA_FUNCTION_NAME" in output, output
    assert sum(r.outcome.startswith("slow") for r in proxy.requests) == 6
    # At once, counted: the proxy held all six requests together. One after another, six 1.8 s
    # answers would take 10.8 s, past Lambda's init limit.
    assert proxy.most_in_flight == 6, f"{proxy.most_in_flight} at once ({seconds:.1f} s): read one after another"
    for value in SIX.values():
        assert value not in output


def test_a_hanging_secrets_manager_stops_the_start_inside_the_init_limit(secrets_proxy):
    proxy, arns = secrets_proxy
    seconds, output = start_with_secrets(proxy, arns, "hang", 30)
    assert "AWS_LAMBDA_FUNCTION_NAME" not in output
    # Each call stops at the SDK's 4.5 s operation timeout, and the whole fetch at 6 s: either way
    # the start fails naming a variable, not the secret.
    assert "configuration error: ATLAS_WEBHOOK_SECRETS_ARN is invalid" in output, output
    assert seconds < INIT_LIMIT, f"{seconds:.1f} s"
    for value in SIX.values():
        assert value not in output
