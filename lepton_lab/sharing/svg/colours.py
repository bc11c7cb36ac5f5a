"""Colour scales for static drawings: parse plotly colour strings and interpolate between stops.

Used by :mod:`lepton_lab.sharing.svg.figure` for heatmaps, colour bars and coloured
parallel-coordinate lines. Pure Python, so nothing heavy is imported.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import Any

RGB = tuple[int, int, int]

#: plotly's sequential "Viridis", the scale used when a figure names one this module does not know.
VIRIDIS = ("#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58",
           "#b5de2b", "#fde725")  # fmt: skip
_NAMED_SCALES = {
    "viridis": VIRIDIS,
    "greys": ("#ffffff", "#000000"),
    "blues": ("#f7fbff", "#6baed6", "#08306b"),
}
_NAMED_COLOURS = {"white": (255, 255, 255), "black": (0, 0, 0), "red": (255, 0, 0), "green": (0, 128, 0),
                  "blue": (0, 0, 255), "grey": (128, 128, 128), "gray": (128, 128, 128)}  # fmt: skip
_RGB_FUNCTION = re.compile(r"rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)")
_GREY: RGB = (128, 128, 128)


def parse(colour: Any) -> RGB:
    """``(r, g, b)`` of a plotly colour string (``#rgb``, ``#rrggbb``, ``rgb(...)``, a few names)."""
    text = str(colour).strip().lower()
    if text.startswith("#") and len(text) in (4, 7):
        digits = text[1:] if len(text) == 7 else "".join(c * 2 for c in text[1:])
        try:
            return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)
        except ValueError:
            return _GREY
    match = _RGB_FUNCTION.match(text)
    if match:
        r, g, b = (max(0, min(255, round(float(part)))) for part in match.groups())
        return r, g, b
    return _NAMED_COLOURS.get(text, _GREY)


def hex_colour(rgb: RGB) -> str:
    """``#rrggbb`` of ``rgb``."""
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def scale(spec: Any) -> list[tuple[float, RGB]]:
    """Return the stops ``[(position, rgb), ...]`` of a plotly ``colorscale`` (pairs or a name)."""
    if isinstance(spec, (list, tuple)) and spec:
        stops = []
        for item in spec:
            if isinstance(item, (list, tuple)) and len(item) == 2:
                try:
                    stops.append((float(item[0]), parse(item[1])))
                except (TypeError, ValueError):
                    continue
        if stops:
            return sorted(stops, key=lambda stop: stop[0])
    colours = _NAMED_SCALES.get(str(spec).lower(), VIRIDIS)
    return [(i / (len(colours) - 1), parse(colour)) for i, colour in enumerate(colours)]


def at(stops: Sequence[tuple[float, RGB]], fraction: float) -> RGB:
    """Colour of ``stops`` at ``fraction`` (clamped to 0..1), interpolated linearly in RGB."""
    fraction = min(1.0, max(0.0, fraction))
    if fraction <= stops[0][0]:
        return stops[0][1]
    for (left, low), (right, high) in itertools.pairwise(stops):
        if fraction <= right:
            share = 0.0 if right == left else (fraction - left) / (right - left)
            r, g, b = (round(a + (b - a) * share) for a, b in zip(low, high, strict=True))
            return r, g, b
    return stops[-1][1]
