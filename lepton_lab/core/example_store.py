"""Example store: where a dataset's examples live, converted to float32 only when asked for.

A :class:`~lepton_lab.core.datasets.Dataset` addresses examples by row. An
:class:`ArrayStore` keeps one in-memory array in its stored form (uint8 for
60 000 Fashion-MNIST images) and scales (and resizes) only the rows requested;
a :class:`FolderStore` decodes image files on first access and keeps them; a
:class:`TextStore` holds text examples as strings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from lepton_lab.core import dataset_files
from lepton_lab.core.progress import Progress


class Store(Protocol):
    """Where a dataset's examples live; rows are addressed by integer index."""

    #: Final (height, width) when rows must be resized after scaling, else None.
    resize: tuple[int, int] | None

    def get(self, rows: np.ndarray) -> np.ndarray:
        """Rows as float32 at the dataset's input shape."""

    def raw(self, rows: np.ndarray) -> tuple[np.ndarray, float]:
        """Rows in stored form plus the factor that scales them to [0, 1]."""


def resize_bilinear(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize with half-pixel centres: the formula of ``tf.image.resize(..., "bilinear")``.

    Pages (numpy) and training batches (TensorFlow) must show the same pixels.
    """
    out = images
    for axis, (old, new) in enumerate(zip(images.shape[1:3], size, strict=True), start=1):
        if old == new:
            continue
        coords = np.clip((np.arange(new) + 0.5) * (old / new) - 0.5, 0, old - 1)
        lower = np.floor(coords).astype(np.int64)
        upper = np.minimum(lower + 1, old - 1)
        shape = [1, 1, 1, 1]
        shape[axis] = new
        weight = (coords - lower).astype(np.float32).reshape(shape)
        out = np.take(out, lower, axis=axis) * (1 - weight) + np.take(out, upper, axis=axis) * weight
    return out.astype(np.float32)


class ArrayStore:
    """Examples held in one in-memory array, scaled (and resized) to float32 only on access."""

    def __init__(self, data: np.ndarray, scale: float = 1.0, resize: tuple[int, int] | None = None):
        self.data = data
        self.scale = scale
        self.resize = resize

    def get(self, rows: np.ndarray) -> np.ndarray:
        """Return ``rows`` as float32, scaled to [0, 1] and resized; converts only those rows."""
        values = self.data[rows].astype(np.float32) * np.float32(self.scale)
        return values if self.resize is None else resize_bilinear(values, self.resize)

    def raw(self, rows: np.ndarray) -> tuple[np.ndarray, float]:
        """Return ``rows`` as stored, with the factor that scales them to [0, 1]."""
        return self.data[rows], self.scale


class TextStore:
    """Text examples: one Python ``str`` per row, handed out as a numpy object array of str.

    Text has no stored form to convert; ``raw`` gives the same strings with a scale of 1.
    """

    resize: tuple[int, int] | None = None

    def __init__(self, texts: list[str] | tuple[str, ...] | np.ndarray):
        self.data = np.empty(len(texts), dtype=object)
        self.data[:] = list(texts)
        self.data.flags.writeable = False

    def get(self, rows: np.ndarray) -> np.ndarray:
        """Return ``rows`` as an object array of str."""
        return self.data[rows]

    def raw(self, rows: np.ndarray) -> tuple[np.ndarray, float]:
        """Return ``rows`` as an object array of str, and 1.0 (nothing to scale)."""
        return self.data[rows], 1.0


class FolderStore:
    """Image files decoded on first access and kept, so every file is decoded at most once."""

    resize: tuple[int, int] | None = None  # decoded at the final size already

    def __init__(self, paths: list[Path], size: int, channels: int):
        self.paths = paths
        self.decoded = np.zeros((len(paths), size, size, channels), dtype=np.uint8)
        self.ready = np.zeros(len(paths), dtype=bool)
        self.size = size
        self.channels = channels

    def _decode(self, rows: np.ndarray, description: str | None = None) -> None:
        missing = np.unique(rows[~self.ready[rows]])
        with Progress(description or "decoding images", total=len(missing)) as progress:
            for done, row in enumerate(missing, start=1):
                self.decoded[row] = dataset_files.decode_image(self.paths[row], self.size, self.channels)
                self.ready[row] = True
                progress.update(done)

    def get(self, rows: np.ndarray) -> np.ndarray:
        """Return ``rows`` as float32 in [0, 1], decoding the files not seen yet."""
        self._decode(rows)
        return self.decoded[rows].astype(np.float32) * np.float32(1 / 255)

    def raw(self, rows: np.ndarray) -> tuple[np.ndarray, float]:
        """Return ``rows`` as decoded uint8 pixels (decoding as needed) and the factor 1/255."""
        self._decode(rows, f"decoding {len(rows)} images")
        return self.decoded[rows], 1 / 255
