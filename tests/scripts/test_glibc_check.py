"""scripts/glibc_check.py: `make package-check` fails on a bootstrap needing a glibc newer than AL2023's."""

import subprocess
import sys

import glibc_check

from conftest import ROOT

# `objdump -p` of a binary linked against glibc 2.38 (trimmed): the version *references* are what it
# needs; the definitions of a library it exports do not count.
NEEDS_2_38 = """
Dynamic Section:
  NEEDED               libc.so.6

Version definitions:
1 0x01 0x0c0fa1c9 libfoo.so.1
2 0x00 0x069691c8 GLIBC_2.99

Version References:
  required from libgcc_s.so.1:
    0x0b792650 0x00 08 GCC_3.0
  required from libc.so.6:
    0x09691a75 0x00 02 GLIBC_2.2.5
    0x069691b4 0x00 06 GLIBC_2.34
    0x069691b8 0x00 09 GLIBC_2.38
    0x06969197 0x00 07 GLIBC_2.17

"""
SYMBOLS_2_38 = """
0000000000000000      DF *UND*	0000000000000000 (GLIBC_2.34) __libc_start_main
0000000000000000      DF *UND*	0000000000000000 (GLIBC_2.38) __isoc23_strtol
0000000000000000      DF *UND*	0000000000000000  GLIBC_2.38  __isoc23_sscanf
0000000000000000 g    DF .text	0000000000000010  Base        exported_fn
"""


def test_reads_only_the_version_references():
    assert glibc_check.required_glibc(NEEDS_2_38) == {"2.2.5", "2.34", "2.38", "2.17"}


def test_a_symbol_newer_than_al2023_is_refused():
    assert glibc_check.too_new(glibc_check.required_glibc(NEEDS_2_38)) == ["2.38"]


def test_al2023_itself_is_accepted():
    assert glibc_check.too_new({"2.2.5", "2.17", "2.34", "2.3.4"}) == []


def test_versions_compare_as_numbers_not_text():
    assert glibc_check.too_new({"2.4", "2.9", "2.10", "2.34.1"}, "2.9") == ["2.10", "2.34.1"]


def test_names_the_symbols_behind_a_too_new_version():
    assert glibc_check.symbols_needing(SYMBOLS_2_38, ["2.38"]) == {"2.38": ["__isoc23_strtol", "__isoc23_sscanf"]}


def test_fails_on_a_real_binary_needing_more_than_allowed():
    """This Python interpreter needs some GLIBC past 2.2.5, the oldest x86_64 version: the check
    must say so and exit non-zero, naming a version."""
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "glibc_check.py"), sys.executable, "--max", "2.2.5"],
                          capture_output=True, text=True)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "needs GLIBC_" in done.stderr


def test_passes_a_real_binary_within_the_limit():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "glibc_check.py"), sys.executable, "--max", "99.0"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
