"""``lepton-lab train``: train a JobSpec headless, with a progress bar.

TensorFlow loads only when training starts; :class:`~lepton_lab.cli.progress.TrainingProgress`
draws from the run's ``events.jsonl``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from lepton_lab.cli.progress import TrainingProgress
from lepton_lab.core.run_store import DEFAULT_RUNS_DIR
from lepton_lab.core.rundir import RunDir
from lepton_lab.core.specs import SpecError, parse_job


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

    progress = TrainingProgress(run_dir.events_path).start()
    try:
        status = runner.run(job, run_dir)
    finally:
        progress.close()
    print(f"{status['status']}: {run_dir.path}", file=sys.stderr)
    if status.get("error"):
        print(f"error: {status['error']}", file=sys.stderr)
    from lepton_lab.core.worker import exit_code

    return exit_code(status["status"])


def add_subcommands(subparsers: Any) -> None:
    """Add ``train`` to the ``lepton-lab`` argument parser."""
    train = subparsers.add_parser("train", help="train a JobSpec (JSON file) with a progress bar")
    train.add_argument("spec", nargs="?", help="JobSpec JSON file (default: the digits example)")
    train.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR, help="where run directories go")
    train.add_argument("--epochs", type=int, help="override train.epochs")
    train.set_defaults(handler=lambda args: cmd_train(args.spec, args.runs_dir, args.epochs))
