"""The companion's main loop: read requests, run calls in the pool, answer."""

import argparse
import importlib
import importlib.util
import json
import os
import sys
import threading
import time
import traceback

from . import _registry, protocol, runtime
from .pool import PARKED_LINGER_S, DuplicateTask, PoolClosed, ResizablePool, Task

# Exit statuses TypeScript can tell apart.
EXIT_OK = 0
EXIT_SCRIPT_FAILED = 3
EXIT_BAD_ARGUMENTS = 2


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python3 -m gilgauge_bridge")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--script", help="path of a Python file that registers functions")
    source.add_argument("--module", help="importable module that registers functions")
    parser.add_argument("--workers", type=int, default=1, help="initial pool size (default 1)")
    parser.add_argument(
        "--max-line-bytes",
        type=int,
        default=protocol.DEFAULT_MAX_LINE_BYTES,
        help="longest protocol line accepted or sent (default 1 MiB)",
    )
    parser.add_argument(
        "--parked-linger-s",
        type=float,
        default=PARKED_LINGER_S,
        help="how long a worker the pool shrank past waits to be taken back before it exits (default 30; 0: at once)",
    )
    parser.add_argument(
        "--cpus",
        help="comma-separated CPU numbers to pin the whole process to (its affinity), e.g. 0 or 0,1",
    )
    return parser.parse_args(argv)


def pin_cpus(spec):
    """Sets the affinity before any thread starts, so that every thread inherits it."""
    cpus = {int(part) for part in spec.split(",") if part.strip()}
    os.sched_setaffinity(0, cpus)


def load_user_code(script, module):
    if module is not None:
        importlib.import_module(module)
        return
    path = os.path.abspath(script)
    # Let the script import its neighbours, as `python3 script.py` would.
    sys.path.insert(0, os.path.dirname(path))
    # Load it under its own name, as `import tools` would, so that a later
    # `import tools` elsewhere finds this module instead of loading a second copy.
    name = os.path.splitext(os.path.basename(path))[0]
    if not name.isidentifier() or name in sys.modules:
        name = "gilgauge_user_script"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError("cannot load %r as a Python file" % path)
    module_object = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module_object
    spec.loader.exec_module(module_object)


def describe_exception(exc):
    kind = type(exc)
    name = kind.__qualname__
    if kind.__module__ not in ("builtins", "__main__"):
        name = "%s.%s" % (kind.__module__, name)
    # Skip the companion's own frame: the traceback starts in user code.
    tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
    return {
        "type": name,
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(kind, exc, tb)),
    }


class Companion:
    def __init__(self, writer, pool_size, parked_linger_s=PARKED_LINGER_S):
        self.writer = writer
        self.pool = ResizablePool(self._run, pool_size, parked_linger_s)
        self.protocol_errors = 0
        self.shutdown_thread = None

    # -- running a call (in a worker thread) ----------------------------

    def _run(self, task, joined=False):
        started_ns = time.monotonic_ns()
        cpu_start = time.thread_time_ns()
        wall_start = time.perf_counter_ns()
        try:
            value = task.fn(*task.args)
            answer = {"type": "result", "id": task.id, "ok": True, "value": value}
        except BaseException as exc:  # noqa: BLE001 - even SystemExit is the caller's answer
            answer = {"type": "result", "id": task.id, "ok": False, "error": describe_exception(exc)}
        wall_ns = time.perf_counter_ns() - wall_start
        cpu_ns = time.thread_time_ns() - cpu_start
        answer["queue_ns"] = started_ns - task.enqueued_ns
        answer["wall_ns"] = wall_ns
        answer["cpu_ns"] = cpu_ns
        answer["tid"] = threading.get_native_id()
        if joined:
            # The worker's first task since it started or came back from parking: the bridge counts it as
            # warm-up, as it does a new thread's.
            answer["joined"] = True
        self.writer.write_line(self._encode_result(task, answer))

    def _encode_result(self, task, answer):
        try:
            line = protocol.encode(answer)
        except (TypeError, ValueError) as exc:
            message = "the result of %r is not JSON-serialisable: %s" % (task.fn_name, exc)
            return protocol.encode(self._replace_value(answer, "TypeError", message))
        if len(line) - 1 > self.writer.max_line_bytes:
            return protocol.encode(
                self._replace_value(
                    answer,
                    "ResultTooLarge",
                    "the result of %r is %d bytes, more than the %d-byte line limit"
                    % (task.fn_name, len(line) - 1, self.writer.max_line_bytes),
                )
            )
        return line

    @staticmethod
    def _replace_value(answer, error_type, message):
        replaced = dict(answer, ok=False, error={"type": error_type, "message": message, "traceback": ""})
        replaced.pop("value", None)
        return replaced

    # -- requests (main thread) -----------------------------------------

    def serve(self, stream):
        for kind, raw in protocol.read_lines(stream, self.writer.max_line_bytes):
            if kind == "oversized":
                self._protocol_error(
                    protocol.guess_id(raw),
                    "line longer than the %d-byte limit; it was discarded" % self.writer.max_line_bytes,
                )
                continue
            if not raw.strip():
                continue
            try:
                message = json.loads(raw.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                self._protocol_error(protocol.guess_id(raw), "malformed JSON: %s" % exc)
                continue
            if not isinstance(message, dict):
                self._protocol_error(None, "a request must be a JSON object")
                continue
            self.handle(message)

    def handle(self, message):
        kind = message.get("type")
        request_id = message.get("id")
        if not isinstance(request_id, (int, str)) or isinstance(request_id, bool):
            self._protocol_error(None, "a request needs an integer or string `id`")
            return
        handler = {
            "call": self._call,
            "cancel": self._cancel,
            "resize": self._resize,
            "stats": self._stats,
            "shutdown": self._shutdown,
        }.get(kind)
        if handler is None:
            self._protocol_error(request_id, "unknown request type %r" % (kind,))
            return
        handler(request_id, message)

    def _call(self, request_id, message):
        fn_name = message.get("fn")
        args = message.get("args", [])
        if not isinstance(fn_name, str) or not isinstance(args, list):
            self._protocol_error(request_id, "a call needs a string `fn` and a list `args`")
            return
        fn = _registry.lookup(fn_name)
        if fn is None:
            known = ", ".join(_registry.registered_functions()) or "none"
            self._refuse(
                request_id, "UnknownFunction", "no function registered as %r; registered: %s" % (fn_name, known)
            )
            return
        try:
            self.pool.submit(Task(request_id, fn_name, fn, args, time.monotonic_ns()))
        except PoolClosed:
            self._refuse(request_id, "ShuttingDown", "the companion is shutting down and takes no new calls")
        except DuplicateTask:
            self._protocol_error(request_id, "a call with id %r is already queued or running" % (request_id,))

    def _refuse(self, request_id, error_type, message):
        self.writer.send(
            {
                "type": "result",
                "id": request_id,
                "ok": False,
                "error": {"type": error_type, "message": message, "traceback": ""},
                "queue_ns": None,
                "wall_ns": None,
                "cpu_ns": None,
                "tid": None,
            }
        )

    def _cancel(self, request_id, _message):
        state = self.pool.cancel(request_id)
        self.writer.send({"type": "cancelled", "id": request_id, "cancelled": state == "queued", "state": state})

    def _resize(self, request_id, message):
        size = message.get("size")
        try:
            previous, live = self.pool.resize(size)
        except ValueError as exc:
            self._protocol_error(request_id, str(exc))
            return
        self.writer.send({"type": "resized", "id": request_id, "from": previous, "to": size, "live": live})

    def _stats(self, request_id, _message):
        answer = {"type": "stats", "id": request_id}
        answer.update(self.pool.counters())
        answer["cores"] = runtime.usable_cores()
        answer["protocol_errors"] = self.protocol_errors
        self.writer.send(answer)

    def _shutdown(self, request_id, _message):
        if self.shutdown_thread is not None:
            return
        self.pool.close()

        # Drain off the main thread so cancels still get through meanwhile.
        def drain_then_exit():
            self.pool.wait_drained()
            self.writer.send({"type": "bye", "id": request_id, "completed": self.pool.completed})
            exit_now(EXIT_OK)

        self.shutdown_thread = threading.Thread(target=drain_then_exit, name="gilgauge-shutdown", daemon=True)
        self.shutdown_thread.start()

    def _protocol_error(self, request_id, message):
        self.protocol_errors += 1
        self.writer.send(protocol.protocol_error(request_id, message))

    def hello(self, max_line_bytes):
        return {
            "type": "hello",
            "protocol": protocol.PROTOCOL_VERSION,
            "pid": os.getpid(),
            "python": sys.version,
            "python_version": list(sys.version_info[:3]),
            "implementation": sys.implementation.name,
            "executable": sys.executable,
            "gil_enabled": runtime.gil_enabled(),
            "runtime": runtime.py_runtime(),
            "functions": _registry.registered_functions(),
            "pool": {"size": self.pool.size},
            "cores": runtime.usable_cores(),
            "max_line_bytes": max_line_bytes,
        }


def exit_now(status):
    """Leave without waiting for worker threads or interpreter teardown: a
    task stuck in C code must not keep the process alive."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)


def main(argv=None):
    options = parse_args(sys.argv[1:] if argv is None else argv)
    if options.workers < 1 or options.max_line_bytes < 1024 or not options.parked_linger_s >= 0:
        sys.stderr.write(
            "gilgauge_bridge: --workers must be >= 1, --max-line-bytes >= 1024 and --parked-linger-s >= 0\n"
        )
        return EXIT_BAD_ARGUMENTS
    if options.cpus:
        try:
            pin_cpus(options.cpus)
        except (ValueError, OSError) as error:
            sys.stderr.write("gilgauge_bridge: --cpus %s: %s\n" % (options.cpus, error))
            return EXIT_BAD_ARGUMENTS
    protocol_in, protocol_out = runtime.take_stdio()
    expected_parent = int(os.environ.get("GILGAUGE_PARENT_PID", "0") or 0)
    runtime.exit_with_parent(expected_parent)
    try:
        load_user_code(options.script, options.module)
    except BaseException:  # noqa: BLE001 - any failure to import is reported the same way
        sys.stderr.write("gilgauge_bridge: could not load %s\n" % (options.script or options.module))
        traceback.print_exc()
        exit_now(EXIT_SCRIPT_FAILED)
    writer = protocol.LineWriter(protocol_out, options.max_line_bytes, lambda: exit_now(EXIT_OK))
    companion = Companion(writer, options.workers, options.parked_linger_s)
    writer.send(companion.hello(options.max_line_bytes))
    with os.fdopen(protocol_in, "rb", buffering=1 << 16) as stream:
        companion.serve(stream)
    if companion.shutdown_thread is not None:
        # Asked to shut down, then stdin closed: finish the drain and say bye.
        companion.shutdown_thread.join()
    # stdin closed without a shutdown: the parent is gone or wants us gone now.
    exit_now(EXIT_OK)
