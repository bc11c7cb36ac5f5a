"""A full runs-directory disk while jobs run: the manager keeps following, refuses new jobs (507)
and records every outcome as soon as space returns, losing nothing already written.

The fast tests fill the disk through a seam (the index's ``JobStore.put`` and the run directory's
``write_json_atomic`` raise ``ENOSPC``) around real worker processes that write real event files.
The last one fills a real 5 MB tmpfs under a real training worker; it needs root to mount one.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from tornado.httpclient import HTTPClientError

from lepton_lab.core import rundir
from lepton_lab.core.events import read_events
from lepton_lab.core.rundir import RunDir
from lepton_lab.server.executors import Executor, LocalProcessExecutor, LocalWorker, WorkerHandle
from lepton_lab.server.job_index import JobStore
from lepton_lab.server.jobs import JobManager, JobStateError
from lepton_lab.server.storage import DiskFull

pytestmark = pytest.mark.usefixtures("reap_workers")

SPEC = {"name": "fills the disk", "dataset": {"name": "digits"}, "train": {"epochs": 6}}

#: A worker that logs epochs 1-2, waits for ``more``, logs epochs 3-4 and dies (as a worker whose
#: checkpoint write met a full disk does), or exits 0 at once when the run is named "quick".
WORKER = r"""
import json, os, sys, time
run = sys.argv[1]
def emit(event):
    with open(os.path.join(run, "events.jsonl"), "a") as f:
        f.write(json.dumps({"t": time.time(), **event}) + "\n")
emit({"type": "status", "status": "running", "epoch": 0, "epochs": 6})
if "quick" in json.load(open(os.path.join(run, "spec.json")))["name"]:
    sys.exit(0)
for epoch in (1, 2):
    emit({"type": "epoch", "epoch": epoch, "step": epoch * 10, "metrics": {"loss": 1 / epoch}})
while not os.path.exists(os.path.join(run, "more")):
    time.sleep(0.01)
for epoch in (3, 4):
    emit({"type": "epoch", "epoch": epoch, "step": epoch * 10, "metrics": {"loss": 1 / epoch}})
sys.exit(1)
"""


class ScriptExecutor(Executor):
    """Runs :data:`WORKER` as each job's worker process (no TensorFlow: fast)."""

    def start(self, run: RunDir, env: dict[str, str], cwd: Any, resources: Any = None) -> WorkerHandle:
        run.write_status(status="running")
        popen = subprocess.Popen([sys.executable, "-c", WORKER, str(run.path)], start_new_session=True)
        LocalProcessExecutor.children[popen.pid] = popen  # reaped by the reap_workers fixture
        return LocalWorker(popen.pid, psutil.Process(popen.pid).create_time(), popen)

    def attach(self, run: RunDir, ref: dict[str, Any]) -> WorkerHandle | None:
        return None


class FullDisk:
    """While ``full``, every write to the index or to a run's JSON files fails with ENOSPC."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.full = False
        self.refused = 0
        put, write = JobStore.put, rundir.write_json_atomic

        def guarded(real: Any) -> Any:
            def call(*args: Any, **kwargs: Any) -> Any:
                if self.full:
                    self.refused += 1
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                return real(*args, **kwargs)

            return call

        monkeypatch.setattr(JobStore, "put", guarded(put))
        monkeypatch.setattr(rundir, "write_json_atomic", guarded(write))


async def until(predicate: Any, timeout: float = 20.0, what: str = "condition") -> float:
    """Wait for ``predicate()``; return the seconds it took."""
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < timeout, f"{what} not reached in {timeout} s"
        await asyncio.sleep(0.01)
    return time.monotonic() - start


def reaped(pid: int) -> bool:
    """Whether process ``pid`` is gone for good (a zombie still exists: nobody collected it)."""
    return not psutil.pid_exists(pid)


async def test_a_full_disk_never_stops_following_a_job_and_its_outcome_lands_when_space_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = FullDisk(monkeypatch)
    manager = JobManager(tmp_path, executor=ScriptExecutor(), slots=1, poll_interval_s=0.02)
    manager.start()
    try:
        job = manager.submit(SPEC)
        run = RunDir(tmp_path / job["id"])
        await until(lambda: manager.get(job["id"])["epoch"] == 2, what="epoch 2 indexed")
        pid = manager.get(job["id"])["pid"]

        disk.full = True
        (run.path / "more").touch()  # epochs 3 and 4, then the worker dies
        await until(lambda: reaped(pid), what="the dead worker reaped")
        await until(lambda: manager.summary()["running"] == 0, what="its slot freed")
        assert disk.refused > 0  # the manager did try to write, and went on

        with pytest.raises(DiskFull, match="no space left on the runs directory's disk") as refused:
            manager.submit({**SPEC, "name": "while full"})
        assert refused.value.http_status == 507
        assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [job["id"]]
        with pytest.raises(JobStateError, match="already ended"):
            manager.cancel(job["id"])  # no signal to a pid that is not its worker any more

        disk.full = False
        waited = await until(lambda: manager.get(job["id"])["status"] == "failed", what="outcome recorded")
        assert waited < 3.0  # RECORD_RETRY_MAX_S plus a poll
        status = run.read_status()
        assert status["status"] == "failed" and status["epoch"] == 4 and status["exit_code"] == 1
        assert "disk was full" in status["error"]
        assert manager.get(job["id"])["epoch"] == 4
        events = [json.loads(line) for line in run.events_path.read_text().splitlines()]
        assert [e["epoch"] for e in events if e["type"] == "epoch"] == [1, 2, 3, 4]  # nothing lost
        assert events[-1]["type"] == "status" and events[-1]["status"] == "failed"

        quick = manager.submit({**SPEC, "name": "quick after"})  # the slot is free again
        await until(lambda: manager.get(quick["id"])["status"] == "completed", what="next job completed")
    finally:
        await manager.stop()


async def test_cancel_while_the_disk_is_full_stops_the_worker_and_is_recorded_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = FullDisk(monkeypatch)
    manager = JobManager(tmp_path, executor=ScriptExecutor(), slots=1, poll_interval_s=0.02)
    manager.start()
    try:
        job = manager.submit(SPEC)
        await until(lambda: manager.get(job["id"])["epoch"] == 2, what="epoch 2 indexed")
        pid = manager.get(job["id"])["pid"]
        disk.full = True
        manager.cancel(job["id"])  # SIGTERM reaches the worker though nothing can be written
        await until(lambda: reaped(pid), what="the cancelled worker reaped")
        disk.full = False
        await until(lambda: manager.get(job["id"])["status"] == "cancelled", what="cancel recorded")
        assert RunDir(tmp_path / job["id"]).read_status()["epoch"] == 2
    finally:
        await manager.stop()


async def test_post_jobs_on_a_full_disk_answers_507_saying_so(jp_fetch, monkeypatch, runs_dir):
    FullDisk(monkeypatch).full = True
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch("lepton-lab", "api", "jobs", method="POST", body=json.dumps(SPEC))
    assert refused.value.code == 507
    body = json.loads(refused.value.response.body)
    assert "no space left on the runs directory's disk" in body["message"]
    assert not [p.name for p in runs_dir.iterdir() if not p.name.startswith(".")]  # no half-made run


@pytest.fixture
def small_disk(tmp_path: Path):
    """A real 5 MB tmpfs (needs root and mount; skipped elsewhere)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a 5 MB tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=5m", "tmpfs", str(mount)], capture_output=True
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(directory: Path) -> Path:
    filler = directory / ".filler"
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65_536)
                handle.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC
    return filler


@pytest.mark.slow
async def test_a_real_full_disk_under_a_training_worker(
    small_disk: Path, capsys: pytest.CaptureFixture
) -> None:
    runs = small_disk / "runs"
    manager = JobManager(runs, executor=LocalProcessExecutor(), slots=1, cancel_grace_s=5.0)
    manager.start()
    try:
        spec = {
            "name": "real disk",
            "dataset": {"name": "digits", "subset": 300},
            "model": {"preset": "mlp"},
            "train": {"epochs": 400, "batch_size": 32},
        }
        job = manager.submit(spec)
        await until(lambda: (manager.get(job["id"])["epoch"] or 0) >= 2, timeout=180, what="epoch 2")
        pid = manager.get(job["id"])["pid"]
        filler = _fill(small_disk)
        full_at = time.monotonic()
        try:
            await until(lambda: reaped(pid), timeout=60, what="the worker ending on the full disk")
        except AssertionError:
            manager.cancel(job["id"])  # it kept training without writing: a cancel must still work
            await until(lambda: reaped(pid), timeout=30, what="the cancelled worker reaped")
        ended_in = time.monotonic() - full_at
        assert manager.summary()["running"] == 0
        with pytest.raises(DiskFull, match="no space left on the runs directory's disk"):
            manager.submit(spec)
        filler.unlink()
        freed_at = time.monotonic()
        await until(
            lambda: manager.get(job["id"])["status"] not in ("queued", "running"), timeout=30, what="outcome"
        )
        recorded_in = time.monotonic() - freed_at
        run = RunDir(runs / job["id"])
        status = run.read_status()
        assert status["status"] == manager.get(job["id"])["status"] in ("failed", "cancelled")
        assert (status["epoch"] or 0) >= 2
        events, _ = read_events(run.events_path)
        assert len([e for e in events if e["type"] == "epoch"]) >= 2  # what was written stays
        with capsys.disabled():
            print(
                f"\nfull disk: worker ended {ended_in:.2f} s after the disk filled; outcome "
                f"{status['status']} (epoch {status['epoch']}) recorded {recorded_in:.2f} s after space "
                f"returned; {time.monotonic() - full_at:.2f} s from full disk to recorded outcome; error: "
                f"{status.get('error')}"
            )
    finally:
        await manager.stop()
