"""No credential in any log line at any level (issue 17): the function under `cargo lambda watch` at
RUST_LOG=trace, debug and info, holding every kind of credential (webhook secrets, query secrets, a
Secrets Manager secret read at start from moto, the Atlas Admin API client secret, itself from
Secrets Manager, and the access token it is given), receives every sample event of events/ (each
provider's signatures, the query secret) and an Atlas alert it enriches through the stand-in Atlas
Admin API. Nothing of any credential may appear in what it wrote."""

import base64
import json
import re
import urllib.parse

import pytest

import relaystack as stack
from conftest import atlas_alert

SIGNATURE_HEADERS = {"x-mms-signature", "x-hook-signature", "x-mcd-signature", "webhook-signature"}


def credentials_of_events() -> set[str]:
    """Every signature header value and query-string credential the sample events carry."""
    found = set()
    for path in stack.EVENTS.glob("*.json"):
        event = json.loads(path.read_text())
        for name, value in (event.get("headers") or {}).items():
            if name.lower() in SIGNATURE_HEADERS and value:
                found.add(value)
                # each space-separated entry of a rotation, and each entry's MAC
                for entry in value.split():
                    found.add(entry.split(",", 1)[-1])
        query = event.get("rawQueryString") or "&".join(
            f"{k}={v}" for k, v in (event.get("queryStringParameters") or {}).items())
        for key, value in urllib.parse.parse_qsl(query):
            if key in ("secret", "token"):
                found.add(value)
    return {value for value in found if len(value) >= 8}


def configured_secrets() -> set[str]:
    """The webhook and query secrets of events/test.env, and the keys inside `whsec_` secrets."""
    found = set()
    for name, value in stack.env_file_values(stack.EVENTS / "test.env").items():
        for secret in value.split(","):
            found.add(secret)
            if secret.startswith("whsec_"):
                found.add(secret.removeprefix("whsec_"))
                found.add(base64.b64decode(secret.removeprefix("whsec_")).decode())
    return found


@pytest.fixture(scope="module")
def secrets_manager(moto):
    return stack.boto3.session.Session(
        aws_access_key_id=stack.FAKE_AWS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=stack.FAKE_AWS["AWS_SECRET_ACCESS_KEY"],
        region_name=stack.REGION,
    ).client("secretsmanager", endpoint_url=moto.endpoint)


@pytest.fixture(scope="module")
def atlas_api(log_dir):
    api = stack.AtlasApi(log_dir, name="atlas-api-log-secrets")
    try:
        yield api
    finally:
        api.stop()


@pytest.mark.parametrize("level", ["trace", "debug", "info"])
def test_no_credential_reaches_the_log_at_any_level(level, log_dir, moto, topic, secrets_manager, atlas_api,
                                                   signer, tmp_path):
    # Monte Carlo's signing secrets and the Atlas API client secret come from Secrets Manager.
    mc_secrets = stack.env_file_values(stack.EVENTS / "test.env")["MONTE_CARLO_WEBHOOK_SECRETS"]
    mc_arn = secrets_manager.create_secret(Name=f"log-secrets-mc-{level}", SecretString=mc_secrets)["ARN"]
    api_arn = secrets_manager.create_secret(Name=f"log-secrets-atlas-api-{level}",
                                            SecretString=stack.ATLAS_API_CLIENT_SECRET)["ARN"]
    secrets_file = log_dir / f"log-secrets-{level}.env"
    secrets_file.write_text("".join(
        line + "\n" for line in stack.env_file_lines(stack.EVENTS / "test.env")
        if not line.startswith("MONTE_CARLO_WEBHOOK_SECRETS=")))
    env = {
        "RUST_LOG": level,
        "MONTE_CARLO_WEBHOOK_SECRETS_ARN": mc_arn,
        "ATLAS_API_CLIENT_ID": stack.ATLAS_API_CLIENT_ID,
        "ATLAS_API_CLIENT_SECRET_ARN": api_arn,
        "ATLAS_API_BASE_URL": atlas_api.base_url,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto.endpoint,
    }
    atlas_api.reset()
    function = stack.Function(log_dir, topic.arn, moto.endpoint, env=env, secrets_file=secrets_file,
                              name=f"function-log-{level}")
    try:
        statuses = {}
        for row in stack.expected_events():
            statuses[row["file"]] = stack.response_status(function.invoke(stack.EVENTS / row["file"]))
            function.send_event(stack.EVENTS / row["file"])
        # Every published sample was published: the credentials were in use, not refused.
        assert {f: s for f, s in statuses.items() if s != 200} == {
            row["file"]: row["status"] for row in stack.expected_events() if row["status"] != 200}
        enriched = function.invoke(atlas_alert(signer, tmp_path).event)
        assert stack.response_status(enriched) == 200
    finally:
        function.stop()
    # The enrichment really happened, so its client secret and token were really used.
    assert [r["path"] for r in atlas_api.seen()][:1] == ["/api/oauth/token"], atlas_api.seen()
    tokens = {r["token"] for r in atlas_api.seen() if r.get("token")}

    log = function.service.log_path.read_text(errors="replace")
    assert '"message":"request"' in log
    # The level took effect: the function's own debug lines (what arrived, by header name) are
    # there at debug and trace, and only there.
    assert (re.search(r'"level":"DEBUG".*"message":"received"|"message":"received".*"level":"DEBUG"', log)
            is not None) == (level != "info")
    forbidden = (configured_secrets() | credentials_of_events() | tokens | {
        stack.ATLAS_API_CLIENT_SECRET,
        base64.b64encode(f"{stack.ATLAS_API_CLIENT_ID}:{stack.ATLAS_API_CLIENT_SECRET}".encode()).decode(),
    })
    leaked = sorted(secret for secret in forbidden if secret in log)
    assert not leaked, f"RUST_LOG={level}: credentials in the log: {leaked}"
