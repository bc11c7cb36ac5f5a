"""Embed: pieces of self-contained HTML pages that open with the network off.

Reports and exported notebooks carry everything inline: plotly.js once per page (about 4.8 MB,
from the installed ``plotly`` package, never a CDN), each figure as a ``<div>`` plus a small
script that calls ``Plotly.newPlot``, and images as ``data:`` URIs.

TensorFlow-free; plotly and Pillow are imported when first used.

Examples
--------
>>> import numpy as np
>>> png_data_uri(np.zeros((8, 8, 1), np.float32)).startswith("data:image/png;base64,")
True
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np

#: Small images (8x8 digits) are enlarged by an integer factor to at least this many pixels per
#: side with nearest-neighbour sampling, so pixels stay sharp in every browser.
IMAGE_MIN_SIDE = 64

#: Plotly config for embedded figures: no plotly.com logo link, resize with the page.
FIGURE_CONFIG: dict[str, Any] = {"displaylogo": False, "responsive": True}


def plotly_js_script() -> str:
    """``<script>`` holding the whole plotly.js bundle; put it once in a page, before any figure."""
    from plotly.offline import get_plotlyjs

    return f'<script type="text/javascript">{get_plotlyjs()}</script>'


def figure_html(figure: Any, height: int | str = 450) -> str:
    """Render a figure as an HTML fragment that draws itself once plotly.js is loaded (no plotly.js inside).

    Parameters
    ----------
    figure
        A ``plotly.graph_objects.Figure`` or a figure dict (``{"data", "layout", "config"}``, the
        content of an ``application/vnd.plotly.v1+json`` output).
    height
        Height of the figure's box in pixels (or a CSS length) when its layout sets none; a
        percentage would collapse to nothing inside an auto-height page.
    """
    import plotly.io as pio

    config = dict(FIGURE_CONFIG)
    if isinstance(figure, dict):
        config.update(figure.get("config") or {})
        figure = {key: value for key, value in figure.items() if key != "config"}
    return str(
        pio.to_html(
            figure,
            include_plotlyjs=False,
            full_html=False,
            config=config,
            validate=False,
            default_height=height,
        )
    )


def _uint8(image: np.ndarray) -> np.ndarray:
    pixels = np.asarray(image)
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[-1] not in (3, 4)):
        raise ValueError(f"expected an image [h, w] or [h, w, 1|3|4], got shape {pixels.shape}")
    if pixels.dtype == np.uint8:
        return pixels
    return (np.clip(np.nan_to_num(pixels.astype(np.float64)), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def png_bytes(image: np.ndarray, min_side: int = IMAGE_MIN_SIDE) -> bytes:
    """PNG of one image (float in [0, 1] or uint8), enlarged to at least ``min_side`` pixels per side."""
    from PIL import Image

    pixels = _uint8(image)
    scale = max(1, -(-min_side // max(1, min(pixels.shape[:2]))))
    if scale > 1:
        pixels = pixels.repeat(scale, axis=0).repeat(scale, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def data_uri(data: bytes, mime: str = "image/png") -> str:
    """``data:<mime>;base64,...`` for an ``<img src>``."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def png_data_uri(image: np.ndarray, min_side: int = IMAGE_MIN_SIDE) -> str:
    """Return a ``data:image/png`` URI of ``image`` (see :func:`png_bytes`)."""
    return data_uri(png_bytes(image, min_side))
