"""Images as PNG and ``data:`` URIs: the one encoder for reports, snapshots, SVG and widgets.

Small images (8x8 digits) are enlarged by an integer factor with nearest-neighbour sampling,
so pixels stay sharp instead of being blurred by the browser. Widgets send the PNG bytes
(``ipywidgets.Image``) or a ``data:`` URI (thumbnail grids); reports and static drawings embed
the URI, so a page needs no image files beside it. Pillow is imported when first used.

Examples
--------
>>> import numpy as np
>>> png_data_uri(np.zeros((8, 8, 1), np.float32)).startswith("data:image/png;base64,")
True
"""

from __future__ import annotations

import base64
import io

import numpy as np

#: Thumbnails are enlarged by an integer factor to at least this many pixels per side.
THUMBNAIL_MIN_SIDE = 48


def to_uint8(image: np.ndarray) -> np.ndarray:
    """One image ``[h, w]`` or ``[h, w, 1|3|4]`` (float in [0, 1] or uint8) as uint8 ``[h, w(, c)]``."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
        raise ValueError(f"expected an image [h, w] or [h, w, 1|3|4], got shape {array.shape}")
    if array.dtype == np.uint8:
        return array
    return (np.clip(np.nan_to_num(array.astype(np.float64)), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def upscale_factor(height: int, width: int, min_side: int = THUMBNAIL_MIN_SIDE) -> int:
    """Smallest integer factor that makes the shorter side at least ``min_side`` pixels."""
    return max(1, -(-min_side // max(1, min(height, width))))


def png(image: np.ndarray, scale: int = 1) -> bytes:
    """PNG bytes of one image, enlarged ``scale`` times with nearest-neighbour sampling."""
    from PIL import Image

    pixels = to_uint8(image)
    if scale > 1:
        pixels = pixels.repeat(scale, axis=0).repeat(scale, axis=1)
    buffer = io.BytesIO()
    # compress_level 1: the images are small and encoding speed matters more than bytes.
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def data_uri(data: bytes | str, mime: str = "image/png") -> str:
    """``data:<mime>;base64,...`` for an ``<img src>``; ``data`` as bytes or already base64 text."""
    encoded = data.strip() if isinstance(data, str) else base64.b64encode(data).decode("ascii")
    return f"data:{mime};base64,{encoded}"


def png_data_uri(image: np.ndarray, min_side: int = THUMBNAIL_MIN_SIDE) -> str:
    """Return a ``data:image/png`` URI of ``image`` enlarged to at least ``min_side`` pixels per side."""
    height, width = np.asarray(image).shape[:2]
    return data_uri(png(image, upscale_factor(height, width, min_side)))


def grid(rows: list[list[np.ndarray]], scale: int = 1, gap: int = 2, background: int = 255) -> np.ndarray:
    """Tile equally sized images into one uint8 picture, ``rows[i][j]`` at row ``i``, column ``j``.

    Used for previews where one PNG (one comm message) beats one widget per image.
    """
    if not rows or not rows[0]:
        raise ValueError("grid needs at least one image")
    tiles = [[to_uint8(image) for image in row] for row in rows]
    first = tiles[0][0]
    height, width = first.shape[:2]
    channels = 3 if any(tile.ndim == 3 for row in tiles for tile in row) else 1
    cell_h, cell_w = height * scale, width * scale
    columns = max(len(row) for row in tiles)
    shape = (len(tiles) * (cell_h + gap) - gap, columns * (cell_w + gap) - gap, channels)
    canvas = np.full(shape, background, dtype=np.uint8)
    for i, row in enumerate(tiles):
        for j, tile in enumerate(row):
            if tile.ndim == 2:
                tile = tile[..., None]
            tile = tile[..., :3] if channels == 3 else tile
            if tile.shape[-1] != channels:
                tile = np.repeat(tile, channels, axis=-1)
            if scale > 1:
                tile = tile.repeat(scale, axis=0).repeat(scale, axis=1)
            top, left = i * (cell_h + gap), j * (cell_w + gap)
            canvas[top : top + cell_h, left : left + cell_w] = tile
    return canvas[..., 0] if channels == 1 else canvas
