#!/usr/bin/env python3
"""Oracle for tests/pyform_differential.rs.

Usage: python3 tests/pyform_oracle.py FILE

FILE holds one JSON text per line, UTF-8, lines separated by b"\\n" only (the JSON texts never
contain a raw newline; a raw U+2028 may occur inside strings, so the file is split on bytes rather
than with str.splitlines). For every line this prints exactly one line to stdout:

    OK <urllib.parse.urlencode(json.loads(line))>
    ERR <repr of the exception>

urlencode output is pure ASCII without spaces or newlines (quote_plus escapes everything else), so
the framing is unambiguous. A trailing empty line (after the final b"\\n") is ignored.
"""

import json
import sys
import urllib.parse


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: pyform_oracle.py FILE", file=sys.stderr)
        return 2
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out = []
    for raw in lines:
        try:
            encoded = urllib.parse.urlencode(json.loads(raw.decode("utf-8")))
            out.append("OK " + encoded)
        except Exception as e:  # reported to the Rust side as a mismatch
            out.append("ERR " + ascii(e))
    sys.stdout.write("\n".join(out))
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
