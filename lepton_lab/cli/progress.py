"""TrainingProgress: a run's progress in a terminal, drawn by rich from its ``events.jsonl``.

It follows the same event stream the server and the widgets read, from a thread, so it never
slows training down; the epoch, fraction done and ETA come from
:class:`~lepton_lab.core.job_progress.JobMetrics`, the rule the Lab panel and the notebook
plots apply, so every view shows the same numbers.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from lepton_lab.cli import terminal
from lepton_lab.core.events import EventTail
from lepton_lab.core.job_progress import JobMetrics, format_duration

if TYPE_CHECKING:
    from rich.progress import Progress

EPOCH_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")
BATCH_METRICS = ("loss", "accuracy")
TEST_METRICS = ("test_accuracy", "test_loss")


def format_metrics(metrics: dict[str, Any], names: tuple[str, ...]) -> str:
    """``"loss 0.1234  accuracy 0.9000"``: the named metrics present in ``metrics``, in order."""
    parts = []
    for name in names:
        value = metrics.get(name)
        if isinstance(value, (int, float)):
            parts.append(f"{name} {value:.4f}")
    return "  ".join(parts)


class TrainingProgress:
    """Draw training progress on ``stream`` from a run's events, in a background thread.

    On a terminal a rich progress bar (epoch, steps, running metrics, ETA) is redrawn in place
    under a line per finished epoch; elsewhere (a log file, CI) only the epoch lines and the
    test result are written.

    Parameters
    ----------
    events_path
        The run's ``events.jsonl``.
    stream
        Where to draw (``sys.stderr`` by default).
    interval
        Seconds between reads of the events file.
    """

    def __init__(self, events_path: Path, stream: TextIO | None = None, interval: float = 0.25) -> None:
        self.tail = EventTail(events_path)
        self.metrics = JobMetrics()
        self.console = terminal.console(stream if stream is not None else sys.stderr)
        self.interval = interval
        self._bar: Progress | None = None
        self._task: Any = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lepton-progress", daemon=True)

    def start(self) -> TrainingProgress:
        """Start following the events."""
        if self.console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._bar = Progress(
                TextColumn("epoch {task.fields[epoch]}"),
                BarColumn(bar_width=24),
                MofNCompleteColumn(),
                TextColumn("{task.fields[metrics]}"),
                TextColumn("{task.fields[eta]}"),
                console=self.console,
                auto_refresh=False,  # redrawn by our thread, once per read of the events
            )
            self._task = self._bar.add_task("training", total=None, epoch="", metrics="", eta="")
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop following, after drawing the events written so far."""
        self._stop.set()
        self._thread.join()
        self.draw(self.tail.read())
        if self._bar is not None and self._bar.live.is_started:
            self._bar.stop()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.draw(self.tail.read(), now=time.time())

    def draw(self, events: list[dict[str, Any]], now: float | None = None) -> None:
        """Fold ``events`` in: print epoch and test lines, then move the bar to the newest batch.

        ``now`` (Unix seconds) is the time the ETA counts from; the newest event's when omitted.
        """
        for event in events:
            self.metrics.apply([event])
            kind = event.get("type")
            if kind == "epoch":
                self.console.print(self._epoch_line(event))
            elif kind == "eval":
                self.console.print(f"test  {format_metrics(event.get('metrics') or {}, TEST_METRICS)}")
        if self._bar is not None and self.metrics.step > 0:
            self._update_bar(now)

    def _epoch_line(self, event: dict[str, Any]) -> str:
        metrics = event.get("metrics") or {}
        line = f"epoch {event.get('epoch')}/{event.get('epochs')}  {format_metrics(metrics, EPOCH_METRICS)}"
        seconds = metrics.get("epoch_time_s")
        if isinstance(seconds, (int, float)):
            line += f"  ({seconds:.1f}s)"
        return line

    def _update_bar(self, now: float | None) -> None:
        assert self._bar is not None
        if not self._bar.live.is_started:
            # Drawn from the first batch on: until then loading may be drawing its own bar
            # (core.progress) on the same terminal.
            self._bar.start()
        progress = self.metrics
        eta = progress.eta_seconds(now)
        self._bar.update(
            self._task,
            completed=progress.step,
            total=progress.total_steps,
            epoch=f"{progress.current_epoch()}/{progress.epochs or '?'}",
            metrics=format_metrics(progress.latest, BATCH_METRICS),
            eta="" if eta is None else f"ETA {format_duration(eta)}",
        )
        self._bar.refresh()
