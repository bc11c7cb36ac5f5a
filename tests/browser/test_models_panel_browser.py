"""Export, deploy and watch a model from JupyterLab, in Chromium, against real processes.

A tiny digits run trains for real; its job view exports it (TFLite, int8: the exporter runs in a
worker process and verifies the export in the LiteRT interpreter) and deploys it (a SavedModel
served by a model-server worker process). Predictions go to the TF Serving-compatible REST API;
the panel's Models section and the model view must show them: the request count, the rate and
latency charts, the class bars. Undeploy asks first, then the model leaves the panel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tests.browser.lab_api import api, job_row, open_panel, submit, wait_for

MODEL = "digits-ui"
#: Predict requests sent, of BATCH images each.
REQUESTS, BATCH = 24, 3


def _drawn(locator: Any) -> bool:
    return (locator.get_attribute("d") or "").startswith("M")


def test_export_deploy_and_watch_a_model_in_the_panel(lab: Any, page: Any, artifacts: Path) -> None:
    job_id = submit(lab, "deploy-digits", epochs=2)["id"]
    panel = open_panel(page, lab)
    models = panel.locator(".lepton-lab-models-section")
    # The server has the deployment routes: the section shows, empty, and says how to deploy.
    models.locator(".lepton-lab-models-empty", has_text="No deployed models").wait_for(timeout=30_000)

    row = job_row(page, job_id)
    row.wait_for(timeout=10_000)
    row.locator(".lepton-lab-job-name").click()
    view = page.locator(f".lepton-lab-jobview[data-job-id='{job_id}']")
    view.locator(".lepton-lab-badge", has_text="completed").wait_for(timeout=240_000)
    exports = view.locator(".lepton-lab-jobview-exports")
    exports.locator(".lepton-lab-export-list", has_text="No exports yet").wait_for(timeout=30_000)

    # Export: TFLite with int8 quantization; the chooser offers only what each format can do.
    exports.locator(".lepton-lab-export-format").select_option("savedmodel")
    assert exports.locator(".lepton-lab-export-quantize").is_disabled()
    exports.locator(".lepton-lab-export-format").select_option("tflite")
    options = exports.locator(".lepton-lab-export-quantize option").evaluate_all("os => os.map(o => o.value)")
    assert options == ["none", "float16", "dynamic", "int8"]
    exports.locator(".lepton-lab-export-quantize").select_option("int8")
    exports.locator(".lepton-lab-export-button").click()
    progress = exports.locator(".lepton-lab-export-progress")
    progress.wait_for(timeout=10_000)
    assert "Exporting tflite · int8" in progress.inner_text()
    card = exports.locator(".lepton-lab-export-card[data-format='tflite'][data-quantize='int8']")
    card.wait_for(timeout=300_000)
    progress.wait_for(state="hidden", timeout=30_000)
    on_disk = api(lab, "GET", f"jobs/{job_id}/exports")["exports"]
    int8 = next(e for e in on_disk if e["format"] == "tflite" and e["quantize"] == "int8")
    figures = card.inner_text()
    assert "exports/tflite-int8/model.tflite" in figures
    assert f"{int8['test_accuracy']:.4f}" in figures and "agreement" in figures and "at batch 32" in figures
    # Outside its tolerance, the card says so loudly (and only then).
    assert card.locator(".lepton-lab-export-warning").count() == (0 if int8["within_tolerance"] else 1)
    table = exports.locator(".lepton-lab-export-row[data-format='tflite'][data-quantize='int8']")
    table.wait_for(timeout=10_000)
    exports.screenshot(path=str(artifacts / "lab-job-export.png"))

    # Deploy under a name: the model appears in the panel's Models section and gets ready.
    exports.locator(".lepton-lab-deploy-name").fill(MODEL)
    exports.locator(".lepton-lab-deploy-button").click()
    exports.locator(".lepton-lab-deploy-result", has_text=f"Deployed as {MODEL} v1").wait_for(timeout=300_000)
    model_row = panel.locator(f".lepton-lab-model[data-model-name='{MODEL}']")
    model_row.wait_for(timeout=30_000)
    panel.locator(f".lepton-lab-model[data-model-name='{MODEL}'][data-state='ready']").wait_for(
        timeout=180_000
    )
    assert model_row.locator(".lepton-lab-model-version").inner_text() == "v1"
    exports.locator(".lepton-lab-deploy-line", has_text=f"Deployed as {MODEL} v1 (ready)").wait_for(
        timeout=10_000
    )
    exports.screenshot(path=str(artifacts / "lab-job-deployed.png"))
    assert models.locator(".lepton-lab-section-title").inner_text().lower() == "models (1)"

    # Predictions through the TF Serving REST API, as any client of it would send them.
    rng = np.random.default_rng(0)
    for _ in range(REQUESTS):
        images = rng.integers(0, 17, size=(BATCH, 8, 8, 1)).tolist()
        answer = api(lab, "POST", f"v1/models/{MODEL}:predict", {"instances": images})
        assert len(answer["predictions"]) == BATCH
        assert len(answer["predictions"][0]["probabilities"]) == 10

    # The row hears the requests on the stream (no reload).
    stats = model_row.locator(".lepton-lab-model-stats")
    wait_for(lambda: f"{REQUESTS} requests" in stats.inner_text(), 30, f"the row counts {REQUESTS} requests")
    assert (
        "req/s" in stats.inner_text()
        and "p95 " in stats.inner_text()
        and "p95 \u2013" not in stats.inner_text()
    )
    assert model_row.locator(".lepton-lab-model-drift").get_attribute("data-drifting") in ("true", "false")
    model_row.screenshot(path=str(artifacts / "panel-model-row.png"))

    # The model view: rate and latency over time, batch sizes, class bars against training, drift.
    model_row.locator(".lepton-lab-model-name").click()
    model_view = page.locator(f".lepton-lab-modelview[data-model-name='{MODEL}']")
    model_view.wait_for(timeout=10_000)
    model_view.locator(".lepton-lab-model-requests .lepton-lab-value", has_text=str(REQUESTS)).wait_for(
        timeout=30_000
    )
    rate = model_view.locator(".lepton-lab-model-rate path[data-key='rate']")
    p95 = model_view.locator(".lepton-lab-model-latency path[data-key='p95']")
    wait_for(lambda: _drawn(rate) and _drawn(p95), 30, "the rate and latency charts are drawn")
    # Points are dots too: all the requests may fall in one 5 s interval (one point).
    assert _drawn(model_view.locator(".lepton-lab-model-rate path.lepton-lab-dots"))
    dots = model_view.locator(".lepton-lab-model-latency path.lepton-lab-dots.lepton-lab-curve-val")
    assert _drawn(dots) and "a" in (dots.get_attribute("d") or "")
    assert model_view.locator(".lepton-lab-model-latency .lepton-lab-tick").count() >= 4
    columns = model_view.locator(".lepton-lab-class-column")
    assert columns.count() == 10
    metrics = api(lab, "GET", f"models/{MODEL}/metrics")
    assert sum(metrics["predicted"].values()) == REQUESTS * BATCH
    # Every class with training examples draws its training bar; predicted bars sum to the requests.
    heights = columns.locator(".lepton-lab-class-training").evaluate_all("bs => bs.map(b => b.style.height)")
    assert all(h not in ("", "0%") for h in heights), heights
    assert model_view.locator(".lepton-lab-batch-row").count() >= 1
    assert "Jensen-Shannon" in model_view.locator(".lepton-lab-drift-text").inner_text()
    model_view.screenshot(path=str(artifacts / "lab-model-view.png"))

    # Undeploy asks first; keeping it changes nothing, confirming removes it from the panel.
    model_row.locator(".lepton-lab-model-undeploy").click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=10_000)
    assert dialog.locator(".jp-Dialog-header").inner_text() == f'Undeploy model "{MODEL}"?'
    dialog.screenshot(path=str(artifacts / "panel-model-undeploy-dialog.png"))
    dialog.locator("button", has_text="Keep serving").click()
    dialog.wait_for(state="detached", timeout=10_000)
    assert [m["name"] for m in api(lab, "GET", "models")["models"]] == [MODEL]
    model_row.locator(".lepton-lab-model-undeploy").click()
    page.locator(".jp-Dialog button", has_text="Undeploy").click()
    model_row.wait_for(state="detached", timeout=30_000)
    assert api(lab, "GET", "models")["models"] == []
    models.locator(".lepton-lab-models-empty").wait_for(timeout=10_000)
    # The run's job view no longer says it is deployed.
    lines = exports.locator(".lepton-lab-deploy-line")
    wait_for(lambda: lines.count() == 0, 10, "the job view drops the undeployed model")
