"""Two servers on one runs directory: the first manages its jobs, the second only reads it, names
the first when asked to change anything, and takes over once the first has gone."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from lepton_lab.core.rundir import RunDir
from lepton_lab.server.executors import WorkerHandle
from lepton_lab.server.jobs import JobManager
from lepton_lab.server.ownership import LOCK_FILE, RunsDirLock, RunsDirTaken
from tests.test_server_run_admin import WaitingExecutor

SPEC = {"name": "owned", "dataset": {"name": "digits"}, "train": {"epochs": 2}}


class CountingExecutor(WaitingExecutor):
    """A :class:`WaitingExecutor` that remembers which runs it started."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.started: list[str] = []

    def start(self, run: RunDir, env: dict[str, str], cwd: Any, resources: Any = None) -> WorkerHandle:
        self.started.append(run.id)
        return super().start(run, env, cwd, resources)


async def until(predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


async def test_a_second_server_reads_the_runs_directory_and_refuses_to_manage_its_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("lepton_lab.server.recovery.TAKEOVER_INTERVAL_S", 0.1)
    first_executor, second_executor = CountingExecutor(), CountingExecutor()
    first = JobManager(tmp_path, executor=first_executor, holder={"url": "http://first:8888/"})
    first.recover()
    first.start()
    running = first.submit(SPEC)
    queued = first.submit({**SPEC, "name": "waits for the slot"})
    await until(lambda: (first.store.get(running["id"]) or {}).get("status") == "running")  # indexed

    second = JobManager(tmp_path, executor=second_executor, holder={"url": "http://second:9999/"})
    second.recover()
    second.start()
    assert second.read_only and not first.read_only
    listed = {job["id"]: job["status"] for job in second.list_jobs()}
    assert listed == {running["id"]: "running", queued["id"]: "queued"}  # listing works
    assert second.get(running["id"])["status"] == "running"
    for command in (
        lambda: second.submit(SPEC),
        lambda: second.cancel(running["id"]),
        lambda: second.resume(running["id"]),
        lambda: second.delete_run(queued["id"]),
        lambda: second.check_manages(f"run {running['id']} cannot be deployed here"),  # POST models
    ):
        with pytest.raises(RunsDirTaken, match=f"pid {os.getpid()}, http://first:8888/") as refused:
            command()
        assert refused.value.http_status == 409
    await asyncio.sleep(0.3)
    assert second_executor.started == []  # it never starts the queued job nor re-attaches
    assert first.get(running["id"])["status"] == "running"

    await first.stop()  # the first server goes: the second takes over
    await until(lambda: not second.read_only)
    await until(lambda: second_executor.started == [queued["id"]])
    assert second.get(running["id"])["status"] == "interrupted"  # its worker went with the first
    await second.stop()


def test_a_lock_left_by_a_killed_server_is_stale(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time; f = open(sys.argv[1], 'a'); "
            "fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(60)",
            str(tmp_path / LOCK_FILE),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        lock = RunsDirLock(tmp_path, {"url": "http://me/"})
        assert not lock.acquire()
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        assert lock.acquire() and lock.owner()["url"] == "http://me/"
        lock.release()
    finally:
        holder.kill()
        holder.wait()
