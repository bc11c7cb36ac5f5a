"""Tests of ``lepton-lab sweep | sweeps``: errors, progress lines, exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from lepton_lab.cli import build_parser
from lepton_lab.cli.sweep import EXIT_USAGE, SweepProgress, cmd_sweep, cmd_sweeps
from lepton_lab.client import ApiError, ServerNotFound
from lepton_lab.sweep_client import Sweep

FIXTURE = Path(__file__).parent / "fixtures" / "sweep_running.json"

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
