"""TFLite (LiteRT) export through ``tf.lite.TFLiteConverter``, with post-training quantization.

Converted from the export's SavedModel, so the ``.tflite`` file holds the same serving signature
(raw ``images`` in, ``probabilities`` and ``classes`` out):

- ``none``: float32.
- ``float16``: weights stored as float16 (about half the size), computed in float32.
- ``dynamic``: weights int8, activations quantized on the fly (dynamic range).
- ``int8``: full-integer; weights and activations int8, calibrated on representative examples
  drawn from the training split, and only int8 builtin kernels allowed. The raw uint8 input
  stays the input (the graph's cast and scale are quantized with the rest); probabilities come
  out dequantized as float32.

A text model's TextVectorization (lower-casing, regex, splitting, the vocabulary's hash table)
has no TFLite builtin kernels: it is converted with ``SELECT_TF_OPS``, so those ops run as
TensorFlow ops inside the file (the interpreter needs the Flex delegate, which the ``tensorflow``
wheel's interpreter linked in up to TensorFlow 2.19). An export is verified in its own runtime,
so where the interpreter has no Flex delegate (:func:`flex_available`) the exporter refuses text
TFLite before converting. Full-integer int8 cannot calibrate on strings and is refused too.

Verified in ``ai_edge_litert``'s interpreter when installed, else ``tf.lite.Interpreter``.
"""

from __future__ import annotations

import functools
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from lepton_lab.core.export.graph import INPUT_NAME, SIGNATURE
from lepton_lab.core.export.streams import quiet_converters

__all__ = ["REPRESENTATIVE_EXAMPLES", "convert", "flex_available", "load"]

#: Training examples the int8 converter calibrates activation ranges on.
REPRESENTATIVE_EXAMPLES = 200


def convert(
    savedmodel: Path, quantize: str, representative: np.ndarray | None = None, select_tf_ops: bool = False
) -> bytes:
    """Convert the SavedModel in ``savedmodel`` to a TFLite flatbuffer.

    Parameters
    ----------
    savedmodel : Path
        A SavedModel written by :func:`lepton_lab.core.export.graph.write_savedmodel`.
    quantize : str
        ``none``, ``float16``, ``dynamic`` or ``int8`` (see the module doc).
    representative : np.ndarray, optional
        Raw training examples for ``int8`` calibration (required for it).
    select_tf_ops : bool
        Allow TensorFlow ops that have no TFLite kernel (a text model's string ops).
    """
    from lepton_lab.core.tf_import import tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(savedmodel), signature_keys=[SIGNATURE])
    if select_tf_ops:
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
    if quantize != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "int8":
        if representative is None or not len(representative):
            raise ValueError("int8 quantization needs representative training examples")
        examples = representative

        def samples() -> Iterator[dict[str, np.ndarray]]:
            for index in range(len(examples)):
                yield {INPUT_NAME: examples[index : index + 1]}

        converter.representative_dataset = samples
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # int8 calibration runs the deprecated interpreter
        result: bytes = converter.convert()
    return result


@functools.cache
def flex_available() -> bool:
    """Whether the installed interpreter runs Select TF ops (the Flex delegate), tried once.

    TensorFlow 2.20 dropped the Flex delegate from the wheel's ``tf.lite.Interpreter`` (and
    ``ai_edge_litert`` has none), so a text model's ``.tflite`` file converts but cannot run here.
    The probe converts a one-op string function and calls it.
    """
    from lepton_lab.core.tf_import import tf

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def lower(text: Any) -> Any:
        return tf.strings.lower(text)

    converter = tf.lite.TFLiteConverter.from_concrete_functions([lower.get_concrete_function()], lower)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
    with tempfile.TemporaryDirectory() as work, quiet_converters(echo=False):
        try:
            path = Path(work) / "probe.tflite"
            path.write_bytes(converter.convert())
            interpreter = _interpreter(path)
            interpreter.allocate_tensors()
            (detail,) = interpreter.get_input_details()
            interpreter.resize_tensor_input(detail["index"], [1])
            interpreter.allocate_tensors()
            interpreter.set_tensor(detail["index"], np.array([b"A"], dtype=object))
            interpreter.invoke()
        except (RuntimeError, ValueError):
            return False
    return True


def _interpreter(path: Path) -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        from lepton_lab.core.tf_import import tf

        Interpreter = tf.lite.Interpreter
    with warnings.catch_warnings():
        # tf.lite.Interpreter warns that it moves to ai_edge_litert; it still works in this TF.
        warnings.simplefilter("ignore", UserWarning)
        return Interpreter(model_path=str(path))


class Predictor:
    """A ``.tflite`` file in the LiteRT interpreter, called through its serving signature."""

    def __init__(self, path: Path) -> None:
        self._runner = _interpreter(path).get_signature_runner(SIGNATURE)
        (self._input,) = self._runner.get_input_details()

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(probabilities, classes)`` for a batch of raw inputs."""
        out = self._runner(**{self._input: images})
        return np.asarray(out["probabilities"]), np.asarray(out["classes"])


def load(path: Path) -> Predictor:
    """Load ``model.tflite`` for :mod:`~lepton_lab.core.export.verify`."""
    return Predictor(path)
