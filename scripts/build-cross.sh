#!/usr/bin/env bash
# Builds the prebuilt addons for the per-platform npm packages.
#
#   scripts/build-cross.sh [x64|arm64|armv7|all ...] [--out DIR]
#
# Each target goes through `napi build --platform --release -x`, i.e.
# cargo-zigbuild with zig as the linker, targeting <triple>.<glibc floor> so
# the binary only references glibc symbol versions up to GG_GLIBC_FLOOR (2.31).
#  - x64 uses rustup's toolchain as usual (target dir target/cross/x64).
#  - arm64/armv7 use Debian's rustc-web/cargo-web (RUSTC=/usr/bin/rustc
#    CARGO=/usr/bin/cargo) with the matching arm std from .cross/rust-sysroot
#    (target dir target/cross/arm).
# The stripped gilgauge.<platform>.node lands in npm/<platform>/ (or DIR),
# where `npm pack` of that package picks it up. Runs scripts/check-glibc.sh on
# what it built. Run scripts/cross/install-deps.sh first (done automatically).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/cross/common.sh"
cd "$GG_ROOT"

targets=() out=""
while (($#)); do
  case "$1" in
    all) targets+=(x64 arm64 armv7) ;;
    x64|arm64|armv7) targets+=("$1") ;;
    --out) out="$2"; shift ;;
    -h|--help) sed -n 2,17p "$0"; exit 0 ;;
    *) gg_die "unknown argument $1 (x64|arm64|armv7|all, --out DIR)" ;;
  esac
  shift
done
((${#targets[@]})) || targets=(x64 arm64 armv7)

"$GG_ROOT/scripts/cross/install-deps.sh" --no-test

NAPI="$GG_ROOT/node_modules/.bin/napi"
[ -x "$NAPI" ] || gg_die "node_modules/.bin/napi missing: run npm ci first"

built=()
for t in "${targets[@]}"; do
  triple=$(gg_triple "$t"); platform=$(gg_platform "$t")
  dest="${out:-$GG_ROOT/npm/$platform}"
  stage="$GG_CROSS/out/$t"
  rm -rf "$stage"; mkdir -p "$stage" "$dest"
  T0=$(date +%s.%N)
  gg_log "build $t ($triple.$GG_GLIBC_FLOOR)"
  args=(build --platform --release --strip -x --no-js
    --manifest-path crates/node/Cargo.toml --package-json-path package.json
    --target "$triple.$GG_GLIBC_FLOOR" --output-dir "$stage")
  if [ "$t" = x64 ]; then
    # rustup's toolchain; zig and cargo-zigbuild from .cross/bin.
    env PATH="$GG_CROSS/bin:$PATH" "$NAPI" "${args[@]}" --target-dir "$GG_TARGET_X64"
  else
    # Debian's compiler; the sysroot flag reaches only target crates (cargo
    # leaves RUSTFLAGS off build scripts and proc macros when --target is set).
    env PATH="$GG_CROSS/bin:/usr/bin:$PATH" RUSTC=/usr/bin/rustc CARGO=/usr/bin/cargo \
      RUSTFLAGS="--sysroot=$GG_RUST_SYSROOT ${GG_CROSS_RUSTFLAGS:-}" \
      "$NAPI" "${args[@]}" --target-dir "$GG_TARGET_ARM"
  fi
  node_file="$stage/gilgauge.$platform.node"
  [ -f "$node_file" ] || gg_die "napi build produced no $node_file"
  cp "$node_file" "$dest/"
  built+=("$dest/gilgauge.$platform.node")
  gg_log "built $t in $(gg_since "$T0") s: $(stat -c %s "$node_file") bytes -> $dest/"
done

"$GG_ROOT/scripts/check-glibc.sh" "${built[@]}"
