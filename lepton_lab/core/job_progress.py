"""Job progress: what a job's events add up to (epoch, ETA, elapsed time, bounded curves).

The one Python definition of the rules the Lab panel applies in TypeScript
(``labextension/src/metrics.ts`` :class:`JobMetrics`, ``labextension/src/series.ts``
:class:`BoundedSeries`), so the panel, the notebook live plot, the CLI, the report and the
server's ``progress`` messages show the same numbers and the same curves:

- the current epoch: the epoch in progress while the run trains, the epochs it completed once
  it has ended (:meth:`JobMetrics.current_epoch`);
- elapsed time: every training session of a resumed run, summed (:meth:`JobMetrics.elapsed_seconds`);
- the ETA: steps left at the session's step rate, measured between batches of the same epoch,
  plus the mean epoch-end pause (validation, checkpoint) for each epoch end still to come
  (:meth:`JobMetrics.eta_seconds`);
- a restart point (``{"type": "status", "status": "running", "epoch": N}``) drops the points
  plotted after epoch N (:mod:`lepton_lab.core.epochs`'s policy);
- curves of any length kept in a bounded number of points, each the mean of a bucket of raw
  points (:class:`BoundedSeries`).

``tests/fixtures/job_progress.json`` holds event streams with the expected results; both
``tests/test_job_progress.py`` and ``labextension/test/jobprogress.test.ts`` check against it,
so a change to either side that the other does not follow fails a test.

Pure Python, no TensorFlow, no Jupyter: cheap to import anywhere.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lepton_lab.core.job_status import FINISHED_STATUSES

#: Curves a job view draws; batch curves and epoch curves both have x = global step.
SERIES_KEYS = ("loss", "accuracy", "epoch_loss", "epoch_accuracy", "val_loss", "val_accuracy")

#: Sessions kept for :meth:`JobMetrics.elapsed_seconds` (older ones are folded together).
MAX_SESSIONS = 50


def is_finished(status: str | None) -> bool:
    """Whether ``status`` is one a job no longer trains in."""
    return status in FINISHED_STATUSES


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(event: dict[str, Any], key: str) -> float | None:
    """``event[key]`` if it is a number (JSON's ``typeof x === 'number'``), else None."""
    value = event.get(key)
    return value if _is_number(value) else None


def _integer(event: dict[str, Any], key: str) -> int | None:
    value = _number(event, key)
    return None if value is None else int(value)


class BoundedSeries:
    """A metric curve of any length kept in at most ``max_points`` points.

    Each stored point is the mean of a bucket of consecutive raw points; when the series
    outgrows ``max_points``, neighbouring buckets merge pairwise and the bucket size doubles.
    Memory and drawing cost stay bounded, every raw point still counts, appending is O(1)
    amortised. The TypeScript twin is ``labextension/src/series.ts``.

    Parameters
    ----------
    max_points : int
        Most points kept (at least 4).
    """

    def __init__(self, max_points: int = 1000) -> None:
        if not max_points >= 4:
            raise ValueError(f"max_points must be at least 4, got {max_points}")
        self.max_points = max_points
        self.xs: list[float] = []
        self.ys: list[float] = []
        self._ws: list[int] = []
        #: Raw points per full bucket (1 until the series first overflows).
        self.bucket_size = 1
        #: Raw points appended in total.
        self.count = 0
        #: The last raw point appended, exactly, or None.
        self.last: tuple[float, float] | None = None
        #: Bumped by every change, so views can tell whether to redraw.
        self.version = 0

    def __len__(self) -> int:
        return len(self.xs)

    def push(self, x: float, y: Any) -> None:
        """Append a raw point; non-finite or missing values (NaN loss, None) are skipped."""
        if not _is_number(y) or not math.isfinite(y) or not _is_number(x) or not math.isfinite(x):
            return
        self.count += 1
        self.version += 1
        self.last = (x, y)
        n = len(self.xs)
        if n > 0 and self._ws[n - 1] < self.bucket_size:
            w = self._ws[n - 1]
            self.xs[n - 1] = (self.xs[n - 1] * w + x) / (w + 1)
            self.ys[n - 1] = (self.ys[n - 1] * w + y) / (w + 1)
            self._ws[n - 1] = w + 1
            return
        self.xs.append(x)
        self.ys.append(y)
        self._ws.append(1)
        if len(self.xs) > self.max_points:
            self._halve()

    def truncate_after(self, x: float) -> None:
        """Drop the points after ``x`` (by their bucket's mean x): a resumed run trains them again."""
        keep = len(self.xs)
        while keep > 0 and self.xs[keep - 1] > x:
            keep -= 1
        if keep == len(self.xs):
            return
        self.count -= sum(self._ws[keep:])
        del self.xs[keep:], self.ys[keep:], self._ws[keep:]
        self.last = (self.xs[-1], self.ys[-1]) if keep else None
        self.version += 1

    def points(self) -> tuple[list[float], list[float]]:
        """Return the stored points as ``(xs, ys)`` copies."""
        return list(self.xs), list(self.ys)

    def _halve(self) -> None:
        xs: list[float] = []
        ys: list[float] = []
        ws: list[int] = []
        for i in range(0, len(self.xs), 2):
            if i + 1 >= len(self.xs):
                xs.append(self.xs[i])
                ys.append(self.ys[i])
                ws.append(self._ws[i])
                break
            a, b = self._ws[i], self._ws[i + 1]
            xs.append((self.xs[i] * a + self.xs[i + 1] * b) / (a + b))
            ys.append((self.ys[i] * a + self.ys[i + 1] * b) / (a + b))
            ws.append(a + b)
        self.xs, self.ys, self._ws = xs, ys, ws
        self.bucket_size *= 2


@dataclass
class _Rate:
    """What one session's step rate is measured from."""

    last: tuple[float, int, int | None] | None = None  # (t, step, epoch) of the latest batch
    train_seconds: float = 0.0
    train_steps: int = 0
    intervals: int = 0
    pause_seconds: float = 0.0
    pauses: int = 0


@dataclass
class _Session:
    """One training session: from a ``running`` status (or the first event) to the next status."""

    start: float
    end: float
    ended: bool = False


@dataclass
class JobMetrics:
    """Fold a job's events into its progress and bounded curves (``metrics.ts`` JobMetrics).

    Parameters
    ----------
    batch_points, epoch_points : int
        Points kept per batch curve and per epoch curve.
    """

    batch_points: int = 600
    epoch_points: int = 1000
    #: Status from the latest status event.
    status: str | None = None
    #: Error of the latest failed status event.
    error: str | None = None
    #: Global step of the latest batch (or epoch) event.
    step: int = 0
    #: Steps of the whole run, when the events say.
    total_steps: int | None = None
    #: The current epoch, as :meth:`current_epoch` defines it while the run trains.
    epoch: int = 0
    #: Epochs of the whole run, when the events say.
    epochs: int | None = None
    #: Epochs finished (the highest epoch with an epoch event, or a restart point).
    epochs_done: int = 0
    #: Metrics of the latest batch event.
    latest: dict[str, Any] = field(default_factory=dict)
    #: Metrics of the latest epoch event (train and ``val_``).
    last_epoch: dict[str, Any] | None = None
    #: Metrics of the eval event (``test_accuracy``, ``test_loss``).
    evaluation: dict[str, Any] | None = None
    #: Unix time (s) of the latest event.
    last_time: float | None = None
    #: Events applied in total.
    event_count: int = 0
    series: dict[str, BoundedSeries] = field(init=False)
    _plotted_step: float = field(default=0, init=False, repr=False)
    _plotted_epoch: int = field(default=0, init=False, repr=False)
    _epoch_end_steps: dict[int, float] = field(default_factory=dict, init=False, repr=False)
    _rate: _Rate = field(default_factory=_Rate, init=False, repr=False)
    _previous_rate: tuple[float, float] | None = field(default=None, init=False, repr=False)
    _sessions: list[_Session] = field(default_factory=list, init=False, repr=False)
    _epoch_times: list[float] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        self.series = {
            key: BoundedSeries(self.batch_points if key in ("loss", "accuracy") else self.epoch_points)
            for key in SERIES_KEYS
        }

    @classmethod
    def of(
        cls, events: Iterable[dict[str, Any]], batch_points: int = 600, epoch_points: int = 1000
    ) -> JobMetrics:
        """Return a :class:`JobMetrics` with ``events`` applied."""
        metrics = cls(batch_points=batch_points, epoch_points=epoch_points)
        metrics.apply(events)
        return metrics

    # -- reading ---------------------------------------------------------------------------------

    def fraction(self) -> float | None:
        """Fraction done in [0, 1], or None when unknown."""
        if self.status == "completed":
            return 1.0
        if self.total_steps:
            return _clamp01(self.step / self.total_steps)
        if self.epochs:
            return _clamp01(self.epochs_done / self.epochs)
        return None

    def current_epoch(self, status: str | None = None) -> int:
        """Return the current epoch, one definition for every view.

        While the run trains (or before any status is known), the 1-based epoch in progress:
        the epoch of the newest batch, never less than the epochs done. Once it has ended, the
        epochs it completed (a run cancelled in epoch 4 after 3 epochs shows 3). 0 before any
        event. ``status`` is the job's status when known better than the events'.
        """
        if is_finished(status or self.status):
            return self.epochs_done
        return max(self.epoch, self.epochs_done)

    def step_rate(self) -> float | None:
        """Training steps per second over this session, or None before two of its batch events.

        Measured between batch events of the same epoch only (epoch-end pauses are measured
        apart); at the start of a resumed session, the rate of the previous one.
        """
        rate = self._rate
        if rate.train_seconds > 0 and rate.train_steps > 0:
            return rate.train_steps / rate.train_seconds
        return self._previous_rate[0] if self._previous_rate else None

    def _epoch_pause(self) -> float:
        rate = self._rate
        if rate.pauses > 0:
            return rate.pause_seconds / rate.pauses
        return self._previous_rate[1] if self._previous_rate else 0.0

    def elapsed_seconds(self, now: float | None = None) -> float | None:
        """Seconds the run has trained, summed over its sessions, or None before any event.

        ``now`` (Unix seconds): a session still running counts up to it.
        """
        if not self._sessions:
            return None
        total = 0.0
        last = len(self._sessions) - 1
        for index, session in enumerate(self._sessions):
            running = index == last and not session.ended and not is_finished(self.status)
            end = max(now, session.end) if running and now is not None else session.end
            total += max(0.0, end - session.start)
        return total

    def eta_seconds(self, now: float | None = None) -> float | None:
        """Seconds until the run ends, or None when unknown or finished.

        ``now`` (Unix seconds): time since the last event counts as done, for as long as a
        normal gap or an epoch-end pause lasts (a longer stall holds the ETA).
        """
        if is_finished(self.status):
            return None
        eta: float | None = None
        rate = self.step_rate()
        pause = self._epoch_pause()
        if rate and self.total_steps:
            ends_left = max(0, self.epochs - self.epochs_done) if self.epochs else 0
            eta = max(0, self.total_steps - self.step) / rate + ends_left * pause
        elif self.epochs and self._epoch_times:
            mean = sum(self._epoch_times) / len(self._epoch_times)
            eta = max(0, self.epochs - self.epochs_done) * mean
        if eta is None:
            return None
        if now is not None and self.last_time is not None and now > self.last_time:
            gap = self._rate.train_seconds / self._rate.intervals if self._rate.intervals > 0 else 0.0
            eta -= min(now - self.last_time, max(gap, pause))
        return max(0.0, eta)

    def summary(self, now: float | None = None) -> dict[str, Any]:
        """Return the numbers every view shows, as one JSON-able dict (what the shared fixture checks)."""
        return {
            "status": self.status,
            "step": self.step,
            "total_steps": self.total_steps,
            "epochs": self.epochs,
            "epochs_done": self.epochs_done,
            "current_epoch": self.current_epoch(),
            "fraction": self.fraction(),
            "elapsed_s": self.elapsed_seconds(now),
            "eta_s": self.eta_seconds(now),
        }

    # -- folding ---------------------------------------------------------------------------------

    def apply(self, events: Iterable[dict[str, Any]]) -> int:
        """Fold ``events`` (in file order) in; returns how many there were."""
        count = 0
        for event in events:
            self._apply_one(event)
            count += 1
        self.event_count += count
        return count

    def _apply_one(self, event: dict[str, Any]) -> None:
        if not isinstance(event, dict):
            return
        t = _number(event, "t")
        if t is not None:
            self.last_time = t
            self._track(event, t)
        epochs, total = _integer(event, "epochs"), _integer(event, "total_steps")
        if epochs is not None and epochs > 0:
            self.epochs = epochs
        if total is not None and total > 0:
            self.total_steps = total
        kind = event.get("type")
        if kind == "batch":
            self._batch(event)
        elif kind == "epoch":
            self._epoch(event)
        elif kind == "status":
            self._status(event)
        elif kind == "eval":
            self.evaluation = dict(event.get("metrics") or {})

    def _batch(self, event: dict[str, Any]) -> None:
        step = _integer(event, "step")
        step = self.step + 1 if step is None else step
        metrics = event.get("metrics") or {}
        self.latest = metrics
        epoch = _integer(event, "epoch")
        if epoch is not None:
            self.epoch = max(epoch, self.epochs_done)
        # After a resume the worker repeats the steps since its last checkpoint: skip steps
        # already plotted, so the curves stay monotonic in x.
        if step > self._plotted_step:
            self._plotted_step = step
            self.series["loss"].push(step, metrics.get("loss"))
            self.series["accuracy"].push(step, metrics.get("accuracy"))
        self.step = step
        t = _number(event, "t")
        if t is not None:
            self._sample(t, step, epoch)

    def _epoch(self, event: dict[str, Any]) -> None:
        metrics = event.get("metrics") or {}
        self.last_epoch = metrics
        epoch = _integer(event, "epoch")
        epoch = self.epochs_done + 1 if epoch is None else epoch
        self.epoch = epoch
        step = _integer(event, "step")
        if step is not None:
            self.step = max(self.step, step)
        self.epochs_done = max(self.epochs_done, epoch)
        if epoch > self._plotted_epoch:
            self._plotted_epoch = epoch
            x = step if step is not None else self.step
            self._epoch_end_steps[epoch] = x
            for key, name in (("epoch_loss", "loss"), ("epoch_accuracy", "accuracy"),
                              ("val_loss", "val_loss"), ("val_accuracy", "val_accuracy")):  # fmt: skip
                self.series[key].push(x, metrics.get(name))
            seconds = _number(metrics, "epoch_time_s")
            if seconds is not None and math.isfinite(seconds):
                self._epoch_times.append(seconds)
                del self._epoch_times[:-20]

    def _status(self, event: dict[str, Any]) -> None:
        status = event.get("status")
        if not status:
            return
        self.status = status
        self.error = event["error"] if isinstance(event.get("error"), str) else None
        if status == "running":
            self._new_rate_session()
        epoch = _integer(event, "epoch")
        if epoch is not None:
            if status == "running":
                # A restart point: the run resumes after this epoch; later ones are trained again.
                self.epochs_done = epoch
                self.epoch = epoch
                self._restart_at(epoch)
            else:
                self.epochs_done = max(self.epochs_done, epoch)
        self.epoch = self.epochs_done if is_finished(status) else max(self.epoch, self.epochs_done)

    def _restart_at(self, epoch: int) -> None:
        """Drop the points after the restart epoch's end; the epochs trained again plot anew."""
        cut = 0 if epoch <= 0 else self._epoch_end_steps.get(epoch)
        if cut is None or epoch >= self._plotted_epoch:
            return
        for series in self.series.values():
            series.truncate_after(cut)
        for later in [e for e in self._epoch_end_steps if e > epoch]:
            del self._epoch_end_steps[later]
        self._plotted_epoch = epoch
        self._plotted_step = cut

    def _track(self, event: dict[str, Any], t: float) -> None:
        """Sessions for :meth:`elapsed_seconds`: ``running`` opens one, a finishing status closes it."""
        current = self._sessions[-1] if self._sessions else None
        opens = event.get("type") == "status" and event.get("status") == "running"
        if current is None or opens or (current.ended and event.get("type") != "status"):
            self._sessions.append(_Session(t, t))
            if len(self._sessions) > MAX_SESSIONS:
                a, b = self._sessions[0], self._sessions[1]
                self._sessions[:2] = [_Session(b.start - (a.end - a.start), b.end, ended=True)]
        elif not current.ended:
            current.end = max(current.end, t)
            if event.get("type") == "status" and is_finished(event.get("status")):
                current.ended = True

    def _new_rate_session(self) -> None:
        steps = self.step_rate()
        if steps is not None:
            self._previous_rate = (steps, self._epoch_pause())
        self._rate = _Rate()

    def _sample(self, t: float, step: int, epoch: int | None) -> None:
        rate = self._rate
        last = rate.last
        if last is not None and step < last[1]:
            self._new_rate_session()  # steps went back (a resume without a status event)
            self._sample(t, step, epoch)
            return
        if last is not None and step > last[1] and t >= last[0]:
            dt = t - last[0]
            steps = step - last[1]
            if epoch is not None and last[2] is not None and epoch > last[2] and rate.train_seconds > 0:
                # The first batch of a new epoch: the gap holds the last epoch's validation and
                # checkpoint, besides training the steps in between.
                training = steps / (rate.train_steps / rate.train_seconds)
                rate.pause_seconds += max(0.0, dt - training)
                rate.pauses += 1
                rate.train_seconds += min(dt, training)
            else:
                rate.train_seconds += dt
            rate.train_steps += steps
            rate.intervals += 1
        # The session's first batch is its start: loading data and tracing are not training.
        rate.last = (t, step, epoch)


def _clamp01(value: float) -> float:
    return min(1.0, max(0.0, value))


def format_duration(seconds: float) -> str:
    """``"42 s"``, ``"3 min 05 s"``, ``"1 h 02 min"``: how long, for progress lines."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
