"""Local worker processes: re-attaching after a restart only to the very same worker."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import psutil
import pytest

from lepton_lab.core.rundir import RunDir
from lepton_lab.server.executors import WORKER_MODULE, LocalProcessExecutor


@pytest.fixture
def stranger_worker(tmp_path):
    """A process started elsewhere whose command line looks like the worker of a run."""
    run = RunDir.create(tmp_path, {"dataset": {"name": "digits"}})
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", WORKER_MODULE, str(run.path)],
        start_new_session=True,
    )
    yield run, process
    process.kill()
    process.wait()


def test_attach_finds_a_live_worker_by_pid_start_time_and_command_line(stranger_worker, tmp_path):
    run, process = stranger_worker
    executor = LocalProcessExecutor()
    started = psutil.Process(process.pid).create_time()

    worker = executor.attach(run, {"kind": "local", "pid": process.pid, "create_time": started})
    assert worker is not None and worker.poll() is None
    assert (
        executor.attach(run, {"kind": "local", "pid": process.pid, "create_time": started - 3600}) is None
    )  # pid reused by another process
    other = RunDir.create(tmp_path, {"dataset": {"name": "digits"}})
    assert executor.attach(other, worker.ref()) is None  # a worker, but of another run

    worker.terminate()  # SIGTERM to its process group
    assert process.wait(timeout=10) == -signal.SIGTERM
    assert worker.poll() is not None and worker.poll().code is None  # not our child: code unknown


def test_attach_refuses_a_dead_pid(tmp_path):
    run = RunDir.create(tmp_path, {"dataset": {"name": "digits"}})
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    time.sleep(0.05)
    assert LocalProcessExecutor().attach(run, {"kind": "local", "pid": process.pid}) is None
