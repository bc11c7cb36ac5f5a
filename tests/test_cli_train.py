"""Tests of ``lepton-lab train | runs | show``."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lepton_lab.cli import build_parser
from lepton_lab.cli.progress import TrainingProgress
from lepton_lab.cli.runs import cmd_runs, cmd_show
from lepton_lab.cli.train import cmd_train
from lepton_lab.core.events import EventWriter

ROOT = Path(__file__).resolve().parents[1]


def test_cli_help_and_run_listing_do_not_import_tensorflow(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from lepton_lab.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"main(['runs', '--runs-dir', {str(tmp_path)!r}])\n"
        f"main(['show', 'nope', '--runs-dir', {str(tmp_path)!r}])\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert "COMMAND" in result.stdout and "no runs in" in result.stdout
    assert result.stdout.split()[-2:] == ["False", "False"]


def test_train_then_runs_then_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("keras")
    spec = tmp_path / "job.json"
    spec.write_text(
        json.dumps(
            {
                "name": "cli",
                "dataset": {"name": "digits", "subset": 200},
                "model": {"preset": "mlp"},
                "train": {"epochs": 3},
            }
        )
    )
    runs_dir = tmp_path / "runs"
    assert cmd_train(str(spec), str(runs_dir), epochs=2) == 0
    err = capsys.readouterr().err
    assert "epoch 1/2" in err and "epoch 2/2" in err and "completed" in err and "test_accuracy" in err
    (run_path,) = runs_dir.iterdir()

    out = io.StringIO()
    assert cmd_runs(str(runs_dir), stream=out) == 0
    assert run_path.name in out.getvalue() and "completed" in out.getvalue()

    out = io.StringIO()
    assert cmd_show(run_path.name[-4:], str(runs_dir), stream=out) == 0
    text = out.getvalue()
    assert "status    completed  epoch 2/2" in text and "test      accuracy" in text and "val_loss" in text


def test_train_with_a_bad_spec_names_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "bad.json"
    spec.write_text(json.dumps({"dataset": {"name": "digits"}, "train": {"epochs": 0}}))
    assert cmd_train(str(spec), str(tmp_path / "runs")) == 2
    assert "train.epochs" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_show_of_unknown_run_says_how_to_list_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cmd_show("nope", str(tmp_path)) == 2
    assert "lepton-lab runs" in capsys.readouterr().err


def test_runs_of_empty_directory_says_so(tmp_path: Path) -> None:
    out = io.StringIO()
    assert cmd_runs(str(tmp_path), stream=out) == 0
    assert "no runs" in out.getvalue()


def test_progress_printer_writes_one_line_per_epoch_when_not_a_terminal(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    stream = io.StringIO()
    printer = TrainingProgress(path, stream=stream, interval=0.01).start()
    with EventWriter(path, flush_interval=0.01) as writer:
        writer.emit("batch", step=1, epoch=1, metrics={"loss": 2.0}, total_steps=4, epochs=2)
        writer.emit("epoch", step=2, epoch=1, metrics={"loss": 1.5, "val_accuracy": 0.5}, epochs=2)
        writer.emit("epoch", step=4, epoch=2, metrics={"loss": 1.0, "val_accuracy": 0.75}, epochs=2)
    printer.close()
    lines = stream.getvalue().splitlines()
    assert lines == [
        "epoch 1/2  loss 1.5000  val_accuracy 0.5000",
        "epoch 2/2  loss 1.0000  val_accuracy 0.7500",
    ]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_training_progress_on_a_terminal_draws_steps_metrics_and_the_panels_eta(tmp_path: Path) -> None:
    stream = _Terminal()
    # A long interval: the thread never reads by itself, the events are drawn by hand.
    progress = TrainingProgress(tmp_path / "events.jsonl", stream=stream, interval=3600).start()
    batch = {"type": "batch", "epoch": 1, "total_steps": 10, "epochs": 2}
    progress.draw(
        [
            {**batch, "t": 100.0, "step": 1, "metrics": {"loss": 2.0}},
            {**batch, "t": 101.0, "step": 2, "metrics": {"loss": 1.25, "accuracy": 0.5}},
        ]
    )
    progress.close()
    text = stream.getvalue()
    # One step per second, 8 steps left: the ETA JobMetrics (the Lab panel's rule) gives.
    assert "2/10" in text and "ETA 8 s" in text
    assert "loss 1.2500" in text and "accuracy 0.5000" in text
    assert "epoch 1/2" in text


def test_subcommands_parse() -> None:
    parser = build_parser()
    args = parser.parse_args(["train", "job.json", "--runs-dir", "r", "--epochs", "3"])
    assert (args.spec, args.runs_dir, args.epochs) == ("job.json", "r", 3)
    assert parser.parse_args(["show", "abcd"]).run == "abcd"
