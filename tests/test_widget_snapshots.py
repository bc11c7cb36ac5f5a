"""Widgets carry a static text/html snapshot, shown where no widget manager runs.

nbconvert's HTML falls back to it when a notebook saved no widget state (JupyterLab's default),
so an evaluation view shared that way still shows its confusion matrix and table offline.
"""

from __future__ import annotations

import pytest

import lepton_lab as ll
from tests.sharing import execute_and_nbconvert, trained_run

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
    cells = (
        "import lepton_lab as ll",
        'run = ll.train(dataset="digits", model="mlp", train={"epochs": 1}, runs_dir="runs")\n'
        "ll.EvaluationView(run)",
    )
    # Saved as JupyterLab does by default: outputs, but no widget state.
    _, html_path = execute_and_nbconvert(cells, tmp_path, "shared", store_widget_state=False)
    page = html_path.read_text()
    assert f'<script type="{WIDGET_VIEW}">' not in page  # nbconvert used the snapshot, not the widget view
    assert 'class="lepton-svg' in page and page.count('class="cell"') == 100  # 10x10 confusion matrix
    assert "precision" in page.lower()
