"""Small helpers for browser tests: the Lepton Lab REST API of a running Lab, and panel lookups."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from tests.lab_server import LabServer

#: A job that trains in seconds on a CPU (the digits dataset ships with the package).
TINY_JOB: dict[str, Any] = {
    "dataset": {"name": "digits", "subset": 300},
    "model": {"preset": "mlp"},
    "train": {"epochs": 2},
}


def api(lab: LabServer, method: str, path: str, body: Any = None) -> Any:
    """Call ``/lepton-lab/api/<path>`` with the server token and return the JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{lab.url}lepton-lab/api/{path}",
        data=data,
        method=method,
        headers={"Authorization": f"token {lab.token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def submit(lab: LabServer, name: str, **overrides: Any) -> dict[str, Any]:
    """Queue a tiny digits job named ``name`` (``train`` settings may be overridden)."""
    spec = json.loads(json.dumps(TINY_JOB))
    spec["name"] = name
    spec["train"].update(overrides)
    return api(lab, "POST", "jobs", spec)


def wait_for(condition: Callable[[], Any], timeout: float, message: str, interval: float = 0.2) -> Any:
    """Poll ``condition`` until it returns something truthy; fail with ``message`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s: {message}")


def open_panel(page: Any, lab: LabServer) -> Any:
    """Load Lab and show the Lepton Lab side panel; returns the panel locator."""
    page.goto(lab.lab_url())
    tab = page.locator('.jp-SideBar.jp-mod-left [data-id="lepton-lab-panel"]')
    tab.wait_for(timeout=60_000)
    panel = page.locator("#lepton-lab-panel")

    # Lab restores the saved layout after start-up, which may close the panel again: click until it stays.
    def shown() -> bool:
        if not panel.is_visible():
            tab.click()
            return False
        return True

    wait_for(shown, 30, "the Lepton Lab panel opens", interval=1.0)
    panel.locator(".lepton-lab-connection[data-state='open']").wait_for(timeout=30_000)
    return panel


def job_row(page: Any, job_id: str) -> Any:
    """The panel row of job ``job_id``."""
    return page.locator(f"#lepton-lab-panel .lepton-lab-job[data-job-id='{job_id}']")
