"""The NDJSON wire format: one JSON object per line, in both directions.

TypeScript → companion (every request carries an `id` chosen by the caller):

    {"type": "call", "id": 7, "fn": "name", "args": [...]}
    {"type": "cancel", "id": 7}              cancels call 7 if it is still queued
    {"type": "resize", "id": 8, "size": 4}
    {"type": "stats", "id": 9}
    {"type": "shutdown", "id": 10}

Companion → TypeScript:

    {"type": "hello", "protocol": 1, "pid": ..., ...}          once, first
    {"type": "result", "id": 7, "ok": true, "value": ...,
     "queue_ns": ..., "wall_ns": ..., "cpu_ns": ..., "tid": ...,
     "joined": true}                  only on a worker's first task since it started or left parking
    {"type": "result", "id": 7, "ok": false,
     "error": {"type": "ValueError", "message": ..., "traceback": ...}, ...timings}
    {"type": "cancelled", "id": 7, "cancelled": true|false, "state": "queued"|"running"|"unknown"}
    {"type": "resized", "id": 8, "from": 2, "to": 4, "live": 4}
    {"type": "stats", "id": 9, ...counters}
    {"type": "error", "id": 7|null, "error": {"type": "ProtocolError", "message": ...}}
    {"type": "bye", "id": 10, "completed": ...}

Each call gets exactly one final answer: a `result`, or a `cancelled` with
`cancelled: true` (then it never runs), or an `error` when the request itself
was unusable. A `cancelled` with `cancelled: false` is informational; the
call's `result` still follows if it was running.
"""

import json
import os
import re
import threading

PROTOCOL_VERSION = 1

DEFAULT_MAX_LINE_BYTES = 1 << 20

# How much of an unusable line is kept to find its id in.
_ID_SCAN_BYTES = 512
_ID_PATTERN = re.compile(rb'"id"\s*:\s*(-?\d{1,15}|"(?:[^"\\]|\\.){0,200}")')


def encode(message):
    """One protocol line (bytes, with the newline). Raises TypeError or
    ValueError when the message is not JSON-serialisable (NaN included:
    JavaScript's JSON.parse rejects it)."""
    text = json.dumps(message, separators=(",", ":"), allow_nan=False, ensure_ascii=True)
    return text.encode("ascii") + b"\n"


def guess_id(raw):
    """The request id found at the start of an unusable line, or None, so an
    error can be addressed to the call that caused it."""
    match = _ID_PATTERN.search(raw[:_ID_SCAN_BYTES])
    if match is None:
        return None
    try:
        return json.loads(match.group(1).decode("utf-8", "replace"))
    except ValueError:
        return None


def read_lines(stream, max_line_bytes):
    """Yield ("line", bytes) for each line of at most `max_line_bytes` bytes
    (newline excluded) and ("oversized", head) for longer ones, whose rest is
    read and discarded so the next line starts clean. Stops at EOF."""
    while True:
        line = stream.readline(max_line_bytes + 1)
        if not line:
            return
        if line.endswith(b"\n"):
            yield "line", line[:-1]
            continue
        if len(line) <= max_line_bytes:
            # The last line, without a newline, before EOF.
            yield "line", line
            return
        head = line[:_ID_SCAN_BYTES]
        while True:
            rest = stream.readline(1 << 16)
            if not rest or rest.endswith(b"\n"):
                break
        yield "oversized", head
        if not rest:
            return


class LineWriter:
    """The only writer of the protocol stream. A lock keeps whole lines
    together when several workers answer at once."""

    def __init__(self, fd, max_line_bytes, on_broken_pipe):
        self._fd = fd
        self._lock = threading.Lock()
        self.max_line_bytes = max_line_bytes
        self._on_broken_pipe = on_broken_pipe

    def send(self, message):
        self.write_line(encode(message))

    def write_line(self, data):
        with self._lock:
            view = memoryview(data)
            try:
                while view:
                    written = os.write(self._fd, view)
                    view = view[written:]
            except (BrokenPipeError, OSError):
                # Nobody reads the answers any more: the parent is gone.
                self._on_broken_pipe()


def protocol_error(request_id, message):
    return {"type": "error", "id": request_id, "error": {"type": "ProtocolError", "message": message}}
