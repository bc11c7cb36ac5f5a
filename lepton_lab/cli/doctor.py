"""``lepton-lab doctor``: what a user needs to know about this installation, without TensorFlow."""

from __future__ import annotations

import argparse
import platform
import sys
from typing import Any

from lepton_lab._version import __version__


def cmd_doctor(_args: argparse.Namespace | None = None) -> int:
    """Print versions, GPUs, the CPU's bfloat16 support and the datasets available offline."""
    from lepton_lab.core import datasets
    from lepton_lab.core.hardware import cpu_has_native_bfloat16
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
    entries = datasets.available()
    width = max(14, *(len(entry["name"]) + 1 for entry in entries))
    for entry in entries:
        mark = "yes" if entry["offline"] else "no "
        print(f"  [{mark}] {entry['name']:<{width}}{entry['description']}")
        if not entry["offline"] and entry.get("hint"):
            print(f"        {entry['hint']}")
    return 0


def add_subcommands(subparsers: Any) -> None:
    """Add ``doctor`` to the ``lepton-lab`` argument parser."""
    doctor = subparsers.add_parser("doctor", help="show versions, GPUs and the datasets available offline")
    doctor.set_defaults(handler=cmd_doctor)
