#!/usr/bin/env bash
# HTTP load on 127.0.0.1 only: wrk (Debian's package) against servers that all answer the
# same request the same way: one ~1 KB encrypted text message (safe mode, the demo account),
# echoed back as an encrypted text reply.
#   granian-wechatpy  wechatpy 1.8.18's pipeline as a WSGI app (bench/http/wechatpy_app.py)
#                     under granian, one worker
#   hyper-echo        the hyper-echo example, release build, as a user runs it (deduplication
#                     on: every request after the first is a retry of the same message, still
#                     verified, decrypted, parsed, and answered with the cached reply encrypted
#                     anew)
#   bare              hyper service_fn calling Engine::handle inline (the baseline)
#   adapter           wechat-callback-hyper, the echo handlers inline: hyper-echo without dedup
#   adapter-blocking  the same with the router marked blocking_handlers (handler on the pool)
#   hyper-async, actix-async, warp-async
#                     each adapter with an async echo handler
# (all but the first two are bench/runner's wxcb-serve, deduplication off: wrk repeats one
# message). SERVERS="..." picks some. Each server is pinned to CPU 0 and wrk to CPU 1
# (taskset), one server at a time: DURATION seconds (default 10) at CONNS connections
# (default 32) on one wrk thread, 2 s per-request timeout. Before it is loaded each server is
# checked with `wxcb simulate`, which verifies the reply in full (MsgSignature, decryption,
# appid, addressing), so every server does the whole job. Prints req/s and p99 per server and
# the ratios; raw output under target/bench-http/.
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=${DURATION:-10}
conns=${CONNS:-32}
port=${PORT:-18090}
servers=${SERVERS:-granian-wechatpy hyper-echo bare adapter adapter-blocking hyper-async actix-async warp-async}
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
# The request wrk sends, signed with the current time (300 s window).
target/release/wxcb-serve --lua "$out/post.lua" --write-only

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
declare -A rps p99
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
for server in $servers; do
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
    if ! env "${demo[@]}" WECHAT_URL="$url" target/release/wxcb simulate --text "load check 微信" \
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
    taskset -c 1 wrk -t1 -c"$conns" -d"${duration}s" --timeout 2s --latency -s "$out/post.lua" "$url" \
        > "$out/$server.wrk.txt"
    stop
    if grep -q "Non-2xx" "$out/$server.wrk.txt"; then
        echo "$server: some responses were not 200:" >&2
        cat "$out/$server.wrk.txt" >&2
        exit 1
    fi
    rps[$server]=$(awk '/^Requests\/sec:/ {print $2}' "$out/$server.wrk.txt")
    p99[$server]=$(awk '$1 == "99%" {print $2}' "$out/$server.wrk.txt")
done

echo "wrk -t1 -c$conns -d${duration}s on CPU 1, each server on CPU 0; safe mode, ~1 KB text"
printf '%-18s %12s %10s %10s\n' server req/s p99 "vs bare"
for server in $servers; do
    ratio=-
    if [ -n "${rps[bare]:-}" ]; then
        ratio=$(python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.1%}')" "${rps[$server]}" "${rps[bare]}")
    fi
    printf '%-18s %12s %10s %10s\n' "$server" "${rps[$server]}" "${p99[$server]}" "$ratio"
done
if [ -n "${rps[granian-wechatpy]:-}" ]; then
    for server in hyper-echo adapter; do
        if [ -n "${rps[$server]:-}" ]; then
            python3 -c "import sys; print(f'{sys.argv[1]} / granian-wechatpy: {float(sys.argv[2]) / float(sys.argv[3]):.1f}x')" \
                "$server" "${rps[$server]}" "${rps[granian-wechatpy]}"
        fi
    done
fi
