"""Where the runner's wall time per epoch goes on short epochs, against ``model.fit`` on the same pipeline.

Cases (``--cases``): ``folder/mlp/256`` and ``folder/small_cnn/256`` (a folder of
``--folder-images`` Fashion-MNIST PNGs, memory cache, no validation split), ``digits/mlp/32`` and
``digits/mlp/256`` (in memory, with validation). For each case two contenders alternate:

runner
    :func:`lepton_lab.core.runner.run` with probe off and the settings it would pick
    (``--runtime``, default ``steps_per_execution=16``, no XLA, float32), a whole run directory.
keras
    The same model and compile settings, ``model.fit`` on the same ``tf.data`` pipeline the
    runner builds (:func:`lepton_lab.core.datasets.pipeline.batches`) and the same validation
    pipeline, no callbacks but the epoch timer: the floor for that pipeline.

``--no-input-wait`` trains the runner without the stages that count ``input_wait_s``, to see
what they cost. The runner's epoch (wall time between epoch ends, epochs 2..N) is split into: the time inside
each of its callbacks' hooks (timed by wrapping their methods in this process), validation
(``Model.evaluate`` as ``fit`` calls it), ``input_wait_s`` from its events, and the rest
(train steps and Keras's own loop). Medians over epochs and repeats, milliseconds.

Usage: TF_CPP_MIN_LOG_LEVEL=2 python bench/bench_epoch_overhead.py [--repeats 2] [--epochs 6]
       [--cases folder/mlp/256 digits/mlp/32] [--folder-images 5000]
"""

from __future__ import annotations

import argparse
import collections
import functools
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_speed_matrix import EpochTimes, write_folder

CASES = ("folder/mlp/256", "folder/small_cnn/256", "digits/mlp/32", "digits/mlp/256")
RUNTIME = {"steps_per_execution": 16, "jit_compile": False, "precision": "float32"}


class HookTimes:
    """Seconds spent in the runner's callback hooks and in validation, per epoch."""

    def __init__(self) -> None:
        self.current: collections.defaultdict[str, float] = collections.defaultdict(float)
        self.epochs: list[collections.defaultdict[str, float]] = []
        self.active = False

    def wrap(self, cls: type, label: str) -> None:
        """Time every ``on_*`` hook ``cls`` defines itself (or inherits from a non-base class)."""
        from lepton_lab.core.tf_import import keras

        for name in dir(cls):
            if not name.startswith("on_") or getattr(cls, name) is getattr(
                keras.callbacks.Callback, name, None
            ):
                continue
            original = getattr(cls, name)
            setattr(cls, name, self._timed(original, f"{label}.{name}"))

    def wrap_evaluate(self) -> None:
        from lepton_lab.core.tf_import import keras

        self._evaluate = keras.Model.evaluate
        keras.Model.evaluate = self._timed(keras.Model.evaluate, "validation")

    def _timed(self, function: Any, label: str) -> Any:
        times = self

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                if times.active:
                    times.current[label] += time.perf_counter() - start

        return timed

    def epoch_end(self) -> None:
        self.epochs.append(self.current)
        self.current = collections.defaultdict(float)


def make_spec(case: str, root: Path | None, epochs: int, runtime: dict[str, Any]) -> Any:
    from lepton_lab.core.specs import JobSpec

    source, preset, batch = case.split("/")
    dataset: dict[str, Any] = (
        {"name": f"folder:{root}", "image_size": 28, "validation_split": 0.0}
        if source == "folder"
        else {"name": source}
    )
    return JobSpec.model_validate(
        {
            "name": case.replace("/", "-"),
            "dataset": dataset,
            "model": {"preset": preset},
            "train": {
                "epochs": epochs,
                "batch_size": int(batch),
                "seed": 1,
                "runtime": {"probe": "never", **runtime},
            },
        }
    )


def runner_epochs(spec: Any, data: Any, runs_dir: str, hooks: HookTimes) -> list[dict[str, float]]:
    """Train with the runner; return per steady epoch ``{part: seconds}`` with ``total``."""
    from lepton_lab.core import runner
    from lepton_lab.core.events import read_events
    from lepton_lab.core.rundir import RunDir
    from lepton_lab.core.tf_import import keras

    hooks.epochs, hooks.current = [], collections.defaultdict(float)

    class Marker(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            hooks.epoch_end()

    run_dir = RunDir.create(runs_dir, spec)
    timer = EpochTimes()
    hooks.active = True
    try:
        status = runner.run(spec, run_dir, dataset=data, callbacks=[Marker(), timer.callback])
    finally:
        hooks.active = False
    assert status["status"] == "completed", status
    events = [e for e in read_events(run_dir.events_path)[0] if e["type"] == "epoch"]
    out = []
    for index, total in enumerate(timer.times, start=1):  # times[0] is epoch 2
        # An epoch's interval runs from the previous epoch's end hooks' return, so hooks timed
        # for epoch `index` (0-based) belong to it, except the previous on_epoch_end calls.
        parts: dict[str, float] = dict(hooks.epochs[index])
        parts["input_wait"] = events[index]["metrics"].get("input_wait_s") or 0.0
        parts["total"] = total
        out.append(parts)
    return out


def keras_epochs(spec: Any, data: Any, runtime: dict[str, Any]) -> list[float]:
    """``model.fit`` on the runner's own train and validation pipelines, no callbacks."""
    from lepton_lab.core import models
    from lepton_lab.core.datasets import pipeline
    from lepton_lab.core.tf_import import keras

    keras.utils.set_random_seed(spec.train.seed)
    cache = pipeline.default_cache(data, "train")
    options = pipeline.InputOptions(True, "auto", cache)
    train = pipeline.batches(data, "train", spec.train.batch_size, shuffle=True, seed=1, options=options)
    validation = (
        pipeline.batches(data, "validation", max(spec.train.batch_size, 256), shuffle=False, options=options)
        if data.count("validation")
        else None
    )
    model = models.build(spec.model, data.input_shape, data.num_classes)
    model.compile(
        keras.optimizers.Adam(spec.train.learning_rate),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=runtime["steps_per_execution"],
        jit_compile=runtime["jit_compile"],
    )
    timer = EpochTimes()
    model.fit(
        train, validation_data=validation, epochs=spec.train.epochs, verbose=0, callbacks=[timer.callback]
    )
    return timer.times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="*", default=list(CASES))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--folder-images", type=int, default=5000)
    parser.add_argument(
        "--no-input-wait",
        action="store_true",
        help="diagnosis: the runner trains on its pipeline without the input-wait stages (input_wait_s 0)",
    )
    args = parser.parse_args()
    if args.no_input_wait:
        from lepton_lab.core.callbacks.input_wait import InputWaitMeter

        InputWaitMeter.instrument = lambda self, data: data  # type: ignore[method-assign]

    import lepton_lab
    from lepton_lab.core import callbacks, datasets

    print(f"lepton_lab from {Path(lepton_lab.__file__).parent}", flush=True)
    from lepton_lab.core.callbacks.input_wait import InputWaitCallback
    from lepton_lab.core.callbacks.tensorboard import EpochTensorBoard

    hooks = HookTimes()
    for cls, label in (
        (callbacks.StopGuard, "stop_guard"),
        (InputWaitCallback, "input_wait_cb"),
        (callbacks.MetricsCallback, "metrics"),
        (callbacks.NaNGuard, "nan_guard"),
        (callbacks.EpochCheckpoint, "checkpoint"),
        (EpochTensorBoard, "tensorboard"),
    ):
        hooks.wrap(cls, label)
    hooks.wrap_evaluate()

    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryDirectory() as runs_dir:
        root = Path(folder)
        if any(case.startswith("folder/") for case in args.cases):
            write_folder(root, args.folder_images)
        loaded: dict[str, Any] = {}
        for case in args.cases:
            spec = make_spec(case, root, args.epochs, RUNTIME)
            key = case.split("/")[0]
            if key not in loaded:
                loaded[key] = datasets.load(spec.dataset)
            data = loaded[key]
            runner_parts: list[dict[str, float]] = []
            keras_times: list[float] = []
            for repeat in range(args.repeats):
                order = ("runner", "keras") if repeat % 2 == 0 else ("keras", "runner")
                for name in order:
                    if name == "runner":
                        runner_parts += runner_epochs(spec, data, runs_dir, hooks)
                    else:
                        keras_times += keras_epochs(spec, data, RUNTIME)
            total = statistics.median(p["total"] for p in runner_parts)
            floor = statistics.median(keras_times)
            labels = sorted({k for p in runner_parts for k in p} - {"total"})
            shares = {k: statistics.median(p.get(k, 0.0) for p in runner_parts) for k in labels}
            rest = statistics.median(
                p["total"] - sum(v for k, v in p.items() if k != "total") for p in runner_parts
            )
            count = data.count("train")
            print(
                f"\n{case}: runner {total * 1e3:.1f} ms/epoch ({count / total:.0f} img/s), "
                f"keras fit on the same pipeline {floor * 1e3:.1f} ms ({count / floor:.0f} img/s), "
                f"runner/keras time x{total / floor:.2f}",
                flush=True,
            )
            for label in labels:
                if shares[label] >= 5e-5:
                    print(f"    {label:34} {shares[label] * 1e3:7.2f} ms")
            print(f"    {'rest (train steps, Keras loop)':34} {rest * 1e3:7.2f} ms", flush=True)


if __name__ == "__main__":
    main()
