"""SweepView in a real JupyterLab: a sweep started from a notebook is drawn live to its end.

The Lab server runs ``tests.sweep_fakes.SweepFakeExecutor`` (TensorFlow-free trials writing real
run directories), slowed to a second or so per epoch so the view is seen while trials run. The
notebook calls ``ll.sweep(...).watch()``: the view must show the best-so-far curve, importance
bars and parallel coordinates as plotly charts and the trial table, update without another cell
running, and leave its final state in the cell's output for a saved notebook.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.browser.notebook_ui import (
    LAB_ARGS,
    kernel_value,
    open_notebook,
    run_cell,
    wait_for_kernel_value,
    write_notebook,
)
from tests.lab_server import running_lab

REPO = Path(__file__).resolve().parents[2]
EXECUTOR = "tests.sweep_fakes.SweepFakeExecutor"

CELL = """\
import lepton_lab as ll
space = {
    "train.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
    "train.batch_size": {"type": "categorical", "choices": [32, 64, 128]},
    "train.dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
}
sweep = ll.sweep({"dataset": {"name": "digits"}, "train": {"epochs": 3}}, space,
                 strategy="tpe", max_trials=8, parallel=1, pruner="median", seed=0, name="browser-sweep")
sweep.watch()
"""


@pytest.fixture
def sweep_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    # The server process imports the executor class from `tests`: the repository root on its path.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    root = tmp_path / "root"
    root.mkdir()
    args = (
        *LAB_ARGS,
        f"--LeptonLabApp.executor_class={EXECUTOR}",
        "--SweepFakeExecutor.polls_per_epoch=16",  # ~1 s per epoch: trials are seen running
        "--LeptonLabApp.max_concurrent_jobs=2",
    )
    with running_lab(root, extra_args=args) as lab:
        yield lab


def test_sweep_view_draws_its_charts_live_and_keeps_the_final_state(
    sweep_lab: Any, page: Any, artifacts: Path
) -> None:
    write_notebook(sweep_lab.root, "sweep.ipynb", [CELL])
    page.set_viewport_size({"width": 1400, "height": 1900})  # the whole view fits: one screenshot
    open_notebook(page, sweep_lab, "sweep.ipynb")
    run_cell(page, 0)  # returns once the cell has run: the sweep goes on, the view follows it

    view = page.locator(".lepton-sweep-view").first
    view.wait_for(timeout=60_000)
    header = view.locator(".lepton-sweep-header")
    # Live: trials running while no cell runs, then the end, drawn by the view's own thread.
    header.locator(".lepton-sweep-state", has_text="running").wait_for(timeout=60_000)
    header.locator(".lepton-sweep-state", has_text="completed").wait_for(timeout=180_000)
    wait_for_kernel_value(page, "sweep.info['state']", "completed", timeout=30)

    # One trial at a time, so which trials the median pruner stops does not depend on timing; the
    # server's final answer says what the view must draw all the same.
    final = kernel_value(page, "sweep.refresh().info")
    assert final["importance"] is not None, final["counts"]  # fANOVA needs 3 completed trials
    valued = kernel_value(page, "int(sweep.trials()['value'].notna().sum())")

    # History, importance and parallel coordinates, each drawn by JupyterLab's plotly renderer.
    plots = view.locator(".js-plotly-plot")
    page.wait_for_function(
        "() => document.querySelectorAll('.lepton-sweep-view .js-plotly-plot').length === 3", timeout=60_000
    )
    assert plots.count() == 3
    assert view.locator(".js-plotly-plot .parcoords").count() == 1
    assert view.locator(".js-plotly-plot .barlayer .point").count() == 3  # one importance bar per parameter
    # a marker per trial that has a value: completed ones and pruned ones (drawn apart)
    assert view.locator(".js-plotly-plot .scatterlayer .point").count() == valued == 8
    rows = view.locator(".lepton-sweep-table tbody tr")
    assert rows.count() == 8
    assert view.locator(".lepton-sweep-table tr.lepton-sweep-best").count() == 1
    assert "8/8 trials done" in header.inner_text() and "best val_accuracy" in header.inner_text()

    # The cell's output was replaced by the final view: its static snapshot (what a notebook saved
    # without widget state shows offline) says completed and carries the three drawings.
    snapshot = page.evaluate(
        """() => {
          const cell = window.jupyterapp.shell.currentWidget.content.widgets[0];
          const outputs = cell.model.outputs.toJSON();
          return outputs.map(o => (o.data || {})['text/html'] || '').join('');
        }"""
    )
    assert "completed" in snapshot and snapshot.count("<svg") >= 3

    page.add_style_tag(content=".Toastify { display: none !important; }")  # the panel's "sweep completed"
    view.scroll_into_view_if_needed()
    view.screenshot(path=str(artifacts / "sweep-view.png"))
