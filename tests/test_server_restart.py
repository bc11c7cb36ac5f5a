"""A real Jupyter server process restarted while its worker trains: the job survives."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest

from lepton_lab.client import LabClient
from tests.lab_server import running_lab

pytestmark = pytest.mark.slow

SPEC = {
    "name": "outlives its server",
    "dataset": {"name": "digits", "subset": 300},
    "model": {"preset": "mlp"},
    # Enough epochs that the worker is still training when the test freezes it, however fast.
    "train": {"epochs": 60, "batch_size": 32},
}


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_restarted_server_process_reattaches_the_worker_it_did_not_start(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    pid = None
    try:
        with running_lab(root) as lab:
            job = LabClient(lab.url, lab.token).submit(SPEC)
            deadline = time.monotonic() + 180
            while not any(e["type"] == "epoch" for e in job.events()):
                assert time.monotonic() < deadline, "no epoch within 180 s"
                time.sleep(0.2)
            pid = job.refresh().info["pid"]
            # Hold the worker still while the servers change, so the job cannot finish in between.
            os.killpg(pid, signal.SIGSTOP)
            offset = job.events_page()[1]
        assert alive(pid), "the worker must outlive the server"

        with running_lab(root) as lab:
            again = LabClient(lab.url, lab.token).job(job.id)
            assert again.info["status"] == "running" and again.info["pid"] == pid
            os.killpg(pid, signal.SIGCONT)
            followed = list(again.follow(after=offset, poll=0.2, timeout=300))
            final = again.refresh().info

        assert final["status"] == "completed" and final["epoch"] == SPEC["train"]["epochs"]
        epochs = [e["epoch"] for e in followed if e["type"] == "epoch"]
        assert epochs[-1] == SPEC["train"]["epochs"] and epochs == sorted(set(epochs))
        assert followed[-1]["type"] == "status" and followed[-1]["status"] == "completed"
    finally:
        if pid is not None and alive(pid):
            os.killpg(pid, signal.SIGCONT)
            os.killpg(pid, signal.SIGKILL)
