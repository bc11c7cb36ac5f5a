"""The executor contract, one suite for every executor: LocalProcessExecutor, FakeExecutor, RayExecutor.

What the job lifecycle relies on: a started worker runs (``poll()`` None) and then exits with its
outcome; ``terminate()`` makes the worker record ``cancelled``; ``ref()`` survives a JSON round
trip and a fresh executor (a restarted server) attaches to the worker from it; a ref of a worker
that has finished, or one the executor does not know, attaches to nothing.

The local executor runs a tiny Python worker (no TensorFlow, :data:`tests.fakes.LOCAL_SCRIPT`)
that writes what the real one writes; the real worker is covered once per executor by the smoke
tests (test_server_smoke.py, test_ray_executor.py). The Ray cases run real workers on a two-node
cluster this suite starts (marked ``ray``: without Ray they skip; with Ray a cluster that cannot
start fails them).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lepton_lab.core.rundir import RunDir
from lepton_lab.server.executors import (
    Executor,
    WorkerExit,
    WorkerHandle,
)
from tests.fakes import FakeExecutor, FakeWorker, Script, ScriptedLocalExecutor

pytestmark = pytest.mark.usefixtures("reap_workers")

#: Bound on waits for a real process (a guard against hanging, never a speed assertion).
WAIT_S = 300.0
RESOURCES = {"cpus": 1, "gpus": 0}


class Harness:
    """One executor under the contract: fresh instances, runs, and how time passes for it."""

    spec: dict[str, Any] = {"dataset": {"name": "digits"}, "train": {"epochs": 2}}
    long_epochs = 2

    def executor(self) -> Executor:
        raise NotImplementedError

    def run(self, runs_dir: Path, name: str) -> RunDir:
        epochs = 1 if name == "short" else self.long_epochs
        return RunDir.create(
            runs_dir, {**self.spec, "name": name, "train": {**self.spec["train"], "epochs": epochs}}
        )

    def advance(self, worker: WorkerHandle) -> None:
        time.sleep(0.02)

    def wait_running(self, run: RunDir, worker: WorkerHandle) -> None:
        """Wait until the worker has recorded ``running`` (it handles signals from then on)."""
        deadline = time.monotonic() + WAIT_S
        while run.read_status().get("status") != "running":
            assert worker.poll() is None, f"{worker.describe()} ended before it ran"
            assert time.monotonic() < deadline, f"{worker.describe()} never recorded running"
            self.advance(worker)

    def wait_exit(self, worker: WorkerHandle) -> WorkerExit:
        deadline = time.monotonic() + WAIT_S
        while (outcome := worker.poll()) is None:
            assert time.monotonic() < deadline, f"{worker.describe()} still running after {WAIT_S:g} s"
            self.advance(worker)
        return outcome


class LocalHarness(Harness):
    def executor(self) -> Executor:
        return ScriptedLocalExecutor()


class FakeHarness(Harness):
    def executor(self) -> Executor:
        return FakeExecutor(Script(epochs=1, outcome="forever"))

    def advance(self, worker: WorkerHandle) -> None:
        assert isinstance(worker, FakeWorker)
        worker.step()


class ShortAwareFakeExecutor(FakeExecutor):
    """FakeExecutor whose run named ``short`` completes and every other runs until terminated."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(Script(epochs=1, outcome="forever"), **kwargs)
        self.scripts["short"] = Script(epochs=1, outcome="completed")


class FakeContractHarness(FakeHarness):
    def executor(self) -> Executor:
        return ShortAwareFakeExecutor()


class RayHarness(Harness):
    spec = {
        "dataset": {"name": "digits", "subset": 300},
        "model": {"preset": "mlp"},
        "train": {"batch_size": 32},
    }
    long_epochs = 5000

    def __init__(self, address: str) -> None:
        self.address = address

    def executor(self) -> Executor:
        from lepton_lab.server.ray_executor import RayExecutor

        return RayExecutor(ray_address=self.address)

    def advance(self, worker: WorkerHandle) -> None:
        time.sleep(0.2)


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    pytest.importorskip("ray", reason='Ray is not installed (pip install "lepton-lab[ray]")')
    from tests.ray_cluster import local_ray_cluster

    with local_ray_cluster() as cluster:
        yield cluster.address


@pytest.fixture(
    params=[
        "local",
        "fake",
        pytest.param("ray", marks=[pytest.mark.ray, pytest.mark.slow]),
    ]
)
def harness(request: pytest.FixtureRequest) -> Harness:
    if request.param == "local":
        return LocalHarness()
    if request.param == "fake":
        return FakeContractHarness()
    return RayHarness(request.getfixturevalue("ray_address"))


def test_a_started_worker_runs_then_exits_with_its_outcome(harness, tmp_path):
    executor = harness.executor()
    long_run, short_run = harness.run(tmp_path, "long"), harness.run(tmp_path, "short")
    running = executor.start(long_run, {}, tmp_path, RESOURCES)
    done = executor.start(short_run, {}, tmp_path, RESOURCES)

    harness.wait_running(long_run, running)
    assert running.poll() is None
    outcome = harness.wait_exit(done)
    assert outcome == WorkerExit(0) and short_run.read_status()["status"] == "completed"
    assert running.poll() is None  # one worker's end is not another's
    running.kill()
    assert harness.wait_exit(running).code != 0


def test_terminate_makes_the_worker_record_cancelled(harness, tmp_path):
    executor = harness.executor()
    run = harness.run(tmp_path, "long")
    worker = executor.start(run, {}, tmp_path, RESOURCES)
    harness.wait_running(run, worker)

    worker.terminate()
    outcome = harness.wait_exit(worker)

    assert not outcome.interrupted
    assert run.read_status()["status"] == "cancelled"


def test_the_ref_survives_json_and_a_fresh_executor_attaches_from_it(harness, tmp_path):
    run = harness.run(tmp_path, "long")
    worker = harness.executor().start(run, {}, tmp_path, RESOURCES)
    harness.wait_running(run, worker)
    ref = json.loads(json.dumps(worker.ref()))
    assert isinstance(ref.get("kind", ""), str)

    again = harness.executor().attach(run, ref)  # as a restarted server does

    assert again is not None and again.poll() is None
    again.terminate()  # through the re-attached handle
    harness.wait_exit(worker)
    assert run.read_status()["status"] == "cancelled"


def test_attach_to_a_finished_or_unknown_worker_is_none(harness, tmp_path):
    run = harness.run(tmp_path, "short")
    worker = harness.executor().start(run, {}, tmp_path, RESOURCES)
    ref = json.loads(json.dumps(worker.ref()))
    harness.wait_exit(worker)
    fresh = harness.executor()

    assert fresh.attach(run, ref) is None
    assert fresh.attach(harness.run(tmp_path, "other"), {"kind": "unknown-executor", "id": 7}) is None
