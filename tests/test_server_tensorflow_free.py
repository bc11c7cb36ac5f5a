"""The server process never imports TensorFlow or Keras: training happens in worker processes.

The check runs against a real Jupyter server in this test's own process (pytest-jupyter), so it
asks ``sys.modules`` directly after the server has handled the requests a Lab panel and a
notebook make: submit a job (trained by a real worker process), stream its events over the
WebSocket, list datasets and devices. When an earlier test of the same session imported
TensorFlow (``sys.modules`` cannot forget it), the same test runs again in a fresh interpreter.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.usefixtures("reap_workers"), pytest.mark.slow]

#: Top-level packages the server process must never import.
FORBIDDEN = ("tensorflow", "keras", "tf_keras")

#: Set in the fresh interpreter that re-runs the test, so it checks instead of re-running again.
FRESH_ENV = "LEPTON_LAB_TEST_FRESH_INTERPRETER"

TINY = {
    "name": "tensorflow-free",
    "dataset": {"name": "digits", "subset": 200},
    "model": {"preset": "mlp"},
    "train": {"epochs": 1, "batch_size": 32},
}
REPO = Path(__file__).resolve().parent.parent


def loaded_forbidden() -> list[str]:
    """Modules of :data:`FORBIDDEN` packages this process has imported."""
    return sorted(name for name in sys.modules if name.split(".")[0] in FORBIDDEN)


def rerun_in_fresh_interpreter(test_id: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", f"{__file__}::{test_id}", "-q", "-p", "no:cacheprovider"],
        cwd=REPO,
        env={**os.environ, FRESH_ENV: "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


async def test_server_serving_a_job_datasets_and_devices_never_imports_tensorflow(jp_fetch, jp_ws_fetch):
    if loaded_forbidden() and not os.environ.get(FRESH_ENV):
        # An earlier test imported TensorFlow here: only a fresh interpreter can tell.
        rerun_in_fresh_interpreter("test_server_serving_a_job_datasets_and_devices_never_imports_tensorflow")
        return
    assert loaded_forbidden() == [], "starting the server (or pytest itself) imported TensorFlow"

    response = await jp_fetch("lepton-lab", "api", "jobs", method="POST", body=json.dumps(TINY))
    job_id = json.loads(response.body)["id"]
    ws = await jp_ws_fetch("lepton-lab", "api", "jobs", job_id, "stream")
    messages = []
    while (text := await asyncio.wait_for(ws.read_message(), 300)) is not None:
        messages.append(json.loads(text))
    events = [event for m in messages if m["type"] == "events" for event in m["events"]]
    statuses = [m["job"]["status"] for m in messages if m["type"] == "status"]
    assert statuses[-1] == "completed", messages[-1]
    assert any(event["type"] == "epoch" for event in events)  # a worker really trained it

    for route in (("datasets",), ("devices",), ("jobs",), ("jobs", job_id), ("jobs", job_id, "events")):
        await jp_fetch("lepton-lab", "api", *route)
    await jp_fetch("lepton-lab", "api", "jobs", job_id, "evaluation")

    assert loaded_forbidden() == []
