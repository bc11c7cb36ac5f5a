"""Every notebook widget in a real JupyterLab: kernel → page → kernel.

Each test sets values from the kernel, waits until the page shows them, changes a control in
the page as a person would, and reads the result back in the kernel. Waits are for
conditions (a cell finished, a value reached), never for time.
"""

from __future__ import annotations

import re
import subprocess
import sys

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


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("roundtrip") / "root"
    root.mkdir()
    with running_lab(root, extra_args=LAB_ARGS) as server:
        yield server


#: Two tiny digits runs that differ in learning rate (one epoch each), for the run widgets.
TRAIN_TWO_RUNS = """
import sys
from lepton_lab.core.runner import train
for name, rate in (("slow", 1e-4), ("fast", 3e-3)):
    train(dataset={"name": "digits", "subset": 400}, model="mlp", name=name,
          train={"epochs": 2, "learning_rate": rate}, runs_dir=sys.argv[1])
"""


@pytest.fixture(scope="module")
def runs_dir(lab):
    path = lab.root / "trained-runs"
    subprocess.run([sys.executable, "-c", TRAIN_TWO_RUNS, str(path)], check=True, timeout=300)
    return path


def labelled(scope, css, label):
    """The ipywidgets control matching ``css`` in ``scope`` whose description is exactly ``label``."""
    page = getattr(scope, "page", scope)  # a `has` locator is matched inside the outer one
    name = page.locator(".widget-label", has_text=re.compile(f"^{re.escape(label)}$"))
    return scope.locator(css, has=name).first


def slider(page, label):
    """The ipywidgets slider whose description is ``label``."""
    return labelled(page, ".widget-slider", label)


def dropdown(page, label):
    """The <select> of the ipywidgets Dropdown whose description is ``label``."""
    return labelled(page, ".widget-dropdown", label).locator("select")


def text_input(page, label):
    """The <input> of the ipywidgets text box whose description is ``label``."""
    return labelled(page, ".widget-text", label).locator("input")


def type_into_readout(page, label, text):
    """Type ``text`` into a slider's readout and press Enter, as a person would."""
    readout = slider(page, label).locator(".widget-readout")
    readout.click()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def shown(locator, expected, attribute="text"):
    """Wait until ``locator`` shows ``expected`` (its text, or its input value)."""
    if attribute == "value":
        locator.page.wait_for_function(
            "([el, v]) => el.value === v", arg=[locator.element_handle(), expected], timeout=30_000
        )
    else:
        locator.page.wait_for_function(
            "([el, v]) => el.textContent.trim() === v", arg=[locator.element_handle(), expected],
            timeout=30_000,
        )  # fmt: skip


def selected_label(select):
    """The text of the option a <select> shows."""
    return select.evaluate("el => el.selectedIndex < 0 ? '' : el.options[el.selectedIndex].text")


def settled(page):
    """One kernel round trip: every message the page sent before has been handled and echoed."""
    kernel_value(page, "None")


def test_momentum_set_from_the_kernel_stays_set(lab, page):
    """Tutorial 03: momentum 0.9 then 0.0 in one cell leaves 0.0 on both sides, and a valid spec."""
    write_notebook(lab.root, "momentum.ipynb", [
        "import lepton_lab as ll\npanel = ll.HyperparameterPanel({'epochs': 2})\npanel",
        "panel.momentum.value = 0.9\npanel.momentum.value = 0.0",
    ])  # fmt: skip
    open_notebook(page, lab, "momentum.ipynb")
    run_cell(page, 0)
    readout = slider(page, "momentum").locator(".widget-readout")
    readout.wait_for(timeout=60_000)
    run_cell(page, 1)
    settled(page)
    settled(page)
    assert readout.inner_text() == "0.00"
    assert kernel_value(page, "panel.momentum.value") == 0.0
    assert kernel_value(page, "panel.error") == ""
    assert kernel_value(page, "panel.spec.momentum") == 0.0


def test_hyperparameter_panel_round_trip(lab, page):
    write_notebook(lab.root, "hyper.ipynb", [
        "from lepton_lab.widgets import HyperparameterPanel\npanel = HyperparameterPanel()\npanel",
        "panel.optimizer.value = 'sgd'\npanel.momentum.value = 0.85\npanel.learning_rate.value = 3e-3",
    ])  # fmt: skip
    open_notebook(page, lab, "hyper.ipynb")
    run_cell(page, 0)
    mixed = dropdown(page, "mixed precision")
    mixed.wait_for(timeout=60_000)
    assert selected_label(mixed) == "auto"  # blank when "auto" was the option value None
    run_cell(page, 1)
    shown(slider(page, "momentum").locator(".widget-readout"), "0.85")
    shown(slider(page, "learning rate").locator(".widget-readout"), "3.0e-3")
    assert selected_label(dropdown(page, "optimizer")) == "sgd"
    settled(page)
    assert kernel_value(page, "panel.learning_rate.value") == 3e-3  # not re-snapped to 10**-2.5

    mixed.select_option(label="off")
    type_into_readout(page, "momentum", "0.5")
    text_input(page, "epochs").fill("7")
    text_input(page, "epochs").press("Enter")
    wait_for_kernel_value(page, "panel.spec.mixed_precision", False)
    wait_for_kernel_value(page, "panel.spec.momentum", 0.5)
    wait_for_kernel_value(page, "panel.spec.epochs", 7)
    assert kernel_value(page, "panel.error") == ""


def test_find_learning_rate_plots_in_the_page_and_use_sets_the_slider(lab, page, artifacts):
    write_notebook(lab.root, "lrfinder.ipynb", [
        "from lepton_lab.widgets import HyperparameterPanel\n"
        "panel = HyperparameterPanel(job={'dataset': {'name': 'digits'}, 'model': {'preset': 'mlp'}},\n"
        "                            lr_find_options={'steps': 30, 'start_lr': 1e-5, 'end_lr': 1.0})\npanel",
    ])  # fmt: skip
    open_notebook(page, lab, "lrfinder.ipynb")
    run_cell(page, 0)
    finder = page.locator(".lepton-lr-finder").first
    finder.locator("button", has_text="Find learning rate").click()  # as a person would
    use = finder.locator("button", has_text=re.compile(r"^Use \d"))
    use.wait_for(timeout=180_000)
    finder.locator(".js-plotly-plot .xtick").first.wait_for(timeout=30_000)  # the plot is drawn
    assert finder.locator(".lepton-error").count() == 0
    finder.screenshot(path=str(artifacts / "lr-finder-panel.png"))
    suggestion = kernel_value(page, "panel.lr_finder.suggestion")
    assert 1e-5 <= suggestion <= 1.0
    use.click()
    wait_for_kernel_value(page, "panel.spec.learning_rate", suggestion)
    readout = slider(page, "learning rate").locator(".widget-readout")
    page.wait_for_function(
        "([el, v]) => Math.abs(parseFloat(el.textContent) / v - 1) < 0.06",
        arg=[readout.element_handle(), suggestion], timeout=30_000,
    )  # fmt: skip


def test_dataset_browser_round_trip(lab, page):
    write_notebook(lab.root, "browser.ipynb", [
        "from lepton_lab.widgets import DatasetBrowser\n"
        "browser = DatasetBrowser('digits', page_size=16)\nbrowser",
        "browser.go(2)",
    ])  # fmt: skip
    open_notebook(page, lab, "browser.ipynb")
    run_cell(page, 0)
    picker = text_input(page, "page")
    picker.wait_for(timeout=60_000)
    run_cell(page, 1)
    shown(picker, "3", "value")

    page.locator("button[title='next page']").first.click()
    wait_for_kernel_value(page, "browser.page", 3)
    shown(picker, "4", "value")
    page.locator(".lepton-thumb[data-index='5']").first.click()
    wait_for_kernel_value(page, "browser.grid.selected", 5)
    expected = kernel_value(page, "int(browser.current.indices[5])")
    wait_for_kernel_value(page, "browser.selected", expected)
    page.locator(".lepton-large img, img.lepton-large").first.wait_for(timeout=20_000)
    dropdown(page, "split").select_option("test")
    wait_for_kernel_value(page, "[browser.split, browser.page]", ["test", 0])


def test_augmentation_preview_round_trip(lab, page):
    write_notebook(lab.root, "augment.ipynb", [
        "from lepton_lab.widgets import AugmentationPreview\n"
        "preview = AugmentationPreview('digits')\npreview",
        "preview.enabled['rotation'].value = True\n"
        "preview.parameters['rotation'].value = 0.15\npreview.parameters['rotation'].value = 0.3",
    ])  # fmt: skip
    open_notebook(page, lab, "augment.ipynb")
    run_cell(page, 0)
    rotation = page.locator(".widget-checkbox", has_text="rotation").first
    rotation.wait_for(timeout=60_000)
    run_cell(page, 1)
    page.wait_for_function(
        "el => el.querySelector('input').checked", arg=rotation.element_handle(), timeout=30_000
    )
    readout = slider(page, "factor").locator(".widget-readout")
    shown(readout, "0.30")
    settled(page)
    assert kernel_value(page, "preview.parameters['rotation'].value") == 0.3
    image = page.locator(".widget-image").first
    before = image.get_attribute("src")

    type_into_readout(page, "factor", "0.1")
    rotation_factor = "[op['factor'] for op in preview.value['ops'] if op['op'] == 'rotation']"
    wait_for_kernel_value(page, rotation_factor, [0.1])
    page.wait_for_function(
        "([el, old]) => el.getAttribute('src') !== old", arg=[image.element_handle(), before], timeout=60_000
    )


def test_model_builder_round_trip(lab, page):
    write_notebook(lab.root, "builder.ipynb", [
        "from lepton_lab.widgets import ModelBuilder\n"
        "builder = ModelBuilder((8, 8, 1), 10, {'preset': 'mlp'})\nbuilder",
        "row = builder.add('Dropout', rate=0.25)",
    ])  # fmt: skip
    open_notebook(page, lab, "builder.ipynb")
    run_cell(page, 0)
    rows = page.locator(".lepton-layer-row")
    rows.first.wait_for(timeout=60_000)
    assert rows.count() == 4
    run_cell(page, 1)
    page.wait_for_function(
        "() => document.querySelectorAll('.lepton-layer-row').length === 5", timeout=30_000
    )
    shown(text_input(rows.nth(4), "rate"), "0.25", "value")

    units = text_input(rows.nth(1), "units")
    units.fill("48")
    units.press("Enter")
    wait_for_kernel_value(page, "builder.spec.layers[1].args['units']", 48)
    page.locator(".widget-toggle-button", has_text="Show code").first.click()
    wait_for_kernel_value(page, "builder.show_code.value", True)
    page.locator(".lepton-code", has_text="Dense(units=48").first.wait_for(timeout=30_000)


def test_model_builder_palette_offers_only_layers_that_fit(lab, page):
    write_notebook(lab.root, "builder-palette.ipynb", [
        "from lepton_lab.widgets import ModelBuilder\n"
        "builder = ModelBuilder((20,), 4, {'layers': [{'type': 'Embedding', 'input_dim': 100, "
        "'output_dim': 8}]})\nbuilder",
    ])  # fmt: skip
    open_notebook(page, lab, "builder-palette.ipynb")
    run_cell(page, 0)
    page.locator(".lepton-layer-row").first.wait_for(timeout=60_000)
    palette = labelled(page, ".widget-dropdown", "layer").locator("select")
    options = palette.locator("option").all_inner_texts()
    assert "Bidirectional" in options and "Conv1D" in options
    assert "Conv2D" not in options and "Embedding" not in options
    note = page.locator(".lepton-palette-note")
    assert "not offered: Conv2D" in note.inner_text() and "gives (20, 8)" in note.inner_text()

    palette.select_option("Bidirectional")
    page.locator(".widget-button", has_text="Add layer").first.click()
    wait_for_kernel_value(
        page, "[row.layer_type for row in builder.layer_rows]", ["Embedding", "Bidirectional"]
    )
    # An LSTM that returns one vector leaves no sequence: the 1-D layers go, and the note says why.
    page.wait_for_function(
        "el => ![...el.options].some(o => o.value === 'Conv1D')", arg=palette.element_handle(), timeout=30_000
    )
    assert "needs a sequence (timesteps, features)" in note.inner_text()


def test_model_builder_rows_are_one_aligned_line_each(lab, page, artifacts):
    write_notebook(lab.root, "builder-look.ipynb", [
        "from lepton_lab.widgets import ModelBuilder\n"
        "builder = ModelBuilder((16, 16, 1), 10, {'preset': 'small_cnn'})\nbuilder",
    ])  # fmt: skip
    open_notebook(page, lab, "builder-look.ipynb")
    run_cell(page, 0)
    rows = page.locator(".lepton-layer-row")
    rows.first.wait_for(timeout=60_000)
    boxes = rows.evaluate_all(
        """rows => rows.map(row => {
          const box = el => el.getBoundingClientRect();
          const line = row.querySelector('.widget-gridbox');
          return {height: box(line).height, type: box(row.querySelector('.lepton-layer-type')).left,
                  remove: box(row.querySelector('button[title="remove"]')).left,
                  right: box(line).right};
        })"""
    )  # fmt: skip
    assert len(boxes) >= 4 and any("Conv2D" in t for t in rows.all_inner_texts())
    assert len({round(b["type"]) for b in boxes}) == 1, boxes  # type column aligned
    assert len({round(b["remove"]) for b in boxes}) == 1, boxes  # buttons aligned
    assert max(b["height"] for b in boxes) < 50, boxes  # one line each, Conv2D's six editors too
    output = page.locator(".jp-OutputArea-output", has=rows.first).first.bounding_box()
    assert max(b["right"] for b in boxes) <= output["x"] + output["width"] + 1
    rows.first.locator("xpath=ancestor::div[contains(@class,'widget-vbox')][2]").screenshot(
        path=str(artifacts / "widget-model-builder-rows.png")
    )


def test_training_dashboard_round_trip(lab, page):
    write_notebook(lab.root, "dashboard.ipynb", [
        "from lepton_lab.widgets import TrainingDashboard\n"
        "dashboard = TrainingDashboard('digits')\ndashboard",
        "dashboard.name.value = 'from-kernel'\ndashboard.tabs.selected_index = 3\n"
        "dashboard.hyperparameters.epochs.value = 4",
    ])  # fmt: skip
    open_notebook(page, lab, "dashboard.ipynb")
    run_cell(page, 0)
    name = text_input(page, "run name")
    name.wait_for(timeout=60_000)
    run_cell(page, 1)
    shown(name, "from-kernel", "value")
    page.locator(".lm-TabBar-tab.lm-mod-current", has_text="Hyperparameters").wait_for(timeout=30_000)
    shown(text_input(page, "epochs"), "4", "value")

    name.fill("from-page")
    page.locator(".lm-TabBar-tab", has_text="Model").first.click()
    wait_for_kernel_value(page, "[dashboard.name.value, dashboard.tabs.selected_index]", ["from-page", 2])
    assert kernel_value(page, "dashboard.job_spec().name") == "from-page"
    assert kernel_value(page, "dashboard.job_spec().train.epochs") == 4


def test_evaluation_view_round_trip(lab, page, runs_dir):
    write_notebook(lab.root, "evaluation.ipynb", [
        "import lepton_lab as ll\nfrom lepton_lab.widgets import EvaluationView\n"
        f"run = ll.runs({str(runs_dir)!r}).iloc[-1]['path']\nview = EvaluationView(run)\nview",
        "view.worst.selected = 2",
    ])  # fmt: skip
    open_notebook(page, lab, "evaluation.ipynb")
    run_cell(page, 0)
    worst = page.locator(".lepton-thumbs").first
    worst.locator(".lepton-thumb").nth(4).wait_for(timeout=60_000)
    run_cell(page, 1)
    worst.locator(".lepton-thumb.lepton-selected[data-index='2']").wait_for(timeout=30_000)

    worst.locator(".lepton-thumb[data-index='4']").click()
    wait_for_kernel_value(page, "view.worst.selected", 4)
    worst.locator(".lepton-thumb.lepton-selected[data-index='4']").wait_for(timeout=30_000)


def test_runs_table_round_trip(lab, page, runs_dir):
    write_notebook(lab.root, "runs.ipynb", [
        f"from lepton_lab.widgets import RunsTable\ntable = RunsTable({str(runs_dir)!r})\ntable",
        "table.sort_picker.value = 'name'\ntable.metric_picker.value = 'val_loss'",
    ])  # fmt: skip
    open_notebook(page, lab, "runs.ipynb")
    run_cell(page, 0)
    sort = dropdown(page, "sort by")
    sort.wait_for(timeout=60_000)
    run_cell(page, 1)
    page.wait_for_function(
        "el => el.options[el.selectedIndex] && el.options[el.selectedIndex].text === 'name'",
        arg=sort.element_handle(), timeout=30_000,
    )  # fmt: skip
    assert selected_label(dropdown(page, "metric")) == "val_loss"
    page.locator(".lepton-runs th", has_text="name ▼").first.wait_for(timeout=30_000)

    dropdown(page, "metric").select_option("accuracy")
    labelled(page, ".widget-select-multiple", "runs").locator("select").select_option(index=[0, 1])
    wait_for_kernel_value(page, "[table.metric, len(table.selected)]", ["accuracy", 2])
    page.locator("button", has_text="Compare").first.click()
    wait_for_kernel_value(page, "sorted(t['name'] for t in table.curves.figure['data'])", ["fast", "slow"])
    assert kernel_value(page, "table.curves.figure['layout']['yaxis']['title']['text']") == "accuracy"


def test_runs_table_fits_the_notebook_one_line_per_run(lab, page, runs_dir, artifacts):
    write_notebook(lab.root, "runs-look.ipynb", [
        f"from lepton_lab.widgets import RunsTable\ntable = RunsTable({str(runs_dir)!r})\n"
        "table.compare()\ntable",
    ])  # fmt: skip
    open_notebook(page, lab, "runs-look.ipynb")
    run_cell(page, 0)
    box = page.locator(".lepton-runs-box").first
    box.wait_for(timeout=60_000)
    output = page.locator(".jp-OutputArea-output", has=box).first
    assert box.bounding_box()["width"] <= output.bounding_box()["width"] + 1  # scrolls, never overflows
    heights = box.locator("tbody tr").evaluate_all("rows => rows.map(r => r.getBoundingClientRect().height)")
    assert len(heights) == 2 and max(heights) < 40, heights  # one line each (wrapped ids took 5: 80 px)
    legend = page.locator(".js-plotly-plot .legend").first
    legend.wait_for(timeout=60_000)
    assert sorted(legend.locator(".legendtext").all_text_contents()) == ["fast", "slow"]
    parallel = page.locator(".js-plotly-plot", has=page.locator(".parcoords")).first
    parallel.wait_for(timeout=60_000)
    news = page.locator(".jp-toast-buttonBar button, .jp-Notification-Toast-button", has_text="No")
    if news.count():
        news.first.click()  # the "Jupyter news?" toast would cover the screenshots
    table = page.locator(".lepton-runs-box").locator("xpath=ancestor::div[contains(@class,'widget-vbox')][1]")
    table.first.screenshot(path=str(artifacts / "widget-runs-table.png"))
    parallel.scroll_into_view_if_needed()
    parallel.screenshot(path=str(artifacts / "widget-runs-parallel.png"))
