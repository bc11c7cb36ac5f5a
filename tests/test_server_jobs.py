"""Jobs through the server: real worker processes training tiny models on ``digits`` (CPU)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

pytestmark = [pytest.mark.usefixtures("reap_workers"), pytest.mark.slow]

TINY = {
    "dataset": {"name": "digits", "subset": 300},
    "model": {"preset": "mlp"},
    "train": {"epochs": 2, "batch_size": 32},
}
FINISHED = ("completed", "failed", "cancelled", "interrupted")
WAIT_S = 180.0
#: Epochs of a job a test must catch mid-run: a tiny digits epoch takes ~20-50 ms here.
LONG_EPOCHS = 60


def spec(epochs: int, name: str = "run") -> dict[str, Any]:
    """TINY with ``epochs`` epochs."""
    return {**TINY, "name": name, "train": {**TINY["train"], "epochs": epochs}}


@pytest.fixture
def jp_server_config(jp_server_config):
    """One job at a time, and a short cancel grace period."""
    jp_server_config["LeptonLabApp"].update(max_concurrent_jobs=1, cancel_grace_seconds=5.0)
    return jp_server_config


@pytest.fixture
def lab(jp_serverapp):
    """The running LeptonLabApp."""
    return jp_serverapp.extension_manager.extension_points["lepton_lab"].app


async def get_json(jp_fetch, *parts: str, **kwargs: Any) -> Any:
    response = await jp_fetch("lepton-lab", "api", *parts, **kwargs)
    return json.loads(response.body)


async def submit(jp_fetch, body: dict[str, Any]) -> dict[str, Any]:
    response = await jp_fetch("lepton-lab", "api", "jobs", method="POST", body=json.dumps(body))
    assert response.code == 201
    return json.loads(response.body)


async def wait_status(jp_fetch, job_id: str, statuses=FINISHED, timeout: float = WAIT_S) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = await get_json(jp_fetch, "jobs", job_id)
        if job["status"] in statuses:
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['status']} after {timeout} s"
        await asyncio.sleep(0.1)


async def wait_epochs(jp_fetch, job_id: str, epochs: int, timeout: float = WAIT_S) -> int:
    """Wait until ``epochs`` epoch events exist; return the events offset at that moment."""
    deadline = time.monotonic() + timeout
    while True:
        page = await get_json(jp_fetch, "jobs", job_id, "events")
        if sum(e["type"] == "epoch" for e in page["events"]) >= epochs:
            return page["next"]
        assert time.monotonic() < deadline, f"job {job_id} did not reach epoch {epochs} in {timeout} s"
        await asyncio.sleep(0.05)


async def read_until_closed(ws, timeout: float = WAIT_S) -> list[dict[str, Any]]:
    messages = []
    while True:
        text = await asyncio.wait_for(ws.read_message(), timeout)
        if text is None:
            return messages
        messages.append(json.loads(text))


def events_of(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [event for m in messages if m["type"] == "events" for event in m["events"]]


def lines(path: Path) -> int:
    return path.read_bytes().count(b"\n")


def worker_gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def restart(lab) -> None:
    """What a server restart does to the extension: a new manager over the same runs directory."""
    old = lab.job_manager
    await lab.stop_extension()
    lab.initialize_settings()
    lab.job_manager.start()
    assert lab.job_manager is not old


async def test_submitted_job_streams_over_websocket_until_completed(jp_fetch, jp_ws_fetch, runs_dir):
    everything = await jp_ws_fetch("lepton-lab", "api", "stream")
    snapshot = json.loads(await everything.read_message())
    assert snapshot == {"type": "snapshot", "jobs": []}

    job = await submit(jp_fetch, TINY)
    assert job["status"] in ("queued", "running")
    ws = await jp_ws_fetch("lepton-lab", "api", "jobs", job["id"], "stream", params={"after": "0"})
    messages = await read_until_closed(ws)

    assert ws.close_code == 1000
    events = events_of(messages)
    assert [e["epoch"] for e in events if e["type"] == "epoch"] == [1, 2]
    steps = [e["step"] for e in events if e["type"] == "batch"]
    assert steps and steps == sorted(set(steps))  # every batch event once, in order
    assert messages[-1]["type"] == "status" and messages[-1]["job"]["status"] == "completed"
    events_file = runs_dir / job["id"] / "events.jsonl"
    assert max(m["next"] for m in messages if m["type"] == "events") == lines(events_file)
    assert len(events) == lines(events_file)

    final = await get_json(jp_fetch, "jobs", job["id"])
    assert final["status"] == "completed" and final["exit_code"] == 0 and final["epoch"] == 2
    assert "accuracy" in json.dumps(await get_json(jp_fetch, "jobs", job["id"], "evaluation"))

    seen = []
    while not any(m["type"] == "status" and m["job"]["status"] == "completed" for m in seen):
        seen.append(json.loads(await asyncio.wait_for(everything.read_message(), 30)))
    statuses = [m["job"]["status"] for m in seen if m["type"] == "status" and m["job"]["id"] == job["id"]]
    assert statuses[0] == "queued" and "running" in statuses and statuses[-1] == "completed"
    progress = [m for m in seen if m["type"] == "progress" and m["id"] == job["id"]]
    assert progress and progress[-1]["epochs"] == 2
    everything.close()


async def test_cancel_stops_running_worker_and_keeps_events(jp_fetch, runs_dir):
    job = await submit(jp_fetch, spec(300))
    await wait_epochs(jp_fetch, job["id"], 1)
    pid = (await get_json(jp_fetch, "jobs", job["id"]))["pid"]

    response = await jp_fetch("lepton-lab", "api", "jobs", job["id"], method="DELETE")
    assert response.code == 202 and json.loads(response.body)["cancel_requested"] is True
    final = await wait_status(jp_fetch, job["id"], timeout=60)

    assert final["status"] == "cancelled"
    assert final["epoch"] is not None and final["epoch"] < 300
    assert worker_gone(pid)
    events = (await get_json(jp_fetch, "jobs", job["id"], "events"))["events"]
    assert any(e["type"] == "epoch" for e in events)
    assert events[-1]["type"] == "status" and events[-1]["status"] == "cancelled"


async def test_killed_worker_fails_with_its_events_kept(jp_fetch):
    job = await submit(jp_fetch, spec(300))
    await wait_epochs(jp_fetch, job["id"], 1)
    pid = (await get_json(jp_fetch, "jobs", job["id"]))["pid"]

    os.kill(pid, signal.SIGKILL)
    final = await wait_status(jp_fetch, job["id"], timeout=60)

    assert final["status"] == "failed"
    assert final["exit_code"] == -signal.SIGKILL
    assert "SIGKILL" in final["error"]
    events = (await get_json(jp_fetch, "jobs", job["id"], "events"))["events"]
    assert any(e["type"] == "epoch" and e["epoch"] == 1 for e in events)
    assert events[-1]["type"] == "status" and events[-1]["status"] == "failed"


async def test_restarted_server_reattaches_live_worker_and_keeps_streaming(jp_fetch, jp_ws_fetch, lab):
    # Enough epochs that the worker is still training when the test freezes it, however fast.
    job = await submit(jp_fetch, spec(LONG_EPOCHS))
    await wait_epochs(jp_fetch, job["id"], 1)
    pid = (await get_json(jp_fetch, "jobs", job["id"]))["pid"]
    os.killpg(pid, signal.SIGSTOP)  # hold the worker still so it cannot finish during the restart
    offset = (await get_json(jp_fetch, "jobs", job["id"], "events"))["next"]

    await restart(lab)

    reattached = await get_json(jp_fetch, "jobs", job["id"])
    assert reattached["status"] == "running" and reattached["pid"] == pid
    ws = await jp_ws_fetch("lepton-lab", "api", "jobs", job["id"], "stream", params={"after": str(offset)})
    os.killpg(pid, signal.SIGCONT)
    messages = await read_until_closed(ws)
    epochs = [e["epoch"] for e in events_of(messages) if e["type"] == "epoch"]
    assert epochs and epochs[-1] == LONG_EPOCHS and min(epochs) >= 2  # only what came after the offset
    assert messages[-1]["job"]["status"] == "completed"
    assert (await get_json(jp_fetch, "jobs", job["id"]))["exit_code"] in (0, None)


async def test_interrupted_job_resumes_to_the_full_epoch_count(jp_fetch, lab):
    job = await submit(jp_fetch, spec(LONG_EPOCHS))
    await wait_epochs(jp_fetch, job["id"], 2)
    pid = (await get_json(jp_fetch, "jobs", job["id"]))["pid"]
    os.killpg(pid, signal.SIGSTOP)  # frozen mid-run, so it cannot finish before it dies

    await lab.stop_extension()  # the server goes down ...
    os.kill(pid, signal.SIGKILL)  # ... and its worker dies with it
    deadline = time.monotonic() + 30
    while not worker_gone(pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    lab.initialize_settings()
    lab.job_manager.start()

    interrupted = await get_json(jp_fetch, "jobs", job["id"])
    assert interrupted["status"] == "interrupted" and "resume" in interrupted["error"]
    response = await jp_fetch("lepton-lab", "api", "jobs", job["id"], "resume", method="POST", body="")
    assert response.code == 202
    final = await wait_status(jp_fetch, job["id"], ("completed", "failed", "cancelled"))

    assert final["status"] == "completed" and final["epoch"] == LONG_EPOCHS
    events = (await get_json(jp_fetch, "jobs", job["id"], "events"))["events"]
    assert {e["epoch"] for e in events if e["type"] == "epoch"} == set(range(1, LONG_EPOCHS + 1))
    restarts = [e for e in events if e["type"] == "status" and e.get("status") == "running"]
    assert len(restarts) == 2 and restarts[1]["epoch"] >= 1  # continued from a checkpoint


async def test_jobs_beyond_the_slots_wait_in_the_queue_then_run(jp_fetch):
    first = await submit(jp_fetch, spec(2, "first"))
    second = await submit(jp_fetch, spec(2, "second"))

    waiting = await get_json(jp_fetch, "jobs", second["id"])
    assert waiting["status"] == "queued" and waiting["queue_position"] == 0
    assert (await get_json(jp_fetch, "jobs", params={"status": "queued"}))["jobs"][0]["id"] == second["id"]

    done_first = await wait_status(jp_fetch, first["id"])
    done_second = await wait_status(jp_fetch, second["id"])
    assert done_first["status"] == done_second["status"] == "completed"
    assert done_second["started"] >= done_first["finished"]
