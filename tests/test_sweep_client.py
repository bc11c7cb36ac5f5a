"""The sweep client: request bodies, the trials DataFrame, following, waiting and cancelling."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lepton_lab.client import ApiError, Job, JobStateNotice, LabClient
from lepton_lab.sweep_client import Sweep, sweep_request, trials_frame

FIXTURE = Path(__file__).parent / "fixtures" / "sweep_running.json"


@pytest.fixture
def recorded() -> dict[str, Any]:
    """A running sweep (3 completed, 2 pruned, 2 running, 1 queued trials) and its trials."""
    return json.loads(FIXTURE.read_text())


class RecordingClient:
    """Answers requests from a table and replays WebSocket messages; records what was asked."""

    def __init__(self, answers: dict[tuple[str, str], Any], messages: list[dict[str, Any]] = ()) -> None:
        self.answers = answers
        self.stream = list(messages)
        self.requests: list[tuple[str, str, Any]] = []

    def request(self, method: str, path: str, body: Any = None, params: Any = None) -> Any:
        self.requests.append((method, path, body))
        answer = self.answers[(method, path)]
        if isinstance(answer, Exception):
            raise answer
        return answer() if callable(answer) else answer

    def messages(self, path: str, params: Any = None, stop: Any = None, deadline: Any = None):
        assert path == "stream"
        yield from self.stream

    def jobs(self) -> list[Job]:
        return [Job(self, info) for info in self.request("GET", "jobs")["jobs"]]  # type: ignore[arg-type]

    def job(self, job_id: str) -> Job:
        return Job(self, self.request("GET", f"jobs/{job_id}"))  # type: ignore[arg-type]


# -- bodies and frames ------------------------------------------------------------------------------


def test_sweep_request_puts_base_space_and_objective_in_the_specs_shape():
    space = {"train.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}}
    body = sweep_request('{"dataset": {"name": "digits"}}', space, max_trials=6, name="lr", seed=3)
    assert body == {
        "name": "lr",
        "base": {"dataset": {"name": "digits"}},
        "space": space,
        "objective": {"metric": "val_accuracy"},  # direction left to the server's rule
        "strategy": "tpe", "max_trials": 6, "parallel": None, "pruner": "median", "seed": 3,
    }  # fmt: skip
    assert sweep_request({}, space, objective="val_loss", direction="minimize")["objective"] == {
        "metric": "val_loss", "direction": "minimize",
    }  # fmt: skip


def test_sweep_request_takes_a_jobspec_model():
    from lepton_lab.core.specs import parse_job

    body = sweep_request(parse_job({"dataset": {"name": "digits"}, "train": {"epochs": 2}}), {})
    assert body["base"]["train"]["epochs"] == 2 and body["base"]["dataset"]["name"] == "digits"


def test_bad_base_spec_is_a_clear_error():
    with pytest.raises(ValueError, match="base JobSpec is not valid JSON"):
        sweep_request("{nope", {})
    with pytest.raises(TypeError, match="base JobSpec is a spec model, a dict or JSON text, not int"):
        sweep_request(3, {})


def test_trials_frame_has_the_fixed_columns_then_one_per_parameter_in_space_order(recorded):
    frame = trials_frame(list(reversed(recorded["trials"])), recorded["sweep"]["space"])
    assert list(frame.columns) == [
        "number", "job_id", "status", "value", "epochs_run",
        "train.learning_rate", "train.batch_size", "train.dropout",
    ]  # fmt: skip
    assert frame["number"].tolist() == list(range(8))  # in trial order whatever the answer's order
    assert frame["status"].tolist()[:3] == ["completed", "pruned", "completed"]
    assert frame["value"].dtype == float and frame["value"].isna().tolist() == [False] * 6 + [True] * 2
    assert frame["epochs_run"].tolist() == [4, 2, 4, 4, 1, 1, 0, 0]
    assert frame.loc[frame["value"].idxmax(), "train.learning_rate"] == 0.0029


def test_trials_frame_of_no_trials_still_has_its_columns():
    frame = trials_frame([], {"train.dropout": {}})
    assert frame.empty and list(frame.columns)[-1] == "train.dropout"


def test_trials_frame_keeps_parameters_outside_the_space():
    frame = trials_frame([{"number": 0, "status": "queued", "params": {"model.preset": "mlp"}}], {})
    assert frame.loc[0, "model.preset"] == "mlp" and frame.loc[0, "epochs_run"] == 0


# -- the Sweep handle -------------------------------------------------------------------------------


def test_client_posts_a_sweep_and_returns_its_handle(recorded, monkeypatch):
    client = LabClient("http://127.0.0.1:1/")
    seen = []

    def request(method, path, body=None, **_):
        seen.append((method, path, body))
        return recorded["sweep"]

    monkeypatch.setattr(client, "request", request)
    sweep = client.sweep({"base": {}, "space": {}})
    assert isinstance(sweep, Sweep) and sweep.id == recorded["sweep"]["id"] and sweep.name == "lr-sweep"
    assert seen == [("POST", "sweeps", {"base": {}, "space": {}})]
    assert "lr-sweep" in repr(sweep) and "5/8 trials done" in repr(sweep) and "best 0.962" in repr(sweep)


def test_trials_and_best_are_fetched(recorded):
    sweep_id = recorded["sweep"]["id"]
    client = RecordingClient({
        ("GET", f"sweeps/{sweep_id}"): recorded["sweep"],
        ("GET", f"sweeps/{sweep_id}/trials"): {"trials": recorded["trials"]},
    })  # fmt: skip
    sweep = Sweep(client, {"id": sweep_id, "state": "running"})  # type: ignore[arg-type]
    assert sweep.best == recorded["sweep"]["best"]
    assert len(sweep.trials()) == 8 and sweep.state == "running" and not sweep.done


def test_follow_yields_each_change_of_this_sweep_until_it_ends(recorded):
    sweep_id = recorded["sweep"]["id"]
    running = recorded["sweep"]
    other = {**running, "id": "sw-other"}
    ended = {**running, "state": "completed"}
    client = RecordingClient(
        {("GET", f"sweeps/{sweep_id}"): running},
        [
            {"type": "snapshot", "jobs": [], "sweeps": [other, running]},
            {"type": "job", "job": {"id": "job-5", "status": "running"}},
            {"type": "sweep", "sweep": other},
            {"type": "sweep", "sweep": {**running, "counts": {**running["counts"], "completed": 4}}},
            {"type": "sweep", "sweep": ended},
            {"type": "sweep", "sweep": running},  # never read: the sweep had ended
        ],
    )
    sweep = Sweep(client, {"id": sweep_id})  # type: ignore[arg-type]
    states = [(info["state"], info["counts"]["completed"]) for info in sweep.follow()]
    assert states == [("running", 3), ("running", 3), ("running", 4), ("completed", 3)]
    assert sweep.info["state"] == "completed"


def test_wait_returns_at_once_for_an_ended_sweep_without_opening_the_stream(recorded):
    sweep_id = recorded["sweep"]["id"]
    client = RecordingClient({("GET", f"sweeps/{sweep_id}"): {**recorded["sweep"], "state": "failed"}})
    client.messages = None  # type: ignore[assignment]  # opening the stream would fail the test
    sweep = Sweep(client, {"id": sweep_id})  # type: ignore[arg-type]
    assert sweep.wait(timeout=5).info["state"] == "failed"


def test_wait_timeout_names_the_sweep_and_its_progress(recorded):
    sweep_id = recorded["sweep"]["id"]
    client = RecordingClient({("GET", f"sweeps/{sweep_id}"): recorded["sweep"]})

    def timing_out(path, params=None, stop=None, deadline=None):
        raise TimeoutError("no end of the stream before the timeout")
        yield  # pragma: no cover

    client.messages = timing_out  # type: ignore[assignment]
    with pytest.raises(TimeoutError, match=rf"sweep {sweep_id} still running after 3 s \(5/8 trials done"):
        Sweep(client, {"id": sweep_id}).wait(timeout=3)  # type: ignore[arg-type]


def test_cancel_of_an_ended_sweep_says_so_instead_of_raising(recorded):
    sweep_id = recorded["sweep"]["id"]
    client = RecordingClient({
        ("DELETE", f"sweeps/{sweep_id}"): ApiError(409, "sweep has already completed"),
        ("GET", f"sweeps/{sweep_id}"): {**recorded["sweep"], "state": "completed"},
    })  # fmt: skip
    with pytest.warns(JobStateNotice, match="had already completed; there was nothing to cancel"):
        assert Sweep(client, {"id": sweep_id}).cancel().info["state"] == "completed"  # type: ignore[arg-type]


def test_cancel_refused_for_another_reason_raises_the_servers_message(recorded):
    sweep_id = recorded["sweep"]["id"]
    client = RecordingClient({("DELETE", f"sweeps/{sweep_id}"): ApiError(404, f"no sweep {sweep_id}")})
    with pytest.raises(ApiError, match=f"no sweep {sweep_id}"):
        Sweep(client, {"id": sweep_id}).cancel()  # type: ignore[arg-type]


def test_jobs_are_the_trials_jobs_in_trial_order(recorded):
    sweep_id = recorded["sweep"]["id"]
    listed = [{"id": f"job-{n}", "status": "completed"} for n in (7, 3, 0, 1, 2, 4, 5, 6)]
    client = RecordingClient({
        ("GET", f"sweeps/{sweep_id}/trials"): {"trials": recorded["trials"]},
        ("GET", "jobs"): {"jobs": listed[1:]},
        ("GET", "jobs/job-7"): listed[0],  # not listed (archived): fetched by id
    })  # fmt: skip
    jobs = Sweep(client, {"id": sweep_id}).jobs()  # type: ignore[arg-type]
    assert [job.id for job in jobs] == [f"job-{n}" for n in range(8)]


def test_notebook_sweeps_can_be_watched_while_the_client_knows_no_widgets(recorded, monkeypatch):
    import lepton_lab
    from lepton_lab import client, notebook

    monkeypatch.setattr(client, "_default", LabClient("http://127.0.0.1:1/"))
    posted = []

    def request(method, path, body=None, **_):
        posted.append(body)
        return recorded["sweep"] if method == "POST" else {"sweeps": [recorded["sweep"]]}

    monkeypatch.setattr(client._default, "request", request)
    sweep = lepton_lab.sweep({"dataset": {"name": "digits"}}, {"train.dropout": {"type": "float", "low": 0,
                             "high": 0.5}}, max_trials=4, strategy="random")  # fmt: skip
    assert isinstance(sweep, notebook.Sweep) and hasattr(sweep, "watch")
    assert posted[0]["strategy"] == "random" and posted[0]["max_trials"] == 4
    assert all(isinstance(found, notebook.Sweep) for found in lepton_lab.sweeps())
    assert not hasattr(Sweep, "watch")


# -- against a real server (trials from tests.sweep_fakes: real run directories, no TensorFlow) -----

SPACE = {
    "train.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
    "train.batch_size": {"type": "categorical", "choices": [32, 64, 128]},
    "train.dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
}
BASE = {"name": "base", "dataset": {"name": "digits"}, "train": {"epochs": 3}}


@pytest.fixture(scope="module")
def sweep_server(tmp_path_factory):
    """A Jupyter server whose jobs are tests.sweep_fakes trials (an epoch per job-manager poll)."""
    from tests.api_server import running_server

    root = tmp_path_factory.mktemp("sweeps") / "root"
    root.mkdir()
    executor = "--LeptonLabApp.executor_class=tests.sweep_fakes.SweepFakeExecutor"
    with running_server(root, (executor, "--LeptonLabApp.max_concurrent_jobs=2")) as server:
        yield server


@pytest.fixture
def lab_client(sweep_server) -> LabClient:
    return LabClient(sweep_server.url, sweep_server.token)


def test_an_invalid_space_is_refused_with_the_path_and_reason_before_any_trial(lab_client):
    before = len(lab_client.sweeps())
    bad = {"base": BASE, "space": {"train.learning_rate": {"type": "float", "low": 0.1, "high": 0.01}}}
    with pytest.raises(ApiError) as refused:
        lab_client.sweep(bad)
    assert refused.value.status == 400
    assert "space.train.learning_rate" in refused.value.message and "0.1" in refused.value.message
    assert len(lab_client.sweeps()) == before


def test_a_sweep_runs_to_the_end_and_its_trials_are_a_dataframe_of_jobs(lab_client):
    body = sweep_request(BASE, SPACE, strategy="random", max_trials=5, parallel=2, pruner="none", seed=1,
                         name="e2e")  # fmt: skip
    sweep = lab_client.sweep(body)
    assert sweep.id.startswith("sw-") and sweep.name == "e2e"
    assert sweep.wait(timeout=120).info["state"] == "completed"

    frame = sweep.trials()
    assert frame["number"].tolist() == [0, 1, 2, 3, 4]
    assert set(frame["status"]) == {"completed"} and frame["epochs_run"].tolist() == [3] * 5
    assert frame["train.learning_rate"].between(1e-4, 1e-2).all()
    assert set(frame["train.batch_size"]) <= {32, 64, 128}
    best = sweep.best
    assert best is not None and best["value"] == pytest.approx(frame["value"].max())
    assert best["params"]["train.learning_rate"] == frame.loc[frame["value"].idxmax(), "train.learning_rate"]

    jobs = sweep.jobs()
    assert [job.id for job in jobs] == frame["job_id"].tolist()
    assert all(f"sweep:{sweep.id}" in job.info["tags"] for job in jobs)
    assert jobs[0].info["name"] == "e2e #0" and f"trial:{0}" in jobs[0].info["tags"]
    assert sweep.id in [found.id for found in lab_client.sweeps()]
    assert lab_client.get_sweep(sweep.id).info["state"] == "completed"


def test_cancel_stops_the_running_trials_and_the_queued_ones(lab_client):
    long = {**BASE, "train": {"epochs": 5000}}  # an epoch per poll: minutes, unless cancelled
    sweep = lab_client.sweep(sweep_request(long, SPACE, strategy="random", max_trials=6, parallel=2))
    for info in sweep.follow(timeout=60):
        if (info.get("counts") or {}).get("running"):
            break
    sweep.cancel(timeout=60)
    assert sweep.refresh().info["state"] == "cancelled"
    statuses = [job.status for job in sweep.jobs()]
    assert statuses and not {"queued", "running"} & set(statuses)
    assert sweep.wait(timeout=5).info["state"] == "cancelled"  # an ended sweep: no wait


def test_notebook_sweep_is_watched_live_to_its_final_charts(sweep_server, monkeypatch):
    import lepton_lab
    from lepton_lab import client

    monkeypatch.setenv("LEPTON_LAB_URL", sweep_server.url)
    monkeypatch.setenv("LEPTON_LAB_TOKEN", sweep_server.token)
    monkeypatch.setattr(client, "_default", None)
    sweep = lepton_lab.sweep(BASE, SPACE, strategy="tpe", max_trials=4, parallel=2, seed=3, name="watched")
    view = sweep.watch()
    sweep.wait(timeout=120)  # also waits for the view's final draw
    assert view.info["state"] == "completed" and "completed" in view.header.value
    assert len(view.trials) == 4 and view.table.value.count("<tr") == 5
    history = view.history.figure
    assert history is not None and len(history["data"][0]["x"]) == sum(
        trial["status"] == "completed" for trial in view.trials
    )
    assert view.parallel.figure is not None
    assert sweep.id in [found.id for found in lepton_lab.sweeps()]
