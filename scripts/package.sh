#!/usr/bin/env bash
# `cargo package` for every publishable crate of the workspace (those without
# `publish = false`): each is packed and built from its own tarball, intra-workspace
# dependencies resolved from the packages made in the same run. CI runs it.
#
#   scripts/package.sh [extra cargo package flags, e.g. --allow-dirty]
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t crates < <(cargo metadata --no-deps --format-version 1 --locked | python3 -c '
import json, sys
meta = json.load(sys.stdin)
members = set(meta["workspace_members"])
for package in meta["packages"]:
    if package["id"] in members and package.get("publish") != []:
        print(package["name"])
')
# Cargo treats a registry version as immutable: it unpacks what it verifies from its
# temporary local registry into the registry cache (keyed by that registry's path), and
# builds it in the workspace's target dir, where the fingerprint of a registry crate never
# goes stale. A second run from the same checkout would verify against last run's build of
# our crates. Forget those (our crates only; dependencies stay built).
cargo_home=${CARGO_HOME:-$HOME/.cargo}
target=${CARGO_TARGET_DIR:-target}
rm -rf "$cargo_home"/registry/src/-*/wechat-callback* "$target"/package \
    "$target"/debug/.fingerprint/wechat-callback*

args=()
for crate in "${crates[@]}"; do args+=(-p "$crate"); done
echo "package: ${crates[*]}"
cargo package --locked "${args[@]}" "$@"
