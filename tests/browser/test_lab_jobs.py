"""The Lepton Lab panel and job view follow real training jobs live in Chromium."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.browser.lab_api import api, job_row, open_panel, submit, wait_for
from tests.lab_server import running_lab

#: Records every distinct state of one panel row (status, progress text, bar width), however
#: briefly it was shown, so a fast job's intermediate progress is not missed between polls.
TRACE_ROW = """
(jobId) => {
  window.__leptonTrace = [];
  const panel = document.querySelector('#lepton-lab-panel');
  let last = '';
  const record = () => {
    const row = panel.querySelector(`.lepton-lab-job[data-job-id="${jobId}"]`);
    if (!row) return;
    const state = {
      status: row.dataset.status,
      progress: row.querySelector('.lepton-lab-job-progress').textContent,
      width: row.querySelector('.lepton-lab-progress .lepton-lab-bar-fill').style.width,
    };
    const key = JSON.stringify(state);
    if (key !== last) { last = key; window.__leptonTrace.push(state); }
  };
  const options = {subtree: true, childList: true, characterData: true, attributes: true};
  new MutationObserver(record).observe(panel, options);
  record();
}
"""


def badge(page: Any, job_id: str) -> str:
    return job_row(page, job_id).locator(".lepton-lab-badge").inner_text()


def test_submitted_job_appears_progresses_and_completes_in_panel(lab, page, artifacts):
    panel = open_panel(page, lab)
    panel.locator(".lepton-lab-version .lepton-lab-value").wait_for()
    # Long enough (600 steps, a callback per step) for progress updates between start and end,
    # however fast the host trains.
    submitted = submit(lab, "panel-digits", epochs=8, batch_size=4, steps_per_execution=1)
    job_id = submitted["id"]
    page.evaluate(TRACE_ROW, job_id)

    row = job_row(page, job_id)
    row.wait_for(timeout=10_000)
    assert row.locator(".lepton-lab-job-name").inner_text() == "panel-digits"
    row.locator(".lepton-lab-badge", has_text="completed").wait_for(timeout=180_000)

    trace = page.evaluate("window.__leptonTrace")
    statuses = [state["status"] for state in trace]
    assert "running" in statuses and statuses[-1] == "completed", trace
    partial = [s for s in trace if s["status"] == "running" and s["width"] not in ("", "0%", "100%")]
    assert partial, f"never showed partial progress while running: {trace}"
    assert row.locator(".lepton-lab-job-progress").inner_text() == "epoch 8/8"
    assert row.locator(".lepton-lab-bar-fill").evaluate("e => e.style.width") == "100%"
    latest = row.locator(".lepton-lab-job-latest").inner_text()
    assert latest.startswith("loss ") and " acc " in latest, latest
    assert row.locator(".lepton-lab-sparkline path").get_attribute("d").startswith("M")
    assert row.locator(".lepton-lab-cancel").is_hidden()

    toast = page.locator(".Toastify__toast", has_text='"panel-digits" completed')
    toast.wait_for(timeout=15_000)
    assert "accuracy" in toast.inner_text()

    devices = panel.locator(".lepton-lab-devices")
    assert devices.locator(".lepton-lab-device").count() >= 1
    page.screenshot(path=str(artifacts / "lab-panel-job-completed.png"))


def test_cancel_button_stops_a_running_job(lab, page, artifacts):
    open_panel(page, lab)
    job_id = submit(lab, "to-cancel", epochs=500, batch_size=4)["id"]
    row = job_row(page, job_id)
    row.locator(".lepton-lab-badge", has_text="running").wait_for(timeout=120_000)
    # Training, not just starting: the row shows a step-based progress once batches arrive.
    row.locator(".lepton-lab-job-latest", has_text="loss").wait_for(timeout=60_000)
    row.locator(".lepton-lab-cancel").click()
    row.locator(".lepton-lab-badge", has_text="cancelled").wait_for(timeout=60_000)
    assert api(lab, "GET", f"jobs/{job_id}")["status"] == "cancelled"
    assert row.locator(".lepton-lab-resume").is_visible()
    assert row.locator(".lepton-lab-cancel").is_hidden()

    panel = page.locator("#lepton-lab-panel")
    panel.locator(".lepton-lab-filter").select_option("cancelled")
    wait_for(lambda: panel.locator(".lepton-lab-job").count() == 1, 5, "only the cancelled job is listed")
    assert row.is_visible()
    page.screenshot(path=str(artifacts / "lab-panel-job-cancelled.png"))
    panel.locator(".lepton-lab-filter").select_option("running")
    wait_for(lambda: panel.locator(".lepton-lab-job").count() == 0, 5, "no running job is listed")


def test_a_run_trained_from_a_terminal_shows_up_tagged_and_completes(lab, page, artifacts):
    open_panel(page, lab)
    spec = {"name": "from-terminal", "dataset": {"name": "digits", "subset": 300}, "model": {"preset": "mlp"},
            "train": {"epochs": 3, "batch_size": 8}}  # fmt: skip
    spec_file = lab.root.parent / "terminal-job.json"
    spec_file.write_text(json.dumps(spec))
    command = [sys.executable, "-m", "lepton_lab.cli", "train", str(spec_file)]
    command += ["--runs-dir", str(lab.runs_dir)]
    trainer = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        row = page.locator("#lepton-lab-panel .lepton-lab-job", has_text="from-terminal")
        row.wait_for(timeout=60_000)
        assert row.locator(".lepton-lab-origin").inner_text() == "script"
        row.locator(".lepton-lab-badge", has_text="completed").wait_for(timeout=180_000)
        assert trainer.wait(timeout=60) == 0
    finally:
        trainer.kill()
    assert row.locator(".lepton-lab-job-progress").inner_text() == "epoch 3/3"
    page.screenshot(path=str(artifacts / "lab-panel-terminal-run.png"))


def test_job_view_draws_live_charts_spec_and_log(lab, page, artifacts):
    open_panel(page, lab)
    job_id = submit(lab, "view-digits", epochs=3, batch_size=8)["id"]
    row = job_row(page, job_id)
    row.wait_for(timeout=10_000)
    row.locator(".lepton-lab-job-name").click()

    view = page.locator(f".lepton-lab-jobview[data-job-id='{job_id}']")
    view.wait_for(timeout=10_000)
    view.locator(".lepton-lab-badge", has_text="completed").wait_for(timeout=180_000)
    # subset=300 training examples / batch 8 = 38 steps per epoch, 3 epochs.
    view.locator(".lepton-lab-latest-step", has_text="step 114/114").wait_for(timeout=10_000)

    loss = view.locator(".lepton-lab-chart-loss")
    val_path = loss.locator("path[data-key='val_loss']")
    wait_for(lambda: (val_path.get_attribute("d") or "").count("L") == 2, 10, "a validation point per epoch")
    # Keras reports batches once per `steps_per_execution`, still several times per epoch.
    batch_points = (loss.locator("path[data-key='loss']").get_attribute("d") or "").count("L") + 1
    assert batch_points > 3, f"only {batch_points} batch points"
    accuracy = view.locator(".lepton-lab-chart-accuracy path[data-key='epoch_accuracy']")
    assert (accuracy.get_attribute("d") or "").startswith("M")
    assert loss.locator(".lepton-lab-tick").count() >= 4

    spec = view.locator(".lepton-lab-jobview-spec").inner_text()
    assert "digits" in spec and "batch_size" in spec
    # The runner records the per-layer summary; the view shows it as a table.
    model = view.locator(".lepton-lab-jobview-model").inner_text()
    assert "Flatten" in model and "(None, 64)" in model
    view.locator(".lepton-lab-jobview-evaluation", has_text="test accuracy").wait_for(timeout=10_000)
    wait_for(lambda: "view-digits" in view.locator(".lepton-lab-log").inner_text(), 15, "log tail shown")
    assert "tensorboard" in view.locator(".lepton-lab-link-tensorboard").inner_text()
    page.screenshot(path=str(artifacts / "lab-job-view.png"))


def test_panel_follows_new_jobs_after_a_server_restart_without_reload(tmp_path, page, artifacts):
    root = tmp_path / "root"
    root.mkdir()
    with running_lab(root) as first:
        panel = open_panel(page, first)
        port = int(first.url.rsplit(":", 1)[1].split("/")[0])
    panel.locator(".lepton-lab-connection[data-state='waiting']").wait_for(timeout=30_000)
    with running_lab(root, port=port) as second:
        panel.locator(".lepton-lab-connection[data-state='open']").wait_for(timeout=60_000)
        job_id = submit(second, "after-restart")["id"]
        job_row(page, job_id).locator(".lepton-lab-badge", has_text="completed").wait_for(timeout=180_000)
        page.screenshot(path=str(artifacts / "lab-panel-reconnected.png"))


@pytest.fixture(scope="module")
def lab_behind_base_url(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab-x") / "root"
    root.mkdir()
    with running_lab(root, base_url="/x/") as server:
        yield server


def test_panel_and_job_view_work_behind_a_base_url(lab_behind_base_url, page, artifacts):
    lab = lab_behind_base_url
    assert lab.url.endswith("/x/")
    open_panel(page, lab)
    job_id = submit(lab, "base-url-digits")["id"]
    job_row(page, job_id).locator(".lepton-lab-badge", has_text="completed").wait_for(timeout=180_000)

    # Open the job view from the command palette this time (300 examples / batch 32 = 10 steps, 2 epochs).
    page.keyboard.press("Control+Shift+C")
    page.locator(".lm-CommandPalette-input").fill("Lepton Lab: Open Job View")
    page.keyboard.press("Enter")
    dialog = page.locator(".jp-Dialog")
    dialog.locator("select").select_option(index=0)
    dialog.locator(".jp-mod-accept").click()
    view = page.locator(f".lepton-lab-jobview[data-job-id='{job_id}']")
    view.locator(".lepton-lab-latest-step", has_text="step 20/20").wait_for(timeout=20_000)
    curve = view.locator(".lepton-lab-chart-loss path[data-key='loss']")
    wait_for(lambda: (curve.get_attribute("d") or "").startswith("M"), 10, "loss curve drawn behind /x/")
    page.screenshot(path=str(artifacts / "lab-base-url-job-view.png"))


def test_launcher_section_opens_the_tutorial_notebooks(lab, page, artifacts):
    # Without a notebooks/ folder the numbered notebooks at the server root are the tutorials.
    notebook = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (lab.root / "90_launcher_check.ipynb").write_text(json.dumps(notebook))
    page.goto(lab.lab_url())
    # A fresh launcher: the restored layout may show an earlier test's job view instead.
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-addButton").first.click(timeout=60_000)
    title = page.locator(".jp-Launcher-sectionTitle", has_text="Lepton Lab")
    section = page.locator(".jp-Launcher-section", has=title)
    card = section.locator(".jp-LauncherCard", has_text="Launcher check").last
    card.wait_for(timeout=60_000)
    assert section.last.locator(".jp-LauncherCard", has_text="Jobs Panel").count() == 1
    page.screenshot(path=str(artifacts / "lab-launcher-section.png"))
    card.click()
    page.locator(".lm-TabBar-tab.lm-mod-current", has_text="90_launcher_check.ipynb").wait_for(timeout=30_000)


def test_devices_section_shows_each_gpu_with_memory_utilisation_and_holder(lab, page):
    # This host has no GPU: answer `devices` as NVML would on a GPU host (the one stubbed route).
    gib = 1024**3
    gpu = {
        "id": "gpu:0",
        "kind": "gpu",
        "index": 0,
        "name": "NVIDIA H100 80GB HBM3",
        "uuid": "GPU-1",
        "memory_total": 80 * gib,
        "memory_used": 30 * gib,
        "utilization": 45,
        "jobs": ["job-on-gpu"],
    }
    cpu = {
        "id": "cpu",
        "kind": "cpu",
        "name": "x86_64",
        "cores": 2,
        "memory_total": 8 * gib,
        "memory_used": 2 * gib,
        "utilization": 10.0,
        "jobs": [],
    }
    body = json.dumps({"devices": [cpu, gpu], "gpu_policy": "exclusive", "nvml_error": None})
    page.route(
        "**/lepton-lab/api/devices*",
        lambda route: route.fulfill(status=200, content_type="application/json", body=body),
    )
    panel = open_panel(page, lab)
    device = panel.locator(".lepton-lab-gpu[data-device-id='gpu:0']")
    device.wait_for(timeout=10_000)
    assert device.locator(".lepton-lab-device-name").inner_text() == "GPU 0: NVIDIA H100 80GB HBM3"
    assert device.locator(".lepton-lab-device-detail").inner_text() == (
        "memory 30.0 GiB / 80.0 GiB (38%) · util 45%"
    )
    assert device.locator(".lepton-lab-memory .lepton-lab-bar-fill").evaluate("e => e.style.width") == "37.5%"
    assert device.locator(".lepton-lab-device-jobs").inner_text() == "held by job-on-gpu"
    assert panel.locator(".lepton-lab-cpu-only").count() == 0
