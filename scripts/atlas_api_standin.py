#!/usr/bin/env python3
"""A stand-in for the Atlas Administration API on 127.0.0.1, for `make run` and the end-to-end tests:
the function's Atlas API client (ATLAS_API_BASE_URL=http://127.0.0.1:PORT) reads alert configurations
from it as it would from cloud.mongodb.com. Python 3.11 standard library only.

    scripts/atlas_api_standin.py --port 0 --configs tests/data/atlas-alert-configs.json \\
        --client-id mdb_sa_id_local --client-secret mdb_sa_sk_local [--ready-file PATH]

prints the port it listens on (and writes it to PATH, once listening). In Python:

    with AtlasStandIn(configs, client_id, client_secret) as atlas:
        atlas.base_url, atlas.set_fault("429"), atlas.seen(), atlas.reset()

As Atlas:
- `POST /api/oauth/token`: OAuth 2.0 client credentials ("Generate Service Account Token"):
  `Authorization: Basic base64(client_id:client_secret)`, form body `grant_type=client_credentials`;
  answers `{"access_token", "expires_in": 3600, "token_type": "Bearer"}`, else 401 `invalid_client`
  (400 `invalid_request` or `unsupported_grant_type` for a bad body).
- `GET /api/atlas/v2/groups/{groupId}/alertConfigs/{alertConfigId}` (operation getAlertConfiguration):
  needs `Authorization: Bearer <a token it issued>` (else 401) and `Accept:
  application/vnd.atlas.2023-01-01+json`, the one version the resource has (else 406); answers the
  configuration from --configs (a JSON list of `GroupAlertsConfig` objects) or 404, errors in Atlas's
  `ApiError` shape: {"detail", "error", "errorCode", "parameters", "reason"}.

Control (not recorded):
- `POST /_standin/fault` {"fault": F, "retry_after": seconds (for "429", default 30)}, F one of
  none, token_refused (the token endpoint answers 401), 401, 403, 404, 429 (with Retry-After),
  429_no_retry_after, hang (no answer until the fault changes or 30 s pass), malformed (200 with a
  body that is not JSON), 500 (all but token_refused: the alert configuration resource, once the
  caller is authenticated). It stays until changed.
- `GET /_standin/requests`: [{"method", "path", "status"}] of every other request, in order (`status`
  once answered; a token request also has the `token` it issued).
- `POST /_standin/reset`: no fault, no recorded requests (issued tokens stay valid).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ACCEPT = "application/vnd.atlas.2023-01-01+json"
TOKEN_PATH = "/api/oauth/token"
CONFIG_PATH = re.compile(r"^/api/atlas/v2/groups/([^/?]+)/alertConfigs/([^/?]+)$")
FAULTS = ("none", "token_refused", "401", "403", "404", "429", "429_no_retry_after", "hang", "malformed",
          "500")
DEFAULT_RETRY_AFTER = 30
HANG_SECONDS = 30.0
EXPIRES_IN = 3600


def api_error(status: int, code: str, reason: str, detail: str, parameters=()) -> dict:
    """Atlas's `ApiError` body."""
    return {"detail": detail, "error": status, "errorCode": code, "parameters": list(parameters),
            "reason": reason}


class AtlasStandIn:
    def __init__(self, configs: list[dict], client_id: str, client_secret: str, port: int = 0,
                 hang_seconds: float = HANG_SECONDS, host: str = "127.0.0.1"):
        self.configs = {(c["groupId"], c["id"]): c for c in configs}
        credentials = f"{client_id}:{client_secret}".encode()
        self.basic = "Basic " + base64.b64encode(credentials).decode()
        self.hang_seconds = hang_seconds
        self.lock = threading.Lock()
        self.fault = "none"
        self.retry_after = DEFAULT_RETRY_AFTER
        self.requests: list[dict] = []
        self.tokens: set[str] = set()
        # Set when the fault changes: a hanging answer ends then.
        self.release = threading.Event()
        self.server = ThreadingHTTPServer((host, port), _handler(self))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base_url = f"http://{host}:{self.port}"
        self._thread = None

    def __enter__(self):
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.set_fault("none")
        self.server.shutdown()
        self.server.server_close()

    def set_fault(self, fault: str, retry_after: int = DEFAULT_RETRY_AFTER):
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")
        with self.lock:
            self.fault = fault
            self.retry_after = retry_after
            self.release.set()
            self.release = threading.Event()

    def reset(self):
        self.set_fault("none")
        with self.lock:
            self.requests.clear()

    def seen(self) -> list[dict]:
        with self.lock:
            return list(self.requests)

    def record(self, method: str, path: str) -> dict:
        """Logs a request as it arrives; its answer adds `status` (and `token`, one it issued)."""
        entry = {"method": method, "path": path}
        with self.lock:
            self.requests.append(entry)
        return entry

    def current_fault(self):
        with self.lock:
            return self.fault, self.retry_after, self.release

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens.add(token)
        return token

    def knows(self, token: str) -> bool:
        with self.lock:
            return token in self.tokens


def _accepts(header: str | None) -> bool:
    """Whether an `Accept` header names the resource's version (any parameters aside)."""
    return any(part.split(";")[0].strip().lower() == ACCEPT for part in (header or "").split(","))


def _handler(standin: AtlasStandIn):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "AtlasStandIn/1"

        def log_message(self, *args):
            pass

        entry = None  # this request's line in the request log (control requests have none)

        def reply(self, status: int, body, headers=()):
            if self.entry is not None:
                self.entry["status"] = status
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def read_body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def do_POST(self):
            body = self.read_body()
            if self.path.startswith("/_standin/"):
                return self.control("POST", body)
            self.entry = standin.record("POST", self.path)
            if self.path.split("?")[0] == TOKEN_PATH:
                return self.token(body)
            self.reply(404, api_error(404, "RESOURCE_NOT_FOUND", "Not Found", f"No resource at {self.path}."))

        def do_GET(self):
            if self.path.startswith("/_standin/"):
                return self.control("GET", b"")
            self.entry = standin.record("GET", self.path)
            if self.path.split("?")[0] == TOKEN_PATH:
                return self.reply(405, api_error(405, "METHOD_NOT_ALLOWED", "Method Not Allowed",
                                                 "Use POST."))
            match = CONFIG_PATH.match(self.path.split("?")[0])
            if not match:
                return self.reply(404, api_error(404, "RESOURCE_NOT_FOUND", "Not Found",
                                                 f"No resource at {self.path}."))
            self.alert_config(*match.groups())

        def token(self, body: bytes):
            fault, _, _ = standin.current_fault()
            if fault == "token_refused" or self.headers.get("Authorization") != standin.basic:
                return self.reply(401, {"error": "invalid_client",
                                        "error_description": "Invalid client credentials."})
            if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
                return self.reply(400, {"error": "invalid_request",
                                        "error_description": "Expected a form-encoded body."})
            form = dict(pair.partition("=")[::2] for pair in body.decode(errors="replace").split("&") if pair)
            if form.get("grant_type") != "client_credentials":
                return self.reply(400, {"error": "unsupported_grant_type",
                                        "error_description": "Only client_credentials is supported."})
            token = standin.issue_token()
            self.entry["token"] = token  # for the tests that check it never reaches a log
            self.reply(200, {"access_token": token, "expires_in": EXPIRES_IN, "token_type": "Bearer"})

        def alert_config(self, group_id: str, config_id: str):
            authorization = self.headers.get("Authorization") or ""
            token = authorization[len("Bearer "):] if authorization.startswith("Bearer ") else None
            if not token or not standin.knows(token):
                return self.reply(401, api_error(401, "UNAUTHORIZED", "Unauthorized",
                                                 "You are not authorized for this resource."))
            if not _accepts(self.headers.get("Accept")):
                return self.reply(406, api_error(406, "INVALID_VERSION_DATE", "Not Acceptable",
                                                 f"This resource is available as {ACCEPT}.",
                                                 [self.headers.get("Accept") or ""]))
            fault, retry_after, release = standin.current_fault()
            if fault == "401":
                return self.reply(401, api_error(401, "UNAUTHORIZED", "Unauthorized",
                                                 "You are not authorized for this resource."))
            if fault == "403":
                return self.reply(403, api_error(403, "USER_CANNOT_ACCESS_GROUP", "Forbidden",
                                                 "The service account cannot access this project.",
                                                 [group_id]))
            if fault == "404":
                return self.not_found(group_id, config_id)
            if fault == "429":
                return self.reply(429, api_error(429, "RATE_LIMITED", "Too Many Requests", "Rate limited."),
                                  [("Retry-After", str(retry_after))])
            if fault == "429_no_retry_after":
                return self.reply(429, api_error(429, "RATE_LIMITED", "Too Many Requests", "Rate limited."))
            if fault == "hang":
                release.wait(standin.hang_seconds)
                self.close_connection = True
                return self.reply(503, api_error(503, "SERVICE_UNAVAILABLE", "Service Unavailable",
                                                 "The stand-in stopped hanging."))
            if fault == "malformed":
                return self.reply(200, b'{"severityOverride": CRIT')
            if fault == "500":
                return self.reply(500, api_error(500, "UNEXPECTED_ERROR", "Internal Server Error",
                                                 "Unexpected error."))
            config = standin.configs.get((group_id, config_id))
            if config is None:
                return self.not_found(group_id, config_id)
            self.reply(200, config)

        def not_found(self, group_id: str, config_id: str):
            self.reply(404, api_error(404, "ALERT_CONFIG_NOT_FOUND", "Not Found",
                                      f"No alert configuration with ID {config_id} exists in group {group_id}.",
                                      [config_id, group_id]))

        def control(self, method: str, body: bytes):
            path = self.path.split("?")[0]
            if method == "GET" and path == "/_standin/requests":
                return self.reply(200, standin.seen())
            if method == "POST" and path == "/_standin/reset":
                standin.reset()
                return self.reply(200, {"fault": "none"})
            if method == "POST" and path == "/_standin/fault":
                try:
                    asked = json.loads(body or b"{}")
                    standin.set_fault(str(asked.get("fault")),
                                      int(asked.get("retry_after", DEFAULT_RETRY_AFTER)))
                except (ValueError, TypeError, AttributeError) as error:
                    return self.reply(400, {"error": str(error), "faults": list(FAULTS)})
                return self.reply(200, {"fault": asked["fault"]})
            self.reply(404, {"error": f"no control endpoint {method} {path}"})

    return Handler


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--configs", type=Path, required=True, help="JSON list of alert configurations")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--ready-file", type=Path, help="written with the port once listening")
    args = parser.parse_args(argv)
    configs = json.loads(args.configs.read_text())
    standin = AtlasStandIn(configs, args.client_id, args.client_secret, args.port, host=args.host)
    if args.ready_file:
        partial = args.ready_file.with_name(args.ready_file.name + ".partial")
        partial.write_text(f"{standin.port}\n")
        os.replace(partial, args.ready_file)
    print(standin.port, flush=True)
    try:
        standin.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        standin.server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
