"""The Lepton Lab panel and job view follow real training jobs live in Chromium."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import pytest

import lepton_lab
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


#: Records every status the panel row of each job named ``name`` showed, by job id.
TRACE_NAMED = """
(name) => {
  window.__leptonStatuses = {};
  const panel = document.querySelector('#lepton-lab-panel');
  const record = () => {
    for (const row of panel.querySelectorAll('.lepton-lab-job')) {
      if (row.querySelector('.lepton-lab-job-name').textContent !== name) continue;
      const seen = (window.__leptonStatuses[row.dataset.jobId] ??= []);
      if (seen[seen.length - 1] !== row.dataset.status) seen.push(row.dataset.status);
    }
  };
  const options = {subtree: true, childList: true, characterData: true, attributes: true};
  new MutationObserver(record).observe(panel, options);
  record();
}
"""


def badge(page: Any, job_id: str) -> str:
    return job_row(page, job_id).locator(".lepton-lab-badge").inner_text()


def font_px(locator: Any) -> float:
    return float(locator.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))


UI_FONT_PX = """
() => {
  const probe = document.createElement('div');
  probe.style.fontSize = 'var(--jp-ui-font-size1)';
  document.body.append(probe);
  const px = parseFloat(getComputedStyle(probe).fontSize);
  probe.remove();
  return px;
}
"""


def ui_font_px(page: Any) -> float:
    """JupyterLab's --jp-ui-font-size1: what the file browser's names are set in."""
    return float(page.evaluate(UI_FONT_PX))


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
    # Server jobs are tagged as such, like kernel and script runs; the short id tells twins apart.
    assert row.locator(".lepton-lab-origin").inner_text() == "server"
    assert row.locator(".lepton-lab-job-tag").inner_text().startswith(job_id[-4:] + " · ")
    # Text reads at the size of the file browser's (JupyterLab's --jp-ui-font-size1).
    assert font_px(row.locator(".lepton-lab-job-progress")) >= ui_font_px(page)
    assert font_px(row.locator(".lepton-lab-open")) >= ui_font_px(page)
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


def test_cancel_button_asks_first_then_stops_a_running_job(lab, page, artifacts):
    open_panel(page, lab)
    job_id = submit(lab, "to-cancel", epochs=500, batch_size=4)["id"]
    twin_id = submit(lab, "to-cancel", epochs=500, batch_size=4)["id"]  # same name, queued behind it
    row, twin = job_row(page, job_id), job_row(page, twin_id)
    row.locator(".lepton-lab-badge", has_text="running").wait_for(timeout=120_000)
    # Training, not just starting: the row shows a step-based progress once batches arrive.
    row.locator(".lepton-lab-job-latest", has_text="loss").wait_for(timeout=60_000)
    # Two jobs with one name: each row shows its own short id (and start or creation time).
    tags = row.locator(".lepton-lab-job-tag").inner_text(), twin.locator(".lepton-lab-job-tag").inner_text()
    assert tags[0] != tags[1] and tags[0].startswith(job_id[-4:]) and tags[1].startswith(twin_id[-4:]), tags
    page.screenshot(path=str(artifacts / "lab-panel-twin-jobs.png"))

    row.locator(".lepton-lab-cancel").click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=10_000)
    assert f'Cancel "to-cancel" ({job_id[-4:]})?' in dialog.inner_text()
    page.screenshot(path=str(artifacts / "lab-panel-cancel-dialog.png"))
    dialog.locator("button", has_text="Keep training").click()
    dialog.wait_for(state="detached", timeout=10_000)
    assert api(lab, "GET", f"jobs/{job_id}")["status"] == "running"
    assert row.locator(".lepton-lab-cancel").is_enabled()

    row.locator(".lepton-lab-cancel").click()
    page.locator(".jp-Dialog button", has_text="Cancel job").click()
    row.locator(".lepton-lab-badge", has_text="cancelled").wait_for(timeout=60_000)
    api(lab, "DELETE", f"jobs/{twin_id}")  # it started in the freed slot; later tests need the slot
    assert api(lab, "GET", f"jobs/{job_id}")["status"] == "cancelled"
    assert row.locator(".lepton-lab-resume").is_visible()
    assert row.locator(".lepton-lab-cancel").is_hidden()
    twin.locator(".lepton-lab-badge", has_text="cancelled").wait_for(timeout=60_000)

    panel = page.locator("#lepton-lab-panel")
    panel.locator(".lepton-lab-filter").select_option("cancelled")
    wait_for(lambda: panel.locator(".lepton-lab-job").count() == 2, 5, "only the cancelled jobs are listed")
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
    page.evaluate(TRACE_NAMED, "from-terminal")
    trainer = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        row = page.locator("#lepton-lab-panel .lepton-lab-job", has_text="from-terminal")
        row.wait_for(timeout=60_000)
        assert row.locator(".lepton-lab-origin").inner_text() == "script"
        row.locator(".lepton-lab-badge", has_text="completed").wait_for(timeout=180_000)
        assert trainer.wait(timeout=60) == 0
    finally:
        trainer.kill()
    # Listed while its process was still starting (queued), then running, then completed: the
    # panel followed the run's own status.json rather than keeping the status it was found in.
    (statuses,) = page.evaluate("window.__leptonStatuses").values()
    assert statuses[-2:] == ["running", "completed"], statuses
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
    # The runner records the per-layer summary; the view shows it as a table, a type per layer.
    model = view.locator(".lepton-lab-jobview-model").inner_text()
    assert "Flatten" in model and "(None, 64)" in model
    types = view.locator(".lepton-lab-summary td.lepton-lab-layer-type").all_inner_texts()
    assert types[:3] == ["Input", "Flatten", "Dense"] and types[-1] == "Dense", types
    view.locator(".lepton-lab-jobview-evaluation", has_text="test accuracy").wait_for(timeout=10_000)
    log = view.locator(".lepton-lab-log")
    wait_for(lambda: "view-digits" in log.inner_text(), 15, "log tail shown")
    # The runtime dict of the "training:" line is laid out a key per line, not one long line.
    assert "  steps_per_execution: " in log.inner_text(), log.inner_text()
    assert "tensorboard" in view.locator(".lepton-lab-link-tensorboard").inner_text()
    page.screenshot(path=str(artifacts / "lab-job-view.png"))

    # No report yet: the view says how to make one (no HTTP 404 shown to the person).
    view.locator(".lepton-lab-link-report").click()
    hint = view.locator(".lepton-lab-report-hint")
    hint.wait_for(timeout=10_000)
    assert "ll.report(" in hint.inner_text() and "lepton-lab report" in hint.inner_text()
    # (a log line's timestamp may hold the digits 404: ",404" milliseconds is not an HTTP status)
    assert not re.search(r"(?<![,.\d])404\b", view.inner_text()) and "HTTP" not in view.inner_text()
    view.locator(".lepton-lab-jobview-links").screenshot(path=str(artifacts / "lab-job-view-no-report.png"))
    # Made in a notebook (ll.report(run, path) also stores it in the run folder): it opens.
    lepton_lab.report(lab.runs_dir / job_id, lab.root.parent / "shared-report.html")
    with page.context.expect_page(timeout=20_000) as opened:
        view.locator(".lepton-lab-link-report").click()
    report_tab = opened.value
    report_tab.wait_for_url(re.compile("^blob:"), timeout=20_000)  # filled once the report arrives
    assert report_tab.title() == "view-digits — Lepton Lab report"
    report_tab.close()
    assert hint.is_hidden()


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
    missing: list[str] = []
    page.on("response", lambda r: r.status == 404 and "/api/contents/" in r.url and missing.append(r.url))
    page.goto(lab.lab_url())
    # A fresh launcher: the restored layout may show an earlier test's job view instead.
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-addButton").first.click(timeout=60_000)
    title = page.locator(".jp-Launcher-sectionTitle", has_text="Lepton Lab")
    section = page.locator(".jp-Launcher-section", has=title)
    card = section.locator(".jp-LauncherCard", has_text="Launcher check").last
    card.wait_for(timeout=60_000)
    assert section.last.locator(".jp-LauncherCard", has_text="Jobs Panel").count() == 1
    # Numbered in order, each with an icon of its own.
    cards = section.last.locator(".jp-LauncherCard")
    labels = [label.strip() for label in cards.locator(".jp-LauncherCard-label").all_inner_texts()]
    tutorials = [label for label in labels if label != "Jobs Panel"]
    numbered = ["1 · Quickstart", "2 · Augmentation", "3 · Hyperparameters", "4 · Background jobs"]
    assert tutorials[:5] == [*numbered, "5 · Fashion mnist"], labels
    icons = [cards.nth(i).locator(".jp-LauncherCard-icon").inner_html() for i in range(cards.count())]
    assert len(set(icons[:6])) == 6, "the panel tile and the five tutorials share icons"
    # The server root is the notebooks folder itself: nothing asked for a `notebooks/` inside it.
    assert missing == [], missing
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
