"""Every command the README and docs/ show works: each ```sh block is either marked as needing AWS
(its first line `# Needs AWS…`), or run here against the end-to-end stack as a user would type it
with `make run` serving (127.0.0.1:9000 becomes the test function's port). A `make` command must be
one `make test` exercises. Every HTTP answer in a block's output must be a status its comments
name (200 when they name none). Relative links must point at files and headings that exist."""

import re
import subprocess
from pathlib import Path

import pytest

import relaystack as stack

DOCS = [stack.ROOT / "README.md", *sorted((stack.ROOT / "docs").glob("*.md"))]
# The make targets a page may show, and where `make test` runs each: itself, its prerequisites,
# and the ones its tests run (run: test_make_run.py; sam-run: sam-local; events: events-check).
EXERCISED_TARGETS = {
    "test", "check", "lint", "e2e", "events", "events-check", "script-tests", "template-lint",
    "package-check", "fuzz-smoke", "venv", "run", "sam-run", "sam-local",
}
SHELL = ("```sh", "```bash", "```shell")


def shell_blocks(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, lines) of each shell block."""
    blocks, current, start = [], None, 0
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if current is None and line.strip() in SHELL:
            current, start = [], number
        elif current is not None and line.strip() == "```":
            blocks.append((start, current))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def needs_aws(lines: list[str]) -> bool:
    first = next((line for line in lines if line.strip()), "")
    return first.lower().startswith("# needs aws")


BLOCKS = [(path, start, lines) for path in DOCS for start, lines in shell_blocks(path)]
# The blocks marked `# Needs AWS…` are left out of every run, by design (docs/local-testing.md, "What
# make test leaves out"): not collected, rather than passing without running.
RUNNABLE = [block for block in BLOCKS if not needs_aws(block[2])]


def block_id(block) -> str:
    path, start, _ = block
    return f"{path.relative_to(stack.ROOT)}:{start}"


def test_the_pages_have_shell_blocks():
    assert len(BLOCKS) >= 10


def test_the_exercised_targets_are_targets():
    makefile = (stack.ROOT / "Makefile").read_text()
    assert all(re.search(rf"^{target}:", makefile, re.M) for target in EXERCISED_TARGETS)


def test_the_pages_have_runnable_shell_blocks_and_name_what_needs_aws():
    assert len(RUNNABLE) >= 10
    assert "Needs AWS" in (stack.ROOT / "docs" / "local-testing.md").read_text()


@pytest.mark.parametrize("block", RUNNABLE, ids=block_id)
def test_shell_block_works(block, function, tmp_path):
    path, start, lines = block
    port = function.port
    script = []
    for line in lines:
        make = re.match(r"\s*make\s+([\w-]+)", line)
        if make:
            assert make.group(1) in EXERCISED_TARGETS, f"{block_id(block)}: `make {make.group(1)}` is not run by make test"
            continue  # exercised by make test itself
        script.append(line.replace("127.0.0.1:9000", f"127.0.0.1:{port}").replace("--invoke-port 9000", f"--invoke-port {port}"))
    if not any(line.strip() and not line.lstrip().startswith("#") for line in script):
        return  # only `make` commands, each checked above to be one `make test` runs
    # A scratch directory that looks like the checkout, so files the examples write land there.
    for name in ("events", ".venv"):
        (tmp_path / name).symlink_to(stack.ROOT / name)
    (tmp_path / "target").symlink_to(stack.TARGET_DIR)
    done = subprocess.run(["bash", "-e", "-c", "\n".join(script)], cwd=tmp_path, env=stack.fresh_terminal_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{block_id(block)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    named = {int(code) for line in lines if line.lstrip().startswith("#") for code in re.findall(r"\b([1-5]\d\d)\b", line)}
    # curl -i's status lines (a body without a final newline runs into the next command's output).
    answered = [int(code) for code in re.findall(r"HTTP/\d(?:\.\d)? (\d{3}) ", done.stdout)]
    answered += [int(code) for code in re.findall(r'"statusCode":\s*(\d{3})', done.stdout)]
    for status in answered:
        assert status in (named or {200}), f"{block_id(block)}: answered {status}, its comments name {named or {200}}:\n{done.stdout}"


LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    found = set()
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


@pytest.mark.parametrize("page", DOCS, ids=lambda p: str(p.relative_to(stack.ROOT)))
def test_relative_links_resolve(page):
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        resolved = (page.parent / file).resolve() if file else page
        assert resolved.exists(), f"{page.name}: link to missing {target}"
        if anchor:
            assert anchor in anchors(resolved), f"{page.name}: no heading #{anchor} in {resolved.name}"
