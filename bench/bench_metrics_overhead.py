"""Overhead of MetricsCallback on model.fit (target: at most 2 %).

A small Dense model on digits with batch hooks every step (steps_per_execution=1, the worst
case: one event per ~2 ms step), timed against a bare ``model.fit(verbose=0)`` of the same
compiled model in the same process. Runs are interleaved (bare, callback, bare, ...) so drift in
machine load hits both alike; the ratio of medians is printed.

Usage: TF_CPP_MIN_LOG_LEVEL=2 python bench/bench_metrics_overhead.py [--repeats 9] [--epochs 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps-per-execution", type=int, default=1)
    args = parser.parse_args()

    import keras
    import numpy as np

    from lepton_lab.core import datasets
    from lepton_lab.core.callbacks.metrics import MetricsCallback
    from lepton_lab.core.events import EventWriter

    data = datasets.load("digits")
    x, y = data.arrays("train")
    # Repeat the data so one epoch is long enough (~0.5 s) to time reliably.
    x, y = np.concatenate([x] * 4), np.concatenate([y] * 4)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input(data.input_shape),
            keras.layers.Flatten(),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(data.num_classes, activation="softmax"),
        ]
    )
    model.compile(
        "adam",
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=args.steps_per_execution,
        jit_compile=False,
    )
    steps = -(-len(y) // args.batch_size) * args.epochs

    def fit(callbacks: list[keras.callbacks.Callback]) -> float:
        start = time.perf_counter()
        model.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, verbose=0, callbacks=callbacks)
        return time.perf_counter() - start

    fit([])  # trace the train function once, outside the timings
    bare, with_callback = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            bare.append(fit([]))
            writer = EventWriter(Path(tmp) / f"events-{repeat}.jsonl")
            with_callback.append(fit([MetricsCallback(writer, epochs=args.epochs)]))
            writer.close()
        events = sum(1 for _ in (Path(tmp) / "events-0.jsonl").open())

        # The hook's own cost, free of fit's noise: call it directly with logs like Keras's.
        writer = EventWriter(Path(tmp) / "hook.jsonl")
        callback = MetricsCallback(writer, epochs=1, steps_per_epoch=10**6)
        callback.on_epoch_begin(0)
        logs = {"loss": 0.25, "accuracy": 0.9}
        calls = 20_000
        start = time.perf_counter()
        for batch in range(calls):
            callback.on_train_batch_end(batch, logs)
        hook_s = (time.perf_counter() - start) / calls
        writer.close()

    bare_median, callback_median = statistics.median(bare), statistics.median(with_callback)
    print(f"steps per fit {steps}, batch hooks per fit {events - args.epochs} (events per fit {events})")
    print(
        f"bare fit      median {bare_median:.3f} s  ({1000 * bare_median / steps:.2f} ms/step)  runs {bare}"
    )
    print(f"with callback median {callback_median:.3f} s  runs {with_callback}")
    print(
        f"overhead ratio {callback_median / bare_median:.4f}  "
        f"({100 * (callback_median / bare_median - 1):+.2f} %)"
    )
    print(f"ratio of minima {min(with_callback) / min(bare):.4f}")
    step_s = bare_median / steps
    print(
        f"hook alone: {1e6 * hook_s:.1f} us per batch event = {100 * hook_s / step_s:.2f} % of a "
        f"{1000 * step_s:.2f} ms step"
    )


if __name__ == "__main__":
    main()
