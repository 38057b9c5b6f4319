#!/usr/bin/env bash
# Create the benchmark's Python environment: .venv/ in the repo root with
# python/requirements-bench.txt installed and the MobileNetV2 ONNX model built
# into .venv/gilgauge-models/. Safe to run again: it only does what is missing.
#
#   scripts/setup-python.sh            # uses python3 (or $PYTHON)
#
# Prints the venv's python path on stdout when done; progress goes to stderr.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
req="$root/python/requirements-bench.txt"
stamp="$venv/.gilgauge-requirements.sha256"
model="$venv/gilgauge-models/mobilenetv2.onnx"
base_python="${PYTHON:-python3}"

say() { echo "setup-python: $*" >&2; }
die() { say "error: $*"; exit 1; }

command -v "$base_python" >/dev/null || die "no '$base_python' on PATH; set PYTHON=/path/to/python3 (3.11+)"
"$base_python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "$("$base_python" -V 2>&1) is too old: the pinned numpy needs Python 3.11+; set PYTHON=..."

if [ ! -x "$venv/bin/python" ]; then
  say "creating $venv"
  "$base_python" -m venv "$venv" || die "'$base_python -m venv' failed (on Debian: apt-get install python3-venv)"
fi
py="$venv/bin/python"

# Reinstall only when the requirements file changed since the last success.
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing $(basename "$req") (numpy, pandas, onnx, onnxruntime, betapool)"
  log="$(mktemp)"
  if ! "$py" -m pip install --disable-pip-version-check -q -r "$req" >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    rm -f "$log"
    die "pip could not install $req into $venv (see above)"
  fi
  rm -f "$log"
  echo "$want" >"$stamp"
fi

if [ ! -s "$model" ]; then
  say "building MobileNetV2 (seeded weights) -> $model"
  PYTHONPATH="$root/python${PYTHONPATH:+:$PYTHONPATH}" \
    "$py" -m gilgauge_workloads.mobilenetv2 --out "$model" >/dev/null \
    || die "building the MobileNetV2 model failed (see above)"
fi

# Cheap end-to-end check that the profiles' imports resolve in this venv.
PYTHONPATH="$root/python${PYTHONPATH:+:$PYTHONPATH}" "$py" - <<'PY' || die "the venv is incomplete (see above)"
import sys
from gilgauge_workloads import edge_ai
bad = {n: edge_ai.missing(n) for n in edge_ai.PROFILES if edge_ai.missing(n)}
for name, why in bad.items():
    print("  %s: %s" % (name, why), file=sys.stderr)
import betapool  # noqa: F401  (the peer driver needs it)
sys.exit(1 if bad else 0)
PY

say "ready"
echo "$py"
