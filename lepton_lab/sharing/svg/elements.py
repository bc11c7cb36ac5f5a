"""Building blocks of the static SVG drawings: escaped text, rounded coordinates, axes, ticks.

Shared by :mod:`lepton_lab.sharing.svg.figure` (the figure) and the modules drawing its traces.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: A longer trace is thinned to about this many points: more than one per pixel of a drawing's width
#: (live plots keep at most about 600 already).
MAX_POINTS = 1000
#: plotly.js's default colorway: the colour of the i-th trace that names none.
COLORWAY = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
            "#bcbd22", "#17becf")  # fmt: skip
#: Width of an average 12 px character, for layout estimates.
CHAR_WIDTH = 7.0

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_BOLD = re.compile(r"<b>(.*)</b>", re.DOTALL)


def esc(text: Any) -> str:
    """Escape ``text`` for SVG text and attribute values (quotes too); drop characters XML forbids."""
    return html.escape(_INVALID_XML.sub("", str(text)))


def coord(value: float) -> str:
    """Format a coordinate rounded to 0.1 px, without a trailing ``.0``."""
    text = f"{value:.1f}".removesuffix(".0")
    return "0" if text == "-0" else text


def as_number(value: Any) -> float | None:
    """Return ``value`` as a finite float, or None (None, NaN, text that is not a number, booleans)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def mapping(value: Any) -> dict[str, Any]:
    """Return ``value`` if it is a dict, else an empty one (a figure may hold anything)."""
    return value if isinstance(value, dict) else {}


def trace_type(trace: dict[str, Any]) -> str:
    """Return a trace's type; plotly's default is "scatter"."""
    return str(trace.get("type") or "scatter")


def title_text(value: Any) -> str:
    """Return the text of a plotly title, given as a string or as ``{"text": ...}``."""
    if isinstance(value, dict):
        value = value.get("text")
    return "" if value is None else str(value)


def text_tag(
    x: float,
    y: float,
    text: Any,
    *,
    anchor: str | None = None,
    middle: bool = False,
    size: float | None = None,
    fill: str | None = None,
    bold: bool = False,
    rotate: bool = False,
    cls: str | None = None,
) -> str:
    """Return a ``<text>`` element; ``middle`` centres it vertically on ``y``, ``rotate`` turns it upwards.

    A text wholly wrapped in ``<b>...</b>`` is drawn bold without the tags; any other markup shows as typed.
    """
    content = str(text)
    match = _BOLD.fullmatch(content)
    if match:
        content, bold = match.group(1), True
    attrs = f'x="{coord(x)}" y="{coord(y)}"'
    if cls:
        attrs += f' class="{cls}"'
    if anchor:
        attrs += f' text-anchor="{anchor}"'
    if middle:
        attrs += ' dy=".35em"'
    if size:
        attrs += f' font-size="{coord(size)}"'
    if fill:
        attrs += f' fill="{esc(fill)}"'
    if bold:
        attrs += ' font-weight="bold"'
    if rotate:
        attrs += f' transform="rotate(-90 {coord(x)} {coord(y)})"'
    return f"<text {attrs}>{esc(content)}</text>"


def shorten(label: str, room: float) -> str:
    """Return ``label`` shortened with an ellipsis to about ``room`` pixels (at least three characters)."""
    chars = max(3, int(room / CHAR_WIDTH))
    return label if len(label) <= chars else label[: chars - 1] + "…"


def nice_ticks(lo: float, hi: float, count: float) -> list[tuple[float, str]]:
    """Return round tick values (steps of 1, 2 or 5 times a power of ten) within ``[lo, hi]``, with labels."""
    span = hi - lo
    if span <= 0:
        return [(lo, f"{lo:g}")]
    raw = span / max(1.0, count)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if raw <= m * power * (1 + 1e-9))
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    ticks = []
    for k in range(math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9) + 1):
        value = k * step
        label = f"{value:.3g}" if abs(value) >= 1e6 else f"{value:.{decimals}f}"
        ticks.append((value, "0" if label in ("-0", "-0.0") or float(label) == 0 else label))
    return ticks


def numeric_range(values: list[float | None], zero: bool, pad: float) -> tuple[float, float]:
    """Return the axis range of ``values``: widened by ``pad`` of the span, to zero if ``zero``."""
    finite = [value for value in values if value is not None]
    if not finite:
        return (0.0, 1.0)
    lo, hi = min(finite), max(finite)
    if zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi == lo:
        half = abs(lo) * 0.1 or 1.0
        return (lo if zero and lo == 0 else lo - half), hi + half
    span = hi - lo
    # A range that starts at zero on purpose (loss, bars) stays there.
    return (lo if zero and lo == 0 else lo - span * pad), (hi if zero and hi == 0 else hi + span * pad)


def thin(count: int, values: Sequence[Any] = ()) -> list[int]:
    """Return the indices of ``count`` points to draw: all, or evenly spaced ones, gaps and the last."""
    if count <= MAX_POINTS:
        return list(range(count))
    step = math.ceil(count / MAX_POINTS)
    keep = {i for i in range(0, count, step)} | {count - 1}
    keep |= {i for i, value in enumerate(values[:count]) if as_number(value) is None}
    return sorted(keep)


def trace_colour(trace: dict[str, Any], index: int, part: str = "line") -> str:
    """Return the colour of a trace's ``part`` ("line" or "marker").

    As plotly does: the part's own colour, else the other part's, else the ``index``-th default.
    """
    for key in (part, "marker" if part == "line" else "line"):
        style = trace.get(key)
        if isinstance(style, dict) and isinstance(style.get("color"), str):
            return str(style["color"])
    return COLORWAY[index % len(COLORWAY)]


@dataclass
class Box:
    """A rectangle in drawing pixels (y grows downwards)."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        """Return the width in pixels."""
        return self.right - self.left

    @property
    def height(self) -> float:
        """Return the height in pixels."""
        return self.bottom - self.top


class Axis:
    """Maps data values on one axis to pixels: numbers linearly, categories to 0, 1, 2, ..."""

    def __init__(
        self,
        lo: float,
        hi: float,
        start: float,
        end: float,
        horizontal: bool,
        categories: list[str] | None = None,
    ) -> None:
        self.lo, self.hi = lo, hi if hi != lo else lo + 1
        self.start, self.end = start, end  # pixels of lo and hi
        self.horizontal = horizontal
        self.categories = categories
        self._index = {name: i for i, name in enumerate(categories or [])}

    def at(self, number: float) -> float:
        """Pixel of a position on the axis (a category's index on a category axis)."""
        return self.start + (number - self.lo) / (self.hi - self.lo) * (self.end - self.start)

    def px(self, value: Any) -> float | None:
        """Pixel of a data value, or None where it has none (a gap, an unknown category)."""
        if self.categories is not None:
            index = None if value is None else self._index.get(str(value))
            return None if index is None else self.at(index)
        number = as_number(value)
        return None if number is None else self.at(number)

    def pixels(self, values: Sequence[Any]) -> list[float | None]:
        """Pixels of many data values: :meth:`px` with a fast path for plain numbers (live plots redraw)."""
        if self.categories is not None:
            return [self.px(value) for value in values]
        scale = (self.end - self.start) / (self.hi - self.lo)
        start, lo, finite = self.start, self.lo, math.isfinite
        return [
            start + (value - lo) * scale if type(value) in (float, int) and finite(value) else self.px(value)
            for value in values
        ]

    @property
    def unit(self) -> float:
        """Pixels per data unit (per category on a category axis)."""
        return abs(self.end - self.start) / (self.hi - self.lo)

    def ticks(self) -> list[tuple[float, str]]:
        """``(pixel, label)`` of each tick: round numbers, or categories thinned until they fit."""
        length = abs(self.end - self.start)
        if self.categories is not None:
            slot = self.unit
            if self.horizontal:
                widest = max((len(name) for name in self.categories), default=1) * CHAR_WIDTH + 6
                every = max(1, math.ceil(3 * CHAR_WIDTH / slot)) if widest > slot else 1
                return [
                    (self.at(i), shorten(name, slot * every - 6))
                    for i, name in enumerate(self.categories)
                    if i % every == 0
                ]
            every = max(1, math.ceil(14 / slot))
            return [(self.at(i), name) for i, name in enumerate(self.categories) if i % every == 0]
        count = length / (90 if self.horizontal else 45)
        return [(self.at(value), label) for value, label in nice_ticks(self.lo, self.hi, max(2.0, count))]
