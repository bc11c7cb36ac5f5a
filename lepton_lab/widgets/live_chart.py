"""LiveChart: the widget that draws a :class:`~lepton_lab.widgets.live_plot.LivePlot` as it grows.

JupyterLab's plotly renderer does not redraw when a cell output is updated in place, so a plot
made of updated plotly outputs stays blank while training runs. This widget's front end
(``labextension/src/liveplotwidget.ts``, bundled into ``static/live_plot.js``) is the Lab job
view's chart code: it folds the run's events into bounded curves, progress and ETA exactly as
the side panel does, and appends points as they come.

The kernel sends events two ways (see :class:`EventFeed`): new events as custom messages, at
most as often as the plot redraws, and a thinned copy of the whole history in the ``history``
trait, refreshed every few seconds and whenever an epoch ends or the status changes, for views
created mid-run (a page reload, a second view of the same widget).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

_STATIC = Path(__file__).parent / "static"

_NOT_BUILT_ESM = """
export default { render({ el }) {
  el.textContent = "Lepton Lab's live plot front end is not built (lepton_lab/widgets/static/live_plot.js "
    + "is missing): run `make build` (or reinstall with `pip install .`) and run the cell again.";
  el.style.color = "#c62828";
} };
"""


def _read(name: str, fallback: str) -> str:
    path = _STATIC / name
    return path.read_text(encoding="utf-8") if path.is_file() else fallback


class LiveChart(anywidget.AnyWidget):
    """Loss and accuracy charts with a progress line, fed with training events.

    Use it through :class:`~lepton_lab.widgets.live_plot.LivePlot`; :meth:`send_events` is all
    there is to it.
    """

    _esm = _read("live_plot.js", _NOT_BUILT_ESM)
    _css = _read("live_plot.css", "")

    title = traitlets.Unicode("", help="Shown above the charts.").tag(sync=True)
    history: traitlets.List[dict[str, Any]] = traitlets.List(
        help="A thinned copy of every event so far, each with its `seq` number (for new views)."
    ).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("lepton-live-chart")
        #: Custom messages sent (each one a batch of events).
        self.messages = 0

    def send_events(self, events: list[dict[str, Any]]) -> None:
        """Send new events (each with a ``seq``) to every view."""
        if events:
            self.messages += 1
            self.send({"type": "events", "events": events})

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)  # ipywidgets: (data, metadata)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        # Where the widget cannot run (nbconvert, a notebook saved mid-run without widget state)
        # the next mimetype shows. The static drawing comes with the final draw only
        # (LivePlot.finish replaces this output), so the live output stays a few hundred bytes.
        if isinstance(data, dict):
            data["text/html"] = _PLACEHOLDER_HTML
        return bundle


_PLACEHOLDER_HTML = (
    '<div class="lepton-live-placeholder" style="font-family:monospace">Live training plot: it draws '
    "while the kernel runs, and the final plot replaces it when training ends.</div>"
)


class EventFeed:
    """What a :class:`LiveChart` is sent: numbered events, thinned to a bounded size.

    Every event gets the next ``seq`` number. :meth:`take` returns the events since the last
    call (batch events thinned to at most ``max_batch_per_send`` plus the newest), and
    :meth:`history` all events so far with batch events kept at an even stride (between
    ``max_batch`` and twice as many), log messages only the last ``max_logs``.

    The view's curves keep at most 600 points (the panel's bounded series), so a history of 300
    to 600 batch events and 100 per send (400 a second at 4 redraws a second) draw them as
    densely as every event would, at a fraction of the bytes (``bench/bench_live_plot_bytes.py``).

    Parameters
    ----------
    max_batch : int
        Batch events the history keeps, at least (at most twice as many).
    max_batch_per_send : int
        Batch events one :meth:`take` returns at most.
    history_interval_s : float
        :meth:`history_due` is true at least this long after the last :meth:`history`.
    clock : callable
        Monotonic seconds.
    """

    def __init__(
        self,
        max_batch: int = 300,
        max_batch_per_send: int = 100,
        max_logs: int = 50,
        history_interval_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seq = 0
        self.max_batch = max_batch
        self.max_batch_per_send = max_batch_per_send
        self.max_logs = max_logs
        self.history_interval_s = history_interval_s
        self.clock = clock
        self._pending: list[dict[str, Any]] = []
        self._batch: list[dict[str, Any]] = []
        self._stride = 1
        self._batch_count = 0
        self._last_batch: dict[str, Any] | None = None
        self._other: list[dict[str, Any]] = []
        self._logs: list[dict[str, Any]] = []
        self._landmark = False  # an epoch, status or eval event since the last history
        self._last_history = float("-inf")

    def add(self, event: dict[str, Any]) -> None:
        """Give ``event`` the next number; keep it for the next :meth:`take` and the history."""
        self.seq += 1
        numbered = {**event, "seq": self.seq}
        self._pending.append(numbered)
        kind = event.get("type")
        if kind == "batch":
            self._last_batch = numbered
            if self._batch_count % self._stride == 0:
                self._batch.append(numbered)
                if len(self._batch) > 2 * self.max_batch:
                    del self._batch[1::2]
                    self._stride *= 2
            self._batch_count += 1
        elif kind == "log":
            self._logs.append(numbered)
            del self._logs[: -self.max_logs]
        else:
            self._other.append(numbered)
            self._landmark = True

    def take(self) -> list[dict[str, Any]]:
        """Return the events added since the last call, batch events thinned."""
        pending, self._pending = self._pending, []
        batches = [i for i, event in enumerate(pending) if event.get("type") == "batch"]
        if len(batches) > self.max_batch_per_send:
            step = -(-len(batches) // self.max_batch_per_send)
            keep = set(batches[::step]) | {batches[-1]}
            pending = [event for i, event in enumerate(pending) if event.get("type") != "batch" or i in keep]
        return pending

    def history_due(self) -> bool:
        """Whether the history should be sent again: a landmark event, or it is old."""
        return self._landmark or self.clock() - self._last_history >= self.history_interval_s

    def history(self) -> list[dict[str, Any]]:
        """Return every event so far (batch events at a stride, the last log messages), by seq."""
        self._landmark = False
        self._last_history = self.clock()
        events = [*self._other, *self._batch, *self._logs]
        if self._last_batch is not None and (not self._batch or self._batch[-1] is not self._last_batch):
            events.append(self._last_batch)  # the curve ends where training is
        events.sort(key=lambda event: event["seq"])
        return events
