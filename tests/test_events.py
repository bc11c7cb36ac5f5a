"""Tests of the events stream: writer, reader, tailer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from lepton_lab.core.events import (
    FLUSH_INTERVAL_S,
    EventTail,
    EventWriter,
    FlushTimer,
    make_event,
    read_events,
)


def _write_lines(path: Path, events: list[dict]) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        for event in events:
            handle.write(json.dumps(event) + "\n")


def test_written_events_read_back_in_order_with_offsets(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as writer:
        for step in range(1, 6):
            writer.emit("batch", step=step, epoch=1, metrics={"loss": 1.0 / step})
    events, offset = read_events(path)
    assert [e["step"] for e in events] == [1, 2, 3, 4, 5]
    assert offset == 5
    assert events[0]["type"] == "batch" and events[0]["metrics"] == {"loss": 1.0}
    assert isinstance(events[0]["t"], float)


def test_after_and_limit_page_through_events(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    _write_lines(path, [make_event("batch", step=i) for i in range(10)])
    first, offset = read_events(path, after=0, limit=4)
    second, offset2 = read_events(path, after=offset, limit=4)
    rest, offset3 = read_events(path, after=offset2)
    assert [e["step"] for e in first] == [0, 1, 2, 3] and offset == 4
    assert [e["step"] for e in second] == [4, 5, 6, 7] and offset2 == 8
    assert [e["step"] for e in rest] == [8, 9] and offset3 == 10
    assert read_events(path, after=10) == ([], 10)


def test_missing_file_reads_as_no_events(tmp_path: Path) -> None:
    assert read_events(tmp_path / "nope.jsonl", after=3) == ([], 3)
    assert EventTail(tmp_path / "nope.jsonl").read() == []


def test_torn_last_line_is_ignored_until_complete(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    _write_lines(path, [make_event("epoch", step=10, epoch=1)])
    with open(path, "ab") as handle:
        handle.write(b'{"t": 1.0, "type": "batch", "st')
    events, offset = read_events(path)
    assert [e["type"] for e in events] == ["epoch"] and offset == 1
    with open(path, "ab") as handle:
        handle.write(b'ep": 11, "epoch": 2, "metrics": {}}\n')
    events, offset = read_events(path, after=offset)
    assert [e["step"] for e in events] == [11] and offset == 2


def test_writer_after_crash_terminates_torn_line_and_readers_skip_it(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    _write_lines(path, [make_event("epoch", step=10, epoch=1)])
    with open(path, "ab") as handle:
        handle.write(b'{"t": 1.0, "type": "bat')  # the process died here
    with EventWriter(path) as writer:
        writer.emit("epoch", step=20, epoch=2)
    events, offset = read_events(path)
    assert [e["epoch"] for e in events] == [1, 2]
    assert offset == 3  # the torn line counts as a line but yields no event


def test_tail_reads_only_new_complete_events(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    tail = EventTail(path)
    _write_lines(path, [make_event("batch", step=1), make_event("batch", step=2)])
    assert [e["step"] for e in tail.read()] == [1, 2]
    assert tail.read() == []
    with open(path, "ab") as handle:
        handle.write(b'{"t": 1.0, "type": "batch", "step": 3, "metrics": {}}\n{"t": 2.0, "ty')
    assert [e["step"] for e in tail.read()] == [3]
    with open(path, "ab") as handle:
        handle.write(b'pe": "batch", "step": 4, "metrics": {}}\n')
    assert [e["step"] for e in tail.read()] == [4]
    assert tail.offset == 4


def test_tail_starts_after_offset_and_respects_limit(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    _write_lines(path, [make_event("batch", step=i) for i in range(6)])
    tail = EventTail(path, after=2)
    assert [e["step"] for e in tail.read(limit=3)] == [2, 3, 4]
    assert [e["step"] for e in tail.read()] == [5]
    assert tail.offset == 6


def test_tail_restarts_when_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    _write_lines(path, [make_event("batch", step=i) for i in range(5)])
    tail = EventTail(path)
    assert len(tail.read()) == 5
    path.unlink()
    _write_lines(path, [make_event("batch", step=99)])
    assert [e["step"] for e in tail.read()] == [99]
    assert tail.offset == 1


def test_tail_restarts_when_file_is_replaced_by_a_longer_one(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    _write_lines(path, [make_event("batch", step=i) for i in range(3)])
    tail = EventTail(path)
    assert len(tail.read()) == 3
    replacement = tmp_path / "new.jsonl"
    _write_lines(replacement, [make_event("epoch", step=100 + i) for i in range(10)])  # larger than the old
    os.replace(replacement, path)
    assert [e["step"] for e in tail.read()] == list(range(100, 110))
    assert tail.offset == 10


class ManualTimer(FlushTimer):
    """A flush timer the test advances: :meth:`tick` lets one interval pass and returns after its flush."""

    def __init__(self) -> None:
        super().__init__()
        self._changed = threading.Condition()
        self._waits = 0  # times the flush thread started waiting (each wait follows a flush, but the first)
        self._ticks = 0
        self._stopped_flag = False
        self.intervals: list[float] = []

    def wait(self, interval: float) -> bool:
        with self._changed:
            self.intervals.append(interval)
            self._waits += 1
            self._changed.notify_all()
            self._changed.wait_for(lambda: self._ticks >= self._waits or self._stopped_flag)
            return self._stopped_flag

    def stop(self) -> None:
        with self._changed:
            self._stopped_flag = True
            self._changed.notify_all()

    def tick(self) -> None:
        with self._changed:
            self._ticks += 1
            self._changed.notify_all()
            # The thread waits again only once the flush this tick released is done.
            self._changed.wait_for(lambda: self._waits > self._ticks)


def test_background_thread_flushes_each_interval(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    timer = ManualTimer()
    writer = EventWriter(path, flush_interval=0.05, timer=timer)
    try:
        writer.emit("batch", step=1)
        assert read_events(path)[0] == []  # buffered, not yet written
        timer.tick()
        assert [e["step"] for e in read_events(path)[0]] == [1]
        writer.emit("batch", step=2)
        assert len(read_events(path)[0]) == 1  # the next interval has not passed
        timer.tick()
        assert [e["step"] for e in read_events(path)[0]] == [1, 2]
        assert set(timer.intervals) == {0.05}
    finally:
        writer.close()


def test_default_flush_interval_is_at_most_200_ms(tmp_path: Path) -> None:
    timer = ManualTimer()
    with EventWriter(tmp_path / "events.jsonl", timer=timer) as writer:
        assert writer.flush_interval == FLUSH_INTERVAL_S <= 0.2
        timer.tick()
    assert timer.intervals[0] == FLUSH_INTERVAL_S  # what the flush thread waits between flushes


def test_flush_makes_events_visible_immediately(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with EventWriter(path, flush_interval=60) as writer:
        writer.emit("log", message="hello")
        writer.flush()
        events, _ = read_events(path)
        assert events[0]["message"] == "hello"
        writer.emit("log", message="again")
        writer.sync()
        assert len(read_events(path)[0]) == 2


def test_concurrent_writers_never_interleave_lines(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    writer = EventWriter(path, flush_interval=0.001)

    def produce(worker: int) -> None:
        for i in range(300):
            writer.emit("batch", step=i, metrics={"worker": worker, "pad": "x" * 200})

    threads = [threading.Thread(target=produce, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    events, offset = read_events(path)
    assert offset == len(events) == 1200
    for worker in range(4):
        steps = [e["step"] for e in events if e["metrics"]["worker"] == worker]
        assert steps == list(range(300))


def test_closed_writer_rejects_events_and_close_is_idempotent(tmp_path: Path) -> None:
    writer = EventWriter(tmp_path / "events.jsonl")
    writer.close()
    writer.close()
    assert writer.closed
    with pytest.raises(ValueError, match="closed"):
        writer.emit("batch", step=1)


def test_unknown_event_type_is_rejected_with_the_allowed_types() -> None:
    with pytest.raises(ValueError, match="batch, epoch, status, log, eval"):
        make_event("progress")


def test_non_finite_metrics_are_written_as_null(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as writer:
        writer.emit("batch", step=1, metrics={"loss": float("nan"), "accuracy": float("inf"), "ok": 0.5})
    line = path.read_text()
    assert "NaN" not in line and "Infinity" not in line
    json.loads(line, parse_constant=lambda name: pytest.fail(f"non-standard JSON constant {name}"))
    assert read_events(path)[0][0]["metrics"] == {"loss": None, "accuracy": None, "ok": 0.5}


def test_a_script_that_exits_without_closing_its_writer_keeps_every_event(tmp_path):
    # The background flush thread is a daemon: without the exit hook, events emitted just
    # before the interpreter ends would stay in the buffer and be lost.
    path = tmp_path / "events.jsonl"
    script = (
        "import sys\n"
        "from lepton_lab.core.events import EventWriter\n"
        f"writer = EventWriter({str(path)!r}, flush_interval=0.2)\n"
        "for n in range(1, 6):\n"
        "    writer.emit('epoch', epoch=n, step=n, metrics={'loss': 1 / n})\n"
        "sys.exit(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)

    assert done.returncode == 3, done.stderr
    events, _ = read_events(path)
    assert [event["epoch"] for event in events] == [1, 2, 3, 4, 5]
