"""ONNX export through tf2onnx, optionally dynamic-quantized with onnxruntime.

tf2onnx 1.17's ``from_keras`` cannot read Keras 3 models (it fails with a ``KeyError`` on
Keras 3's symbolic tensors), so the export converts the serving ``tf.function`` of
:mod:`~lepton_lab.core.export.graph` with ``tf2onnx.convert.from_function``: the ONNX graph
takes the same raw ``images`` and returns ``probabilities`` and ``classes``.

``dynamic`` runs ``onnxruntime.quantization.quantize_dynamic`` (int8 weights, activations
quantized at run time) on the float model. Verified in ``onnxruntime``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from lepton_lab.core.export.graph import input_spec, serving_function
from lepton_lab.core.export.inputs import RawInput

__all__ = ["OPSET", "convert", "load"]

#: ONNX opset written (onnxruntime 1.18+ runs it).
OPSET = 17


def convert(model: Any, raw: RawInput, quantize: str) -> bytes:
    """Convert the Keras ``model`` behind the raw-input serving graph to ONNX (serialized)."""
    import tf2onnx

    proto, _ = tf2onnx.convert.from_function(
        serving_function(model, raw), input_signature=[input_spec(raw)], opset=OPSET
    )
    data: bytes = proto.SerializeToString()
    if quantize == "dynamic":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        with tempfile.TemporaryDirectory() as work:
            source, target = Path(work) / "float.onnx", Path(work) / "dynamic.onnx"
            source.write_bytes(data)
            quantize_dynamic(source, target, weight_type=QuantType.QInt8)
            data = target.read_bytes()
    return data


class Predictor:
    """A ``.onnx`` file in an onnxruntime CPU session."""

    def __init__(self, path: Path) -> None:
        import onnxruntime

        self._session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self._outputs = [output.name for output in self._session.get_outputs()]

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(probabilities, classes)`` for a batch of raw inputs."""
        out = dict(zip(self._outputs, self._session.run(None, {self._input: images}), strict=True))
        return np.asarray(out["probabilities"]), np.asarray(out["classes"])


def load(path: Path) -> Predictor:
    """Load ``model.onnx`` for :mod:`~lepton_lab.core.export.verify`."""
    return Predictor(path)
