"""The events-file index: seeks to line N, reads only what is new, notices files changed under it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lepton_lab.core import event_index
from lepton_lab.core.event_index import STRIDE, EventIndex, EventIndexes
from lepton_lab.core.events import read_events

#: A process that appends ``count`` events (steps ``first`` …) when told ``first count`` on stdin,
#: optionally leaving a torn line (``first count torn``), and answers ``ok`` once they are written.
APPENDER = """
import json, sys
path = sys.argv[1]
for command in sys.stdin:
    first, count, *torn = command.split()
    with open(path, "ab") as handle:
        for step in range(int(first), int(first) + int(count)):
            event = {"t": 0.0, "type": "batch", "step": step, "metrics": {}}
            handle.write((json.dumps(event) + "\\n").encode())
        if torn:
            handle.write(b'{"t": 0.0, "type": "batch", "st')
    print("ok", flush=True)
"""


class Appender:
    """Another process writing the events file, one command at a time."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", APPENDER, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def append(self, first: int, count: int, torn: bool = False) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{first} {count}{' torn' if torn else ''}\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline() == "ok\n"

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture
def appender(tmp_path: Path):
    writer = Appender(tmp_path / "events.jsonl")
    yield writer
    writer.close()


def write(path: Path, steps: range, mode: str = "a") -> None:
    with open(path, mode) as handle:
        for step in steps:
            # Lines of varied length, so byte positions are not a multiple of anything.
            event = {"t": 0.0, "type": "batch", "step": step, "metrics": {"pad": "x" * (step % 37)}}
            handle.write(json.dumps(event) + "\n")


def steps(result: tuple[list[dict], int]) -> tuple[list[int], int]:
    events, offset = result
    return [e["step"] for e in events], offset


def test_after_n_returns_exactly_the_events_after_line_n_as_read_events_does(tmp_path):
    path = tmp_path / "events.jsonl"
    index = EventIndex(path)
    for count in (1, STRIDE - 1, 1, STRIDE, 3 * STRIDE + 5):
        write(path, range(index.lines, index.lines + count) if index.lines else range(count))
        total = read_events(path)[1]
        for after in sorted({0, 1, STRIDE - 1, STRIDE, STRIDE + 1, total - 2, total - 1, total, total + 5}):
            for limit in (None, 1, 2, STRIDE, 10_000):
                if after >= 0:
                    assert index.read(after, limit) == read_events(path, after, limit), (after, limit)


def test_events_appended_by_another_process_are_read_from_where_the_reader_stopped(tmp_path, appender):
    index = EventIndex(tmp_path / "events.jsonl")
    assert index.read(0) == ([], 0)  # no file yet
    appender.append(0, 500)
    assert steps(index.read(0, limit=200)) == (list(range(200)), 200)
    appender.append(500, 7)
    assert steps(index.read(200, limit=10)) == (list(range(200, 210)), 210)
    assert steps(index.read(505)) == ([505, 506], 507)
    assert index.read(507) == ([], 507)
    appender.append(507, 3)
    assert steps(index.read(507)) == ([507, 508, 509], 510)


def test_a_torn_last_line_is_neither_returned_nor_counted_until_its_newline_arrives(tmp_path, appender):
    path = tmp_path / "events.jsonl"
    index = EventIndex(path)
    appender.append(0, 3, torn=True)  # the writer is in the middle of a line
    assert steps(index.read(0)) == ([0, 1, 2], 3)
    assert index.read(3) == ([], 3)
    with open(path, "ab") as handle:
        handle.write(b'ep": 3, "metrics": {}}\n')
    assert steps(index.read(3)) == ([3], 4)


def test_a_torn_line_ended_by_the_next_writer_counts_but_yields_no_event(tmp_path, appender):
    path = tmp_path / "events.jsonl"
    index = EventIndex(path)
    appender.append(0, 2, torn=True)
    assert steps(index.read(0)) == ([0, 1], 2)
    with open(path, "ab") as handle:
        handle.write(b"\n")  # as EventWriter ends a line a killed worker left torn
    appender.append(2, 1)
    assert steps(index.read(2)) == ([2], 4)
    assert index.read(0) == read_events(path)


def test_truncated_file_is_indexed_again(tmp_path):
    path = tmp_path / "events.jsonl"
    index = EventIndex(path)
    write(path, range(1000))
    assert index.read(990)[1] == 1000
    write(path, range(100, 105), mode="w")  # truncated, then rewritten shorter
    assert steps(index.read(0)) == (list(range(100, 105)), 5)
    assert index.read(3) == read_events(path, 3)


def test_file_rewritten_in_place_to_a_larger_size_is_indexed_again(tmp_path):
    path = tmp_path / "events.jsonl"
    index = EventIndex(path)
    write(path, range(300))
    index.read(0)
    indexed_size = path.stat().st_size
    with open(path, "r+") as handle:  # same inode, grown past the indexed end between two reads
        handle.truncate(0)
        for step in range(5000, 5500):
            handle.write(json.dumps({"t": 1.0, "type": "epoch", "step": step, "metrics": {}}) + "\n")
    assert path.stat().st_size > indexed_size  # only the changed bytes tell
    assert steps(index.read(250, limit=3)) == ([5250, 5251, 5252], 253)
    assert index.read(0) == read_events(path)


def test_replaced_or_deleted_file_is_indexed_again(tmp_path):
    path = tmp_path / "events.jsonl"
    index = EventIndex(path)
    write(path, range(400))
    assert index.read(0)[1] == 400
    replacement = tmp_path / "new.jsonl"
    write(replacement, range(7000, 7450))  # longer than the old one
    os.replace(replacement, path)
    assert steps(index.read(398)) == ([7398, 7399, *range(7400, 7450)], 450)
    path.unlink()
    assert index.read(5) == ([], 5)
    write(path, range(2))
    assert steps(index.read(0)) == ([0, 1], 2)


def test_a_poll_reads_only_the_new_bytes_not_the_file(tmp_path, monkeypatch):
    path = tmp_path / "events.jsonl"
    write(path, range(20_000))
    index = EventIndex(path)
    index.read(19_990)
    size = path.stat().st_size
    read_sizes: list[int] = []
    real_pread = os.pread

    def counting_pread(fd: int, length: int, offset: int) -> bytes:
        data = real_pread(fd, length, offset)
        read_sizes.append(len(data))
        return data

    monkeypatch.setattr(event_index.os, "pread", counting_pread)
    write(path, range(20_000, 20_003))
    assert steps(index.read(20_000)) == ([20_000, 20_001, 20_002], 20_003)
    # The three new lines, the fingerprints, and at most one stride of lines before line 20 000.
    assert sum(read_sizes) < (STRIDE + 3) * 120 + 4 * event_index.PRINT_BYTES < size / 20


def test_indexes_keep_the_most_recently_read_files(tmp_path):
    indexes = EventIndexes(size=2)
    paths = [tmp_path / f"{n}.jsonl" for n in range(3)]
    for path in paths:
        write(path, range(3))
    first = indexes.get(paths[0])
    indexes.get(paths[1])
    assert indexes.get(paths[0]) is first  # read again: now the most recent
    indexes.get(paths[2])  # drops paths[1], the least recently read
    assert indexes.get(paths[0]) is first
    assert steps(indexes.read(paths[1], 1)) == ([1, 2], 3)


def test_bad_offsets_are_refused_naming_them(tmp_path):
    index = EventIndex(tmp_path / "events.jsonl")
    with pytest.raises(ValueError, match="after must be >= 0"):
        index.read(-1)
    with pytest.raises(ValueError, match="limit must be >= 1"):
        index.read(0, 0)
