"""How long one PredictionPad update takes in the kernel, and which Keras call to ask the model with.

Measures, interleaved in one process on a digits-sized model (8x8x1 -> 128 relu -> 10 softmax):

- ``model.predict(x)``, ``model.predict_on_batch(x)`` and ``model(x)`` for one image;
- the pad's whole answer to a canvas message: PNG data URL of a 224x224 drawing decoded, cropped
  to the strokes, area-averaged to 8x8, quantized, predicted and the bars' HTML rendered.

The pad sends a drawing at most every 150 ms while a stroke is drawn, so an update must take a
small fraction of that for the bars to follow the pen. Reports medians (ms) and ratios to
``predict_on_batch``.

Run: ``python bench/bench_prediction_pad.py [--rounds 50]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()

    from lepton_lab.core.tf_import import keras
    from lepton_lab.sharing import images
    from lepton_lab.widgets.prediction_pad import CANVAS_SIDE, PredictionPad

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((8, 8, 1)), keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10, activation="softmax"),
    ])  # fmt: skip
    x = np.random.default_rng(0).random((1, 8, 8, 1), dtype=np.float32)
    pad = PredictionPad(model)
    drawing = np.zeros((CANVAS_SIDE, CANVAS_SIDE), np.uint8)
    drawing[40:190, 100:124] = 255
    message = {"type": "drawing", "data": images.data_uri(images.png(drawing))}

    cases = {
        "model.predict": lambda: model.predict(x, verbose=0),
        "model.predict_on_batch": lambda: model.predict_on_batch(x),
        "model(x)": lambda: model(x, training=False),
        "pad update (canvas message)": lambda: pad._on_message(pad.canvas, message, []),
    }
    for case in cases.values():  # warm up: trace and compile
        case()
        case()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, case in cases.items():
            start = time.perf_counter()
            case()
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["model.predict_on_batch"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:30s} median {median * 1000:8.2f} ms   x{median / base:6.1f} of predict_on_batch")


if __name__ == "__main__":
    main()
