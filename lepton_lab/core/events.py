"""Events: the append-only metric stream of a run (``events.jsonl``).

One JSON object per line::

    {"t": 1714000000.12, "type": "batch", "step": 120, "epoch": 1, "metrics": {"loss": 0.31}}

``type`` is one of ``batch``, ``epoch``, ``status``, ``log`` or ``eval``. ``step`` is the global
training step (batches since the run began), ``epoch`` is 1-based. Events may carry extra keys:
``total_steps`` and ``epochs`` (for progress bars and ETAs), ``status`` (status events),
``message`` (log events).

Offsets count *lines*, each ended by a newline: ``read_events(path, after=n)`` skips the first ``n``
lines (:class:`~lepton_lab.core.event_index.EventIndex` seeks there instead). A line cut off by
a crash (no trailing newline yet) is not returned and not counted until it is complete, so a
reader polling with the offset it was given never sees half an event. Lines that are not valid
JSON (a torn line from a crashed writer, terminated by the next writer) are counted but skipped.

This module is TensorFlow-free; the server tails event files with :class:`EventTail`.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from lepton_lab.core.event_schema import EVENT_TYPES

#: Longest time a written event waits in memory before it reaches the file.
FLUSH_INTERVAL_S = 0.2


def make_event(
    type: str,
    *,
    step: int | None = None,
    epoch: int | None = None,
    metrics: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Build an event dict stamped with the current time.

    >>> sorted(make_event("epoch", step=10, epoch=1, metrics={"loss": 0.5}))
    ['epoch', 'metrics', 'step', 't', 'type']
    """
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}; use one of {', '.join(EVENT_TYPES)}")
    event: dict[str, Any] = {"t": time.time(), "type": type, "step": step, "epoch": epoch}
    event["metrics"] = metrics if metrics is not None else {}
    event.update(extra)
    return event


def _strict(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None (browsers reject non-standard JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _strict(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(item) for item in value]
    return value


def to_line(event: dict[str, Any]) -> str:
    """One event as a line of strict JSON (NaN and infinities become null)."""
    try:
        text = json.dumps(event, separators=(",", ":"), allow_nan=False)
    except ValueError:
        text = json.dumps(_strict(event), separators=(",", ":"), allow_nan=False)
    return text + "\n"


def parse_lines(lines: list[bytes]) -> list[dict[str, Any]]:
    """Return the events of ``lines`` (complete lines, without newlines) that are JSON objects, in order."""
    events = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a torn line from a crashed writer: counted, not returned
        if isinstance(event, dict):
            events.append(event)
    return events


def read_events(
    path: str | os.PathLike[str], after: int = 0, limit: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Read the complete events of ``path`` after the first ``after`` lines.

    Parameters
    ----------
    path
        An ``events.jsonl`` file. A missing file reads as empty.
    after
        Number of lines already seen (the offset a previous call returned).
    limit
        Read at most this many lines.

    Returns
    -------
    events, next_offset
        The events, and the offset to pass as ``after`` next time.
    """
    if after < 0:
        raise ValueError(f"after must be >= 0, got {after}")
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return [], after
    # Everything after the last newline is an incomplete line still being written (or torn).
    lines = data.split(b"\n")[:-1]
    if after >= len(lines):
        return [], after
    stop = len(lines) if limit is None else min(len(lines), after + limit)
    return parse_lines(lines[after:stop]), stop


class EventTail:
    """Follow an events file, reading only bytes appended since the last call.

    Parameters
    ----------
    path
        The ``events.jsonl`` file (may not exist yet).
    after
        Lines to skip on the first read (an offset from :func:`read_events`).

    Examples
    --------
    >>> tail = EventTail("run/events.jsonl")   # doctest: +SKIP
    >>> new_events = tail.read()                # doctest: +SKIP
    >>> tail.offset                             # lines consumed so far  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str], after: int = 0) -> None:
        self.path = Path(path)
        self.offset = 0  # complete lines consumed
        self._position = 0  # bytes consumed (always just after a newline)
        self._identity: tuple[int, int] | None = None  # (st_dev, st_ino) of the file being read
        self._skip = after

    def read(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Return the complete events appended since the previous call (at most ``limit``)."""
        try:
            with open(self.path, "rb") as handle:
                stat = os.fstat(handle.fileno())
                identity = (stat.st_dev, stat.st_ino)
                if stat.st_size < self._position or identity != (self._identity or identity):
                    self._position, self.offset = 0, 0  # the file was replaced or truncated: start again
                self._identity = identity
                handle.seek(self._position)
                data = handle.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n") + 1
        if end == 0:
            return []
        lines = data[:end].split(b"\n")[:-1]
        if self._skip:
            skipped = lines[: self._skip]
            self._skip -= len(skipped)
            self._position += sum(len(line) + 1 for line in skipped)
            self.offset += len(skipped)
            lines = lines[len(skipped) :]
        if limit is not None:
            lines = lines[:limit]
        self._position += sum(len(line) + 1 for line in lines)
        self.offset += len(lines)
        return parse_lines(lines)


class FlushTimer:
    """Paces an :class:`EventWriter`'s background flushes on the real clock.

    The flush thread calls :meth:`wait` between flushes and stops when it returns True. Tests
    pass a timer they advance by hand, so what a flush writes is checked without sleeping.
    """

    def __init__(self) -> None:
        self._stopped = threading.Event()

    def wait(self, interval: float) -> bool:
        """Block until ``interval`` seconds have passed (False) or :meth:`stop` was called (True)."""
        return self._stopped.wait(interval)

    def stop(self) -> None:
        """End the current and every later :meth:`wait` at once."""
        self._stopped.set()


#: Writers not closed yet: flushed when the interpreter exits, so a script that ends (or calls
#: ``sys.exit``) without closing its writer still leaves every event it emitted in the file.
_OPEN_WRITERS: weakref.WeakSet[EventWriter] = weakref.WeakSet()


@atexit.register
def _flush_open_writers() -> None:
    for writer in list(_OPEN_WRITERS):
        try:
            writer.flush()
        except (OSError, ValueError):  # a full disk or a closed file: nothing more can be saved
            pass


class EventWriter:
    """Append events to a file from any thread without blocking the caller.

    :meth:`write` only appends to an in-memory buffer; a background thread writes the buffer
    every ``flush_interval`` seconds, so a crash loses at most that much. :meth:`sync` also fsyncs
    (the runner calls it at each epoch end). Each event is written as one whole line.

    Parameters
    ----------
    path
        The ``events.jsonl`` file; opened for appending, created if missing.
    flush_interval
        Seconds between background flushes (at most 0.2 by design).
    timer
        What paces the background flushes (a :class:`FlushTimer` on the real clock by default).

    Examples
    --------
    >>> with EventWriter(path) as writer:          # doctest: +SKIP
    ...     writer.emit("epoch", step=10, epoch=1, metrics={"loss": 0.5})
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        flush_interval: float = FLUSH_INTERVAL_S,
        timer: FlushTimer | None = None,
    ) -> None:
        if flush_interval <= 0:
            raise ValueError(f"flush_interval must be > 0 seconds, got {flush_interval}")
        self.path = Path(path)
        self.flush_interval = flush_interval
        self._timer = timer if timer is not None else FlushTimer()
        self._buffer: list[str] = []
        self._lock = threading.Lock()  # guards _buffer
        self._file_lock = threading.Lock()  # orders writes to the file
        self._file = open(self.path, "ab")
        self._terminate_torn_line()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._flush_loop, name="lepton-events", daemon=True)
        self._thread.start()
        _OPEN_WRITERS.add(self)

    def _terminate_torn_line(self) -> None:
        # A writer killed mid-line leaves a line without newline; end it so the next event
        # starts on a line of its own (readers skip the torn one).
        size = self._file.tell()
        if size == 0:
            return
        with open(self.path, "rb") as handle:
            handle.seek(size - 1)
            if handle.read(1) != b"\n":
                self._file.write(b"\n")
                self._file.flush()

    def write(self, event: dict[str, Any]) -> None:
        """Queue one event (a JSON-serialisable dict) for writing."""
        line = to_line(event)
        with self._lock:
            if self._closed.is_set():
                raise ValueError(f"EventWriter for {self.path} is closed")
            self._buffer.append(line)

    def emit(
        self,
        type: str,
        *,
        step: int | None = None,
        epoch: int | None = None,
        metrics: dict[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Build an event with :func:`make_event`, queue it and return it."""
        event = make_event(type, step=step, epoch=epoch, metrics=metrics, **extra)
        self.write(event)
        return event

    def flush(self) -> None:
        """Write buffered events to the file (visible to other processes, not yet fsynced)."""
        with self._file_lock:
            with self._lock:
                pending, self._buffer = self._buffer, []
            if pending and not self._file.closed:
                self._file.write("".join(pending).encode("utf-8"))
                self._file.flush()

    def sync(self) -> None:
        """Flush, then fsync so the events survive a machine crash."""
        self.flush()
        with self._file_lock:
            if not self._file.closed:
                os.fsync(self._file.fileno())

    def close(self) -> None:
        """Stop the flush thread, write and fsync everything, close the file. Idempotent."""
        with self._lock:
            if self._closed.is_set():
                return
            self._closed.set()
        _OPEN_WRITERS.discard(self)
        self._timer.stop()
        self._thread.join()
        self.sync()
        with self._file_lock:
            self._file.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed.is_set()

    def _flush_loop(self) -> None:
        while not self._timer.wait(self.flush_interval):
            self.flush()

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
