#!/usr/bin/env bash
# Our engine against wechatpy 1.8.18 on the same corpus, in alternating turns.
# Makes a virtualenv under target/ (wechatpy and cryptography from PyPI), builds the release
# runner, and hands every argument to compare.py (--rounds, --messages, --json FILE, ...).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/bench-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check "wechatpy==1.8.18" "cryptography>=41"
cargo build --release --quiet --locked -p wechat-callback-bench
exec "$venv/bin/python" bench/compare/compare.py --runner target/release/wxcb-bench "$@"
