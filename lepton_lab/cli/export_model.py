"""``lepton-lab export-model``: export a run's model (SavedModel, TFLite, ONNX), verified.

TensorFlow loads only when the command runs (:mod:`lepton_lab.core.export` imports it to
export, never at import). The result is printed as a table; an accuracy change beyond the
tolerance is printed loudly on standard error (the export is still written).
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from lepton_lab.cli import terminal
from lepton_lab.core.export.layout import FORMATS, QUANTIZE_MODES, ExportError, check_options
from lepton_lab.core.run_store import DEFAULT_RUNS_DIR


def _percent(value: Any) -> str:
    return "" if value is None else f"{value * 100:.2f} %"


def _rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    latency = result.get("latency_ms") or {}
    change = result.get("accuracy_change")
    spec = result["input"]
    return [
        ("path", result["path"]),
        ("input", f"{spec['dtype']} {spec['shape']} x {spec['scale']:g}"),
        ("size", f"{result['size_bytes'] / 1024:.1f} KiB"),
        ("keras test accuracy", _percent(result["keras"].get("test_accuracy"))),
        ("test accuracy", _percent(result.get("test_accuracy"))),
        (
            "change",
            "" if change is None else f"{change * 100:+.2f} points (tolerance {result['tolerance'] * 100:g})",
        ),
        ("agreement with keras", _percent(result.get("agreement"))),
        ("examples", str(result.get("examples") or "")),
        ("latency batch 1", f"{latency['batch_1']:.3f} ms" if "batch_1" in latency else ""),
        ("latency batch 32", f"{latency['batch_32']:.3f} ms" if "batch_32" in latency else ""),
    ]


def cmd_export_model(
    run: str,
    format: str,
    quantize: str = "none",
    name: str | None = None,
    runs_dir: str = DEFAULT_RUNS_DIR,
    verify: bool = True,
    stream: TextIO | None = None,
    errors: TextIO | None = None,
) -> int:
    """Export ``run``'s model, print the verification table; return an exit code."""
    from lepton_lab.cli.runs import find_run

    out = terminal.console(stream if stream is not None else sys.stdout)
    err = errors if errors is not None else sys.stderr
    try:
        check_options(format, quantize)  # before loading TensorFlow: a typo fails at once
        found = find_run(run, runs_dir)
        print(f"exporting run {found.id} as {format} (quantize {quantize})...", file=err)
        from lepton_lab.core.export import export_model
        from lepton_lab.core.export.streams import native_stdout_to_stderr

        with native_stdout_to_stderr():  # the converters' C++ chatter stays off the table's stream
            result = export_model(found, format, quantize, name, verify)
    except (ExportError, LookupError, FileNotFoundError) as error:
        print(f"lepton-lab export-model: error: {error}", file=err)
        return 2
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, show_header=False)
    table.add_column("field")
    table.add_column("value")
    for field, value in _rows(result):
        table.add_row(field, value)
    out.print(table)
    if result.get("warning"):
        loud = terminal.console(err)
        loud.print(f"WARNING: {result['warning']}", style="bold red")
    return 0


def add_subcommands(subparsers: Any) -> None:
    """Add ``export-model`` to the ``lepton-lab`` argument parser."""
    command = subparsers.add_parser(
        "export-model",
        help="export a run's model as a SavedModel (TF Serving), TFLite or ONNX, verified on its test split",
    )
    command.add_argument("run", help="run directory, run id, or a unique part of the id")
    command.add_argument("--format", required=True, choices=FORMATS)
    command.add_argument(
        "--quantize",
        default="none",
        choices=QUANTIZE_MODES,
        help="tflite: none, float16, dynamic or int8; onnx: none or dynamic; savedmodel: none",
    )
    command.add_argument("--name", help="model name ([a-z0-9_-]); default: the run's name")
    command.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR, help="where to look up a run id")
    command.add_argument("--no-verify", action="store_true", help="skip scoring the export on the test split")
    command.set_defaults(
        handler=lambda args: cmd_export_model(
            args.run, args.format, args.quantize, args.name, args.runs_dir, not args.no_verify
        )
    )
