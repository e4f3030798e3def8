import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))
import ci_skips  # noqa: E402


def pytest_configure(config):
    if not config.pluginmanager.is_registered(ci_skips):  # under CI=true, a skip fails
        config.pluginmanager.register(ci_skips, "ci_skips")
