"""Drive a notebook in a real JupyterLab: open it, run its cells, ask its kernel for values.

Cells run through JupyterLab's own ``notebook:run-cell`` command (what Shift+Enter does), so
outputs and widgets render in the page exactly as a person sees them. The Lab must be started
with ``--LabApp.expose_app_in_browser=True`` (:data:`LAB_ARGS`) so the page has ``window.jupyterapp``.

Every wait here is for a condition (a cell's execution finished, a value reached), never a delay.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import nbformat

from tests.browser.lab_api import wait_for
from tests.lab_server import LabServer

#: Extra ``jupyter lab`` arguments the helpers need.
LAB_ARGS = ("--LabApp.expose_app_in_browser=True",)

_RUN_CELL = """
async (index) => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  panel.content.activeCellIndex = index;
  await app.commands.execute('notebook:run-cell');
  const cell = panel.content.widgets[index];
  const errors = cell.model.outputs.toJSON().filter(o => o.output_type === 'error');
  return errors.map(o => o.ename + ': ' + o.evalue);
}
"""

_EVALUATE = """
async (expression) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute(
    {code: '', silent: true, store_history: false, user_expressions: {value: expression}});
  const reply = await future.done;
  return reply.content.user_expressions.value;
}
"""


def write_notebook(root: Path, name: str, cells: list[str]) -> Path:
    """Write a notebook of code ``cells`` (Python 3 kernel) under ``root``."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = root / name
    nbformat.write(nb, path)
    return path


def open_notebook(page: Any, lab: LabServer, name: str) -> None:
    """Open notebook ``name`` alone and wait until its kernel is idle and the app is reachable.

    A workspace of its own per notebook: Lab would otherwise reopen earlier tests' notebooks,
    whose widgets would also match the page's locators.
    """
    page.goto(lab.lab_url(f"lab/workspaces/{Path(name).stem}/tree/{name}"))
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=90_000)
    page.locator("#jp-main-statusbar", has_text=re.compile(r"\| Idle")).first.wait_for(timeout=90_000)
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
        " && window.jupyterapp.shell.currentWidget.sessionContext"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.connectionStatus"
        " === 'connected'",
        timeout=90_000,
    )


def run_cell(page: Any, index: int) -> None:
    """Run cell ``index`` as Shift+Enter would and wait for it to finish; fail on an error output."""
    errors = page.evaluate(_RUN_CELL, index)
    assert not errors, f"cell {index} raised: {errors}"


def kernel_value(page: Any, expression: str) -> Any:
    """Evaluate ``expression`` in the notebook's kernel and return it (JSON-able values only).

    The request travels on the kernel's shell channel after any widget message the page has
    already sent, so the answer reflects every change the page made before the call.
    """
    reply = page.evaluate(_EVALUATE, f"__import__('json').dumps({expression})")
    assert reply["status"] == "ok", f"{expression}: {reply.get('ename')}: {reply.get('evalue')}"
    return json.loads(ast.literal_eval(reply["data"]["text/plain"]))


def wait_for_kernel_value(page: Any, expression: str, expected: Any, timeout: float = 30) -> None:
    """Wait until ``expression`` evaluates to ``expected`` in the kernel."""
    seen: list[Any] = []

    def reached() -> bool:
        seen.append(kernel_value(page, expression))
        return seen[-1] == expected

    try:
        wait_for(reached, timeout, f"{expression} == {expected!r} in the kernel", interval=0.2)
    except AssertionError as error:
        raise AssertionError(f"{error}; last value {seen[-1] if seen else None!r}") from None
