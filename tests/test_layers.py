"""Layers as a contract: import-linter's contracts hold, and no string import slips past them.

``make lint`` runs ``lint-imports`` ([tool.importlinter] in pyproject.toml). import-linter reads
``import`` statements only, so an ``importlib.import_module("lepton_lab.widgets...")`` would cross
a layer unseen (``core/runner.py`` once reached the live plot that way): the AST check below
finds such calls in the layers that must not reach upwards.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lepton_lab"

#: Layer -> packages it must not import, by any means.
FORBIDDEN = {
    "core": ("lepton_lab.server", "lepton_lab.widgets", "lepton_lab.client", "lepton_lab.notebook"),
    "server": ("lepton_lab.widgets", "lepton_lab.notebook", "tensorflow", "keras"),
    "client.py": ("lepton_lab.widgets", "lepton_lab.notebook"),
}


def _string_imports(path: Path) -> list[tuple[int, str]]:
    """``(line, text)`` of each ``import_module(...)`` / ``__import__(...)`` call in ``path``.

    The text is the argument's string constant, or its source when it is computed (an f-string,
    a variable): a computed target is reported too, since no one can check where it leads.
    """
    source = path.read_text(encoding="utf-8")
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name in ("import_module", "__import__"):
            argument = node.args[0]
            text = (
                argument.value
                if isinstance(argument, ast.Constant)
                else ast.get_source_segment(source, argument)
            )
            found.append((node.lineno, str(text)))
    return found


def _modules(layer: str) -> list[Path]:
    path = PACKAGE / layer
    return sorted(path.rglob("*.py")) if path.is_dir() else [path]


def test_no_layer_reaches_a_forbidden_package_through_a_string_import():
    crossings = [
        f"{path.relative_to(ROOT)}:{line} imports {target!r}"
        for layer, forbidden in FORBIDDEN.items()
        for path in _modules(layer)
        for line, target in _string_imports(path)
        if not target.startswith("lepton_lab.") or target.startswith(forbidden)
    ]
    assert crossings == []


def test_the_string_import_check_finds_the_old_runner_seam(tmp_path):
    # What core/runner.py did before train(live=True) tailed the events file.
    old = tmp_path / "runner.py"
    old.write_text('import importlib\nlive_plot = importlib.import_module("lepton_lab.widgets.live_plot")\n')
    assert _string_imports(old) == [(2, "lepton_lab.widgets.live_plot")]


def test_import_linter_contracts_hold():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    kept = {line.removesuffix(" KEPT") for line in result.stdout.splitlines() if " KEPT" in line}
    kept = {line.split(" KEPT (")[0] for line in kept}
    assert {
        "core imports no server, widgets, client or Jupyter",
        "server imports no TensorFlow, Keras or widgets",
        "client imports no widgets",
    } <= kept
    assert ", 0 broken." in result.stdout
