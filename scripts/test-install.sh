#!/usr/bin/env bash
# Packs the main package and the per-platform packages, then installs them in
# empty directories outside the repo as a user would, and runs the CLI there:
# `gilgauge --version` and a 3 s `gilgauge profile` of a native Python process.
#
#   scripts/test-install.sh [x64|arm64|armv7|all ...]
#
# Needs: `npm run build` done (dist/, native.cjs) and scripts/build-cross.sh
# (npm/<platform>/*.node). For arm, npm itself (this machine's npm-cli.js)
# runs on the emulated arm Node, so npm's own os/cpu/libc checks see arm.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/cross/common.sh"
cd "$GG_ROOT"

targets=()
for a in "$@"; do
  case "$a" in
    all) targets+=(x64 arm64 armv7) ;;
    x64|arm64|armv7) targets+=("$a") ;;
    *) gg_die "unknown argument $a" ;;
  esac
done
((${#targets[@]})) || targets=(x64 arm64 armv7)
[ -f dist/cli/main.js ] && [ -f native.cjs ] || gg_die "run npm run build first (dist/, native.cjs)"

PYTHON=${GG_PYTHON:-$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || command -v python3 )}
NPMCLI="$(dirname "$(readlink -f "$(command -v npm)")")/npm-cli.js"
[ -f "$NPMCLI" ] || NPMCLI=/usr/lib/node_modules/npm/bin/npm-cli.js
WORK=$(mktemp -d /tmp/gilgauge-install.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/tgz"

T0=$(date +%s.%N)
# Packed as published: with optionalDependencies on the platform packages.
main_tgz=$(bash scripts/pack-release.sh "$WORK/tgz")
gg_log "packed $(basename "$main_tgz") in $(gg_since "$T0") s ($(stat -c %s "$main_tgz") bytes)"

passed=0 failed=0
PY_SCRIPT='import threading, time
def spin():
    while True: sum(range(1000))
def nap():
    while True: time.sleep(0.01)
for f in (spin, spin, nap): threading.Thread(target=f, daemon=True).start()
time.sleep(30)'

for t in "${targets[@]}"; do
  platform=$(gg_platform "$t")
  [ -f "npm/$platform/gilgauge.$platform.node" ] || { gg_log "FAIL $t: no npm/$platform/*.node"; failed=$((failed + 1)); continue; }
  plat_tgz="$WORK/tgz/$( (cd "npm/$platform" && npm pack --silent --pack-destination "$WORK/tgz") | tail -1)"
  app="$WORK/app-$t"; mkdir -p "$app"
  echo '{ "name": "gilgauge-install-test", "version": "1.0.0", "private": true }' >"$app/package.json"
  if [ "$t" = x64 ]; then
    NODE=(node)
  else
    NODE=(env "QEMU_LD_PREFIX=$(gg_ld_prefix "$t")" "$(gg_qemu "$t")" "$(gg_node_dir "$t")/bin/node")
  fi
  T1=$(date +%s.%N)
  if (cd "$app" && "${NODE[@]}" "$NPMCLI" install --no-audit --no-fund --loglevel=error "$main_tgz" "$plat_tgz" 2>&1 | grep -v 'install-scripts' | sed 's/^/    /'); then :; fi
  gg_log "$t: npm install took $(gg_since "$T1") s"
  cli="$app/node_modules/gilgauge/dist/cli/main.js"
  if v=$("${NODE[@]}" "$cli" --version 2>&1) && [ -n "$v" ]; then
    gg_log "PASS $t: gilgauge --version -> $v"; passed=$((passed + 1))
  else
    gg_log "FAIL $t: gilgauge --version: $v"; failed=$((failed + 1))
  fi
  T2=$(date +%s.%N)
  # The exit status is not judged: with --duration the CLI ends the target
  # (SIGTERM) and, as of this writing, exits with the target's status (143).
  rc=0
  out=$(cd "$app" && timeout 120 "${NODE[@]}" "$cli" profile --plain --duration 3s -- "$PYTHON" -c "$PY_SCRIPT" 2>&1) || rc=$?
  if [ "$rc" != 124 ] && grep -q 'whole run' <<<"$out"; then
    gg_log "PASS $t: gilgauge profile (3 s, took $(gg_since "$T2") s, exit $rc): $(grep 'whole run' <<<"$out" | cut -c1-150)"
    passed=$((passed + 1))
  else
    gg_log "FAIL $t: gilgauge profile:"; sed 's/^/    /' <<<"$out" | tail -20; failed=$((failed + 1))
  fi
done
echo "install: $passed passed, $failed failed"
[ "$failed" = 0 ]
