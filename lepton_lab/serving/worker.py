"""The model-server worker: loads one SavedModel and answers batches over stdin/stdout.

Run by the server (:mod:`lepton_lab.server.model_workers`), one process per deployed model::

    python -m lepton_lab.serving.worker EXPORT/<name>/<version>

It loads the SavedModel with ``tf.saved_model.load``, takes its ``serving_default``
signature (raw uint8 ``images`` in; ``probabilities`` and ``classes`` out, as
:mod:`lepton_lab.core.export` writes it), runs one warm-up batch, writes a ``ready`` frame
and then answers ``predict`` frames in order until its standard input closes (the server
went away or stopped it). Frames are :mod:`lepton_lab.serving.protocol`'s.

Standard output carries only frames: the descriptor is duplicated for them and descriptor 1
then points at standard error, so anything TensorFlow or a library prints cannot corrupt the
stream. Which devices it sees is the parent's choice (``CUDA_VISIBLE_DEVICES``; the server
passes an empty value, i.e. CPU, unless it was given a GPU).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from lepton_lab.serving.protocol import decode_batch, encode, read_frame, result_payload

#: Key of the signature's input and outputs (the exporter's names).
INPUT_KEY = "images"
PROBABILITIES_KEY = "probabilities"
CLASSES_KEY = "classes"


class Model:
    """A loaded SavedModel's ``serving_default`` signature, called on numpy batches."""

    def __init__(self, version_dir: Path) -> None:
        from lepton_lab.core.tf_import import tf

        self._tf = tf
        self._loaded = tf.saved_model.load(str(version_dir))
        if "serving_default" not in self._loaded.signatures:
            raise ValueError(
                f"{version_dir} has no 'serving_default' signature "
                f"(it has {sorted(self._loaded.signatures)}); export it with "
                "`lepton-lab export-model RUN --format savedmodel`"
            )
        self._signature = self._loaded.signatures["serving_default"]
        inputs = self._signature.structured_input_signature[1]
        self._input_key = INPUT_KEY if INPUT_KEY in inputs else next(iter(inputs))
        spec = inputs[self._input_key]
        self.shape: list[int | None] = [None, *spec.shape.as_list()[1:]]
        self.dtype: str = spec.dtype.name
        gpus = tf.config.list_logical_devices("GPU")
        #: Where it runs: "GPU:0" when TensorFlow sees a GPU (CUDA_VISIBLE_DEVICES), else "CPU".
        self.device = gpus[0].name.split("device:")[-1] if gpus else "CPU"

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(probabilities float32 [n, K], classes int64 [n])`` for a batch of images."""
        outputs = self._signature(**{self._input_key: self._tf.constant(images)})
        probabilities = outputs[PROBABILITIES_KEY].numpy().astype(np.float32, copy=False)
        classes = (
            outputs[CLASSES_KEY].numpy().astype(np.int64, copy=False)
            if CLASSES_KEY in outputs
            else probabilities.argmax(axis=1).astype(np.int64)
        )
        return probabilities, classes


def serve(model: Model, frames_in: BinaryIO, frames_out: BinaryIO) -> None:
    """Answer ``predict`` frames until ``frames_in`` ends; a failing batch is answered with an error."""
    if model.dtype == "string":  # a text model: raw strings in
        warm = np.array([""], dtype=object)
    else:
        warm = np.zeros([1, *[d or 1 for d in model.shape[1:]]], dtype=model.dtype)
    classes = int(model(warm)[0].shape[1])
    frames_out.write(
        encode(
            {
                "type": "ready",
                "input": {"shape": model.shape, "dtype": model.dtype},
                "classes": classes,
                "pid": os.getpid(),
                "device": model.device,
            }
        )
    )
    frames_out.flush()
    while (frame := read_frame(frames_in)) is not None:
        header, payload = frame
        reply: bytes
        try:
            images = decode_batch(payload, header["shape"], model.dtype)
            probabilities, predicted = model(images)
            reply = encode(
                {
                    "type": "result",
                    "id": header["id"],
                    "n": len(predicted),
                    "classes": probabilities.shape[1],
                },
                result_payload(probabilities, predicted),
            )
        except Exception as error:
            reply = encode(
                {"type": "error", "id": header.get("id"), "error": f"{type(error).__name__}: {error}"}
            )
        frames_out.write(reply)
        frames_out.flush()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m lepton_lab.serving.worker``."""
    parser = argparse.ArgumentParser(
        prog="python -m lepton_lab.serving.worker", description=__doc__.split("\n")[0]
    )
    parser.add_argument("version_dir", type=Path, help="a SavedModel version directory (<name>/<version>/)")
    args = parser.parse_args(argv)
    frames_out: Any = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints go to stderr (the worker's log), never into the frame stream
    sys.stdout = sys.stderr
    model = Model(args.version_dir)
    print(
        f"model worker {os.getpid()}: serving {args.version_dir} on {model.device}",
        file=sys.stderr,
        flush=True,
    )
    serve(model, sys.stdin.buffer, frames_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
