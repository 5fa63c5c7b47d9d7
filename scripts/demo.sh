#!/usr/bin/env bash
# The main job in one command: builds and starts the hyper-echo example with the demo
# account (EncodingAESKey set, compatible mode), plays WeChat against it with
# `wxcb simulate` (URL verification, an encrypted text, a subscribe event, the `help` and
# `MENU_` rules, a plaintext text),
# then stops the server. Exit status: 0 when every answer verified.
#
# Usage: scripts/demo.sh            (listens on WECHAT_ADDR, default 127.0.0.1:8080)
set -euo pipefail
cd "$(dirname "$0")/.."

export WECHAT_ADDR="${WECHAT_ADDR:-127.0.0.1:8080}"
export WECHAT_URL="http://${WECHAT_ADDR}/wechat"
export WECHAT_AES_KEY="${WECHAT_AES_KEY:-wxcbDemoEncodingAESKey0123456789abcdefghijk}"
export WECHAT_MODE="${WECHAT_MODE:-compatible}"

cargo build --quiet -p hyper-echo -p wechat-callback-cli
target/debug/hyper-echo &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT

# Wait (up to 10 s) for the port to accept.
host="${WECHAT_ADDR%:*}"
port="${WECHAT_ADDR##*:}"
for _ in $(seq 100); do
  if (exec 3<>"/dev/tcp/${host}/${port}") 2>/dev/null; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then echo "hyper-echo did not start" >&2; exit 1; fi
  sleep 0.1
done

step() { echo; echo "== wxcb simulate $*"; target/debug/wxcb simulate "$@"; }
step --verify
step --text "hello 你好"
step --event subscribe
step --text help
step --event CLICK --event-key MENU_news
step --mode plain --text "hello in plaintext"
echo
echo "demo: every answer verified"
