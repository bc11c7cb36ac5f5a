"""The real-worker smoke test of LocalProcessExecutor: a tiny digits training through the server.

Cancel, kill, queueing, restart and resume run on FakeExecutor in test_server_jobs.py (through
the same REST and WebSocket API) and test_server_lifecycle.py (the job manager alone).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.usefixtures("reap_workers"), pytest.mark.slow]

TINY = {
    "dataset": {"name": "digits", "subset": 300},
    "model": {"preset": "mlp"},
    "train": {"epochs": 2, "batch_size": 32},
}
FINISHED = ("completed", "failed", "cancelled", "interrupted")
WAIT_S = 180.0


@pytest.fixture
def jp_server_config(jp_server_config):
    """One job at a time, and a short cancel grace period."""
    jp_server_config["LeptonLabApp"].update(max_concurrent_jobs=1, cancel_grace_seconds=5.0)
    return jp_server_config


async def get_json(jp_fetch, *parts: str, **kwargs: Any) -> Any:
    response = await jp_fetch("lepton-lab", "api", *parts, **kwargs)
    return json.loads(response.body)


async def submit(jp_fetch, body: dict[str, Any]) -> dict[str, Any]:
    response = await jp_fetch("lepton-lab", "api", "jobs", method="POST", body=json.dumps(body))
    assert response.code == 201
    return json.loads(response.body)


async def wait_status(jp_fetch, job_id: str, statuses=FINISHED, timeout: float = WAIT_S) -> dict[str, Any]:
    """Poll ``GET jobs/{id}`` until the job has one of ``statuses`` (also used by other test files)."""
    deadline = time.monotonic() + timeout
    while True:
        job = await get_json(jp_fetch, "jobs", job_id)
        if job["status"] in statuses:
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['status']} after {timeout} s"
        await asyncio.sleep(0.1)


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


async def test_submitted_job_streams_over_websocket_until_completed(jp_fetch, jp_ws_fetch, runs_dir):
    everything = await jp_ws_fetch("lepton-lab", "api", "stream")
    snapshot = json.loads(await everything.read_message())
    assert snapshot == {"type": "snapshot", "jobs": [], "sweeps": [], "models": []}

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
