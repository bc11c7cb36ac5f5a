"""The job lifecycle through the job manager with :class:`tests.fakes.FakeExecutor`: no TensorFlow.

Cancel, a killed worker, a worker that ignores SIGTERM, queueing, a server restart that
re-attaches or finds the worker gone, a lost node, and Resume to the full epoch count: each runs
in milliseconds and the test decides when each worker takes its next step, so no outcome depends
on how fast the machine is. The same paths with real workers: test_server_jobs.py.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lepton_lab.core.events import read_events
from lepton_lab.core.rundir import RunDir
from lepton_lab.server.devices import Gpu, GpuAllocator, GpuRequestError
from lepton_lab.server.jobs import JobManager, JobStateError
from tests.fakes import FakeExecutor, FakeWorker, Script

SPEC = {"name": "fake", "dataset": {"name": "digits"}, "train": {"epochs": 3}}


async def until(predicate: Callable[[], Any], timeout: float = 15.0) -> None:
    """Let the manager's loop run until ``predicate()`` (a guard against hanging, not a timing test)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.001)


def manager_for(runs_dir: Path, executor: FakeExecutor, **kwargs: Any) -> JobManager:
    manager = JobManager(
        runs_dir,
        executor=executor,
        allocator=GpuAllocator("none"),
        poll_interval_s=0.001,
        **kwargs,
    )
    manager.recover()
    manager.start()
    return manager


@pytest.fixture
def managers() -> Iterator[list[JobManager]]:
    """Managers a test creates (it stops them with :func:`stop_all`); forgets the fake workers."""
    created: list[JobManager] = []
    yield created
    FakeExecutor.live.clear()


async def stop_all(managers: list[JobManager]) -> None:
    for manager in managers:
        if not manager._stopped:
            await manager.stop()


def worker_of(executor: FakeExecutor, job_id: str) -> FakeWorker:
    (worker,) = [w for w in executor.started if w.run.id == job_id][-1:]
    return worker


async def started(manager: JobManager, executor: FakeExecutor, job_id: str) -> FakeWorker:
    await until(lambda: any(w.run.id == job_id for w in executor.started))
    return worker_of(executor, job_id)


async def ended(manager: JobManager, job_id: str) -> dict[str, Any]:
    await until(lambda: job_id not in manager._jobs)
    return manager.get(job_id)


def epochs_of(manager: JobManager, job_id: str) -> list[int]:
    events, _ = read_events(RunDir(manager.get(job_id)["run_dir"]).events_path)
    return [event["epoch"] for event in events if event["type"] == "epoch"]


async def test_a_job_completes_with_its_events_and_progress(tmp_path, managers):
    executor = FakeExecutor(Script(epochs=3))
    manager = manager_for(tmp_path, executor)
    managers.append(manager)
    job = manager.submit(SPEC)
    worker = await started(manager, executor, job["id"])

    worker.step()
    await until(lambda: manager.get(job["id"]).get("epoch") == 1)  # the manager read epoch 1
    assert manager.get(job["id"])["progress"]["epochs_done"] == 1
    worker.run_to_end()
    final = await ended(manager, job["id"])

    assert final["status"] == "completed" and final["exit_code"] == 0 and final["epoch"] == 3
    assert epochs_of(manager, job["id"]) == [1, 2, 3]
    assert manager.store.get(job["id"])["worker"] == {"kind": "fake", "run": job["id"], "number": 1}
    await stop_all(managers)


async def test_cancel_terminates_the_worker_which_records_cancelled(tmp_path, managers):
    executor = FakeExecutor(Script(epochs=3, outcome="forever"))
    manager = manager_for(tmp_path, executor)
    managers.append(manager)
    job = manager.submit(SPEC)
    worker = await started(manager, executor, job["id"])
    worker.step()

    assert manager.cancel(job["id"])["cancel_requested"] is True
    assert worker.stopping  # SIGTERM reached it
    worker.step()  # it saves and records its end
    final = await ended(manager, job["id"])

    assert final["status"] == "cancelled" and final["epoch"] == 1
    events, _ = read_events(worker.run.events_path)
    assert events[-1]["type"] == "status" and events[-1]["status"] == "cancelled"
    with pytest.raises(JobStateError, match="already cancelled"):
        manager.cancel(job["id"])
    await stop_all(managers)


async def test_a_worker_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path, managers):
    executor = FakeExecutor(Script(epochs=3, outcome="ignores_sigterm"))
    manager = manager_for(tmp_path, executor, cancel_grace_s=0.0)
    managers.append(manager)
    job = manager.submit(SPEC)
    worker = await started(manager, executor, job["id"])
    worker.step()

    manager.cancel(job["id"])
    final = await ended(manager, job["id"])

    assert worker.exit is not None and worker.exit.code == -signal.SIGKILL
    assert final["status"] == "cancelled" and "did not stop within 0 s of SIGTERM" in final["error"]
    assert final["epoch"] == 1  # from its events: it recorded nothing itself
    await stop_all(managers)


@pytest.mark.parametrize(
    ("script", "status", "message"),
    [
        (Script(epochs=1, outcome="killed"), "failed", "fake worker 1 was killed by SIGKILL"),
        (Script(epochs=1, outcome="failed", code=3), "failed", "scripted failure"),
        (Script(epochs=1, outcome="interrupted"), "interrupted", "was lost before the job finished"),
    ],
)
async def test_how_a_worker_ends_decides_the_status_and_the_message(
    tmp_path, managers, script, status, message
):
    executor = FakeExecutor(script)
    manager = manager_for(tmp_path, executor)
    managers.append(manager)
    job = manager.submit(SPEC)
    (await started(manager, executor, job["id"])).run_to_end()

    final = await ended(manager, job["id"])

    assert final["status"] == status and message in final["error"] and final["epoch"] == 1
    await stop_all(managers)


async def test_jobs_beyond_the_slots_wait_in_the_queue_then_run(tmp_path, managers):
    executor = FakeExecutor(Script(epochs=1))
    manager = manager_for(tmp_path, executor, slots=1)
    managers.append(manager)
    first, second = manager.submit(SPEC), manager.submit({**SPEC, "name": "second"})
    worker = await started(manager, executor, first["id"])

    waiting = manager.get(second["id"])
    assert waiting["status"] == "queued" and waiting["queue_position"] == 0
    assert len(executor.started) == 1  # the slot is taken
    worker.run_to_end()
    (await started(manager, executor, second["id"])).run_to_end()

    done_first, done_second = await ended(manager, first["id"]), await ended(manager, second["id"])
    assert done_first["status"] == done_second["status"] == "completed"
    assert done_second["started"] >= done_first["finished"]
    await stop_all(managers)


async def test_a_restarted_manager_reattaches_the_worker_from_its_ref(tmp_path, managers):
    executor = FakeExecutor(Script(epochs=3))
    manager = manager_for(tmp_path, executor)
    managers.append(manager)
    job = manager.submit(SPEC)
    worker = await started(manager, executor, job["id"])
    worker.step()
    await manager.stop()  # the server goes; the worker does not

    again = manager_for(tmp_path, FakeExecutor(Script(epochs=3)))  # a fresh executor instance
    managers.append(again)
    assert again.get(job["id"])["status"] == "running"
    assert again._jobs[job["id"]].worker is worker  # found again from the stored ref
    worker.run_to_end()
    final = await ended(again, job["id"])

    assert final["status"] == "completed" and epochs_of(again, job["id"]) == [1, 2, 3]
    await stop_all(managers)


async def test_a_worker_gone_across_a_restart_is_interrupted_and_resumes_to_the_full_epoch_count(
    tmp_path, managers
):
    executor = FakeExecutor(Script(epochs=3))
    manager = manager_for(tmp_path, executor)
    managers.append(manager)
    job = manager.submit(SPEC)
    worker = await started(manager, executor, job["id"])
    worker.step()
    await manager.stop()
    worker.kill()  # the worker dies while no server runs

    second_executor = FakeExecutor(Script(epochs=3))
    again = manager_for(tmp_path, second_executor)
    managers.append(again)
    interrupted = again.get(job["id"])
    assert interrupted["status"] == "interrupted" and "resume" in interrupted["error"]
    assert interrupted["epoch"] == 1

    again.resume(job["id"])
    resumed = await started(again, second_executor, job["id"])
    assert resumed.epoch == 1  # continues from its checkpoint
    resumed.run_to_end()
    final = await ended(again, job["id"])

    assert final["status"] == "completed" and final["epoch"] == 3
    assert epochs_of(again, job["id"]) == [1, 2, 3]
    await stop_all(managers)


async def test_a_lost_node_interrupts_the_job_and_resume_completes_it(tmp_path, managers):
    executor = FakeExecutor(Script(epochs=3))
    manager = manager_for(tmp_path, executor)
    managers.append(manager)
    job = manager.submit(SPEC)
    worker = await started(manager, executor, job["id"])
    worker.step()

    worker.lose_node()  # its node went away during epoch 2
    interrupted = await ended(manager, job["id"])
    assert interrupted["status"] == "interrupted" and interrupted["epoch"] == 1
    assert "fake worker 1 was lost" in interrupted["error"]

    manager.resume(job["id"])
    await until(lambda: len(executor.started) == 2)
    executor.started[-1].run_to_end()
    final = await ended(manager, job["id"])

    assert final["status"] == "completed" and epochs_of(manager, job["id"]) == [1, 2, 3]
    await stop_all(managers)


async def test_a_cluster_executor_s_nodes_and_each_job_s_node_are_shown(tmp_path, managers):
    executor = FakeExecutor(Script(epochs=1), node="node-b")
    manager = manager_for(tmp_path, executor)
    managers.append(manager)
    job = manager.submit(SPEC)
    worker = await started(manager, executor, job["id"])

    await until(lambda: manager.get(job["id"])["node"] == "node-b")  # the job's record names it
    (node,) = manager.devices()["nodes"]
    assert node["id"] == "node-b" and node["jobs"] == [job["id"]]
    worker.run_to_end()
    assert (await ended(manager, job["id"]))["node"] == "node-b"
    assert manager.devices()["nodes"][0]["jobs"] == []
    await stop_all(managers)


def test_a_local_executor_has_no_nodes_and_the_ray_address_reaches_the_ray_executor():
    from lepton_lab.server.extension import LeptonLabApp
    from lepton_lab.server.ray_executor import RayExecutor

    assert FakeExecutor().nodes() is None  # GET devices then lists this host's devices only
    app = LeptonLabApp(executor_class=RayExecutor, ray_address="10.0.0.2:6379")
    executor = app._make_executor()  # constructing it does not connect (nor import ray)
    assert isinstance(executor, RayExecutor) and executor.ray_address == "10.0.0.2:6379"
    assert executor.server_places_gpus is False  # Ray places GPUs (num_gpus), not the host allocator


async def test_a_job_asking_for_two_gpus_gets_both_at_once_and_later_jobs_wait_behind_it(tmp_path, managers):
    def three_gpus() -> list[Gpu]:
        return [
            Gpu(index=i, name="H", uuid=f"GPU-{i}", memory_total=1, memory_used=0, utilization=0)
            for i in range(3)
        ]

    executor = FakeExecutor(Script(epochs=1))
    manager = JobManager(
        tmp_path,
        executor=executor,
        allocator=GpuAllocator("exclusive", inventory=three_gpus),
        slots=4,
        poll_interval_s=0.001,
    )
    manager.recover()
    manager.start()
    managers.append(manager)
    two = {**SPEC, "resources": {"gpus": 2}}
    first = manager.submit({**two, "name": "first"})
    second = manager.submit({**two, "name": "second"})
    third = manager.submit({**SPEC, "name": "third", "resources": {"gpus": 1}})
    worker = await started(manager, executor, first["id"])

    assert len(manager.get(first["id"])["gpus"]) == 2 and executor.requests[first["id"]][1]["gpus"] == 2
    # Only one GPU is free: the two-GPU job waits, and the one-GPU job waits behind it (first in, first out).
    assert manager.get(second["id"])["status"] == manager.get(third["id"])["status"] == "queued"
    with pytest.raises(GpuRequestError, match="ask for at most 3"):
        manager.submit({**SPEC, "resources": {"gpus": 4}})

    worker.run_to_end()
    for job in (second, third):
        (await started(manager, executor, job["id"])).run_to_end()
        await ended(manager, job["id"])
    held_second, held_third = manager.get(second["id"])["gpus"], manager.get(third["id"])["gpus"]
    assert len(held_second) == 2 and len(held_third) == 1 and not set(held_second) & set(held_third)
    assert manager.get(second["id"])["gpu"] == held_second[0]
    await stop_all(managers)
