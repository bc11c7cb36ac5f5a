"""Tests of the run store: the runs table and loading one run, from files alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lepton_lab.core.evaluate import evaluate_predictions
from lepton_lab.core.events import EventWriter
from lepton_lab.core.run_store import load_run, runs
from lepton_lab.core.rundir import RunDir
from lepton_lab.core.specs import JobSpec


def _make_run(
    runs_dir: Path, name: str, learning_rate: float, val_accuracy: list[float], *, evaluated: bool = True
) -> RunDir:
    spec = JobSpec.model_validate(
        {"name": name, "dataset": {"name": "digits"}, "train": {"learning_rate": learning_rate, "epochs": 3}}
    )
    run = RunDir.create(runs_dir, spec)
    run.write_status(status="running", pid=1)
    with EventWriter(run.events_path) as writer:
        for epoch, accuracy in enumerate(val_accuracy, start=1):
            for step in range(1, 4):
                writer.emit("batch", step=(epoch - 1) * 3 + step, epoch=epoch, metrics={"loss": 1.0 / step})
            writer.emit(
                "epoch",
                step=epoch * 3,
                epoch=epoch,
                metrics={"loss": 1.0 / epoch, "val_accuracy": accuracy, "val_loss": 2.0 - accuracy},
            )
    if evaluated:
        probs = np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4], [0.2, 0.8]])
        evaluate_predictions([0, 1, 1, 1], probs, ["a", "b"]).save(run.evaluation_path)
        run.write_status(status="completed", epoch=len(val_accuracy))
    return run


def test_runs_table_has_one_row_per_run_with_hyperparameters_and_metrics(tmp_path: Path) -> None:
    _make_run(tmp_path, "slow", 1e-4, [0.5, 0.7, 0.6])
    _make_run(tmp_path, "fast", 1e-2, [0.8, 0.9, 0.95])
    table = runs(tmp_path)
    assert len(table) == 2
    row = table.set_index("name").loc["slow"]
    assert row["status"] == "completed"
    assert row["train.learning_rate"] == 1e-4
    assert row["dataset.name"] == "digits" and row["model.preset"] == "small_cnn"
    assert row["final_val_accuracy"] == 0.6 and row["best_val_accuracy"] == 0.7
    assert row["best_val_loss"] == pytest.approx(1.3)  # loss: lower is better
    assert row["test_accuracy"] == 0.75
    assert row["duration_s"] >= 0
    assert table.set_index("name").loc["fast", "best_val_accuracy"] == 0.95


def test_runs_of_missing_directory_is_an_empty_table(tmp_path: Path) -> None:
    table = runs(tmp_path / "nothing-here")
    assert table.empty and "status" in table.columns


def test_runs_skips_folders_that_are_not_runs(tmp_path: Path) -> None:
    _make_run(tmp_path, "real", 1e-3, [0.5])
    (tmp_path / "notes").mkdir()
    broken = tmp_path / "20990101-000000-broken-ffff"
    broken.mkdir()
    (broken / "spec.json").write_text("{not json")
    assert runs(tmp_path)["name"].tolist() == ["real"]


def test_load_run_reads_spec_status_evaluation_and_epoch_metrics(tmp_path: Path) -> None:
    run_dir = _make_run(tmp_path, "one", 1e-3, [0.5, 0.7, 0.9])
    run = load_run(run_dir.path)
    assert run.id == run_dir.id and run.path == run_dir.path
    assert run.spec.train.learning_rate == 1e-3
    assert run.status["status"] == "completed"
    assert run.evaluation is not None and run.evaluation.accuracy == 0.75
    epochs = run.metrics()
    assert epochs["epoch"].tolist() == [1, 2, 3]
    assert epochs["val_accuracy"].tolist() == [0.5, 0.7, 0.9]
    batches = run.metrics("batch")
    assert batches["step"].tolist() == list(range(1, 10))


def test_resumed_epoch_appears_once_with_newest_values(tmp_path: Path) -> None:
    run_dir = _make_run(tmp_path, "resumed", 1e-3, [0.5, 0.6], evaluated=False)
    with EventWriter(run_dir.events_path) as writer:  # epoch 2 repeated after a crash, then epoch 3
        writer.emit("batch", step=4, epoch=2, metrics={"loss": 0.1})
        writer.emit("epoch", step=6, epoch=2, metrics={"val_accuracy": 0.65})
        writer.emit("epoch", step=9, epoch=3, metrics={"val_accuracy": 0.8})
    run = load_run(run_dir.path)
    epochs = run.metrics()
    assert epochs["epoch"].tolist() == [1, 2, 3]
    assert epochs["val_accuracy"].tolist() == [0.5, 0.65, 0.8]
    assert run.metrics("batch").set_index("step").loc[4, "loss"] == 0.1


def test_resume_from_an_earlier_checkpoint_shows_one_value_per_epoch(tmp_path: Path) -> None:
    """Killed after epoch 5 with its last checkpoint at 2: epochs 3-5 of the first attempt go."""
    run_dir = _make_run(tmp_path, "resumed", 1e-3, [0.1, 0.2, 0.3, 0.4, 0.5], evaluated=False)
    with EventWriter(run_dir.events_path) as writer:
        writer.emit("status", status="running", epoch=2, epochs=6)  # the restart point
        writer.emit("batch", step=7, epoch=3, metrics={"loss": 0.7})
        writer.emit("epoch", step=9, epoch=3, metrics={"val_accuracy": 0.33, "loss": 0.2})
        writer.emit("status", status="failed", epoch=3, error="killed")
    run = load_run(run_dir.path)
    epochs = run.metrics()
    assert epochs["epoch"].tolist() == [1, 2, 3]
    assert epochs["val_accuracy"].tolist() == [0.1, 0.2, 0.33]
    batches = run.metrics("batch")
    assert batches["epoch"].max() == 3 and batches.set_index("step").loc[7, "loss"] == 0.7
    assert 9 not in batches["step"].tolist()  # step 9 of the first attempt was in its epoch 3
    row = runs(tmp_path).iloc[0]
    assert row["final_val_accuracy"] == 0.33 and row["best_val_accuracy"] == 0.33


def test_run_without_events_or_evaluation_reads_as_empty(tmp_path: Path) -> None:
    run_dir = RunDir.create(tmp_path, JobSpec.model_validate({"dataset": {"name": "digits"}}))
    run = load_run(run_dir.path)
    assert run.metrics().empty and run.evaluation is None
    row = runs(tmp_path).iloc[0]
    assert row["status"] == "queued" and row["test_accuracy"] is None


def test_load_run_of_a_plain_folder_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no spec\.json"):
        load_run(tmp_path)


def test_copied_run_directory_reads_the_same(tmp_path: Path) -> None:
    import shutil

    run_dir = _make_run(tmp_path / "a", "portable", 1e-3, [0.5, 0.9])
    shutil.copytree(run_dir.path, tmp_path / "b" / run_dir.id)
    assert runs(tmp_path / "b")["best_val_accuracy"].tolist() == [0.9]
    assert json.loads((tmp_path / "b" / run_dir.id / "spec.json").read_text())["name"] == "portable"


def test_stop_on_a_run_not_training_here_explains_where_to_cancel(tmp_path: Path) -> None:
    run = load_run(_make_run(tmp_path, "x", 1e-3, [0.5]).path)
    with pytest.raises(RuntimeError, match="not training in this process"):
        run.stop()


def test_runs_started_in_the_same_second_keep_their_creation_order(tmp_path: Path) -> None:
    # "zeta" sorts after "alpha" by name, so ordering by id alone would put it last.
    first = _make_run(tmp_path, "zeta", 1e-3, [0.5])
    second = _make_run(tmp_path, "alpha", 1e-3, [0.5])
    same_second = first.id[:15]
    for run, created in ((first, "2026-01-01T00:00:00.100+00:00"), (second, "2026-01-01T00:00:00.900+00:00")):
        renamed = run.path.rename(tmp_path / (same_second + run.path.name[15:]))
        RunDir(renamed).write_status(created=created)
    assert [name for name in runs(tmp_path)["name"]] == ["zeta", "alpha"]
