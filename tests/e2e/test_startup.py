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
