"""The paper's micro-workloads: a pure-Python loop of `x += 1` (holds the GIL
the whole time), then `time.sleep` standing for network or sensor latency."""

import time

from ._register import expose


def _spin(iterations):
    x = 0
    for _ in range(iterations):
        x += 1
    return x


def io_heavy():
    x = _spin(100)
    time.sleep(0.001)
    return x


def io_dominant():
    x = _spin(500)
    time.sleep(0.0005)
    return x


def balanced():
    x = _spin(1000)
    time.sleep(0.0001)
    return x


def cpu_leaning():
    x = _spin(2000)
    time.sleep(0.00005)
    return x


def cpu_heavy():
    x = _spin(5000)
    time.sleep(0.00001)
    return x


def cpu_dominant():
    x = _spin(10000)
    time.sleep(0.000001)
    return x


def _entry(fn, iterations, wait_s):
    return {"fn": fn, "kind": "micro", "cpu_iterations": iterations, "wait_s": wait_s}


# name -> task function and its nominal shape; drivers and the benchmark read this.
PROFILES = {
    "io-heavy": _entry(io_heavy, 100, 0.001),
    "io-dominant": _entry(io_dominant, 500, 0.0005),
    "balanced": _entry(balanced, 1000, 0.0001),
    "cpu-leaning": _entry(cpu_leaning, 2000, 0.00005),
    "cpu-heavy": _entry(cpu_heavy, 5000, 0.00001),
    "cpu-dominant": _entry(cpu_dominant, 10000, 0.000001),
}

for _name, _p in PROFILES.items():
    expose(_name, _p["fn"])
