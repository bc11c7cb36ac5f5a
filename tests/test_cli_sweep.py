"""Tests of ``lepton-lab sweep | sweeps``: errors, progress lines, exit codes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lepton_lab.cli import build_parser
from lepton_lab.cli.sweep import EXIT_USAGE, SweepProgress, cmd_sweep, cmd_sweeps
from lepton_lab.client import ApiError, ServerNotFound
from lepton_lab.sweep_client import Sweep

FIXTURE = Path(__file__).parent / "fixtures" / "sweep_running.json"
ROOT = Path(__file__).resolve().parents[1]

SPEC = {
    "name": "lr-sweep",
    "base": {"dataset": {"name": "digits"}, "train": {"epochs": 4}},
    "space": {"train.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}},
    "max_trials": 8,
}


@pytest.fixture
def recorded() -> dict[str, Any]:
    """A running sweep (3 completed, 2 pruned, 2 running, 1 queued trials) and its trials."""
    return json.loads(FIXTURE.read_text())


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps(SPEC))
    return path


class ReplayClient:
    """A server that accepts a sweep, then replays its states over the stream."""

    def __init__(
        self, recorded: dict[str, Any], states: list[dict[str, Any]], refuse: Exception | None = None
    ):
        self.recorded = recorded
        self.states = states
        self.refuse = refuse
        self.posted: list[Any] = []
        self.trials = recorded.get("trials", [])

    def sweep(self, document: Any) -> Sweep:
        if self.refuse is not None:
            raise self.refuse
        self.posted.append(document)
        return Sweep(self, dict(self.states[0]))  # type: ignore[arg-type]

    def sweeps(self) -> list[Sweep]:
        return [Sweep(self, state) for state in self.states[-1:]]  # type: ignore[arg-type]

    def request(self, method: str, path: str, body: Any = None, params: Any = None) -> Any:
        sweep_id = self.recorded["sweep"]["id"]
        if path == f"sweeps/{sweep_id}":
            return self.states[0]
        if path == f"sweeps/{sweep_id}/trials":
            return {"trials": self.trials}
        raise AssertionError(path)

    def messages(self, path: str, params: Any = None, stop: Any = None, deadline: Any = None):
        for state in self.states[1:]:
            yield {"type": "sweep", "sweep": state}


def _ended(recorded: dict[str, Any], state: str) -> dict[str, Any]:
    counts = {"queued": 0, "running": 0, "completed": 6, "pruned": 2, "failed": 0, "cancelled": 0}
    return {**recorded["sweep"], "state": state, "counts": counts}


def test_parser_knows_sweep_and_sweeps():
    parser = build_parser()
    args = parser.parse_args(["sweep", "s.json", "--no-follow", "--url", "http://h:1/"])
    assert args.spec == "s.json" and args.no_follow and args.url == "http://h:1/"
    assert parser.parse_args(["sweeps"]).handler is not None


def test_missing_file_and_bad_json_are_named(tmp_path: Path):
    err = io.StringIO()
    assert cmd_sweep(str(tmp_path / "nope.json"), stream=err) == EXIT_USAGE
    assert "no such sweep file" in err.getvalue() and "nope.json" in err.getvalue()
    bad = tmp_path / "bad.json"
    bad.write_text("{'space': }")
    err = io.StringIO()
    assert cmd_sweep(str(bad), stream=err) == EXIT_USAGE
    assert f"{bad} is not valid JSON" in err.getvalue()


def test_a_refused_spec_prints_the_servers_reason(recorded, spec_file):
    reason = "space.train.learning_rate: low 0.1 must be below high 0.01"
    client = ReplayClient(recorded, [recorded["sweep"]], refuse=ApiError(400, reason))
    err = io.StringIO()
    assert cmd_sweep(str(spec_file), client, stream=err) == EXIT_USAGE  # type: ignore[arg-type]
    assert err.getvalue() == f"lepton-lab sweep: {spec_file}: {reason}\n"


def test_no_server_says_how_to_point_at_one(spec_file, monkeypatch, tmp_path):
    monkeypatch.delenv("LEPTON_LAB_URL", raising=False)
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    err = io.StringIO()
    assert cmd_sweep(str(spec_file), stream=err) == EXIT_USAGE
    assert "LEPTON_LAB_URL" in err.getvalue()
    err = io.StringIO()
    unreachable = ReplayClient({}, [], refuse=ServerNotFound("cannot reach the Lepton Lab server"))
    assert cmd_sweep(str(spec_file), unreachable, stream=err) == EXIT_USAGE  # type: ignore[arg-type]
    assert "cannot reach" in err.getvalue()


def test_no_follow_prints_the_id_and_returns(recorded, spec_file, capsys):
    client = ReplayClient(recorded, [recorded["sweep"]])
    assert cmd_sweep(str(spec_file), client, follow=False, stream=io.StringIO()) == 0  # type: ignore[arg-type]
    assert capsys.readouterr().out.strip() == recorded["sweep"]["id"]
    assert client.posted == [SPEC]


@pytest.mark.parametrize(("state", "code"), [("completed", 0), ("failed", 1), ("cancelled", 143)])
def test_following_prints_each_finished_trial_once_and_exits_by_the_outcome(recorded, spec_file, state, code):
    ended = _ended(recorded, state)
    client = ReplayClient(recorded, [recorded["sweep"], recorded["sweep"], ended])
    err = io.StringIO()
    assert cmd_sweep(str(spec_file), client, stream=err) == code  # type: ignore[arg-type]
    text = err.getvalue()
    trial_lines = [line for line in text.splitlines() if line.startswith("trial ")]
    assert [line.split()[1] for line in trial_lines] == ["0", "1", "2", "3", "4"]  # finished ones, once each
    assert "trial   2 completed val_accuracy 0.9620  epochs 4  learning_rate=0.0029 batch_size=64" in text
    assert "trial   1 pruned    val_accuracy 0.4100  epochs 2" in text
    assert "5/8 trials done · 2 running · 1 queued · 2 pruned · best val_accuracy 0.9620 (trial 2)" in text
    assert f"sweep {ended['id']} {state}: 8/8 trials done" in text
    assert "best params: learning_rate=0.0029 batch_size=64 dropout=0.1000" in text


def test_progress_on_a_terminal_draws_a_bar_of_trials(recorded):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    sweep = Sweep(ReplayClient(recorded, [recorded["sweep"]]), recorded["sweep"])  # type: ignore[arg-type]
    progress = SweepProgress(sweep, out).start()
    progress.draw(recorded["sweep"])
    progress.close()
    assert (
        "5/8" in out.getvalue()
        and "2 running" in out.getvalue()
        and "best val_accuracy 0.9620" in out.getvalue()
    )


def test_sweeps_lists_id_state_trials_and_best(recorded):
    out = io.StringIO()
    client = ReplayClient(recorded, [_ended(recorded, "completed")])
    assert cmd_sweeps(client, stream=out) == 0  # type: ignore[arg-type]
    (row,) = [line for line in out.getvalue().splitlines() if recorded["sweep"]["id"] in line]
    assert row.split() == [
        recorded["sweep"]["id"],
        "lr-sweep",
        "completed",
        "8/8",
        "0",
        "2",
        "0.9620",
        "val_accuracy",
    ]


# -- against a real server (trials from tests.sweep_fakes) ------------------------------------------


@pytest.fixture(scope="module")
def sweep_server(tmp_path_factory):
    """A Jupyter server whose jobs are tests.sweep_fakes trials (an epoch per job-manager poll)."""
    from tests.api_server import running_server

    root = tmp_path_factory.mktemp("cli-sweeps") / "root"
    root.mkdir()
    executor = "--LeptonLabApp.executor_class=tests.sweep_fakes.SweepFakeExecutor"
    with running_server(root, (executor, "--LeptonLabApp.max_concurrent_jobs=2")) as server:
        yield server


def _cli(server: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``lepton-lab`` in a process of its own, pointed at ``server`` through the environment."""
    env = {
        **os.environ,
        "LEPTON_LAB_URL": server.url,
        "LEPTON_LAB_TOKEN": server.token,
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "lepton_lab.cli", *args], capture_output=True, text=True, env=env, cwd=ROOT,
        timeout=180,
    )  # fmt: skip


def test_cli_runs_a_sweep_to_the_end_then_lists_it(sweep_server, tmp_path):
    spec = tmp_path / "sweep.json"
    base = {**SPEC["base"], "train": {"epochs": 2}}
    document = {
        **SPEC,
        "name": "cli-sweep",
        "max_trials": 4,
        "strategy": "random",
        "pruner": "none",
        "base": base,
    }
    spec.write_text(json.dumps(document))
    result = _cli(sweep_server, "sweep", str(spec))
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    sweep_id = lines[0].split()[1]
    assert sweep_id.startswith("sw-") and "4 trials, random sampling, no pruning" in lines[0]
    trial_lines = [line for line in lines if line.startswith("trial ")]
    assert sorted(int(line.split()[1]) for line in trial_lines) == [0, 1, 2, 3]
    assert all(" completed val_accuracy 0." in line and "epochs 2" in line for line in trial_lines)
    assert f"sweep {sweep_id} completed: 4/4 trials done" in result.stderr
    assert "best params: learning_rate=" in result.stderr

    listed = _cli(sweep_server, "sweeps")
    assert listed.returncode == 0, listed.stderr
    (row,) = [line for line in listed.stdout.splitlines() if sweep_id in line]
    assert row.split()[1:4] == ["cli-sweep", "completed", "4/4"]


def test_cli_reports_the_servers_reason_for_an_invalid_space(sweep_server, tmp_path):
    spec = tmp_path / "bad.json"
    bad_space = {"train.learning_rate": {"type": "float", "low": 0.1, "high": 0.01}}
    spec.write_text(json.dumps({**SPEC, "space": bad_space}))
    result = _cli(sweep_server, "sweep", str(spec), "--no-follow")
    assert result.returncode == EXIT_USAGE and result.stdout == ""
    assert result.stderr.startswith(f"lepton-lab sweep: {spec}: ")
    assert "space.train.learning_rate: low 0.1 must be below high 0.01" in result.stderr
