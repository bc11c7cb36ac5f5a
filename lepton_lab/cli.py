"""The ``lepton-lab`` command.

Start-up stays light: nothing here imports TensorFlow; subcommands that train
import it when they start training.
"""

from __future__ import annotations

import argparse
import platform
import sys
from collections.abc import Sequence

from lepton_lab import cli_share, cli_train
from lepton_lab._version import __version__


def _doctor(_args: argparse.Namespace) -> int:
    """Print what a user needs to know about this installation."""
    from lepton_lab.core import datasets
    from lepton_lab.core.runner import cpu_has_native_bfloat16
    from lepton_lab.server.devices import gpus
    from lepton_lab.server.status import installed_version, tensorflow_version

    def row(label: str, value: str) -> None:
        print(f"{label:<14}{value}")

    row("Python", f"{platform.python_version()} ({sys.executable})")
    row("lepton_lab", __version__)
    row("JupyterLab", installed_version("jupyterlab") or "not installed")
    row("TensorFlow", tensorflow_version() or "not installed — pip install tensorflow")
    row("Keras", installed_version("keras") or "not installed")
    found = gpus()
    summary = ", ".join(f"{gpu.index}: {gpu.name}" for gpu in found)
    row("GPUs", summary or "none (training runs on CPU)")
    if cpu_has_native_bfloat16():
        row("CPU bfloat16", "native: training uses mixed bfloat16 unless train.mixed_precision is false")
    else:
        row("CPU bfloat16", "not native: training on the CPU uses float32")
    print("Datasets available offline:")
    for entry in datasets.available():
        mark = "yes" if entry["offline"] else "no "
        print(f"  [{mark}] {entry['name']:<14}{entry['description']}")
        if not entry["offline"] and entry.get("hint"):
            print(f"        {entry['hint']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="lepton-lab",
        description="Lepton Lab: interactive deep learning for JupyterLab.",
    )
    parser.add_argument("--version", action="version", version=f"lepton-lab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    doctor = sub.add_parser("doctor", help="show versions, GPUs and the datasets available offline")
    doctor.set_defaults(handler=_doctor)
    cli_train.add_subcommands(sub)
    cli_share.add_subcommands(sub)
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


if __name__ == "__main__":
    sys.exit(main())
