"""Event index: seek to line N of an ``events.jsonl`` without reading the lines before it.

Modelled on TensorBoard's ``EventFileLoader``, which keeps a file position and reads only what was
appended since: an :class:`EventIndex` remembers the byte position of every
:data:`STRIDE`-th complete line and of the end of the last complete line, so
``read(after=N)`` reads at most :data:`STRIDE` lines it does not return plus the lines it does,
and indexing a growing file reads only its new bytes. A 10⁶-event file costs ~8 KB of positions.

The file is the truth and another process may change it under the index, so every read checks it:

- appended bytes are indexed up to their last newline (a line still being written, or torn by a
  crashed writer, is neither returned nor counted until its newline arrives);
- a file that was replaced (another inode), that shrank, or whose bytes around the indexed end
  changed (rewritten in place) is indexed again from the start.

Offsets and limits count lines exactly as :func:`~lepton_lab.core.events.read_events` does, so
the two are interchangeable; :class:`EventIndexes` keeps one index per file for a server.
"""

from __future__ import annotations

import os
import threading
from array import array
from collections import OrderedDict
from itertools import accumulate
from pathlib import Path
from typing import Any

from lepton_lab.core.events import parse_lines

#: Lines between two remembered positions: a read skips at most this many lines it does not return.
STRIDE = 128

#: Bytes compared at the start and before the indexed end to notice a file rewritten in place.
PRINT_BYTES = 64

#: Bytes read at a time while indexing new lines (bounds the memory of indexing a huge file).
CHUNK_BYTES = 4 << 20

#: Files whose index :class:`EventIndexes` keeps (the least recently read one is dropped first).
CACHED_FILES = 64


class EventIndex:
    """Line → byte positions of one events file, kept current as the file grows.

    Safe to share between threads: reads of the same file take turns while the index is updated,
    then read their lines concurrently.

    Parameters
    ----------
    path
        The ``events.jsonl`` file (it may not exist yet).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._forget()

    def _forget(self) -> None:
        self._identity: tuple[int, int] | None = None  # (st_dev, st_ino) of the indexed file
        self._marks = array("q", [0])  # _marks[k]: byte position of line k * STRIDE
        self._lines = 0  # complete lines indexed
        self._end = 0  # byte position just after the last indexed line
        self._head = b""  # the file's first bytes, as indexed
        self._tail = b""  # the bytes just before _end, as indexed

    @property
    def lines(self) -> int:
        """Complete lines indexed by the last read."""
        return self._lines

    def read(self, after: int = 0, limit: int | None = None) -> tuple[list[dict[str, Any]], int]:
        """Return the events after the first ``after`` lines (at most ``limit`` lines) and the next offset.

        Same contract as :func:`~lepton_lab.core.events.read_events`: a missing file reads as
        empty, an offset at or past the end returns ``([], after)``, lines that are not JSON
        objects are counted but not returned.
        """
        lines, stop = self.read_lines(after, limit)
        return parse_lines(lines), stop

    def read_lines(self, after: int = 0, limit: int | None = None) -> tuple[list[bytes], int]:
        """Return the raw lines (without newlines) after the first ``after``, and the next offset."""
        if after < 0:
            raise ValueError(f"after must be >= 0, got {after}")
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        try:
            handle = open(self.path, "rb")
        except FileNotFoundError:
            with self._lock:
                self._forget()
            return [], after
        with handle:
            fd = handle.fileno()
            with self._lock:
                self._update(fd)
                if after >= self._lines:
                    return [], after
                stop = self._lines if limit is None else min(self._lines, after + limit)
                first = after // STRIDE
                start = self._marks[first]
                last = -(-stop // STRIDE)  # the first remembered line at or after `stop`
                end = self._marks[last] if last < len(self._marks) else self._end
            data = os.pread(fd, end - start, start)  # outside the lock: other readers go on
        lines = data.split(b"\n")[:-1]  # the region ends with a newline
        skip = after - first * STRIDE
        return lines[skip : skip + stop - after], stop

    def _update(self, fd: int) -> None:
        """Bring the index up to date with the open file ``fd`` (called with the lock held)."""
        stat = os.fstat(fd)
        identity = (stat.st_dev, stat.st_ino)
        if self._identity is not None and (
            identity != self._identity or stat.st_size < self._end or not self._unchanged(fd)
        ):
            self._forget()  # replaced, truncated or rewritten: what was indexed no longer holds
        self._identity = identity
        self._extend(fd, stat.st_size)

    def _unchanged(self, fd: int) -> bool:
        """Whether the bytes remembered at the start and before the end are still there."""
        head = os.pread(fd, len(self._head), 0)
        tail = os.pread(fd, len(self._tail), self._end - len(self._tail))
        return head == self._head and tail == self._tail

    def _extend(self, fd: int, size: int) -> None:
        """Index the complete lines between the indexed end and ``size`` (reads only those bytes)."""
        position, want = self._end, CHUNK_BYTES
        while position < size:
            chunk = os.pread(fd, min(want, size - position), position)
            cut = chunk.rfind(b"\n") + 1
            if cut == 0:
                if not chunk or position + len(chunk) >= size:
                    break  # only a line still being written follows (or the file shrank meanwhile)
                want *= 2  # a line longer than the chunk: read further for its end
                continue
            self._index_lines(chunk[:cut], position)
            position, want = position + cut, CHUNK_BYTES
        if self._end:
            if not self._head:
                self._head = os.pread(fd, min(PRINT_BYTES, self._end), 0)
            length = min(PRINT_BYTES, self._end)
            self._tail = os.pread(fd, length, self._end - length)

    def _index_lines(self, data: bytes, position: int) -> None:
        """Index ``data``, complete lines that start at byte ``position`` right after the indexed ones."""
        lengths = (len(line) + 1 for line in data.split(b"\n")[:-1])
        starts = list(accumulate(lengths, initial=0))  # starts[i]: where its line i begins in data
        count = len(starts) - 1
        first = len(self._marks) * STRIDE - self._lines  # its first line whose position is kept
        self._marks.extend(position + starts[i] for i in range(first, count + 1, STRIDE))
        self._lines += count
        self._end = position + len(data)


class EventIndexes:
    """One :class:`EventIndex` per events file, for the most recently read :data:`CACHED_FILES` files.

    Parameters
    ----------
    size
        Files kept; reading another drops the least recently read index (it is rebuilt if needed).
    """

    def __init__(self, size: int = CACHED_FILES) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        self.size = size
        self._indexes: OrderedDict[Path, EventIndex] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: str | os.PathLike[str]) -> EventIndex:
        """Return the index of ``path`` (created empty the first time; it indexes on its first read)."""
        key = Path(path)
        with self._lock:
            index = self._indexes.get(key)
            if index is None:
                index = self._indexes[key] = EventIndex(key)
                while len(self._indexes) > self.size:
                    self._indexes.popitem(last=False)
            else:
                self._indexes.move_to_end(key)
            return index

    def read(
        self, path: str | os.PathLike[str], after: int = 0, limit: int | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """:meth:`EventIndex.read` of ``path``'s index."""
        return self.get(path).read(after, limit)
