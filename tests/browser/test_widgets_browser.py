"""The notebook widgets in a real JupyterLab: the dashboard renders, trains digits and plots live."""

from __future__ import annotations

import re

import nbformat

CELL = """\
import os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
from lepton_lab.widgets import TrainingDashboard
dashboard = TrainingDashboard("digits", {"dataset": {"name": "digits"}, "train": {"epochs": 1}})
dashboard
"""


def write_notebook(root):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(CELL)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "widgets.ipynb")


def run_first_cell(page):
    """Run the notebook's first cell once its kernel is connected and idle."""
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=90_000)
    page.locator("#jp-main-statusbar", has_text=re.compile(r"\| Idle")).first.wait_for(timeout=90_000)
    prompt = page.locator(".jp-Notebook .jp-Cell .jp-InputPrompt").first
    for _ in range(5):  # a run request sent while the kernel is still connecting can be dropped
        page.locator(".jp-Notebook .jp-Cell .jp-InputArea-editor").first.click()
        page.locator('.jp-Toolbar-item[data-jp-item-name="run"] jp-button').first.click()
        try:
            page.wait_for_function(
                "el => el.textContent.trim() !== '[ ]:'", arg=prompt.element_handle(), timeout=10_000
            )
            return
        except Exception:  # retried: the kernel may still be connecting
            continue
    raise AssertionError("the notebook's cell never ran")


def test_dashboard_renders_trains_digits_and_plots_live(lab, page, artifacts):
    write_notebook(lab.root)
    page.goto(lab.lab_url("lab/tree/widgets.ipynb"))
    run_first_cell(page)
    news = page.locator(".jp-toast-buttonBar button, .jp-Notification-Toast-button", has_text="No")
    if news.count():
        news.first.click()  # the "Jupyter news?" toast would cover the screenshots

    dashboard = page.locator(".lepton-dashboard")
    dashboard.wait_for(timeout=120_000)
    thumbnails = dashboard.locator(".lepton-thumb img")
    thumbnails.nth(31).wait_for(timeout=60_000)
    assert thumbnails.count() == 32
    assert thumbnails.first.evaluate("img => img.naturalWidth") == 48
    # the class distribution chart of the Data tab, drawn by JupyterLab's plotly renderer
    dashboard.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    tab_panel = dashboard.locator(".lm-TabPanel, .widget-tab").first
    tab_panel.screenshot(path=str(artifacts / "widget-dataset-browser.png"))

    thumbnails.nth(3).click()
    dashboard.locator(".lepton-large img, img.lepton-large").first.wait_for(timeout=20_000)
    assert "index" in dashboard.inner_text()

    for title, name in (("Augmentation", "augmentation-preview"), ("Model", "model-builder"),
                        ("Hyperparameters", "hyperparameter-panel")):  # fmt: skip
        dashboard.locator(".lm-TabBar-tab", has_text=title).first.click()
        page.wait_for_timeout(800)
        tab_panel.screenshot(path=str(artifacts / f"widget-{name}.png"))
    assert dashboard.locator(".lepton-summary").count() == 1

    dashboard.locator("button", has_text="Train").first.click()
    # Train puts a new live plot in place of the empty one: look it up afresh.
    page.wait_for_function(
        "() => [...document.querySelectorAll('.lepton-dashboard .lepton-lab-liveplot')]"
        ".some(el => el.dataset.status === 'completed' && /test_accuracy/.test(el.textContent))",
        timeout=240_000,
    )
    live = dashboard.locator(".lepton-lab-liveplot").first
    text = live.locator(".lepton-lab-liveplot-text").inner_text()
    assert "epoch 1/1" in text and "val_acc" in text and "test_accuracy" in text
    assert dashboard.locator(".js-plotly-plot").count() >= 1  # class distribution (+ confusion matrix)
    live.screenshot(path=str(artifacts / "widget-live-plot.png"))
    curves = live.locator("path.lepton-lab-curve")
    drawn = curves.evaluate_all("paths => paths.filter(p => p.getAttribute('d')).length")
    assert drawn >= 3  # batch, epoch and validation curves

    evaluation = dashboard.locator(".lepton-per-class").first
    evaluation.wait_for(timeout=60_000)
    dashboard.locator(".lepton-tone-bad, .lepton-tone-good").first.wait_for(timeout=20_000)
    evaluation.locator("xpath=ancestor::div[contains(@class,'widget-vbox')][2]").screenshot(
        path=str(artifacts / "widget-evaluation-view.png")
    )
    page.screenshot(path=str(artifacts / "widget-dashboard.png"), full_page=True)
