"""`make run` as a new user meets it: scripts/run-local (what `make run` runs) on a free port, every
command it prints run as printed in a fresh shell (another directory, no .venv on PATH), the
README's first screen showing those same commands, and Ctrl-C stopping everything."""

import json
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


ALERT_LINE = re.compile(r"^  alert (\d+)/(\d+) (\S+) \((.*), (firing|resolved)\): (\w+)(?: \((\w+)\))?"
                        r"(?:, (\d+) topics?)?, event ([0-9a-f]{32})(?:; (.*))?$", re.M)


def replayed_blocks(output: str) -> dict[str, str]:
    """What `make run` printed for each replayed event, by file."""
    return {block.split(" ", 1)[0]: block for block in re.split(r"^(?=\S+\.json -> )", output, flags=re.M)}


PAGED = "told alerts, paging, chat"
NOT_PAGED = "told alerts, chat; not paging (its filter does not match)"
DUPLICATE = "told no topic; not alerts (duplicate), paging (duplicate), chat (duplicate)"


@pytest.mark.parametrize("provider,sample,rest,topics,told", [
    # Alert state on; routes paging (critical or error) and chat (every alert) beside `alerts`.
    ("grafana", "grafana-group-timestamped.json", "grafana-group-rest.json", [2, 3, 3],
     [NOT_PAGED, PAGED, PAGED]),
    ("alertmanager", "alertmanager-group.json", "alertmanager-group-rest.json", [3, 2, 2],
     [PAGED, NOT_PAGED, NOT_PAGED]),
])
def test_the_replay_prints_a_line_per_alert_of_a_group(make_run, provider, sample, rest, topics, told):
    """A group's answer lists its alerts' events: the replay prints one line per alert, naming the
    alert (its fingerprint, and what tells it from the others) and how it ended; the same group
    again (the REST sample, the same body) is a duplicate alert by alert."""
    from test_groups import alert_sources, event_id

    _, output = make_run
    blocks = replayed_blocks(output)
    event = json.loads((stack.EVENTS / sample).read_text())
    body = stack.request_of_event(event)[4]
    alerts = json.loads(body)["alerts"]
    ids = [event_id(provider, source) for source in alert_sources(body)]

    first = ALERT_LINE.findall(blocks[sample])
    assert len(first) == len(alerts) == 3, blocks[sample]
    for n, (line, alert, id_, count_told, words) in enumerate(zip(first, alerts, ids, topics, told), start=1):
        index, total, fingerprint, what, sent, status, reason, count, shown_id, state = line
        assert (int(index), int(total), fingerprint, sent) == (n, 3, alert["fingerprint"], alert["status"]), line
        assert f"instance={alert['labels']['instance']}" in what, line
        assert (status, reason, count, shown_id, state) == ("published", "", str(count_told), id_, words), line
        # The CloudEvent that reached `alerts` is this alert's: the block says which topics it reached.
        assert re.search(rf"^  event {id_}: severity {alert['labels']['severity']} \(provider\), "
                         rf"event 1 of the alert, reached the topics: alerts", blocks[sample], re.M), blocks[sample]

    again = ALERT_LINE.findall(blocks[rest])
    assert [(fp, status, reason, count, shown, state) for _, _, fp, _, _, status, reason, count, shown, state in again] == [
        (alert["fingerprint"], "suppressed", "duplicate", "0", id_, DUPLICATE) for alert, id_ in zip(alerts, ids)], \
        blocks[rest]


def test_a_single_alert_prints_no_alert_lines(make_run):
    _, output = make_run
    blocks = replayed_blocks(output)
    for sample in ("atlas-lifecycle-1-open.json", "monte-carlo-valid.json", "grafana-bad-signature.json"):
        assert not ALERT_LINE.findall(blocks[sample]), blocks[sample]
