"""A tiny real SavedModel with the exporter's serving signature, built in a subprocess.

``serving_default(images: uint8 [None, 8, 8, 1]) -> {"probabilities": float32 [None, 10],
"classes": int64 [None]}``: scale by 1/16 (digits' stored counts), one dense layer, softmax.
Built (and its own outputs on fixed inputs computed) by a separate Python process, so the test
process never imports TensorFlow and can check that the server side does not either.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

#: Inputs whose outputs the builder records: 40 fixed uint8 images of 8x8x1 (0..16).
INPUTS = np.random.default_rng(0).integers(0, 17, size=(40, 8, 8, 1)).astype(np.uint8)

_BUILD = r"""
import sys
import numpy as np
import tensorflow as tf

version_dir, inputs_path, outputs_path, broken = sys.argv[1:5]
rng = np.random.default_rng(1)


class Tiny(tf.Module):
    def __init__(self):
        super().__init__()
        self.kernel = tf.Variable(rng.normal(size=(64, 10)).astype("float32"))
        self.bias = tf.Variable(rng.normal(size=(10,)).astype("float32"))

    @tf.function(input_signature=[tf.TensorSpec([None, 8, 8, 1], tf.uint8, name="images")])
    def serve(self, images):
        x = tf.reshape(tf.cast(images, tf.float32) / 16.0, [-1, 64])
        probabilities = tf.nn.softmax(x @ self.kernel + self.bias)
        return {"probabilities": probabilities, "classes": tf.argmax(probabilities, axis=1)}


model = Tiny()
tf.saved_model.save(model, version_dir, signatures={"serving_default": model.serve})
if broken == "1":
    (__import__("pathlib").Path(version_dir) / "saved_model.pb").write_bytes(b"not a SavedModel")
    sys.exit(0)
loaded = tf.saved_model.load(version_dir).signatures["serving_default"]
out = loaded(images=tf.constant(np.load(inputs_path)))
np.savez(outputs_path, probabilities=out["probabilities"].numpy(), classes=out["classes"].numpy())
"""


def build_tiny_savedmodel(root: Path, name: str = "tiny", version: int = 1, *, broken: bool = False) -> dict:
    """Write ``root/<name>/<version>/`` and return its own outputs on :data:`INPUTS`."""
    version_dir = root / name / str(version)
    version_dir.parent.mkdir(parents=True, exist_ok=True)
    np.save(root / "inputs.npy", INPUTS)
    outputs = root / f"outputs-{name}-{version}.npz"
    subprocess.run(
        [
            sys.executable,
            "-c",
            _BUILD,
            str(version_dir),
            str(root / "inputs.npy"),
            str(outputs),
            "1" if broken else "0",
        ],
        check=True,
        capture_output=True,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", **__import__("os").environ},
        timeout=300,
    )
    if broken:
        return {"version_dir": version_dir}
    with np.load(outputs) as data:
        return {
            "version_dir": version_dir,
            "probabilities": data["probabilities"],
            "classes": data["classes"],
        }
