"""LivePlot: loss and accuracy while a model trains, fed by events however fast they come.

A plot takes event dicts (``{"t", "type", "step", "epoch", "metrics", ...}``, the records of
``events.jsonl``) from any source:

- an in-kernel ``fit``: :meth:`LivePlot.callback` is a Keras callback (``lepton_lab.train(...,
  live=True)`` adds one through :func:`live_callback`);
- a run directory: :meth:`LivePlot.follow_run` tails its ``events.jsonl`` in a thread;
- a server job: :meth:`LivePlot.follow` reads the job's events through ``lepton_lab.client``
  (history first, then live); :meth:`LivePlot.follow_job` (what ``job.watch()`` calls) shows a
  new plot and follows, so ``lepton_lab.job(id).watch()`` works after a kernel restart.

Recording an event is O(1). Redraws happen at most ``max_redraws_per_s`` times a second (4 by
default), coalescing everything that arrived in between, and each redraw costs O(``max_points``)
whatever the run's length (see :class:`~lepton_lab.widgets._plots.Series`). A redraw due while
events pause is made by a timer, so the plot never lags more than one interval.

While training runs the plot is a :class:`~lepton_lab.widgets.live_chart.LiveChart` widget, whose
front end (the Lab job view's chart code) appends the points each redraw sends. In the cell
(:meth:`display`) the widget is replaced by the final plot as ordinary outputs when training
ends (:meth:`finish`: a plotly figure with a static SVG drawing, and the progress line), so a
saved notebook stays small and shows the plot offline. As :attr:`widget` (composed dashboards)
it stays a widget.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets

from lepton_lab.widgets._plots import PALETTE, HtmlDisplay, Series, bundle
from lepton_lab.widgets.live_chart import EventFeed, LiveChart

_LOG = logging.getLogger("lepton_lab.widgets")

#: Epoch metrics that are not plotted (they go in the progress line).
_NOT_PLOTTED = ("epoch_time_s", "learning_rate")
#: Statuses after which a followed run or job sends nothing more.
_FINAL = ("completed", "failed", "cancelled", "interrupted")


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class LivePlot:
    """Live loss and accuracy curves (train and validation, per batch and per epoch) with progress.

    Parameters
    ----------
    total_epochs : int, optional
        Epochs of the run, for progress and ETA (events carry it too).
    steps_per_epoch : int, optional
        Batches per epoch (events carry it too); puts batch points on an epoch axis.
    title : str, optional
        Shown above the plot.
    max_redraws_per_s : float
        Redraw rate limit.
    max_points : int
        Each batch series keeps between ``max_points`` and twice as many points.
    clock : callable
        Monotonic seconds; tests pass a fake clock.
    trailing : bool
        Redraw from a timer when events stop arriving before a due redraw (off in tests that
        count redraws against a fake clock).

    Examples
    --------
    >>> plot = LivePlot(total_epochs=2).display()                        # doctest: +SKIP
    >>> model.fit(x, y, epochs=2, callbacks=[plot.callback()])          # doctest: +SKIP
    """

    def __init__(
        self,
        total_epochs: int | None = None,
        steps_per_epoch: int | None = None,
        *,
        title: str | None = None,
        max_redraws_per_s: float = 4.0,
        max_points: int = 300,
        clock: Callable[[], float] = time.monotonic,
        trailing: bool = True,
    ) -> None:
        if max_redraws_per_s <= 0:
            raise ValueError(f"max_redraws_per_s must be > 0, got {max_redraws_per_s}")
        self.total_epochs = total_epochs
        self.steps_per_epoch = steps_per_epoch
        self.title = title
        self.interval = 1.0 / max_redraws_per_s
        self.max_points = max_points
        self.clock = clock
        self.trailing = trailing
        #: Number of redraws so far (what the rate limit bounds).
        self.redraws = 0
        #: Number of events recorded.
        self.events = 0
        self.step = 0
        self.epoch = 0  # last completed epoch (1-based)
        self.current_epoch = 0  # epoch of the newest batch (1-based)
        self.total_steps: int | None = None
        self.status: str | None = None
        self.error: str | None = None
        self.message: str | None = None
        self.batch: dict[str, Series] = {}
        self.epochs: dict[str, Series] = {}
        self.latest: dict[str, Any] = {}  # newest value of each metric (batch or epoch)
        self.final: dict[str, Any] = {}  # eval metrics (test accuracy ...)
        self._epoch_steps: dict[int, int] = {}
        self._first_time: float | None = None
        self._first_step = 0
        self._last_time: float | None = None
        self._start_time: float | None = None  # first event's time: when the run started
        self._end_time: float | None = None  # newest event's time
        self._last_draw = float("-inf")
        self._dirty = False
        self._lock = threading.RLock()
        self._timer: threading.Timer | None = None
        self._feed = EventFeed(clock=clock)
        self._charts: list[LiveChart] = []
        self._cells: list[_CellOutputs] = []  # where display() showed the plot
        self._widget: ipywidgets.VBox | None = None
        self._shown_in_cell: int | None = None  # execution count of the cell display() drew in
        self._follower: threading.Thread | None = None
        self._stop_following = threading.Event()

    # -- input -------------------------------------------------------------------------------

    def on_event(self, event: dict[str, Any]) -> None:
        """Record one event; redraw if the last redraw is at least one interval old.

        Safe to call from any thread; never waits for the front end.
        """
        with self._lock:
            self._record(event)
            self._feed.add(event)
            self.events += 1
            self._dirty = True
            self._maybe_draw()

    def on_events(self, events: list[dict[str, Any]]) -> None:
        """Record several events with at most one redraw."""
        if not events:
            return
        with self._lock:
            for event in events:
                self._record(event)
                self._feed.add(event)
            self.events += len(events)
            self._dirty = True
            self._maybe_draw()

    def flush(self) -> None:
        """Redraw now if anything arrived since the last redraw (end of training)."""
        with self._lock:
            self._cancel_timer()
            if self._dirty:
                self._draw()

    def _record(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        t = event.get("t")
        if isinstance(t, (int, float)) and kind in ("status", "batch", "epoch", "eval"):
            self._start_time = float(t) if self._start_time is None else self._start_time
            self._end_time = float(t)
        metrics = event.get("metrics") or {}
        epochs = event.get("epochs")
        if epochs:
            self.total_epochs = int(epochs)
        if event.get("total_steps") and self.total_epochs:
            self.total_steps = int(event["total_steps"])
            self.steps_per_epoch = self.steps_per_epoch or max(1, self.total_steps // self.total_epochs)
        if kind == "batch":
            self._record_batch(event, metrics)
        elif kind == "epoch":
            self._record_epoch(event, metrics)
        elif kind == "status":
            self.status = event.get("status") or self.status
            self.error = event.get("error") or (None if self.status == "running" else self.error)
        elif kind == "eval":
            self.final.update(metrics)
        elif kind == "log":
            self.message = event.get("message")

    def _record_batch(self, event: dict[str, Any], metrics: dict[str, Any]) -> None:
        step = int(event.get("step") or self.step + 1)
        if step <= self.step:
            # A resumed run repeats steps: drop what is redone rather than draw a zigzag.
            for series in self.batch.values():
                series.truncate(step)
        self.step = step
        self.current_epoch = int(event.get("epoch") or self.current_epoch)
        self.status = self.status or "running"
        t = event.get("t")
        if isinstance(t, (int, float)):
            if self._first_time is None:
                self._first_time, self._first_step = float(t), step - 1
            self._last_time = float(t)
        for name, value in metrics.items():
            if name not in self.batch:
                self.batch[name] = Series(self.max_points)
            self.batch[name].append(step, value)
            self.latest[name] = value

    def _record_epoch(self, event: dict[str, Any], metrics: dict[str, Any]) -> None:
        epoch = int(event.get("epoch") or self.epoch + 1)
        if epoch <= self.epoch:
            for series in self.epochs.values():
                series.truncate(epoch)
        self.epoch = self.current_epoch = epoch
        if event.get("step"):
            self.step = max(self.step, int(event["step"]))
            self._epoch_steps[epoch] = int(event["step"])
            if self.steps_per_epoch is None and epoch:
                self.steps_per_epoch = max(1, int(event["step"]) // epoch)
        for name, value in metrics.items():
            if name in _NOT_PLOTTED:
                self.latest[name] = value
                continue
            if name not in self.epochs:
                self.epochs[name] = Series(self.max_points)
            self.epochs[name].append(epoch, value)
            self.latest[name] = value

    # -- throttled drawing -----------------------------------------------------------------------

    def _maybe_draw(self) -> None:
        now = self.clock()
        if now - self._last_draw >= self.interval:
            self._draw(now)
        elif self.trailing and self._timer is None:
            self._timer = threading.Timer(self.interval - (now - self._last_draw), self._on_timer)
            self._timer.daemon = True
            self._timer.start()

    def _on_timer(self) -> None:
        with self._lock:
            self._timer = None
            if self._dirty:
                self._maybe_draw()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _draw(self, now: float | None = None) -> None:
        self._last_draw = self.clock() if now is None else now
        self._dirty = False
        self.redraws += 1
        if not self._charts:
            self._feed.take()  # nobody to send them to: the (bounded) history keeps what a view needs
            return
        # History first: a view created between the two then misses no epoch or status event.
        history = self._feed.history() if self._feed.history_due() else None
        events = self._feed.take()
        for chart in self._charts:
            with chart.hold_sync():
                if history is not None:
                    chart.history = history
            chart.send_events(events)

    # -- rendering -------------------------------------------------------------------------------

    def _x(self, step: float) -> float:
        return step / self.steps_per_epoch if self.steps_per_epoch else step

    def figure(self) -> dict[str, Any]:
        """Build the current plot as plotly JSON: one panel per metric (loss, accuracy, ...)."""
        names = [name for name in ("loss", "accuracy") if name in self.batch or name in self.epochs]
        names += sorted(
            name for name in {*self.batch, *self.epochs}
            if not name.startswith("val_") and name not in names
        )[: max(0, 3 - len(names))]  # fmt: skip
        names = names or ["loss", "accuracy"]
        on_epochs = self.steps_per_epoch is not None
        data: list[dict[str, Any]] = []
        layout: dict[str, Any] = {
            "height": 370,
            # The legend sits below the x axes' titles (a 70 px band), never over them.
            "margin": {"l": 50, "r": 20, "t": 50 if self.title else 30, "b": 80},
            "legend": {"orientation": "h", "x": 0, "y": 0, "yref": "container", "yanchor": "bottom"},
            "annotations": [],
        }
        if self.title:
            layout["title"] = {"text": self.title, "x": 0.02}
        gap = 0.08
        width = (1 - gap * (len(names) - 1)) / len(names)
        for i, name in enumerate(names):
            axis = "" if i == 0 else str(i + 1)
            first = i == 0
            start = i * (width + gap)
            layout[f"xaxis{axis}"] = {
                "domain": [start, start + width], "anchor": f"y{axis}",
                "title": {"text": "epoch" if on_epochs else "step"},
            }  # fmt: skip
            layout[f"yaxis{axis}"] = {
                "anchor": f"x{axis}",
                "rangemode": "tozero" if "loss" in name else "normal",
            }
            layout["annotations"].append(
                {"text": f"<b>{name}</b>", "x": start + width / 2, "y": 1.0, "xref": "paper", "yref": "paper",
                 "xanchor": "center", "yanchor": "bottom", "showarrow": False}
            )  # fmt: skip
            common = {"xaxis": f"x{axis}", "yaxis": f"y{axis}"}
            if name in self.batch:
                xs, ys = self.batch[name].points()
                data.append({
                    "type": "scattergl" if len(xs) > 1000 else "scatter", "mode": "lines",
                    "name": "train (batch)", "legendgroup": "batch", "showlegend": first,
                    "x": [round(self._x(x), 4) for x in xs], "y": ys,
                    "line": {"color": PALETTE[0], "width": 1}, "opacity": 0.45, **common,
                })  # fmt: skip
            for key, label, colour in (
                (name, "train (epoch)", PALETTE[0]),
                (f"val_{name}", "validation", PALETTE[1]),
            ):
                if key not in self.epochs:
                    continue
                xs, ys = self.epochs[key].points()
                if not on_epochs:
                    xs = [self._epoch_steps.get(int(x), x) for x in xs]
                data.append({
                    "type": "scatter", "mode": "lines+markers", "name": label, "legendgroup": label,
                    "showlegend": first, "x": xs, "y": ys, "line": {"color": colour, "width": 2},
                    "marker": {"size": 7}, **common,
                })  # fmt: skip
        return {"data": data, "layout": layout, "config": {"displaylogo": False, "responsive": True}}

    def _eta(self) -> float | None:
        if self.total_steps is None or self._first_time is None or self._last_time is None:
            return None
        done = self.step - self._first_step
        elapsed = self._last_time - self._first_time
        if done <= 0 or elapsed <= 0:
            return None
        return max(0.0, (self.total_steps - self.step) * elapsed / done)

    def _progress_parts(self) -> tuple[list[str], float | None]:
        parts = []
        status = self.status or "waiting for the first batch"
        parts.append(status)
        if self.total_epochs:
            shown = self.current_epoch if status == "running" else self.epoch
            parts.append(f"epoch {min(max(shown, self.epoch), self.total_epochs)}/{self.total_epochs}")
        fraction = None
        if self.total_steps:
            fraction = min(1.0, self.step / self.total_steps)
            parts.append(f"step {self.step}/{self.total_steps} ({fraction:.0%})")
        elif self.step:
            parts.append(f"step {self.step}")
        if self._start_time is not None and self._end_time is not None:
            parts.append(f"{_duration(self._end_time - self._start_time)} elapsed")
        eta = self._eta()
        if eta is not None and status == "running":
            parts.append(f"ETA {_duration(eta)}")
        for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
            if name in self.latest:
                parts.append(f"{name} {_fmt(self.latest[name])}")
        for name, value in self.final.items():
            parts.append(f"{name} {_fmt(value)}")
        if self.error:
            parts.append(f"error: {self.error}")
        return parts, fraction

    def progress_text(self) -> str:
        """One line: status, epoch, step, elapsed time, ETA and the latest metrics."""
        return " · ".join(self._progress_parts()[0])

    def progress_html(self) -> str:
        """:meth:`progress_text` with a progress bar, as HTML."""
        import html

        parts, fraction = self._progress_parts()
        bar = (
            f'<progress value="{fraction:.4f}" max="1" style="width:180px;vertical-align:middle"></progress> '
            if fraction is not None else ""
        )  # fmt: skip
        colour = "#c62828" if self.error or self.status == "failed" else "inherit"
        text = html.escape(" · ".join(parts))
        return f'<div class="lepton-progress" style="font-family:monospace;color:{colour}">{bar}{text}</div>'

    # -- showing ---------------------------------------------------------------------------------

    def display(self) -> LivePlot:
        """Show the plot in the current cell, growing while training runs; returns ``self``.

        The live widget gives way to ordinary outputs (the final plot and progress line) when
        :meth:`finish` runs, so an executed and saved notebook keeps the final plot.
        """
        from IPython.display import display

        with self._lock:
            progress = HtmlDisplay()
            progress.show("", "")  # filled in by finish(); the chart shows progress meanwhile
            chart = self._new_chart()
            handle = display(chart, display_id=True)
            self._cells.append(_CellOutputs(progress, handle, chart))
            self._shown_in_cell = _execution_count()
        return self

    def finish(self) -> None:
        """Draw what is pending and replace each live widget in a cell by the final plot.

        Called when training ends (the Keras callback, a followed run or job); the plot takes
        no more events afterwards in those cells. The widget of :attr:`widget` stays.
        """
        with self._lock:
            self.flush()
            cells, self._cells = self._cells, []
            if not cells:
                return
            figure = self.figure()
            progress_html, progress_text = self.progress_html(), self.progress_text()
            for cell in cells:
                cell.progress.show(progress_html, progress_text)
                if cell.handle is not None:
                    cell.handle.update(bundle(figure, "training plot"), raw=True)
                self._charts.remove(cell.chart)
                cell.chart.close()

    def _new_chart(self) -> LiveChart:
        chart = LiveChart(snapshot=self._snapshot_html, title=self.title or "")
        chart.history = self._feed.history()  # everything so far; later draws send what is new
        self._charts.append(chart)
        return chart

    def _snapshot_html(self) -> str:
        return self.progress_html() + str(bundle(self.figure(), "training plot")["text/html"])

    @property
    def widget(self) -> ipywidgets.VBox:
        """The plot as a widget (progress line above the charts), for dashboards."""
        with self._lock:
            if self._widget is None:
                self._widget = ipywidgets.VBox([self._new_chart()])
                self._widget.add_class("lepton-live-plot")
            return self._widget

    def _ipython_display_(self) -> None:
        from IPython.display import display

        # `job.watch()` as a cell's last line returns a plot that display() already showed in
        # this cell; IPython would echo it a second time.
        if self._shown_in_cell is not None and self._shown_in_cell == _execution_count():
            return
        display(self.widget)

    # -- sources ---------------------------------------------------------------------------------

    def callback(self, finish_on_train_end: bool = True) -> Any:
        """Return a Keras callback feeding this plot from ``model.fit`` (the events ``events.jsonl`` gets).

        With ``finish_on_train_end`` (the default) the plot gives way to the final plot when
        ``fit`` ends (:meth:`finish`).
        """
        from lepton_lab.widgets._live_callback import LivePlotCallback

        return LivePlotCallback(
            self, epochs=self.total_epochs, steps_per_epoch=self.steps_per_epoch,
            finish_on_train_end=finish_on_train_end,
        )  # fmt: skip

    def follow_run(self, run: Any, poll_s: float = 0.25) -> threading.Thread:
        """Tail a run directory's ``events.jsonl`` in a thread until the run finishes.

        Parameters
        ----------
        run : Run, RunDir, str or path
            The run (anything with ``.path``, or the directory itself).
        poll_s : float
            Seconds between reads.
        """
        from lepton_lab.core.events import EventTail

        path = Path(getattr(run, "path", run))
        tail = EventTail(path / "events.jsonl")

        def read() -> list[dict[str, Any]]:
            return tail.read()

        def done() -> bool:
            return bool(run.done)

        name = f"lepton-plot-{path.name}"
        return self._follow(read, poll_s, name=name, done=done if hasattr(run, "done") else None)

    def follow(self, job: Any, poll_s: float = 0.5) -> threading.Thread:
        """Feed this plot from a server job (``lepton_lab.client.Job``) in a thread.

        Reads the job's whole history first, then new events as they are written, until the job
        has finished and every event is read.
        """
        offset = 0

        def read() -> list[dict[str, Any]]:
            nonlocal offset
            events, offset = job.events_page(after=offset)
            return list(events)

        def done() -> bool:
            return bool(job.done)

        return self._follow(read, poll_s, name=f"lepton-plot-job-{getattr(job, 'id', '')}", done=done)

    @classmethod
    def follow_job(cls, job: Any, poll_s: float = 0.5) -> LivePlot:
        """Show a new plot of a server job in the cell and follow it: ``job.watch()``.

        After a kernel restart, ``lepton_lab.job(id).watch()`` draws the history, then goes on live.
        """
        plot = cls(title=f"job {getattr(job, 'id', '')}").display()
        plot.follow(job, poll_s)
        return plot

    def _follow(
        self,
        read: Callable[[], list[dict[str, Any]]],
        poll_s: float,
        name: str,
        done: Callable[[], bool] | None = None,
    ) -> threading.Thread:
        self.stop_following()
        self._stop_following = stop = threading.Event()

        def finished() -> bool:
            # The source knows best: a resumed job's events end with its old "cancelled" status
            # until the new worker starts, and that must not end the plot.
            if done is not None:
                try:
                    return bool(done())
                except Exception:
                    pass  # source unreachable for now: go by the last status event
            return self.status in _FINAL

        def loop() -> None:
            while not stop.is_set():
                try:
                    events = read()
                except Exception as error:
                    _LOG.warning("live plot: reading events failed: %s", error)
                    events = []
                self.on_events(events)
                if not events and finished():
                    self.on_events(read())  # written between the last read and the end
                    break
                stop.wait(poll_s)
            if stop.is_set():
                self.flush()  # stopped by the user: the plot stays live for whatever feeds it next
            else:
                self.finish()

        self._follower = threading.Thread(target=loop, name=name, daemon=True)
        self._follower.start()
        return self._follower

    def wait_following(self, timeout: float | None = None) -> None:
        """Wait until a :meth:`follow_run` / :meth:`follow` thread has read the end of its source."""
        follower = self._follower
        if follower is not None and follower is not threading.current_thread():
            follower.join(timeout)

    def stop_following(self) -> None:
        """Stop a :meth:`follow_run` / :meth:`follow` thread (the run itself goes on)."""
        self._stop_following.set()
        if self._follower is not None and self._follower is not threading.current_thread():
            self._follower.join(timeout=5)
        self._follower = None


class _CellOutputs:
    """The outputs :meth:`LivePlot.display` made in one cell."""

    def __init__(self, progress: HtmlDisplay, handle: Any, chart: LiveChart) -> None:
        self.progress = progress
        self.handle = handle
        self.chart = chart


def _execution_count() -> int | None:
    """Return the running cell's execution count, or None outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return None if shell is None else int(shell.execution_count)


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def live_callback(run: Any) -> Any | None:
    """Make the callback ``lepton_lab.train(..., live=True)`` adds: it shows a :class:`LivePlot` in the cell.

    The run's earlier events (a resumed run) are drawn first. Returns None outside a Jupyter
    kernel, where there is no cell to draw in.
    """
    if not _in_kernel():
        _LOG.info("live=True: not in a Jupyter kernel, so no live plot is shown")
        return None
    spec = getattr(run, "spec", None)
    epochs = spec.train.epochs if spec is not None else None
    plot = LivePlot(total_epochs=epochs, title=f"run {run.id}" if hasattr(run, "id") else None)
    if hasattr(run, "events"):
        plot.on_events([e for e in run.events() if e.get("type") in ("batch", "epoch")])
    plot.display()
    # train() calls the callback's end_run(run) when the run has ended, however it ended.
    return plot.callback(finish_on_train_end=False)
