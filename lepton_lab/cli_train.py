"""``lepton-lab train | runs | show``: headless training and the run table in a terminal.

Hooked into :mod:`lepton_lab.cli` through :func:`add_subcommands`. TensorFlow loads only when
training starts; the progress bar follows ``events.jsonl`` (the same stream the server and the
widgets read) from a thread, so it never slows training down.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from lepton_lab.core.events import EventTail
from lepton_lab.core.run_store import DEFAULT_RUNS_DIR, Run, load_run, runs
from lepton_lab.core.rundir import RunDir
from lepton_lab.core.specs import SpecError, parse_job

#: Columns of ``lepton-lab runs``, when present.
RUN_COLUMNS = (
    "id", "status", "dataset.name", "model.preset", "train.epochs", "train.learning_rate",
    "final_loss", "best_val_accuracy", "test_accuracy", "duration_s",
)  # fmt: skip


def _format_metrics(metrics: dict[str, Any], names: tuple[str, ...]) -> str:
    parts = []
    for name in names:
        value = metrics.get(name)
        if isinstance(value, (int, float)):
            parts.append(f"{name} {value:.4f}")
    return "  ".join(parts)


class ProgressPrinter:
    """Draw training progress on ``stream`` from a run's events, in a background thread.

    On a terminal one line is redrawn in place; elsewhere (a log file, CI) only a line per
    epoch is written.

    Parameters
    ----------
    events_path
        The run's ``events.jsonl``.
    stream
        Where to draw (``sys.stderr`` by default).
    interval
        Seconds between reads of the events file.
    """

    def __init__(self, events_path: Path, stream: TextIO | None = None, interval: float = 0.25) -> None:
        self.tail = EventTail(events_path)
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self.interactive = self.stream.isatty()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lepton-progress", daemon=True)
        self._first: tuple[float, int] | None = None  # (time, step) of the first batch seen

    def start(self) -> ProgressPrinter:
        """Start following the events."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop following, after drawing the events written so far."""
        self._stop.set()
        self._thread.join()
        self._draw(self.tail.read())
        if self.interactive:
            self.stream.write("\n")
        self.stream.flush()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._draw(self.tail.read())

    def _draw(self, events: list[dict[str, Any]]) -> None:
        last_batch = None
        for event in events:
            if event.get("type") == "batch":
                last_batch = event
            elif event.get("type") == "epoch":
                metrics = event.get("metrics") or {}
                names = ("loss", "accuracy", "val_loss", "val_accuracy")
                line = f"epoch {event.get('epoch')}/{event.get('epochs')}  {_format_metrics(metrics, names)}"
                seconds = metrics.get("epoch_time_s")
                if isinstance(seconds, (int, float)):
                    line += f"  ({seconds:.1f}s)"
                self._write_line(line)
            elif event.get("type") == "eval":
                self._write_line(
                    f"test  {_format_metrics(event.get('metrics') or {}, ('test_accuracy', 'test_loss'))}"
                )
        if last_batch is not None and self.interactive:
            self._draw_bar(last_batch)

    def _write_line(self, text: str) -> None:
        prefix = "\r\x1b[2K" if self.interactive else ""
        self.stream.write(f"{prefix}{text}\n")
        self.stream.flush()

    def _draw_bar(self, event: dict[str, Any]) -> None:
        step, total = int(event.get("step") or 0), int(event.get("total_steps") or 0)
        now = event.get("t") or time.time()
        if self._first is None:
            self._first = (now, step)
        width = 24
        fraction = min(step / total, 1.0) if total else 0.0
        bar = "#" * int(fraction * width) + "-" * (width - int(fraction * width))
        eta = ""
        first_time, first_step = self._first
        if total and step > first_step and now > first_time:
            rate = (step - first_step) / (now - first_time)
            eta = f"  ETA {max(0.0, (total - step) / rate):.0f}s"
        metrics = _format_metrics(event.get("metrics") or {}, ("loss", "accuracy"))
        columns = shutil.get_terminal_size((100, 20)).columns
        line = f"epoch {event.get('epoch')}/{event.get('epochs')} [{bar}] {step}/{total}  {metrics}{eta}"
        self.stream.write("\r\x1b[2K" + line[: columns - 1])
        self.stream.flush()


def cmd_train(spec_path: str | None, runs_dir: str = DEFAULT_RUNS_DIR, epochs: int | None = None) -> int:
    """Train the JobSpec in ``spec_path`` (JSON) into a new run directory; return an exit code."""
    try:
        text = Path(spec_path).read_text(encoding="utf-8") if spec_path else '{"dataset": {"name": "digits"}}'
        job = parse_job(text)
        if epochs is not None:
            document = job.model_dump(mode="json")
            document["train"]["epochs"] = epochs
            job = parse_job(document)
    except FileNotFoundError:
        print(f"lepton-lab train: no such spec file {spec_path!r}", file=sys.stderr)
        return 2
    except SpecError as error:
        print(f"lepton-lab train: {spec_path}: {error}", file=sys.stderr)
        return 2
    run_dir = RunDir.create(runs_dir, job, origin="script")
    print(f"run {run_dir.id} in {run_dir.path}", file=sys.stderr)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from lepton_lab.core import runner  # TF-free to import; TensorFlow loads when training starts

    progress = ProgressPrinter(run_dir.events_path).start()
    try:
        status = runner.run(job, run_dir)
    finally:
        progress.close()
    print(f"{status['status']}: {run_dir.path}", file=sys.stderr)
    if status.get("error"):
        print(f"error: {status['error']}", file=sys.stderr)
    from lepton_lab.core.worker import exit_code

    return exit_code(status["status"])


def cmd_runs(runs_dir: str = DEFAULT_RUNS_DIR, stream: TextIO | None = None) -> int:
    """Print one line per run in ``runs_dir``."""
    import pandas as pd

    out = stream if stream is not None else sys.stdout
    table = runs(runs_dir)
    if table.empty:
        print(f"no runs in {runs_dir}", file=out)
        return 0
    columns = [c for c in RUN_COLUMNS if c in table.columns]
    with pd.option_context(
        "display.width", 200, "display.max_columns", 20, "display.float_format", "{:.4g}".format
    ):
        print(table[columns].to_string(index=False), file=out)
    return 0


def _find_run(run: str, runs_dir: str) -> Run:
    path = Path(run)
    if (path / "spec.json").is_file():
        return load_run(path)
    candidates = [p for p in Path(runs_dir).glob(f"*{run}*") if (p / "spec.json").is_file()]
    if len(candidates) == 1:
        return load_run(candidates[0])
    if not candidates:
        raise LookupError(f"no run matches {run!r} in {runs_dir}; list them with `lepton-lab runs`")
    names = ", ".join(sorted(p.name for p in candidates)[:5])
    raise LookupError(f"{run!r} matches {len(candidates)} runs ({names}); give more of the id")


def cmd_show(run: str, runs_dir: str = DEFAULT_RUNS_DIR, stream: TextIO | None = None) -> int:
    """Print a run's status, settings, epoch metrics and test evaluation."""
    import pandas as pd

    out = stream if stream is not None else sys.stdout
    try:
        found = _find_run(run, runs_dir)
    except LookupError as error:
        print(f"lepton-lab show: {error}", file=sys.stderr)
        return 2
    status = found.status
    spec = found.spec
    print(f"run       {found.id}  ({found.path})", file=out)
    print(f"status    {status.get('status')}  epoch {status.get('epoch')}/{status.get('epochs')}", file=out)
    if status.get("error"):
        print(f"error     {status['error']}", file=out)
    model = spec.model.preset or f"{len(spec.model.layers or [])} layers"
    train = spec.train
    print(f"dataset   {spec.dataset.name}   model {model}", file=out)
    print(
        f"train     {train.optimizer} lr={train.learning_rate:g} batch={train.batch_size} "
        f"epochs={train.epochs} seed={train.seed}",
        file=out,
    )
    metrics = found.metrics()
    if not metrics.empty:
        shown = [
            c
            for c in ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "epoch_time_s")
            if c in metrics
        ]
        with pd.option_context("display.float_format", "{:.4f}".format, "display.width", 200):
            print(metrics[shown].to_string(index=False), file=out)
    evaluation = found.evaluation
    if evaluation is not None:
        print(
            f"test      accuracy {evaluation.accuracy:.4f}  macro F1 {evaluation.macro['f1']:.4f}  "
            f"({evaluation.count} examples)",
            file=out,
        )
    return 0


def add_subcommands(subparsers: Any) -> None:
    """Add ``train``, ``runs`` and ``show`` to the ``lepton-lab`` argument parser."""
    train = subparsers.add_parser("train", help="train a JobSpec (JSON file) with a progress bar")
    train.add_argument("spec", nargs="?", help="JobSpec JSON file (default: the digits example)")
    train.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR, help="where run directories go")
    train.add_argument("--epochs", type=int, help="override train.epochs")
    train.set_defaults(handler=lambda args: cmd_train(args.spec, args.runs_dir, args.epochs))

    table = subparsers.add_parser("runs", help="list the runs in a runs directory")
    table.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR)
    table.set_defaults(handler=lambda args: cmd_runs(args.runs_dir))

    show = subparsers.add_parser("show", help="show one run's settings, metrics and evaluation")
    show.add_argument("run", help="run directory, run id, or a unique part of the id")
    show.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR)
    show.set_defaults(handler=lambda args: cmd_show(args.run, args.runs_dir))


def build_parser() -> argparse.ArgumentParser:
    """Build a parser with only these subcommands (for tests and ``python -m lepton_lab.cli_train``)."""
    parser = argparse.ArgumentParser(prog="lepton-lab")
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    return parser


if __name__ == "__main__":
    arguments = build_parser().parse_args()
    sys.exit(arguments.handler(arguments))
