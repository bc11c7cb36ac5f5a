"""What a PredictionPad feeds its model: any image in, the model's input out.

A drawing, an uploaded file or an array becomes one float32 ``[H, W, C]`` image in [0, 1] of
the model's input shape: decoded (Pillow), channels matched, downscaled by area averaging and
rounded to the levels the dataset stores (``scale``: 1/16 for digits, whose pixels are 0..16
counts, 1/255 for 8-bit images). Area averaging is how the digits themselves were made (each of
the 8x8 counts is the ink in a 4x4 block of a 32x32 bitmap), and rounding to the stored levels
makes the in-kernel model see exactly what a deployed one gets as raw uint8.

Pure numpy and Pillow, no widgets, so the preprocessing is tested apart from the view.
"""

from __future__ import annotations

import base64
import binascii
import io

import numpy as np

#: Luminance weights (ITU-R 601, Pillow's ``convert("L")``) for colour images fed to grey models.
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)

#: Share of the square a drawing's strokes fill after :func:`fit_strokes`, the rest is margin.
STROKE_FILL = 0.8


class ImageInputError(ValueError):
    """An upload or array that cannot be the model's input; the message says why and what fits."""


def decode_data_url(url: str) -> bytes:
    """Return the bytes of a ``data:...;base64,...`` URL (what a canvas or a file reader sends)."""
    head, sep, body = url.partition(",")
    if not sep or ";base64" not in head:
        raise ImageInputError("expected a base64 data URL (data:image/png;base64,...)")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ImageInputError(f"the data URL is not valid base64: {error}") from None


def read_image(data: bytes, name: str = "upload") -> np.ndarray:
    """Decode image file bytes (PNG, JPEG, GIF, BMP, ... or a ``.npy`` array) into an array.

    Returns uint8 ``[h, w]`` / ``[h, w, 3]`` for image files (alpha composited on black), the
    stored array for ``.npy``.
    """
    if data[:6] == b"\x93NUMPY":
        try:
            return np.load(io.BytesIO(data), allow_pickle=False)
        except ValueError as error:
            raise ImageInputError(f"could not read {name!r} as a .npy array: {error}") from None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as opened:
            image = opened.convert("RGBA") if opened.mode in ("RGBA", "LA", "P") else opened.copy()
    except (UnidentifiedImageError, OSError):
        raise ImageInputError(
            f"could not read {name!r} as an image: it is not a PNG, JPEG, GIF, BMP or WebP file; "
            "upload one of those (or a .npy array)"
        ) from None
    if image.mode == "RGBA":  # transparent pixels are background, not white
        pixels = np.asarray(image, np.float32)
        return (pixels[..., :3] * (pixels[..., 3:] / 255.0) + 0.5).astype(np.uint8)
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    return np.asarray(image)


def as_float(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Return ``image`` as float32 ``[h, w, c]`` in [0, 1], ``c`` 1 or 3.

    Integer arrays are read as 8-bit (0..255), float arrays as already in [0, 1].
    """
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4) or min(array.shape[:2]) < 1:
        raise ImageInputError(
            f"{name} has shape {list(array.shape)}, which is not an image; expected [H, W], "
            "[H, W, 1] or [H, W, 3] (grey or RGB)"
        )
    if array.shape[-1] == 4:
        array = array[..., :3]
    if np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_:
        values = array.astype(np.float32) / (1.0 if array.dtype == np.bool_ else 255.0)
    elif np.issubdtype(array.dtype, np.floating):
        values = np.nan_to_num(array.astype(np.float32))
    else:
        raise ImageInputError(f"{name} has dtype {array.dtype}; expected integer (0-255) or float (0-1)")
    return np.clip(values, 0.0, 1.0)


def match_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """``image`` ``[h, w, 1|3]`` with ``channels`` channels: grey repeated, or colour to luminance."""
    have = image.shape[-1]
    if have == channels:
        return image
    if channels == 1:
        return (image @ _LUMA)[..., None].astype(np.float32)
    if channels == 3 and have == 1:
        return np.repeat(image, 3, axis=-1)
    raise ImageInputError(f"cannot turn a {have}-channel image into the model's {channels} channels")


def downscale(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area-average ``image`` ``[h, w, c]`` down to ``size`` (height, width).

    Each output pixel is the mean of the input area it covers (fractional edges weighted), so
    an 8x8 digit from a 224x224 drawing holds the ink share of each of its 64 blocks. Images
    already at ``size`` come back unchanged; smaller ones are refused (enlarging invents detail
    the model never saw in training).
    """
    height, width = image.shape[:2]
    out_h, out_w = size
    if (height, width) == (out_h, out_w):
        return image.astype(np.float32)
    if height < out_h or width < out_w:
        raise ImageInputError(
            f"the image is {height}x{width}, smaller than the model's {out_h}x{out_w} input; "
            f"use an image of at least {out_h}x{out_w} pixels"
        )
    rows = _area_weights(height, out_h)
    cols = _area_weights(width, out_w)
    return np.einsum("ih,hwc,jw->ijc", rows, image.astype(np.float32), cols).astype(np.float32)


def _area_weights(size: int, out: int) -> np.ndarray:
    """``[out, size]`` matrix whose row ``i`` averages the input cells output cell ``i`` covers."""
    edges = np.arange(out + 1, dtype=np.float64) * size / out
    cells = np.arange(size, dtype=np.float64)
    starts = np.maximum(edges[:-1, None], cells[None, :])
    overlap = np.clip(np.minimum(edges[1:, None], cells[None, :] + 1) - starts, 0, None)
    return (overlap / overlap.sum(axis=1, keepdims=True)).astype(np.float32)


def fit_strokes(image: np.ndarray, background: float, fill: float = STROKE_FILL) -> np.ndarray:
    """Crop a drawing to its strokes, centred in a square with a margin, as datasets' digits are.

    Handwritten-digit sets scale each digit's bounding box to fill the frame (UCI optdigits) or
    a fixed share of it (MNIST's 20 of 28 pixels), so a small digit drawn in a corner of the
    canvas is enlarged and centred the same way. ``background`` is the canvas colour (0 for
    light strokes on black, 1 for dark on white); an empty drawing comes back as it is.
    """
    ink = np.abs(image - background).max(axis=-1) > 0.05
    if not ink.any():
        return image
    ys, xs = np.nonzero(ink)
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    side = max(bottom - top, right - left)
    frame = max(side, int(np.ceil(side / fill)))
    square = np.full((frame, frame, image.shape[-1]), background, np.float32)
    y0 = (frame - (bottom - top)) // 2
    x0 = (frame - (right - left)) // 2
    square[y0 : y0 + bottom - top, x0 : x0 + right - left] = image[top:bottom, left:right]
    return square


def quantize(image: np.ndarray, scale: float) -> np.ndarray:
    """Round ``image`` in [0, 1] to the stored levels ``k * scale`` (what raw uint8 can say)."""
    return (np.round(image / scale) * scale).astype(np.float32)


def to_raw(image: np.ndarray, scale: float) -> np.ndarray:
    """``image`` in [0, 1] as the dataset stores it: uint8 ``round(value / scale)``."""
    return np.clip(np.round(image / scale), 0, 255).astype(np.uint8)


def model_input(
    image: np.ndarray, shape: tuple[int, int, int], scale: float, name: str = "image"
) -> np.ndarray:
    """Turn any image into the model's float32 ``shape`` input in [0, 1], on ``scale``'s levels."""
    height, width, channels = shape
    values = match_channels(as_float(image, name), channels)
    return quantize(downscale(values, (height, width)), scale)
