"""scripts/gen-docs: every provider list of README.md and docs/ sits between generated markers and
is what the registry renders, so a new provider appears in each without a hand edit."""

import importlib.machinery
import importlib.util
import json
import re
import subprocess
import sys

import pytest

from conftest import ROOT

_loader = importlib.machinery.SourceFileLoader("gen_docs", str(ROOT / "scripts" / "gen-docs"))
_spec = importlib.util.spec_from_loader("gen_docs", _loader)
gen_docs = importlib.util.module_from_spec(_spec)
_loader.exec_module(gen_docs)

REGISTRY_FILE = ROOT / "tests" / "scripts" / "data" / "providers.json"
# The registry's first four providers: the lists below end with Standard Webhooks.
REGISTRY = json.loads(REGISTRY_FILE.read_text())[:4]
# A provider no registry has, with a credential that is not a signature.
NEW_PROVIDER = dict(REGISTRY[0], slug="opsgenie", name="Opsgenie Relay",
                    env_prefix="OPSGENIE", signature_header="Authorization", signed_headers=[],
                    scheme="Bearer <token> or Basic <user:password>", query_secrets=False,
                    secret_variables=[{"variable": "OPSGENIE_BEARER_TOKENS", "kind": "bearer"},
                                      {"variable": "OPSGENIE_BASIC_AUTH", "kind": "basic"}])
PAGE = ROOT / "docs" / "example.md"
KINDS = ["slugs", "prefixes", "names", "links", "variables", "parameters AllowUnsigned", "parameters Secrets"]


def span(kind: str, inside: str = "") -> str:
    return f"<!-- generated: providers {kind} -->{inside}<!-- end generated -->"


def test_the_docs_are_what_the_registry_generates():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen-docs"), "--check", "--providers-json",
                           str(REGISTRY_FILE)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr + done.stdout


def test_the_pages_that_list_providers_have_their_markers():
    """The lists a new provider must appear in: each is generated, none typed."""
    for page, kinds in {"README.md": ["names", "links"], "docs/providers.md": ["slugs", "prefixes", "table"],
                        "docs/configuration.md": ["prefixes"], "docs/senders.md": ["links"],
                        "docs/deploying.md": ["parameters Secrets", "parameters AllowUnsigned",
                                              "parameters WebhookUrl"],
                        "docs/operations.md": ["slugs"], "docs/routes.md": ["slugs"],
                        "docs/subscribing.md": ["slugs"]}.items():
        text = (ROOT / page).read_text()
        for kind in kinds:
            assert f"<!-- generated: providers {kind} -->" in text, f"{page}: {kind}"


def test_a_new_provider_appears_in_every_kind_of_list():
    text = "\n".join(span(kind) for kind in KINDS) + "\n" + span("table", "\n") + "\n"
    before = gen_docs.regenerate(text, REGISTRY, PAGE)
    after = gen_docs.regenerate(before, REGISTRY + [NEW_PROVIDER], PAGE)
    assert gen_docs.regenerate(after, REGISTRY + [NEW_PROVIDER], PAGE) == after
    assert gen_docs.regenerate(after, REGISTRY, PAGE) == before
    lines = after.splitlines()
    assert lines[0].endswith("`monte-carlo`, `standard-webhooks` or `opsgenie`" + gen_docs.END)
    assert "`STANDARD_WEBHOOKS` or `OPSGENIE`" in lines[1]
    assert "Standard Webhooks and Opsgenie Relay" in lines[2]
    assert "[Opsgenie Relay](providers.md#opsgenie)" in lines[3]
    assert "[Standard Webhooks](standard-webhooks.md)" in lines[3]  # a provider with a page of its own
    assert "`OPSGENIE_BEARER_TOKENS`, `OPSGENIE_BASIC_AUTH`" in lines[4]
    assert "`APP_SERVICES_QUERY_SECRETS`" in lines[4]
    assert "`OpsgenieAllowUnsigned`" in lines[5]
    assert "`OpsgenieBearerTokens`, `OpsgenieBasicAuth`" in lines[6]
    assert "QuerySecrets" not in lines[6]
    row = next(line for line in lines if line.startswith("| `opsgenie`"))
    assert "`Authorization`: `Bearer <token> or Basic <user:password>`" in row
    assert "[its section](providers.md#opsgenie)" in row


def test_links_are_relative_to_the_page_they_are_on():
    readme, providers = ROOT / "README.md", ROOT / "docs" / "providers.md"
    assert gen_docs.regenerate(span("links"), REGISTRY[:1], readme) == span("links", "[MongoDB Atlas](docs/providers.md#atlas)")
    assert gen_docs.regenerate(span("links"), REGISTRY[:1], providers) == span("links", "[MongoDB Atlas](#atlas)")


@pytest.mark.parametrize("text, error", [
    ("<!-- generated: providers slugs -->", "has no `<!-- end generated -->` after it"),
    ("a\n<!-- end generated -->", "line 2: `<!-- end generated -->` with no start marker"),
    (span("colours"), "unknown kind 'colours'"),
    (span("parameters"), "`parameters` takes an argument"),
    (span("slugs", span("names")), "a generated span inside another"),
])
def test_broken_markers_are_refused_with_their_line(text, error):
    with pytest.raises(gen_docs.DocsError, match=re.escape(error)):
        gen_docs.regenerate(text, REGISTRY, PAGE)


def test_a_marker_shown_as_code_is_not_a_span():
    shown = "between `<!-- generated: providers slugs -->` and `<!-- end generated -->`, say"
    assert gen_docs.regenerate(shown, REGISTRY, PAGE) == shown
    # Generated text may itself end in code: its end marker still counts.
    assert gen_docs.regenerate(span("slugs") + ").", REGISTRY[:1], PAGE) == span("slugs", "`atlas`") + ")."
