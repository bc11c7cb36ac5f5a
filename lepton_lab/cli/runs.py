"""``lepton-lab runs | show``: the run table and one run's details, as rich tables."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from lepton_lab.cli import terminal
from lepton_lab.core import runtime_policy
from lepton_lab.core.run_store import DEFAULT_RUNS_DIR, Run, load_run, runs

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

#: Columns of ``lepton-lab runs``, when present.
RUN_COLUMNS = (
    "id", "status", "dataset.name", "model.preset", "train.epochs", "train.learning_rate",
    "final_loss", "best_val_accuracy", "test_accuracy", "duration_s",
)  # fmt: skip

#: Columns of the epoch table of ``lepton-lab show``, when present.
EPOCH_COLUMNS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "epoch_time_s", "input_wait_s")


def _cell(value: Any, float_format: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return format(value, float_format)
    return str(value)


def _table(frame: pd.DataFrame, float_format: str) -> Table:
    """Return a rich table of ``frame``'s rows: numbers right-aligned, ids never folded."""
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in frame.columns:
        numeric = frame[column].dtype.kind in "iuf"
        table.add_column(str(column), justify="right" if numeric else "left", no_wrap=column == "id")
    for row in frame.itertuples(index=False):
        table.add_row(*(_cell(value, float_format) for value in row))
    return table


def cmd_runs(runs_dir: str = DEFAULT_RUNS_DIR, stream: TextIO | None = None) -> int:
    """Print a table of the runs in ``runs_dir``."""
    out = terminal.console(stream if stream is not None else sys.stdout)
    table = runs(runs_dir)
    if table.empty:
        out.print(f"no runs in {runs_dir}")
        return 0
    columns = [c for c in RUN_COLUMNS if c in table.columns]
    out.print(_table(table[columns], ".4g"))
    return 0


def find_run(run: str, runs_dir: str) -> Run:
    """Return the run at path ``run``, or the one run in ``runs_dir`` whose id contains ``run``.

    Raises
    ------
    LookupError
        No run matches, or several do; the message says how to list them or what to add.
    """
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
    out = terminal.console(stream if stream is not None else sys.stdout)
    try:
        found = find_run(run, runs_dir)
    except LookupError as error:
        print(f"lepton-lab show: {error}", file=sys.stderr)
        return 2
    status = found.status
    spec = found.spec
    out.print(f"run       {found.id}  ({found.path})")
    out.print(f"status    {status.get('status')}  epoch {status.get('epoch')}/{status.get('epochs')}")
    if status.get("error"):
        out.print(f"error     {status['error']}")
    model = spec.model.preset or f"{len(spec.model.layers or [])} layers"
    train = spec.train
    out.print(f"dataset   {spec.dataset.name}   model {model}")
    out.print(
        f"train     {train.optimizer} lr={train.learning_rate:g} batch={train.batch_size} "
        f"epochs={train.epochs} seed={train.seed}"
    )
    for label, text in runtime_policy.describe(found.spec_document.get("runtime") or {}):
        out.print(f"{label:<9} {text}", markup=False, highlight=False)
    metrics = found.metrics()
    if not metrics.empty:
        out.print(_table(metrics[[c for c in EPOCH_COLUMNS if c in metrics]], ".4f"))
    evaluation = found.evaluation
    if evaluation is not None:
        out.print(
            f"test      accuracy {evaluation.accuracy:.4f}  macro F1 {evaluation.macro['f1']:.4f}  "
            f"({evaluation.count} examples)"
        )
    return 0


def add_subcommands(subparsers: Any) -> None:
    """Add ``runs`` and ``show`` to the ``lepton-lab`` argument parser."""
    table = subparsers.add_parser("runs", help="list the runs in a runs directory")
    table.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR)
    table.set_defaults(handler=lambda args: cmd_runs(args.runs_dir))

    show = subparsers.add_parser("show", help="show one run's settings, metrics and evaluation")
    show.add_argument("run", help="run directory, run id, or a unique part of the id")
    show.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR)
    show.set_defaults(handler=lambda args: cmd_show(args.run, args.runs_dir))
