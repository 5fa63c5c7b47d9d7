#!/usr/bin/env bash
# Many accounts on one server, in each echo example: starts hyper-echo, actix-echo and
# warp-echo in turn with WECHAT_CONFIG=examples/accounts.example.toml (an official account,
# a JSON mini-program, a WeCom application, an open platform and a WeCom suite) and plays
# WeChat at each account's URL with `wxcb`: URL verification and an encrypted text at
# /wechat/shop, the same at /wechat/corp (WeCom), the official mini-program JSON vectors at
# /wechat/mini, an authorizer's text at /wechat/op/{appid}, a corp's text at
# /wechat/suite/{corpid} and the suite's URL verification, and 404 for an id the file does
# not have. Exit status 0 when every answer verified.
#
# Usage: scripts/accounts-demo.sh        (listens on PORT, default 18280)
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PORT:-18280}
base="http://127.0.0.1:$port/wechat"
key=wxcbDemoEncodingAESKey0123456789abcdefghijk

cargo build --quiet --locked -p hyper-echo -p actix-echo -p warp-echo -p wechat-callback-cli
server=
stop() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=; fi
}
trap stop EXIT

for example in hyper-echo actix-echo warp-echo; do
    WECHAT_ADDR="127.0.0.1:$port" WECHAT_CONFIG=examples/accounts.example.toml \
        "target/debug/$example" > "target/$example.accounts.log" 2>&1 &
    server=$!
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
        if ! kill -0 "$server" 2>/dev/null; then cat "target/$example.accounts.log" >&2; exit 1; fi
        sleep 0.1
    done
    simulate() { target/debug/wxcb simulate --aes-key "$key" "$@" > /dev/null; }
    simulate --url "$base/shop" --mode safe --verify
    simulate --url "$base/shop" --mode safe --text "shop 你好"
    simulate --url "$base/corp" --wecom --appid ww0123456789abcdef --agent-id 1000002 --verify
    simulate --url "$base/corp" --wecom --appid ww0123456789abcdef --agent-id 1000002 --text "corp hello"
    # An open-platform authorizer's message (the component's crypto), a suite's data callback
    # from an authorizing corp (that corp's receive id), the suite's URL verification (the
    # provider's corpid).
    simulate --url "$base/op/wxauthorizer0001" --mode safe --appid wx9c1d0a2b3e4f5061 --text "代收 hello"
    simulate --url "$base/suite/wwauthcorp000001" --wecom --appid wwauthcorp000001 --text "suite hello"
    simulate --url "$base/suite" --wecom --appid wwprovider000001 --verify
    target/debug/wxcb replay --url "$base/mini" \
        fixtures/miniprogram_official_echostr.json fixtures/miniprogram_official_json__safe.json \
        | tail -n 1 | grep -q '^2 passed, 0 failed$'
    status=$(python3 -c '
import sys, urllib.error, urllib.request
try:
    print(urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=b"<xml/>")).status)
except urllib.error.HTTPError as e:
    print(e.code)' "$base/nobody")
    if [ "$status" != 404 ]; then echo "$example: /wechat/nobody answered $status" >&2; exit 1; fi
    stop
    echo "accounts: $example: shop, corp, mini, op (an authorizer) and suite (a corp, the provider) verified; an unknown id 404"
done
