"""A sweep end to end with real workers: TensorFlow trains each trial on digits with a tiny model.

The sweep logic is tested on fake workers in test_server_sweeps.py; this checks that what real
workers write (epoch events with ``val_accuracy``, the exit on completion) drives a sweep the same
way: both trials complete, each trial's value is its best epoch's ``val_accuracy`` and the sweep's
best is the better trial.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

pytestmark = [pytest.mark.usefixtures("reap_workers"), pytest.mark.slow]

TINY = {
    "dataset": {"name": "digits", "subset": 300},
    "model": {"preset": "mlp"},
    "train": {"epochs": 2, "batch_size": 32},
}
WAIT_S = 300.0


@pytest.fixture
def jp_server_config(jp_server_config):
    """One trial at a time, trained by the local executor's real worker processes."""
    jp_server_config["LeptonLabApp"].update(max_concurrent_jobs=1, cancel_grace_seconds=5.0)
    return jp_server_config


async def api(jp_fetch, *parts: str, **kwargs: Any) -> Any:
    return json.loads((await jp_fetch("lepton-lab", "api", *parts, **kwargs)).body)


async def test_a_grid_sweep_trains_real_trials_and_reports_their_best_epoch(jp_fetch):
    rates = [1e-3, 1e-2]
    body = {
        "name": "real",
        "base": TINY,
        "space": {"train.learning_rate": {"type": "categorical", "choices": rates}},
        "strategy": "grid",
        "pruner": "none",
    }
    response = await jp_fetch("lepton-lab", "api", "sweeps", method="POST", body=json.dumps(body))
    sweep = json.loads(response.body)
    deadline = time.monotonic() + WAIT_S
    while (sweep := await api(jp_fetch, "sweeps", sweep["id"]))["state"] == "running":
        assert time.monotonic() < deadline, f"sweep still running after {WAIT_S} s: {sweep['counts']}"
        await asyncio.sleep(0.5)

    trials = (await api(jp_fetch, "sweeps", sweep["id"], "trials"))["trials"]
    assert sweep["state"] == "completed" and sweep["counts"]["completed"] == 2
    assert sorted(t["params"]["train.learning_rate"] for t in trials) == rates
    for trial in trials:
        events = (await api(jp_fetch, "jobs", trial["job_id"], "events"))["events"]
        accuracies = [e["metrics"]["val_accuracy"] for e in events if e["type"] == "epoch"]
        assert len(accuracies) == trial["epochs_run"] == 2
        assert trial["intermediate"] == [[1, accuracies[0]], [2, accuracies[1]]]
        assert trial["value"] == max(accuracies)
        job = await api(jp_fetch, "jobs", trial["job_id"])
        assert (
            job["status"] == "completed"
            and job["spec"]["train"]["learning_rate"] == trial["params"]["train.learning_rate"]
        )
    best = max(trials, key=lambda t: t["value"])
    assert sweep["best"]["number"] == best["number"] and sweep["best"]["value"] == best["value"]
