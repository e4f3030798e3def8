#!/usr/bin/env python3
"""Fails when a binary needs a glibc newer than the Lambda runtime's (make package-check).

usage: scripts/glibc_check.py BINARY [--max 2.34]

`provided.al2023` ships glibc 2.34. A bootstrap linked against a newer glibc symbol version starts
on this machine and in the local emulators (whose libraries are this machine's), then fails in AWS
at cold start with "version `GLIBC_2.xx' not found". objdump's version references (`objdump -p`)
list every GLIBC_x.y the binary needs; the symbols behind a too-new one (`objdump -T`) are named.
"""

import argparse
import re
import shutil
import subprocess
import sys

AL2023_GLIBC = "2.34"
_VERSION = re.compile(r"\bGLIBC_(\d+(?:\.\d+)+)\b")


def parse_version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def required_glibc(version_references: str) -> set[str]:
    """The GLIBC_x.y versions in `objdump -p`'s "Version References" (what the binary needs, as
    opposed to what it defines)."""
    needed = set()
    in_references = False
    for line in version_references.splitlines():
        if line.startswith("Version References:"):
            in_references = True
        elif in_references and line and not line.startswith(" "):
            in_references = False
        elif in_references:
            needed.update(_VERSION.findall(line))
    return needed


def too_new(needed: set[str], maximum: str = AL2023_GLIBC) -> list[str]:
    limit = parse_version(maximum)
    return sorted((v for v in needed if parse_version(v) > limit), key=parse_version)


def symbols_needing(dynamic_symbols: str, versions: list[str]) -> dict[str, list[str]]:
    """Undefined symbols of `objdump -T` output, by the versions asked for."""
    found: dict[str, list[str]] = {v: [] for v in versions}
    for line in dynamic_symbols.splitlines():
        if "*UND*" not in line:
            continue
        match = re.search(r"\(GLIBC_([\d.]+)\)\s+(\S+)\s*$", line) or re.search(r"\bGLIBC_([\d.]+)\s+(\S+)\s*$", line)
        if match and match.group(1) in found:
            found[match.group(1)].append(match.group(2))
    return found


def check(binary: str, maximum: str = AL2023_GLIBC) -> list[str]:
    """Problems found, one line each; empty when the binary runs on glibc `maximum`."""
    objdump = shutil.which("objdump")
    if objdump is None:
        return ["objdump is not installed (Debian/Ubuntu: binutils): cannot check the glibc versions"]
    references = subprocess.run([objdump, "-p", binary], capture_output=True, text=True)
    if references.returncode != 0:
        return [f"objdump -p {binary} failed: {references.stderr.strip()}"]
    newer = too_new(required_glibc(references.stdout), maximum)
    if not newer:
        return []
    symbols = subprocess.run([objdump, "-T", binary], capture_output=True, text=True).stdout
    by_version = symbols_needing(symbols, newer)
    return [f"needs GLIBC_{v} (newer than {maximum}): {', '.join(by_version[v]) or 'see objdump -T'}" for v in newer]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--max", default=AL2023_GLIBC, help=f"newest glibc allowed (default {AL2023_GLIBC}, AL2023's)")
    args = parser.parse_args()
    problems = check(args.binary, args.max)
    for problem in problems:
        print(f"{args.binary}: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"{args.binary}: needs no glibc newer than {args.max}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
