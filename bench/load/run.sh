#!/usr/bin/env bash
# Load and correctness run (issue: reliability): starts the hyper example in safe mode with the
# demo account on 127.0.0.1, drives it with `wxcb-load` for DURATION seconds (default 60):
# fresh messages, WeChat-style retries and bad requests from CONNS client threads (default 8),
# every answer checked, the server's resident memory sampled. Fails on any wrong answer or
# on memory growth after WARMUP seconds (default 30, the dedup store's TTL).
#
#   bench/load/run.sh                   DURATION=60 WARMUP=30 CONNS=8 PORT=18091
set -euo pipefail
cd "$(dirname "$0")/../.."

duration=${DURATION:-60}
warmup=${WARMUP:-30}
conns=${CONNS:-8}
port=${PORT:-18091}
log=target/load-server.log

cargo build --release --locked -q -p hyper-echo
cargo build --release --locked -q -p wechat-callback-bench --bin wxcb-load

WECHAT_ADDR="127.0.0.1:$port" WECHAT_MODE=safe \
    WECHAT_AES_KEY=wxcbDemoEncodingAESKey0123456789abcdefghijk \
    target/release/hyper-echo >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done

echo "load: hyper-echo (pid $server, safe mode) on 127.0.0.1:$port for ${duration}s, $conns connections"
target/release/wxcb-load --url "http://127.0.0.1:$port/wechat" --seconds "$duration" \
    --warmup "$warmup" --threads "$conns" --pid "$server"
echo "load: server log: $(grep -c 'callback refused' "$log" || true) refusals logged, $(grep -c 'ERROR' "$log" || true) errors"
