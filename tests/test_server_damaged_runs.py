"""Damaged run directories stay visible: a torn ``status.json`` is logged and the run listed with
the status its events record, so it can be inspected, resumed or deleted; a worker that died
mid-run leaves the epoch its events reached in ``status.json``."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from lepton_lab.core.events import EventWriter
from lepton_lab.core.rundir import RunDir
from lepton_lab.server.jobs import JobManager
from tests.test_server_run_admin import WaitingExecutor

SPEC = {"name": "damaged", "dataset": {"name": "digits"}, "train": {"epochs": 6}}


def _run_with_epochs(runs_dir: Path, epochs: int, end: str | None) -> RunDir:
    run = RunDir.create(runs_dir, SPEC)
    run.write_status(status="running", pid=1, epoch=0)
    with EventWriter(run.events_path) as writer:
        writer.emit("status", status="running", epoch=0, epochs=6)
        for epoch in range(1, epochs + 1):
            writer.emit("epoch", step=epoch * 10, epoch=epoch, metrics={"loss": 1 / epoch})
        if end:
            writer.emit("status", status=end, epoch=epochs)
    return run


def _tear(run: RunDir) -> None:
    text = run.status_path.read_text()
    run.status_path.write_text(text[: len(text) // 2])  # what a crash mid-write on some filesystems leaves


def test_a_torn_status_is_logged_and_the_run_listed_from_its_events(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    completed = _run_with_epochs(tmp_path, 6, "completed")
    completed.model_path.write_bytes(b"PK model")
    died = _run_with_epochs(tmp_path, 4, None)
    _tear(completed)
    _tear(died)

    with caplog.at_level(logging.WARNING, logger="lepton_lab"):
        manager = JobManager(tmp_path, executor=WaitingExecutor())
        manager.recover()
    jobs = {job["id"]: job for job in manager.list_jobs()}
    assert jobs[completed.id]["status"] == "completed" and jobs[completed.id]["epoch"] == 6
    assert jobs[died.id]["status"] == "interrupted" and jobs[died.id]["epoch"] == 4
    assert "status.json is damaged" in manager.get(died.id)["error"]
    assert manager.artifact_path(completed.id, "model.keras").read_bytes() == b"PK model"
    damaged = [r.getMessage() for r in caplog.records if "status.json is damaged" in r.getMessage()]
    assert len(damaged) == 2 and any(completed.id in message for message in damaged)

    manager.resume(died.id)  # resumable; the status file is written whole again
    assert json.loads(died.status_path.read_text())["status"] == "queued"
    assert "damaged" not in died.read_status()
    manager.delete_run(completed.id)  # and deletable
    assert not completed.path.exists()
    manager.store.close()


def test_a_worker_gone_while_the_server_was_down_is_interrupted_at_its_events_epoch(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    run = _run_with_epochs(tmp_path, 4, None)
    run.write_status(pid=gone.pid)  # status.json still says epoch 0, as a killed worker leaves it
    assert run.read_status()["epoch"] == 0

    manager = JobManager(tmp_path, executor=WaitingExecutor())
    manager.recover()
    status = run.read_status()
    assert status["status"] == "interrupted" and status["epoch"] == 4
    assert manager.get(run.id)["epoch"] == 4
    last = json.loads(run.events_path.read_text().splitlines()[-1])
    assert (last["status"], last["epoch"]) == ("interrupted", 4)
    manager.store.close()
