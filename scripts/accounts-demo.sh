#!/usr/bin/env bash
# Many accounts on one server, in each echo example: starts hyper-echo, actix-echo and
# warp-echo in turn with WECHAT_CONFIG=examples/accounts.example.toml (an official account,
# a JSON mini-program, a WeCom application, an open platform and a WeCom suite) and plays
# WeChat at each account's URL with `wxcb simulate --config … --account ID`: URL verification
# and an encrypted text at /wechat/shop and /wechat/corp (WeCom), a JSON text and the
# official JSON vectors at /wechat/mini, an authorization event at /wechat/op and an
# authorizer's text at /wechat/op/{appid}, a command callback at /wechat/suite, a corp's text
# at /wechat/suite/{corpid} and the suite's URL verification, and 404 for an id the file does
# not have. Exit status 0 when every answer verified.
#
# Usage: scripts/accounts-demo.sh        (listens on PORT, default 18280)
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PORT:-18280}
base="http://127.0.0.1:$port/wechat"
config=examples/accounts.example.toml

cargo build --quiet --locked -p hyper-echo -p actix-echo -p warp-echo -p wechat-callback-cli

# Bad input per surface: a message encrypted for another receive id, recorded as a fixture by
# `wxcb encrypt --config … --encrypt-for` (expecting the `appid` class, -40005) and replayed
# over HTTP at the account's URL below.
bad=$(mktemp -d)
text() {
    printf '<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content><MsgId>1</MsgId></xml>' "$1"
}
text gh_1 > "$bad/text.xml"
text ww0123456789abcdef > "$bad/corp.xml"
printf '{"ToUserName":"gh_1","FromUserName":"o1","CreateTime":1,"MsgType":"text","Content":"hi","MsgId":1}' > "$bad/text.json"
printf '<xml><SuiteId><![CDATA[ww9c1d0a2b3e4f5062]]></SuiteId><InfoType><![CDATA[suite_ticket]]></InfoType><TimeStamp>1</TimeStamp></xml>' > "$bad/ticket.xml"
record_bad() {
    local account=$1; shift
    target/debug/wxcb encrypt --config "$config" --account "$account" --encrypt-for wxnobody \
        --fixture "bad_receive_id_$account" "$@" > "$bad/$account.json"
    grep -q '"error": "appid"' "$bad/$account.json"
}
record_bad shop --xml "$bad/text.xml"
record_bad mini --json "$bad/text.json"
record_bad corp --xml "$bad/corp.xml"
record_bad op --xml "$bad/text.xml" --on-behalf-of wxauthorizer0001
record_bad suite --xml "$bad/ticket.xml"
server=
stop() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=; fi
}
trap 'stop; rm -rf "$bad"' EXIT

for example in hyper-echo actix-echo warp-echo; do
    WECHAT_ADDR="127.0.0.1:$port" WECHAT_CONFIG=examples/accounts.example.toml \
        "target/debug/$example" > "target/$example.accounts.log" 2>&1 &
    server=$!
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
        if ! kill -0 "$server" 2>/dev/null; then cat "target/$example.accounts.log" >&2; exit 1; fi
        sleep 0.1
    done
    # `wxcb simulate --config FILE --account ID` takes each account's platform, secrets, mode
    # and format from the same file the server reads.
    simulate() {
        local account=$1; shift
        target/debug/wxcb simulate --config "$config" --account "$account" \
            --url "$base/$account" "$@" > /dev/null
    }
    simulate shop --verify
    simulate shop --text "shop 你好"
    simulate corp --verify
    simulate corp --text "corp hello"
    simulate mini --verify
    simulate mini --text "小程序 hello"
    # The open platform: an authorization event, then an authorizer's message at
    # /wechat/op/{appid} (the component's crypto); the suite: a command callback, a corp's
    # data callback at /wechat/suite/{corpid} (that corp's receive id), the URL verification
    # (the provider's corpid).
    simulate op --info component_verify_ticket
    simulate op --on-behalf-of wxauthorizer0001 --text "代收 hello"
    simulate suite --info suite_ticket
    simulate suite --on-behalf-of wwauthcorp000001 --text "suite hello"
    simulate suite --verify
    # The official mini-program JSON vectors, as published.
    target/debug/wxcb replay --url "$base/mini" \
        fixtures/miniprogram_official_echostr.json fixtures/miniprogram_official_json__safe.json \
        | tail -n 1 | grep -q '^2 passed, 0 failed$'
    # The routing rules of issue 14: `help` exactly, and menu keys, on an official account.
    said() {
        local account=$1 want=$2; shift 2
        local out
        out=$(target/debug/wxcb simulate --config "$config" --account "$account" \
            --url "$base/$account" "$@")
        grep -q "^  Content: $want" <<<"$out" || { echo "$example: expected $want: $out" >&2; exit 1; }
    }
    said shop "help:" --text help
    said shop "menu news" --event CLICK --event-key MENU_news
    said shop "help me" --text "help me"
    # Prometheus text at /metrics on the same address, counting what was just played.
    python3 - "http://127.0.0.1:$port/metrics" <<'PY'
import sys, urllib.request
text = urllib.request.urlopen(sys.argv[1]).read().decode()
for want in ('wechat_callbacks_total{account="shop",kind="text",outcome="ok"}',
             'wechat_callbacks_total{account="corp",kind="echostr",outcome="ok"}',
             'wechat_handler_seconds_bucket{account="shop",kind="text",le="0.005"}'):
    if want not in text:
        sys.exit(f"/metrics lacks {want}:\n{text}")
PY
    for account in shop mini corp op suite; do
        target/debug/wxcb replay --resign --url "$base/$account" "$bad/$account.json" \
            | tail -n 1 | grep -q '^1 passed, 0 failed$'
    done
    status=$(python3 -c '
import sys, urllib.error, urllib.request
try:
    print(urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=b"<xml/>")).status)
except urllib.error.HTTPError as e:
    print(e.code)' "$base/nobody")
    if [ "$status" != 404 ]; then echo "$example: /wechat/nobody answered $status" >&2; exit 1; fi
    stop
    echo "accounts: $example: shop, corp, mini (JSON), op (an authorization event, an authorizer) and suite (a command, a corp, the provider) verified; a wrong receive id refused on each; help and MENU_ rules; /metrics; an unknown id 404"
done
