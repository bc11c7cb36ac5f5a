"""Report figures: the plotly charts of a run report (training curves, confusion matrix).

Each function returns a ``plotly.graph_objects.Figure`` or None when the run has no data for
it yet, so a report of a running or failed run shows what exists. Text that came from users
(class names) is HTML-escaped because plotly renders a subset of HTML in labels.

TensorFlow-free.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import numpy as np

from lepton_lab.core.job_progress import BoundedSeries

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

#: The per-batch chart keeps at most this many points per metric: the Lab panel's batch curves
#: (``core.job_progress.BoundedSeries``, each point the mean of a bucket of batches), so the
#: report draws the same curve as the panel and the notebook.
MAX_BATCH_POINTS = 600

TRAIN_COLOUR = "#1f77b4"
VALIDATION_COLOUR = "#ff7f0e"
_MARGIN = {"l": 60, "r": 20, "t": 50, "b": 50}


def _numbers(frame: pd.DataFrame, column: str) -> list[float | None]:
    return [None if value is None or value != value else float(value) for value in frame[column].tolist()]


def epoch_figure(epochs: pd.DataFrame, metric: str, title: str) -> go.Figure | None:
    """Training and validation ``metric`` per epoch (None when no epoch logged it)."""
    import plotly.graph_objects as go

    columns = [(metric, "train", TRAIN_COLOUR), (f"val_{metric}", "validation", VALIDATION_COLOUR)]
    traces = [
        go.Scatter(
            x=epochs["epoch"].tolist(),
            y=_numbers(epochs, column),
            name=label,
            mode="lines+markers",
            line={"color": colour},
        )
        for column, label, colour in columns
        if column in epochs.columns and epochs[column].notna().any()
    ]
    if not traces:
        return None
    figure = go.Figure(traces)
    figure.update_layout(
        title=title,
        height=340,
        margin=_MARGIN,
        xaxis_title="epoch",
        yaxis_title=metric,
        legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"},
    )
    figure.update_xaxes(tickformat="d", dtick=1 if len(epochs) <= 20 else None)
    return figure


def batch_figure(batches: pd.DataFrame) -> go.Figure | None:
    """Loss and accuracy per logged batch, side by side, in at most :data:`MAX_BATCH_POINTS` points each."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    metrics = [m for m in ("loss", "accuracy") if m in batches.columns and batches[m].notna().any()]
    if not metrics:
        return None
    figure = make_subplots(rows=1, cols=len(metrics), subplot_titles=[f"{m} per batch" for m in metrics])
    shown = len(batches)
    for column, metric in enumerate(metrics, start=1):
        curve = BoundedSeries(MAX_BATCH_POINTS)
        for step, value in zip(batches["step"].tolist(), _numbers(batches, metric), strict=True):
            curve.push(step, value)
        shown = len(curve)
        figure.add_trace(
            go.Scatter(
                x=list(curve.xs),
                y=list(curve.ys),
                name=metric,
                mode="lines",
                line={"color": TRAIN_COLOUR},
                showlegend=False,
            ),
            row=1,
            col=column,
        )
        figure.update_xaxes(title_text="step", row=1, col=column)
    count = len(batches)
    title = f"{shown} means of {count} logged batches" if shown < count else "every logged batch"
    figure.update_layout(title=f"Training per batch ({title})", height=360, margin={**_MARGIN, "t": 80})
    return figure


def confusion_figure(confusion: list[list[int]], class_names: list[str]) -> go.Figure:
    """Heatmap of the confusion matrix: true classes down, predicted classes across, counts in cells."""
    import plotly.graph_objects as go

    names = [html.escape(name) for name in class_names]
    matrix = np.asarray(confusion, dtype=np.int64)
    show_counts = len(names) <= 30  # beyond that the numbers overlap and only the colours help
    heatmap: dict[str, Any] = {
        "z": matrix.tolist(),
        "x": names,
        "y": names,
        "colorscale": "Blues",
        "hovertemplate": "true %{y}<br>predicted %{x}<br>%{z} examples<extra></extra>",
    }
    if show_counts:
        heatmap.update(texttemplate="%{z}", textfont={"size": 11})
    figure = go.Figure(go.Heatmap(**heatmap))
    side = min(900, max(420, 28 * len(names) + 160))
    figure.update_layout(title="Confusion matrix (test split)", height=side, width=side + 80, margin=_MARGIN)
    figure.update_xaxes(title_text="predicted", type="category", tickangle=-45 if len(names) > 10 else 0)
    figure.update_yaxes(title_text="true", type="category", autorange="reversed")
    return figure
