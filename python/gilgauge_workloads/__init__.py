"""Benchmark workloads for gilgauge: the paper's micro-workloads and seven
edge-AI profiles, each a task function registered with the companion.

Importing this package pins BLAS and OpenMP to one thread *before* numpy can
be imported by any profile, so that the pool size under test is the only
parallelism. The variables are inherited by worker processes too.
"""

import os
import sys

_PINNED = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

for _var in _PINNED:
    os.environ[_var] = "1"

if "numpy" in sys.modules:
    # Too late for the variables above to reach an already loaded BLAS.
    print(
        "gilgauge_workloads: numpy was imported before gilgauge_workloads; "
        "BLAS may use more than one thread",
        file=sys.stderr,
    )

SETUP_HINT = "run scripts/setup-python.sh and use .venv/bin/python"


def all_profiles():
    """Every profile name -> entry (micro first, then edge-AI)."""
    from .edge_ai import PROFILES as edge
    from .micro import PROFILES as micro

    return {**micro, **edge}
