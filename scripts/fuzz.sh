#!/usr/bin/env bash
# Fuzzes each target in fuzz/ (cargo-fuzz layout) with libFuzzer for a bounded time, seeded
# from fixtures/, and prints the executions run. Works on stable Rust: the coverage flags
# cargo-fuzz would pass are given here, with no sanitizer (safe Rust needs none).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]      default 60; FUZZ_TARGETS="xml decrypt handle"
#
# With nightly and cargo-fuzz installed, `cargo fuzz run handle` works on the same targets.
# A crash stops the run with a non-zero exit and leaves its input in target/fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-${FUZZ_SECONDS:-60}}
targets=${FUZZ_TARGETS:-xml decrypt handle}
out=target/fuzz

# libFuzzer itself is C++, built by the libfuzzer-sys crate.
if ! command -v g++ >/dev/null; then
    echo "fuzz: installing g++ (libFuzzer is C++)"
    (apt-get update -qq && apt-get install -y -qq g++) >/dev/null
fi

host=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
# --target keeps the coverage flags off build scripts, as cargo-fuzz does.
cargo build --release --locked --manifest-path fuzz/Cargo.toml --target "$host" \
    --target-dir "$out/build" --bins

python3 scripts/fuzz-seeds.py fixtures "$out/seeds" >/dev/null
total=0
for target in $targets; do
    corpus="$out/corpus/$target"
    mkdir -p "$corpus" "$out/artifacts/$target"
    log="$out/$target.log"
    if ! "$out/build/$host/release/$target" "$corpus" "$out/seeds/$target" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$out/artifacts/$target/" >"$log" 2>&1; then
        tail -n 40 "$log"
        echo "fuzz: $target FAILED (input saved under $out/artifacts/$target/)"
        exit 1
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 || true)
    echo "fuzz: $target: ${runs:-?} executions in ${seconds}s, ${cov:-cov: ?}, no crash"
    total=$((total + ${runs:-0}))
done
echo "fuzz: $total executions in all, no crash"
