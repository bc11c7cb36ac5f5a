"""The models a PredictionPad can ask: a Keras model in this kernel, or one deployed on the server.

Both answer :meth:`Predictor.predict` for float32 ``[n, H, W, C]`` images in [0, 1] (already on
the dataset's stored levels, see :mod:`~lepton_lab.widgets._pad_image`) with float probabilities
``[n, classes]``. The deployed one sends what its SavedModel's signature takes, the raw uint8
values the dataset stores, in TF Serving's row format (``{"instances": [...]}``) to
``POST /lepton-lab/api/models/{name}:predict`` through :class:`~lepton_lab.client.LabClient`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

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
        return np.asarray(self.model.predict_on_batch(images), np.float64)


class ServedPredictor(Predictor):
    """A model deployed on the Lepton Lab server, asked over its TF Serving-style REST API.

    Parameters
    ----------
    client : LabClient
        The server's client (``LabClient.discover()`` by default).
    name : str
        The deployed model's name (``GET /lepton-lab/api/models`` lists them).
    scale : float
        Factor from the raw stored values to [0, 1] (1/16 for digits, 1/255 for 8-bit images).
    info : dict
        The deployment (``GET models/{name}``): input shape and dtype, classes, run id.
    """

    def __init__(self, client: Any, name: str, scale: float, info: dict[str, Any]) -> None:
        self.client = client
        self.name = name
        self.scale = scale
        self.info = info
        spec = info.get("input") or {}
        self.input_shape = image_shape(spec.get("shape"), f"deployed model {name!r}")
        dtype = spec.get("dtype", "uint8")
        if dtype != "uint8":
            raise ValueError(f"deployed model {name!r} takes {dtype} inputs; the PredictionPad sends uint8")
        self.classes = [str(c) for c in info.get("classes") or []]
        version = info.get("version")
        self.label = f"deployed model {name}" + (f" v{version}" if version is not None else "")

    def predict(self, images: np.ndarray) -> np.ndarray:
        from urllib.parse import quote

        raw = to_raw(images, self.scale)
        answer = self.client.request(
            "POST", f"models/{quote(self.name, safe='')}:predict", {"instances": raw.tolist()}
        )
        predictions = answer.get("predictions") if isinstance(answer, dict) else None
        if not isinstance(predictions, list) or len(predictions) != len(images):
            raise ValueError(f"deployed model {self.name!r} answered without one prediction per image")
        probabilities = np.array(
            [p["probabilities"] if isinstance(p, dict) else p for p in predictions], np.float64
        )
        if not self.classes:
            self.classes = [str(i) for i in range(probabilities.shape[-1])]
        return probabilities
