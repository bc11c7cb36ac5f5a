"""Run the tutorial notebooks headless with small settings, and read what they showed.

A notebook's first code cell is tagged ``parameters`` and holds its full-size settings; like
papermill, :func:`parameterise` inserts a cell tagged ``injected-parameters`` right after it that
overrides them. :func:`execute` runs the cells in a fresh kernel (nbclient, widget state saved) with
the kernel's working directory set, so ``lepton-runs/`` and any report land there.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"
PLOTLY_MIME = "application/vnd.plotly.v1+json"


def tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def load(name: str) -> Any:
    """Read ``notebooks/<name>`` as an nbformat v4 node."""
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def parameters_index(nb: Any) -> int:
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and PARAMETERS_TAG in tags(cell):
            return index
    raise AssertionError("the notebook has no code cell tagged 'parameters'")


def parameterise(nb: Any, **values: Any) -> Any:
    """Insert a cell overriding the parameters right after the ``parameters`` cell (in place)."""
    source = "\n".join(f"{name} = {value!r}" for name, value in values.items())
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = [INJECTED_TAG]
    nb.cells.insert(parameters_index(nb) + 1, cell)
    return nb


def _client(nb: Any, cwd: Path, timeout: int) -> NotebookClient:
    return NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd)}},
        store_widget_state=True,
    )


def execute(nb: Any, cwd: Path, timeout: int = 300, cells: Iterable[int] | None = None) -> Any:
    """Execute ``nb`` in place in one fresh kernel running in ``cwd``.

    Parameters
    ----------
    cells
        Indices of the cells to run (all by default); the others are left as they are.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    client = _client(nb, cwd, timeout)
    if cells is None:
        client.execute()
        return nb
    wanted = set(cells)
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if index in wanted:
                client.execute_cell(cell, index)
        client.set_widgets_metadata()
    return nb


def save(nb: Any, path: Path) -> Path:
    nbformat.write(nb, path)
    return path


def cell(nb: Any, cell_id: str) -> Any:
    """The cell with id ``cell_id``."""
    for candidate in nb.cells:
        if candidate.get("id") == cell_id:
            return candidate
    raise KeyError(f"no cell with id {cell_id!r}")


def stream_text(cell: Any) -> str:
    """Everything the cell printed (stdout and stderr)."""
    outputs = cell.get("outputs", [])
    return "".join(output.get("text", "") for output in outputs if output.output_type == "stream")


def alarming_outputs(nb: Any) -> list[tuple[str, str]]:
    """``(cell id, text)`` of what a reader takes for an error in a cell that worked.

    Every stderr stream (the notebook draws it red) and any printed TensorFlow warning or error
    (TensorFlow's logger may write them to stdout).
    """
    found = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.output_type != "stream":
                continue
            text = output.get("text", "")
            if output.get("name") == "stderr" or re.search(r"^(WARNING|ERROR):tensorflow", text, re.M):
                found.append((cell.get("id", "?"), text))
    return found


def text_plain(cell: Any) -> str:
    """The ``text/plain`` of the cell's results and displays, joined."""
    return "\n".join(
        str(output["data"]["text/plain"])
        for output in cell.get("outputs", [])
        if "data" in output and "text/plain" in output["data"]
    )


def outputs_with(nb_or_cell: Any, mime: str) -> list[dict[str, Any]]:
    """Outputs (of a notebook or of one cell) that carry ``mime``."""
    cells = nb_or_cell.cells if hasattr(nb_or_cell, "cells") else [nb_or_cell]
    return [output for c in cells for output in c.get("outputs", []) if mime in output.get("data", {})]


def errors(nb: Any) -> list[str]:
    """``"Name: message"`` of every exception a cell raised."""
    found = []
    for c in nb.cells:
        for output in c.get("outputs", []):
            if output.output_type == "error":
                found.append(f"{output.ename}: {output.evalue}")
    return found


def widget_state(nb: Any) -> dict[str, dict[str, Any]]:
    """Saved widget models by id (``{model_id: {"model_name": ..., "state": {...}}}``)."""
    return dict(nb.metadata.get("widgets", {}).get(WIDGET_STATE_MIME, {}).get("state", {}))


def widget_views(cell: Any) -> list[str]:
    """Ids of the widgets the cell displayed."""
    return [
        output["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
        for output in cell.get("outputs", [])
        if "application/vnd.jupyter.widget-view+json" in output.get("data", {})
    ]


def widget_tree(nb: Any, model_id: str) -> Iterator[dict[str, Any]]:
    """The saved model ``model_id`` and every model it contains (children, outputs' widgets)."""
    state = widget_state(nb)
    seen: set[str] = set()
    stack = [model_id]
    while stack:
        current = stack.pop()
        if current in seen or current not in state:
            continue
        seen.add(current)
        model = state[current]
        yield model
        text = json.dumps(model["state"])
        stack.extend(part.split('"')[0] for part in text.split("IPY_MODEL_")[1:])


def widget_html(nb: Any, cell: Any) -> str:
    """All HTML/text the widgets displayed by ``cell`` hold, including plots in their Output widgets."""
    pieces = []
    for model_id in widget_views(cell):
        for model in widget_tree(nb, model_id):
            state = model["state"]
            if isinstance(state.get("value"), str):
                pieces.append(state["value"])
            for output in state.get("outputs", []):
                pieces.append(json.dumps(output.get("data", {})))
    return "\n".join(pieces)


def widget_figures(nb: Any, cell: Any) -> list[dict[str, Any]]:
    """Plotly figures shown inside the widgets that ``cell`` displayed."""
    figures = []
    for model_id in widget_views(cell):
        for model in widget_tree(nb, model_id):
            for output in model["state"].get("outputs", []):
                if PLOTLY_MIME in output.get("data", {}):
                    figures.append(output["data"][PLOTLY_MIME])
    return figures


def largest_output_bytes(nb: Any) -> int:
    """Size of the largest single output or saved widget model, as JSON."""
    sizes = [len(json.dumps(output)) for c in nb.cells for output in c.get("outputs", [])]
    sizes += [len(json.dumps(model)) for model in widget_state(nb).values()]
    return max(sizes, default=0)
