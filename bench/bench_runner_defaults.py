"""Runner defaults vs a plain ``model.fit`` of the same model and data (target: >= 1.5x faster).

Both train the small CNN preset on the full digits dataset with the same seed, optimizer, batch
size and epochs, then score the test split. "Plain" is what a notebook would write: numpy arrays
into ``model.fit`` with Keras's default compile settings (``steps_per_execution=1``,
``jit_compile="auto"``, i.e. XLA). "Runner" is :func:`lepton_lab.core.runner.run` writing a
whole run directory (events, TensorBoard, checkpoints, model.keras, evaluation.json), with the
settings its runtime policy picks (:mod:`lepton_lab.core.runtime_policy`: a choice measured
before on this machine for this model, else the defaults: per-batch gathers from one in-memory
tensor, steps_per_execution=16, no XLA on CPU, mixed bfloat16 on CPUs with native bfloat16).
For every preset, dataset and batch size against plain and hand-tuned Keras, see
``bench/bench_speed_matrix.py``. Runs alternate
so machine load affects both alike; wall times include everything each side does after
TensorFlow is imported. CPU time (all threads of this process) is printed beside wall time: on a
machine shared with other work it is the steadier measure. Last, the steady-state time per epoch
(epochs 2..N, training and validation) leaves out the fixed costs of tracing, saving and scoring,
which dominate runs this short.

Usage: TF_CPP_MIN_LOG_LEVEL=2 python bench/bench_runner_defaults.py [--repeats 3] [--epochs 10]
       [--dataset fashion_mnist --subset 12000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--model", default="small_cnn")
    parser.add_argument("--dataset", default="digits", help="fashion_mnist: epochs outweigh fixed costs")
    parser.add_argument("--subset", type=int, default=None, help="training examples to use")
    args = parser.parse_args()

    import keras

    from lepton_lab.core import datasets, models, runner
    from lepton_lab.core.events import read_events
    from lepton_lab.core.rundir import RunDir
    from lepton_lab.core.specs import JobSpec

    spec = JobSpec.model_validate(
        {
            "name": "bench",
            "dataset": {"name": args.dataset, "subset": args.subset},
            "model": {"preset": args.model},
            "train": {"epochs": args.epochs, "batch_size": args.batch_size, "seed": 1},
        }
    )
    data = datasets.load(spec.dataset)
    x_train, y_train = data.arrays("train")
    x_val, y_val = data.arrays("validation")
    x_test, y_test = data.arrays("test")

    def timed(work: Callable[[], float]) -> tuple[float, float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        accuracy = work()
        return time.perf_counter() - wall, time.process_time() - cpu, accuracy

    plain_epochs: list[float] = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: object = None) -> None:
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: object = None) -> None:
            if epoch:  # the first epoch pays for tracing
                plain_epochs.append(time.perf_counter() - self.start)

    runner_epochs: list[float] = []

    def plain() -> float:
        keras.utils.set_random_seed(spec.train.seed)
        model = models.build(spec.model, data.input_shape, data.num_classes)
        model.compile(
            keras.optimizers.Adam(spec.train.learning_rate),
            "sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        model.fit(
            x_train,
            y_train,
            batch_size=spec.train.batch_size,
            epochs=spec.train.epochs,
            validation_data=(x_val, y_val),
            verbose=0,
            callbacks=[EpochTimer()],
        )
        return float(model.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"])

    def with_runner() -> float:
        run_dir = RunDir.create(runs_dir, spec)
        status = runner.run(spec, run_dir, dataset=data)
        assert status["status"] == "completed", status
        events, _ = read_events(run_dir.events_path)
        runner_epochs.extend(
            e["metrics"]["epoch_time_s"] for e in events if e["type"] == "epoch" and e["epoch"] > 1
        )
        evaluation = next(e for e in events if e["type"] == "eval")
        return float(evaluation["metrics"]["test_accuracy"])

    print(
        f"{args.dataset}: train {len(y_train)}, validation {len(y_val)}, test {len(y_test)}; {args.model}, "
        f"{args.epochs} epochs, batch {args.batch_size}"
    )
    results: dict[str, list[tuple[float, float, float]]] = {"plain model.fit": [], "runner.run": []}
    with tempfile.TemporaryDirectory() as runs_dir:
        for _ in range(args.repeats):
            results["plain model.fit"].append(timed(plain))
            results["runner.run"].append(timed(with_runner))

    medians = {}
    for name, rows in results.items():
        wall, cpu, accuracy = (statistics.median(column) for column in zip(*rows, strict=True))
        medians[name] = (wall, cpu, accuracy)
        print(
            f"{name:16} wall median {wall:.2f} s {[round(r[0], 2) for r in rows]}  "
            f"CPU median {cpu:.2f} s {[round(r[1], 2) for r in rows]}  test accuracy {accuracy:.4f}"
        )
    (plain_wall, plain_cpu, plain_acc), (run_wall, run_cpu, run_acc) = medians.values()
    print(
        f"speed-up: wall {plain_wall / run_wall:.2f}x, CPU time {plain_cpu / run_cpu:.2f}x; "
        f"test accuracy difference {100 * (run_acc - plain_acc):+.2f} points"
    )
    plain_epoch, runner_epoch = statistics.median(plain_epochs), statistics.median(runner_epochs)
    print(
        f"steady state (epochs 2..{args.epochs}, training + validation): plain {1000 * plain_epoch:.0f} ms, "
        f"runner {1000 * runner_epoch:.0f} ms per epoch: {plain_epoch / runner_epoch:.2f}x"
    )


if __name__ == "__main__":
    main()
