"""The ``lepton-lab`` command: one module per group of subcommands.

- :mod:`~lepton_lab.cli.doctor` -- ``doctor``: versions, GPUs, datasets available offline.
- :mod:`~lepton_lab.cli.train` -- ``train``: headless training with a progress bar
  (:mod:`~lepton_lab.cli.progress`).
- :mod:`~lepton_lab.cli.runs` -- ``runs`` and ``show``: the run table and one run's details.
- :mod:`~lepton_lab.cli.share` -- ``report`` and ``export``: offline HTML to share.
- :mod:`~lepton_lab.cli.export_model` -- ``export-model``: a run's model as SavedModel, TFLite or ONNX.
- :mod:`~lepton_lab.cli.sweep` -- ``sweep`` and ``sweeps``: a hyperparameter sweep on a server.
- :mod:`~lepton_lab.cli.serve` -- ``serve``: a model behind TF Serving's REST API, without Jupyter.

Start-up stays light: nothing here imports TensorFlow (``train`` imports it when training
starts) and rich, which draws progress bars and tables (:mod:`~lepton_lab.cli.terminal`),
loads only when a command prints with it.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from lepton_lab._version import __version__
from lepton_lab.cli import doctor, export_model, runs, serve, share, sweep, train


def build_parser() -> argparse.ArgumentParser:
    """Argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="lepton-lab",
        description="Lepton Lab: interactive deep learning for JupyterLab.",
    )
    parser.add_argument("--version", action="version", version=f"lepton-lab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in (doctor, train, runs, share, export_model, sweep, serve):
        group.add_subcommands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lepton-lab`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    return int(handler(args) or 0)


__all__ = ["build_parser", "main"]
