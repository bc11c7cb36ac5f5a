"""Static SVG drawings of plotly figure dicts, for pages that have no plotly.js.

Each plot's ``text/html`` fallback (:func:`lepton_lab.sharing.embed.static_figure_html`) carries
one, so a notebook converted with plain ``jupyter nbconvert --to html`` and opened offline still
shows its plots; where plotly.js is present, the fallback's script swaps in the interactive chart.

Drawn: what the widgets' chart builders (``lepton_lab.widgets._plots``) and live plot emit, that
is ``scatter`` / ``scattergl`` lines and markers (a None breaks the line) on one or more subplots
(``xaxis2`` / ``yaxis2`` with a ``domain``, ``overlaying`` axes on the same domain), grouped or
overlaid ``bar`` traces,
``heatmap`` cells with a colour bar, ``parcoords`` as one polyline per row across vertical axes,
and the title, axis titles, annotations and legend. Other trace types are named in a note.

Text is drawn as given (escaped), except that a text wholly wrapped in ``<b>...</b>`` (plotly's
bold markup, as in LivePlot's panel titles) is drawn bold without the tags. Coordinates are
rounded to 0.1 px, long traces are thinned (:data:`~lepton_lab.sharing.svg.elements.MAX_POINTS`)
and large heatmaps drawn as one small PNG, so a drawing takes a few to a few tens of kilobytes.

Examples
--------
>>> svg = figure_to_svg({"data": [{"type": "scatter", "x": [1, 2], "y": [3, 4]}], "layout": {}})
>>> svg.startswith("<svg") and 'class="line"' in svg
True
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

from lepton_lab.sharing.svg import colours
from lepton_lab.sharing.svg.cartesian import (
    CARTESIAN,
    category_label_room,
    declared_subplots,
    draw_cartesian,
    z_range,
)
from lepton_lab.sharing.svg.elements import (
    CHAR_WIDTH,
    Axis,
    Box,
    as_number,
    coord,
    esc,
    mapping,
    shorten,
    text_tag,
    title_text,
    trace_colour,
    trace_type,
)
from lepton_lab.sharing.svg.parcoords import colour_limits, draw_parcoords

SVG_NS = "http://www.w3.org/2000/svg"
#: Size of a figure whose layout gives none (plotly fills the cell's width; this is a typical one).
DEFAULT_WIDTH = 800
DEFAULT_HEIGHT = 360
_COLOUR_BAR = 70  # room right of the plot for a colour bar and its labels


def figure_to_svg(figure: dict[str, Any], width: int | None = None) -> str:
    """Draw a plotly figure dict as a self-contained ``<svg>`` element.

    Parameters
    ----------
    figure : dict
        ``{"data": [...], "layout": {...}}`` as plotly's JSON schema has it (NaN may appear as None).
    width : int, optional
        Drawing width in pixels; by default the layout's ``width``, else :data:`DEFAULT_WIDTH`.
        The element scales down to narrower containers (``max-width: 100%``).

    Returns
    -------
    str
        SVG markup, valid XML, that needs no script, stylesheet or network.
    """
    layout = mapping(figure.get("layout"))
    traces = [trace for trace in figure.get("data") or [] if isinstance(trace, dict)]
    full_width = int(width or as_number(layout.get("width")) or DEFAULT_WIDTH)
    full_height = int(as_number(layout.get("height")) or DEFAULT_HEIGHT)
    margin = {"l": 80.0, "r": 80.0, "t": 100.0, "b": 80.0}
    margin.update(
        {key: float(v) for key, v in mapping(layout.get("margin")).items() if as_number(v) is not None}
    )
    entries = _legend_entries(traces, layout)
    legend_rows = _legend_rows(entries, full_width - margin["l"] - 10)
    legend_height = 20.0 * len(legend_rows) + 6 if legend_rows else 0.0
    colour_bar = _colour_bar_spec(traces)
    plot = Box(
        left=max(margin["l"], category_label_room(traces, layout, full_width)),
        top=margin["t"],
        right=full_width - margin["r"] - (_COLOUR_BAR if colour_bar else 0),
        bottom=full_height - margin["b"] - legend_height,
    )
    if plot.width < 20 or plot.height < 20:  # tiny figure: use what there is rather than draw inside out
        plot = Box(10, 10, max(30.0, full_width - 10), max(30.0, full_height - 10))

    parts: list[str] = []
    axes: dict[str, Axis] = {}
    if any(trace_type(trace) in CARTESIAN for trace in traces) or declared_subplots(layout):
        drawn, axes = draw_cartesian(traces, layout, plot)
        parts += drawn
    for index, trace in enumerate(traces):
        if trace_type(trace) == "parcoords":
            parts += draw_parcoords(trace, index, plot)
            break  # plotly stacks several parcoords on one another too; one is readable
    unknown = sorted({trace_type(trace) for trace in traces} - {*CARTESIAN, "parcoords"})
    if unknown:
        note = f"no static drawing of {', '.join(unknown)} traces: open the notebook in JupyterLab"
        parts.append(
            text_tag(
                plot.left + plot.width / 2,
                plot.top + plot.height / 2,
                note,
                anchor="middle",
                cls="note",
                fill="#888",
            )
        )
    parts += _annotations(layout, plot, axes)
    if colour_bar:
        parts += _draw_colour_bar(colour_bar, plot)
    title = title_text(layout.get("title"))
    if title:
        parts.append(_title(layout.get("title"), title, full_width))
    parts += _draw_legend(legend_rows, plot.left, full_height - legend_height + 4)
    label = esc(title or "plot")
    return (
        f'<svg xmlns="{SVG_NS}" class="lepton-svg" width="{full_width}" height="{full_height}" '
        f'viewBox="0 0 {full_width} {full_height}" font-family="sans-serif" font-size="12" fill="#444" '
        f'role="img" aria-label="{label}" style="max-width:100%;height:auto;background:#fff">'
        f"{''.join(parts)}</svg>"
    )


@dataclass
class _ColourBar:
    stops: list[tuple[float, colours.RGB]]
    lo: float
    hi: float
    title: str


def _colour_bar_spec(traces: list[dict[str, Any]]) -> _ColourBar | None:
    """Return the colour bar plotly would show: a heatmap's, or a parcoords' coloured by numbers."""
    for trace in traces:
        kind = trace_type(trace)
        if kind == "heatmap" and trace.get("showscale", True):
            numbers = [n for row in trace.get("z") or [] for n in map(as_number, row or []) if n is not None]
            lo, hi = z_range(trace, numbers)
            title = title_text(mapping(trace.get("colorbar")).get("title"))
            return _ColourBar(colours.scale(trace.get("colorscale")), lo, hi, title)
        line = mapping(trace.get("line"))
        if kind == "parcoords" and line.get("showscale") and isinstance(line.get("color"), list):
            numbers = [n for n in map(as_number, line["color"]) if n is not None]
            if numbers:
                lo, hi = colour_limits(line, numbers)
                title = title_text(mapping(line.get("colorbar")).get("title"))
                return _ColourBar(colours.scale(line.get("colorscale")), lo, hi, title)
    return None


def _draw_colour_bar(bar: _ColourBar, plot: Box) -> list[str]:
    stops = "".join(
        f'<stop offset="{offset:g}" stop-color="{colours.hex_colour(rgb)}"/>' for offset, rgb in bar.stops
    )
    # Ids are page-wide in HTML: name the gradient after its content, so equal ids mean equal gradients.
    gradient = f"lepton-scale-{zlib.crc32(stops.encode()):08x}"
    left, top, bottom = plot.right + 14, plot.top + (16 if bar.title else 0), plot.bottom
    axis = Axis(bar.lo, bar.hi, bottom, top, horizontal=False)
    parts = [
        f'<defs><linearGradient id="{gradient}" x1="0" y1="1" x2="0" y2="0">{stops}</linearGradient></defs>',
        f'<rect class="scale" x="{coord(left)}" y="{coord(top)}" width="12" height="{coord(bottom - top)}" '
        f'fill="url(#{gradient})"/>',
    ]
    parts += [text_tag(left + 16, pixel, label, middle=True, size=11) for pixel, label in axis.ticks()]
    if bar.title:
        parts.append(text_tag(left, plot.top + 4, shorten(bar.title, _COLOUR_BAR - 8), size=11))
    return parts


def _annotations(layout: dict[str, Any], plot: Box, axes: dict[str, Axis]) -> list[str]:
    parts = []
    for note in layout.get("annotations") or []:
        if not isinstance(note, dict) or note.get("text") in (None, ""):
            continue
        x_ref, y_ref = str(note.get("xref") or "x"), str(note.get("yref") or "y")
        if x_ref == "paper":
            x = None if as_number(note.get("x")) is None else plot.left + float(note["x"]) * plot.width
        else:
            x = axes[x_ref].px(note.get("x")) if x_ref in axes else None
        if y_ref == "paper":
            y = None if as_number(note.get("y")) is None else plot.bottom - float(note["y"]) * plot.height
        else:
            y = axes[y_ref].px(note.get("y")) if y_ref in axes else None
        if x is None or y is None:
            continue
        anchor = {"left": "start", "right": "end"}.get(str(note.get("xanchor")), "middle")
        vertical = str(note.get("yanchor"))
        font = mapping(note.get("font"))
        if vertical == "bottom":
            y -= 4
        elif vertical == "top":
            y += 12
        parts.append(
            text_tag(
                x,
                y,
                note["text"],
                anchor=anchor,
                middle=vertical not in ("bottom", "top"),
                size=as_number(font.get("size")),
                fill=font.get("color"),
            )
        )
    return parts


def _title(spec: Any, text: str, width: float) -> str:
    position = as_number(spec.get("x")) if isinstance(spec, dict) else None
    position = 0.5 if position is None else position
    xanchor = spec.get("xanchor", "auto") if isinstance(spec, dict) else "auto"
    if xanchor == "auto":  # plotly's rule: left third anchors left, right third anchors right
        xanchor = "left" if position < 1 / 3 else "right" if position > 2 / 3 else "center"
    anchor = {"left": "start", "right": "end"}.get(str(xanchor), "middle")
    return text_tag(position * width, 24, text, anchor=anchor, size=16, cls="title")


@dataclass
class _Entry:
    label: str
    colour: str
    symbol: str  # "bar", "lines", "markers" or "lines+markers"
    opacity: float


def _legend_entries(traces: list[dict[str, Any]], layout: dict[str, Any]) -> list[_Entry]:
    entries = []
    for index, trace in enumerate(traces):
        kind = trace_type(trace)
        if kind not in ("scatter", "scattergl", "bar") or trace.get("showlegend") is False:
            continue
        symbol = "bar" if kind == "bar" else str(trace.get("mode") or "lines")
        label = str(trace.get("name") if trace.get("name") is not None else f"trace {index}")
        opacity = as_number(trace.get("opacity"))
        colour = trace_colour(trace, index, "marker" if kind == "bar" else "line")
        entries.append(_Entry(label, colour, symbol, 1.0 if opacity is None else opacity))
    shown = layout.get("showlegend")
    # plotly's default: a legend once there are two entries, never for a single trace.
    return entries if (shown if shown is not None else len(entries) > 1) else []


def _legend_rows(entries: list[_Entry], room: float) -> list[list[tuple[float, _Entry]]]:
    rows: list[list[tuple[float, _Entry]]] = []
    x = room
    for entry in entries:
        width = 34 + len(entry.label) * CHAR_WIDTH + 16
        if x + width > room and (not rows or rows[-1]):
            rows.append([])
            x = 0.0
        rows[-1].append((x, entry))
        x += width
    return rows


def _draw_legend(rows: list[list[tuple[float, _Entry]]], left: float, top: float) -> list[str]:
    parts = []
    for r, row in enumerate(rows):
        y = top + 20 * r + 8
        for offset, entry in row:
            x = left + offset
            colour = esc(entry.colour)
            faded = f' opacity="{entry.opacity:g}"' if entry.opacity < 1 else ""
            if entry.symbol == "bar":
                parts.append(
                    f'<rect class="legend" x="{coord(x + 8)}" y="{coord(y - 6)}" width="12" height="12" '
                    f'fill="{colour}"/>'
                )
            else:
                if "lines" in entry.symbol:
                    parts.append(
                        f'<path class="legend" d="M{coord(x)} {coord(y)}h28" stroke="{colour}" '
                        f'stroke-width="2"{faded}/>'
                    )
                if "markers" in entry.symbol:
                    parts.append(
                        f'<path class="legend" d="M{coord(x + 14)} {coord(y)}h0" stroke="{colour}" '
                        f'stroke-width="7" stroke-linecap="round"{faded}/>'
                    )
            parts.append(text_tag(x + 34, y, entry.label, middle=True, cls="legend"))
    return parts
