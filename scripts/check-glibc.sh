#!/usr/bin/env bash
# Fails when a .node (or any ELF) needs a glibc symbol version above the floor.
#
#   scripts/check-glibc.sh [FILE...]    default: npm/*/gilgauge.*.node
#   GG_GLIBC_FLOOR=2.31 (default)
#
# Reads the version needs (readelf -V, .gnu.version_r) — what the dynamic
# loader checks — and prints, per file: architecture, highest GLIBC_ version,
# stripped size, and OK/FAIL. Also fails above 2 MB (GG_SIZE_BUDGET bytes).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/cross/common.sh"
BUDGET="${GG_SIZE_BUDGET:-2097152}"

files=("$@")
if ((${#files[@]} == 0)); then
  shopt -s nullglob
  files=("$GG_ROOT"/npm/*/gilgauge.*.node)
  ((${#files[@]})) || gg_die "no npm/*/gilgauge.*.node: run scripts/build-cross.sh first"
fi

fail=0
for f in "${files[@]}"; do
  [ -f "$f" ] || { echo "FAIL $f: missing"; fail=1; continue; }
  machine=$(readelf -h "$f" | awk -F: '/Machine:/ {gsub(/^ +/,"",$2); print $2}')
  # Every "Name: GLIBC_x.y" in the version-needs section, highest first.
  max=$(readelf -V --wide "$f" | grep -o 'Name: GLIBC_[0-9][0-9.]*' | sed 's/Name: GLIBC_//' | sort -V | tail -1)
  max=${max:-none}
  size=$(stat -c %s "$f")
  stripped=$(file -b "$f" | grep -o 'not stripped\|stripped' | head -1)
  verdict=OK
  if [ "$max" != none ] && [ "$(printf '%s\n%s\n' "$max" "$GG_GLIBC_FLOOR" | sort -V | tail -1)" != "$GG_GLIBC_FLOOR" ]; then
    verdict="FAIL (needs GLIBC_$max > $GG_GLIBC_FLOOR)"; fail=1
    readelf -V --wide "$f" | grep "Name: GLIBC_$max" >&2 || true
    objdump -T "$f" | grep "GLIBC_$max" | sed 's/^/  symbol: /' >&2 || true
  fi
  if ((size > BUDGET)); then verdict="$verdict; FAIL (size $size > $BUDGET)"; fail=1; fi
  printf '%-60s %-10s max GLIBC_%-6s %8d bytes %-12s %s\n' "${f#"$GG_ROOT"/}" "$machine" "$max" "$size" "$stripped" "$verdict"
done
exit $fail
