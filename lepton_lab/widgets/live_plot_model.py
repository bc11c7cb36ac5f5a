"""What a live plot shows, from a run's events: curves, progress line and the final figure.

The model under :class:`~lepton_lab.widgets.live_plot.LivePlot`, free of ipywidgets and of any
clock: events go in (``{"t", "type", "step", "epoch", "metrics", ...}``, the records of
``events.jsonl``), and out come the plotly figure of the final draw and the progress line. The
numbers (current epoch, elapsed time, ETA, fraction done) and the bounded curves come from
:class:`~lepton_lab.core.job_progress.JobMetrics`, the rule the Lab panel applies too, so the
notebook's final plot and the panel show the same epoch, the same ETA and the same curve.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from lepton_lab.core.job_progress import JobMetrics, format_duration
from lepton_lab.core.job_status import FINISHED_STATUSES

#: Statuses after which no ETA is shown: the finished ones, and the Keras callback's "finished".
ENDED_STATUSES = (*FINISHED_STATUSES, "finished", "pruned")

#: Train and validation colours (the first two of ``_plots.PALETTE``, plotly's defaults).
_TRAIN, _VALIDATION = "#1f77b4", "#ff7f0e"

#: Metrics the progress line shows, in this order.
_SHOWN = ("loss", "accuracy", "val_loss", "val_accuracy")


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class LivePlotModel:
    """A run's events folded into what its live plot draws.

    Parameters
    ----------
    title : str, optional
        Shown above the plot.
    total_epochs : int, optional
        Epochs of the run, until the events say.
    max_points : int
        Points each batch curve keeps at most (the rule of the Lab panel's curves).
    """

    def __init__(
        self, title: str | None = None, total_epochs: int | None = None, max_points: int = 600
    ) -> None:
        self.title = title
        self.metrics = JobMetrics(batch_points=max_points)
        self.metrics.epochs = total_epochs
        #: The latest ``log`` event's message.
        self.message: str | None = None

    def apply(self, events: Iterable[dict[str, Any]]) -> None:
        """Fold ``events`` (in the order they were written) in."""
        events = list(events)
        self.metrics.apply(events)
        for event in events:
            if event.get("type") == "log":
                self.message = event.get("message")

    # -- reading ---------------------------------------------------------------------------------

    @property
    def status(self) -> str:
        """The run's status; ``running`` once events come without one."""
        if self.metrics.status:
            return self.metrics.status
        return "running" if self.metrics.event_count else "waiting for the first batch"

    @property
    def ended(self) -> bool:
        """Whether the events say the run has ended."""
        return self.metrics.status in ENDED_STATUSES

    @property
    def steps_per_epoch(self) -> float | None:
        """Steps per epoch when the events say (puts the curves on an epoch axis)."""
        metrics = self.metrics
        if metrics.total_steps and metrics.epochs:
            return metrics.total_steps / metrics.epochs
        return None

    def progress_parts(self) -> tuple[list[str], float | None]:
        """Return the parts of the progress line and the fraction done (None when unknown)."""
        m = self.metrics
        status = self.status
        parts = [status]
        if m.epochs:
            parts.append(f"epoch {min(m.current_epoch(), m.epochs)}/{m.epochs}")
        fraction = m.fraction()
        if m.total_steps:
            parts.append(f"step {m.step}/{m.total_steps} ({min(1.0, m.step / m.total_steps):.0%})")
        elif m.step:
            parts.append(f"step {m.step}")
        elapsed = m.elapsed_seconds()
        if elapsed is not None:
            parts.append(f"{format_duration(elapsed)} elapsed")
        eta = None if self.ended else m.eta_seconds()
        if eta is not None:
            parts.append(f"ETA {format_duration(eta)}")
        # The panel's rule: the last epoch's metrics, the newest batch's while training goes on.
        shown = {**(m.last_epoch or {}), **({} if self.ended else m.latest)}
        parts += [f"{name} {_fmt(shown[name])}" for name in _SHOWN if name in shown]
        parts += [f"{name} {_fmt(value)}" for name, value in (m.evaluation or {}).items()]
        if m.error:
            parts.append(f"error: {m.error}")
        return parts, fraction

    def progress_text(self) -> str:
        """One line: status, epoch, step, elapsed time, ETA and the latest metrics."""
        return " · ".join(self.progress_parts()[0])

    def progress_html(self) -> str:
        """:meth:`progress_text` with a progress bar, as HTML."""
        parts, fraction = self.progress_parts()
        bar = (
            f'<progress value="{fraction:.4f}" max="1" style="width:180px;vertical-align:middle"></progress> '
            if fraction is not None else ""
        )  # fmt: skip
        colour = "#c62828" if self.metrics.error or self.status == "failed" else "inherit"
        text = html.escape(" · ".join(parts))
        return f'<div class="lepton-progress" style="font-family:monospace;color:{colour}">{bar}{text}</div>'

    # -- the final figure ------------------------------------------------------------------------

    def figure(self) -> dict[str, Any]:
        """Build the plot as plotly JSON: a loss panel and an accuracy panel, the panel's curves."""
        series = self.metrics.series
        per_epoch = self.steps_per_epoch

        def x_of(xs: list[float]) -> list[float]:
            return [round(x / per_epoch, 4) for x in xs] if per_epoch else xs

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
        gap, width = 0.08, 0.46
        for i, name in enumerate(("loss", "accuracy")):
            axis = "" if i == 0 else str(i + 1)
            start = i * (width + gap)
            layout[f"xaxis{axis}"] = {
                "domain": [start, start + width], "anchor": f"y{axis}",
                "title": {"text": "epoch" if per_epoch else "step"},
            }  # fmt: skip
            layout[f"yaxis{axis}"] = {
                "anchor": f"x{axis}",
                "rangemode": "tozero" if name == "loss" else "normal",
            }
            layout["annotations"].append(
                {"text": f"<b>{name}</b>", "x": start + width / 2, "y": 1.0, "xref": "paper", "yref": "paper",
                 "xanchor": "center", "yanchor": "bottom", "showarrow": False}
            )  # fmt: skip
            common = {"xaxis": f"x{axis}", "yaxis": f"y{axis}", "showlegend": i == 0}
            batch = series[name]
            if len(batch):
                data.append({
                    "type": "scatter", "mode": "lines", "name": "train (batch)", "legendgroup": "batch",
                    "x": x_of(batch.xs), "y": list(batch.ys),
                    "line": {"color": _TRAIN, "width": 1}, "opacity": 0.45, **common,
                })  # fmt: skip
            for key, label, colour in ((f"epoch_{name}", "train (epoch)", _TRAIN),
                                       (f"val_{name}", "validation", _VALIDATION)):  # fmt: skip
                curve = series[key]
                if not len(curve):
                    continue
                data.append({
                    "type": "scatter", "mode": "lines+markers", "name": label, "legendgroup": label,
                    "x": x_of(curve.xs), "y": list(curve.ys), "line": {"color": colour, "width": 2},
                    "marker": {"size": 7}, **common,
                })  # fmt: skip
        return {"data": data, "layout": layout, "config": {"displaylogo": False, "responsive": True}}
