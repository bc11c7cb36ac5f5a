"""Shapes: procedurally generated images of coloured shapes.

A dataset that needs no files and scales to any size: each image shows one
shape (the label) in a random colour, position, size and rotation on a dark,
slightly noisy background. Colour carries no information about the class, so
a model has to learn the outline. Pure numpy; the same ``seed`` always gives
identical arrays.

Examples
--------
>>> images, labels = generate(10, image_size=16, seed=0)
>>> images.shape, images.dtype, labels[:4].tolist()
((10, 16, 16, 3), dtype('uint8'), [4, 1, 2, 2])
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

CLASS_NAMES = ("circle", "square", "triangle", "cross", "ring")

#: Images generated between progress callbacks.
_CHUNK = 256


def _regular_polygon(sides: int) -> Callable[[np.ndarray, np.ndarray, float], np.ndarray]:
    """Distance-to-edge function of a regular polygon with circumradius ``radius``."""
    sector = 2 * np.pi / sides

    def distance(x: np.ndarray, y: np.ndarray, radius: float) -> np.ndarray:
        angle = np.mod(np.arctan2(y, x), sector) - sector / 2
        return np.hypot(x, y) * np.cos(angle) - radius * np.cos(np.pi / sides)

    return distance


def _circle(x: np.ndarray, y: np.ndarray, radius: float) -> np.ndarray:
    return np.hypot(x, y) - radius


def _cross(x: np.ndarray, y: np.ndarray, radius: float) -> np.ndarray:
    arm = 0.3 * radius
    horizontal = np.maximum(np.abs(x) - radius, np.abs(y) - arm)
    vertical = np.maximum(np.abs(x) - arm, np.abs(y) - radius)
    return np.minimum(horizontal, vertical)


def _ring(x: np.ndarray, y: np.ndarray, radius: float) -> np.ndarray:
    return np.abs(np.hypot(x, y) - 0.75 * radius) - 0.25 * radius


# Signed distance (negative inside) per class, in CLASS_NAMES order; the
# triangle is drawn larger because it covers less of its circumcircle.
_SHAPES: tuple[tuple[Callable[[np.ndarray, np.ndarray, float], np.ndarray], float], ...] = (
    (_circle, 0.85),
    (_regular_polygon(4), 1.0),
    (_regular_polygon(3), 1.2),
    (_cross, 1.0),
    (_ring, 1.0),
)


def _hsv_to_rgb(hue: float, saturation: float, value: float) -> np.ndarray:
    channel = np.mod(np.array([5.0, 3.0, 1.0]) + hue * 6, 6)
    return value - value * saturation * np.clip(np.minimum(channel, 4 - channel), 0, 1)


def generate(
    count: int,
    image_size: int = 32,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Generate ``count`` shape images with balanced labels.

    Parameters
    ----------
    count : int
        Number of images.
    image_size : int
        Side length in pixels.
    seed : int
        Everything random (labels, geometry, colours, noise) derives from it.
    progress : callable, optional
        Called with the number of images generated so far, every few hundred images.

    Returns
    -------
    images : np.ndarray
        ``uint8`` array of shape ``[count, image_size, image_size, 3]``.
    labels : np.ndarray
        ``int64`` class indices into :data:`CLASS_NAMES`, each class equally often (±1).
    """
    if count < 1:
        raise ValueError(f"shapes: count must be at least 1, got {count}")
    if image_size < 8:
        raise ValueError(f"shapes: image_size must be at least 8 pixels, got {image_size}")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(count) % len(CLASS_NAMES)).astype(np.int64)
    centres = (np.arange(image_size) + 0.5) / image_size
    grid_y, grid_x = np.meshgrid(centres, centres, indexing="ij")
    images = np.empty((count, image_size, image_size, 3), dtype=np.uint8)
    for index, label in enumerate(labels):
        distance_to, scale = _SHAPES[label]
        radius = rng.uniform(0.2, 0.32)
        reach = radius * scale
        centre_x, centre_y = rng.uniform(reach, 1 - reach, size=2)
        turn = rng.uniform(0, 2 * np.pi)
        x, y = grid_x - centre_x, grid_y - centre_y
        # Rotating the sample grid by -turn rotates the shape by +turn.
        x, y = x * np.cos(turn) + y * np.sin(turn), y * np.cos(turn) - x * np.sin(turn)
        # One-pixel soft edge: anti-aliased outlines even at 8x8.
        coverage = np.clip(0.5 - distance_to(x, y, reach) * image_size, 0.0, 1.0)[..., None]
        foreground = _hsv_to_rgb(rng.uniform(), rng.uniform(0.55, 1.0), rng.uniform(0.75, 1.0))
        background = _hsv_to_rgb(rng.uniform(), rng.uniform(0.0, 0.6), rng.uniform(0.05, 0.35))
        pixels = background * (1 - coverage) + foreground * coverage
        pixels += rng.normal(0.0, 0.03, size=pixels.shape)
        images[index] = np.clip(pixels * 255 + 0.5, 0, 255).astype(np.uint8)
        if progress is not None and (index + 1) % _CHUNK == 0:
            progress(index + 1)
    if progress is not None:
        progress(count)
    return images, labels
