"""Jobs through the server's REST and WebSocket API, trained by :class:`tests.fakes.FakeExecutor`.

Cancel, a killed worker, queueing, a server restart that re-attaches its worker and keeps
streaming, and an interrupted job resumed to the full epoch count: the test steps each fake worker
itself, so these run in milliseconds and never depend on the machine's speed. The real worker
through the server: test_server_smoke.py.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fakes import FakeExecutor, FakeWorker, Script

SPEC = {"name": "fake", "dataset": {"name": "digits"}, "train": {"epochs": 3}}
FINISHED = ("completed", "failed", "cancelled", "interrupted")


@pytest.fixture
def jp_server_config(jp_server_config):
    """One job at a time, on fake workers; a cancel's SIGKILL never comes before the worker's step."""
    jp_server_config["LeptonLabApp"].update(
        max_concurrent_jobs=1, cancel_grace_seconds=600.0, executor_class="tests.fakes.FakeExecutor"
    )
    return jp_server_config


@pytest.fixture
def lab(jp_serverapp) -> Iterator[Any]:
    """The running LeptonLabApp (its fake workers forgotten afterwards)."""
    app = jp_serverapp.extension_manager.extension_points["lepton_lab"].app
    app.job_manager.poll_interval_s = app.job_manager.context.poll_interval_s = 0.001
    yield app
    FakeExecutor.live.clear()


def executor(lab) -> FakeExecutor:
    fake = lab.job_manager.executor
    assert isinstance(fake, FakeExecutor)
    return fake


async def until(predicate: Callable[[], Any], timeout: float = 15.0) -> None:
    """Let the server run until ``predicate()`` (a guard against hanging, not a timing test)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.001)


async def get_json(jp_fetch, *parts: str, **kwargs: Any) -> Any:
    response = await jp_fetch("lepton-lab", "api", *parts, **kwargs)
    return json.loads(response.body)


async def submit(jp_fetch, lab, script: Script, name: str = "fake") -> dict[str, Any]:
    """Submit a job whose fake worker follows ``script``."""
    executor(lab).scripts[name] = script
    body = json.dumps({**SPEC, "name": name})
    response = await jp_fetch("lepton-lab", "api", "jobs", method="POST", body=body)
    assert response.code == 201
    return json.loads(response.body)


async def worker(lab, job_id: str) -> FakeWorker:
    await until(lambda: job_id in FakeExecutor.live)
    return FakeExecutor.live[job_id]


async def finished(jp_fetch, job_id: str) -> dict[str, Any]:
    while (job := await get_json(jp_fetch, "jobs", job_id))["status"] not in FINISHED:
        await asyncio.sleep(0.001)
    return job


async def events(jp_fetch, job_id: str, after: int = 0) -> list[dict[str, Any]]:
    return (await get_json(jp_fetch, "jobs", job_id, "events", params={"after": str(after)}))["events"]


async def read_until_closed(ws, timeout: float = 30.0) -> list[dict[str, Any]]:
    messages = []
    while (text := await asyncio.wait_for(ws.read_message(), timeout)) is not None:
        messages.append(json.loads(text))
    return messages


async def restart(lab) -> None:
    """What a server restart does to the extension: a new manager (and executor) on the same runs."""
    old = lab.job_manager
    await lab.stop_extension()
    lab.initialize_settings()
    lab.job_manager.poll_interval_s = lab.job_manager.context.poll_interval_s = 0.001
    lab.job_manager.start()
    assert lab.job_manager is not old and lab.job_manager.executor is not old.executor


async def test_cancel_stops_the_running_worker_and_keeps_its_events(jp_fetch, lab):
    job = await submit(jp_fetch, lab, Script(epochs=3, outcome="forever"))
    fake = await worker(lab, job["id"])
    fake.step()

    response = await jp_fetch("lepton-lab", "api", "jobs", job["id"], method="DELETE")
    assert response.code == 202 and json.loads(response.body)["cancel_requested"] is True
    assert fake.stopping
    fake.step()  # the worker saves and records cancelled
    final = await finished(jp_fetch, job["id"])

    assert final["status"] == "cancelled" and final["epoch"] == 1 and final["exit_code"] == 143
    listed = await events(jp_fetch, job["id"])
    assert [e["epoch"] for e in listed if e["type"] == "epoch"] == [1]
    assert listed[-1]["type"] == "status" and listed[-1]["status"] == "cancelled"


async def test_a_killed_worker_fails_with_its_events_kept(jp_fetch, lab):
    job = await submit(jp_fetch, lab, Script(epochs=3, outcome="forever"))
    fake = await worker(lab, job["id"])
    fake.step()

    fake.kill()  # the OOM killer, say
    final = await finished(jp_fetch, job["id"])

    assert final["status"] == "failed" and final["exit_code"] == -signal.SIGKILL
    assert "SIGKILL" in final["error"] and final["epoch"] == 1
    listed = await events(jp_fetch, job["id"])
    assert listed[-1]["type"] == "status" and listed[-1]["status"] == "failed"


async def test_jobs_beyond_the_slots_wait_in_the_queue_then_run(jp_fetch, lab):
    first = await submit(jp_fetch, lab, Script(epochs=1), "first")
    second = await submit(jp_fetch, lab, Script(epochs=1), "second")
    running = await worker(lab, first["id"])

    waiting = await get_json(jp_fetch, "jobs", second["id"])
    assert waiting["status"] == "queued" and waiting["queue_position"] == 0
    queued = await get_json(jp_fetch, "jobs", params={"status": "queued"})
    assert [j["id"] for j in queued["jobs"]] == [second["id"]]
    assert second["id"] not in FakeExecutor.live  # not started while the slot is taken

    running.run_to_end()
    (await worker(lab, second["id"])).run_to_end()
    done_first, done_second = await finished(jp_fetch, first["id"]), await finished(jp_fetch, second["id"])
    assert done_first["status"] == done_second["status"] == "completed"
    assert done_second["started"] >= done_first["finished"]


async def test_a_restarted_server_reattaches_the_worker_and_keeps_streaming(jp_fetch, jp_ws_fetch, lab):
    job = await submit(jp_fetch, lab, Script(epochs=3))
    fake = await worker(lab, job["id"])
    fake.step()
    offset = (await get_json(jp_fetch, "jobs", job["id"], "events"))["next"]

    await restart(lab)

    reattached = await get_json(jp_fetch, "jobs", job["id"])
    assert reattached["status"] == "running"
    assert lab.job_manager._jobs[job["id"]].worker is fake  # found again from the stored ref
    ws = await jp_ws_fetch("lepton-lab", "api", "jobs", job["id"], "stream", params={"after": str(offset)})
    fake.run_to_end()
    messages = await read_until_closed(ws)
    streamed = [e for m in messages if m["type"] == "events" for e in m["events"]]
    assert [e["epoch"] for e in streamed if e["type"] == "epoch"] == [2, 3]  # only what followed the offset
    assert messages[-1]["job"]["status"] == "completed"


async def test_an_interrupted_job_resumes_to_the_full_epoch_count(jp_fetch, lab):
    job = await submit(jp_fetch, lab, Script(epochs=3))
    fake = await worker(lab, job["id"])
    fake.step()
    fake.step()
    await lab.stop_extension()  # the server goes down ...
    fake.kill()  # ... and its worker dies with it
    lab.initialize_settings()
    lab.job_manager.poll_interval_s = lab.job_manager.context.poll_interval_s = 0.001
    lab.job_manager.start()

    interrupted = await get_json(jp_fetch, "jobs", job["id"])
    assert interrupted["status"] == "interrupted" and "resume" in interrupted["error"]
    assert interrupted["epoch"] == 2
    executor(lab).scripts["fake"] = Script(epochs=3)
    response = await jp_fetch("lepton-lab", "api", "jobs", job["id"], "resume", method="POST", body="")
    assert response.code == 202
    resumed = await worker(lab, job["id"])
    assert resumed is not fake and resumed.epoch == 2  # continues from its checkpoint
    resumed.run_to_end()
    final = await finished(jp_fetch, job["id"])

    assert final["status"] == "completed" and final["epoch"] == 3
    listed = await events(jp_fetch, job["id"])
    assert [e["epoch"] for e in listed if e["type"] == "epoch"] == [1, 2, 3]
    restarts = [e for e in listed if e["type"] == "status" and e.get("status") == "running"]
    assert len(restarts) == 2 and restarts[1]["epoch"] == 2
