"""A real Jupyter server process restarted while its worker process runs: the job survives.

The worker is a real process started by the local executor (:class:`tests.fakes.ScriptedLocalExecutor`:
no TensorFlow), so this checks what a restart needs of processes - the worker outlives the
server, the next server process re-attaches it from the stored ref (pid, start time, command line)
and follows it to the end - without depending on how fast a training is.
"""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest

from lepton_lab.client import LabClient
from lepton_lab.core.rundir import RunDir
from tests.fakes import let_continue
from tests.lab_server import running_lab

pytestmark = pytest.mark.slow  # two Jupyter server processes

EXECUTOR = "--LeptonLabApp.executor_class=tests.fakes.ScriptedLocalExecutor"
SPEC = {"name": "outlives its server", "dataset": {"name": "digits"}, "train": {"epochs": 5}}
WAIT_S = 120.0


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_restarted_server_process_reattaches_the_worker_it_did_not_start(tmp_path, monkeypatch):
    root = tmp_path / "root"
    root.mkdir()
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # The servers import tests.fakes (the executor) from the repository root.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")])))
    pid = None
    try:
        with running_lab(root, extra_args=(EXECUTOR,)) as lab:
            job = LabClient(lab.url, lab.token).submit(SPEC)
            deadline = time.monotonic() + WAIT_S
            while not any(e["type"] == "epoch" for e in job.events()):  # it waits after epoch 1
                assert time.monotonic() < deadline, f"no epoch within {WAIT_S:g} s"
                time.sleep(0.05)
            pid = job.refresh().info["pid"]
            offset = job.events_page()[1]
        assert pid is not None and alive(pid), "the worker must outlive the server"

        with running_lab(root, extra_args=(EXECUTOR,)) as lab:
            again = LabClient(lab.url, lab.token).job(job.id)
            assert again.info["status"] == "running" and again.info["pid"] == pid
            let_continue(RunDir(lab.runs_dir / job.id))
            followed = list(again.follow(after=offset, poll=0.05, timeout=WAIT_S))
            final = again.refresh().info

        assert final["status"] == "completed" and final["epoch"] == SPEC["train"]["epochs"]
        assert [e["epoch"] for e in followed if e["type"] == "epoch"] == [2, 3, 4, 5], (offset, followed)
        assert followed[-1]["type"] == "status" and followed[-1]["status"] == "completed"
    finally:
        if pid is not None and alive(pid):
            os.killpg(pid, signal.SIGKILL)
