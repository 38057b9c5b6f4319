"""A thread pool whose size can change while it runs.

Growing starts threads at once. Shrinking only lowers the target: a surplus
worker retires when it next looks for work, so a running task is never
interrupted. Each task is taken from the queue under the pool's lock by
exactly one worker, and a cancelled task is removed under the same lock, so
no task is lost or run twice.
"""

import threading
from collections import deque

MAX_POOL_SIZE = 4096


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
    def __init__(self, run_task, size):
        """`run_task(task)` is called in a worker thread for each task and
        must not raise (it reports its own errors)."""
        self._run_task = run_task
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # a task arrived, or workers must retire
        self._settled = threading.Condition(self._lock)  # a task finished, or a worker exited
        self._queue = deque()  # may hold cancelled tasks; `_queued` is the truth
        self._queued = {}
        self._running = {}
        self._target = 0
        self._live = 0
        self._idle = 0
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
            while self._live < self._target:
                self._start_worker()
            if self._live > self._target:
                # Idle workers wake, see they are surplus and retire; busy ones
                # retire after their task.
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
        """The next task for this worker, or None when it must retire.
        Called with the lock held."""
        while True:
            if self._live > self._target:
                self._live -= 1
                if self._queued:
                    # This worker was woken for a task it will not take: pass it on.
                    self._work.notify()
                self._settled.notify_all()
                return None
            while self._queue:
                task = self._queue.popleft()
                if self._queued.pop(task.id, None) is task:
                    self._running[task.id] = task
                    return task
            self._idle += 1
            self._work.wait()
            self._idle -= 1

    def _worker(self):
        while True:
            with self._lock:
                task = self._next_task()
            if task is None:
                return
            try:
                self._run_task(task)
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
                "queued": len(self._queued),
                "running": len(self._running),
                "completed": self.completed,
                "cancelled": self.cancelled,
            }
