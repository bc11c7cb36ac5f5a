"""Every notebook widget in a real JupyterLab: kernel → page → kernel.

Each test sets values from the kernel, waits until the page shows them, changes a control in
the page as a person would, and reads the result back in the kernel. Waits are for
conditions (a cell finished, a value reached), never for time.
"""

from __future__ import annotations

import pytest

from tests.browser.notebook_ui import (
    LAB_ARGS,
    kernel_value,
    open_notebook,
    run_cell,
    write_notebook,
)
from tests.lab_server import running_lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("roundtrip") / "root"
    root.mkdir()
    with running_lab(root, extra_args=LAB_ARGS) as server:
        yield server


def slider(page, label):
    """The ipywidgets slider whose description is ``label``."""
    return page.locator(".widget-slider", has=page.locator(".widget-label", has_text=label)).first


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
