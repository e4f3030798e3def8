"""tests/data/independent-signatures.json is what its generator, which uses CPython and the Standard
Webhooks library only, writes: nobody fitted a vector to the crate by hand."""

import subprocess
import sys

from conftest import ROOT

DATA = ROOT / "tests" / "data"


def test_the_checked_in_vectors_are_what_the_independent_generator_writes():
    done = subprocess.run([sys.executable, str(DATA / "independent-signatures.py")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (DATA / "independent-signatures.json").read_text(), \
        "regenerate: .venv/bin/python tests/data/independent-signatures.py > tests/data/independent-signatures.json"
