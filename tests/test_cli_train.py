"""Tests of ``lepton-lab train | runs | show``."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lepton_lab.cli_train import ProgressPrinter, build_parser, cmd_runs, cmd_show, cmd_train
from lepton_lab.core.events import EventWriter

ROOT = Path(__file__).resolve().parents[1]


def test_importing_the_cli_does_not_import_tensorflow() -> None:
    code = "import sys, lepton_lab.cli_train; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.stdout.split() == ["False", "False"]


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
    printer = ProgressPrinter(path, stream=stream, interval=0.01).start()
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


def test_subcommands_parse() -> None:
    parser = build_parser()
    args = parser.parse_args(["train", "job.json", "--runs-dir", "r", "--epochs", "3"])
    assert (args.spec, args.runs_dir, args.epochs) == ("job.json", "r", 3)
    assert parser.parse_args(["show", "abcd"]).run == "abcd"
