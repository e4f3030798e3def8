#!/usr/bin/env bash
# Release-profile candidates, measured rather than guessed: for each, the stripped x86_64 bootstrap
# (`cargo lambda build --release`), its cold start (init, first invocation, peak RSS) and the request
# path at 1 KiB and 256 KiB (criterion `handle`).
#
# cargo-lambda adds `--config profile.release.<key>=…` for any of strip, lto, codegen-units and
# panic that Cargo.toml leaves unset (panic="abort", lto="thin", …), and those beat CARGO_PROFILE_*
# variables. So the candidates build with --disable-optimizations and the profile given here in
# full, plus the `-C target-cpu=haswell` that cargo-lambda passes for x86_64. The criterion runs use
# the same profile without target-cpu, like `make bench`; the bench profile ignores `panic`, so
# abort candidates get no throughput run. Each candidate builds in its own target dir, so nothing
# shared is clobbered: allow ~10 minutes per candidate on 2 cores.
#
# usage: bench/profiles.sh [candidate...]     results: target/bench/profiles/<candidate>/
#        bench/profiles.sh --summary          the table, from the results already there
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/target/bench/profiles
PY=${PY:-$ROOT/.venv/bin/python}
export PATH=$ROOT/.venv/bin:$PATH

# The request path's crates, for the mixed candidate: everything else is the AWS SDK, TLS, HTTP.
HOT=(serde_json indexmap hashbrown memchr sha1 sha2 hmac digest block-buffer itoa ryu)
mixed() {
  local args=(--config 'profile.release.package."*".opt-level="s"')
  for crate in "${HOT[@]}"; do args+=(--config "profile.release.package.$crate.opt-level=3"); done
  printf '%s\n' "${args[@]}"
}

# name -> opt-level lto codegen-units panic [extra]
declare -A CANDIDATES=(
  [o3-fat-cgu1-unwind]="3 fat 1 unwind"
  [o3-fat-cgu1-abort]="3 fat 1 abort"
  [os-fat-cgu1-unwind]="s fat 1 unwind"
  [os-fat-cgu1-abort]="s fat 1 abort"
  [oz-fat-cgu1-abort]="z fat 1 abort"
  [o3-thin-cgu16-abort]="3 thin 16 abort"
  [mixed-fat-cgu1-unwind]="3 fat 1 unwind mixed"
)
ORDER=(o3-fat-cgu1-unwind os-fat-cgu1-unwind mixed-fat-cgu1-unwind o3-fat-cgu1-abort os-fat-cgu1-abort
       oz-fat-cgu1-abort o3-thin-cgu16-abort)

summary() {
  "$PY" - "$OUT" <<'EOF'
import json, statistics, sys
from pathlib import Path
out = Path(sys.argv[1])
print("| profile | bootstrap (bytes) | init median (ms) | init CPU (ms) | first invocation (ms) | peak RSS (MiB) |"
      " atlas 1 KiB | MC doc. 1 KiB | atlas 256 KiB | MC raw 256 KiB | MC doc. 256 KiB |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
def handle(d, group):
    p = d / "criterion" / group / "handle" / "new" / "sample.json"
    if not p.exists():
        return "–"
    s = json.loads(p.read_text())
    v = statistics.median(t / n / 1e3 for t, n in zip(s["times"], s["iters"]))
    return f"{v:,.1f} µs" if v < 100 else f"{v:,.0f} µs"
for d in sorted(p for p in out.iterdir() if p.is_dir()):
    size = (d / "lambda" / "alert-relay" / "bootstrap")
    cold = d / "coldstart.json"
    c = json.loads(cold.read_text())["summary"]["rust"] if cold.exists() else None
    cells = [f"{size.stat().st_size:,}" if size.exists() else "–"]
    cells += [f"{c['init_ms']['median']:.1f}", f"{c['init_cpu_ms']['median']:.1f}" if "init_cpu_ms" in c else "–",
              f"{c['first_ms']['median']:.1f}", f"{c['peak_rss_kib']['median'] / 1024:.1f}"] if c else ["–"] * 4
    cells += [handle(d, g) for g in ("atlas-1KiB", "monte-carlo-documented-1KiB", "atlas-256KiB",
                                     "monte-carlo-raw-256KiB", "monte-carlo-documented-256KiB")]
    print(f"| {d.name} | " + " | ".join(cells) + " |")
EOF
}

main() {
  if [[ ${1:-} == --summary ]]; then summary; return; fi
  (( $# )) || set -- "${ORDER[@]}"
  for name in "$@"; do
    local opt lto cgu panic extra
    read -r opt lto cgu panic extra <<<"${CANDIDATES[$name]:?unknown candidate $name}"
    local dir=$OUT/$name
    local config=()
    [[ ${extra:-} == mixed ]] && mapfile -t config < <(mixed)
    mkdir -p "$dir"
    export CARGO_TARGET_DIR=$ROOT/target/profiles/$name
    export CARGO_PROFILE_RELEASE_OPT_LEVEL=$opt CARGO_PROFILE_RELEASE_LTO=$lto
    export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=$cgu CARGO_PROFILE_RELEASE_PANIC=$panic
    export CARGO_PROFILE_RELEASE_STRIP=symbols
    echo "== $name: opt-level=$opt lto=$lto codegen-units=$cgu panic=$panic ${extra:-}" >&2
    local start=$SECONDS
    RUSTFLAGS="-C target-cpu=haswell" cargo lambda build --release --disable-optimizations --locked \
      --bin alert-relay --lambda-dir "$dir/lambda" "${config[@]}" >"$dir/build.log" 2>&1
    echo "   bootstrap: $(stat -c %s "$dir/lambda/alert-relay/bootstrap") bytes, built in $(( SECONDS - start )) s" >&2
    if [[ $panic == unwind ]]; then
      CRITERION_HOME=$dir/criterion cargo bench --locked --bench request_path "${config[@]}" -- \
        '^(atlas|monte-carlo-documented)-1KiB/handle$|^(atlas|monte-carlo-raw|monte-carlo-documented)-256KiB/handle$' \
        >"$dir/bench.log" 2>&1
    fi
    "$PY" bench/coldstart.py --only rust --runs "${RUNS:-15}" --bootstrap "$dir/lambda/alert-relay/bootstrap" \
      --out "$dir/coldstart.json" >"$dir/coldstart.log" 2>&1
    tail -2 "$dir/coldstart.log" | head -1 >&2
    # The candidate's build tree is large; keep only the results.
    rm -rf "$CARGO_TARGET_DIR"
  done
  summary
}

main "$@"
