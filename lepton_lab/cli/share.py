"""``lepton-lab report | export``: share a run or an executed notebook as one offline HTML file.

Neither command imports TensorFlow: the report reads the run directory and the dataset files,
the export only nbconvert.
"""

from __future__ import annotations

import sys
from typing import Any

from lepton_lab.core.run_store import DEFAULT_RUNS_DIR


def _size(path: Any) -> str:
    return f"{path.stat().st_size / 1e6:.1f} MB"


def cmd_report(run: str, output: str | None = None, runs_dir: str = DEFAULT_RUNS_DIR) -> int:
    """Write the HTML report of ``run``; return an exit code."""
    from lepton_lab.sharing.report import report

    try:
        path = report(run, output, runs_dir=runs_dir)
    except LookupError as error:
        print(f"lepton-lab report: {error}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({_size(path)})")
    return 0


def cmd_export(notebook: str, output: str, execute: bool = False, timeout: int = 600) -> int:
    """Export ``notebook`` as an offline HTML page; return an exit code."""
    from nbformat.reader import NotJSONError

    from lepton_lab.sharing.export import export_notebook

    try:
        path = export_notebook(notebook, output, execute=execute, timeout=timeout)
    except (FileNotFoundError, NotJSONError) as error:
        print(f"lepton-lab export: {error}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({_size(path)})")
    return 0


def add_subcommands(subparsers: Any) -> None:
    """Add ``report`` and ``export`` to the ``lepton-lab`` argument parser."""
    report = subparsers.add_parser(
        "report", help="write a self-contained HTML report of a run (opens without network)"
    )
    report.add_argument("run", help="run directory, run id, or a unique part of the id")
    report.add_argument(
        "-o", "--output", metavar="FILE.html", help="where to write it (default RUN_DIR/report.html)"
    )
    report.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR, help="where to look up a run id")
    report.set_defaults(handler=lambda args: cmd_report(args.run, args.output, args.runs_dir))

    export = subparsers.add_parser(
        "export", help="export an executed notebook as HTML whose plots and widgets show offline"
    )
    export.add_argument("notebook", metavar="NOTEBOOK.ipynb")
    export.add_argument("-o", "--output", metavar="FILE.html", required=True, help="the page to write")
    export.add_argument(
        "--execute", action="store_true", help="run the notebook first (the .ipynb is not changed)"
    )
    export.add_argument("--timeout", type=int, default=600, help="seconds per cell with --execute")
    export.set_defaults(
        handler=lambda args: cmd_export(args.notebook, args.output, args.execute, args.timeout)
    )
