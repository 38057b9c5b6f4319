"""Time each profile's CPU phase alone, single-threaded (no sleep).

    python -m gilgauge_workloads.measure [--runs 7] [PROFILE ...]

Prints one JSON object per profile: median wall and thread-CPU milliseconds.
"""

import argparse
import functools
import json
import statistics
import sys
import time

from . import all_profiles
from .micro import _spin


def cpu_phase(name, entry):
    if entry["kind"] == "micro":
        return functools.partial(_spin, entry["cpu_iterations"])
    return entry["cpu"]


def measure(fn, runs):
    fn()  # build inputs, load libraries, create the session
    wall, cpu = [], []
    for _ in range(runs):
        w0, c0 = time.perf_counter(), time.thread_time()
        fn()
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - w0)
    return statistics.median(wall), statistics.median(cpu)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m gilgauge_workloads.measure")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("profiles", nargs="*")
    args = ap.parse_args(argv)
    table = all_profiles()
    status = 0
    for name in args.profiles or list(table):
        entry = table[name]
        try:
            wall, cpu = measure(cpu_phase(name, entry), args.runs)
        except ImportError as e:
            print(json.dumps({"profile": name, "error": str(e)}))
            status = 1
            continue
        print(json.dumps({
            "profile": name,
            "cpu_phase_wall_ms": round(wall * 1e3, 3),
            "cpu_phase_cpu_ms": round(cpu * 1e3, 3),
            "wait_ms": entry["wait_s"] * 1e3,
        }))
    return status


if __name__ == "__main__":
    sys.exit(main())
