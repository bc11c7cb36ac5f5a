"""LivePlot: loss and accuracy while a model trains, fed by events however fast they come.

A plot takes event dicts (``{"t", "type", "step", "epoch", "metrics", ...}``, the records of
``events.jsonl``) from any source:

- a run directory: :meth:`LivePlot.follow_run` tails its ``events.jsonl`` in a thread (what
  ``lepton_lab.train(..., live=True)`` does, through :func:`watch_run`);
- a server job: :meth:`LivePlot.follow` reads the job's events over its WebSocket through
  ``lepton_lab.client`` (history first, then live); :meth:`LivePlot.follow_job` (what
  ``job.watch()`` calls) shows a new plot and follows, so ``lepton_lab.job(id).watch()`` works
  after a kernel restart;
- an in-kernel ``fit`` of your own: :meth:`LivePlot.callback` is a Keras callback.

This module is the view: a :class:`~lepton_lab.widgets.live_chart.LiveChart` widget while
training runs, replaced in the cell by the final plot when it ends (:meth:`finish`: a plotly
figure with its static SVG drawing, and the progress line), so a saved notebook stays small and
shows the plot offline. What is drawn comes from the pure model
:class:`~lepton_lab.widgets.live_plot_model.LivePlotModel`; redraws are rate-limited by
:class:`~lepton_lab.widgets._redraw_throttle.RedrawThrottle` (at most ``max_redraws_per_s``,
4 by default, coalescing what arrived in between). A live redraw sends only new events; the SVG
drawing is made once, for the final draw.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import ipywidgets

from lepton_lab.widgets._plots import HtmlDisplay, bundle
from lepton_lab.widgets._redraw_throttle import RedrawThrottle, TimerFactory, thread_timer
from lepton_lab.widgets.live_chart import EventFeed, LiveChart
from lepton_lab.widgets.live_plot_model import LivePlotModel

_LOG = logging.getLogger("lepton_lab.widgets")


class LivePlot:
    """Live loss and accuracy curves (train and validation, per batch and per epoch) with progress.

    Parameters
    ----------
    total_epochs : int, optional
        Epochs of the run, for progress and ETA (events carry it too).
    title : str, optional
        Shown above the plot.
    max_redraws_per_s : float
        Redraw rate limit.
    max_points : int
        Points each batch curve keeps at most (the Lab panel's rule).
    clock : callable
        Monotonic seconds; tests pass a fake clock.
    timer : callable or None
        ``timer(delay_s, callback)`` starts the one-shot timer that redraws what arrived during
        a pause (default: a ``threading.Timer``); tests pass fake timers they fire by hand.
    trailing : bool
        False: no trailing timer at all (redraws only as events come, and at :meth:`flush`).

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
        max_points: int = 600,
        clock: Callable[[], float] = time.monotonic,
        timer: TimerFactory | None = thread_timer,
        trailing: bool = True,
    ) -> None:
        if max_redraws_per_s <= 0:
            raise ValueError(f"max_redraws_per_s must be > 0, got {max_redraws_per_s}")
        self.model = LivePlotModel(title=title, total_epochs=total_epochs, max_points=max_points)
        self.steps_per_epoch = steps_per_epoch  # kept for callback(); events say it too
        self.clock = clock
        #: Number of redraws so far (what the rate limit bounds).
        self.redraws = 0
        #: Number of events recorded.
        self.events = 0
        self._lock = threading.RLock()
        self._throttle = RedrawThrottle(
            1.0 / max_redraws_per_s, self._draw, self._lock, clock=clock, timer=timer if trailing else None
        )
        self._feed = EventFeed(clock=clock)
        self._charts: list[LiveChart] = []
        self._cells: list[_CellOutputs] = []  # where display() showed the plot
        self._widget: ipywidgets.VBox | None = None
        self._shown_in_cell: int | None = None  # execution count of the cell display() drew in
        self._follower: threading.Thread | None = None
        self._stop_following = threading.Event()

    # -- state (read from the model) ---------------------------------------------------------------

    @property
    def title(self) -> str | None:
        """Shown above the plot."""
        return self.model.title

    @property
    def status(self) -> str | None:
        """Status of the latest status event (None before one)."""
        return self.model.metrics.status

    @property
    def step(self) -> int:
        """Global step of the newest batch or epoch event."""
        return self.model.metrics.step

    @property
    def epoch(self) -> int:
        """Epochs completed (the newest epoch event's, or the restart point's)."""
        return self.model.metrics.epochs_done

    @property
    def current_epoch(self) -> int:
        """The epoch in progress while training, the epochs completed once it has ended."""
        return self.model.metrics.current_epoch()

    @property
    def error(self) -> str | None:
        """Error of a failed run's status event."""
        return self.model.metrics.error

    @property
    def total_steps(self) -> int | None:
        """Steps of the whole run, when the events say."""
        return self.model.metrics.total_steps

    @property
    def total_epochs(self) -> int | None:
        """Epochs of the whole run, when known."""
        return self.model.metrics.epochs

    @property
    def final(self) -> dict[str, Any]:
        """Test metrics of the run's ``eval`` event (empty before it)."""
        return dict(self.model.metrics.evaluation or {})

    # -- input -------------------------------------------------------------------------------

    def on_event(self, event: dict[str, Any]) -> None:
        """Record one event; redraw if the last redraw is at least one interval old.

        Safe to call from any thread; never waits for the front end.
        """
        self.on_events([event])

    def on_events(self, events: Iterable[dict[str, Any]]) -> None:
        """Record several events with at most one redraw."""
        events = list(events)
        if not events:
            return
        with self._lock:
            self.model.apply(events)
            for event in events:
                self._feed.add(event)
            self.events += len(events)
            self._throttle.request()

    def flush(self) -> None:
        """Redraw now if anything arrived since the last redraw (end of training)."""
        with self._lock:
            self._throttle.flush()

    def _draw(self, now: float) -> None:
        self.redraws += 1
        if not self._charts:
            self._feed.take()  # nobody to send them to: the (bounded) history keeps what a view needs
            return
        # History first: a view created between the two then misses no epoch or status event.
        history = self._feed.history() if self._feed.history_due() else None
        events = self._feed.take()
        for chart in self._charts:
            if history is not None:
                chart.history = history
            chart.send_events(events)

    # -- what is drawn (the model's) -------------------------------------------------------------

    def figure(self) -> dict[str, Any]:
        """Build the current plot as plotly JSON (the final draw's figure)."""
        return self.model.figure()

    def progress_text(self) -> str:
        """One line: status, epoch, step, elapsed time, ETA and the latest metrics."""
        return self.model.progress_text()

    def progress_html(self) -> str:
        """:meth:`progress_text` with a progress bar, as HTML."""
        return self.model.progress_html()

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

        Called when training ends (a followed run or job, the Keras callback); the plot takes
        no more events afterwards in those cells. The widget of :attr:`widget` stays. This is
        the one draw that carries the static SVG drawing.
        """
        with self._lock:
            self.flush()
            cells, self._cells = self._cells, []
            if not cells:
                return
            final = bundle(self.figure(), "training plot")
            progress_html, progress_text = self.progress_html(), self.progress_text()
            for cell in cells:
                cell.progress.show(progress_html, progress_text)
                if cell.handle is not None:
                    cell.handle.update(final, raw=True)
                self._charts.remove(cell.chart)
                cell.chart.close()

    def _new_chart(self) -> LiveChart:
        chart = LiveChart(title=self.title or "")
        chart.history = self._feed.history()  # everything so far; later draws send what is new
        self._charts.append(chart)
        return chart

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

        Reads only the bytes appended since the last read. When the run has ended (``run.done``,
        else its final status event), the rest of the file is read and :meth:`finish` draws the
        final plot.

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
        done = (lambda: bool(run.done)) if hasattr(run, "done") else None
        stop = self._start_following()

        def loop() -> None:
            while not stop.is_set():
                events = tail.read()
                self.on_events(events)
                if not events and self._source_finished(done):
                    self.on_events(tail.read())  # written between the last read and the end
                    break
                stop.wait(poll_s)
            self._end_following(stop)

        return self._spawn(loop, f"lepton-plot-{path.name}")

    def follow(self, job: Any, poll_s: float = 0.5) -> threading.Thread:
        """Feed this plot from a server job (``lepton_lab.client.Job``) in a thread.

        Follows the job's WebSocket (``job.follow()``): its whole history first, then new events
        as they are written, until the job has finished and every event is read. ``poll_s`` is
        how long to wait before following again if the connection fails.
        """
        from lepton_lab.client import ServerNotFound

        stop = self._start_following()
        name = getattr(job, "id", "")

        def loop() -> None:
            while not stop.is_set():
                try:
                    for events in job.follow_batches(stop=stop):
                        self.on_events(events)
                    break
                except (ServerNotFound, OSError) as error:  # unreachable for now: try again
                    _LOG.warning("live plot: following job %s failed: %s; retrying", name, error)
                    stop.wait(poll_s)
                except Exception as error:  # refused (403, 404) or broken: the plot shows what it has
                    _LOG.warning("live plot: following job %s failed: %s", name, error)
                    break
            self._end_following(stop)

        return self._spawn(loop, f"lepton-plot-job-{getattr(job, 'id', '')}")

    @classmethod
    def follow_job(cls, job: Any, poll_s: float = 0.5) -> LivePlot:
        """Show a new plot of a server job in the cell and follow it: ``job.watch()``.

        After a kernel restart, ``lepton_lab.job(id).watch()`` draws the history, then goes on live.
        """
        plot = cls(title=f"job {getattr(job, 'id', '')}").display()
        plot.follow(job, poll_s)
        return plot

    def _source_finished(self, done: Callable[[], bool] | None) -> bool:
        # The source knows best; the events' last status only when it cannot be asked.
        if done is not None:
            try:
                return bool(done())
            except Exception:
                pass  # source unreachable for now: go by the last status event
        return self.model.ended

    def _start_following(self) -> threading.Event:
        self.stop_following()
        self._stop_following = threading.Event()
        return self._stop_following

    def _spawn(self, loop: Callable[[], None], name: str) -> threading.Thread:
        self._follower = threading.Thread(target=loop, name=name, daemon=True)
        self._follower.start()
        return self._follower

    def _end_following(self, stop: threading.Event) -> None:
        if stop.is_set():
            self.flush()  # stopped by the user: the plot stays live for whatever feeds it next
        else:
            self.finish()

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


def watch_run(run: Any) -> LivePlot | None:
    """Show a :class:`LivePlot` of ``run`` in the cell, tailing its ``events.jsonl``: ``train(live=True)``.

    The run's earlier events (a resumed run) are drawn first; the plot shows its final state once
    the run has ended (``lepton_lab.train`` waits for that with :meth:`LivePlot.wait_following`).
    Returns None outside a Jupyter kernel, where there is no cell to draw in.
    """
    if not _in_kernel():
        _LOG.info("live=True: not in a Jupyter kernel, so no live plot is shown")
        return None
    spec = getattr(run, "spec", None)
    epochs = spec.train.epochs if spec is not None else None
    plot = LivePlot(total_epochs=epochs, title=f"run {run.id}" if hasattr(run, "id") else None)
    plot.display()
    plot.follow_run(run)
    return plot
