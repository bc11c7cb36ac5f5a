"""SavedModel export (TF Serving's layout) and its loader for verification.

The SavedModel is the graph of :mod:`~lepton_lab.core.export.graph`: one ``serving_default``
signature taking ``images`` as the dataset stores them (``text``, raw strings, for a text model).
A float input is refused by TensorFlow ("expected to be a uint8 tensor but is a float tensor"),
never silently cast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lepton_lab.core.export.graph import SIGNATURE, write_savedmodel
from lepton_lab.core.export.inputs import RawInput

__all__ = ["load", "write"]


def write(model: Any, raw: RawInput, directory: Path) -> Path:
    """Write the SavedModel of ``model`` into ``directory`` (a version directory); return it."""
    write_savedmodel(model, raw, directory)
    return directory


class Predictor:
    """A SavedModel loaded with ``tf.saved_model.load``, called through its serving signature."""

    def __init__(self, directory: Path) -> None:
        from lepton_lab.core.tf_import import tf

        self._tf = tf
        self._signature = tf.saved_model.load(str(directory)).signatures[SIGNATURE]
        (self._input,) = self._signature.structured_input_signature[1]

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(probabilities, classes)`` for a batch of raw inputs."""
        out = self._signature(**{self._input: self._tf.constant(images)})
        return out["probabilities"].numpy(), out["classes"].numpy()


def load(directory: Path) -> Predictor:
    """Load the SavedModel in ``directory`` for :mod:`~lepton_lab.core.export.verify`."""
    return Predictor(directory)
