"""Widgets carry a static text/html snapshot, shown where no widget manager runs.

nbconvert's HTML falls back to it when a notebook saved no widget state (JupyterLab's default),
so an evaluation view shared that way still shows its confusion matrix and table offline.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import lepton_lab as ll
from tests.sharing import trained_run

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def test_evaluation_view_snapshot_has_the_confusion_matrix_and_per_class_table(tmp_path_factory):
    run = ll.load_run(trained_run(tmp_path_factory))
    bundle = ll.EvaluationView(run)._repr_mimebundle_()
    assert WIDGET_VIEW in bundle  # the live widget is still what JupyterLab shows
    snapshot = bundle["text/html"]
    assert snapshot.count('class="cell"') == run.evaluation.confusion_frame().size  # one rect per cell
    for row in run.evaluation.per_class_frame().itertuples():
        assert f"{row.f1:.3f}" in snapshot
    assert "<script src=" not in snapshot


def test_hyperparameter_panel_snapshot_shows_the_chosen_values():
    panel = ll.HyperparameterPanel({"epochs": 7, "optimizer": "sgd", "momentum": 0.9})
    snapshot = panel._repr_mimebundle_()["text/html"]
    assert "sgd" in snapshot and "7" in snapshot


@pytest.mark.slow
def test_nbconvert_without_widget_state_shows_the_evaluation_snapshot(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import lepton_lab as ll"),
        nbformat.v4.new_code_cell(
            'run = ll.train(dataset="digits", model="mlp", train={"epochs": 1}, runs_dir="runs")\n'
            "ll.EvaluationView(run)"
        ),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    # As JupyterLab saves by default: outputs, but no widget state.
    NotebookClient(
        nb, timeout=300, kernel_name="python3", store_widget_state=False,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()  # fmt: skip
    ipynb = tmp_path / "shared.ipynb"
    nbformat.write(nb, ipynb)
    jupyter = Path(sys.executable).parent / "jupyter"
    subprocess.run(
        [str(jupyter), "nbconvert", "--to", "html", str(ipynb)],
        check=True, capture_output=True, timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )  # fmt: skip
    page = ipynb.with_suffix(".html").read_text()
    assert f'<script type="{WIDGET_VIEW}">' not in page  # nbconvert used the snapshot, not the widget view
    assert 'class="lepton-svg' in page and page.count('class="cell"') == 100  # 10x10 confusion matrix
    assert "precision" in page.lower()
