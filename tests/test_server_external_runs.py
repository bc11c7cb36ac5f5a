"""Runs that kernels and scripts train into the server's runs directory: listed, streamed, stopped.

The "kernel" here is a separate Python process calling ``lepton_lab.train`` (what a notebook
kernel does), so the server sees a process it did not start and must never signal.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from lepton_lab.core.rundir import RunDir
from lepton_lab.server.job_index import JobStore
from lepton_lab.server.jobs import JobManager
from tests.test_server_smoke import FINISHED, events_of, get_json, lines, read_until_closed, wait_status

pytestmark = pytest.mark.slow

TRAINER = textwrap.dedent(
    """
    import sys, time
    from lepton_lab.core.runner import train
    from lepton_lab.core.tf_import import keras
    runs_dir, name, epochs, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    # A pause after each epoch keeps the run going long enough to act on it, however fast the host.
    slow = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: time.sleep(pause))
    run = train(dataset={"name": "digits", "subset": 300}, model="mlp", name=name,
                train={"epochs": epochs, "batch_size": 32}, runs_dir=runs_dir, callbacks=[slow])
    print("finished with status", run.status["status"], flush=True)
    """
)


def start_trainer(runs_dir: Path, name: str, epochs: int, pause_s: float = 0.0) -> subprocess.Popen[str]:
    """Train in a process of its own, as a notebook kernel would."""
    return subprocess.Popen(
        [sys.executable, "-c", TRAINER, str(runs_dir), name, str(epochs), str(pause_s)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def wait_listed(jp_fetch, name: str, timeout: float = 120.0) -> dict[str, Any]:
    """The job named ``name`` once ``GET jobs`` lists it."""
    deadline = time.monotonic() + timeout
    while True:
        for job in (await get_json(jp_fetch, "jobs"))["jobs"]:
            if job["name"] == name:
                return job
        assert time.monotonic() < deadline, f"no job named {name!r} listed after {timeout} s"
        await asyncio.sleep(0.2)


async def epoch_events(jp_fetch, job_id: str) -> list[dict[str, Any]]:
    events = (await get_json(jp_fetch, "jobs", job_id, "events"))["events"]
    return [event for event in events if event["type"] == "epoch"]


async def wait_epoch_events(jp_fetch, job_id: str, count: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while (
        sum(e["type"] == "epoch" for e in (await get_json(jp_fetch, "jobs", job_id, "events"))["events"])
        < count
    ):
        assert time.monotonic() < deadline, f"job {job_id}: fewer than {count} epochs after {timeout} s"
        await asyncio.sleep(0.1)


async def test_a_run_trained_in_another_process_is_listed_and_streamed_to_the_end(
    jp_fetch, jp_ws_fetch, runs_dir
):
    trainer = start_trainer(runs_dir, "from a kernel", 3, pause_s=0.5)
    try:
        job = await wait_listed(jp_fetch, "from a kernel")
        assert job["origin"] == "script"
        ws = await jp_ws_fetch("lepton-lab", "api", "jobs", job["id"], "stream", params={"after": "0"})
        messages = await read_until_closed(ws)
        assert trainer.wait(timeout=120) == 0
    finally:
        trainer.kill()

    assert ws.close_code == 1000
    assert [e["epoch"] for e in events_of(messages) if e["type"] == "epoch"] == [1, 2, 3]
    assert len(events_of(messages)) == lines(runs_dir / job["id"] / "events.jsonl")
    assert messages[-1]["type"] == "status" and messages[-1]["job"]["status"] == "completed"
    final = await get_json(jp_fetch, "jobs", job["id"])
    assert final["status"] == "completed" and final["epoch"] == 3
    status = await get_json(jp_fetch, "status")
    assert status["jobs"]["running"] == 0 and status["jobs"]["external"] == 0


async def test_cancel_asks_the_training_process_to_stop_and_never_signals_it(jp_fetch, runs_dir):
    trainer = start_trainer(runs_dir, "long", 500, pause_s=0.05)
    try:
        job = await wait_listed(jp_fetch, "long")
        await wait_epoch_events(jp_fetch, job["id"], 1)
        response = await jp_fetch("lepton-lab", "api", "jobs", job["id"], method="DELETE")
        assert response.code == 202 and json.loads(response.body)["cancel_requested"] is True
        final = await wait_status(jp_fetch, job["id"], timeout=60)
        output, _ = trainer.communicate(timeout=60)
    finally:
        trainer.kill()

    assert final["status"] == "cancelled" and final["epoch"] < 500
    # The process carried on after training stopped: it was asked, not killed.
    assert trainer.returncode == 0 and "finished with status cancelled" in output


async def test_a_vanished_training_process_leaves_an_interrupted_run_the_server_resumes(jp_fetch, runs_dir):
    trainer = start_trainer(runs_dir, "orphan", 40, pause_s=0.25)
    try:
        job = await wait_listed(jp_fetch, "orphan")
        await wait_epoch_events(jp_fetch, job["id"], 1)
        os.kill(trainer.pid, signal.SIGKILL)  # the kernel crashed or was shut down
        trainer.wait(timeout=30)
        interrupted = await wait_status(jp_fetch, job["id"], statuses=FINISHED, timeout=30)
    finally:
        trainer.kill()
    assert interrupted["status"] == "interrupted"
    assert "went away" in interrupted["error"] and "resume" in interrupted["error"]

    response = await jp_fetch("lepton-lab", "api", "jobs", job["id"], "resume", method="POST", body="")
    assert json.loads(response.body)["origin"] == "server"
    final = await wait_status(jp_fetch, job["id"], timeout=180)
    assert final["status"] == "completed", (final.get("error"), final.get("traceback"))
    assert final["epoch"] == 40
    epochs = [
        e["epoch"]
        for e in (await get_json(jp_fetch, "jobs", job["id"], "events"))["events"]
        if e["type"] == "epoch"
    ]
    assert epochs[-1] == 40


def test_scan_indexes_new_directories_but_never_runs_the_server_s_own(tmp_path):
    manager = JobManager(tmp_path, executor=None)  # type: ignore[arg-type]  # nothing may start
    own = RunDir.create(tmp_path, {"dataset": {"name": "digits"}})  # origin "server", queued
    half = tmp_path / "20260101-000000-half-0000"
    half.mkdir()
    (half / "spec.json").write_text(json.dumps({"dataset": {"name": "digits"}}))  # no status.json yet
    assert manager.scan() == [own.id]
    assert manager.list_jobs()[0]["status"] == "queued" and manager._jobs == {}
    assert manager.scan() == []  # already known
    # status.json arrives: the runs directory itself does not change, the half-made run does.
    RunDir(half).write_status(status="completed", origin="script")
    assert manager.scan() == [half.name]
    assert manager.scan() == []


def test_an_index_from_before_origins_gains_the_column_and_keeps_its_rows(tmp_path):
    import sqlite3

    path = tmp_path / "index.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE jobs (id TEXT PRIMARY KEY, status TEXT NOT NULL, run_dir TEXT NOT NULL)")
        db.execute("INSERT INTO jobs VALUES ('old', 'completed', '/x')")
    store = JobStore(path)
    store.put("new", status="running", run_dir="/y", origin="kernel")
    assert {r["id"]: r["origin"] for r in store.list()} == {"old": None, "new": "kernel"}
    store.close()


def _external_run(runs_dir: Path, pid: int) -> RunDir:
    run = RunDir.create(runs_dir, {"name": "in a kernel", "dataset": {"name": "digits"}}, origin="kernel")
    run.write_status(status="running", pid=pid)
    return run


async def _settle(manager: JobManager, job_id: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while job_id in manager._jobs:
        assert time.monotonic() < deadline, f"{job_id} still followed after {timeout} s"
        await asyncio.sleep(0.05)
    return manager.get(job_id)


async def test_after_a_server_restart_external_runs_are_followed_again_or_marked_interrupted(tmp_path):
    kernel = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    try:
        alive_run, dead_run = _external_run(tmp_path, kernel.pid), _external_run(tmp_path, gone.pid)
        manager = JobManager(tmp_path, executor=None)  # type: ignore[arg-type]  # nothing may start
        manager.recover()  # what a restarted server does with the runs it finds
        manager.start()
        assert (await _settle(manager, dead_run.id))["status"] == "interrupted"
        assert (
            manager.get(alive_run.id)["status"] == "running"
            and manager.get(alive_run.id)["origin"] == "kernel"
        )
        alive_run.write_status(status="completed")  # the kernel finished training
        assert (await _settle(manager, alive_run.id))["status"] == "completed"
        assert kernel.poll() is None  # followed, never signalled
        await manager.stop()
    finally:
        kernel.kill()


async def test_a_kernel_run_found_while_still_queued_is_listed_running_once_it_trains(tmp_path):
    manager = JobManager(tmp_path, executor=None)  # type: ignore[arg-type]  # nothing may start
    manager.start()
    seen: list[str] = []
    manager.broadcaster.publish = lambda message: seen.append(message.get("job", {}).get("status"))  # type: ignore[method-assign]
    try:
        # lepton_lab.train creates its run "queued" and marks it "running" a moment later: the
        # scan can find it in between.
        run = RunDir.create(tmp_path, {"name": "in a kernel", "dataset": {"name": "digits"}}, origin="kernel")
        assert manager.scan() == [run.id]
        assert manager.get(run.id)["status"] == "queued"
        run.write_status(status="running", pid=os.getpid())
        deadline = time.monotonic() + 10
        while manager.get(run.id)["status"] != "running":
            assert time.monotonic() < deadline, "the listed run never became running"
            await asyncio.sleep(0.05)
        assert manager.list_jobs(["running"])[0]["id"] == run.id
        assert manager.get(run.id)["started"] is not None
        assert "running" in seen  # the panel's all-jobs stream hears of it
        run.write_status(status="completed")
        assert (await _settle(manager, run.id))["status"] == "completed"
    finally:
        await manager.stop()
