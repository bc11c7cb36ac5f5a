"""RayExecutor against a real two-node Ray cluster on this machine (tests/ray_cluster.py).

Real actors, real worker processes training tiny models on ``digits``; no job manager yet (the
executor alone: start, poll, terminate, re-attach, a lost node). The cluster is started once for
the module. Without Ray installed these tests skip; with Ray installed a cluster that cannot
start fails them with the reason.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from lepton_lab.core.rundir import RunDir
from lepton_lab.server.executors import WorkerExit
from lepton_lab.server.lifecycle import Job

pytest.importorskip("ray", reason='Ray is not installed (pip install "lepton-lab[ray]")')

from lepton_lab.server.ray_executor import RayExecutor, RayWorker, WorkerStartError
from tests.ray_cluster import RayCluster, local_ray_cluster

pytestmark = [pytest.mark.ray, pytest.mark.slow]

TINY = {"dataset": {"name": "digits", "subset": 300}, "model": {"preset": "mlp"}, "train": {"batch_size": 32}}
#: Epochs of a job a test stops or loses mid-run: far more than it can train before the test acts.
LONG_EPOCHS = 5000
#: Upper bound on waits (a busy 2-core machine starts a TensorFlow worker in 10-60 s).
WAIT_S = 300.0
ONE_CPU = {"cpus": 1, "gpus": 0}


def tiny_run(runs_dir: Path, epochs: int, name: str) -> RunDir:
    return RunDir.create(runs_dir, {**TINY, "name": name, "train": {**TINY["train"], "epochs": epochs}})


def wait_exit(worker: RayWorker, timeout: float = WAIT_S) -> WorkerExit:
    deadline = time.monotonic() + timeout
    while (outcome := worker.poll()) is None:
        assert time.monotonic() < deadline, f"{worker.describe()} still running after {timeout:g} s"
        time.sleep(0.2)
    return outcome


def wait_epoch(run: RunDir, worker: RayWorker, timeout: float = WAIT_S) -> None:
    """Wait until the worker has written an epoch event (it is training, mid-run)."""
    deadline = time.monotonic() + timeout
    while True:
        if any(event.get("type") == "epoch" for event in read_events(run)):
            return
        assert worker.poll() is None, f"the worker ended before its first epoch:\n{log_tail(run)}"
        assert time.monotonic() < deadline, f"no epoch after {timeout:g} s:\n{log_tail(run)}"
        time.sleep(0.2)


def read_events(run: RunDir) -> list[dict]:
    try:
        lines = run.events_path.read_text().split("\n")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in lines[:-1] if line]  # the last may still be half-written


def log_tail(run: RunDir) -> str:
    try:
        return "\n".join(run.worker_log_path.read_text(errors="replace").splitlines()[-20:])
    except FileNotFoundError:
        return "(no worker.log)"


@pytest.fixture(scope="module")
def cluster() -> Iterator[RayCluster]:
    with local_ray_cluster() as running:
        yield running


@pytest.fixture
def executor(cluster: RayCluster) -> Iterator[RayExecutor]:
    yield RayExecutor(ray_address=cluster.address)


def test_jobs_run_on_both_nodes_and_complete(cluster, executor, tmp_path):
    # Each node offers one CPU and each job asks for one: the two jobs must land on both nodes.
    runs = [tiny_run(tmp_path, 2, f"job{i}") for i in range(2)]
    workers = [executor.start(run, {}, tmp_path, ONE_CPU) for run in runs]

    outcomes = [wait_exit(worker) for worker in workers]

    assert [outcome.code for outcome in outcomes] == [0, 0], [log_tail(run) for run in runs]
    assert {worker.node for worker in workers} == {cluster.head.node_id, cluster.second.node_id}
    for run in runs:
        status = run.read_status()
        assert status["status"] == "completed" and status["epoch"] == 2
    assert "on node" in workers[0].describe() and workers[0].name in workers[0].describe()


def test_nodes_lists_the_cluster_and_where_each_job_runs(cluster, executor, tmp_path):
    run = tiny_run(tmp_path, LONG_EPOCHS, "placed")
    worker = executor.start(run, {}, tmp_path, {**ONE_CPU, "node2": 1})  # a custom resource: node2
    try:
        wait_epoch(run, worker)
        nodes = {node["id"]: node for node in executor.nodes() if node["alive"]}
        assert set(nodes) == {cluster.head.node_id, cluster.second.node_id}
        assert nodes[cluster.second.node_id]["jobs"] == [run.id]
        assert nodes[cluster.head.node_id]["jobs"] == []
        assert nodes[cluster.head.node_id]["head"] and not nodes[cluster.second.node_id]["head"]
        assert all(node["cpus"] == 1.0 and node["gpus"] == 0.0 for node in nodes.values())
    finally:
        worker.kill()
        wait_exit(worker)


def test_terminate_mid_run_records_cancelled(executor, tmp_path):
    run = tiny_run(tmp_path, LONG_EPOCHS, "cancel")
    worker = executor.start(run, {}, tmp_path, ONE_CPU)
    wait_epoch(run, worker)

    worker.terminate()  # SIGTERM to the worker's process group, through its actor

    outcome = wait_exit(worker)
    assert outcome.code == 143, log_tail(run)  # the worker's exit code for "cancelled"
    status = run.read_status()
    assert status["status"] == "cancelled" and 1 <= status["epoch"] < LONG_EPOCHS


def test_a_restarted_server_reattaches_from_the_stored_ref(cluster, tmp_path):
    import ray

    run = tiny_run(tmp_path, LONG_EPOCHS, "restart")
    first = RayExecutor(ray_address=cluster.address)
    worker = first.start(run, {}, tmp_path, ONE_CPU)
    wait_epoch(run, worker)
    stored = json.loads(json.dumps(worker.ref()))  # what the job index keeps, through JSON
    assert stored == {
        "kind": "ray",
        "actor": f"lepton-lab-{run.id}",
        "namespace": "lepton-lab",
        "node": worker.node,
    }

    ray.shutdown()  # the server process goes away; the detached actor and its worker do not
    second = RayExecutor(ray_address=cluster.address)
    attached = second.attach(run, stored)

    assert attached is not None and attached.poll() is None
    assert attached.node == stored["node"]
    assert second.attach(run, {**stored, "actor": "lepton-lab-no-such-run"}) is None
    assert second.attach(run, {"kind": "local", "pid": 1, "create_time": 0.0}) is None  # not ours
    attached.terminate()
    assert wait_exit(attached).code == 143  # the actor still knows the exit code
    assert run.read_status()["status"] == "cancelled"
    assert second.attach(run, stored) is None  # collected: the actor is gone, its CPU free again


def test_a_finished_job_frees_its_resources_when_no_server_collects_it(cluster, tmp_path):
    import ray

    executor = RayExecutor(ray_address=cluster.address, linger_seconds=0)
    run = tiny_run(tmp_path, 1, "unattended")
    worker = executor.start(run, {}, tmp_path, ONE_CPU)
    stored = worker.ref()
    deadline = time.monotonic() + WAIT_S
    while True:  # nobody polls: the actor must end by itself once its worker has
        try:
            ray.get_actor(stored["actor"], namespace=stored["namespace"])
        except ValueError:
            break
        assert time.monotonic() < deadline, f"the actor outlived its worker:\n{log_tail(run)}"
        time.sleep(0.5)

    assert executor.attach(run, stored) is None
    outcome = wait_exit(worker)  # what a server that comes back learns: from the run's record
    assert outcome.code == 0 and not outcome.interrupted
    assert run.read_status()["status"] == "completed"


def test_the_job_asks_ray_for_the_gpus_in_its_spec(tmp_path):
    executor = RayExecutor(cpus_per_job=2.0)
    asks_two = RunDir.create(tmp_path, {**TINY, "resources": {"gpus": 2}})
    unset = RunDir.create(tmp_path, TINY)

    assert executor.resources(Job(asks_two)) == {"cpus": 2.0, "gpus": 2}
    assert executor.resources(Job(unset)) == {"cpus": 2.0, "gpus": 0}
    assert RayExecutor(default_gpus=1).resources(Job(unset))["gpus"] == 1
    options = executor.actor_options(asks_two, {"cpus": 2.0, "gpus": 2, "a100": 1})
    assert (options["num_cpus"], options["num_gpus"], options["resources"]) == (2.0, 2, {"a100": 1.0})
    assert options["lifetime"] == "detached" and options["name"] == f"lepton-lab-{asks_two.id}"
    assert RayExecutor.server_places_gpus is False


def test_an_unreachable_cluster_fails_at_once_naming_the_address():
    import ray

    ray.shutdown()
    executor = RayExecutor(ray_address="127.0.0.1:9")  # the discard port: nothing listens
    with pytest.raises(ConnectionError, match=r"cannot reach the Ray cluster at 127\.0\.0\.1:9"):
        executor.connect()  # ray.init alone retries for minutes


def test_the_server_side_imports_neither_ray_nor_tensorflow_until_used():
    code = (
        "import sys, lepton_lab.server.ray_executor as m; m.RayExecutor(); "
        "print(sorted({'ray', 'tensorflow'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_cancelling_a_job_ray_cannot_place_withdraws_it(executor, tmp_path):
    import ray

    run = tiny_run(tmp_path, 1, "unplaceable")
    worker = executor.start(run, {}, tmp_path, {**ONE_CPU, "no-such-node": 1})  # waits forever
    assert worker.poll() is None and worker.node is None
    assert "waiting for Ray to place it" in worker.describe()

    worker.terminate()

    outcome = wait_exit(worker)
    assert outcome.code is None and not outcome.interrupted
    with pytest.raises(ValueError):
        ray.get_actor(worker.name, namespace=worker.namespace)
    assert not run.worker_log_path.exists()  # no worker ever started


def test_a_run_directory_the_node_cannot_see_fails_with_the_reason(executor, tmp_path):
    missing = RunDir(tmp_path / "not-shared" / "20260101-000000-x-0000")
    worker = executor.start(missing, {}, tmp_path, ONE_CPU)
    with pytest.raises(WorkerStartError, match=r"not visible on Ray node .*same path"):
        wait_exit(worker)


def test_the_worker_dies_with_its_actor(executor, tmp_path):
    # Ray cleans up a worker's children when it exits; a SIGKILLed actor process (the OOM killer,
    # a crash) gets no chance to, and the parent-death signal takes the training process along.
    run = tiny_run(tmp_path, LONG_EPOCHS, "crash")
    worker = executor.start(run, {}, tmp_path, ONE_CPU)
    wait_epoch(run, worker)
    pid, actor_pid = run.read_status()["pid"], worker.where()["actor_pid"]

    os.kill(actor_pid, signal.SIGKILL)

    outcome = wait_exit(worker)
    assert outcome.code is None and outcome.interrupted  # nothing recorded an end: Resume continues it
    deadline = time.monotonic() + 10
    while _alive(pid):
        assert time.monotonic() < deadline, "the training process outlived its actor"
        time.sleep(0.1)


def test_a_node_lost_mid_job_interrupts_it(cluster, executor, tmp_path):
    # Last in the module: it takes the second node away.
    run = tiny_run(tmp_path, LONG_EPOCHS, "lost")
    worker = executor.start(run, {}, tmp_path, {**ONE_CPU, "node2": 1})
    wait_epoch(run, worker)
    assert worker.node == cluster.second.node_id
    pid = run.read_status()["pid"]

    cluster.lose_node()

    outcome = wait_exit(worker)
    assert outcome.code is None and outcome.interrupted
    assert run.read_status()["status"] == "running"  # nobody recorded an end: Resume continues it
    # The training process died with its actor; nothing keeps writing into the run directory.
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
