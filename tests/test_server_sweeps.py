"""Sweeps through the server's REST and WebSocket API, their trials trained by :mod:`tests.sweep_fakes`.

The fake workers train one epoch per poll of the job manager (or one per ``step()`` where a test
stops a sweep at a chosen point), with metrics a deterministic function of the trial's spec, so
these tests run real Optuna studies, real job managers and real run directories in seconds and
never depend on the machine's speed. The real worker (TensorFlow on digits):
test_server_sweeps_real.py.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from lepton_lab.core.sweep_spec import parse_sweep
from lepton_lab.server import sweep_study
from lepton_lab.server.sweep_run import SWEEPS_DIR
from lepton_lab.server.sweep_schema import Sweep, Trial
from tests.fakes import FakeExecutor
from tests.sweep_fakes import SweepWorker, final_accuracy

BASE = {"dataset": {"name": "digits"}, "model": {"preset": "small_cnn"}, "train": {"epochs": 2}}
CONTRACT_SWEEP_KEYS = {
    "id", "name", "state", "created", "finished", "strategy", "pruner", "max_trials", "parallel",
    "objective", "space", "counts", "best", "importance", "spec",
}  # fmt: skip
CONTRACT_TRIAL_KEYS = {"number", "job_id", "status", "params", "value", "epochs_run", "intermediate"}


@pytest.fixture
def executor_config() -> dict[str, Any]:
    """Settings of the fake executor (a test parametrizes it: ``polls_per_epoch`` 0 is stepped)."""
    return {"polls_per_epoch": 1}


@pytest.fixture
def jp_server_config(jp_server_config, executor_config):
    """Two job slots, fake sweep workers, a cancel's SIGKILL never before the worker's step."""
    jp_server_config["LeptonLabApp"].update(
        max_concurrent_jobs=2,
        cancel_grace_seconds=600.0,
        executor_class="tests.sweep_fakes.SweepFakeExecutor",
    )
    jp_server_config["SweepFakeExecutor"] = executor_config
    return jp_server_config


def quick(lab) -> None:
    lab.job_manager.poll_interval_s = lab.job_manager.context.poll_interval_s = 0.001


@pytest.fixture
def lab(jp_serverapp) -> Iterator[Any]:
    """The running LeptonLabApp, polling its jobs often (its fake workers forgotten afterwards)."""
    app = jp_serverapp.extension_manager.extension_points["lepton_lab"].app
    quick(app)
    yield app
    FakeExecutor.live.clear()


async def until(predicate: Callable[[], Any], timeout: float = 60.0) -> None:
    """Let the server run until ``predicate()`` (a guard against hanging, not a timing test)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.002)


async def api(jp_fetch, *parts: str, **kwargs: Any) -> Any:
    response = await jp_fetch("lepton-lab", "api", *parts, **kwargs)
    return json.loads(response.body) if response.body else None


async def error_of(jp_fetch, *parts: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HTTPClientError) as raised:
        await jp_fetch("lepton-lab", "api", *parts, **kwargs)
    body = raised.value.response.body if raised.value.response is not None else b"{}"
    return raised.value.code, json.loads(body or b"{}")


async def start_sweep(jp_fetch, **fields: Any) -> dict[str, Any]:
    body = {"name": "sweep", "base": BASE, **fields}
    response = await jp_fetch("lepton-lab", "api", "sweeps", method="POST", body=json.dumps(body))
    assert response.code == 201
    return json.loads(response.body)


async def finished_sweep(jp_fetch, sweep_id: str) -> dict[str, Any]:
    while (sweep := await api(jp_fetch, "sweeps", sweep_id))["state"] == "running":
        await asyncio.sleep(0.005)
    return sweep


async def trials(jp_fetch, sweep_id: str) -> list[dict[str, Any]]:
    return (await api(jp_fetch, "sweeps", sweep_id, "trials"))["trials"]


def trial_workers(sweep_id: str) -> list[SweepWorker]:
    """The live fake workers of ``sweep_id``'s trials."""
    found = []
    for worker in FakeExecutor.live.values():
        if isinstance(worker, SweepWorker) and f"sweep:{sweep_id}" in worker.spec.get("tags", []):
            found.append(worker)
    return found


# -- strategies ---------------------------------------------------------------------------------


async def test_grid_runs_every_combination_exactly_once_and_finds_the_best(jp_fetch, lab):
    rates, batches = [1e-3, 3e-3, 1e-2], [32, 64]
    space = {
        "train.learning_rate": {"type": "categorical", "choices": rates},
        "train.batch_size": {"type": "categorical", "choices": batches},
    }
    sweep = await start_sweep(jp_fetch, name="grid", space=space, strategy="grid", pruner="none", parallel=2)
    assert sweep["max_trials"] == 6  # the grid's size

    done = await finished_sweep(jp_fetch, sweep["id"])
    ran = await trials(jp_fetch, sweep["id"])

    combos = [(t["params"]["train.learning_rate"], t["params"]["train.batch_size"]) for t in ran]
    assert sorted(combos) == sorted(itertools.product(rates, batches))  # each exactly once
    assert [t["number"] for t in ran] == list(range(6))
    assert done["state"] == "completed" and done["counts"]["completed"] == 6
    best_spec = {**BASE, "train": {"epochs": 2, "learning_rate": 3e-3, "batch_size": 64}}
    assert done["best"]["params"] == {"train.learning_rate": 3e-3, "train.batch_size": 64}
    assert math.isclose(
        done["best"]["value"], max(v for _, v in ran[combos.index((3e-3, 64))]["intermediate"])
    )
    assert done["best"]["value"] < final_accuracy(best_spec)  # 2 epochs: still rising towards it
    # Each trial is an ordinary job, trained with its values, named and tagged for its sweep.
    for trial in ran:
        job = await api(jp_fetch, "jobs", trial["job_id"])
        assert job["name"] == f"grid #{trial['number']}"
        assert job["tags"] == [f"sweep:{sweep['id']}", f"trial:{trial['number']}"]
        assert job["spec"]["train"]["learning_rate"] == trial["params"]["train.learning_rate"]
        assert job["spec"]["train"]["batch_size"] == trial["params"]["train.batch_size"]


SAMPLED_SPACE = {
    "train.learning_rate": {"type": "float", "low": 1e-5, "high": 1e-1, "log": True},
    "train.batch_size": {"type": "int", "low": 16, "high": 128, "step": 16},
    "train.dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
    "model.preset": {"type": "categorical", "choices": ["mlp", "small_cnn"]},
}


@pytest.mark.parametrize("strategy", ["random", "tpe"])
async def test_sampled_values_respect_bounds_steps_and_log_scale_and_repeat_with_the_seed(
    jp_fetch, lab, strategy
):
    async def values(seed: int) -> list[dict[str, Any]]:
        sweep = await start_sweep(
            jp_fetch,
            space=SAMPLED_SPACE,
            strategy=strategy,
            pruner="none",
            max_trials=8,
            parallel=1,
            seed=seed,
        )
        await finished_sweep(jp_fetch, sweep["id"])
        return [t["params"] for t in await trials(jp_fetch, sweep["id"])]

    first, again, other = await values(7), await values(7), await values(8)

    assert first == again  # same seed, same trials
    assert first != other
    for params in first + other:
        assert 1e-5 <= params["train.learning_rate"] <= 1e-1
        assert params["train.batch_size"] in range(16, 129, 16)
        assert any(math.isclose(params["train.dropout"], k / 10) for k in range(6))
        assert params["model.preset"] in ("mlp", "small_cnn")
    # Log scale: half the draws fall below the geometric middle (1e-3); a linear scale puts 1 % there.
    low = [p for p in first + other if p["train.learning_rate"] < 1e-3]
    assert len(low) >= 4


# -- pruning ------------------------------------------------------------------------------------


async def test_a_pruned_trial_ends_pruned_with_its_events_kept(jp_fetch, lab):
    space = {"train.learning_rate": {"type": "float", "low": 1e-5, "high": 1.0, "log": True}}
    sweep = await start_sweep(
        jp_fetch, base={**BASE, "train": {"epochs": 4}}, space=space, strategy="random",
        pruner="median", max_trials=12, parallel=1, seed=0,
    )  # fmt: skip
    done = await finished_sweep(jp_fetch, sweep["id"])
    ran = await trials(jp_fetch, sweep["id"])

    pruned = [t for t in ran if t["status"] == "pruned"]
    assert pruned and done["counts"]["pruned"] == len(pruned)
    assert any(t["epochs_run"] < 4 for t in pruned)  # stopped early
    for trial in pruned:
        job = await api(jp_fetch, "jobs", trial["job_id"])
        assert job["status"] == "pruned" and job["epoch"] == trial["epochs_run"]
        events = (await api(jp_fetch, "jobs", trial["job_id"], "events"))["events"]
        epochs = [e["epoch"] for e in events if e["type"] == "epoch"]
        assert epochs == list(range(1, trial["epochs_run"] + 1))  # every epoch it trained is kept
        assert [e[0] for e in trial["intermediate"]] == epochs
        assert events[-1]["type"] == "status" and events[-1]["status"] == "pruned"
    # The median pruner only stops a trial below the median of the completed ones at that epoch.
    completed = [t for t in ran if t["status"] == "completed"]
    for trial in pruned:
        epoch, value = trial["intermediate"][-1]
        before = [t for t in completed if t["number"] < trial["number"]]  # parallel 1: all done before it
        at_epoch = sorted(v for t in before for e, v in t["intermediate"] if e == epoch)
        assert value < at_epoch[len(at_epoch) // 2]


async def test_hyperband_prunes_tpe_trials_and_the_sweep_still_runs_them_all(jp_fetch, lab):
    space = {"train.learning_rate": {"type": "float", "low": 1e-5, "high": 1.0, "log": True}}
    sweep = await start_sweep(
        jp_fetch, base={**BASE, "train": {"epochs": 6}}, space=space, strategy="tpe",
        pruner="hyperband", max_trials=14, parallel=1, seed=1,
    )  # fmt: skip
    done = await finished_sweep(jp_fetch, sweep["id"])
    ran = await trials(jp_fetch, sweep["id"])

    assert done["state"] == "completed" and len(ran) == 14
    assert {t["status"] for t in ran} <= {"completed", "pruned"} and done["counts"]["pruned"] >= 1
    assert done["best"]["number"] in [t["number"] for t in ran if t["status"] == "completed"]


@pytest.mark.parametrize("executor_config", [{"polls_per_epoch": 1, "fail_learning_rate": 1e-3}])
async def test_failed_trials_count_and_a_sweep_without_a_finished_trial_fails(jp_fetch, lab):
    diverging = {"train.learning_rate": {"type": "float", "low": 1e-3, "high": 1e-1, "log": True}}
    sweep = await start_sweep(jp_fetch, space=diverging, strategy="random", max_trials=3, parallel=1)
    done = await finished_sweep(jp_fetch, sweep["id"])

    assert done["state"] == "failed" and done["best"] is None
    assert done["counts"]["failed"] == 3 and len(await trials(jp_fetch, sweep["id"])) == 3


async def test_a_study_that_cannot_be_asked_fails_the_sweep_instead_of_stalling_it(
    jp_fetch, lab, monkeypatch
):
    ask = sweep_study.ask
    calls = []

    def ask_once(study: Any, spec: Any) -> Any:
        calls.append(1)
        if len(calls) > 1:
            raise OSError("journal.log: read-only file system")
        return ask(study, spec)

    monkeypatch.setattr(sweep_study, "ask", ask_once)
    space = {"train.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}}
    sweep = await start_sweep(jp_fetch, space=space, strategy="random", max_trials=3, parallel=1)
    done = await finished_sweep(jp_fetch, sweep["id"])

    assert done["state"] == "failed" and done["finished"] is not None
    assert [t["status"] for t in await trials(jp_fetch, sweep["id"])] == ["completed"]  # the one it asked


# -- cancel -------------------------------------------------------------------------------------


@pytest.mark.parametrize("executor_config", [{"polls_per_epoch": 0}])  # the test steps the workers
async def test_cancelling_a_sweep_stops_its_trials_and_starts_no_more(jp_fetch, lab):
    lab.job_manager.scheduler.slots = 1
    space = {"train.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}}
    sweep = await start_sweep(jp_fetch, space=space, strategy="random", max_trials=6, parallel=3)
    await until(lambda: len(trial_workers(sweep["id"])) == 1)
    running = trial_workers(sweep["id"])[0]
    running.step()  # one epoch
    listed = await trials(jp_fetch, sweep["id"])
    assert [t["status"] for t in listed] == ["running", "queued", "queued"]

    response = await jp_fetch("lepton-lab", "api", "sweeps", sweep["id"], method="DELETE")
    cancelled = json.loads(response.body)
    assert response.code == 200 and cancelled["state"] == "cancelled" and cancelled["finished"] is not None
    assert cancelled["counts"]["queued"] == 0 and cancelled["counts"]["cancelled"] == 2
    assert running.stopping  # SIGTERM sent; it saves and stops at its next step
    running.step()
    await until(lambda: not lab.job_manager._jobs)

    after = await trials(jp_fetch, sweep["id"])
    assert [t["status"] for t in after] == ["cancelled"] * 3  # no trial started after the cancel
    assert all(w.exit is not None for w in lab.job_manager.executor.started)
    assert len(lab.job_manager.executor.started) == 1  # the queued trials never got a worker
    assert (await api(jp_fetch, "jobs", params={"status": "queued,running"}))["jobs"] == []
    final = await api(jp_fetch, "sweeps", sweep["id"])
    assert final["state"] == "cancelled" and final["counts"]["cancelled"] == 3
    code, body = await error_of(jp_fetch, "sweeps", sweep["id"], method="DELETE")
    assert code == 409 and "already cancelled" in body["message"]


# -- restart ------------------------------------------------------------------------------------


async def restart(lab, while_down: Callable[[], None] = lambda: None) -> None:
    """What a server restart does to the extension: new managers (and executor) on the same runs."""
    await lab.stop_extension()
    while_down()
    lab.initialize_settings()
    quick(lab)
    lab._start_managers()


@pytest.mark.parametrize("executor_config", [{"polls_per_epoch": 0}])
async def test_a_restarted_server_finishes_the_sweep_with_the_requested_trials(jp_fetch, lab, runs_dir):
    space = {"train.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}}
    base = {**BASE, "train": {"epochs": 3}}
    sweep = await start_sweep(
        jp_fetch, base=base, space=space, strategy="random", pruner="none", max_trials=6, parallel=2, seed=3
    )
    await until(lambda: len(trial_workers(sweep["id"])) == 2)
    first, second = sorted(trial_workers(sweep["id"]), key=lambda w: w.number)
    first.run_to_end()  # trial 0 completes; trial 2 starts in its place
    await until(lambda: len(trial_workers(sweep["id"])) == 3)
    second.step()  # trial 1: epoch 1 before the restart ...
    third = max(trial_workers(sweep["id"]), key=lambda w: w.number)
    third.step()
    await until(lambda: lab.sweep_manager.sweeps[sweep["id"]].trials[2].intermediate)
    orphan: dict[str, Any] = {}

    def server_down() -> None:
        third.kill()  # trial 2's worker dies with the server: its job is interrupted, then resumed
        # The server stopped between asking the study for a trial and submitting its job.
        spec = parse_sweep(sweep["spec"])
        study = sweep_study.open_study(runs_dir / SWEEPS_DIR / sweep["id"], sweep["id"], spec, create=False)
        orphan.update(sweep_study.ask(study, spec).params)

    await restart(lab, server_down)
    second.step()  # ... epoch 2 after it
    while (await api(jp_fetch, "sweeps", sweep["id"]))["state"] == "running":
        for worker in trial_workers(sweep["id"]):
            worker.step()
        await asyncio.sleep(0.005)

    ran = await trials(jp_fetch, sweep["id"])
    numbers = [t["number"] for t in ran]
    assert len(ran) == 6 and len(set(numbers)) == 6  # the requested trials, no number twice
    assert 3 not in numbers  # the orphan is not a trial of the sweep ...
    assert [t["params"] for t in ran].count(orphan) == 1  # ... its values ran once, as another
    assert len({t["job_id"] for t in ran}) == 6
    assert {t["status"] for t in ran} == {"completed"}
    for trial in ran:  # each epoch reported once, also across the restart and the resume
        assert [e for e, _ in trial["intermediate"]] == [1, 2, 3]
    assert lab.job_manager.scan() == [] and SWEEPS_DIR not in lab.job_manager.store.ids()
    jobs = (await api(jp_fetch, "jobs"))["jobs"]
    assert sorted(j["id"] for j in jobs) == sorted(t["job_id"] for t in ran)  # .sweeps is no run
    resumed = await api(jp_fetch, "jobs", ran[2]["job_id"], "events")
    statuses = [e["status"] for e in resumed["events"] if e["type"] == "status"]
    assert "interrupted" in statuses and statuses[-1] == "completed"


# -- REST and WebSocket -------------------------------------------------------------------------


async def test_an_invalid_space_is_a_400_naming_the_path_before_any_trial(jp_fetch, lab):
    bad = {
        "train.learning_rate": {"type": "float", "low": 0.1, "high": 0.01},
        "train.nope": {"type": "int", "low": 1, "high": 3},
    }
    code, body = await error_of(
        jp_fetch, "sweeps", method="POST", body=json.dumps({"base": BASE, "space": bad})
    )
    assert code == 400
    assert "space.train.learning_rate: low 0.1 must be below high 0.01" in body["message"]
    assert "space.train.nope" in body["message"]
    tags = {
        "base": {**BASE, "tags": [f"t{i}" for i in range(31)]},
        "space": {"train.epochs": bad["train.nope"]},
    }
    code, body = await error_of(jp_fetch, "sweeps", method="POST", body=json.dumps(tags))
    assert code == 400 and "base.tags" in body["message"]
    assert (await api(jp_fetch, "sweeps"))["sweeps"] == []
    assert (await api(jp_fetch, "jobs"))["jobs"] == []  # no trial started


async def test_the_rest_answers_have_the_contract_shapes(jp_fetch, lab, runs_dir):
    space = {
        "train.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
        "train.batch_size": {"type": "categorical", "choices": [32, 64, 128]},
    }
    response = await jp_fetch(
        "lepton-lab", "api", "sweeps", method="POST",
        body=json.dumps({"name": "shapes", "base": BASE, "space": space, "max_trials": 4, "pruner": "none"}),
    )  # fmt: skip
    created = json.loads(response.body)
    assert response.headers["Location"].endswith(f"/lepton-lab/api/sweeps/{created['id']}")
    assert created["id"].startswith("sw-") and created["state"] == "running" and created["finished"] is None
    assert set(created) == CONTRACT_SWEEP_KEYS
    assert created["spec"]["objective"] == {
        "metric": "val_accuracy",
        "direction": "maximize",
    }  # defaults filled
    assert created["space"]["train.learning_rate"] == {
        "type": "float", "low": 1e-4, "high": 1e-2, "log": True, "step": None,
    }  # fmt: skip
    assert created["parallel"] == 2 and created["max_trials"] == 4  # parallel: the server's slots
    older = await start_sweep(jp_fetch, space=space, max_trials=1)

    run = lab.sweep_manager.sweeps[created["id"]]
    kept_file = runs_dir / SWEEPS_DIR / created["id"] / "sweep.json"

    def importance_saved() -> bool:  # computed in a thread, then saved on the event loop
        saved = json.loads(kept_file.read_text()).get("importance")
        settled = run.state == "completed" and not run.importance_busy
        return settled and saved is not None and saved == run.importance

    await until(importance_saved)
    done = await api(jp_fetch, "sweeps", created["id"])
    Sweep.model_validate(done)
    assert set(done) == CONTRACT_SWEEP_KEYS and done["state"] == "completed"
    assert sum(done["counts"].values()) == 4 and done["counts"]["completed"] == 4
    assert set(done["importance"]) == set(space) and math.isclose(sum(done["importance"].values()), 1.0)
    # A restarted server shows the saved importance without refitting.
    assert json.loads(kept_file.read_text())["importance"] == done["importance"]
    ran = await trials(jp_fetch, created["id"])
    for trial in ran:
        Trial.model_validate(trial)
        assert set(trial) == CONTRACT_TRIAL_KEYS and trial["epochs_run"] == 2
        assert trial["value"] == max(v for _, v in trial["intermediate"])
    assert done["best"] == {
        "number": max(ran, key=lambda t: t["value"])["number"],
        "job_id": max(ran, key=lambda t: t["value"])["job_id"],
        "value": max(t["value"] for t in ran),
        "params": max(ran, key=lambda t: t["value"])["params"],
    }
    listed = (await api(jp_fetch, "sweeps"))["sweeps"]
    assert [s["id"] for s in listed] == [older["id"], created["id"]]  # newest first
    for missing in (("sweeps", "sw-nope"), ("sweeps", "sw-nope", "trials")):
        code, body = await error_of(jp_fetch, *missing)
        assert code == 404 and "sw-nope" in body["message"]
    assert (await error_of(jp_fetch, "sweeps", "sw-nope", method="DELETE"))[0] == 404


async def test_the_stream_sends_the_sweeps_in_its_snapshot_and_each_change(jp_fetch, jp_ws_fetch, lab):
    lab.sweep_manager.throttle.interval_s = 0.0  # every change is a message (no throttling to wait out)
    ws = await jp_ws_fetch("lepton-lab", "api", "stream")
    snapshot = json.loads(await ws.read_message())
    assert snapshot == {"type": "snapshot", "jobs": [], "sweeps": [], "models": []}
    space = {"train.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}}
    sweep = await start_sweep(jp_fetch, space=space, max_trials=3, pruner="none")

    messages = []
    while not messages or messages[-1]["sweep"]["state"] == "running":
        message = json.loads(await asyncio.wait_for(ws.read_message(), 60))
        if message["type"] == "sweep":
            messages.append(message)
    assert {m["sweep"]["id"] for m in messages} == {sweep["id"]}
    assert messages[-1]["sweep"]["counts"]["completed"] == 3
    assert any(m["sweep"]["counts"]["running"] for m in messages)  # progress, not only the end
    again = await jp_ws_fetch("lepton-lab", "api", "stream")
    assert [s["id"] for s in json.loads(await again.read_message())["sweeps"]] == [sweep["id"]]
    ws.close()
    again.close()


async def test_every_sweep_route_requires_the_token(jp_fetch, lab):
    space = {"train.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2}}
    sweep = await start_sweep(jp_fetch, space=space, max_trials=1)
    no_token = {"Authorization": ""}
    body = json.dumps({"base": BASE, "space": space})
    requests = [
        (("sweeps",), "GET", None), (("sweeps",), "POST", body), (("sweeps", sweep["id"]), "GET", None),
        (("sweeps", sweep["id"]), "DELETE", None), (("sweeps", sweep["id"], "trials"), "GET", None),
    ]  # fmt: skip
    for parts, method, data in requests:
        code, _ = await error_of(jp_fetch, *parts, method=method, body=data, headers=no_token)
        assert code == 403, (parts, method)
    assert len((await api(jp_fetch, "sweeps"))["sweeps"]) == 1  # the refused POST started nothing


def test_the_server_imports_optuna_only_for_a_sweep_and_optuna_never_imports_tensorflow():
    script = (
        "import sys\n"
        "import lepton_lab.server.extension\n"
        "assert 'optuna' not in sys.modules, 'server start-up imported optuna'\n"
        "from lepton_lab.server import sweep_study\n"
        "sweep_study.optuna()\n"
        "import optuna.importance, sklearn.ensemble\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras'))\n"
        "assert not bad, bad\n"
    )
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
