"""`make run` as a new user meets it: scripts/run-local (what `make run` runs) on a free port, every
command it prints run as printed in a fresh shell (another directory, no .venv on PATH), the
README's first screen showing those same commands, and Ctrl-C stopping everything."""

import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

import relaystack as stack

README = stack.ROOT / "README.md"
EXERCISED_ELSEWHERE = {"make run", "make test"}  # this test runs the one; `make test` is the other


class RunLocal:
    def __init__(self, port: int, run_dir):
        self.lines: list[str] = []
        env = {**os.environ, "PORT": str(port), "RUN_DIR": str(run_dir)}
        self.proc = subprocess.Popen(
            [sys.executable, str(stack.ROOT / "scripts" / "run-local")], cwd=stack.ROOT, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def output_until(self, text: str, timeout: float = 300) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            output = "\n".join(self.lines)
            if text in output or self.proc.poll() is not None:
                return output
            time.sleep(0.2)
        return "\n".join(self.lines)

    def interrupt(self, timeout: float = 30) -> int | None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                return None
        return self.proc.returncode


@pytest.fixture(scope="module")
def make_run(log_dir):
    port = stack.free_port()
    run = RunLocal(port, log_dir / "make-run")
    try:
        output = run.output_until("Ctrl-C stops everything")
        assert "Ctrl-C stops everything" in output, output[-3000:]
        yield port, output
    finally:
        code = run.interrupt()
        assert code == 130, f"make run did not stop on Ctrl-C ({code}):\n" + "\n".join(run.lines[-20:])
        try:
            os.killpg(run.proc.pid, 0)
            left = True
        except ProcessLookupError:
            left = False
        assert not left, "make run left processes behind"


def test_replay_gets_every_status_events_readme_names(make_run):
    _, output = make_run
    replayed = re.findall(r"^(\S+\.json) -> (\d{3}) .*\[(.*)\]$", output, re.M)
    assert {name for name, _, _ in replayed} == {row["file"] for row in stack.expected_events()}
    assert all(mark == "ok" for _, _, mark in replayed), replayed


def test_the_replay_says_which_topics_alert_state_told_of_an_atlas_alerts_life(make_run):
    """Alert state is on: per event, the topics told and why not the others (`targets` of the
    request's log line, routes named by position); the close says how long the alert was open."""
    _, output = make_run
    said = {}
    for block in re.split(r"^(?=\S+\.json -> )", output, flags=re.M):
        name = block.split(" ", 1)[0]
        said[name] = re.findall(r"^  alert state: (.*)$", block, re.M)
    assert said["atlas-lifecycle-1-open.json"] == ["told alerts, paging, chat"]
    assert said["atlas-lifecycle-2-renotified.json"] == [
        "told no topic; not alerts (unchanged), paging (unchanged), chat (unchanged)"]
    assert said["atlas-lifecycle-3-renotified.json"] == ["told paging; not alerts (unchanged), chat (unchanged)"]
    assert said["atlas-lifecycle-4-acknowledged.json"] == ["told alerts, paging, chat"]
    assert said["atlas-lifecycle-5-closed.json"] == ["told alerts, paging, chat"]
    assert said["atlas-lifecycle-6-closed-again.json"] == [
        "told no topic; not alerts (duplicate), paging (duplicate), chat (duplicate)"]
    assert said["monte-carlo-valid.json"] == ["told alerts, chat; not paging (its filter does not match)"]
    assert said["atlas-bad-signature.json"] == []
    assert re.search(r"event 5 of the alert, was acknowledged, open 90 min, reached the topics: alerts, paging, chat",
                     output)
    assert '"reason":"duplicate"' in output.split("atlas-lifecycle-6-closed-again.json -> ")[1].split("\n")[0]


def test_every_printed_command_works_in_a_new_terminal(make_run):
    _, output = make_run
    commands = stack.printed_commands(output)
    assert commands[0] == f"cd {stack.ROOT}"
    assert len(commands) == 5, commands  # cd, a signed request, a forged one, an invoke, a silence
    assert not any(command.startswith("cargo lambda") for command in commands)  # not on a new terminal's PATH
    for command, done, problem in stack.run_printed(commands):
        assert problem is None, f"{command}\n{problem}"


def moto_port(output: str) -> int:
    """The port of moto (SNS, SQS, DynamoDB) that `make run` printed at start."""
    return int(re.search(r"emulator \(moto\) on http://127\.0\.0\.1:(\d+)", output).group(1))


def with_port(text: str, port: int, moto: int) -> str:
    """What the README shows for `make run` on its default port 9000 (moto on 9001), on `port`
    (moto on `moto`) instead."""
    return (text.replace("127.0.0.1:9001", f"127.0.0.1:{moto}").replace("127.0.0.1:9000", f"127.0.0.1:{port}")
            .replace("--invoke-port 9000", f"--invoke-port {port}"))


def readme_first_screen() -> list[str]:
    """The README up to the end of its "Next" list: what a newcomer sees first."""
    lines = README.read_text().splitlines()
    start = lines.index("## Next")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("#")), len(lines))
    return lines[:end]


def shell_commands(lines: list[str]) -> list[str]:
    """The commands of the ```sh blocks in `lines`, comments and blank lines left out, a command
    continued with a trailing backslash kept whole."""
    commands, in_block, continued = [], False, False
    for line in lines:
        if not in_block:
            in_block = line.strip() in ("```sh", "```shell", "```bash")
        elif line.strip() == "```":
            in_block = continued = False
        elif continued:
            commands[-1] += "\n" + line
            continued = line.rstrip().endswith("\\")
        elif line.strip() and not line.lstrip().startswith("#"):
            commands.append(line)
            continued = line.rstrip().endswith("\\")
    return commands


def test_readme_first_screen_fits_and_has_the_essentials():
    lines = readme_first_screen()
    assert len(lines) <= 70, f"the first screen runs to {len(lines)} lines"
    text = "\n".join(lines)
    for needed in ("make run", "make test", "alert-relay-sign", "Serving POST", "## Next", "docs/"):
        assert needed in text, needed
    assert len(README.read_text().splitlines()) < 200


def test_readme_first_screen_shows_what_make_run_prints(make_run):
    port, output = make_run
    text = with_port("\n".join(readme_first_screen()), port, moto_port(output))
    shown = stack.printed_commands(text)
    printed = stack.printed_commands(output)
    assert shown[1:] == printed[1:], "README's excerpt of make run's output differs from what it prints"


def test_readme_first_screen_commands_work(make_run):
    """Each command in the first screen's shell blocks: `make run` and `make test`, or one that
    runs here as typed, right after `make run`."""
    port, output = make_run
    commands = shell_commands(readme_first_screen())
    assert commands, "no shell commands on the README's first screen"
    to_run = []
    for command in commands:
        bare = command.split("#")[0].strip()
        if bare in EXERCISED_ELSEWHERE:
            continue
        to_run.append(with_port(command, port, moto_port(output)))
    assert to_run, "the first screen shows no command to try against make run"
    for command, done, problem in stack.run_printed([f"cd {stack.ROOT}", *to_run]):
        assert problem is None, f"{command}\n{problem}"
