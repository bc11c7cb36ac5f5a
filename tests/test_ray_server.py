"""The job manager on RayExecutor, against a real two-node Ray cluster on this machine.

One story, as a user of a cluster lives it: two jobs land on both nodes (each node offers one CPU
and each job asks for one), each job's record names its node, one is cancelled, the server
restarts and re-attaches the other from its stored ref, that job's node is lost (SIGKILL to the
node's processes) so it becomes ``interrupted``, and Resume completes it on the remaining node
with the full epoch count. Real workers train tiny models on ``digits``; the test freezes them
(SIGSTOP) while it acts, so no step depends on how fast they train.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from lepton_lab.core.events import read_events
from lepton_lab.core.rundir import RunDir
from lepton_lab.server.devices import GpuAllocator
from lepton_lab.server.jobs import JobManager

pytest.importorskip("ray", reason='Ray is not installed (pip install "lepton-lab[ray]")')

from lepton_lab.server.ray_executor import RayExecutor
from tests.ray_cluster import local_ray_cluster

pytestmark = [pytest.mark.ray, pytest.mark.slow]

EPOCHS = 300  # far more than a job trains before the test freezes it
SPEC = {
    "dataset": {"name": "digits", "subset": 300},
    "model": {"preset": "mlp"},
    "train": {"epochs": EPOCHS, "batch_size": 32},
}
#: Upper bound on waits (a busy 2-core machine starts a TensorFlow worker in 10-60 s).
WAIT_S = 300.0


async def until(predicate: Callable[[], Any], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what} not within {timeout:g} s"
        await asyncio.sleep(0.1)


def manager_on(runs_dir: Path, address: str) -> JobManager:
    manager = JobManager(
        runs_dir,
        executor=RayExecutor(ray_address=address),
        slots=2,
        allocator=GpuAllocator("none"),
        poll_interval_s=0.05,
    )
    manager.recover()
    manager.start()
    return manager


def epochs(run_dir: str) -> list[int]:
    events, _ = read_events(RunDir(run_dir).events_path)
    return [event["epoch"] for event in events if event["type"] == "epoch"]


def signal_worker(run_dir: str, signum: int) -> None:
    pid = RunDir(run_dir).read_status().get("pid")
    if pid and psutil.pid_exists(pid):
        os.killpg(pid, signum)


async def test_jobs_spread_over_the_cluster_cancel_reattach_lose_a_node_and_resume(tmp_path):
    with local_ray_cluster() as cluster:
        manager = manager_on(tmp_path, cluster.address)
        jobs = [manager.submit({**SPEC, "name": f"job{i}"}) for i in range(2)]
        ids = [job["id"] for job in jobs]
        await until(
            lambda: all(manager.get(i)["node"] and epochs(manager.get(i)["run_dir"]) for i in ids), "epoch 1"
        )
        for job_id in ids:
            signal_worker(manager.get(job_id)["run_dir"], signal.SIGSTOP)  # held still from here

        nodes = {manager.get(job_id)["node"]: job_id for job_id in ids}
        assert set(nodes) == {cluster.head.node_id, cluster.second.node_id}  # one job per node
        listed = {node["id"]: node for node in manager.devices()["nodes"]}
        assert listed[cluster.second.node_id]["jobs"] == [nodes[cluster.second.node_id]]
        on_head, on_second = nodes[cluster.head.node_id], nodes[cluster.second.node_id]

        manager.cancel(on_head)
        signal_worker(manager.get(on_head)["run_dir"], signal.SIGCONT)  # it takes the SIGTERM now
        await until(lambda: manager.get(on_head)["status"] == "cancelled", "cancelled")

        await manager.stop()  # the server restarts; the job on the second node goes on
        manager = manager_on(tmp_path, cluster.address)
        again = manager.get(on_second)
        assert again["status"] == "running" and again["node"] == cluster.second.node_id

        cluster.lose_node()  # the second node dies, and its worker with it
        await until(lambda: manager.get(on_second)["status"] == "interrupted", "interrupted")
        interrupted = manager.get(on_second)
        assert "resume" in interrupted["error"] and interrupted["epoch"] >= 1

        manager.resume(on_second)
        await until(lambda: manager.get(on_second)["status"] not in ("queued", "running"), "the resumed end")
        final = manager.get(on_second)
        await manager.stop()

    assert final["status"] == "completed" and final["epoch"] == EPOCHS, final
    assert final["node"] == cluster.head.node_id  # the only node left
    assert set(epochs(final["run_dir"])) == set(range(1, EPOCHS + 1))
