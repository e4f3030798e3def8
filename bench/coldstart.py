#!/usr/bin/env python3
"""Cold starts, measured the way Lambda starts a function.

Serves a minimal Lambda Runtime API on 127.0.0.1 and starts moto (SNS) with a topic (both from
scripts/runtime_api.py), then, N times and alternating, starts each function as a fresh process
with AWS_LAMBDA_RUNTIME_API pointing at that API, and measures:
- init: process start (just before the spawn) to its first `GET /runtime/invocation/next`, and the
  CPU time the process used until then (all threads, from /proc/<pid>/task/*/schedstat), which
  a busy machine disturbs less than the wall time;
- first: the first invocation's latency, from handing out the event to its response arriving,
  the SNS client's first connection and moto's Publish included;
- warm: the same for a second invocation in the same process;
- peak RSS: VmHWM of the process (/proc/<pid>/status), read after the second invocation.

The functions:
- rust: the release `bootstrap` (`cargo lambda build --release`), as a `provided.al2023` runtime
  starts it;
- python: `bench/lambda_function.py` (the reference handler and a boto3 SNS client built at import)
  under awslambdaric, Amazon's Python runtime interface client, when the Python given has it,
  otherwise under `bench/python_runtime.py`, a minimal runtime loop polling the same API.

The invocation is the signed Atlas 1 KiB event `cargo bench --bench request_path` writes.

usage: coldstart.py [--bootstrap PATH] [--python PATH] [--runs N] [--out FILE]
"""

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
REGION = "us-east-1"

sys.path.insert(0, str(ROOT / "scripts"))
from runtime_api import RuntimeApi, local_moto  # noqa: E402


def peak_rss_kib(pid):
    """VmHWM: the process's peak resident set since exec (wait4's ru_maxrss would include the
    forking Python parent's pages)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def cpu_ms(pid):
    """CPU time the process has used so far, all threads (schedstat: nanoseconds on CPU)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        total += int((task / "schedstat").read_text().split()[0])
    return total / 1e6


def has_awslambdaric(python):
    return subprocess.run([python, "-c", "import awslambdaric"], capture_output=True).returncode == 0


def start_once(api, command, env, cwd, event, log):
    """One cold start and two invocations; returns the measurements in ms and KiB."""
    run = api.new_run()
    started = time.monotonic()
    proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    try:
        if not run.polled.wait(60):
            raise RuntimeError("no /next poll within 60 s")
        init = run.first_poll - started
        # The function now waits in its first /next poll: what it used so far is its init.
        init_cpu = cpu_ms(proc.pid)
        latencies = []
        for i in range(2):
            request_id = f"req-{i}"
            run.invoke(request_id, event)
            try:
                kind, answered, body, arrived = run.result(timeout=30)
            except queue.Empty:
                raise RuntimeError(f"invocation {i}: no response within 30 s") from None
            response = json.loads(body) if kind == "response" else {}
            if kind != "response" or answered != request_id or response.get("statusCode") != 200:
                raise RuntimeError(f"invocation {i}: {kind} {answered} {body[:300]!r}")
            latencies.append(arrived - run.sent[request_id])
        # The function is blocked in its next /next poll: nothing runs while we read.
        peak = peak_rss_kib(proc.pid)
    finally:
        proc.kill()
        proc.wait()
        run.end()
    return {"init_ms": init * 1e3, "init_cpu_ms": init_cpu, "first_ms": latencies[0] * 1e3,
            "warm_ms": latencies[1] * 1e3, "peak_rss_kib": peak}


def summary(runs):
    return {key: {"min": min(r[key] for r in runs), "median": statistics.median(r[key] for r in runs),
                  "max": max(r[key] for r in runs)} for key in runs[0]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", type=Path, default=ROOT / "target/lambda/alert-relay/bootstrap")
    parser.add_argument("--python", default=str(ROOT / "target/bench/lambda-venv/bin/python"))
    parser.add_argument("--payloads", type=Path, default=ROOT / "target/bench/payloads")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "target/bench/coldstart.json")
    parser.add_argument("--only", choices=["rust", "python"], help="start only this function")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the functions (experiments)")
    args = parser.parse_args()

    manifest = json.loads((args.payloads / "manifest.json").read_text())
    case = next(c for c in manifest["cases"] if c["case"] == "atlas" and c["size"] == "1KiB")
    event = (args.payloads / case["event"]).read_bytes()
    secrets = {c["provider"]: c["secret"] for c in manifest["cases"]}

    # abspath, not resolve: a venv's python is a symlink out of the venv.
    python = os.path.abspath(args.python) if Path(args.python).exists() else sys.executable
    runtime = "awslambdaric" if has_awslambdaric(python) else "bench/python_runtime.py"
    python_command = [python, "-m", "awslambdaric"] if runtime == "awslambdaric" else [python, str(BENCH / "python_runtime.py")]
    functions = {
        "rust": ([str(args.bootstrap.resolve())], ROOT),
        "python": (python_command + ["lambda_function.handler"], BENCH),
    }

    if args.only:
        functions = {args.only: functions[args.only]}

    runs = {name: [] for name in functions}
    # A temporary HOME: no ~/.aws files, as on Lambda.
    with local_moto() as moto, RuntimeApi() as api, tempfile.TemporaryDirectory() as home:
        topic = moto.create_topic("alerts")
        # As deployed: three routes (one matches every alert, in the chatbot format) and the
        # fallback queue, so their parsing and clients are part of every cold start.
        routes = [
            {"topic": moto.create_topic("paging"), "filter": {"severity": ["critical", "error"]}},
            {"topic": moto.create_topic("data-team"), "filter": {"provider": ["monte-carlo"]}},
            {"topic": moto.create_topic("chat"), "filter": {"status": [{"anything-but": "informational"}]},
             "format": "chatbot"},
        ]
        fallback = moto.sqs.create_queue(QueueName="fallback")["QueueUrl"]
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": home, "TZ": ":UTC",
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
            "AWS_LAMBDA_RUNTIME_API": api.address,
            "AWS_LAMBDA_FUNCTION_NAME": "alert-relay", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_LOG_STREAM_NAME": "coldstart",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/alert-relay",
            "AWS_ENDPOINT_URL_SNS": moto.endpoint, "AWS_ENDPOINT_URL_SQS": moto.endpoint,
            "ALERT_TOPIC_ARN": topic, "ALERT_ROUTES": json.dumps(routes), "FALLBACK_QUEUE_URL": fallback,
            "ATLAS_WEBHOOK_SECRETS": secrets["atlas"],
            "APP_SERVICES_WEBHOOK_SECRETS": secrets["app-services"],
            "MONTE_CARLO_WEBHOOK_SECRETS": secrets["monte-carlo"],
            **dict(item.split("=", 1) for item in args.env),
        }
        envs = {
            "rust": {**env, "_HANDLER": "bootstrap", "LAMBDA_TASK_ROOT": str(ROOT)},
            "python": {**env, "_HANDLER": "lambda_function.handler", "LAMBDA_TASK_ROOT": str(BENCH),
                       "PYTHONPATH": str(BENCH)},
        }
        with tempfile.TemporaryFile() as log:
            for i in range(args.runs):
                for name, (command, cwd) in functions.items():
                    try:
                        result = start_once(api, command, envs[name], cwd, event, log)
                    except Exception:
                        log.seek(0)
                        sys.stderr.write(log.read()[-4000:].decode(errors="replace"))
                        raise
                    runs[name].append(result)
                    print(f"{name:<6} run {i + 1:>2}: init {result['init_ms']:7.1f} ms (CPU {result['init_cpu_ms']:6.1f})"
                          f"  first {result['first_ms']:7.1f} ms"
                          f"  warm {result['warm_ms']:6.1f} ms  peak RSS {result['peak_rss_kib'] / 1024:6.1f} MiB", flush=True)

    result = {
        "runs": args.runs, "python_runtime": runtime,
        "python": subprocess.run([python, "-V"], capture_output=True, text=True).stdout.strip(),
        "bootstrap": str(args.bootstrap),
        "bootstrap_bytes": args.bootstrap.stat().st_size if args.bootstrap.exists() else None,
        "summary": {name: summary(r) for name, r in runs.items()}, "samples": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    for name, s in result["summary"].items():
        print(f"{name:<6} median: init {s['init_ms']['median']:.1f} ms (CPU {s['init_cpu_ms']['median']:.1f} ms), first {s['first_ms']['median']:.1f} ms, "
              f"warm {s['warm_ms']['median']:.1f} ms, peak RSS {s['peak_rss_kib']['median'] / 1024:.1f} MiB")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
