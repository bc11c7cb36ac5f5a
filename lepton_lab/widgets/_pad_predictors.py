"""The models a PredictionPad can ask: a Keras model in this kernel, or one deployed on the server.

Both answer :meth:`Predictor.predict` for float32 ``[n, H, W, C]`` images in [0, 1] (already on
the dataset's stored levels, see :mod:`~lepton_lab.widgets._pad_image`) with float probabilities
``[n, classes]``. The deployed one sends what its SavedModel's signature takes, the raw uint8
values the dataset stores, in TF Serving's row format (``{"instances": [...]}``) to
``POST /lepton-lab/api/models/{name}:predict``, through the client's
:class:`~lepton_lab.model_client.DeployedModel`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lepton_lab.core.tf_logging import one_trace_per_model
from lepton_lab.model_client import DeployedModel
from lepton_lab.widgets._pad_image import to_raw


class Predictor:
    """What a pad needs from a model.

    Attributes
    ----------
    input_shape : tuple of int
        ``(H, W, C)`` of one input.
    classes : list of str
        Class names in output order (``"0"``, ``"1"``, ... when nothing names them).
    label : str
        Says which model this is, for the pad's header.
    """

    input_shape: tuple[int, int, int]
    classes: list[str]
    label: str

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Return float probabilities ``[n, classes]`` for float32 ``images`` ``[n, H, W, C]``."""
        raise NotImplementedError


def image_shape(shape: Any, what: str) -> tuple[int, int, int]:
    """``(H, W, C)`` of an input shape ``[None, H, W, C]`` (or ``[None, H, W]``), else a clear error."""
    dims = list(shape)[1:] if shape is not None else []
    if len(dims) == 2:
        dims.append(1)
    if len(dims) != 3 or not all(isinstance(d, int) and d > 0 for d in dims):
        raise ValueError(
            f"{what} takes inputs of shape {list(shape) if shape is not None else None}; the "
            "PredictionPad needs an image model with inputs [batch, height, width, channels]"
        )
    return int(dims[0]), int(dims[1]), int(dims[2])


class KerasPredictor(Predictor):
    """A Keras model in this kernel (its softmax output read as probabilities)."""

    def __init__(self, model: Any, classes: list[str] | None, label: str | None = None) -> None:
        self.model = model
        self.input_shape = image_shape(getattr(model, "input_shape", None), f"model {model.name!r}")
        outputs = int(model.output_shape[-1])
        named = classes is not None and len(classes) == outputs
        self.classes = (
            [str(c) for c in classes] if classes is not None and named else [str(i) for i in range(outputs)]
        )
        self.label = label or f"Keras model {model.name}"

    def predict(self, images: np.ndarray) -> np.ndarray:
        # predict_on_batch runs model.predict's compiled function (the same numbers, also under
        # mixed precision) without predict's per-call set-up: ~1 ms instead of ~200 ms for one
        # digit (bench/bench_prediction_pad.py), so the bars can follow a stroke.
        with one_trace_per_model():  # each pad's model traces once; TensorFlow counts them together
            return np.asarray(self.model.predict_on_batch(images), np.float64)


class ServedPredictor(Predictor):
    """A model deployed on the Lepton Lab server, asked over its TF Serving-style REST API.

    Parameters
    ----------
    deployed : DeployedModel
        The deployment (``ll.model(name)``, ``LabClient.model(name)``): its input shape and dtype,
        classes and run id as last fetched; its ``predict`` sends raw uint8 instances.
    scale : float
        Factor from the raw stored values to [0, 1] (1/16 for digits, 1/255 for 8-bit images).
    """

    def __init__(self, deployed: DeployedModel, scale: float) -> None:
        self.deployed = deployed
        self.scale = scale
        info = deployed.info
        spec = info.get("input") or {}
        self.input_shape = image_shape(spec.get("shape"), f"deployed model {deployed.name!r}")
        dtype = spec.get("dtype", "uint8")
        if dtype != "uint8":
            raise ValueError(
                f"deployed model {deployed.name!r} takes {dtype} inputs; the PredictionPad sends uint8"
            )
        self.classes = deployed.classes
        version = info.get("version")
        self.label = f"deployed model {deployed.name}" + (f" v{version}" if version is not None else "")

    def predict(self, images: np.ndarray) -> np.ndarray:
        answer = self.deployed.predict(to_raw(images, self.scale))
        probabilities = np.asarray(answer["probabilities"], np.float64)
        if not self.classes:
            self.classes = [str(i) for i in range(probabilities.shape[-1])]
        return probabilities
