"""What `make run` prints for a new terminal, and how the tests read it back (scripts/run-local,
relaystack.printed_commands)."""

import importlib.machinery
import importlib.util
import json
import shlex

import relaystack

from conftest import ROOT

_loader = importlib.machinery.SourceFileLoader("run_local", str(ROOT / "scripts" / "run-local"))
_spec = importlib.util.spec_from_loader("run_local", _loader)
run_local = importlib.util.module_from_spec(_spec)
_loader.exec_module(run_local)

OUTPUT = """\
Serving POST http://127.0.0.1:9000/lambda-url/alert-relay/webhooks/{provider}
Try a signed request, or a forged one (401), from another terminal:
  cd /home/you/alert-relay
  target/debug/alert-relay-sign --provider atlas \\
      --url http://x/webhooks/atlas | sh
  curl -i -X POST http://x -d '{}'

Deliveries to the queue are printed here as they arrive.
"""


def test_reads_back_each_command_continuations_kept():
    assert relaystack.printed_commands(OUTPUT) == [
        "cd /home/you/alert-relay",
        "target/debug/alert-relay-sign --provider atlas \\\n    --url http://x/webhooks/atlas | sh",
        "curl -i -X POST http://x -d '{}'",
    ]


def test_commands_need_nothing_a_new_terminal_lacks():
    """cargo-lambda and sam live in .venv, which a new terminal does not have on its PATH."""
    for command in run_local.try_commands("http://127.0.0.1:9000/lambda-url/alert-relay", 9000):
        assert not command.startswith(("cargo lambda", "cargo-lambda", "sam ")), command
    invoke = run_local.try_commands("http://127.0.0.1:3000", 3000, [".venv/bin/sam", "local", "invoke", "F"])[-1]
    assert invoke.startswith(".venv/bin/sam local invoke")


def test_a_wrapped_command_is_the_same_command():
    argv = [".venv/bin/sam", "local", "invoke", "AlertRelayFunction", "--event", "events/a b.json",
            "--template-file", ".run/sam/template.yaml", "--add-host", "host.docker.internal:host-gateway",
            "--skip-pull-image", "--region", "us-east-1"] * 2
    text = run_local.wrapped(argv, width=40)
    assert max(len(line) for line in text.splitlines()) < 80
    assert shlex.split(text.replace("\\\n", " ")) == argv


def test_make_run_names_the_providers_events_test_env_configures():
    registry = json.loads((ROOT / "tests" / "scripts" / "data" / "providers.json").read_text())
    configured = relaystack.env_file_lines(relaystack.EVENTS / "test.env")
    expected = {p["slug"] for p in registry if any(line.startswith(p["env_prefix"] + "_") for line in configured)}
    assert expected and set(run_local.served_providers()) == expected
