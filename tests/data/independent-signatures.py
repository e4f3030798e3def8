"""Writes tests/data/independent-signatures.json: one signature per provider (Monte Carlo: both signed
forms), computed by implementations that share no code with alert-relay: CPython's hmac, hashlib,
base64, json and urllib.parse, and the Standard Webhooks reference library (`standardwebhooks`, in
.venv from requirements-dev.txt). tests/independent_signatures.rs verifies each through the crate's
verifier in plain `cargo test`; tests/scripts/test_independent_signatures.py checks that this
script still writes exactly the checked-in file.

    .venv/bin/python tests/data/independent-signatures.py > tests/data/independent-signatures.json
"""

import base64
import hashlib
import hmac
import json
import sys
import urllib.parse
from datetime import datetime, timezone

from standardwebhooks import Webhook

COMMAND = ".venv/bin/python tests/data/independent-signatures.py > tests/data/independent-signatures.json"
# Nested values, a float, a boolean, null, quotes and non-ASCII: Monte Carlo's documented form
# (Python's str() of each value, then quote_plus) differs from the raw bytes in every way it can.
BODY = ('{"account": {"id": "acc-7f3a"}, "action": "open", "type": "open_anomaly_incident", '
        '"payload": {"incident_id": "inc-independent-1", "url": "https://example.invalid/incidents/1", '
        '"event_list": [{"table_name": "db:analytics.orders", "ratio": 0.5, "muted": false, '
        '"owner": null}]}, "declared_alert_severity": "SEV-2", "note": "it\'s \\"quoted\\" & caf\\u00e9 \u2713"}')
# Obviously fake, like every test secret (events/README.md).
SECRET = "test-independent-secret"
SW_SECRET = "whsec_" + base64.b64encode(b"test-independent-secret").decode()
SW_ID = "msg_independent_1"
SW_TIMESTAMP = 1705314600  # 2024-01-15T10:30:00Z, the date of events/


def mac(digest, message: bytes) -> hmac.HMAC:
    return hmac.new(SECRET.encode(), message, digest)


def main() -> None:
    raw = BODY.encode()
    documented = urllib.parse.urlencode(json.loads(BODY)).encode()
    sw = Webhook(SW_SECRET).sign(SW_ID, datetime.fromtimestamp(SW_TIMESTAMP, tz=timezone.utc), BODY)
    # The library against CPython's hmac over Standard Webhooks' `{id}.{timestamp}.{body}`.
    by_hand = hmac.new(base64.b64decode(SW_SECRET.removeprefix("whsec_")),
                       f"{SW_ID}.{SW_TIMESTAMP}.".encode() + raw, hashlib.sha256).digest()
    assert sw == "v1," + base64.b64encode(by_hand).decode(), sw
    cases = [
        {"provider": "atlas", "form": "raw", "secret": SECRET, "received_at": 0,
         "headers": {"X-MMS-Signature": base64.b64encode(mac(hashlib.sha1, raw).digest()).decode()}},
        {"provider": "app-services", "form": "raw", "secret": SECRET, "received_at": 0,
         "headers": {"X-Hook-Signature": "sha256=" + mac(hashlib.sha256, raw).hexdigest()}},
        {"provider": "monte-carlo", "form": "raw", "secret": SECRET, "received_at": 0,
         "headers": {"x-mcd-signature": mac(hashlib.sha512, raw).hexdigest()}},
        {"provider": "monte-carlo", "form": "documented", "secret": SECRET, "received_at": 0,
         "headers": {"x-mcd-signature": mac(hashlib.sha512, documented).hexdigest()}},
        {"provider": "standard-webhooks", "form": "raw", "secret": SW_SECRET, "received_at": SW_TIMESTAMP,
         "headers": {"webhook-id": SW_ID, "webhook-timestamp": str(SW_TIMESTAMP), "webhook-signature": sw}},
        # grafana/alerting http/hmac.go: hex HMAC-SHA256 of the body, or of "<unix seconds>:<body>"
        # with the seconds in the timestamp header.
        {"provider": "grafana", "form": "raw", "secret": SECRET, "received_at": 0,
         "headers": {"X-Grafana-Alerting-Signature": mac(hashlib.sha256, raw).hexdigest()}},
        {"provider": "grafana", "form": "timestamped", "secret": SECRET, "received_at": SW_TIMESTAMP,
         "headers": {"X-Grafana-Alerting-Timestamp": str(SW_TIMESTAMP),
                     "X-Grafana-Alerting-Signature":
                         mac(hashlib.sha256, f"{SW_TIMESTAMP}:".encode() + raw).hexdigest()}},
        # Alertmanager's http_config: a bearer token as is, basic auth as Go's SetBasicAuth writes it.
        {"provider": "alertmanager", "form": "bearer", "secret": SECRET, "received_at": 0,
         "headers": {"Authorization": "Bearer " + SECRET}},
        {"provider": "alertmanager", "form": "basic", "secret": "prometheus:" + SECRET, "received_at": 0,
         "headers": {"Authorization": "Basic " + base64.b64encode(f"prometheus:{SECRET}".encode()).decode()}},
    ]
    json.dump({
        "generated_by": COMMAND,
        "implementations": {
            "atlas, app-services, monte-carlo": "CPython 3: hmac, hashlib, base64; "
                                                "the documented form urllib.parse.urlencode(json.loads(body))",
            "standard-webhooks": "standardwebhooks (PyPI) Webhook.sign, checked against CPython's hmac",
            "grafana": "CPython 3 hmac/hashlib over the body, and over '<seconds>:<body>'",
            "alertmanager": "the Authorization values http_config sends; basic: CPython's base64",
        },
        "body": BODY,
        "documented_form": documented.decode(),
        "cases": cases,
    }, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
