"""Env files as `cargo lambda watch --env-file` reads them (dotenv), written and read back.

Standard library only: `scripts/gen-events` writes events/test.env with it, and the local stack
(relaystack) reads it.
"""

from pathlib import Path


def env_value(value: str) -> str:
    """A value as cargo-lambda's env file (dotenv) reads it back unchanged: JSON (ALERT_ROUTES),
    and base64 padding (`whsec_…==` secrets), which cargo-lambda refuses unquoted, go in single
    quotes, which dotenv takes literally."""
    if value and all(c.isalnum() or c in "-_.:/,@+" for c in value):
        return value
    if "'" not in value and "\n" not in value:
        return f"'{value}'"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("\n", "\\n")
    return f'"{escaped}"'


def env_file_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line and not line.startswith("#")]


def env_file_values(path: Path) -> dict[str, str]:
    """An env file's `KEY=VALUE` lines as values: single-quoted ones (see `env_value`) unquoted."""
    values = {}
    for line in env_file_lines(path):
        name, _, value = line.partition("=")
        if len(value) >= 2 and value[0] == value[-1] == "'":
            value = value[1:-1]
        values[name] = value
    return values
