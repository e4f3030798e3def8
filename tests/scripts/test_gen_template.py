"""scripts/gen-template: template.yaml's per-provider parts come from the provider registry (what
`alert-relay-sign providers --json` prints), and only those parts."""

import copy
import importlib.machinery
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from samcli.yamlhelper import yaml_parse

from ci_skips import unavailable
from conftest import ROOT

_loader = importlib.machinery.SourceFileLoader("gen_template", str(ROOT / "scripts" / "gen-template"))
_spec = importlib.util.spec_from_loader("gen_template", _loader)
gen_template = importlib.util.module_from_spec(_spec)
_loader.exec_module(gen_template)

SCRIPT = ROOT / "scripts" / "gen-template"
DATA = ROOT / "tests" / "scripts" / "data"
# A copy of the signer's registry (test_the_fixture_is_the_signers_registry keeps it one).
REGISTRY_FILE = DATA / "providers.json"
REGISTRY = json.loads(REGISTRY_FILE.read_text())
STANDARD_WEBHOOKS = json.loads((DATA / "provider-standard-webhooks.json").read_text())
# Today's three, before and after standard-webhooks joins the registry.
BASE = [p for p in REGISTRY if p["slug"] != STANDARD_WEBHOOKS["slug"]]
TEMPLATE = (ROOT / "template.yaml").read_text()
SIGNER = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target").resolve() / "debug" / "alert-relay-sign"
SECTIONS = ("Parameters", "Conditions", "Rules", "Outputs")


def render(registry, template=TEMPLATE) -> str:
    return gen_template.render(template, gen_template.providers_from(registry))


def function(template: dict) -> dict:
    return template["Resources"]["AlertRelayFunction"]["Properties"]


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, **kwargs)


def test_template_yaml_is_what_the_registry_generates(tmp_path):
    out = tmp_path / "template.yaml"
    done = run("--providers-json", REGISTRY_FILE, out)
    assert done.returncode == 0, done.stderr
    assert out.read_text() == TEMPLATE


def test_the_fixture_is_the_signers_registry():
    if not SIGNER.exists():
        unavailable(f"no signer at {SIGNER} (make events-check builds it)")
    done = subprocess.run([str(SIGNER), "providers", "--json"], capture_output=True, text=True)
    assert done.returncode == 0, f"`alert-relay-sign providers --json` failed (a stale build?): {done.stderr}"
    assert json.loads(done.stdout) == REGISTRY, f"update {REGISTRY_FILE.relative_to(ROOT)} from the signer"


def test_generation_is_deterministic_idempotent_and_reversible():
    grown = render(BASE + [STANDARD_WEBHOOKS])
    assert render(BASE + [STANDARD_WEBHOOKS]) == grown
    assert render(BASE + [STANDARD_WEBHOOKS], grown) == grown
    assert render(BASE, grown) == render(BASE)


def test_deployed_stacks_keep_their_parameter_and_variable_names():
    """Existing stacks, samconfig.toml overrides and src/config.rs rely on these names."""
    template = yaml_parse(render(BASE))
    for stem, prefix in (("Atlas", "ATLAS"), ("AppServices", "APP_SERVICES"), ("MonteCarlo", "MONTE_CARLO")):
        for suffix in ("WebhookSecrets", "AllowUnsigned", "WebhookSecretsArn"):
            assert stem + suffix in template["Parameters"]
        for suffix in ("WEBHOOK_SECRETS", "ALLOW_UNSIGNED", "WEBHOOK_SECRETS_ARN"):
            assert f"{prefix}_{suffix}" in function(template)["Environment"]["Variables"]
        assert stem + "WebhookUrl" in template["Outputs"]
        assert template["Parameters"][stem + "WebhookSecrets"]["NoEcho"] is True
    # Query secrets only where the sender documents them (App Services): Atlas and Monte Carlo
    # sign every request, and a secret in the URL is in every log of it (docs/providers.md).
    for suffix in ("QuerySecrets", "QuerySecretsArn"):
        assert "AppServices" + suffix in template["Parameters"]
        assert "Atlas" + suffix not in template["Parameters"]
        assert "MonteCarlo" + suffix not in template["Parameters"]
    assert template["Parameters"]["AppServicesQuerySecrets"]["NoEcho"] is True
    for suffix in ("QUERY_SECRETS", "QUERY_SECRETS_ARN"):
        assert f"APP_SERVICES_{suffix}" in function(template)["Environment"]["Variables"]
        assert f"ATLAS_{suffix}" not in function(template)["Environment"]["Variables"]


def provider_parts(template: dict, stem: str, prefix: str) -> tuple[dict, dict]:
    """A copy of `template` without one provider's parts (and without the Description, which names
    every provider), and those parts."""
    rest, parts = copy.deepcopy(template), {}
    del rest["Description"]
    for section in SECTIONS:
        parts[section] = {k: rest[section].pop(k) for k in list(rest[section])
                          if k.startswith((stem, "Has" + stem))}
    variables = function(rest)["Environment"]["Variables"]
    parts["Variables"] = {k: variables.pop(k) for k in list(variables) if k.startswith(prefix + "_")}
    policies = function(rest)["Policies"]
    parts["Policies"] = [p for p in policies if stem in json.dumps(p)]
    function(rest)["Policies"] = [p for p in policies if stem not in json.dumps(p)]
    return rest, parts


def test_a_new_provider_adds_its_parameters_conditions_rules_variables_policies_and_url():
    before = yaml_parse(render(BASE))
    after = yaml_parse(render(BASE + [STANDARD_WEBHOOKS]))
    rest, parts = provider_parts(after, "StandardWebhooks", "STANDARD_WEBHOOKS")
    assert rest == provider_parts(before, "StandardWebhooks", "STANDARD_WEBHOOKS")[0]  # nothing else changed

    stem = "StandardWebhooks"
    assert set(parts["Parameters"]) == {stem + s for s in ("WebhookSecrets", "AllowUnsigned", "WebhookSecretsArn")}
    assert {k for k, v in parts["Parameters"].items() if v.get("NoEcho")} == {stem + "WebhookSecrets"}
    assert parts["Parameters"][stem + "AllowUnsigned"]["AllowedValues"] == ["false", "true"]
    assert set(parts["Conditions"]) == {f"Has{stem}WebhookSecrets", f"{stem}Unsigned", f"Has{stem}WebhookSecretsArn"}
    assert set(parts["Rules"]) == {f"{stem}WebhookSecretsOneSource"}
    assert parts["Variables"]["STANDARD_WEBHOOKS_WEBHOOK_SECRETS"] == {
        "Fn::If": [f"Has{stem}WebhookSecrets", {"Ref": f"{stem}WebhookSecrets"}, {"Ref": "AWS::NoValue"}]}
    assert parts["Variables"]["STANDARD_WEBHOOKS_ALLOW_UNSIGNED"] == {
        "Fn::If": [f"{stem}Unsigned", "true", {"Ref": "AWS::NoValue"}]}
    assert set(parts["Variables"]) == {"STANDARD_WEBHOOKS_" + s for s in (
        "WEBHOOK_SECRETS", "ALLOW_UNSIGNED", "WEBHOOK_SECRETS_ARN")}
    assert parts["Policies"] == [
        {"Fn::If": [f"Has{stem}{kind}SecretsArn",
                    {"AWSSecretsManagerGetSecretValuePolicy": {"SecretArn": {"Ref": f"{stem}{kind}SecretsArn"}}},
                    {"Ref": "AWS::NoValue"}]}
        for kind in ("Webhook",)]
    assert set(parts["Outputs"]) == {stem + "WebhookUrl"}
    assert parts["Outputs"][stem + "WebhookUrl"]["Value"]["Fn::Sub"].endswith("/webhooks/standard-webhooks")
    assert "Standard Webhooks" in after["Description"] and "Standard Webhooks" not in before["Description"]


def test_descriptions_name_the_provider_its_header_scheme_and_secret_form():
    parameters = yaml_parse(render(BASE + [STANDARD_WEBHOOKS]))["Parameters"]
    secrets = parameters["StandardWebhooksWebhookSecrets"]["Description"]
    for part in ("Standard Webhooks", "webhook-signature", STANDARD_WEBHOOKS["scheme"], "in the whsec_… base64 form"):
        assert part in secrets
    assert "X-MMS-Signature (base64 of HMAC-SHA1)" in parameters["AtlasWebhookSecrets"]["Description"]
    assert " form" not in parameters["AtlasWebhookSecrets"]["Description"]
    assert "webhook-signature" in parameters["StandardWebhooksAllowUnsigned"]["Description"]


@pytest.mark.parametrize("text", ["plain, words (x) = y.", "a: b", "a #b", "ends:", "true", "No", "12",
                                  '"quoted"', "- dash", "[list]", "{map}", "*alias", "!tag", "tab\there", "…"])
def test_a_description_reads_back_as_written(text):
    assert yaml_parse(f"key: {gen_template.scalar(text)}\n")["key"] == text


def test_the_result_passes_cfn_lint(tmp_path):
    out = tmp_path / "template.yaml"
    out.write_text(render(BASE + [STANDARD_WEBHOOKS]))
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "cfn-lint"), str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_hand_written_lines_are_kept_and_hand_edits_in_a_region_undone():
    edited = TEMPLATE.replace("      MemorySize: 128\n", "      MemorySize: 256\n")
    edited = edited.replace('  AtlasUnsigned: !Equals [!Ref AtlasAllowUnsigned, "true"]\n', "")
    assert edited.count("MemorySize: 256") == 1 and "AtlasUnsigned:" not in edited
    assert render(REGISTRY, edited) == TEMPLATE.replace("      MemorySize: 128\n", "      MemorySize: 256\n")


@pytest.mark.parametrize("breakage, complaint", [
    (lambda t: t.replace("  # END generated by scripts/gen-template: per-provider rules\n", ""), "per-provider rules"),
    (lambda t: t.replace("  # BEGIN generated by scripts/gen-template (make template): per-provider rules\n", ""),
     "END marker with no BEGIN"),
    (lambda t: t.replace(": per-provider rules\n", ": per-provider rulez\n"), "unknown region 'per-provider rulez'"),
    (lambda t: t + "# BEGIN generated by scripts/gen-template (make template): per-provider rules\n"
                   "# END generated by scripts/gen-template: per-provider rules\n", "there twice"),
])
def test_broken_markers_are_refused(breakage, complaint):
    with pytest.raises(gen_template.SpecError, match=complaint):
        render(REGISTRY, breakage(TEMPLATE))


@pytest.mark.parametrize("registry, complaint", [
    ([], "non-empty JSON array"),
    (BASE + [BASE[0]], "slug atlas more than once"),
    ([{**BASE[0], "slug": "Atlas Two"}], "slug 'Atlas Two'"),
    ([{k: v for k, v in BASE[0].items() if k != "env_prefix"}], "'env_prefix' missing"),
    ([BASE[0], {**BASE[1], "env_prefix": "ATLAS"}], "env_prefix ATLAS more than once"),
    ([{**BASE[0], "scheme": "two\nlines"}], "scheme must be one non-empty line"),
])
def test_a_registry_it_cannot_generate_from_is_refused(registry, complaint):
    with pytest.raises(gen_template.SpecError, match=complaint):
        gen_template.providers_from(registry)


def test_the_registry_comes_from_the_signers_providers_subcommand(tmp_path):
    signer = tmp_path / "alert-relay-sign"
    signer.write_text(f'#!/bin/sh\n[ "$*" = "providers --json" ] || exit 2\ncat {REGISTRY_FILE}\n')
    signer.chmod(0o755)
    out = tmp_path / "template.yaml"
    done = run(signer, out)
    assert done.returncode == 0, done.stderr
    assert out.read_text() == TEMPLATE


def test_a_bad_registry_fails_with_a_message_and_writes_nothing(tmp_path):
    registry = tmp_path / "providers.json"
    registry.write_text(json.dumps(BASE + [BASE[0]]))
    out = tmp_path / "template.yaml"
    done = run("--providers-json", registry, out)
    assert done.returncode != 0 and "gen-template: the provider registry has slug atlas more than once" in done.stderr
    assert not out.exists()
