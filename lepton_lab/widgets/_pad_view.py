"""The result side of a PredictionPad as HTML: the input as the model sees it and the top-k bars.

Plain HTML with inline styles, in an ``ipywidgets.HTML``: it updates live in JupyterLab and is
also what a shared notebook's static snapshot shows, with nothing to load.
"""

from __future__ import annotations

import html

import numpy as np

from lepton_lab.sharing import images

#: Side of the "as the model sees it" thumbnail, in CSS pixels (whole-pixel enlargement).
SEEN_SIDE = 112

#: One grid for all bars, so names (sized to the longest), tracks and values line up in columns.
_BARS_GRID = "display:grid;grid-template-columns:auto 160px auto;gap:4px 6px;align-items:center"
_BARS_GRID += ";font-size:12px"
_BAR_NAME = "text-align:right;max-width:140px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap"
_BAR_TRACK = "height:12px;background:#eee"


def seen_html(seen: np.ndarray, source: str) -> str:
    """Return the model's input enlarged with sharp pixels, captioned with its size and origin."""
    height, width = seen.shape[:2]
    factor = max(1, SEEN_SIDE // max(height, width))
    src = images.data_uri(images.png(seen, factor))
    figure = f"margin:0;flex:none;width:{max(width * factor, 150)}px"
    return (
        f'<figure style="{figure}"><img class="lepton-pad-seen" src="{src}" width="{width * factor}" '
        f'height="{height * factor}" alt="input as the model sees it" '
        'style="image-rendering:pixelated;border:1px solid #999">'
        '<figcaption style="font-size:11px;color:#666">'
        f"as the model sees it ({height}x{width})<br>{html.escape(source)}</figcaption></figure>"
    )


def bars_html(top: list[tuple[str, float]]) -> str:
    """Return the top-k classes as labelled horizontal bars, the most probable first and darker."""
    rows = []
    for rank, (name, probability) in enumerate(top):
        colour = "#1976d2" if rank == 0 else "#90caf9"
        label = html.escape(name)
        # display:contents: the row's three cells sit in the grid, the row keeps its data attributes.
        rows.append(
            f'<div class="lepton-pad-bar" data-class="{label}" data-probability="{probability:.6f}" '
            f'style="display:contents"><span style="{_BAR_NAME}" title="{label}">{label}</span>'
            f'<span style="{_BAR_TRACK}"><span style="display:block;height:100%;'
            f'width:{probability * 100:.1f}%;background:{colour}"></span></span>'
            f'<span style="font-family:monospace">{probability:.1%}</span></div>'
        )
    return f'<div class="lepton-pad-bars" style="{_BARS_GRID}">{"".join(rows)}</div>'


def result_html(seen: np.ndarray | None, source: str, top: list[tuple[str, float]], error: str | None) -> str:
    """Return the whole result view: input and bars (or a hint before the first input), then any error."""
    parts = ['<div class="lepton-pad-view" style="font-family:var(--jp-ui-font-family,sans-serif)">']
    if seen is not None:
        parts.append(
            '<div style="display:flex;gap:12px;align-items:flex-start">'
            f"{seen_html(seen, source)}{bars_html(top)}</div>"
        )
    else:
        parts.append(
            '<div class="lepton-pad-empty" style="color:#666">'
            "Draw on the canvas, upload an image or pick a test image.</div>"
        )
    if error:
        parts.append(
            f'<div class="lepton-pad-error" style="color:#c62828;margin-top:6px">{html.escape(error)}</div>'
        )
    parts.append("</div>")
    return "".join(parts)
