#!/usr/bin/env bash
# Packs the main package as it is published: its manifest gains
# `optionalDependencies` on the three gilgauge-linux-* platform packages (at
# this version), so `npm install gilgauge` fetches the one binary that fits.
# They are added only here, not in the repository's package.json, because
# `npm ci` in a clone would otherwise look for unpublished packages.
#
#   scripts/pack-release.sh DEST_DIR     → prints the tarball's path
set -euo pipefail
dest=${1:?usage: scripts/pack-release.sh DEST_DIR}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p "$dest"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
tgz=$(npm pack --silent --ignore-scripts --pack-destination "$stage" | tail -1)
tar -xzf "$stage/$tgz" -C "$stage"
node -e '
const fs = require("fs")
const file = process.argv[1]
const p = JSON.parse(fs.readFileSync(file, "utf8"))
p.optionalDependencies = Object.fromEntries(
  ["linux-x64-gnu", "linux-arm64-gnu", "linux-arm-gnueabihf"].map((platform) => [`gilgauge-${platform}`, p.version]),
)
fs.writeFileSync(file, JSON.stringify(p, null, 2) + "\n")
' "$stage/package/package.json"
(cd "$stage/package" && npm pack --silent --ignore-scripts --pack-destination "$(cd "$OLDPWD" && realpath "$dest")" | tail -1 | sed "s|^|$(realpath "$dest")/|")
