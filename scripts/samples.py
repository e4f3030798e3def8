"""Each provider's sample payloads and cases, found by convention: `events/payloads/<slug>/` holds
the provider's bodies (sent byte for byte) and its `cases.json`; `events/payloads/` itself holds the
bodies and cases that are no provider's own (`events/payloads/cases.json`). The providers and their
order come from the registry, `alert-relay-sign providers --json`: a provider without a directory
is an error that names it.

A provider's cases.json:

    {
      "seed": "atlas-disk-space-alert.json",        the body tests use for this provider
                                                     (tests/common `seed`); one of "payloads"
      "payloads": {"NAME.json": "what it is, and where it came from", ...},
                                                     every body in the directory, described
                                                     (events/README.md's payload table)
      "query_secrets": ["test-<slug>-query-secret"], optional: <P>_QUERY_SECRETS in test.env
      "cases": [{"file": "atlas-valid.json", "payload": "NAME.json", "what": "...",
                 "status": 200, ...}, ...]           one signed API Gateway event each
    }

A case's fields, besides `file`, `payload`, `what` and `status`: `error` (the answer's `error`),
`secret` (an index into the provider's test credentials, default 0; "wrong": signed with
`test-wrong-secret`; null: unsigned), `credential` (which secret variable's values, default the
provider's first), `output` (`apigw-v2` by default, or `apigw-rest`), `minutes` (received that many
minutes after the samples' request time), `base64`, and the signer's `event`, `form`, `stage`,
`path`, `method`, `query`, and `args` (more signer arguments, a list). A payload name is looked up
in the provider's directory, then in `events/payloads/`. The provider-independent cases.json has
`payloads` and `cases` only; its cases are sent as the registry's first provider, with that
provider's seed unless they name a payload, and `{provider}` in `what` is its slug.

Standard library only: scripts/gen-events, scripts/sam-local and tests/scripts read it.
"""

import base64
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAYLOADS = ROOT / "events" / "payloads"
CASES_FILE = "cases.json"
PROVIDER_KEYS = {"seed", "payloads", "query_secrets", "cases"}
COMMON_KEYS = {"payloads", "cases"}


class SamplesError(Exception):
    """A samples directory or cases.json that does not follow the convention; the message says
    which file and what to do."""


@dataclass
class Samples:
    slug: str | None  # None: the provider-independent samples of events/payloads/ itself
    directory: Path
    root: Path
    seed: str | None = None
    payload_notes: dict = field(default_factory=dict)
    query_secrets: list = field(default_factory=list)
    cases: list = field(default_factory=list)

    @property
    def file(self) -> Path:
        return self.directory / CASES_FILE

    def body(self, name: str) -> Path:
        """The body `name`: the provider's own, else a shared one of events/payloads/."""
        for directory in (self.directory, self.root):
            if (directory / name).is_file():
                return directory / name
        raise SamplesError(f"{shown(self.file)}: payload {name} is in neither {shown(self.directory)}/ "
                           f"nor {shown(self.root)}/")

    def seed_body(self) -> bytes:
        return self.body(self.seed).read_bytes()


def shown(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def registry_of(signer) -> list:
    """The registry, in its order, from `SIGNER providers --json`."""
    return json.loads(subprocess.run([str(signer), "providers", "--json"], check=True,
                                     stdout=subprocess.PIPE).stdout)


def secret_variables(provider: dict) -> list:
    """The provider's credential variables as (variable, kind), kind `signing`, `bearer` or `basic`:
    the registry's `secret_variables` when it has them, else `<P>_WEBHOOK_SECRETS`, signing."""
    declared = provider.get("secret_variables")
    if declared is None:
        return [(f"{provider['env_prefix']}_WEBHOOK_SECRETS", "signing")]
    return [(variable["variable"], variable["kind"]) for variable in declared]


def written(provider, key):
    """`key` as the provider writes a secret: its prefix, then the text or its base64."""
    encoding = provider["secret_encoding"]
    text = {"text": key, "base64": base64.b64encode(key.encode()).decode()}[encoding]
    return provider["secret_prefix"] + text


def credential(provider, kind, key):
    """The credential `key` as a variable of this `kind` holds it: a signing secret in the
    provider's form, a bearer token as it is, a basic-auth entry as `test-<slug>-user:key`."""
    if kind == "signing":
        return written(provider, key)
    if kind == "bearer":
        return key
    if kind == "basic":
        return f"test-{provider['slug']}-user:{key}"
    raise SamplesError(f"{provider['slug']}: secret variable kind {kind!r} is not signing, bearer or basic")


def _read(path: Path, allowed: set) -> dict:
    if not path.is_file():
        raise SamplesError(f"{shown(path)} is missing: it lists the directory's payloads and cases "
                           f"(docs/adding-a-provider.md)")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise SamplesError(f"{shown(path)}: not JSON: {error}") from None
    if not isinstance(data, dict):
        raise SamplesError(f"{shown(path)}: not a JSON object")
    unknown = set(data) - allowed
    if unknown:
        raise SamplesError(f"{shown(path)}: unknown keys {sorted(unknown)} (known: {sorted(allowed)})")
    notes = data.get("payloads", {})
    if not isinstance(notes, dict) or not all(isinstance(v, str) for v in notes.values()):
        raise SamplesError(f'{shown(path)}: "payloads" must map each body\'s file name to what it is')
    cases = data.get("cases", [])
    if not isinstance(cases, list) or not all(isinstance(c, dict) for c in cases):
        raise SamplesError(f'{shown(path)}: "cases" must be a list of objects')
    return data


def _described(samples: Samples) -> None:
    """Every body in the directory is described, and every described body is there."""
    present = {p.name for p in samples.directory.glob("*.json") if p.name != CASES_FILE}
    undescribed = present - set(samples.payload_notes)
    if undescribed:
        raise SamplesError(f'{shown(samples.file)}: describe {sorted(undescribed)} in "payloads"')
    absent = set(samples.payload_notes) - present
    if absent:
        raise SamplesError(f'{shown(samples.file)}: "payloads" describes {sorted(absent)}, which '
                           f"{shown(samples.directory)}/ does not hold")


def load_one(provider: dict, root: Path = PAYLOADS) -> Samples:
    slug = provider["slug"]
    directory = root / slug
    if not directory.is_dir():
        raise SamplesError(f"provider {slug} has no samples directory {shown(directory)}/: add its "
                           f"sample payloads and their {CASES_FILE} there (docs/adding-a-provider.md)")
    data = _read(directory / CASES_FILE, PROVIDER_KEYS)
    samples = Samples(slug, directory, root, seed=data.get("seed"),
                      payload_notes=data.get("payloads", {}),
                      query_secrets=data.get("query_secrets", []), cases=data.get("cases", []))
    _described(samples)
    if samples.seed not in samples.payload_notes:
        raise SamplesError(f'{shown(samples.file)}: "seed" must name one of its "payloads" (the '
                           f"body tests send as {slug}), not {samples.seed!r}")
    return samples


def load_common(root: Path = PAYLOADS) -> Samples:
    data = _read(root / CASES_FILE, COMMON_KEYS)
    samples = Samples(None, root, root, payload_notes=data.get("payloads", {}),
                      cases=data.get("cases", []))
    _described(samples)
    return samples


def load(registry: list, root: Path = PAYLOADS) -> list:
    """Every provider's samples in registry order, then the provider-independent ones."""
    found = [load_one(provider, root) for provider in registry]
    slugs = {provider["slug"] for provider in registry}
    strays = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name not in slugs)
    if strays:
        raise SamplesError(f"{shown(root)}/ has directories of no provider in the registry: {strays}")
    return found + [load_common(root)]
