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
args=()
for crate in "${crates[@]}"; do args+=(-p "$crate"); done
echo "package: ${crates[*]}"
cargo package --locked "${args[@]}" "$@"
