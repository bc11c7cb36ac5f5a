"""Tests of the training runner and worker: real (tiny) TensorFlow training on digits."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lepton_lab.core.events import read_events
from lepton_lab.core.hardware import cpu_has_native_bfloat16
from lepton_lab.core.optimizers import make_optimizer
from lepton_lab.core.run_store import load_run, runs
from lepton_lab.core.rundir import RunDir
from lepton_lab.core.specs import JobSpec, TrainSpec

keras = pytest.importorskip("keras")

from lepton_lab.core import datasets, runner  # noqa: E402  (after the keras skip)

ROOT = Path(__file__).resolve().parents[1]


def _spec(name: str = "tiny", model: str = "mlp", subset: int = 300, **train: Any) -> JobSpec:
    return JobSpec.model_validate(
        {
            "name": name,
            "dataset": {"name": "digits", "subset": subset},
            "model": {"preset": model},
            "train": {"epochs": 2, "batch_size": 32, **train},
        }
    )


def _epoch_events(run_dir: RunDir) -> list[dict[str, Any]]:
    return [e for e in read_events(run_dir.events_path)[0] if e["type"] == "epoch"]


def test_run_writes_a_complete_readable_run_directory(tmp_path: Path) -> None:
    spec = _spec(model="small_cnn")
    run_dir = RunDir.create(tmp_path, spec)
    status = runner.run(spec, run_dir)

    assert status["status"] == "completed", status.get("traceback")
    assert status["epoch"] == 2 and status["pid"] == os.getpid() and "finished" in status
    runtime = run_dir.read_spec_document()["runtime"]
    assert runtime["steps_per_execution"] == 16 and runtime["device"] == "cpu"
    assert runtime["policy"]["source"] == "default"  # too short to probe, nothing cached
    steps_per_epoch = runtime["steps_per_epoch"]
    assert steps_per_epoch == -(-runtime["examples"]["train"] // 32)

    events, _ = read_events(run_dir.events_path)
    batches = [e for e in events if e["type"] == "batch"]
    steps = [e["step"] for e in batches]
    assert steps == sorted(set(steps)) and steps[-1] == 2 * steps_per_epoch  # real global steps
    assert all(isinstance(e["metrics"]["loss"], float) for e in batches)
    assert batches[0]["total_steps"] == 2 * steps_per_epoch
    epochs = [e for e in events if e["type"] == "epoch"]
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "epoch_time_s", "input_wait_s"} <= set(
        epochs[0]["metrics"]
    )
    assert 0 <= epochs[0]["metrics"]["input_wait_s"] <= epochs[0]["metrics"]["epoch_time_s"]
    assert [e["status"] for e in events if e["type"] == "status"] == ["running", "completed"]
    assert [e["type"] for e in events].count("eval") == 1

    assert list((run_dir.tensorboard_dir / "train").glob("events.out.tfevents.*"))
    assert list((run_dir.tensorboard_dir / "validation").glob("events.out.tfevents.*"))
    assert (run_dir.checkpoints_dir / "training_metadata.json").exists()
    assert "test accuracy" in run_dir.worker_log_path.read_text()
    model = keras.saving.load_model(run_dir.model_path)
    assert model.output_shape == (None, 10)

    run = load_run(run_dir.path)
    data = datasets.load(spec.dataset)
    assert run.evaluation is not None and run.evaluation.count == data.count("test")
    assert len(run.evaluation.grid) == 25
    assert run.metrics()["epoch"].tolist() == [1, 2]
    row = runs(tmp_path).iloc[0]
    assert row["status"] == "completed" and row["test_accuracy"] == run.evaluation.accuracy
    assert row["final_val_accuracy"] == epochs[-1]["metrics"]["val_accuracy"]


def test_same_seed_gives_identical_first_epoch_loss(tmp_path: Path) -> None:
    losses = []
    for seed in (7, 7, 8):
        spec = _spec(epochs=1, seed=seed)
        run_dir = RunDir.create(tmp_path, spec)
        assert runner.run(spec, run_dir)["status"] == "completed"
        losses.append(_epoch_events(run_dir)[0]["metrics"]["loss"])
    assert losses[0] == losses[1]
    assert losses[0] != losses[2]


def _nan_dataset(subset: int = 200) -> datasets.Dataset:
    x, y = datasets.load({"name": "digits", "subset": subset}).arrays("train")
    x = x.reshape(len(x), -1).copy()  # feature rows: in-memory tabular data is taken as it is
    x[40:] = 1e38  # overflows to inf and then NaN from the second batch on
    return datasets.from_arrays(
        x, y, class_names=[str(i) for i in range(10)], validation_split=0.0, test_split=0.1
    )


def test_nan_loss_fails_with_step_and_advice_and_keeps_events(tmp_path: Path) -> None:
    spec = _spec(epochs=3, steps_per_execution=1)
    run_dir = RunDir.create(tmp_path, spec)
    status = runner.run(spec, run_dir, dataset=_nan_dataset())

    assert status["status"] == "failed"
    match = re.match(
        r"loss became (NaN|infinite) at step (\d+) \(epoch 1\); lower the learning rate", status["error"]
    )
    assert match, status["error"]
    events, _ = read_events(run_dir.events_path)
    batches = [e for e in events if e["type"] == "batch"]
    nan_step = int(match.group(2))
    assert batches and batches[-1]["step"] == nan_step and batches[-1]["metrics"]["loss"] is None
    assert all(e["epoch"] == 1 for e in batches)  # stopped at once, not after 3 epochs
    assert events[-1]["type"] == "status" and events[-1]["status"] == "failed"
    assert not run_dir.model_path.exists()


def test_exception_marks_run_failed_with_error_and_traceback(tmp_path: Path) -> None:
    spec = JobSpec.model_validate(
        {
            "dataset": {"name": "digits", "subset": 100},
            "model": {"layers": [{"type": "Conv2D", "filters": 4, "kernel_size": 9}]},
        }
    )
    run_dir = RunDir.create(tmp_path, spec)
    status = runner.run(spec, run_dir)
    assert status["status"] == "failed"
    assert "Conv2D" in status["error"] and "Traceback" in status["traceback"]
    assert run_dir.read_status() == status
    assert read_events(run_dir.events_path)[0][-1]["status"] == "failed"


class _StopAfterEpoch(keras.callbacks.Callback):
    def __init__(self, stop: threading.Event, epoch: int) -> None:
        super().__init__()
        self.stop, self.epoch = stop, epoch

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if epoch + 1 == self.epoch:
            self.stop.set()


def test_stopped_run_is_cancelled_and_rerun_resumes_at_next_epoch(tmp_path: Path) -> None:
    spec = _spec(epochs=3)
    run_dir = RunDir.create(tmp_path, spec)
    stop = threading.Event()
    first = runner.run(spec, run_dir, stop=stop, callbacks=[_StopAfterEpoch(stop, 2)])
    assert first["status"] == "cancelled" and first["epoch"] == 2
    assert [e["epoch"] for e in _epoch_events(run_dir)] == [1, 2]

    second = runner.run(spec, run_dir)
    assert second["status"] == "completed" and second["epoch"] == 3
    assert [e["epoch"] for e in _epoch_events(run_dir)] == [1, 2, 3]
    steps_per_epoch = run_dir.read_spec_document()["runtime"]["steps_per_epoch"]
    assert _epoch_events(run_dir)[-1]["step"] == 3 * steps_per_epoch
    assert load_run(run_dir.path).metrics()["epoch"].tolist() == [1, 2, 3]
    assert _tensorboard_steps(run_dir, "epoch_loss") == [0, 1, 2]  # both processes' files, closed


def _tensorboard_steps(run_dir: RunDir, tag: str) -> list[int]:
    import tensorflow as tf

    steps = []
    for path in sorted((run_dir.tensorboard_dir / "train").glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            steps += [event.step for value in event.summary.value if value.tag == tag]
    return sorted(steps)


def test_make_optimizer_follows_the_train_spec() -> None:
    sgd = make_optimizer(TrainSpec(optimizer="sgd", momentum=0.9, learning_rate=0.1), 10)
    assert isinstance(sgd, keras.optimizers.SGD) and sgd.momentum == 0.9
    adamw = make_optimizer(TrainSpec(optimizer="adamw", weight_decay=0.01), 10)
    assert isinstance(adamw, keras.optimizers.AdamW) and adamw.weight_decay == 0.01
    rms = make_optimizer(TrainSpec(optimizer="rmsprop"), 10)
    assert isinstance(rms, keras.optimizers.RMSprop)
    cosine = make_optimizer(TrainSpec(lr_schedule="cosine", epochs=4, learning_rate=0.1), 10)
    schedule = cosine._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.CosineDecay) and schedule.decay_steps == 40
    assert float(schedule(40)) == pytest.approx(0.0, abs=1e-6)


def test_a_bfloat16_run_trains_saves_and_scores_like_a_float32_one(tmp_path: Path) -> None:
    results = {}
    for mixed in (True, False):
        spec = _spec(name=f"mixed-{mixed}", model="small_cnn", epochs=3, mixed_precision=mixed)
        run_dir = RunDir.create(tmp_path, spec)
        status = runner.run(spec, run_dir)
        assert status["status"] == "completed", status.get("traceback")
        results[mixed] = (run_dir.read_spec_document()["runtime"]["precision"], load_run(run_dir.path))
    if not cpu_has_native_bfloat16():
        pytest.skip("this CPU has no native bfloat16, so the runner keeps float32 (checked above)")
    (policy, bf16), (plain_policy, plain) = results[True], results[False]
    assert policy == "mixed_bfloat16" and plain_policy == "float32"
    assert bf16.evaluation.accuracy == pytest.approx(plain.evaluation.accuracy, abs=0.05)
    model = keras.saving.load_model(bf16.path / "model.keras")
    assert model.layers[-1].dtype_policy.name == "float32"  # probabilities stay float32


def test_train_accepts_names_and_dicts_and_runs_in_background(tmp_path: Path) -> None:
    run = runner.train(
        dataset={"name": "digits", "subset": 200},
        model="mlp",
        train={"epochs": 1},
        name="nb",
        runs_dir=tmp_path,
        background=True,
        live=True,  # outside a kernel: no plot, training goes on
    )
    status = run.wait(timeout=120)
    assert status["status"] == "completed", status.get("traceback")
    assert run.spec.model.preset == "mlp" and run.spec.train.epochs == 1
    assert run.evaluation is not None and run.done


def test_train_live_hands_the_run_to_its_watcher_and_waits_for_it(tmp_path: Path) -> None:
    # lepton_lab.train(live=True) passes the notebook plot as this watcher; core imports no widget.
    seen: dict[str, Any] = {}

    class Watcher:
        def wait_following(self, timeout: float | None = None) -> None:
            seen["done_when_waited"] = seen["run"].done  # the run has ended before train waits

    def watch(run: Any) -> Watcher:
        seen["run"] = run
        return Watcher()

    run = runner.train(
        dataset={"name": "digits", "subset": 200},
        model="mlp",
        train={"epochs": 1},
        runs_dir=tmp_path,
        live=watch,
    )
    assert seen["run"].path == run.path and seen["done_when_waited"] is True
    assert run.status["status"] == "completed"


def _long_background_run(runs_dir: Path) -> Any:
    """A 500-epoch run training in a thread, returned once its first batch is recorded."""
    run = runner.train(
        dataset={"name": "digits", "subset": 300},
        model="mlp",
        train={"epochs": 500, "steps_per_execution": 1},
        runs_dir=runs_dir,
        background=True,
    )
    deadline = time.monotonic() + 60
    while not any(e["type"] == "batch" for e in run.events()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return run


def test_train_stop_cancels_a_background_run(tmp_path: Path) -> None:
    run = _long_background_run(tmp_path)
    run.stop()
    status = run.wait(timeout=60)
    assert status["status"] == "cancelled" and status["epoch"] < 500


def test_a_stop_request_file_cancels_a_run_and_a_resume_clears_it(tmp_path: Path) -> None:
    # How the server cancels a run a kernel trains: it may not signal the kernel.
    run = _long_background_run(tmp_path)
    assert run.status["origin"] == "script"  # pytest is not a notebook kernel
    RunDir(run.path).request_stop()
    status = run.wait(timeout=60)
    assert status["status"] == "cancelled" and status["epoch"] < 500
    spec = (
        RunDir(run.path)
        .read_spec()
        .model_copy(update={"train": run.spec.train.model_copy(update={"epochs": 1})})
    )
    resumed = runner.run(spec, run.path)  # resuming a cancelled run: the old request is spent
    assert not RunDir(run.path).stop_request_path.exists()
    assert resumed["status"] == "completed", resumed.get("error")


def test_train_with_a_keras_model_trains_that_model(tmp_path: Path) -> None:
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    before = model.layers[1].get_weights()[0].copy()
    run = runner.train(
        dataset={"name": "digits", "subset": 100}, model=model, train={"epochs": 1}, runs_dir=tmp_path
    )
    assert run.status["status"] == "completed"
    assert [layer.type for layer in run.spec.model.layers or []] == ["Flatten", "Dense"]
    assert not np.allclose(model.layers[1].get_weights()[0], before)


# -- the worker process ---------------------------------------------------------------------------


def _spawn_worker(run_dir: RunDir) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "lepton_lab.core.worker", str(run_dir.path)],
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )


def _wait_for(predicate: Any, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the worker")
        time.sleep(0.02)


def test_sigkill_mid_epoch_leaves_every_completed_epoch_readable(tmp_path: Path) -> None:
    spec = _spec(epochs=200, subset=1000, batch_size=8, steps_per_execution=1)
    run_dir = RunDir.create(tmp_path, spec)
    worker = _spawn_worker(run_dir)
    try:

        def in_third_epoch() -> bool:
            events, _ = read_events(run_dir.events_path)
            return any(e["type"] == "batch" and e["epoch"] >= 3 for e in events)

        _wait_for(in_third_epoch)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    events, offset = read_events(run_dir.events_path)
    assert offset == len(events) > 0  # every complete line is a valid event
    epochs = [e["epoch"] for e in events if e["type"] == "epoch"]
    checkpointed = json.loads((run_dir.checkpoints_dir / "training_metadata.json").read_text())["epoch"]
    assert epochs == list(range(1, len(epochs) + 1)) and len(epochs) >= max(2, checkpointed)
    assert run_dir.read_status()["status"] == "running"  # the server marks it interrupted


def test_worker_cancels_on_sigterm_with_exit_code_143(tmp_path: Path) -> None:
    spec = _spec(epochs=200, subset=300)
    run_dir = RunDir.create(tmp_path, spec)
    worker = _spawn_worker(run_dir)
    try:
        _wait_for(lambda: any(e["type"] == "epoch" for e in read_events(run_dir.events_path)[0]))
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
    status = run_dir.read_status()
    assert code == 143
    assert status["status"] == "cancelled" and status["exit_code"] == 143 and status["pid"] == worker.pid
    assert run_dir.worker_log_path.stat().st_size > 0


def test_worker_rejects_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lepton_lab.core.worker", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 2 and "no spec.json" in result.stderr


# -- checkpoint cadence (hooks driven by hand) ----------------------------------------------------


def _checkpoint(tmp_path: Path, cost_factor: float, epochs: int = 5) -> Any:
    from lepton_lab.core.callbacks.epoch_checkpoint import EpochCheckpoint

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    callback = EpochCheckpoint(str(tmp_path / "checkpoints"), cost_factor=cost_factor)
    callback.set_model(model)
    callback.set_params({"epochs": epochs})
    callback.on_train_begin()
    return callback


def _saved_epoch(tmp_path: Path) -> int:
    return int(json.loads((tmp_path / "checkpoints" / "training_metadata.json").read_text())["epoch"])


def test_checkpoint_skips_epochs_shorter_than_its_cost_but_saves_the_last(tmp_path: Path) -> None:
    callback = _checkpoint(tmp_path, cost_factor=1e9)
    callback.on_epoch_end(0)
    assert _saved_epoch(tmp_path) == 1  # the first save measures the cost
    callback.on_epoch_end(1)
    callback.on_epoch_end(2)
    assert _saved_epoch(tmp_path) == 1
    callback.save_completed()  # e.g. before a cancel between epochs
    assert _saved_epoch(tmp_path) == 3
    callback.on_epoch_end(3)
    callback.on_epoch_end(4)
    assert _saved_epoch(tmp_path) == 5


def test_checkpoint_saves_every_epoch_when_epochs_are_long(tmp_path: Path) -> None:
    callback = _checkpoint(tmp_path, cost_factor=0.0)
    for epoch in range(3):
        callback.on_epoch_end(epoch)
        assert _saved_epoch(tmp_path) == epoch + 1


def test_checkpoint_never_saves_an_epoch_cut_short(tmp_path: Path) -> None:
    callback = _checkpoint(tmp_path, cost_factor=0.0)
    callback.on_epoch_end(0)
    callback.model.stop_training = True  # TerminateOnNaN stopped epoch 2 midway
    callback.on_epoch_end(1)
    callback.on_train_end()
    assert _saved_epoch(tmp_path) == 1


def test_a_save_cut_short_leaves_the_previous_checkpoint_to_resume_from(tmp_path: Path) -> None:
    callback = _checkpoint(tmp_path, cost_factor=0.0)
    atomic_save, saves = callback._save_model, []
    callback._save_model = lambda: (saves.append(1), atomic_save())  # type: ignore[method-assign]
    callback.on_epoch_end(0)
    assert saves == [1]  # Keras still saves through the method EpochCheckpoint makes atomic
    folder = tmp_path / "checkpoints"
    # What a kill during the next save leaves behind: half-written temporary files.
    (folder / "saving.weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n torn")
    (folder / "training_metadata.json.saving").write_text('{"epo')
    resumed = _checkpoint(tmp_path, cost_factor=0.0)
    assert resumed.saved_epochs == 1
    assert sorted(p.name for p in folder.iterdir() if "saving" not in p.name) == [
        "latest.weights.h5",
        "training_metadata.json",
    ]


def test_a_torn_checkpoint_fails_the_run_with_the_fix_and_keeps_its_events(tmp_path: Path) -> None:
    spec = _spec(epochs=2, subset=300)
    run_dir = RunDir.create(tmp_path, spec)
    run_dir.checkpoints_dir.mkdir()
    (run_dir.checkpoints_dir / "latest.weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n torn by an old version")
    (run_dir.checkpoints_dir / "training_metadata.json").write_text('{"epoch": 1, "batch": 0}')
    status = runner.run(spec, run_dir)
    assert status["status"] == "failed"
    assert "cannot be read" in status["error"] and "delete that folder" in status["error"]
    assert str(run_dir.checkpoints_dir) in status["error"]
    assert run_dir.events_path.stat().st_size > 0


def test_epoch_events_reach_the_file_at_once_and_are_fsynced_off_the_training_thread() -> None:
    from lepton_lab.core.callbacks import MetricsCallback

    class Writer:
        """Records calls and the thread making them; an fsync blocks until released."""

        def __init__(self) -> None:
            self.calls: list[tuple[str, int]] = []
            self.release = threading.Event()

        def emit(self, kind: str, **fields: Any) -> None:
            self.calls.append((f"emit {kind}", threading.get_ident()))

        def write(self, event: dict[str, Any]) -> None:
            self.calls.append(("write", threading.get_ident()))

        def flush(self) -> None:
            self.calls.append(("flush", threading.get_ident()))

        def sync(self) -> None:
            assert self.release.wait(30), "the fsync was never released"
            self.calls.append(("sync", threading.get_ident()))

    writer = Writer()
    training = threading.get_ident()
    callback = MetricsCallback(writer, epochs=2, steps_per_epoch=1)  # type: ignore[arg-type]
    callback.on_epoch_begin(0)
    callback.on_epoch_end(0, {"loss": 1.0})
    # on_epoch_end returned while the fsync is still blocked: training does not wait for the disk,
    # but the epoch's event is already written to the file (flushed) on the training thread.
    assert writer.calls == [("emit epoch", training), ("flush", training)]
    callback.on_epoch_begin(1)
    callback.on_epoch_end(1, {"loss": 0.5})  # ends while the first fsync still runs
    writer.release.set()
    callback.on_train_end()  # waits for the fsync in flight, then fsyncs everything itself
    syncs = [thread for name, thread in writer.calls if name == "sync"]
    assert syncs[0] != training and syncs[-1] == training
    assert [name for name, _ in writer.calls if name != "sync"] == ["emit epoch", "flush"] * 2


def _summaries(folder: Path) -> dict[str, list[tuple[int, float]]]:
    import tensorflow as tf

    found: dict[str, list[tuple[int, float]]] = {}
    for path in sorted(folder.glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                number = (
                    float(tf.make_ndarray(value.tensor)) if value.HasField("tensor") else value.simple_value
                )
                found.setdefault(value.tag, []).append((event.step, number))
    return found


def test_epoch_tensorboard_writes_what_keras_tensorboard_writes(tmp_path: Path) -> None:
    from lepton_lab.core.callbacks.tensorboard import EpochTensorBoard

    data = datasets.load({"name": "digits", "subset": 200})
    x, y = data.arrays("train")
    written = {}
    for name, make in {
        "keras": lambda d: keras.callbacks.TensorBoard(d, update_freq="epoch", write_graph=False),
        "ours": EpochTensorBoard,
    }.items():
        keras.utils.set_random_seed(3)
        model = keras.Sequential([keras.Input(x.shape[1:]), keras.layers.Flatten(), keras.layers.Dense(10)])
        model.compile(
            "adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
        )
        folder = tmp_path / name
        model.fit(
            x, y, epochs=3, batch_size=32, validation_split=0.25, verbose=0, callbacks=[make(str(folder))]
        )
        written[name] = {part: _summaries(folder / part) for part in ("train", "validation")}
    assert written["ours"]["train"]["epoch_loss"] and "epoch_learning_rate" in written["ours"]["train"]
    assert "evaluation_loss_vs_iterations" in written["ours"]["validation"]
    for part in ("train", "validation"):
        assert written["ours"][part].keys() == written["keras"][part].keys()
        for tag, values in written["keras"][part].items():
            ours = written["ours"][part][tag]
            assert [step for step, _ in ours] == [step for step, _ in values], tag
            np.testing.assert_allclose([v for _, v in ours], [v for _, v in values], rtol=1e-5, err_msg=tag)
