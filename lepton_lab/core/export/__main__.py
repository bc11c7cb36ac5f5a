"""``python -m lepton_lab.core.export RUN_DIR --format F [--quantize Q] [--name N] [--no-verify]``.

Runs one export in a process of its own (the server never imports TensorFlow) and prints its
``export.json`` as the only thing on standard output. Everything the converters print goes to
standard error. Exit status 0 on success, 2 with a one-line ``error: ...`` on standard error for
a bad request (:class:`~lepton_lab.core.export.ExportError`), 1 for anything else.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from lepton_lab.core.export.layout import FORMATS, QUANTIZE_MODES, ExportError
from lepton_lab.core.export.streams import native_stdout_to_stderr


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lepton_lab.core.export", description="Export a run's model; print its export.json."
    )
    parser.add_argument("run_dir", help="the run directory")
    parser.add_argument("--format", required=True, choices=FORMATS)
    parser.add_argument("--quantize", default="none", choices=QUANTIZE_MODES)
    parser.add_argument("--name", default=None, help="model name ([a-z0-9_-]); default: the run's name")
    parser.add_argument(
        "--no-verify", action="store_true", help="skip loading the export back and scoring it"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the export; print its ``export.json``; return the exit status."""
    args = _parser().parse_args(argv)
    from lepton_lab.core.export import export_model

    try:
        with native_stdout_to_stderr():
            result = export_model(args.run_dir, args.format, args.quantize, args.name, not args.no_verify)
    except ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
