"""The providers' samples by convention (scripts/samples.py) and scripts/gen-events over them: each
provider of the registry has events/payloads/<slug>/ with its cases.json, found without a list of
providers anywhere; the registry's `secret_variables`, when it has them, configure events/test.env."""

import importlib.machinery
import importlib.util
import json
import os
import subprocess
import sys

import pytest

import samples
from conftest import ROOT

DATA = ROOT / "tests" / "scripts" / "data"
REGISTRY = json.loads((DATA / "providers.json").read_text())
GEN_EVENTS = ROOT / "scripts" / "gen-events"

_loader = importlib.machinery.SourceFileLoader("gen_events", str(GEN_EVENTS))
_spec = importlib.util.spec_from_loader("gen_events", _loader)
gen_events = importlib.util.module_from_spec(_spec)
_loader.exec_module(gen_events)


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)


def test_every_provider_has_its_samples_in_registry_order():
    found = samples.load(REGISTRY)
    assert [s.slug for s in found] == [p["slug"] for p in REGISTRY] + [None]
    for sample in found[:-1]:
        assert sample.directory == ROOT / "events" / "payloads" / sample.slug
        assert json.loads(sample.seed_body()), sample.slug
        assert sample.cases, f"{sample.slug} has no sample event"
        assert all(c["file"].startswith(sample.slug + "-") for c in sample.cases), sample.slug


def test_a_provider_without_a_directory_is_an_error_naming_it():
    opsgenie = dict(REGISTRY[0], slug="opsgenie", env_prefix="OPSGENIE")
    with pytest.raises(samples.SamplesError, match=r"opsgenie has no samples directory events/payloads/opsgenie/"):
        samples.load(REGISTRY + [opsgenie])


def test_a_provider_directory_must_describe_every_body_and_name_a_seed(tmp_path):
    provider = {"slug": "opsgenie"}
    write(tmp_path / "cases.json", {"payloads": {}, "cases": []})
    write(tmp_path / "opsgenie" / "opsgenie-group.json", "{}")
    write(tmp_path / "opsgenie" / "cases.json", {"seed": "opsgenie-group.json", "payloads": {}, "cases": []})
    with pytest.raises(samples.SamplesError, match=r"describe \['opsgenie-group.json'\]"):
        samples.load_one(provider, tmp_path)
    write(tmp_path / "opsgenie" / "cases.json",
          {"seed": "opsgenie-other.json", "payloads": {"opsgenie-group.json": "a group"}, "cases": []})
    with pytest.raises(samples.SamplesError, match='"seed" must name one of its "payloads"'):
        samples.load_one(provider, tmp_path)
    write(tmp_path / "opsgenie" / "cases.json",
          {"seed": "opsgenie-group.json", "payloads": {"opsgenie-group.json": "a group"}, "cases": [],
           "notes": "?"})
    with pytest.raises(samples.SamplesError, match=r"unknown keys \['notes'\]"):
        samples.load_one(provider, tmp_path)
    write(tmp_path / "opsgenie" / "cases.json",
          {"seed": "opsgenie-group.json", "payloads": {"opsgenie-group.json": "a group"}, "cases": []})
    loaded = samples.load([provider], tmp_path)
    assert loaded[0].seed_body() == b"{}" and loaded[1].slug is None
    # A directory of no provider in the registry is a leftover, not silently skipped.
    (tmp_path / "pagerduty").mkdir()
    with pytest.raises(samples.SamplesError, match=r"no provider in the registry: \['pagerduty'\]"):
        samples.load([provider], tmp_path)


def test_a_body_is_the_providers_own_else_a_shared_one():
    app_services = samples.load_one(next(p for p in REGISTRY if p["slug"] == "app-services"))
    assert app_services.body("app-services-message.json").parent.name == "app-services"
    assert app_services.body("not-an-object.json") == ROOT / "events" / "payloads" / "not-an-object.json"
    with pytest.raises(samples.SamplesError, match="atlas-disk-space-alert.json is in neither"):
        app_services.body("atlas-disk-space-alert.json")


def test_credentials_of_each_kind():
    atlas = next(p for p in REGISTRY if p["slug"] == "atlas")
    assert samples.secret_variables(atlas) == [("ATLAS_WEBHOOK_SECRETS", "signing")]
    sw = next(p for p in REGISTRY if p["slug"] == "standard-webhooks")
    assert gen_events.credential(sw, "signing", "k").startswith("whsec_")
    assert gen_events.credential(sw, "bearer", "k") == "k"
    assert gen_events.credential(sw, "basic", "k") == "test-standard-webhooks-user:k"


FAKE_SIGNER = """\
#!{python}
# A stand-in for alert-relay-sign: the registry of {registry}, and for `sign` its arguments and
# the secret it was given, as JSON.
import json, os, sys
if sys.argv[1:] == ["providers", "--json"]:
    print(open({registry!r}).read())
else:
    print(json.dumps({{"argv": sys.argv[1:], "secret": os.environ.get("ALERT_RELAY_SIGN_SECRET")}}))
"""


def gen_events_with(tmp_path, registry):
    (tmp_path / "registry.json").write_text(json.dumps(registry))
    signer = tmp_path / "signer"
    signer.write_text(FAKE_SIGNER.format(python=sys.executable, registry=str(tmp_path / "registry.json")))
    signer.chmod(0o755)
    out = tmp_path / "events"
    done = subprocess.run([sys.executable, str(GEN_EVENTS), str(signer), str(out)], capture_output=True,
                          text=True, env={**os.environ, "ALERT_RELAY_SIGN_SECRET": "from-the-caller"})
    return done, out


def test_without_secret_variables_test_env_is_as_checked_in(tmp_path):
    done, out = gen_events_with(tmp_path, REGISTRY)
    assert done.returncode == 0, done.stderr
    assert (out / "test.env").read_text() == (ROOT / "events" / "test.env").read_text()
    assert (out / "README.md").read_text() == (ROOT / "events" / "README.md").read_text()
    valid = json.loads((out / "atlas-valid.json").read_text())
    assert valid["secret"] == "test-atlas-secret-1"
    assert valid["argv"][valid["argv"].index("--body") + 1].endswith("events/payloads/atlas/atlas-disk-space-alert.json")
    assert json.loads((out / "atlas-missing-signature.json").read_text())["secret"] is None


def test_secret_variables_configure_test_env_instead(tmp_path):
    registry = json.loads(json.dumps(REGISTRY))
    atlas = next(p for p in registry if p["slug"] == "atlas")
    atlas["secret_variables"] = [{"variable": "ATLAS_BEARER_TOKENS", "kind": "bearer"},
                                 {"variable": "ATLAS_BASIC_AUTH", "kind": "basic"}]
    done, out = gen_events_with(tmp_path, registry)
    assert done.returncode == 0, done.stderr
    env = (out / "test.env").read_text()
    assert "ATLAS_WEBHOOK_SECRETS" not in env
    assert "ATLAS_BEARER_TOKENS=test-atlas-secret-1,test-atlas-secret-2\n" in env
    assert "ATLAS_BASIC_AUTH=test-atlas-user:test-atlas-secret-1,test-atlas-user:test-atlas-secret-2\n" in env
    assert "APP_SERVICES_WEBHOOK_SECRETS=test-app-services-secret-1,test-app-services-secret-2\n" in env
    # A case is signed with the first variable's credential unless it names another.
    assert json.loads((out / "atlas-valid.json").read_text())["secret"] == "test-atlas-secret-1"
    assert json.loads((out / "atlas-rotated-secret.json").read_text())["secret"] == "test-atlas-secret-2"
    assert json.loads((out / "atlas-bad-signature.json").read_text())["secret"] == "test-wrong-secret"
    readme = (out / "README.md").read_text()
    assert "| `atlas` | `ATLAS_BASIC_AUTH` | `test-atlas-user:test-atlas-secret-1," in readme


def test_a_registry_provider_without_samples_stops_gen_events(tmp_path):
    opsgenie = dict(REGISTRY[0], slug="opsgenie", env_prefix="OPSGENIE")
    done, out = gen_events_with(tmp_path, REGISTRY + [opsgenie])
    assert done.returncode != 0
    assert "opsgenie has no samples directory events/payloads/opsgenie/" in done.stderr
    assert not out.exists() or not list(out.glob("*.json"))


def test_a_case_with_an_unknown_field_is_refused():
    sample = samples.Samples("atlas", ROOT / "events" / "payloads" / "atlas", ROOT / "events" / "payloads",
                             seed="atlas-disk-space-alert.json")
    with pytest.raises(SystemExit, match=r"unknown fields \['secrt'\]"):
        gen_events.case(sample, {"file": "x.json", "what": "w", "status": 200, "secrt": 1}, sample)
