#!/usr/bin/env bash
# Installs what the cross builds and the emulated tests need. Idempotent: a
# second run checks stamps and returns in about a second.
#
#   scripts/cross/install-deps.sh            build + test needs
#   scripts/cross/install-deps.sh --no-test  build needs only (no Node/arm, no glibc 2.31 runtimes)
#
# What it does (as root; apt-get needs it):
#  1. apt: gcc/libc6-dev cross toolchains for arm64 and armhf (linkers for the
#     Rust unit tests, and the libc qemu-user runs emulated programs on),
#     qemu-user, and Debian's rustc-web/cargo-web (bookworm-security), whose
#     compiler has arm code generation that rustup's toolchain here cannot fetch.
#  2. libstd-rust-web-dev for arm64 and armhf, of exactly the installed
#     rustc-web version, downloaded (not installed) with a private apt state
#     under .cross/apt, and only usr/lib/rustlib/<triple> unpacked into
#     .cross/rust-sysroot. The multiarch libc6:arm64/armhf are never installed
#     (mixed with the -cross libcs they make qemu-user hang or crash).
#  3. zig and cargo-zigbuild from PyPI, in .cross/venv, linked into .cross/bin:
#     zig links against glibc symbol stubs of a chosen version, which gives the
#     glibc floor (GG_GLIBC_FLOOR, 2.31).
#  4. (tests) Node.js for arm64 and armv7 from the npm registry, in .cross/node.
#  5. (tests) A real glibc 2.31 runtime per platform (Debian 11 "bullseye"
#     libc6, libstdc++6, libgcc-s1, libatomic1 and their -cross twins),
#     unpacked into .cross/glibc-2.31/<x64|arm64|armv7>, to load the binaries
#     on the oldest glibc they promise.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

WITH_TEST=1
for a in "$@"; do
  case "$a" in
    --no-test) WITH_TEST=0 ;;
    -h|--help) sed -n 2,25p "$0"; exit 0 ;;
    *) gg_die "unknown option $a" ;;
  esac
done

mkdir -p "$GG_CROSS/stamps"
T0=$(date +%s.%N)

# ---------------------------------------------------------------- 1. apt
APT_PKGS=(gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf libc6-dev-arm64-cross
  libc6-dev-armhf-cross qemu-user rustc-web cargo-web xz-utils binutils)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  gg_log "apt-get install ${missing[*]}"
  [ "$(id -u)" = 0 ] || gg_die "need root for apt-get install (missing: ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for bad in libc6:arm64 libc6:armhf; do
  if dpkg-query -W -f='${Status}' "$bad" 2>/dev/null | grep -q 'install ok installed'; then
    gg_log "WARNING: $bad is installed; with the -cross libcs it breaks qemu-user -L (see docs/cross.md)"
  fi
done

RUST_DEB="$(gg_rust_deb_version)"
[ -n "$RUST_DEB" ] || gg_die "rustc-web is not installed"

# ------------------------------------------- private apt state (download only)
# apt_priv NAME SOURCES_FILE ARCHS... -- apt-get/apt-cache args
apt_priv_opts() {
  local dir="$1" src="$2"; shift 2
  local o=(-o "Dir::State::Lists=$dir/lists" -o "Dir::State::status=/dev/null"
    -o "Dir::Cache=$dir/cache" -o "Dir::Etc::SourceList=$src"
    -o "Dir::Etc::SourceParts=/dev/null" -o "Dir::Etc::Preferences=/dev/null"
    -o "Dir::Etc::PreferencesParts=/dev/null" -o "APT::Architecture=amd64"
    -o "APT::Sandbox::User=root")
  local a
  for a in "$@"; do o+=(-o "APT::Architectures::=$a"); done
  printf '%s\n' "${o[@]}"
}
apt_priv_update() {
  local dir="$1"; shift
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
  local opts; mapfile -t opts < <(apt_priv_opts "$dir" "$@")
  # A partial failure (one stale index on the mirror) is handled by the caller.
  apt-get -qq "${opts[@]}" update >"$dir/update.log" 2>&1 || true
}
apt_priv() {
  local dir="$1" src="$2" archs="$3"; shift 3
  local opts; mapfile -t opts < <(apt_priv_opts "$dir" "$src" $archs)
  "$@" "${opts[@]}"
}

# ------------------------------------- 2. arm standard libraries for rustc-web
need_std=()
for t in arm64 armv7; do
  triple=$(gg_triple $t)
  stamp="$GG_RUST_SYSROOT/lib/rustlib/$triple/.deb-version"
  [ "$(cat "$stamp" 2>/dev/null)" = "$RUST_DEB" ] || need_std+=("$t")
done
if ((${#need_std[@]})); then
  gg_log "libstd-rust-web-dev $RUST_DEB for ${need_std[*]}"
  SRC_BOOKWORM="$GG_CROSS/apt/bookworm.sources"
  mkdir -p "$GG_CROSS/apt" "$GG_CROSS/debs"
  cp /etc/apt/sources.list.d/debian.sources "$SRC_BOOKWORM"
  for t in "${need_std[@]}"; do
    triple=$(gg_triple $t); arch=$(gg_debarch $t)
    # One state per architecture: a bad index of one must not drop the other's.
    ADIR="$GG_CROSS/apt/bookworm-$arch"
    deb="$GG_CROSS/debs/libstd-rust-web-dev_${RUST_DEB}_${arch}.deb"
    if [ ! -s "$deb" ]; then
      apt_priv_update "$ADIR" "$SRC_BOOKWORM" "$arch"
      versions=$(apt_priv "$ADIR" "$SRC_BOOKWORM" "$arch" apt-cache madison "libstd-rust-web-dev:$arch" | awk -F'|' '{gsub(/ /,"",$2); print $2}')
      if grep -qxF "$RUST_DEB" <<<"$versions"; then
        (cd "$GG_CROSS/debs" && apt_priv "$ADIR" "$SRC_BOOKWORM" "$arch" apt-get -qq download "libstd-rust-web-dev:$arch=$RUST_DEB")
      else
        # Seen here: the mirror served a bookworm-security armhf Packages.xz
        # older than its signed InRelease, so apt drops that index. Fall back
        # to the .deb named in that (unsigned-for-us) index, checked against
        # the SHA256 it lists; rustc itself rejects rlibs of another build.
        gg_log "WARNING: apt has no libstd-rust-web-dev:$arch=$RUST_DEB (apt offers: $(echo $versions); see $ADIR/update.log); using the mirror's index without its signature"
        idx="$GG_CROSS/apt/security-$arch-Packages"
        /usr/lib/apt/apt-helper download-file \
          "http://deb.debian.org/debian-security/dists/bookworm-security/main/binary-$arch/Packages.xz" "$idx.xz" >/dev/null
        xz -dcf "$idx.xz" >"$idx"
        read -r fname sha < <(awk -v v="$RUST_DEB" '
          /^Package: /{p=$2} /^Version: /{ver=$2} /^Filename: /{f=$2} /^SHA256: /{s=$2}
          /^$/{ if (p=="libstd-rust-web-dev" && ver==v) print f, s; p=ver=f=s="" }' "$idx")
        [ -n "${fname:-}" ] || gg_die "libstd-rust-web-dev $RUST_DEB ($arch) not in the mirror's index either"
        /usr/lib/apt/apt-helper download-file "http://deb.debian.org/debian-security/$fname" "$deb" "SHA256:$sha" >/dev/null
      fi
    fi
    [ -s "$deb" ] || gg_die "download of libstd-rust-web-dev:$arch failed"
    rm -rf "$GG_RUST_SYSROOT/lib/rustlib/$triple"
    mkdir -p "$GG_RUST_SYSROOT"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$GG_RUST_SYSROOT" --strip-components=2 "./usr/lib/rustlib/$triple"
    echo "$RUST_DEB" >"$GG_RUST_SYSROOT/lib/rustlib/$triple/.deb-version"
  done
fi

# ------------------------------------------------ 3. zig + cargo-zigbuild
ZSTAMP="$GG_CROSS/stamps/zig-$GG_ZIGLANG_VERSION-zigbuild-$GG_ZIGBUILD_VERSION"
if [ ! -e "$ZSTAMP" ] || [ ! -x "$GG_CROSS/bin/zig" ]; then
  gg_log "pip install ziglang==$GG_ZIGLANG_VERSION cargo-zigbuild==$GG_ZIGBUILD_VERSION"
  PY=$(command -v python3)
  [ -x "$GG_CROSS/venv/bin/python" ] || "$PY" -m venv "$GG_CROSS/venv"
  "$GG_CROSS/venv/bin/pip" install -q --disable-pip-version-check \
    "ziglang==$GG_ZIGLANG_VERSION" "cargo-zigbuild==$GG_ZIGBUILD_VERSION"
  zig=$("$GG_CROSS/venv/bin/python" -c 'import ziglang, os; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')
  mkdir -p "$GG_CROSS/bin"
  ln -sfn "$zig" "$GG_CROSS/bin/zig"
  ln -sfn "$GG_CROSS/venv/bin/cargo-zigbuild" "$GG_CROSS/bin/cargo-zigbuild"
  "$GG_CROSS/bin/zig" version >/dev/null
  touch "$ZSTAMP"
fi

if [ "$WITH_TEST" = 1 ]; then
  # ------------------------------------------------ 4. arm Node.js from npm
  for t in arm64 armv7; do
    ndir=$(gg_node_dir $t)
    if [ ! -x "$ndir/bin/node" ]; then
      pkg=$([ $t = arm64 ] && echo "$GG_NODE_ARM64_PKG" || echo "$GG_NODE_ARMV7_PKG")
      gg_log "npm pack $pkg"
      mkdir -p "$GG_CROSS/node"
      tgz=$(cd "$GG_CROSS/node" && npm pack --silent "$pkg" | tail -1)
      rm -rf "$(dirname "$ndir")"; mkdir -p "$(dirname "$ndir")"
      tar -xzf "$GG_CROSS/node/$tgz" -C "$(dirname "$ndir")"
      rm -f "$GG_CROSS/node/$tgz"
    fi
  done

  # ---------------------------------- 5. real glibc 2.31 runtimes (bullseye)
  G="$GG_CROSS/glibc-2.31"
  if [ ! -e "$G/.done" ]; then
    gg_log "Debian 11 glibc 2.31 runtimes into $G"
    SRC_BULLSEYE="$GG_CROSS/apt/bullseye.list"
    mkdir -p "$GG_CROSS/apt"
    cat >"$SRC_BULLSEYE" <<'LIST'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bullseye main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bullseye-security main
LIST
    BDIR="$GG_CROSS/apt/bullseye"
    apt_priv_update "$BDIR" "$SRC_BULLSEYE" amd64
    rm -rf "$G" "$GG_CROSS/debs/bullseye"; mkdir -p "$GG_CROSS/debs/bullseye"
    declare -A RT=(
      [x64]="libc6 libstdc++6 libgcc-s1"
      [arm64]="libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross libatomic1-arm64-cross"
      [armv7]="libc6-armhf-cross libstdc++6-armhf-cross libgcc-s1-armhf-cross libatomic1-armhf-cross"
    )
    for t in x64 arm64 armv7; do
      d="$GG_CROSS/debs/bullseye/$t"; mkdir -p "$d" "$G/$t"
      # shellcheck disable=SC2086
      (cd "$d" && apt_priv "$BDIR" "$SRC_BULLSEYE" amd64 apt-get -qq download ${RT[$t]})
      for f in "$d"/*.deb; do dpkg-deb -x "$f" "$G/$t"; done
    done
    "$G/x64/lib/x86_64-linux-gnu/libc.so.6" >/dev/null 2>&1 || true
    touch "$G/.done"
  fi
fi

gg_log "cross deps ready in $(gg_since "$T0") s (rustc-web $RUST_DEB, zig $("$GG_CROSS/bin/zig" version))"
