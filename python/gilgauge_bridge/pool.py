"""A thread pool whose size can change while it runs.

Shrinking only lowers the target: a surplus worker stops taking tasks when it
next looks for work, so a running task is never interrupted. It then waits,
parked, for up to PARKED_LINGER_S before it exits, and growing takes parked
workers back before it starts new threads. A controller explores sizes: it
tries a few threads more, goes back, tries again; and a worker's thread-local
state (an ONNX Runtime session, a connection) can cost many tasks' worth of
CPU to build (MobileNetV2's session: ~45 ms against ~10 ms a task). A parked
worker keeps it.

Each task is taken from the queue under the pool's lock by exactly one
worker, and a cancelled task is removed under the same lock, so no task is
lost or run twice.
"""

import threading
import time
from collections import deque

MAX_POOL_SIZE = 4096

# How long a surplus worker waits to be taken back before it exits: long enough to outlast a controller's
# try-and-go-back (seconds), short enough that a pool shrunk for good gives its threads' memory back.
PARKED_LINGER_S = 30.0


class PoolClosed(Exception):
    pass


class DuplicateTask(Exception):
    pass


class Task:
    """One submitted call. `enqueued_ns` is time.monotonic_ns() at submission."""

    __slots__ = ("id", "fn_name", "fn", "args", "enqueued_ns")

    def __init__(self, task_id, fn_name, fn, args, enqueued_ns):
        self.id = task_id
        self.fn_name = fn_name
        self.fn = fn
        self.args = args
        self.enqueued_ns = enqueued_ns


class ResizablePool:
    def __init__(self, run_task, size, parked_linger_s=PARKED_LINGER_S):
        """`run_task(task, joined)` is called in a worker thread for each task
        and must not raise (it reports its own errors). `joined` is True for a
        worker's first task since it started or was taken back from parking."""
        self._run_task = run_task
        self._parked_linger_s = parked_linger_s
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # a task arrived, or workers must park
        self._settled = threading.Condition(self._lock)  # a task finished, or a worker parked or exited
        self._unpark = threading.Condition(self._lock)  # the pool grew: parked workers are wanted back
        self._queue = deque()  # may hold cancelled tasks; `_queued` is the truth
        self._queued = {}
        self._running = {}
        self._target = 0
        self._live = 0  # workers taking tasks
        self._idle = 0
        self._parked = 0  # surplus workers waiting to be taken back, not counting those already called
        self._called_back = 0  # parked workers the pool took back that have not woken yet
        self._closed = False
        self._worker_serial = 0
        self.completed = 0
        self.cancelled = 0
        self.resize(size)

    # -- submitting and cancelling --------------------------------------

    def submit(self, task):
        with self._lock:
            if self._closed:
                raise PoolClosed()
            if task.id in self._queued or task.id in self._running:
                raise DuplicateTask()
            self._queue.append(task)
            self._queued[task.id] = task
            self._work.notify()

    def cancel(self, task_id):
        """"queued" if the task was waiting (it will never run), "running" if a
        worker has it (it runs to the end), "unknown" otherwise."""
        with self._lock:
            if self._queued.pop(task_id, None) is not None:
                self.cancelled += 1
                self._settled.notify_all()
                return "queued"
            if task_id in self._running:
                return "running"
            return "unknown"

    # -- sizing ------------------------------------------------------------

    def resize(self, size):
        """Set the target size; returns (previous target, live threads now)."""
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_POOL_SIZE:
            raise ValueError("pool size must be an integer from 1 to %d" % MAX_POOL_SIZE)
        with self._lock:
            previous = self._target
            self._target = size
            back = min(self._parked, self._target - self._live)
            if back > 0:
                self._parked -= back
                self._called_back += back
                self._live += back
                self._unpark.notify(back)
            while self._live < self._target:
                self._start_worker()
            if self._live > self._target:
                # Idle workers wake, see they are surplus and park; busy ones
                # park after their task.
                self._work.notify_all()
            return previous, self._live

    @property
    def size(self):
        return self._target

    def _start_worker(self):
        self._worker_serial += 1
        thread = threading.Thread(
            target=self._worker, name="gilgauge-worker-%d" % self._worker_serial, daemon=True
        )
        self._live += 1
        thread.start()

    # -- the workers -------------------------------------------------------

    def _next_task(self):
        """(the next task for this worker, whether it was parked meanwhile),
        or (None, _) when it must exit. Called with the lock held."""
        parked = False
        while True:
            if self._live > self._target:
                self._live -= 1
                if self._queued:
                    # This worker was woken for a task it will not take: pass it on.
                    self._work.notify()
                self._settled.notify_all()
                if not self._park():
                    return None, parked
                parked = True
                continue
            while self._queue:
                task = self._queue.popleft()
                if self._queued.pop(task.id, None) is task:
                    self._running[task.id] = task
                    return task, parked
            self._idle += 1
            self._work.wait()
            self._idle -= 1

    def _park(self):
        """Wait, parked, until the pool takes this worker back (True) or the
        linger runs out (False: exit). Called with the lock held; the worker
        no longer counts as live."""
        self._parked += 1
        deadline = time.monotonic() + self._parked_linger_s
        while True:
            if self._called_back > 0:
                # resize() already counted this worker as live again.
                self._called_back -= 1
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                self._parked -= 1
                self._settled.notify_all()
                return False
            self._unpark.wait(left)

    def _worker(self):
        joined = True
        while True:
            with self._lock:
                task, parked = self._next_task()
            if task is None:
                return
            try:
                self._run_task(task, joined or parked)
                joined = False
            finally:
                with self._lock:
                    del self._running[task.id]
                    self.completed += 1
                    self._settled.notify_all()

    # -- shutting down -----------------------------------------------------

    def close(self):
        """Refuse new tasks; queued and running ones still finish."""
        with self._lock:
            self._closed = True

    def wait_drained(self, timeout=None):
        """Block until nothing is queued or running; False on timeout."""
        with self._lock:
            return self._settled.wait_for(lambda: not self._queued and not self._running, timeout)

    def counters(self):
        with self._lock:
            return {
                "size": self._target,
                "live": self._live,
                "idle": self._idle,
                "parked": self._parked,
                "started": self._worker_serial,
                "queued": len(self._queued),
                "running": len(self._running),
                "completed": self.completed,
                "cancelled": self.cancelled,
            }
