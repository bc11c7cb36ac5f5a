"""Cartesian subplots of a static SVG drawing: axes, grid, lines and markers, bars, heatmap cells.

Subplots are the (x axis, y axis) pairs that traces name (``"x2"`` is ``layout["xaxis2"]``), plus
the anchored axes the layout declares before any data arrive (LivePlot's empty panels).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from lepton_lab.sharing import images
from lepton_lab.sharing.svg import colours
from lepton_lab.sharing.svg.elements import (
    CHAR_WIDTH,
    Axis,
    Box,
    as_number,
    coord,
    esc,
    mapping,
    numeric_range,
    text_tag,
    thin,
    title_text,
    trace_colour,
    trace_type,
)

#: Heatmaps with more cells are drawn as one PNG image instead of one rectangle per cell.
MAX_CELL_RECTS = 625


CARTESIAN = ("scatter", "scattergl", "bar", "heatmap")


_AXIS_KEY = re.compile(r"xaxis(\d*)")


def draw_cartesian(
    traces: list[dict[str, Any]], layout: dict[str, Any], plot: Box
) -> tuple[list[str], dict[str, Axis]]:
    """Draw the cartesian traces in ``plot``: SVG elements and the axes by name (``"x"``, ``"y2"``)."""
    subplots: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = {
        pair: [] for pair in declared_subplots(layout)
    }
    for index, trace in enumerate(traces):
        if trace_type(trace) in CARTESIAN:
            pair = (str(trace.get("xaxis") or "x"), str(trace.get("yaxis") or "y"))
            subplots.setdefault(pair, []).append((index, trace))
    members: dict[str, list[dict[str, Any]]] = {}
    for (x_ref, y_ref), entries in subplots.items():
        members.setdefault(x_ref, []).extend(trace for _, trace in entries)
        members.setdefault(y_ref, []).extend(trace for _, trace in entries)
    axes = {ref: _build_axis(ref, found, layout, plot) for ref, found in members.items()}
    under: list[str] = []
    over: list[str] = []  # tick labels and axis titles go on top of the data
    labelled: set[str] = set()
    barmode = layout.get("barmode", "group")
    for (x_ref, y_ref), entries in subplots.items():
        x, y = axes[x_ref], axes[y_ref]
        under += _grid(x, y)
        for _, trace in entries:
            if trace_type(trace) == "heatmap":
                under += _heatmap(trace, x, y)
        bars = [(index, trace) for index, trace in entries if trace_type(trace) == "bar"]
        for slot, (index, trace) in enumerate(bars):
            under += _bars(trace, index, x, y, slot, len(bars) if barmode == "group" else 1, layout)
        for index, trace in entries:
            if trace_type(trace) in ("scatter", "scattergl"):
                under += _scatter(trace, index, x, y)
        for ref, axis, other in ((x_ref, x, y), (y_ref, y, x)):
            if ref not in labelled:
                labelled.add(ref)
                over += _axis_labels(axis, other, _axis_settings(layout, ref))
    return under + over, axes


def _axis_settings(layout: dict[str, Any], ref: str) -> dict[str, Any]:
    """Layout entry of axis ``ref`` ("x", "y2", ...): ``layout["xaxis"]``, ``layout["yaxis2"]``."""
    return mapping(layout.get(f"{ref[:1]}axis{ref[1:]}"))


def declared_subplots(layout: dict[str, Any]) -> list[tuple[str, str]]:
    """(x, y) pairs of the layout's anchored x axes: plotly draws their empty frames before data come."""
    pairs = []
    for key, settings in layout.items():
        match = _AXIS_KEY.fullmatch(key)
        if match and isinstance(settings, dict) and str(settings.get("anchor", "")).startswith("y"):
            pairs.append((f"x{match.group(1)}", str(settings["anchor"])))
    return pairs


def category_label_room(traces: list[dict[str, Any]], layout: dict[str, Any], width: float) -> float:
    """Left margin that fits the labels of category y axes (heatmap rows, horizontal bars) and its title."""
    labels = [
        str(label) for trace in traces
        if trace_type(trace) == "heatmap" or (trace_type(trace) == "bar" and trace.get("orientation") == "h")
        for label in trace.get("y") or []
    ]  # fmt: skip
    if not labels:
        return 0.0
    title = 20 if title_text(_axis_settings(layout, "y").get("title")) else 0
    return min(0.4 * width, max(len(label) for label in labels) * CHAR_WIDTH + 12 + title)


def _trace_values(trace: dict[str, Any], letter: str) -> tuple[list[Any], bool, bool, float]:
    """Return what a trace puts on its ``letter`` axis: ``(values, categorical, include zero, padding)``."""
    kind = trace_type(trace)
    if kind == "heatmap":
        z = trace.get("z") or []
        size = len(z) if letter == "y" else max((len(row) for row in z), default=0)
        labels = trace.get(letter) or list(range(size))
        return [str(label) for label in labels], True, False, 0.0
    other = trace.get("y" if letter == "x" else "x") or []
    values = trace.get(letter)
    values = list(values) if values is not None else list(range(len(other)))
    if kind == "bar":
        category_letter = "y" if trace.get("orientation") == "h" else "x"  # horizontal bars: names on y
        if letter == category_letter:
            return [str(value) for value in values], True, False, 0.0
        return values, False, True, 0.05
    markers = "markers" in str(trace.get("mode") or "")
    categorical = any(isinstance(value, str) and as_number(value) is None for value in values)
    return values, categorical, False, 0.05 if letter == "y" else (0.02 if markers else 0.0)


def _build_axis(ref: str, members: list[dict[str, Any]], layout: dict[str, Any], plot: Box) -> Axis:
    settings = _axis_settings(layout, ref)
    overlaid = settings.get("overlaying")  # an overlaying axis shares the domain of the one it overlays
    domain_of = _axis_settings(layout, str(overlaid)) if overlaid else settings
    domain = domain_of.get("domain")
    d0, d1 = 0.0, 1.0
    if isinstance(domain, list) and len(domain) == 2 and None not in map(as_number, domain):
        d0, d1 = float(domain[0]), float(domain[1])
    horizontal = ref.startswith("x")
    if horizontal:
        start, end = plot.left + d0 * plot.width, plot.left + d1 * plot.width
    else:  # pixel y grows downwards: the low end of the axis is at the bottom
        start, end = plot.bottom - d0 * plot.height, plot.bottom - d1 * plot.height
    if settings.get("autorange") == "reversed":
        start, end = end, start
    values: list[Any] = []
    categorical = settings.get("type") == "category"
    zero = settings.get("rangemode") == "tozero"
    pad = 0.0
    for trace in members:
        trace_values, trace_categorical, trace_zero, trace_pad = _trace_values(trace, ref[:1])
        values += trace_values
        categorical, zero, pad = categorical or trace_categorical, zero or trace_zero, max(pad, trace_pad)
    if categorical:
        names = list(dict.fromkeys(str(value) for value in values if value is not None))
        return Axis(-0.5, max(1, len(names)) - 0.5, start, end, horizontal, names)
    explicit = settings.get("range")
    if isinstance(explicit, list) and len(explicit) == 2 and None not in map(as_number, explicit):
        lo, hi = float(explicit[0]), float(explicit[1])
    else:
        lo, hi = numeric_range([as_number(value) for value in values], zero, pad)
    return Axis(lo, hi, start, end, horizontal)


def _grid(x: Axis, y: Axis) -> list[str]:
    left, right = sorted((x.start, x.end))
    top, bottom = sorted((y.start, y.end))
    d = ""
    if y.categories is None:
        d += "".join(f"M{coord(left)} {coord(pixel)}H{coord(right)}" for pixel, _ in y.ticks())
    if x.categories is None:
        d += "".join(f"M{coord(pixel)} {coord(top)}V{coord(bottom)}" for pixel, _ in x.ticks())
    parts = [f'<path class="grid" d="{d}" fill="none" stroke="#eee"/>'] if d else []
    if y.categories is None and y.lo <= 0 <= y.hi:
        zero = coord(y.at(0))
        parts.append(
            f'<path class="zero" d="M{coord(left)} {zero}H{coord(right)}" fill="none" stroke="#444"/>'
        )
    return parts


def _axis_labels(axis: Axis, other: Axis, settings: dict[str, Any]) -> list[str]:
    title = title_text(settings.get("title"))
    ticks = axis.ticks()
    if axis.horizontal:
        base = max(other.start, other.end)
        parts = [text_tag(pixel, base + 15, label, anchor="middle") for pixel, label in ticks]
        if title:
            parts.append(text_tag((axis.start + axis.end) / 2, base + 33, title, anchor="middle"))
        return parts
    right_side = settings.get("side") == "right"
    edge = max(other.start, other.end) if right_side else min(other.start, other.end)
    offset = 6 if right_side else -6
    anchor = "start" if right_side else "end"
    parts = [text_tag(edge + offset, pixel, label, anchor=anchor, middle=True) for pixel, label in ticks]
    if title:
        widest = max((len(label) for _, label in ticks), default=1) * CHAR_WIDTH
        along = (axis.start + axis.end) / 2
        across = edge + widest + 22 if right_side else max(12.0, edge - widest - 12)
        parts.append(text_tag(across, along, title, anchor="middle", rotate=True))
    return parts


def _scatter(trace: dict[str, Any], index: int, x: Axis, y: Axis) -> list[str]:
    ys = list(trace.get("y") or [])
    xs = list(trace["x"]) if trace.get("x") is not None else list(range(len(ys)))
    count = min(len(xs), len(ys))
    mode = str(trace.get("mode") or ("lines+markers" if count < 20 else "lines"))
    keep = thin(count, ys)
    segments: list[list[str]] = [[]]
    for px, py in zip(x.pixels([xs[i] for i in keep]), y.pixels([ys[i] for i in keep]), strict=True):
        if px is None or py is None:
            if segments[-1]:
                segments.append([])
            continue
        segments[-1].append(f"{coord(px)} {coord(py)}")
    segments = [segment for segment in segments if segment]
    if not segments:
        return []
    name = f' data-name="{esc(trace["name"])}"' if trace.get("name") is not None else ""
    opacity = as_number(trace.get("opacity"))
    faded = f' opacity="{opacity:g}"' if opacity is not None and opacity < 1 else ""
    parts = []
    if "lines" in mode:
        line = mapping(trace.get("line"))
        width = as_number(line.get("width")) or 2
        d = "".join("M" + " ".join(segment) for segment in segments)
        parts.append(
            f'<path class="line"{name} d="{d}" fill="none" stroke="{esc(trace_colour(trace, index))}" '
            f'stroke-width="{width:g}" stroke-linejoin="round"{faded}/>'
        )
    if "markers" in mode:
        marker = mapping(trace.get("marker"))
        size = as_number(marker.get("size")) or 6
        # A zero-length segment with a round cap is a dot: one path for all markers.
        d = "".join(f"M{point}h0" for segment in segments for point in segment)
        colour = esc(trace_colour(trace, index, "marker"))
        parts.append(
            f'<path class="markers"{name} d="{d}" stroke="{colour}" '
            f'stroke-width="{size:g}" stroke-linecap="round"{faded}/>'
        )
    return parts


def _bars(
    trace: dict[str, Any], index: int, x: Axis, y: Axis, slot: int, slots: int, layout: dict[str, Any]
) -> list[str]:
    horizontal = trace.get("orientation") == "h"  # bars grow along x from names on the y axis
    names_axis, values_axis = (y, x) if horizontal else (x, y)
    values = list(trace.get("x" if horizontal else "y") or [])
    names = trace.get("y" if horizontal else "x")
    categories = [str(name) for name in names] if names is not None else [str(i) for i in range(len(values))]
    gap = as_number(layout.get("bargap"))
    group = 1 - (0.2 if gap is None else gap)
    width = group / slots
    offset = -group / 2 + (slot + 0.5) * width
    base = values_axis.at(min(max(0.0, values_axis.lo), values_axis.hi))
    colour = esc(trace_colour(trace, index, "marker"))
    parts = []
    for category, value in zip(categories, values, strict=False):
        position, number = names_axis.px(category), as_number(value)
        if position is None or number is None:
            continue
        slot_of = names_axis.categories.index(category) if names_axis.categories else None
        low = names_axis.at(slot_of + offset - width / 2) if slot_of is not None else position
        high = names_axis.at(slot_of + offset + width / 2) if slot_of is not None else position
        end = values_axis.at(number)
        if horizontal:
            box = (min(base, end), min(low, high), abs(end - base), abs(high - low))
        else:
            box = (min(low, high), min(end, base), abs(high - low), abs(base - end))
        parts.append(
            f'<rect class="bar" x="{coord(box[0])}" y="{coord(box[1])}" '
            f'width="{coord(box[2])}" height="{coord(box[3])}" fill="{colour}"/>'
        )
    return parts


def z_range(trace: dict[str, Any], numbers: list[float]) -> tuple[float, float]:
    """Colour range of a heatmap: ``zmin`` / ``zmax`` where given, else that of ``numbers`` (never empty)."""
    lo = as_number(trace.get("zmin"))
    hi = as_number(trace.get("zmax"))
    lo = min(numbers, default=0.0) if lo is None else lo
    hi = max(numbers, default=1.0) if hi is None else hi
    return lo, hi if hi != lo else lo + 1


def _heatmap(trace: dict[str, Any], x: Axis, y: Axis) -> list[str]:
    z = [list(row) if isinstance(row, (list, tuple)) else [] for row in trace.get("z") or []]
    columns = max((len(row) for row in z), default=0)
    x_labels = [str(label) for label in trace.get("x") or range(columns)]
    y_labels = [str(label) for label in trace.get("y") or range(len(z))]
    lo, hi = z_range(trace, [n for row in z for n in map(as_number, row) if n is not None])
    stops = colours.scale(trace.get("colorscale"))
    cells: list[tuple[float, float, colours.RGB | None]] = []
    for i, row in enumerate(z[: len(y_labels)]):
        for j, value in enumerate(row[: len(x_labels)]):
            px, py, number = x.px(x_labels[j]), y.px(y_labels[i]), as_number(value)
            if px is not None and py is not None:
                colour = None if number is None else colours.at(stops, (number - lo) / (hi - lo))
                cells.append((px, py, colour))
    if not cells:
        return []
    w, h = x.unit, y.unit
    if len(cells) <= MAX_CELL_RECTS:
        return [
            f'<rect class="cell" x="{coord(px - w / 2)}" y="{coord(py - h / 2)}" width="{coord(w)}" '
            f'height="{coord(h)}" fill="{colours.hex_colour(colour)}"/>'
            for px, py, colour in cells
            if colour is not None
        ]
    # Many cells: one pixel per cell in a PNG, scaled up without smoothing, is far smaller than rects.
    xs, ys = sorted({px for px, _, _ in cells}), sorted({py for _, py, _ in cells})
    column, line = {px: j for j, px in enumerate(xs)}, {py: i for i, py in enumerate(ys)}
    pixels: list[list[colours.RGB]] = [[(255, 255, 255)] * len(xs) for _ in ys]
    for px, py, colour in cells:
        if colour is not None:
            pixels[line[py]][column[px]] = colour
    picture = images.data_uri(images.png(np.asarray(pixels, np.uint8)))
    return [
        f'<image class="cells" x="{coord(xs[0] - w / 2)}" y="{coord(ys[0] - h / 2)}" '
        f'width="{coord(w * len(xs))}" height="{coord(h * len(ys))}" preserveAspectRatio="none" '
        f'style="image-rendering:pixelated" href="{picture}"/>'
    ]
