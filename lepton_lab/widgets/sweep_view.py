"""SweepView: a hyperparameter sweep while it runs: best so far, trials, parameters, importance.

``ll.SweepView(sweep)`` (or ``sweep.watch()``) shows a summary line, the objective of each
finished trial with the running best, parameter importance (the server's fANOVA), the trial
table and parallel coordinates of the completed trials, all built by
:mod:`lepton_lab.widgets._sweep_figures` from the server's JSON.

Live: a thread follows the sweep (:meth:`lepton_lab.sweep_client.Sweep.follow`, the server's
``stream`` WebSocket and its ``{"type": "sweep"}`` messages), so the kernel stays free; each
change refetches the trials and redraws, at most ``max_redraws_per_s`` times a second
(:class:`~lepton_lab.widgets._redraw_throttle.RedrawThrottle`, coalescing what came between).

Sharing: the charts are plotly JSON outputs with a static SVG fallback in
:class:`~lepton_lab.widgets._plots.FigureView` areas, and the view carries a static HTML snapshot
(:class:`~lepton_lab.sharing.snapshot.StaticSnapshot`). Shown through :meth:`SweepView.display`,
the cell output is updated with a fresh snapshot when the sweep ends, so a saved or exported
notebook shows the final charts with the network off.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets

from lepton_lab.sharing.snapshot import StaticSnapshot
from lepton_lab.sweep_client import FINISHED_SWEEP_STATES
from lepton_lab.widgets import _plots
from lepton_lab.widgets import _sweep_figures as figures
from lepton_lab.widgets._redraw_throttle import RedrawThrottle, TimerFactory, thread_timer

_LOG = logging.getLogger("lepton_lab.widgets")

#: What a chart area says until there is something to draw.
_WAITING = {
    "history": "<i>The best-so-far curve appears when the first trial reports its objective.</i>",
    "importance": "<i>Parameter importance appears once three trials have values.</i>",
    "parallel": "<i>Parallel coordinates appear when a trial has completed.</i>",
}


class SweepView(StaticSnapshot, ipywidgets.VBox):
    """Live charts and table of a sweep.

    Parameters
    ----------
    sweep : Sweep
        A :class:`lepton_lab.sweep_client.Sweep` (``ll.sweep(...)``, ``ll.sweeps()[0]``); anything
        with ``id``, ``info``, ``trials_info()`` and ``follow(stop=...)`` will do.
    follow : bool
        Follow a sweep that has not ended yet in a thread (False: draw what it is now; call
        :meth:`update` to redraw).
    max_redraws_per_s : float
        Redraw rate limit while following.
    clock : callable
        Monotonic seconds; tests pass a fake clock.
    timer : callable or None
        ``timer(delay_s, callback)`` for the trailing redraw (default a ``threading.Timer``);
        tests pass fake timers they fire by hand.

    Attributes
    ----------
    info : dict
        The sweep's JSON as last drawn.
    trials : list of dict
        Its trials as last drawn.
    """

    def __init__(
        self,
        sweep: Any,
        *,
        follow: bool = True,
        max_redraws_per_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        timer: TimerFactory | None = thread_timer,
        **kwargs: Any,
    ) -> None:
        if max_redraws_per_s <= 0:
            raise ValueError(f"max_redraws_per_s must be > 0, got {max_redraws_per_s}")
        self.sweep = sweep
        self.info: dict[str, Any] = dict(sweep.info)
        self.trials: list[dict[str, Any]] = []
        #: Number of redraws so far (what the rate limit bounds).
        self.redraws = 0
        self.header = ipywidgets.HTML()
        self.history = _plots.FigureView(layout=ipywidgets.Layout(flex="3 1 420px", min_width="0"))
        self.importance = _plots.FigureView(layout=ipywidgets.Layout(flex="2 1 280px", min_width="0"))
        self.table = ipywidgets.HTML(layout=ipywidgets.Layout(width="100%"))
        self.parallel = _plots.FigureView()
        self._lock = threading.RLock()
        self._throttle = RedrawThrottle(
            1.0 / max_redraws_per_s, self._draw, self._lock, clock=clock, timer=timer
        )
        self._follower: threading.Thread | None = None
        self._stop = threading.Event()
        self._handle: Any = None  # the cell output of display(), updated with the final snapshot
        self._shown_in_cell: int | None = None
        super().__init__(
            [
                self.header,
                ipywidgets.HBox(
                    [self.history, self.importance],
                    layout=ipywidgets.Layout(flex_flow="row wrap", align_items="flex-start", width="100%"),
                ),
                ipywidgets.HTML("<b>Trials</b> (★ best)"),
                self.table,
                self.parallel,
            ],
            **kwargs,
        )
        self.add_class("lepton-sweep-view")
        self.update()
        if follow and self.info.get("state") not in FINISHED_SWEEP_STATES:
            self._follower = threading.Thread(
                target=self._follow, name=f"lepton-sweep-{sweep.id}", daemon=True
            )
            self._follower.start()

    # -- input -----------------------------------------------------------------------------------

    def update(self, info: dict[str, Any] | None = None) -> None:
        """Take the sweep's new JSON (None: keep it); redraw if the last redraw is one interval old.

        The trials are fetched when the redraw happens, so changes that come faster than the
        rate limit cost one fetch.
        """
        with self._lock:
            if info is not None:
                self.info = dict(info)
            self._throttle.request()

    def flush(self) -> None:
        """Redraw now if anything changed since the last redraw."""
        with self._lock:
            self._throttle.flush()

    def _draw(self, now: float) -> None:
        self.redraws += 1
        try:
            self.trials = list(self.sweep.trials_info())
        except Exception as error:  # unreachable for now: draw what is known, the next change retries
            _LOG.warning("sweep view: fetching the trials of %s failed: %s", self.sweep.id, error)
        info, trials = self.info, self.trials
        objective = info.get("objective") or {}
        metric = str(objective.get("metric") or "value")
        direction = str(objective.get("direction") or "maximize")
        space = info.get("space") or {}
        self.header.value = figures.header_html(info)
        best = info.get("best") or {}
        self.table.value = figures.trials_table_html(trials, space, best.get("number"))
        history = figures.history_figure(trials, metric, direction)
        importance = figures.importance_figure(info.get("importance"))
        parallel = figures.parallel_figure(trials, space, metric, direction)
        self._show(self.history, history, "sweep history", _WAITING["history"])
        self._show(self.importance, importance, "parameter importance", _WAITING["importance"])
        self._show(self.parallel, parallel, "parallel coordinates", _WAITING["parallel"])

    @staticmethod
    def _show(view: _plots.FigureView, figure: dict[str, Any] | None, title: str, waiting: str) -> None:
        if figure is None:
            view.show_html(waiting)
        elif figure != view.figure:  # unchanged: no new SVG drawing, no message to the front end
            view.show(figure, title)

    # -- following -------------------------------------------------------------------------------

    def _follow(self) -> None:
        stop = self._stop
        try:
            for info in self.sweep.follow(stop=stop):
                self.update(info)
        except Exception as error:  # refused or unreachable: the view keeps what it has
            _LOG.warning("sweep view: following sweep %s failed: %s", self.sweep.id, error)
        if not stop.is_set():
            self.finish()

    def finish(self) -> None:
        """Draw the final state and refresh the cell output's static snapshot (the sweep has ended)."""
        with self._lock:
            self._throttle.request()  # the ended sweep's trials, fetched once more
            self.flush()
            if self._handle is not None:
                self._handle.update(self._repr_mimebundle_(), raw=True)

    def wait_following(self, timeout: float | None = None) -> None:
        """Wait until the following thread has drawn the end of the sweep."""
        follower = self._follower
        if follower is not None and follower is not threading.current_thread():
            follower.join(timeout)

    def stop_following(self) -> None:
        """Stop following (the sweep itself goes on)."""
        self._stop.set()
        self.wait_following(timeout=5)

    # -- showing ---------------------------------------------------------------------------------

    def display(self) -> SweepView:
        """Show the view in the current cell; its output gets the final snapshot when the sweep ends."""
        from IPython.display import display

        from lepton_lab.widgets.live_plot import _execution_count

        with self._lock:
            self._handle = display(self._repr_mimebundle_(), raw=True, display_id=True)
            self._shown_in_cell = _execution_count()
        return self

    def _ipython_display_(self) -> None:
        from lepton_lab.widgets.live_plot import _execution_count

        # `sweep.watch()` as a cell's last line returns a view display() already showed in this cell.
        if self._shown_in_cell is not None and self._shown_in_cell == _execution_count():
            return
        self.display()

    def __repr__(self) -> str:
        return f"<SweepView of sweep {self.sweep.id}>"
