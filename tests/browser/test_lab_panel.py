"""JupyterLab loads the Lepton Lab extension and its side panel talks to the server."""

from __future__ import annotations

import lepton_lab


def test_side_panel_shows_server_version(lab, page, artifacts):
    page.goto(lab.lab_url())
    tab = page.locator('.jp-SideBar.jp-mod-left [data-id="lepton-lab-panel"]')
    tab.wait_for(timeout=60_000)
    tab.click()
    version = page.locator("#lepton-lab-panel .lepton-lab-version .lepton-lab-value")
    version.wait_for(timeout=20_000)
    assert version.inner_text() == lepton_lab.__version__
    page.screenshot(path=str(artifacts / "lab-side-panel.png"))
