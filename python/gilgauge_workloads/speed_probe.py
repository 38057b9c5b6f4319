"""How fast the host runs Python on one CPU right now, sampled while the bench measures something else.

    python -m gilgauge_workloads.speed_probe --cpu 0 [--iterations 10000] [--every-ms 20]

Pinned to CPU, every EVERY_MS of wall time: ITERATIONS of `x += 1` (the micro-workloads' own loop), timed
by this thread's CPU clock, and one line `<wall ms since the epoch> <ns of CPU per iteration>`. The work is
the same every time, so its CPU cost moves only with the speed the host gives this CPU
(benches/results/host-speed.md: two speeds, ~1.7× apart, changing every few tens of ms, unseen by steal).
At the defaults it takes ~3 % of the CPU, the same for whatever the bench runs beside it.

Runs until stdin closes or its parent is gone, so that it never outlives the bench.
"""

import argparse
import os
import sys
import threading
import time


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m gilgauge_workloads.speed_probe")
    ap.add_argument("--cpu", type=int, required=True)
    ap.add_argument("--iterations", type=int, default=10_000)
    ap.add_argument("--every-ms", type=float, default=20.0)
    args = ap.parse_args(argv)
    if args.iterations < 1 or args.every_ms <= 0:
        ap.error("--iterations must be >= 1 and --every-ms > 0")
    os.sched_setaffinity(0, {args.cpu})
    closed = threading.Event()

    def watch_stdin():
        # EOF on stdin: the bench closed it or died.
        while sys.stdin.buffer.read(4096):
            pass
        closed.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    parent = os.getppid()
    every = args.every_ms / 1000
    out = sys.stdout
    while not closed.is_set() and os.getppid() == parent:
        c0 = time.thread_time_ns()
        x = 0
        for _ in range(args.iterations):
            x += 1
        c1 = time.thread_time_ns()
        out.write("%.1f %.2f\n" % (time.time() * 1000, (c1 - c0) / args.iterations))
        out.flush()
        closed.wait(every)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (BrokenPipeError, KeyboardInterrupt):
        sys.exit(0)
