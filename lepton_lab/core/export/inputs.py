"""What an exported model takes: the dataset's examples as stored, and how to make them model inputs.

A dataset keeps its pixels in stored form (uint8 for images, digits' 0..16 counts included) and
the training pipeline (:mod:`lepton_lab.core.datasets.pipeline`) turns a batch into model input
by ``cast(float32) * scale`` and, for a dataset loaded at another ``image_size``, a bilinear
resize. An export puts those same steps inside its graph, so it takes what the dataset stores
and preprocessing cannot drift between training and serving. A text dataset stores one string per
example and its model starts with its TextVectorization, so a text export takes the raw strings
(``dtype == "string"``, shape ``()`` per example). TensorFlow-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from lepton_lab.core.datasets import Dataset


@dataclass(frozen=True)
class RawInput:
    """Return the input an export takes and how it becomes the trained model's input.

    Attributes
    ----------
    shape : tuple of int
        One example as stored, e.g. ``(8, 8, 1)``.
    dtype : str
        ``"uint8"`` for images; ``"float32"`` for data stored as floats (tabular features,
        float images from a notebook, audio waveforms); ``"string"`` for text (shape ``()``).
    scale : float
        Stored values times ``scale`` are the model's values.
    resize : tuple of int, optional
        ``(height, width)`` the scaled images are resized to (bilinear), or None.
    """

    shape: tuple[int, ...]
    dtype: str
    scale: float
    resize: tuple[int, int] | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the ``input`` entry of ``export.json``: ``shape`` (batch first), ``dtype``, ``scale``."""
        data: dict[str, Any] = {"shape": [None, *self.shape], "dtype": self.dtype, "scale": self.scale}
        if self.resize is not None:
            data["resize"] = list(self.resize)
        return data


def raw_input(dataset: Dataset) -> RawInput:
    """Return the :class:`RawInput` of ``dataset``, read from how it stores its first example."""
    if dataset.kind == "text":
        return RawInput((), "string", 1.0)
    stored, scale = raw_examples(dataset, "train", np.arange(min(1, dataset.count("train"))))
    dtype = "uint8" if stored.dtype == np.uint8 else "float32"
    resize = getattr(dataset._store, "resize", None)
    return RawInput(tuple(int(side) for side in stored.shape[1:]), dtype, float(scale), resize)


def raw_examples(
    dataset: Dataset, split: str, positions: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """Examples of ``split`` (all, or those at ``positions``) as stored, and their scale.

    Texts come back as an object array of ``str`` (what ``tf.constant`` makes a ``tf.string`` batch of).
    """
    rows = dataset._rows(split)
    if positions is not None:
        rows = rows[positions]
    stored, scale = dataset._store.raw(rows)
    if dataset.kind == "text":
        return np.asarray(stored, dtype=object), 1.0
    if stored.dtype != np.uint8:
        stored = stored.astype(np.float32)
    return np.ascontiguousarray(stored), float(scale)
