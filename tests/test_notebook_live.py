"""A notebook that trains with ``live=True``, executed headless and saved, keeps a small, visible plot."""

from __future__ import annotations

import json

import nbformat
import pytest
from nbclient import NotebookClient

from lepton_lab.widgets._plots import PLOTLY_MIME

pytestmark = pytest.mark.slow

SETUP = """\
import lepton_lab as ll
"""

TRAIN = """\
run = ll.train(dataset="digits", model="mlp", train={"epochs": 1}, runs_dir="runs", live=True)
print(run.status["status"])
"""


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("notebook")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP), nbformat.v4.new_code_cell(TRAIN)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", store_widget_state=True,
        resources={"metadata": {"path": str(folder)}},
    )  # fmt: skip
    client.execute()
    path = folder / "live.ipynb"
    nbformat.write(nb, path)
    return path, nbformat.read(path, as_version=4)


def outputs_with(nb, mime):
    return [
        output for cell in nb.cells for output in cell.get("outputs", []) if mime in output.get("data", {})
    ]


def test_saved_notebook_holds_the_final_plot_as_a_plain_plotly_output(executed):
    _, nb = executed
    plots = outputs_with(nb, PLOTLY_MIME)
    assert len(plots) == 1  # one plot, updated in place, not one output per redraw
    assert plots[0]["output_type"] == "display_data"
    figure = plots[0]["data"][PLOTLY_MIME]
    names = [trace["name"] for trace in figure["data"]]
    assert {"train (batch)", "train (epoch)", "validation"} <= set(names)
    validation = next(trace for trace in figure["data"] if trace["name"] == "validation")
    assert validation["x"] == [1] and isinstance(validation["y"][0], float)
    assert "text/html" in plots[0]["data"]  # fallback for pages that carry plotly.js


def test_saved_notebook_shows_the_final_metrics(executed):
    _, nb = executed
    progress = [
        output["data"]["text/plain"] for output in outputs_with(nb, "text/html")
        if "lepton-progress" in output["data"]["text/html"]
    ]  # fmt: skip
    assert len(progress) == 1
    assert "epoch 1/1" in progress[0]
    assert "step 36/36 (100%)" in progress[0]
    assert "val_accuracy" in progress[0] and "completed" in progress[0]  # how the run ended
    assert "test_accuracy" in progress[0]  # and its test metrics, which come after fit
    stream = "".join(o.get("text", "") for o in nb.cells[1].outputs if o["output_type"] == "stream")
    assert "completed" in stream


def test_saved_notebook_stays_small_and_has_no_figure_widget(executed):
    path, nb = executed
    assert path.stat().st_size < 200_000
    state = json.dumps(nb.metadata.get("widgets", {}))
    assert "FigureModel" not in state and "plotly.js" not in state


def test_offline_export_draws_the_plot(executed):
    from lepton_lab.sharing.export import notebook_to_html

    _, nb = executed
    page, figures = notebook_to_html(nb)
    assert figures == 1
    assert "Plotly.newPlot" in page
    assert '<script src="http' not in page  # plotly.js is inlined, nothing comes from a CDN


def test_plot_returned_as_a_cells_last_value_is_not_shown_twice(tmp_path):
    # `job.watch()` / `plot.display()` show the plot and return it; IPython must not echo it again.
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(SETUP),
        nbformat.v4.new_code_cell("plot = ll.LivePlot(total_epochs=1)\nplot.display()"),
        nbformat.v4.new_code_cell("plot"),  # asked for again in a later cell: shown again
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    widget_view = "application/vnd.jupyter.widget-view+json"
    shown = [output.get("data", {}) for output in nb.cells[1].outputs]
    assert sum(widget_view in data for data in shown) == 1  # the live chart, once
    assert any(widget_view in output.get("data", {}) for output in nb.cells[2].outputs)


def test_training_cell_shows_no_tensorflow_start_up_notices(executed):
    # TensorFlow writes these to descriptor 2, which ipykernel forwards into the cell.
    _, nb = executed
    stderr = "".join(o.get("text", "") for o in nb.cells[1].outputs if o.get("name") == "stderr")
    for notice in ("absl::InitializeLog", "oneDNN custom operations", "cuInit", "cpu_feature_guard"):
        assert notice not in stderr


def test_a_run_trained_in_a_kernel_says_so(executed):
    # The server lists it with this origin, and cancels it through a stop request, never a signal.
    path, _ = executed
    [status] = (path.parent / "runs").glob("*/status.json")
    assert json.loads(status.read_text())["origin"] == "kernel"
