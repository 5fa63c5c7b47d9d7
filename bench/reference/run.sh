#!/usr/bin/env bash
# Our engine against the hand-written reference pipeline (../shared/reference-pipeline, or
# REFERENCE=DIR) on the reference's own corpus: 1,000 text-message callbacks of 10..2,000
# characters (CJK, emoji, <>&), safe mode and plaintext. Both loop over the same corpus.tsv,
# pinned to CPU 1, in ROUNDS (default 3) alternating turns of RUNS (default 5) timed runs of
# PASSES (default 20) passes each; every reply of ours is checked first (decrypted, parsed,
# the text echoed). Prints each turn's medians and, at the end, the median per message of
# each side and their ratio.
set -euo pipefail
cd "$(dirname "$0")/../.."
reference=${REFERENCE:-../shared/reference-pipeline}
rounds=${ROUNDS:-3}
runs=${RUNS:-5}
passes=${PASSES:-20}
dst=${WX_REFERENCE_DIR:-${TMPDIR:-/tmp}/wx-reference}
if [ ! -x "$reference/run.sh" ]; then
    echo "bench/reference: no reference pipeline at $reference (set REFERENCE)" >&2
    exit 1
fi
# Builds the reference (release, LTO) and its corpus once, and ours.
"$reference/run.sh" floor
cargo build --release --quiet --locked -p wechat-callback-bench --bin wxcb-corpus
out=target/bench-reference
mkdir -p "$out"
: > "$out/lines.txt"
for round in $(seq "$rounds"); do
    "$reference/run.sh" bench "$runs" "$passes" 2>/dev/null | tee -a "$out/lines.txt"
    taskset -c 1 target/release/wxcb-corpus --corpus "$dst/corpus/corpus.tsv" \
        --runs "$runs" --passes "$passes" | tee -a "$out/lines.txt"
done
python3 - "$out/lines.txt" <<'PY'
import re, statistics, sys
ns = {}
for line in open(sys.argv[1]):
    m = re.match(r"(.+?)\s+median\s+\d+ msg/s\s+(\d+) ns/msg", line)
    if m:
        ns.setdefault(m.group(1).strip(), []).append(int(m.group(2)))
med = {k: statistics.median(v) for k, v in ns.items()}
print()
print(f"{'per message (median of turns)':<32} {'ours':>9} {'reference':>10} {'ratio':>7}")
for mode, ours, theirs in [("safe mode", "ours safe (aes)", "rust safe (aes)"),
                           ("plaintext", "ours plain", "rust plain")]:
    if ours in med and theirs in med:
        print(f"{mode:<32} {med[ours]/1000:>7.2f}µs {med[theirs]/1000:>8.2f}µs {med[ours]/med[theirs]:>6.2f}x")
if all(k in med for k in ("ours plain", "rust plain", "utf-8 check (plain)")):
    floor = med["rust plain"] + med["utf-8 check (plain)"]
    print(f"{'plaintext, reference + UTF-8 check':<32} {med['ours plain']/1000:>7.2f}µs {floor/1000:>8.2f}µs {med['ours plain']/floor:>6.2f}x")
    print(f"  (the reference never checks that a body is UTF-8; ours must: {med['utf-8 check (plain)']:.0f} ns of it per message)")
PY
