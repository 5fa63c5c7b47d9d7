#!/usr/bin/env bash
# HTTP load on 127.0.0.1 only: wrk (Debian's package) against three servers of the same
# engine in safe mode, one ~1 KB encrypted text message per request:
#   bare              hyper service_fn calling Engine::handle inline (the baseline)
#   adapter           wechat-callback-hyper, handlers inline (the default)
#   adapter-blocking  wechat-callback-hyper, router marked blocking_handlers (handler on the blocking pool)
# Each run is bounded: DURATION seconds (default 10) at CONNS connections (default 32) on
# one wrk thread, 2 s per-request timeout; each server is started and stopped by its pid and
# checked with `wxcb simulate` (full reply verification) before it is loaded.
# Prints req/s and p99 per server and the adapter/bare ratio; raw wrk output under
# target/bench-http/.
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=${DURATION:-10}
conns=${CONNS:-32}
port=${PORT:-18090}
out=target/bench-http
mkdir -p "$out"

if ! command -v wrk >/dev/null; then
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
cargo build --release --quiet --locked -p wechat-callback-bench -p wechat-callback-cli

pid=
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; fi; }
trap stop EXIT

url="http://127.0.0.1:$port/wechat"
declare -A rps p99
for server in bare adapter adapter-blocking; do
    target/release/wxcb-serve --addr "127.0.0.1:$port" --server "$server" --workers "${WORKERS:-1}" --lua "$out/post.lua" \
        > "$out/$server.server.log" 2>&1 &
    pid=$!
    for _ in $(seq 50); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
        sleep 0.1
    done
    WECHAT_URL="$url" WECHAT_TOKEN=wxcbDemoToken WECHAT_MODE=safe \
        WECHAT_AES_KEY=wxcbDemoEncodingAESKey0123456789abcdefghijk WECHAT_APPID=wx5e7c1d9a0b3f2468 \
        target/release/wxcb simulate --text "load check 微信" > "$out/$server.check.log"
    wrk -t1 -c"$conns" -d"${duration}s" --timeout 2s --latency -s "$out/post.lua" "$url" \
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

echo "wrk -t1 -c$conns -d${duration}s, safe mode, ~1 KB text, server on ${WORKERS:-1} tokio worker(s)"
printf '%-18s %12s %10s\n' server req/s p99
for server in bare adapter adapter-blocking; do
    printf '%-18s %12s %10s\n' "$server" "${rps[$server]}" "${p99[$server]}"
done
python3 -c "import sys; a, b, c = map(float, sys.argv[1:]); print(f'adapter / bare: {a / b:.1%}; adapter-blocking / bare: {c / b:.1%}')" \
    "${rps[adapter]}" "${rps[bare]}" "${rps[adapter-blocking]}"
