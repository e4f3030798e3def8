#!/usr/bin/env python3
"""The seeds' reference handler in Python, timed with timeit on the payloads `cargo bench` writes.

`handler(event, context)` is what a Python Lambda behind API Gateway would do for the same contract:
route, method, size, verify each provider's signature the way its documentation does, parse,
normalize into the same CloudEvent shape as alert-relay, build the SNS Publish arguments, and write a
JSON log line and the CloudWatch EMF metrics line; the publisher is a no-op, as on the Rust side.

- Atlas: base64 HMAC-SHA1 of the body (`X-MMS-Signature`).
- App Services: `X-Hook-Signature: sha256=<hex HMAC-SHA256>` of the body.
- Monte Carlo: hex HMAC-SHA512 of the raw body; failing that, exactly the documentation's Lambda
  example: `json.loads(body)`, `urllib.parse.urlencode(...)`, HMAC-SHA512 `hexdigest()`,
  `hmac.compare_digest`. The raw form is tried first, in the same order as alert-relay, so both
  sides do the same work for each signed form.

Timed, per payload (min/median/max of per-event means over the repeats):
- `floor`: one HMAC of the body with the provider's hash plus one `json.loads`;
- `handle`: `handler(event)` with the event already a dict, as the Lambda runtime passes it;
- `from_event`: `json.loads` of the API Gateway event text, then `handler`;
- `sdk_publish`: boto3 `sns.publish(...)` of the same message, serialized and SigV4-signed, stopped
  by a `before-send` hook just before it would go on the wire (Rust does the same with an
  interceptor).

usage: reference.py [--payloads DIR] [--out FILE] [--repeat N] [--only SUBSTRING] [--no-sdk]
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import statistics
import sys
import time
import timeit
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_BODY_BYTES = 262144
SNS_MAX_MESSAGE_BYTES = 256 * 1024

# Configuration, read once at import as a Lambda would (filled from the manifest by main()).
TOPIC_ARN = ""
SECRETS = {}
LOG = open(os.devnull, "w")


# ---------------------------------------------------------------------------------------------
# Verification, per provider, as each documents it.

def verify_atlas(headers, body):
    signature = headers.get("x-mms-signature")
    if signature is None:
        return None
    expected = base64.b64encode(hmac.new(SECRETS["atlas"].encode(), body, hashlib.sha1).digest()).decode()
    return ("raw", None) if hmac.compare_digest(expected, signature.strip()) else False


def verify_app_services(headers, body):
    signature = headers.get("x-hook-signature")
    if signature is None:
        return None
    expected = "sha256=" + hmac.new(SECRETS["app-services"].encode(), body, hashlib.sha256).hexdigest()
    return ("raw", None) if hmac.compare_digest(expected, signature.strip().lower()) else False


def verify_monte_carlo(headers, body):
    signature = headers.get("x-mcd-signature")
    if signature is None:
        return None
    secret = SECRETS["monte-carlo"]
    signature = signature.strip().lower()
    raw = hmac.new(secret.encode("utf-8"), body, hashlib.sha512).hexdigest()
    if hmac.compare_digest(raw, signature):
        return ("raw", None)
    # Monte Carlo's documented Lambda example, line for line.
    try:
        body_json = json.loads(body)
    except ValueError:
        return False
    if not isinstance(body_json, dict):
        return False
    payload = urllib.parse.urlencode(body_json)
    expected = hmac.new(secret.encode("utf-8"), payload.encode("utf-8"), hashlib.sha512).hexdigest()
    return ("documented", body_json) if hmac.compare_digest(expected, signature) else False


VERIFY = {"atlas": verify_atlas, "app-services": verify_app_services, "monte-carlo": verify_monte_carlo}


# ---------------------------------------------------------------------------------------------
# Normalization: the same shape as src/providers/*.rs.

def text(obj, key):
    value = obj.get(key)
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def string(obj, key):
    value = obj.get(key)
    if isinstance(value, str):
        return value.strip() or None
    return None


def obj(parent, key):
    value = parent.get(key) if parent else None
    return value if isinstance(value, dict) else None


def parse_time(value):
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


ATLAS_EVENTS = {"alert.open": "open", "alert.close": "resolved", "alert.update": "updated",
                "alert.acknowledge": "acknowledged", "alert.cancel": "cancelled", "alert.inform": "informational"}
ATLAS_STATUS = {"OPEN": "open", "TRACKING": "open", "CLOSED": "resolved", "CANCELLED": "cancelled",
                "INFORMATIONAL": "informational"}


def normalize_atlas(body, headers):
    status = ATLAS_EVENTS.get((headers.get("x-mms-event") or "").strip()) \
        or ATLAS_STATUS.get(string(body, "status") or "") or "updated"
    human = string(body, "humanReadable")
    project = organization = None
    if human:
        for line in human.splitlines():
            line = line.strip()
            if line.startswith("Project: "):
                project, _, organization = line[len("Project: "):].partition(" Organization: ")
                project, organization = project.strip() or None, organization.strip() or None
                break
    event_type, metric = string(body, "eventTypeName"), string(body, "metricName")
    title = None
    if human:
        title = next((l.strip() for l in human.splitlines() if l.strip() and not l.strip().startswith("Project: ")), None)
    if title is None and event_type:
        title = f"{event_type} ({metric})" if metric else event_type
    order = {"resolved": ("resolved", "updated"), "open": ("created", "updated")}.get(status, ("updated", "created"))
    occurred = next((t for t in (parse_time(string(body, k)) for k in order) if t), None)
    current = obj(body, "currentValue") or {}
    value = current.get("number")
    return {
        "alert_id": text(body, "id"), "status": status,
        "severity": "info" if status == "informational" else "unknown",
        "event_type": event_type, "title": title, "summary": human, "occurred_at": occurred, "url": None,
        "resource": {
            "project": project, "organization": organization, "group_id": string(body, "groupId"),
            "org_id": string(body, "orgId"), "alert_config_id": string(body, "alertConfigId"),
            "cluster": string(body, "clusterName"), "replica_set": string(body, "replicaSetName"),
            "host": string(body, "hostnameAndPort"), "metric": metric,
            "value": value if isinstance(value, (int, float)) and not isinstance(value, bool) else None,
            "units": string(current, "units"),
        },
    }


APP_STATUS = {**dict.fromkeys(["open", "opened", "new", "firing", "triggered", "active", "alert", "alerting", "problem"], "open"),
              **dict.fromkeys(["ack", "acked", "acknowledged", "investigating"], "acknowledged"),
              **dict.fromkeys(["resolved", "closed", "ok", "recovered", "fixed", "inactive"], "resolved"),
              **dict.fromkeys(["cancelled", "canceled"], "cancelled"),
              **dict.fromkeys(["info", "informational"], "informational")}
APP_SEVERITY = {**dict.fromkeys(["critical", "crit", "fatal", "emergency", "emerg", "sev-1", "sev1", "p1", "1"], "critical"),
                **dict.fromkeys(["error", "err", "high", "major", "sev-2", "sev2", "p2", "2"], "error"),
                **dict.fromkeys(["warning", "warn", "medium", "moderate", "minor", "sev-3", "sev3", "p3", "3"], "warning"),
                **dict.fromkeys(["info", "informational", "notice", "low", "debug", "sev-4", "sev4", "p4", "4", "p5", "5"], "info")}


def first(body, keys, read=string):
    return next((v for v in (read(body, k) for k in keys) if v is not None), None)


def normalize_app_services(body, headers):
    status = first(body, ("status", "state"), text)
    severity = first(body, ("severity", "level", "priority"), text)
    title = first(body, ("title", "name", "message", "summary"))
    summary = next((s for s in (string(body, k) for k in ("summary", "description", "details", "message", "text"))
                    if s is not None and s != title), None)
    occurred = next((t for t in (parse_time(string(body, k)) for k in
                                 ("occurred_at", "timestamp", "time", "created_at", "createdAt", "updated_at")) if t), None)
    alert_id = next((v for v in (text(body, k) or text(obj(body, k) or {}, "$oid") for k in ("id", "alert_id", "alertId", "_id")) if v), None)
    return {
        "alert_id": alert_id,
        "status": APP_STATUS.get(status.strip().lower(), "updated") if status else "open",
        "severity": APP_SEVERITY.get(severity.strip().lower(), "unknown") if severity else "unknown",
        "event_type": first(body, ("type", "event_type", "event")), "title": title, "summary": summary,
        "occurred_at": occurred, "url": first(body, ("url", "link", "href")),
        "resource": {k: body[k] for k in ("service", "host", "environment", "resource", "source", "component")
                     if body.get(k) is not None},
    }


MC_RESOLVED = {"fixed", "expected", "no_action_needed", "false_positive"}
MC_ACKNOWLEDGED = {"investigating", "work_in_progress"}
MC_SEVERITY = {"SEV-1": "critical", "SEV-2": "error", "SEV-3": "warning", "SEV-4": "info"}


def describe(event):
    table = string(event, "table_name")
    what = string(event, "event_details") or string(obj(event, "rule") or {}, "description") \
        or string(obj(event, "data") or {}, "metric_display_name")
    if table and what:
        return f"{table}: {what}"
    return table or what


def normalize_monte_carlo(body, headers):
    payload = obj(body, "payload") or {}

    def either(key):
        return string(body, key) or string(payload, key)

    feedback = either("alert_feedback")
    kind = string(body, "type")
    if feedback in MC_RESOLVED:
        status = "resolved"
    elif feedback in MC_ACKNOWLEDGED:
        status = "acknowledged"
    else:
        status = "open" if kind and kind.startswith("open_") else "updated"
    events = [e for e in payload.get("event_list") or [] if isinstance(e, dict)] \
        if isinstance(payload.get("event_list"), list) else []
    descriptions = [d for d in map(describe, events) if d]
    if not descriptions:
        title = kind.replace("_", " ").strip().capitalize() if kind else None
    elif len(descriptions) == 1:
        title = descriptions[0]
    else:
        title = f"{descriptions[0]} (+{len(descriptions) - 1} more)"
    severity = either("declared_alert_severity")
    return {
        "alert_id": text(payload, "incident_id"), "status": status,
        "severity": MC_SEVERITY.get(severity.upper(), "unknown") if severity else "unknown",
        "event_type": kind, "title": title,
        "summary": "; ".join(descriptions) if len(descriptions) > 1 else None,
        "occurred_at": None, "url": string(payload, "url"),
        "resource": {
            "account_id": string(obj(body, "account") or {}, "id"), "group_id": string(payload, "group_id"),
            "action": string(body, "action"), "owner": either("owner"),
            "tables": [t for t in (string(e, "table_name") for e in events) if t], "event_count": len(events),
        },
    }


NORMALIZE = {"atlas": normalize_atlas, "app-services": normalize_app_services, "monte-carlo": normalize_monte_carlo}
NAMES = {"atlas": "MongoDB Atlas", "app-services": "App Services", "monte-carlo": "Monte Carlo"}


def clip(value, limit):
    return value if len(value) <= limit else value[:limit - 1] + "…"


def subject_line(value):
    cleaned = "".join(c if " " <= c <= "~" else (" " if c.isspace() or not c.isprintable() else "?") for c in value)
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= 99 else cleaned[:96] + "..."


def build_message(provider, alert, body, parsed):
    event_id = hashlib.sha256(provider.encode() + b":" + body).hexdigest()[:32]
    alert_id = alert["alert_id"] or event_id
    plain = len(alert_id) <= 100 and all("!" <= c <= "~" for c in alert_id)
    dedup_key = f"{provider}:{alert_id}" if plain else \
        f"{provider}:sha256-{hashlib.sha256(alert_id.encode()).hexdigest()[:32]}"
    event_type = clip(alert["event_type"] or "unknown", 256)
    title = clip(alert["title"] or f"{NAMES[provider]} alert {event_type}", 256)
    summary = clip(alert["summary"], 4096) if alert["summary"] else None
    occurred = (alert["occurred_at"] or datetime.now(timezone.utc)).isoformat().replace("+00:00", "Z")
    data = {
        "provider": provider, "alert_id": alert_id, "dedup_key": dedup_key, "status": alert["status"],
        "severity": alert["severity"], "event_type": event_type, "title": title, "summary": summary,
        "occurred_at": occurred, "url": alert["url"], "resource": alert["resource"], "raw": parsed,
    }
    cloud_event = {
        "specversion": "1.0", "id": event_id, "source": f"/webhooks/{provider}", "type": f"alert.{alert['status']}",
        "subject": alert_id, "time": occurred, "datacontenttype": "application/json", "data": data,
    }
    attributes = {"provider": provider, "status": alert["status"], "severity": alert["severity"],
                  "event_type": event_type}
    attributes_size = sum(len(k) + len("String") + len(v) for k, v in attributes.items())
    message = json.dumps(cloud_event, separators=(",", ":"), ensure_ascii=False)
    if len(message.encode()) + attributes_size > SNS_MAX_MESSAGE_BYTES:
        del data["raw"]
        data["raw_truncated"] = True
        message = json.dumps(cloud_event, separators=(",", ":"), ensure_ascii=False)
    return event_id, {
        "TopicArn": TOPIC_ARN, "Message": message,
        "Subject": subject_line(f"[{alert['severity']}] {provider} {alert['status']}: {title}"),
        "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    }


def configure(topic_arn, secrets):
    """Configuration, once at start; `secrets` maps provider slug to its signing secret."""
    global TOPIC_ARN
    TOPIC_ARN = topic_arn
    SECRETS.clear()
    SECRETS.update(secrets)


def publish_noop(**request):
    return "00000000-0000-0000-0000-000000000000"


PUBLISH = publish_noop


# ---------------------------------------------------------------------------------------------
# The handler.

def emf(provider, elapsed):
    """The per-request CloudWatch EMF line alert-relay prints (src/metrics.rs)."""
    return {"provider": provider, "received": 1, "published": 1, "duration": elapsed * 1e3,
            "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [{
                "Namespace": "AlertRelay", "Dimensions": [[], ["provider"]],
                "Metrics": [{"Name": "received", "Unit": "Count"}, {"Name": "published", "Unit": "Count"},
                            {"Name": "duration", "Unit": "Milliseconds"}]}]}}


def respond(status, body, headers=None):
    return {"statusCode": status, "headers": {"content-type": "application/json", **(headers or {})},
            "body": json.dumps(body, separators=(",", ":"))}


def handler(event, context=None):
    started = time.perf_counter()
    path = event.get("rawPath") or event.get("path") or ""
    segments = (path[:-1] if path.endswith("/") else path).split("/")
    provider = segments[-1] if len(segments) >= 3 and segments[-2] == "webhooks" else None
    if provider not in SECRETS:
        return respond(404, {"error": "unknown_provider"})
    method = (event.get("requestContext", {}).get("http") or {}).get("method") or event.get("httpMethod")
    if method != "POST":
        return respond(405, {"error": "method_not_allowed"}, {"allow": "POST"})
    body = event.get("body") or ""
    body = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    if len(body) > MAX_BODY_BYTES:
        return respond(413, {"error": "payload_too_large"})
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    verified = VERIFY[provider](headers, body)
    if not verified:
        return respond(401, {"error": "missing_signature" if verified is None else "invalid_signature"})
    form, parsed = verified
    if parsed is None:
        try:
            parsed = json.loads(body)
        except ValueError:
            return respond(400, {"error": "malformed_payload"})
    if not isinstance(parsed, dict):
        return respond(400, {"error": "malformed_payload"})
    alert = NORMALIZE[provider](parsed, headers)
    event_id, request = build_message(provider, alert, body, parsed)
    try:
        message_id = PUBLISH(**request)
    except Exception:
        return respond(502, {"error": "publish_failed"})
    elapsed = time.perf_counter() - started
    LOG.write(json.dumps({"level": "INFO", "message": "request", "provider": provider, "outcome": "published",
                          "status": 200, "event_id": event_id, "form": form,
                          "duration_us": int(elapsed * 1e6)}) + "\n")
    LOG.write(json.dumps(emf(provider, elapsed)) + "\n")
    return respond(200, {"status": "published", "event_id": event_id, "message_id": message_id})


# ---------------------------------------------------------------------------------------------
# Timing.

def floor_of(provider, secret, body):
    digest = {"atlas": hashlib.sha1, "app-services": hashlib.sha256, "monte-carlo": hashlib.sha512}[provider]

    def floor():
        hmac.new(secret, body, digest).digest()
        json.loads(body)

    return floor


class StopBeforeSend(Exception):
    pass


def sdk_publisher():
    """boto3's SNS client, built once, stopped by a hook after serializing and signing."""
    import boto3
    from botocore.config import Config

    client = boto3.session.Session().client(
        "sns", region_name="us-east-1", aws_access_key_id="AKIDBENCHMARK", aws_secret_access_key="benchmark",
        config=Config(retries={"total_max_attempts": 1}))

    def stop(request, **_):
        raise StopBeforeSend(len(request.body or b""))

    client.meta.events.register("before-send.sns.Publish", stop)

    def publish(request):
        try:
            client.publish(**request)
        except StopBeforeSend:
            pass

    return publish


def measure(fn, repeat, budget):
    """Per-call seconds of `repeat` runs of `number` calls each, `number` sized so a run takes ~budget."""
    timer = timeit.Timer(fn)
    number = 1
    while True:
        elapsed = timer.timeit(number)
        if elapsed >= budget / 4:
            break
        number *= 4
    number = max(1, int(number * budget / max(elapsed, 1e-9)))
    return [t / number for t in timer.repeat(repeat=repeat, number=number)], number


def stats(samples):
    return {"min": min(samples), "median": statistics.median(samples), "max": max(samples)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payloads", type=Path, default=ROOT / "target/bench/payloads")
    parser.add_argument("--out", type=Path, default=ROOT / "target/bench/python.json")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--budget", type=float, default=0.1, help="seconds per repeat")
    parser.add_argument("--only", default="")
    parser.add_argument("--no-sdk", action="store_true")
    args = parser.parse_args()

    manifest_file = args.payloads / "manifest.json"
    if not manifest_file.exists():
        raise SystemExit(f"{manifest_file} is missing: `cargo bench --bench request_path` writes it")
    manifest = json.loads(manifest_file.read_text())
    configure(manifest["topic_arn"], {case["provider"]: case["secret"] for case in manifest["cases"]})
    sdk = None if args.no_sdk else sdk_publisher()

    results = {"python": sys.version.split()[0], "cases": []}
    for case in manifest["cases"]:
        name = f"{case['case']}-{case['size']}"
        if args.only not in name:
            continue
        if case["provider"] not in VERIFY:
            # The reference ports the three providers the comparison was made for; a provider
            # added since is measured on the Rust side only.
            print(f"{name}: no Python reference for {case['provider']}, skipped", file=sys.stderr)
            continue
        body = (args.payloads / case["body"]).read_bytes()
        event_text = (args.payloads / case["event"]).read_text()
        event = json.loads(event_text)
        # The Rust side signed these; Python must accept them in the expected form.
        response = handler(event)
        if response["statusCode"] != 200:
            raise SystemExit(f"{name}: the Python reference answered {response}")
        form = verify_monte_carlo if case["provider"] == "monte-carlo" else None
        if form and form({k.lower(): v for k, v in event["headers"].items()}, body)[0] != case["form"]:
            raise SystemExit(f"{name}: verified in the wrong form")
        _, request = build_message(case["provider"], NORMALIZE[case["provider"]](json.loads(body), event["headers"]),
                                   body, json.loads(body))

        timings = {}
        benches = {
            "floor": floor_of(case["provider"], case["secret"].encode(), body),
            "handle": lambda: handler(event),
            "from_event": lambda: handler(json.loads(event_text)),
        }
        if sdk:
            benches["sdk_publish"] = lambda: sdk(request)
        for bench, fn in benches.items():
            samples, number = measure(fn, args.repeat, args.budget)
            timings[bench] = {**stats(samples), "number": number, "repeat": args.repeat}
            print(f"{name:<30} {bench:<12} median {timings[bench]['median'] * 1e6:10.1f} µs"
                  f"  (min {timings[bench]['min'] * 1e6:.1f}, max {timings[bench]['max'] * 1e6:.1f}; {number}×{args.repeat})",
                  flush=True)
        results["cases"].append({"name": name, **case, "timings": timings})

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
