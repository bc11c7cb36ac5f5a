"""``LivePlot.callback()``: feed a plot from your own ``model.fit`` (imports Keras, so kept apart).

It reuses :class:`~lepton_lab.core.callbacks.metrics.MetricsCallback`, which turns Keras hooks
into the very events ``events.jsonl`` holds, with a writer that hands them to the plot instead
of a file: the plot of an in-kernel fit and the plot of a server job see the same events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lepton_lab.core.callbacks.metrics import MetricsCallback
from lepton_lab.core.events import make_event

if TYPE_CHECKING:
    from lepton_lab.widgets.live_plot import LivePlot


class _PlotWriter:
    """The part of ``EventWriter`` that MetricsCallback uses, writing into a plot."""

    def __init__(self, plot: LivePlot) -> None:
        self.plot = plot

    def write(self, event: dict[str, Any]) -> None:
        self.plot.on_event(event)

    def emit(self, type: str, **fields: Any) -> dict[str, Any]:
        event = make_event(type, **fields)
        self.plot.on_event(event)
        return event

    def flush(self) -> None:
        """Nothing buffered: each event reached the plot when written."""

    def sync(self) -> None:
        """Nothing to make durable; the plot redraws on its own schedule."""


class LivePlotCallback(MetricsCallback):
    """Feed a LivePlot from ``fit``; draws the final state when training ends.

    Parameters
    ----------
    finish_on_train_end : bool
        Replace the live widget by the final plot in ``on_train_end`` (off: only draw what is
        pending, for a caller that finishes the plot itself).
    """

    def __init__(
        self,
        plot: LivePlot,
        *,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        finish_on_train_end: bool = True,
    ) -> None:
        super().__init__(_PlotWriter(plot), epochs=epochs, steps_per_epoch=steps_per_epoch)  # type: ignore[arg-type]
        self.plot = plot
        self.finish_on_train_end = finish_on_train_end

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        super().on_train_begin(logs)
        self.plot.on_event(make_event("status", status="running", epochs=self.epochs))

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        super().on_train_end(logs)
        if self.finish_on_train_end:
            self.plot.on_event(make_event("status", status="finished", epochs=self.epochs))
            self.plot.finish()
        else:
            self.plot.flush()
