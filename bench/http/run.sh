#!/usr/bin/env bash
# HTTP load on 127.0.0.1 only: wrk (Debian's package) against servers that all answer the
# same request the same way: one ~1 KB encrypted text message (safe mode, the demo account),
# echoed back as an encrypted text reply (with the reference, its message; see below).
#   reference         ../shared/reference-pipeline's one-thread hyper server (REFERENCE=DIR;
#                     left out when absent): the hand-written yardstick, with its own ~1 KB
#                     message for its own account; when it runs, the others are sent that
#                     same message (its plaintext, encrypted for the demo account), so every
#                     server decrypts, parses, echoes and encrypts the same text
#   granian-wechatpy  wechatpy 1.8.18's pipeline as a WSGI app (bench/http/wechatpy_app.py)
#                     under granian 2.8.7, one worker
#   hyper-echo        the hyper-echo example, release build, as a user runs it (deduplication
#                     on: every request after the first is a retry of the same message, still
#                     verified, decrypted, parsed, and answered with the cached reply encrypted
#                     anew)
#   bare              hyper service_fn calling Engine::handle inline (the baseline)
#   adapter           wechat-callback-hyper, the echo handlers inline: hyper-echo without dedup
#   adapter-blocking  the same with the router marked blocking_handlers (handler on the pool)
#   hyper-async, actix-async, warp-async
#                     each adapter with an async echo handler
# (bare and after are bench/runner's wxcb-serve, deduplication off: wrk repeats one message).
# SERVERS="..." picks some. Each server is pinned to CPU 0 and wrk to CPU 1 (taskset), one
# server at a time, ROUNDS (default 3) interleaved rounds of DURATION seconds (default 5) at
# CONNS connections (default 32) on one wrk thread, 2 s per-request timeout; the median of the
# rounds is reported. Before it is loaded each server but the reference is checked with
# `wxcb simulate`, which verifies the reply in full (MsgSignature, decryption, appid,
# addressing), so every server does the whole job. Prints req/s and p99 per server and the
# ratios; raw output under target/bench-http/.
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=${DURATION:-5}
rounds=${ROUNDS:-3}
conns=${CONNS:-32}
port=${PORT:-18090}
servers=${SERVERS:-granian-wechatpy hyper-echo bare adapter adapter-blocking hyper-async actix-async warp-async}
reference_dir=${REFERENCE:-../shared/reference-pipeline}
if [ -z "${SERVERS:-}" ] && [ -x "$reference_dir/run.sh" ]; then
    servers="reference $servers"
fi
out=target/bench-http
mkdir -p "$out"

if ! command -v wrk >/dev/null; then
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
if [ "$(nproc)" -lt 2 ]; then
    echo "bench/http: needs 2 CPUs (server on one, wrk on the other)" >&2
    exit 1
fi
cargo build --release --quiet --locked -p wechat-callback-bench -p wechat-callback-cli -p hyper-echo
venv=target/bench-venv
if [[ " $servers " == *" granian-wechatpy "* ]]; then
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "wechatpy==1.8.18" "cryptography>=41" "granian==2.8.7"
fi
message=()
if [[ " $servers " == *" reference "* ]]; then
    # Builds it (release, LTO) and its corpus once; its own request, for its own account.
    read -r reference_lua reference_plain_lua < <("$reference_dir/run.sh" lua)
    # Ours are sent the same message (its plaintext, encrypted for the demo account): the
    # same text to decrypt, parse, echo and encrypt on both sides.
    python3 - "$reference_plain_lua" "$out/message.xml" <<'PY'
import re, sys
lua = open(sys.argv[1], encoding="utf-8").read()
open(sys.argv[2], "w", encoding="utf-8").write(re.search(r"wrk\.body = \[(=*)\[(.*?)\]\1\]", lua, re.S).group(2))
PY
    message=(--message "$out/message.xml")
fi
# The request wrk sends, signed with the current time (300 s window).
target/release/wxcb-serve --lua "$out/post.lua" "${message[@]}" --write-only

pid=
# Each server runs as $pid itself (start execs it), so this stops the server, not a shell.
stop() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        pid=
    fi
    for _ in $(seq 100); do listening || return 0; sleep 0.1; done
}
trap stop EXIT

demo=(WECHAT_TOKEN=wxcbDemoToken WECHAT_MODE=safe
    WECHAT_AES_KEY=wxcbDemoEncodingAESKey0123456789abcdefghijk WECHAT_APPID=wx5e7c1d9a0b3f2468)
start() {
    case "$1" in
    reference)
        exec taskset -c 0 "${WX_REFERENCE_DIR:-${TMPDIR:-/tmp}/wx-reference}/target/release/wx-reference" serve "$port" ;;
    granian-wechatpy)
        exec taskset -c 0 "$venv/bin/granian" --interface wsgi --workers 1 --no-log \
            --host 127.0.0.1 --port "$port" --working-dir bench/http wechatpy_app:app ;;
    hyper-echo)
        exec env "${demo[@]}" WECHAT_ADDR="127.0.0.1:$port" taskset -c 0 target/release/hyper-echo ;;
    *)
        exec taskset -c 0 target/release/wxcb-serve --addr "127.0.0.1:$port" --server "$1" --workers 1 ;;
    esac
}

url="http://127.0.0.1:$port/wechat"
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
# CPU time (user + system, clock ticks) of process $1 and its descendants so far: the server's
# own work, which other tenants of a shared machine do not inflate the way they do wall time.
cpu_ticks() {
    local total=0 p
    for p in $1 $(pgrep -P "$1" || true); do
        if [ -r "/proc/$p/stat" ]; then
            total=$((total + $(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$p/stat")))
        fi
    done
    echo "$total"
}
# One server, one wrk run: appends req/s and p99 (ms) to $out/$server.runs.
load() {
    local server=$1 script=$out/post.lua
    if listening; then
        echo "bench/http: something already listens on port $port (set PORT)" >&2
        exit 1
    fi
    start "$server" > "$out/$server.server.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        if listening; then break; fi
        sleep 0.1
    done
    if [ "$server" = reference ]; then
        script=$reference_lua
    elif ! env "${demo[@]}" WECHAT_URL="$url" target/release/wxcb simulate --text "load check 微信" \
        > "$out/$server.check.log" 2>&1; then
        echo "$server: the check failed:" >&2
        cat "$out/$server.check.log" "$out/$server.server.log" >&2
        exit 1
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "$server: exited before the load" >&2
        cat "$out/$server.server.log" >&2
        exit 1
    fi
    local before after
    before=$(cpu_ticks "$pid")
    taskset -c 1 wrk -t1 -c"$conns" -d"${duration}s" --timeout 2s --latency -s "$script" "$url" \
        > "$out/$server.wrk.txt"
    after=$(cpu_ticks "$pid")
    stop
    if grep -q "Non-2xx" "$out/$server.wrk.txt"; then
        echo "$server: some responses were not 200:" >&2
        cat "$out/$server.wrk.txt" >&2
        exit 1
    fi
    awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" '
         / requests in / {n = $1}
         /^Requests\/sec:/ {rps = $2}
         $1 == "99%" {v = $2; if (v ~ /us$/) ms = v / 1000; else if (v ~ /ms$/) ms = v + 0; else ms = v * 1000}
         END {print rps, ms, ticks / hz * 1e6 / n}' "$out/$server.wrk.txt" >> "$out/$server.runs"
}

for server in $servers; do rm -f "$out/$server.runs"; done
# Rounds interleave the servers, so a slow spell of this shared machine falls on all of them.
for round in $(seq "$rounds"); do
    for server in $servers; do load "$server"; done
done
declare -A rps p99 cpu
for server in $servers; do
    read -r rps[$server] p99[$server] cpu[$server] < <(python3 -c "
import statistics, sys
runs = [tuple(map(float, line.split())) for line in open(sys.argv[1])]
print(*(statistics.median(r[i] for r in runs) for i in range(3)))" "$out/$server.runs")
done

echo "wrk -t1 -c$conns -d${duration}s on CPU 1, each server on CPU 0; safe mode, ~1 KB text;"
echo "median of $rounds interleaved rounds"
printf '%-18s %10s %9s %9s %14s %9s\n' server req/s "p99 ms" "vs bare" "CPU µs/req" "vs bare"
for server in $servers; do
    share=- cost=-
    if [ -n "${rps[bare]:-}" ]; then
        share=$(python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.1%}')" "${rps[$server]}" "${rps[bare]}")
        # Throughput at the server's own CPU cost: bare's CPU per request over this one's.
        cost=$(python3 -c "import sys; print(f'{float(sys.argv[2]) / float(sys.argv[1]):.1%}')" "${cpu[$server]}" "${cpu[bare]}")
    fi
    printf '%-18s %10.0f %9.2f %9s %14.1f %9s\n' "$server" "${rps[$server]}" "${p99[$server]}" "$share" "${cpu[$server]}" "$cost"
done
ratio() { python3 -c "import sys; print(f'{sys.argv[1]} / {sys.argv[2]}: {float(sys.argv[3]) / float(sys.argv[4]):.2f}x')" "$@"; }
for base in granian-wechatpy reference; do
    [ -n "${rps[$base]:-}" ] || continue
    for server in hyper-echo adapter; do
        [ -z "${rps[$server]:-}" ] || ratio "$server" "$base" "${rps[$server]}" "${rps[$base]}"
    done
done
if [ -n "${rps[granian-wechatpy]:-}" ] && [ -n "${rps[reference]:-}" ]; then
    ratio reference granian-wechatpy "${rps[reference]}" "${rps[granian-wechatpy]}"
fi
