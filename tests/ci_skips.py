"""Under CI=true no Python test skips: a check that cannot run there fails, naming why. Both pytest
tiers (tests/e2e, tests/scripts) register this module as a plugin from their conftest.py.

- `unavailable(reason)`: for a check that needs something this machine lacks (a tool, a build, a
  file): a failure under CI=true, else `pytest.skip(reason)`. Never a bare `return`.
- The hook below is the backstop: any skip under CI=true (a `pytest.skip` or `importorskip` written
  without this helper) is reported as a failure."""

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def unavailable(reason: str) -> NoReturn:
    if in_ci():
        pytest.fail(f"CI=true, and this check cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.skipped and in_ci() and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which allows no skip: {reason}"
    return report
