"""scripts/runtime_smoke.py starts the bootstrap with the environment Lambda would give it, whatever
this shell sets."""

import json
from types import SimpleNamespace

import runtime_smoke

from conftest import ROOT

REGISTRY = json.loads((ROOT / "tests" / "scripts" / "data" / "providers.json").read_text())


def test_the_function_gets_none_of_this_shells_configuration(monkeypatch):
    for provider in REGISTRY:
        monkeypatch.setenv(provider["env_prefix"] + "_WEBHOOK_SECRETS", "from-the-shell")
        monkeypatch.setenv(provider["env_prefix"] + "_ALLOW_UNSIGNED", "from-the-shell")
        for credential in provider.get("secret_variables") or []:  # ALERTMANAGER_BEARER_TOKENS, …
            monkeypatch.setenv(credential["variable"], "from-the-shell")
            monkeypatch.setenv(credential["variable"] + "_ARN", "from-the-shell")
    for name in ("ATLAS_API_CLIENT_ID", "ALERT_ROUTES", "FALLBACK_QUEUE_URL", "AWS_PROFILE"):
        monkeypatch.setenv(name, "from-the-shell")
    monkeypatch.setenv("UNRELATED", "kept")
    env = runtime_smoke.function_env(SimpleNamespace(address="127.0.0.1:1"), "http://127.0.0.1:2", "arn:topic",
                                     {"ATLAS_WEBHOOK_SECRETS": "the-smoke's"})
    assert "from-the-shell" not in env.values()
    assert env["UNRELATED"] == "kept" and env["ATLAS_WEBHOOK_SECRETS"] == "the-smoke's"
