"""Speed matrix: the runner against plain and hand-tuned Keras, cell by cell, on this machine.

Cells: presets ``mlp``, ``small_cnn``, ``cnn_bn`` x datasets ``digits``, ``fashion_mnist`` (a
12 000-image training subset) x batch sizes 32 and 256. In each cell three contenders train the
same model on the same data with the same seed and optimizer:

plain
    What a notebook writes: numpy arrays into ``model.fit`` with Keras's defaults
    (``steps_per_execution=1``, ``jit_compile="auto"``, i.e. XLA with TensorFlow, float32).
tuned
    The best hand-tuned Keras settings found for this machine (``--tuned``; default
    ``steps_per_execution=32``, XLA off, and mixed bfloat16 only where the CPU has it natively),
    still numpy arrays into ``model.fit``.
runner
    :func:`lepton_lab.core.runner.run` writing a whole run directory, with the settings its
    runtime policy chose. The policy's probe runs once per cell, untimed, before the timed runs
    (as a first run on a machine would fill the cache); its cost is printed.

Contenders alternate (the order rotates every repeat), so load on a shared machine falls on all of
them alike. The figure is the ratio of steady-state epoch times, median over repeats: > 1 means
the runner is faster. An epoch's time is the wall time from the previous epoch's end to its own
(epochs 2..N; the first pays for tracing), so it holds training, validation and all the epoch
work of callbacks, the runner's events, checkpoints and TensorBoard included.

``--folder`` adds a folder of PNG files (Fashion-MNIST images written out, ``--folder-images``,
20 000 by default) and compares training images/s of the runner (``folder:`` dataset, parallel
tf.data decoding, memory cache) with ``keras.utils.image_dataset_from_directory`` + ``fit`` as
its documentation shows it (plain) and with ``.cache().prefetch(AUTOTUNE)`` and the ``--tuned``
compile settings added (tuned).

Usage: TF_CPP_MIN_LOG_LEVEL=2 python bench/bench_speed_matrix.py [--quick] [--cells SPEC ...]
       [--repeats 2] [--epochs 3] [--subset 12000] [--folder] [--folder-images 20000]

``--cells`` takes ``preset/dataset/batch`` patterns with ``*`` wildcards, e.g.
``--cells 'mlp/*/256' 'small_cnn/digits/*'``. ``--quick`` is ``--repeats 1 --epochs 3`` on the
digits cells only.
"""

from __future__ import annotations

import argparse
import fnmatch
import itertools
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PRESETS = ("mlp", "small_cnn", "cnn_bn")
DATASETS = ("digits", "fashion_mnist")
BATCHES = (32, 256)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="digits cells, 1 repeat, 3 epochs")
    parser.add_argument("--cells", nargs="*", default=["*/*/*"], help="preset/dataset/batch patterns")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--subset", type=int, default=12_000, help="Fashion-MNIST training images")
    parser.add_argument("--tuned", default="steps_per_execution=32,jit_compile=0,precision=native")
    parser.add_argument("--folder", action="store_true", help="also the folder-of-PNG benchmark")
    parser.add_argument("--folder-images", type=int, default=20_000)
    parser.add_argument("--folder-batch", type=int, default=256)
    parser.add_argument("--no-matrix", action="store_true", help="only the folder benchmark")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.epochs = 1, 3
        if args.cells == ["*/*/*"]:
            args.cells = ["*/digits/*"]
    return args


def machine() -> str:
    """CPU model, cores and the speed-relevant flags, for the record."""
    from lepton_lab.core import hardware

    cpu = hardware.cpu_info()
    return (
        f"{cpu['model']}, {cpu['cores']} logical cores, flags: {' '.join(cpu['flags']) or 'none listed'}; "
        f"native bfloat16: {'yes' if cpu['native_bfloat16'] else 'no'}; {platform.platform()}"
    )


def tuned_settings(text: str) -> dict[str, Any]:
    from lepton_lab.core import hardware

    settings: dict[str, Any] = {}
    for item in text.split(","):
        name, value = item.split("=")
        settings[name] = value
    settings["steps_per_execution"] = int(settings.get("steps_per_execution", 1))
    settings["jit_compile"] = {"1": True, "0": False}.get(settings.get("jit_compile", "auto"), "auto")
    if settings.get("precision", "float32") == "native":
        native = hardware.native_precisions(hardware.cpu_info(), [])
        settings["precision"] = native[0] if native else "float32"
    return settings


class EpochTimes:
    """A Keras callback collecting the wall time between consecutive epoch ends.

    Placed last among the callbacks, the interval from one epoch's end to the next holds all of
    that epoch: training, validation and every other callback's epoch work (events, checkpoints,
    TensorBoard). ``times[0]`` is epoch 2 (the first epoch, with tracing, has no interval).
    """

    def __init__(self) -> None:
        from lepton_lab.core.tf_import import keras

        times: list[float] = []
        self.times = times

        class Timer(keras.callbacks.Callback):
            last: float | None = None

            def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                now = time.perf_counter()
                if self.last is not None:
                    times.append(now - self.last)
                self.last = now

        self.callback = Timer()


def keras_fit(
    spec: Any, data: Any, arrays: dict[str, Any], settings: dict[str, Any]
) -> tuple[list[float], float]:
    """Fit the cell's model with plain Keras and ``settings``; return steady epochs and val accuracy."""
    from lepton_lab.core import models
    from lepton_lab.core.tf_import import keras

    keras.utils.set_random_seed(spec.train.seed)
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(settings.get("precision", "float32"))
    try:
        model = models.build(spec.model, data.input_shape, data.num_classes)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    model.compile(
        keras.optimizers.Adam(spec.train.learning_rate),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=settings.get("steps_per_execution", 1),
        jit_compile=settings.get("jit_compile", "auto"),
    )
    timer = EpochTimes()
    history = model.fit(
        *arrays["train"],
        batch_size=spec.train.batch_size,
        epochs=spec.train.epochs,
        validation_data=arrays["validation"],
        verbose=0,
        callbacks=[timer.callback],
    )
    return timer.times, float(history.history["val_accuracy"][-1])


def runner_fit(spec: Any, data: Any, runs_dir: str) -> tuple[list[float], float, dict[str, Any]]:
    """Train with the runner; return steady epochs, val accuracy and the runtime block."""
    from lepton_lab.core import runner
    from lepton_lab.core.events import read_events
    from lepton_lab.core.rundir import RunDir

    run_dir = RunDir.create(runs_dir, spec)
    timer = EpochTimes()  # extra callbacks come last: the interval holds the runner's own epoch work
    status = runner.run(spec, run_dir, dataset=data, callbacks=[timer.callback])
    assert status["status"] == "completed", status
    epochs = [e for e in read_events(run_dir.events_path)[0] if e["type"] == "epoch"]
    val_accuracy = epochs[-1]["metrics"].get("val_accuracy", float("nan"))
    runner_fit.input_wait = [e["metrics"].get("input_wait_s") for e in epochs]  # type: ignore[attr-defined]
    return timer.times, float(val_accuracy), run_dir.read_spec_document()["runtime"]


def run_cell(
    preset: str, dataset: str, batch: int, args: argparse.Namespace, runs_dir: str, tuned: dict[str, Any]
) -> dict[str, Any]:
    from lepton_lab.core import datasets
    from lepton_lab.core.specs import JobSpec

    def spec_for(probe: str) -> JobSpec:
        return JobSpec.model_validate(
            {
                "name": f"{preset}-{dataset}-{batch}",
                "dataset": {"name": dataset, "subset": args.subset if dataset == "fashion_mnist" else None},
                "model": {"preset": preset},
                "train": {"epochs": args.epochs, "batch_size": batch, "seed": 1, "runtime": {"probe": probe}},
            }
        )

    spec = spec_for("auto")
    data = datasets.load(spec.dataset)
    arrays = {split: data.arrays(split) for split in ("train", "validation")}
    # The probe once, untimed: what the first run of this model on this machine pays.
    probe_spec = spec_for("always").model_copy(
        update={"train": spec_for("always").train.model_copy(update={"epochs": 1})}
    )
    _, _, probed = runner_fit(probe_spec, data, runs_dir)
    contenders: dict[str, Callable[[], tuple[list[float], float]]] = {
        "plain": lambda: keras_fit(spec, data, arrays, {}),
        "tuned": lambda: keras_fit(spec, data, arrays, tuned),
        "runner": lambda: runner_fit(spec, data, runs_dir)[:2],
    }
    epochs: dict[str, list[float]] = {name: [] for name in contenders}
    accuracy: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for repeat in range(args.repeats):
        order = names[repeat % len(names) :] + names[: repeat % len(names)]
        for name in order:
            steady, val_accuracy = contenders[name]()
            epochs[name].append(statistics.median(steady))
            accuracy[name].append(val_accuracy)
    median = {name: statistics.median(times) for name, times in epochs.items()}
    return {
        "cell": f"{preset}/{dataset}/{batch}",
        "train_examples": data.count("train"),
        "epoch_s": median,
        "vs_plain": median["plain"] / median["runner"],
        "vs_tuned": median["tuned"] / median["runner"],
        "val_accuracy": {name: statistics.median(values) for name, values in accuracy.items()},
        "choice": probed,
    }


def write_folder(root: Path, count: int) -> None:
    """Write ``count`` Fashion-MNIST training images as PNG files, one folder per class."""
    from PIL import Image

    from lepton_lab.core import datasets

    data = datasets.load("fashion_mnist")
    images, labels = data.arrays("train")
    pixels = (images[:count, ..., 0] * 255).round().astype("uint8")
    for index, (image, label) in enumerate(zip(pixels, labels[:count], strict=True)):
        folder = root / f"class_{int(label)}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image, mode="L").save(folder / f"{index:05d}.png")


def folder_bench(args: argparse.Namespace, runs_dir: str, tuned: dict[str, Any]) -> None:
    from lepton_lab.core import datasets, models, runtime_policy
    from lepton_lab.core.specs import JobSpec
    from lepton_lab.core.tf_import import keras, tf

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        started = time.perf_counter()
        write_folder(root, args.folder_images)
        print(
            f"\nfolder: wrote {args.folder_images} PNG files in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        spec = JobSpec.model_validate(
            {
                "name": "folder",
                "dataset": {"name": f"folder:{root}", "image_size": 28, "validation_split": 0.0},
                "model": {"preset": "mlp"},
                "train": {"epochs": args.epochs, "batch_size": args.folder_batch, "seed": 1},
            }
        )
        data = datasets.load(spec.dataset)
        train_count = data.count("train")

        def keras_directory(cache: bool) -> list[float]:
            # With the cache, also the hand-tuned compile settings: the runner's own choice is
            # measured against the best a user could write, not against the pipeline alone.
            settings = tuned if cache else {}
            keras.utils.set_random_seed(1)
            loaded = keras.utils.image_dataset_from_directory(
                root,
                image_size=(28, 28),
                color_mode="grayscale",
                batch_size=args.folder_batch,
                seed=1,
                verbose=False,
            )
            rescaled = loaded.map(lambda x, y: (x / 255.0, y))
            if cache:
                rescaled = rescaled.cache().prefetch(tf.data.AUTOTUNE)
            previous = keras.mixed_precision.global_policy()
            keras.mixed_precision.set_global_policy(settings.get("precision", "float32"))
            try:
                model = models.build(spec.model, data.input_shape, data.num_classes)
            finally:
                keras.mixed_precision.set_global_policy(previous)
            model.compile(
                keras.optimizers.Adam(1e-3),
                "sparse_categorical_crossentropy",
                metrics=["accuracy"],
                steps_per_execution=settings.get("steps_per_execution", 1),
                jit_compile=settings.get("jit_compile", "auto"),
            )
            timer = EpochTimes()
            model.fit(rescaled, epochs=args.epochs, verbose=0, callbacks=[timer.callback])
            return [args.folder_images / seconds for seconds in timer.times]

        def with_runner() -> list[float]:
            steady, _, runtime = runner_fit(spec, data, runs_dir)
            with_runner.runtime = runtime  # type: ignore[attr-defined]
            return [train_count / seconds for seconds in steady]

        contenders = {
            "image_dataset_from_directory + fit": lambda: keras_directory(False),
            "... + cache + prefetch": lambda: keras_directory(True),
            "runner (folder:)": with_runner,
        }
        rates: dict[str, list[float]] = {name: [] for name in contenders}
        names = list(contenders)
        for repeat in range(args.repeats):
            for name in names[repeat % 3 :] + names[: repeat % 3]:
                rates[name].append(statistics.median(contenders[name]()))
        runner_rate = statistics.median(rates["runner (folder:)"])
        for name, values in rates.items():
            rate = statistics.median(values)
            print(f"  {name:38} {rate:9.0f} images/s (steady epochs)  runner x{runner_rate / rate:.2f}")
        runtime = with_runner.runtime  # type: ignore[attr-defined]
        waits = [w for w in runner_fit.input_wait[1:] if w is not None]  # type: ignore[attr-defined]
        print(
            f"  runner: {runtime_policy.settings_text({**runtime, **runtime['tf_data']})}, cache "
            f"{runtime['tf_data']['cache']}; input wait per steady epoch (last run) "
            + ", ".join(f"{w:.3f} s" for w in waits)
        )


def main() -> None:
    args = parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from lepton_lab.core import runtime_policy

    print(f"machine: {machine()}")
    tuned = tuned_settings(args.tuned)
    print(
        f"tuned Keras settings: {tuned}; {args.repeats} repeats x {args.epochs} epochs per contender",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as scratch:
        # Measured choices go to a scratch cache: the bench neither uses nor changes the user's.
        os.environ["LEPTON_LAB_CACHE_DIR"] = str(Path(scratch) / "cache")
        runs_dir = str(Path(scratch) / "runs")
        if not args.no_matrix:
            results = []
            for preset, dataset, batch in itertools.product(PRESETS, DATASETS, BATCHES):
                name = f"{preset}/{dataset}/{batch}"
                if not any(fnmatch.fnmatch(name, pattern) for pattern in args.cells):
                    continue
                result = run_cell(preset, dataset, batch, args, runs_dir, tuned)
                results.append(result)
                seconds = result["epoch_s"]
                choice = result["choice"]
                print(
                    f"{name:26} ({result['train_examples']} train) epoch s: plain {seconds['plain']:.3f} "
                    f"tuned {seconds['tuned']:.3f} runner {seconds['runner']:.3f} | runner vs plain "
                    f"x{result['vs_plain']:.2f}, vs tuned x{result['vs_tuned']:.2f} | val acc "
                    + " ".join(f"{k} {v:.3f}" for k, v in result["val_accuracy"].items()),
                    flush=True,
                )
                print(
                    f"    runner chose: {runtime_policy.settings_text({**choice, **choice['tf_data']})} "
                    f"(probe {choice['policy']['probe_s']:.1f} s, once per machine and model)",
                    flush=True,
                )
                for candidate in choice["policy"]["candidates"]:  # what the probe measured
                    if candidate.get("step_ms") is not None:
                        print(
                            f"      {candidate['step_ms']:9.3f} ms/step"
                            + (" <- chosen " if candidate.get("chosen") else "           ")
                            + runtime_policy.settings_text(candidate["settings"]),
                            flush=True,
                        )
            if results:
                ratios = [r["vs_plain"] for r in results]
                tuned_ratios = [r["vs_tuned"] for r in results]
                print(
                    f"\nrunner vs plain: min x{min(ratios):.2f}, median x{statistics.median(ratios):.2f}; "
                    f"vs tuned: min x{min(tuned_ratios):.2f}, median x{statistics.median(tuned_ratios):.2f} "
                    f"over {len(results)} cells"
                )
        if args.folder:
            folder_bench(args, runs_dir, tuned)


if __name__ == "__main__":
    main()
