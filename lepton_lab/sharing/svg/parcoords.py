"""Parallel coordinates in a static SVG drawing: one polyline per row across vertical axes."""

from __future__ import annotations

from typing import Any

from lepton_lab.sharing.svg import colours
from lepton_lab.sharing.svg.elements import (
    COLORWAY,
    Axis,
    Box,
    as_number,
    coord,
    esc,
    mapping,
    numeric_range,
    shorten,
    text_tag,
    thin,
)


def draw_parcoords(trace: dict[str, Any], index: int, plot: Box) -> list[str]:
    """Draw a ``parcoords`` trace in ``plot``: a vertical axis per dimension, a polyline per row."""
    dimensions = [d for d in trace.get("dimensions") or [] if isinstance(d, dict) and d.get("visible", True)]
    if not dimensions:
        return []
    count = len(dimensions)
    xs = [plot.left + plot.width * (i / (count - 1) if count > 1 else 0.5) for i in range(count)]
    axes = []
    for dimension in dimensions:
        values = [as_number(value) for value in dimension.get("values") or []]
        explicit = dimension.get("range")
        if isinstance(explicit, list) and len(explicit) == 2 and None not in map(as_number, explicit):
            lo, hi = float(explicit[0]), float(explicit[1])
        else:
            lo, hi = numeric_range(
                values + [as_number(v) for v in dimension.get("tickvals") or []], False, 0.0
            )
        axes.append((values, Axis(lo, hi, plot.bottom, plot.top, horizontal=False)))
    rows = max(len(values) for values, _ in axes)
    line = mapping(trace.get("line"))
    colours = _row_colours(line, rows, COLORWAY[index % len(COLORWAY)])
    parts = ['<g class="lines" fill="none" stroke-width="1.5" stroke-opacity="0.8">']
    for row in thin(rows):
        segments: list[list[str]] = [[]]
        for x, (values, axis) in zip(xs, axes, strict=True):
            value = values[row] if row < len(values) else None
            if value is None:
                segments.append([])
            else:
                segments[-1].append(f"{coord(x)} {coord(axis.at(value))}")
        d = "".join("M" + " ".join(segment) for segment in segments if len(segment) > 1)
        if d:
            parts.append(f'<path class="line" d="{d}" stroke="{esc(colours[row])}"/>')
    parts.append("</g>")
    frame = ""
    labels = ['<g class="ticks" text-anchor="end" font-size="11">']
    for x, dimension, (_, axis) in zip(xs, dimensions, axes, strict=True):
        frame += f"M{coord(x)} {coord(plot.top)}V{coord(plot.bottom)}"
        tick_values = dimension.get("tickvals")
        if isinstance(tick_values, list):
            texts = dimension.get("ticktext") or tick_values
            pairs = zip(map(as_number, tick_values), texts, strict=False)
            ticks = [(axis.at(v), str(t)) for v, t in pairs if v is not None]
        else:
            ticks = axis.ticks()
        for pixel, label in ticks:
            frame += f"M{coord(x - 4)} {coord(pixel)}h4"
            labels.append(text_tag(x - 6, pixel, shorten(label, 80), middle=True))
    labels.append("</g>")
    parts.append(f'<path class="axis" d="{frame}" fill="none" stroke="#444"/>')
    parts += labels
    room = plot.width / max(1, count - 1) if count > 1 else plot.width
    for x, dimension in zip(xs, dimensions, strict=True):
        label = shorten(str(dimension.get("label", "")), room - 8)
        parts.append(text_tag(x, plot.top - 10, label, anchor="middle", bold=True))
    return parts


def _row_colours(line: dict[str, Any], rows: int, default: str) -> list[str]:
    colour = line.get("color")
    if isinstance(colour, str):
        return [colour] * rows
    if not isinstance(colour, list):
        return [default] * rows
    numbers = [as_number(value) for value in colour]
    finite = [n for n in numbers if n is not None]
    lo, hi = colour_limits(line, finite)
    stops = colours.scale(line.get("colorscale"))
    shades = [
        colours.hex_colour(colours.at(stops, (n - lo) / (hi - lo))) if n is not None else "#bbb"
        for n in numbers
    ]
    return shades + [default] * (rows - len(shades))


def colour_limits(style: dict[str, Any], finite: list[float]) -> tuple[float, float]:
    """Colour range of the lines: ``cmin`` / ``cmax`` where given, else that of ``finite`` (never empty)."""
    lo, hi = as_number(style.get("cmin")), as_number(style.get("cmax"))
    lo = min(finite, default=0.0) if lo is None else lo
    hi = max(finite, default=1.0) if hi is None else hi
    return lo, hi if hi != lo else lo + 1
