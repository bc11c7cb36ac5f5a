"""Tests of the run directory: creation, spec.json, status.json."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lepton_lab.core.rundir import RunDir, slug
from lepton_lab.core.specs import JobSpec


def _spec(**train: object) -> JobSpec:
    return JobSpec.model_validate({"name": "My CNN: lr=0.01!", "dataset": {"name": "digits"}, "train": train})


def test_create_names_run_by_time_slug_and_hex_and_queues_it(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path / "runs", _spec())
    assert re.fullmatch(r"\d{8}-\d{6}-my-cnn-lr-0-01-[0-9a-f]{4}", run.id)
    assert run.path.parent == tmp_path / "runs"
    status = run.read_status()
    assert status["status"] == "queued" and status["id"] == run.id and "created" in status


def test_spec_json_holds_full_spec_with_defaults_and_versions(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, _spec(epochs=3))
    document = json.loads(run.spec_path.read_text())
    assert document["train"]["epochs"] == 3
    assert document["train"]["optimizer"] == "adam"  # a default, written out
    assert document["model"]["preset"] == "small_cnn"
    assert set(document["versions"]) == {"lepton_lab", "keras", "tensorflow", "python"}
    assert document["versions"]["tensorflow"]  # read from metadata
    assert run.read_spec() == _spec(epochs=3)


def test_reading_versions_does_not_import_tensorflow(tmp_path: Path) -> None:
    code = (
        "import sys; from lepton_lab.core.rundir import RunDir; from lepton_lab.core.specs import JobSpec;"
        f"RunDir.create({str(tmp_path)!r}, JobSpec.model_validate({{'dataset': {{'name': 'digits'}}}}));"
        "import lepton_lab.core.events, lepton_lab.core.run_store, lepton_lab.core.runner;"
        "import lepton_lab.core.worker, lepton_lab.core.evaluate;"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[1],
    )
    assert result.stdout.split() == ["False", "False"]


def test_two_runs_with_same_name_get_distinct_directories(tmp_path: Path) -> None:
    ids = {RunDir.create(tmp_path, _spec()).id for _ in range(5)}
    assert len(ids) == 5


def test_write_status_merges_fields_and_stamps_times(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, _spec())
    run.write_status(status="running", pid=1234)
    running = run.read_status()
    assert running["pid"] == 1234 and "started" in running and "created" in running
    run.write_status(epoch=2)
    run.write_status(status="failed", error="boom", traceback="Traceback ...", exit_code=1)
    failed = run.read_status()
    assert failed["status"] == "failed" and failed["epoch"] == 2 and "finished" in failed
    run.write_status(status="running")  # resumed: the old error goes away
    resumed = run.read_status()
    assert "error" not in resumed and "finished" not in resumed and "exit_code" not in resumed


def test_write_status_rejects_unknown_status(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, _spec())
    with pytest.raises(ValueError, match="queued, running, completed"):
        run.write_status(status="done")
    assert run.read_status()["status"] == "queued"


def test_write_status_leaves_no_temporary_files(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, _spec())
    for epoch in range(20):
        run.write_status(epoch=epoch)
    assert sorted(p.name for p in run.path.iterdir()) == ["spec.json", "status.json"]


def test_update_spec_document_adds_runtime_but_not_spec_fields(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, _spec())
    run.update_spec_document(runtime={"steps_per_execution": 16})
    assert run.read_spec_document()["runtime"] == {"steps_per_execution": 16}
    assert run.read_spec().train.epochs == 5
    with pytest.raises(ValueError, match="not extras"):
        run.update_spec_document(train={})


def test_paths_follow_the_documented_layout(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "r1")
    names = [
        run.spec_path,
        run.status_path,
        run.events_path,
        run.tensorboard_dir,
        run.checkpoints_dir,
        run.model_path,
        run.evaluation_path,
        run.worker_log_path,
        run.report_path,
    ]
    assert [p.name for p in names] == [
        "spec.json",
        "status.json",
        "events.jsonl",
        "tensorboard",
        "checkpoints",
        "model.keras",
        "evaluation.json",
        "worker.log",
        "report.html",
    ]


def test_slug_falls_back_to_run_for_names_without_letters() -> None:
    assert slug("!!!") == "run"
    assert slug("A" * 100) == "a" * 40
