#!/usr/bin/env python3
"""The `make bench` tables, in Markdown, from what the benchmarks left in target/.

Reads criterion's samples (target/criterion/<case>-<size>/<bench>/new/sample.json: each sample is
the mean of its iterations), the Python reference's timings (target/bench/python.json), and, when
present, the cold starts (target/bench/coldstart.json) and the sizes of the built bootstraps.
min/median/max are over samples (Rust) or timeit repeats (Python), each a mean of many events.

usage: table.py [--out FILE]
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "target"
CASES = ["atlas", "app-services", "monte-carlo-raw", "monte-carlo-documented"]
SIZES = ["1KiB", "16KiB", "256KiB"]


def rust(group, bench):
    path = TARGET / "criterion" / group / bench / "new" / "sample.json"
    if not path.exists():
        return None
    sample = json.loads(path.read_text())
    per_iter = [t / n / 1e3 for t, n in zip(sample["times"], sample["iters"])]  # ns -> µs
    return {"min": min(per_iter), "median": statistics.median(per_iter), "max": max(per_iter)}


def python_timings():
    path = TARGET / "bench" / "python.json"
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return {c["name"]: {b: {k: t[k] * 1e6 for k in ("min", "median", "max")} for b, t in c["timings"].items()}
            for c in data["cases"]}


def us(value):
    if value is None:
        return "–"
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def spread(s):
    return "–" if s is None else f"{us(s['median'])} ({us(s['min'])}–{us(s['max'])})"


def ratio(a, b):
    return "–" if a is None or b is None else f"{a / b:.2f}×"


def verdict(ok):
    return "yes" if ok else "**no**"


def request_tables(py):
    out = ["### Rust request path against its floor (µs per event: median (min–max))", "",
           "| case | size | floor | `handle` | handle / floor | target | met | `from_event` | `sdk_publish` |",
           "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |"]
    for case in CASES:
        for size in SIZES:
            group = f"{case}-{size}"
            floor, handle = rust(group, "floor"), rust(group, "handle")
            if floor is None or handle is None:
                continue
            limit = 3.0 if case == "monte-carlo-documented" else 1.5
            r = handle["median"] / floor["median"]
            out.append(f"| {case} | {size} | {spread(floor)} | {spread(handle)} | {r:.2f}× | ≤ {limit:g}× | "
                       f"{verdict(r <= limit)} | {spread(rust(group, 'from_event'))} | "
                       f"{spread(rust(group, 'sdk_publish'))} |")
    out += ["", "### Rust against the Python reference (µs per event: median (min–max); ratio = Python / Rust medians)", "",
            "| case | size | Rust `handle` | Python `handler(event)` | ratio | target | met | Rust `from_event` | "
            "Python `json.loads`+`handler` | ratio | Rust ÷ its floor | Python ÷ its floor |",
            "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    for case in CASES:
        for size in SIZES:
            group = f"{case}-{size}"
            handle, p = rust(group, "handle"), py.get(group)
            if handle is None or p is None:
                continue
            if case == "monte-carlo-documented":
                target = 20.0
            elif size == "1KiB":
                target = 5.0
            else:
                target = 1.0
            r = p["handle"]["median"] / handle["median"]
            from_event = rust(group, "from_event")
            floor = rust(group, "floor")
            out.append(
                f"| {case} | {size} | {spread(handle)} | {spread(p['handle'])} | {r:.1f}× | "
                f"{'> 1' if target == 1 else f'≥ {target:g}'}× | {verdict(r >= target if target > 1 else r > 1)} | "
                f"{spread(from_event)} | {spread(p['from_event'])} | "
                f"{ratio(p['from_event']['median'], from_event and from_event['median'])} | "
                f"{ratio(handle['median'], floor and floor['median'])} | "
                f"{ratio(p['handle']['median'], p['floor']['median'])} |")
    if any("sdk_publish" in p for p in py.values()):
        out += ["", "### The SDK's share: serializing and signing the SNS Publish request, stopped before sending "
                "(µs: median (min–max))", "", "| case | size | Rust (aws-sdk-sns) | Python (boto3) | ratio |",
                "| --- | --- | ---: | ---: | ---: |"]
        for case in CASES:
            for size in SIZES:
                group = f"{case}-{size}"
                r, p = rust(group, "sdk_publish"), py.get(group, {}).get("sdk_publish")
                if r is None or p is None:
                    continue
                out.append(f"| {case} | {size} | {spread(r)} | {spread(p)} | {ratio(p['median'], r['median'])} |")
    return out + routes_table()


def routes_table():
    """Per-alert CPU by number of topics: `handle` (routing, each format rendered once, the
    fan-out) plus the SDK's work for each publish (serialize and sign each request)."""
    out = ["", "### Per-alert CPU by topics (app-services payload; µs: median (min–max))", "",
           "| size | topics | `handle` | every publish's `sdk_publish` | per alert | × 1 topic | target | met |",
           "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    for size in SIZES:
        one = None
        for topics in (1, 4):
            group = f"routes-{topics}-{size}"
            handle, sdk = rust(group, "handle"), rust(group, "sdk_publish")
            if handle is None or sdk is None:
                continue
            total = handle["median"] + sdk["median"]
            one = total if topics == 1 else one
            factor = total / one if one else None
            met = verdict(factor < 2) if topics == 4 and factor else ""
            out.append(f"| {size} | {topics} | {spread(handle)} | {spread(sdk)} | {us(total)} | "
                       f"{'–' if factor is None else f'{factor:.2f}×'} | {'< 2×' if topics == 4 else ''} | {met} |")
    return out if len(out) > 4 else []


def coldstart_table():
    path = TARGET / "bench" / "coldstart.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    s = data["summary"]
    rows = [("init: start → first `/next` (ms)", "init_ms", 1, "< 10 ms and < 1/15 of Python"),
            ("init: CPU time used (ms)", "init_cpu_ms", 1, ""),
            ("first invocation, SNS on moto (ms)", "first_ms", 1, ""),
            ("second invocation (ms)", "warm_ms", 1, ""),
            ("peak RSS (MiB)", "peak_rss_kib", 1024, "< 16 MiB")]
    out = ["", f"### Cold start ({data['runs']} runs each, alternating; Python: {data['python']} + boto3 under "
           f"{data['python_runtime']}; median (min–max))", "",
           "| | Rust `bootstrap` | Python + boto3 | Python / Rust | target | met |", "| --- | ---: | ---: | ---: | --- | --- |"]
    for label, key, scale, target in rows:
        if key not in s["rust"] or key not in s["python"]:
            continue
        r, p = s["rust"][key], s["python"][key]
        fmt = lambda d: f"{d['median'] / scale:.1f} ({d['min'] / scale:.1f}–{d['max'] / scale:.1f})"
        met = ""
        if key == "init_ms":
            met = verdict(r["median"] < 10 and r["median"] * 15 < p["median"])
        elif key == "peak_rss_kib":
            met = verdict(r["median"] / 1024 < 16)
        out.append(f"| {label} | {fmt(r)} | {fmt(p)} | {p['median'] / r['median']:.1f}× | {target} | {met} |")
    return out


BOOTSTRAPS = {"x86_64": TARGET / "lambda" / "alert-relay" / "bootstrap",
              "arm64": TARGET / "bench" / "lambda-arm64" / "alert-relay" / "bootstrap"}


def sizes_table():
    out = ["", "### Stripped `bootstrap` (`cargo lambda build --release`, `--arm64`)", "",
           "| target | bytes | MiB | target | met |", "| --- | ---: | ---: | --- | --- |"]
    for arch, path in BOOTSTRAPS.items():
        if not path.exists():
            out.append(f"| {arch} | not built | | < 8 MiB | |")
            continue
        size = path.stat().st_size
        out.append(f"| {arch} | {size:,} | {size / 2**20:.2f} | < 8 MiB | {verdict(size < 8 * 2**20)} |")
    return out


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), "?")
    cores = os.cpu_count()
    kernel = platform.release()
    rustc = subprocess.run(["rustc", "-V"], capture_output=True, text=True).stdout.strip()
    return [f"Machine: {cpu}, {cores} cores, Linux {kernel}; {rustc}; Python {platform.python_version()}.", ""]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=TARGET / "bench" / "tables.md")
    args = parser.parse_args()
    lines = machine() + request_tables(python_timings()) + coldstart_table() + sizes_table()
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
