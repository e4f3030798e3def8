"""tests/ci_skips.py: outside CI a check that cannot run is skipped with its reason; under CI=true
it fails, and so does any other skip."""

import os
import subprocess
import sys

from conftest import ROOT

CASES = '''
import pytest
from ci_skips import unavailable

def test_needs_a_tool():
    unavailable("no frobnicator on PATH")

def test_skips_directly():
    pytest.skip("written without the helper")
'''


def run(tmp_path, ci: str | None) -> subprocess.CompletedProcess:
    (tmp_path / "test_cases.py").write_text(CASES)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = str(ROOT / "tests")
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "ci_skips", "-p", "no:cacheprovider", "-rA",
                           str(tmp_path / "test_cases.py")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def test_outside_ci_both_skip_with_their_reason(tmp_path):
    done = run(tmp_path, None)
    assert done.returncode == 0, done.stdout
    assert "2 skipped" in done.stdout, done.stdout
    assert "no frobnicator on PATH" in done.stdout


def test_under_ci_both_fail_naming_the_reason(tmp_path):
    done = run(tmp_path, "true")
    assert done.returncode == 1, done.stdout
    assert "2 failed" in done.stdout, done.stdout
    assert "CI=true, and this check cannot run: no frobnicator on PATH" in done.stdout
    assert "skipped under CI=true, which allows no skip: Skipped: written without the helper" in done.stdout
