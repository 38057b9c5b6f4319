"""Registers all thirteen profiles with the companion in one import:

    python -m gilgauge_bridge --module gilgauge_workloads.tasks

(with python/ on PYTHONPATH and the venv's python for the edge-AI profiles).
Heavy dependencies still load only when a profile first runs.
"""

from . import edge_ai, micro  # noqa: F401  (importing registers)
from . import all_profiles

NAMES = tuple(all_profiles())
