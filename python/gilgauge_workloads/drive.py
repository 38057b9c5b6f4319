"""Python-native peer drivers for the benchmark: the same task functions run
under pools that a Python developer would reach for, with a closed-loop load.

    python -m gilgauge_workloads.drive MODE --profile NAME --duration S --warmup S
                                       [--workers N] [--concurrency C] [--cores 0,1]

MODE is one of
  static           concurrent.futures.ThreadPoolExecutor(N)
  betapool         betapool.AdaptiveThreadPoolExecutor() from PyPI, its defaults
                   (min 4, max 64) unless --min-workers/--max-workers are given
  asyncio          C coroutines awaiting asyncio.to_thread on a default executor of N threads
  multiprocessing  concurrent.futures.ProcessPoolExecutor(N), spawn start method

Closed loop: C tasks are outstanding at all times (a new one is submitted as
each completes); C defaults to N for thread pools, to 2N for processes (so a
task is always queued in the call queue while the result of another travels
back), and to max_workers for betapool (so the pool is busy at any size it
picks). Tasks finishing during the warm-up are not counted. One JSON object
goes to stdout; exit status 0, or 1 on a task error, 2 when the profile cannot
run here (missing dependency or model), with {"ok": false, "error": ...}.
"""

import argparse
import asyncio
import json
import os
import sys
import threading
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from . import all_profiles

MODES = ("static", "betapool", "asyncio", "multiprocessing")
SAMPLE_EVERY_S = 0.25  # pool-size time series resolution

_tasks = None


def _run_timed(name):
    """Run one task in the worker; return its own start/end (perf_counter).

    Looked up by name so that it pickles for worker processes. perf_counter is
    CLOCK_MONOTONIC on Linux, so times from worker processes are comparable.
    """
    global _tasks
    if _tasks is None:
        _tasks = {n: e["fn"] for n, e in all_profiles().items()}
    t0 = time.perf_counter()
    _tasks[name]()
    return t0, time.perf_counter()


class Recorder:
    """Collects completions; counts only those that end inside [m0, m1)."""

    def __init__(self, m0, m1):
        self.m0, self.m1 = m0, m1
        self.latency, self.service = [], []
        self.completions_total = 0
        self.error = None
        self._lock = threading.Lock()

    def done(self, t_submit, t_start, t_end, t_seen):
        with self._lock:
            self.completions_total += 1
            if self.m0 <= t_end < self.m1:
                self.latency.append(t_seen - t_submit)
                self.service.append(t_end - t_start)

    def fail(self, exc):
        with self._lock:
            if self.error is None:
                self.error = exc


def _where(exc, frames=3):
    """The innermost frames an exception passed through, "file:line fn" each (for a RecursionError, the loop)."""
    tb = traceback.extract_tb(exc.__traceback__)[-frames:]
    return " < ".join("%s:%d %s" % (os.path.basename(f.filename), f.lineno, f.name) for f in reversed(tb)) or "?"


def _percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def _ms_stats(values):
    values = sorted(values)
    if not values:
        return {"p50": None, "p99": None, "mean": None}
    return {
        "p50": round(_percentile(values, 50) * 1e3, 4),
        "p99": round(_percentile(values, 99) * 1e3, 4),
        "mean": round(sum(values) / len(values) * 1e3, 4),
    }


class PoolSeries:
    """Pool size over time: [seconds since start, configured size, live workers]."""

    def __init__(self, t_start, size_fn, live_fn):
        self.t_start, self.size_fn, self.live_fn = t_start, size_fn, live_fn
        self.points = []

    def sample(self):
        self.points.append([round(time.perf_counter() - self.t_start, 3), self.size_fn(), self.live_fn()])

    def summary(self):
        sizes = [p[1] for p in self.points] or [self.size_fn()]
        live = [p[2] for p in self.points] or [self.live_fn()]
        return {
            "initial": sizes[0],
            "final": sizes[-1],
            "max": max(sizes),
            "live_final": live[-1],
            "live_max": max(live),
            "series": self.points,
        }


def closed_loop(submit, concurrency, name, rec, series, stop_at):
    """Keep `concurrency` tasks outstanding on an executor until `stop_at`.

    Resubmission happens in the done-callback (in the worker thread for thread
    pools), so no dispatcher thread has to win the GIL before a worker gets
    its next task. The main thread only samples the pool size.
    """
    outstanding = set()
    lock = threading.Lock()
    stopping = threading.Event()

    def launch():
        t_submit = time.perf_counter()
        fut = submit(_run_timed, name)
        with lock:
            outstanding.add(fut)
        fut.add_done_callback(lambda f: on_done(f, t_submit))

    def on_done(fut, t_submit):
        t_seen = time.perf_counter()
        with lock:
            outstanding.discard(fut)
        if fut.cancelled():
            return
        exc = fut.exception()
        if exc is not None:
            rec.fail(exc)
            stopping.set()
            return
        t_start, t_end = fut.result()
        rec.done(t_submit, t_start, t_end, t_seen)
        if not stopping.is_set() and t_seen < stop_at:
            try:
                launch()
            except RuntimeError:  # executor already shutting down
                pass

    for _ in range(concurrency):
        launch()
    while not stopping.is_set():
        series.sample()
        left = stop_at - time.perf_counter()
        if left <= 0:
            break
        stopping.wait(min(SAMPLE_EVERY_S, left))
    stopping.set()
    with lock:
        pending = list(outstanding)
    for fut in pending:  # drop queued work; running tasks finish
        fut.cancel()


def run_static(args, rec, t_start, stop_at):
    ex = ThreadPoolExecutor(max_workers=args.workers, thread_name_prefix="gg-static")
    series = PoolSeries(t_start, lambda: args.workers, lambda: len(ex._threads))
    concurrency = args.concurrency or args.workers
    try:
        closed_loop(ex.submit, concurrency, args.profile, rec, series, stop_at)
    finally:
        ex.shutdown(wait=True, cancel_futures=True)
    return {"workers": args.workers, "concurrency": concurrency, "pool": series.summary()}


def run_betapool(args, rec, t_start, stop_at):
    import betapool
    from betapool import AdaptiveThreadPoolExecutor

    kw = {}
    if args.min_workers is not None:
        kw["min_workers"] = args.min_workers
    if args.max_workers is not None:
        kw["max_workers"] = args.max_workers
    ex = AdaptiveThreadPoolExecutor(**kw)
    # get_current_thread_count() is the controller's target; threads it has
    # started are never retired by a scale-down, so report both.
    series = PoolSeries(t_start, ex.get_current_thread_count, lambda: len(ex._executor._threads))
    concurrency = args.concurrency or ex.max_workers
    try:
        closed_loop(ex.submit, concurrency, args.profile, rec, series, stop_at)
    finally:
        ex.shutdown(wait=True)
    decisions = ex.get_decision_history()
    return {
        "concurrency": concurrency,
        "betapool": {
            "version": getattr(betapool, "__version__", None),
            "min_workers": ex.min_workers,
            "max_workers": ex.max_workers,
            "scale_ups": sum(d["decision"] == "scaleUp" for d in decisions),
            "scale_downs": sum(d["decision"] == "scaleDown" for d in decisions),
            "last_decision": decisions[-1] if decisions else None,
        },
        "pool": series.summary(),
    }


def run_multiprocessing(args, rec, t_start, stop_at):
    import multiprocessing

    # spawn: no fork of a process that already has threads (and ONNX Runtime).
    ex = ProcessPoolExecutor(max_workers=args.workers, mp_context=multiprocessing.get_context("spawn"))
    series = PoolSeries(t_start, lambda: args.workers, lambda: len(ex._processes or {}))
    concurrency = args.concurrency or 2 * args.workers
    try:
        closed_loop(ex.submit, concurrency, args.profile, rec, series, stop_at)
    finally:
        ex.shutdown(wait=True, cancel_futures=True)
    return {"workers": args.workers, "concurrency": concurrency, "pool": series.summary()}


def run_asyncio(args, rec, t_start, stop_at):
    concurrency = args.concurrency or args.workers

    async def amain():
        loop = asyncio.get_running_loop()
        ex = ThreadPoolExecutor(max_workers=args.workers, thread_name_prefix="gg-asyncio")
        loop.set_default_executor(ex)  # asyncio.to_thread runs on this
        series = PoolSeries(t_start, lambda: args.workers, lambda: len(ex._threads))

        async def client():
            while time.perf_counter() < stop_at and rec.error is None:
                t_submit = time.perf_counter()
                try:
                    t0, t1 = await asyncio.to_thread(_run_timed, args.profile)
                except Exception as e:
                    rec.fail(e)
                    return
                rec.done(t_submit, t0, t1, time.perf_counter())

        clients = [asyncio.create_task(client()) for _ in range(concurrency)]
        while time.perf_counter() < stop_at and rec.error is None:
            series.sample()
            await asyncio.sleep(min(SAMPLE_EVERY_S, max(0.0, stop_at - time.perf_counter())))
        await asyncio.gather(*clients)
        return series

    series = asyncio.run(amain())  # also shuts the default executor down
    return {"workers": args.workers, "concurrency": concurrency, "pool": series.summary()}


RUNNERS = {
    "static": run_static,
    "betapool": run_betapool,
    "asyncio": run_asyncio,
    "multiprocessing": run_multiprocessing,
}


def parse_cores(text):
    cores = set()
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            lo, hi = part.split("-", 1)
            cores.update(range(int(lo), int(hi) + 1))
        elif part:
            cores.add(int(part))
    if not cores:
        raise argparse.ArgumentTypeError("no cores in %r" % text)
    return sorted(cores)


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="python -m gilgauge_workloads.drive",
                                 description="closed-loop peer drivers for gilgauge bench")
    ap.add_argument("mode", choices=MODES)
    ap.add_argument("--profile", required=True)
    ap.add_argument("--duration", type=float, default=5.0, help="measured seconds (default 5)")
    ap.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds first (default 1)")
    ap.add_argument("--workers", type=int, help="pool size N (static, asyncio, multiprocessing)")
    ap.add_argument("--concurrency", type=int, help="outstanding tasks (default: see above)")
    ap.add_argument("--min-workers", type=int, help="betapool only; its default is 4")
    ap.add_argument("--max-workers", type=int, help="betapool only; its default is 64")
    ap.add_argument("--cores", type=parse_cores, help="CPU affinity, e.g. 0 or 0,1 or 0-1")
    args = ap.parse_args(argv)
    if args.mode != "betapool" and not args.workers:
        ap.error("%s needs --workers N" % args.mode)
    if args.workers is not None and args.workers < 1:
        ap.error("--workers must be >= 1")
    if args.duration <= 0 or args.warmup < 0:
        ap.error("--duration must be > 0 and --warmup >= 0")
    return args


def _emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main(argv=None):
    args = parse_args(argv)
    if args.cores:
        # Before any thread or process exists, so all of them inherit it.
        os.sched_setaffinity(0, args.cores)
    base = {"mode": args.mode, "profile": args.profile, "python": sys.version.split()[0],
            "cores": sorted(os.sched_getaffinity(0))}

    profiles = all_profiles()
    if args.profile not in profiles:
        _emit(dict(base, ok=False, error="unknown profile %r; known: %s" % (args.profile, ", ".join(profiles))))
        return 2
    if profiles[args.profile]["kind"] == "edge":
        from .edge_ai import missing

        why = missing(args.profile)
        if why:
            _emit(dict(base, ok=False, error=why))
            return 2
    if args.mode == "betapool":
        try:
            import betapool  # noqa: F401
        except ImportError as e:
            from . import SETUP_HINT

            _emit(dict(base, ok=False, error="betapool is not installed (%s): %s" % (e, SETUP_HINT)))
            return 2

    t_start = time.perf_counter()
    epoch_offset = time.time() - t_start  # perf_counter -> wall clock, for the bench's speed probe
    m0 = t_start + args.warmup
    m1 = m0 + args.duration
    rec = Recorder(m0, m1)
    # This process's CPU at the measured interval's ends (all its threads; a multiprocessing pool's workers
    # are other processes, so not for that mode): the CPUs the pool kept busy, for the bench's speed check.
    cpu_marks = {}

    def mark(key):
        cpu_marks[key] = (time.perf_counter(), time.process_time())

    timers = [threading.Timer(max(0.0, at - time.perf_counter()), mark, (key,))
              for key, at in (("m0", m0), ("m1", m1))]
    for timer in timers:
        timer.daemon = True
        timer.start()
    extra = RUNNERS[args.mode](args, rec, t_start, m1)
    for timer in timers:
        timer.join(timeout=5.0)
    busy = None
    if args.mode != "multiprocessing" and "m0" in cpu_marks and "m1" in cpu_marks:
        (w0, c0), (w1, c1) = cpu_marks["m0"], cpu_marks["m1"]
        busy = round((c1 - c0) / (w1 - w0), 3) if w1 > w0 else None
    if rec.error is not None:
        _emit(dict(base, ok=False, error="task failed: %r at %s" % (rec.error, _where(rec.error))))
        return 1

    completions = len(rec.latency)
    _emit(dict(
        base,
        ok=True,
        warmup_s=args.warmup,
        duration_s=args.duration,
        completions=completions,
        completions_total=rec.completions_total,
        throughput=round(completions / args.duration, 3),
        window_ms=[round((m0 + epoch_offset) * 1000, 1), round((m1 + epoch_offset) * 1000, 1)],
        busy_cpus=busy,
        latency_ms=_ms_stats(rec.latency),  # submit -> completion seen by the driver
        service_ms=_ms_stats(rec.service),  # start -> end inside the worker
        **extra,
    ))
    return 0


if __name__ == "__main__":
    sys.exit(main())
