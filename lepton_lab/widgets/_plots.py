"""Plots for widgets: plotly figures as plain JSON mimebundles, never ``FigureWidget``.

A plotly ``FigureWidget`` keeps the whole plotly.js bundle (~5 MB) in the saved widget state,
and nbconvert's HTML loads widget managers from a CDN. A figure here is a plain dict
(``{"data": [...], "layout": {...}}``) shown through the ``application/vnd.plotly.v1+json``
mimetype, which JupyterLab renders with its bundled jupyterlab-plotly. Each bundle also
carries a ``text/html`` fallback for pages that cannot render that mimetype (plain
``jupyter nbconvert --to html``, opened offline): a static SVG drawing of the figure
(:mod:`lepton_lab.sharing.svg`), which a small script replaces by the interactive chart when
the page has plotly.js.

Figures are built as dicts rather than with ``plotly.graph_objects``: no validation pass,
so a live plot redraw costs one or two milliseconds with its SVG drawing (600-point curves),
and nothing imports plotly.

Two ways to show a figure, both redrawable in place:

- :class:`FigureView`, an ``ipywidgets.Output`` whose ``outputs`` are replaced (safe from
  any thread); used inside composed widgets;
- :class:`FigureDisplay`, a cell output updated by display id; what stays in a saved
  notebook as an ordinary output (nbclient keeps the last update).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import ipywidgets

from lepton_lab.sharing.embed import finite, static_figure_html

PLOTLY_MIME = "application/vnd.plotly.v1+json"

#: Colours shared by every chart: train, validation, then further series.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")

def bundle(figure: dict[str, Any], title: str = "plot") -> dict[str, Any]:
    """Return the mimebundle of ``figure``: plotly JSON, an HTML fallback and a text line.

    The plotly mimetype comes first, so JupyterLab draws the interactive chart. The ``text/html``
    fallback holds a static SVG drawing of the figure, which needs neither script nor network,
    and a script that puts the interactive chart in its place where the page has plotly.js.

    Parameters
    ----------
    figure : dict
        ``{"data": [...], "layout": {...}}`` as plotly's JSON schema has it.
    title : str
        What ``text/plain`` says the output is.
    """
    figure = finite(figure)
    return {PLOTLY_MIME: figure, "text/html": static_figure_html(figure), "text/plain": f"<{title}>"}


class FigureView(ipywidgets.Output):
    """An output area showing one figure, replaced on each :meth:`show`.

    Writing the ``outputs`` trait (instead of ``with output: display(...)``) works from any
    thread: it does not depend on which cell the kernel is executing.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.figure: dict[str, Any] | None = None
        self.draws = 0

    def show(self, figure: dict[str, Any], title: str = "plot") -> None:
        """Replace the shown figure."""
        self.figure = figure
        self.draws += 1
        self.outputs = ({"output_type": "display_data", "data": bundle(figure, title), "metadata": {}},)

    def show_html(self, html: str) -> None:
        """Replace the figure by a message (``text/html``)."""
        self.figure = None
        self.outputs = (
            {"output_type": "display_data", "data": {"text/html": html, "text/plain": html}, "metadata": {}},
        )


class FigureDisplay:
    """A figure shown as a cell output and redrawn in place through its display id.

    The first :meth:`show` displays (in the cell being executed), later ones update that
    output wherever it is. A saved notebook keeps the last state as a plain ``display_data``.
    """

    def __init__(self) -> None:
        self._handle: Any = None
        self._lock = threading.Lock()
        self.figure: dict[str, Any] | None = None
        self.draws = 0

    def show(self, figure: dict[str, Any], title: str = "plot") -> None:
        """Display ``figure`` or update the displayed one."""
        from IPython.display import display

        data = bundle(figure, title)
        with self._lock:
            self.figure = figure
            self.draws += 1
            if self._handle is None:
                self._handle = display(data, raw=True, display_id=True)
            else:
                self._handle.update(data, raw=True)


class HtmlDisplay:
    """An HTML cell output updated in place (progress lines beside a :class:`FigureDisplay`)."""

    def __init__(self) -> None:
        self._handle: Any = None
        self.html = ""

    def show(self, html: str, text: str | None = None) -> None:
        """Display or update the HTML (``text`` is the plain-text form)."""
        from IPython.display import display

        self.html = html
        data = {"text/html": html, "text/plain": text if text is not None else html}
        if self._handle is None:
            self._handle = display(data, raw=True, display_id=True)
        else:
            self._handle.update(data, raw=True)


# --- chart builders (plain plotly JSON) ----------------------------------------------------------


def _layout(title: str | None = None, height: int = 360, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "height": height,
        "margin": {"l": 55, "r": 20, "t": 40 if title else 20, "b": 45},
        "template": {"layout": {"font": {"size": 12}}},
        "legend": {"orientation": "h", "y": -0.22},
    }
    if title:
        layout["title"] = {"text": title, "x": 0.02}
    layout.update(extra)
    return layout


def bar(
    categories: Sequence[str], series: dict[str, Sequence[float]], title: str, y_title: str
) -> dict[str, Any]:
    """Draw grouped bars: one trace per entry of ``series`` over ``categories``."""
    data = [
        {"type": "bar", "name": name, "x": list(categories), "y": [float(v) for v in values],
         "marker": {"color": PALETTE[i % len(PALETTE)]}}
        for i, (name, values) in enumerate(series.items())
    ]  # fmt: skip
    return {"data": data, "layout": _layout(title, barmode="group", yaxis={"title": {"text": y_title}})}


def heatmap(matrix: Sequence[Sequence[float]], labels: Sequence[str], title: str) -> dict[str, Any]:
    """Confusion-matrix style heatmap: rows true, columns predicted, counts written in cells."""
    names = [str(label) for label in labels]
    size = max(320, min(700, 40 * len(names) + 140))
    annotations = [
        {"x": names[j], "y": names[i], "text": str(value), "showarrow": False,
         "font": {"size": 10, "color": "#fff" if value > 0.5 * _max(matrix) else "#222"}}
        for i, row in enumerate(matrix) for j, value in enumerate(row) if len(names) <= 20
    ]  # fmt: skip
    hover = "true %{y}<br>predicted %{x}<br>%{z}<extra></extra>"
    blues = [[0, "#f7fbff"], [0.5, "#6baed6"], [1, "#08306b"]]  # light for few, dark for many
    data = [{"type": "heatmap", "z": [list(row) for row in matrix], "x": names, "y": names,
             "colorscale": blues, "hovertemplate": hover}]  # fmt: skip
    # Room for the longest class name ("Ankle boot") beside and under the matrix, not clipped.
    longest = max((len(name) for name in names), default=1)
    left, bottom = max(55, 24 + 7 * longest), max(45, 40 + 5 * longest)
    layout = _layout(
        title, height=size + bottom - 45,
        xaxis={"title": {"text": "predicted"}, "type": "category", "automargin": True},
        yaxis={"title": {"text": "true"}, "type": "category", "autorange": "reversed", "automargin": True},
        annotations=annotations,
        margin={"l": left, "r": 20, "t": 40 if title else 20, "b": bottom},
    )  # fmt: skip
    layout["width"] = size + 60 + left - 55
    return {"data": data, "layout": layout}


def _max(matrix: Sequence[Sequence[float]]) -> float:
    return max((max(row) for row in matrix if len(row)), default=0) or 1


def lines(
    series: dict[str, tuple[Sequence[float], Sequence[float | None]]], title: str, x_title: str, y_title: str
) -> dict[str, Any]:
    """One line (with markers) per entry of ``series``: ``{name: (xs, ys)}``."""
    data = [
        {"type": "scatter", "mode": "lines+markers", "name": name, "x": list(xs), "y": list(ys),
         "line": {"color": PALETTE[i % len(PALETTE)]}}
        for i, (name, (xs, ys)) in enumerate(series.items())
    ]  # fmt: skip
    layout = _layout(title, xaxis={"title": {"text": x_title}}, yaxis={"title": {"text": y_title}})
    return {"data": data, "layout": layout}


def parallel_coordinates(columns: dict[str, Sequence[Any]], color: str, title: str) -> dict[str, Any]:
    """Parallel coordinates of numeric or categorical ``columns``, coloured by the ``color`` column."""
    dimensions = []
    for name, values in columns.items():
        numbers = [_as_float(v) for v in values]
        if all(n is not None for n in numbers):
            dimensions.append({"label": name, "values": numbers})
        else:  # categories become ticks at 0..k-1
            labels = sorted({str(v) for v in values})
            dimensions.append(
                {"label": name, "values": [labels.index(str(v)) for v in values],
                 "tickvals": list(range(len(labels))), "ticktext": labels}
            )  # fmt: skip
    colour_values = [_as_float(v) for v in columns.get(color, [])]
    line: dict[str, Any] = {"colorscale": "Viridis", "showscale": True}
    if colour_values and all(v is not None for v in colour_values):
        line["color"] = colour_values
        line["colorbar"] = {"title": {"text": color}}
    data = [{"type": "parcoords", "dimensions": dimensions, "line": line}]
    # Dimension labels sit above the axes: the top margin leaves them room under the title.
    layout = _layout(title, height=400, margin={"l": 70, "r": 70, "t": 110, "b": 30})
    return {"data": data, "layout": layout}


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None
