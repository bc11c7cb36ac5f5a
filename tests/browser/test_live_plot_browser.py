"""The notebook live plot, as a person sees it: curves that grow in JupyterLab while training runs.

Each test trains for far longer than it watches (thousands of epochs) and ends the training
itself once it has seen what it checks, so nothing depends on how fast this machine trains:
an in-kernel run stops through its stop file (the panel's Cancel), a server job through the API.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.browser.lab_api import api, wait_for
from tests.browser.notebook_ui import LAB_ARGS, kernel_value, open_notebook, write_notebook
from tests.lab_server import running_lab

pytestmark = pytest.mark.slow

SETUP = "import lepton_lab as ll"
LONG_TRAIN = {"epochs": 5000, "batch_size": 16, "steps_per_execution": 1}
SMALL_DATA = {"name": "digits", "subset": 400}

# Number of points the live plot draws in its loss chart, and the events it has applied.
_PLOT_STATE = """
(index) => {
  const cell = window.jupyterapp.shell.currentWidget.content.widgets[index];
  const plots = cell.node.querySelectorAll('.lepton-lab-liveplot');
  const plot = plots[plots.length - 1];
  if (!plot) { return null; }
  const path = plot.querySelector('.lepton-lab-chart-loss path.lepton-lab-curve-batch');
  const d = path ? path.getAttribute('d') || '' : '';
  return {
    events: Number(plot.dataset.events || 0),
    points: (d.match(/[ML]/g) || []).length,
    lastStep: Number(plot.dataset.step || 0),
    drawing: d,
    text: plot.querySelector('.lepton-lab-liveplot-text').textContent,
    running: cell.model.executionCount === null || cell.promptNode.textContent.includes('*'),
    errors: cell.node.innerText.includes('Error displaying widget'),
  };
}
"""

_START_CELL = """
(index) => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  panel.content.activeCellIndex = index;
  void app.commands.execute('notebook:run-cell');  // not awaited: the cell keeps running
}
"""

_CELL_DONE = """
(index) => {
  const cell = window.jupyterapp.shell.currentWidget.content.widgets[index];
  return cell.model.executionCount !== null && !cell.promptNode.textContent.includes('*');
}
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("liveplot") / "root"
    root.mkdir()
    notebook7 = ("--JupyterNotebookApp.expose_app_in_browser=True",)
    with running_lab(root, extra_args=(*LAB_ARGS, *notebook7)) as server:
        yield server


@pytest.fixture
def small_page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    yield page
    print("console errors:", page.console_errors[:10])
    context.close()


def _watch_growth(page, index: int, cell_runs: bool = True, timeout: float = 180) -> list[dict]:
    """Sample the plot of cell ``index`` until its curve was redrawn twice, for later steps, in training.

    The number of points drawn is no measure of growth: a long curve keeps a bounded number of
    points (neighbours merge when it outgrows them). The events applied and the newest step only
    go up, and the drawing itself must change.

    ``cell_runs``: training runs in the cell itself (``ll.train``), so the cell must still be
    running; otherwise (``job.watch()`` returns at once) the plot must say the job is running.
    """
    samples: list[dict] = []

    def grown() -> bool:
        state = page.evaluate(_PLOT_STATE, index)
        if state is None or state["points"] == 0:
            return False
        assert not state["errors"], "the live plot shows 'Error displaying widget'"
        last = samples[-1] if samples else None
        if last is None or (state["events"] > last["events"] and state["drawing"] != last["drawing"]):
            samples.append({**state, "t": time.monotonic()})
        return len(samples) >= 3

    wait_for(grown, timeout, f"the live plot of cell {index} to grow", interval=0.1)
    steps = [s["lastStep"] for s in samples]
    assert steps == sorted(steps) and steps[-1] > steps[0], steps
    if cell_runs:
        assert all(s["running"] for s in samples), "the plot grew only after the cell had finished"
    assert all(s["text"].startswith("running") for s in samples), [s["text"] for s in samples]
    return samples


def _run_dir_of_kernel_run(lab) -> Path:
    """The run directory of the run a kernel is training now."""
    found: list[Path] = []

    def training() -> bool:
        found[:] = []
        for status in lab.runs_dir.glob("*/status.json"):
            try:
                record = json.loads(status.read_text())
            except ValueError:
                continue  # being rewritten
            if record.get("status") == "running" and record.get("origin") == "kernel":
                found.append(status.parent)
        return len(found) == 1

    wait_for(training, 60, "exactly one run training in a kernel")
    return found[0]


def test_in_kernel_training_draws_live_then_leaves_the_final_plot(lab, small_page, artifacts):
    page = small_page
    write_notebook(lab.root, "live.ipynb", [
        SETUP,
        f"run = ll.train(dataset={SMALL_DATA!r}, model='mlp', train={LONG_TRAIN!r}, live=True)",
        "print(run.status['status'])",
    ])  # fmt: skip
    open_notebook(page, lab, "live.ipynb")
    page.evaluate(_START_CELL, 0)
    page.wait_for_function(_CELL_DONE, arg=0, timeout=60_000)
    page.evaluate(_START_CELL, 1)
    samples = _watch_growth(page, 1)
    page.screenshot(path=str(artifacts / "live-plot-kernel-running.png"))
    assert "running" in samples[-1]["text"] and "ETA" in samples[-1]["text"]

    # The panel's Cancel, as a file: the run stops after its current batch, the kernel lives on.
    (_run_dir_of_kernel_run(lab) / "stop-requested").touch()
    page.wait_for_function(_CELL_DONE, arg=1, timeout=120_000)
    page.screenshot(path=str(artifacts / "live-plot-kernel-final.png"))
    # When training ends the widget gives way to the final plot as an ordinary output.
    cell = page.locator(".jp-Notebook .jp-Cell").nth(1)
    cell.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    assert cell.locator(".lepton-lab-liveplot").count() == 0
    assert "Error displaying widget" not in cell.inner_text()
    page.evaluate(_START_CELL, 2)
    page.wait_for_function(_CELL_DONE, arg=2, timeout=60_000)
    assert kernel_value(page, "run.status['status']") == "cancelled"
    page.screenshot(path=str(artifacts / "live-plot-kernel-final.png"))
    _report_rates("in-kernel", samples)


def test_a_server_job_is_watched_live_and_again_after_a_kernel_restart(lab, small_page, artifacts):
    page = small_page
    spec = {"name": "watched", "dataset": SMALL_DATA, "model": {"preset": "mlp"}, "train": LONG_TRAIN}
    write_notebook(lab.root, "watch.ipynb", [
        SETUP,
        f"job = ll.submit({json.dumps(spec)})\nopen('job-id.txt', 'w').write(job.id)\njob.watch()",
        "job_id = open('job-id.txt').read()\nll.job(job_id).watch()",
    ])  # fmt: skip
    open_notebook(page, lab, "watch.ipynb")
    page.evaluate(_START_CELL, 0)
    page.wait_for_function(_CELL_DONE, arg=0, timeout=60_000)
    page.evaluate(_START_CELL, 1)  # returns at once: the plot follows in a thread
    first = _watch_growth(page, 1, cell_runs=False)
    page.screenshot(path=str(artifacts / "live-plot-job-watch.png"))
    job_id = (lab.root / "job-id.txt").read_text()

    # A kernel restart: the job goes on; watching again draws the history, then goes on live.
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
        timeout=60_000,
    )
    page.evaluate(_START_CELL, 0)
    page.wait_for_function(_CELL_DONE, arg=0, timeout=60_000)
    page.evaluate(_START_CELL, 2)
    again = _watch_growth(page, 2, cell_runs=False)
    assert again[0]["events"] > first[-1]["events"] // 2  # started from the history, not from zero
    page.screenshot(path=str(artifacts / "live-plot-job-reattached.png"))

    api(lab, "DELETE", f"jobs/{job_id}")
    cell = page.locator(".jp-Notebook .jp-Cell").nth(2)
    cell.locator(".js-plotly-plot").first.wait_for(timeout=60_000)  # the final plot replaces the widget
    assert "cancelled" in cell.inner_text()
    _report_rates("server job", first)


def test_notebook_7_draws_the_live_plot_too(lab, small_page, artifacts):
    pytest.importorskip("notebook", minversion="7", reason="Notebook 7 comes with the test extra (.[test])")
    page = small_page
    write_notebook(lab.root, "nb7.ipynb", [
        SETUP,
        f"run = ll.train(dataset={SMALL_DATA!r}, model='mlp', train={LONG_TRAIN!r}, live=True)",
    ])  # fmt: skip
    page.goto(lab.lab_url("notebooks/nb7.ipynb"))
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
        " && window.jupyterapp.shell.currentWidget.sessionContext"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.connectionStatus"
        " === 'connected'",
        timeout=90_000,
    )
    assert "/notebooks/" in page.url  # Notebook 7's own page, not JupyterLab
    page.evaluate(_START_CELL, 0)
    page.wait_for_function(_CELL_DONE, arg=0, timeout=60_000)
    page.evaluate(_START_CELL, 1)
    samples = _watch_growth(page, 1)
    page.screenshot(path=str(artifacts / "live-plot-notebook7.png"))
    (_run_dir_of_kernel_run(lab) / "stop-requested").touch()
    page.wait_for_function(_CELL_DONE, arg=1, timeout=120_000)
    page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    _report_rates("Notebook 7", samples)


def _report_rates(label: str, samples: list[dict]) -> None:
    """Print how often the drawn curve changed (for the closing note; never asserted)."""
    if len(samples) >= 2:
        span = samples[-1]["t"] - samples[0]["t"]
        print(f"{label}: {len(samples) - 1} redraws seen in {span:.2f} s, points {samples[0]['points']} → "
              f"{samples[-1]['points']}")  # fmt: skip
