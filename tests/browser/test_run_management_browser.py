"""A teacher manages 100 runs in the Lab panel: filter, rename, note, archive, delete, in Chromium.

The runs are written on disk before JupyterLab starts (the server indexes run directories at
start-up), so nothing trains. Every action goes through the UI and is checked on disk.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lepton_lab.core.events import EventWriter
from lepton_lab.core.rundir import RunDir
from tests.browser.lab_api import api, job_row, open_panel, wait_for
from tests.lab_server import running_lab

RUNS = 100
STATUSES = ("completed", "completed", "failed", "cancelled")


def _write_runs(runs_dir: Path) -> list[dict[str, Any]]:
    """100 finished runs: names, tags and statuses varied enough to filter on."""
    made = []
    for i in range(RUNS):
        model = "cnn" if i % 2 else "mlp"
        tags = ["sweep"] if i % 3 == 0 else ["lesson-1"]
        spec = {"name": f"{model} lr {i}", "tags": tags, "dataset": {"name": "digits"}}
        run = RunDir.create(runs_dir, spec, run_id=f"20250101-{i:06d}-{model}-{i:04x}")
        status = STATUSES[(i // 2) % len(STATUSES)]
        with EventWriter(run.events_path) as writer:
            for epoch in (1, 2):
                metrics = {"loss": 1 / epoch, "accuracy": 0.5}
                writer.emit("epoch", step=epoch * 10, epoch=epoch, metrics=metrics)
        run.write_status(status=status, epoch=2)
        made.append({"id": run.id, "name": spec["name"], "tags": tags, "status": status, "path": run.path})
    return made


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    root = tmp_path_factory.mktemp("many") / "root"
    root.mkdir()
    runs = _write_runs(root / "lepton-runs")
    with running_lab(root) as server:
        yield server, runs


def _rows(panel) -> int:
    return panel.locator(".lepton-lab-job").count()


def _type_filter(panel, text: str) -> None:
    box = panel.locator(".lepton-lab-search")
    box.fill("")
    box.type(text)  # one key at a time, as a person types


def _manage(row, action: str) -> None:
    """Click a manage action of a row (Rename, Note, Archive, Delete), opening its "⋯" bar first."""
    if not row.locator(".lepton-lab-job-manage").is_visible():
        row.locator(".lepton-lab-more").click()
    row.locator(f".lepton-lab-{action}").click()


def _meta(run: dict[str, Any]) -> dict[str, Any]:
    return json.loads((Path(run["path"]) / "meta.json").read_text())


def test_filter_rename_note_archive_and_delete_with_100_runs(many, page, artifacts):
    lab, runs = many
    page.set_viewport_size({"width": 1280, "height": 800})
    panel = open_panel(page, lab)
    wait_for(lambda: _rows(panel) == RUNS, 30, f"all {RUNS} runs are listed")
    page.screenshot(path=str(artifacts / "lab-panel-100-runs.png"))

    # The list scrolls and the filter bar stays in view while it does.
    scroll = panel.evaluate("p => ({height: p.scrollHeight, view: p.clientHeight})")
    assert scroll["height"] > 3 * scroll["view"], scroll
    panel.evaluate("p => { p.scrollTop = p.scrollHeight; }")
    bar = panel.locator(".lepton-lab-filterbar").bounding_box()
    box = panel.bounding_box()
    assert bar is not None and box is not None and box["y"] - 1 <= bar["y"] <= box["y"] + 40, (bar, box)
    panel.evaluate("p => { p.scrollTop = 0; }")

    # The example filter: status, tag and a word.
    _type_filter(panel, "status:failed tag:sweep cnn")
    expected = {
        r["id"] for r in runs if r["status"] == "failed" and "sweep" in r["tags"] and "cnn" in r["name"]
    }
    assert expected
    wait_for(lambda: _rows(panel) == len(expected), 5, "the filter keeps the failed cnn sweep runs")
    shown = set(panel.locator(".lepton-lab-job").evaluate_all("rows => rows.map(r => r.dataset.jobId)"))
    assert shown == expected
    assert panel.locator(".lepton-lab-filter-count").inner_text().startswith(f"{len(expected)} of {RUNS}")

    # Rename one through the dialog.
    target = runs[37]
    _type_filter(panel, target["id"])
    row = job_row(page, target["id"])
    wait_for(lambda: _rows(panel) == 1, 5, "one run matches its id")
    _manage(row, "rename")
    dialog = page.locator(".jp-Dialog")
    dialog.locator("input").fill("Lesson 1: best CNN")
    dialog.locator(".jp-mod-accept").click()
    row.locator(".lepton-lab-job-name", has_text="Lesson 1: best CNN").wait_for(timeout=10_000)
    assert _meta(target)["name"] == "Lesson 1: best CNN"
    assert json.loads((Path(target["path"]) / "spec.json").read_text())["name"] == target["name"]

    # The new name is what the filter finds.
    _type_filter(panel, '"best cnn"')
    wait_for(lambda: _rows(panel) == 1 and row.is_visible(), 5, "the renamed run is found by its new name")

    # A note, in a multi-line box.
    _manage(row, "note")
    page.locator(".jp-Dialog textarea").fill("Batch norm helped.\nTry more epochs.")
    page.locator(".jp-Dialog .jp-mod-accept").click()
    row.locator(".lepton-lab-job-note", has_text="Batch norm helped.").wait_for(timeout=10_000)
    assert _meta(target)["note"] == "Batch norm helped.\nTry more epochs."

    # Archive: hidden until "archived" is ticked.
    _manage(row, "archive")
    wait_for(lambda: _rows(panel) == 0, 10, "the archived run leaves the list")
    assert _meta(target)["archived"] is True
    panel.locator(".lepton-lab-show-archived input").check()
    row.wait_for(timeout=5_000)
    assert row.get_attribute("data-archived") == "true"
    assert row.locator(".lepton-lab-archived-label").is_visible()
    assert row.locator(".lepton-lab-archive").inner_text() == "Unarchive"
    panel.locator(".lepton-lab-show-archived input").uncheck()

    # Delete another: the question names the run and its size; "Keep it" keeps it.
    victim = runs[12]
    _type_filter(panel, victim["id"])
    doomed = job_row(page, victim["id"])
    doomed.wait_for(timeout=5_000)
    _manage(doomed, "delete")
    question = page.locator(".jp-Dialog")
    question.wait_for(timeout=5_000)
    text = question.inner_text()
    assert f"Delete run {victim['id']} ({victim['name']}, " in text and " MB)?" in text, text
    page.screenshot(path=str(artifacts / "lab-panel-delete-question.png"))
    question.locator("button", has_text="Keep it").click()
    question.wait_for(state="detached", timeout=5_000)
    assert Path(victim["path"]).is_dir() and doomed.is_visible()

    _manage(doomed, "delete")
    page.locator(".jp-Dialog button", has_text="Delete").click()
    doomed.wait_for(state="detached", timeout=10_000)
    assert not Path(victim["path"]).exists()
    assert victim["id"] not in {job["id"] for job in api(lab, "GET", "jobs")["jobs"]}

    # The job view shows the note.
    _type_filter(panel, "")
    panel.locator(".lepton-lab-show-archived input").check()
    row.locator(".lepton-lab-job-name").click()
    note = page.locator(f".lepton-lab-jobview[data-job-id='{target['id']}'] .lepton-lab-jobview-note-text")
    note.wait_for(timeout=10_000)
    assert note.inner_text() == "Batch norm helped.\nTry more epochs."
    page.screenshot(path=str(artifacts / "lab-jobview-note.png"))


def test_panel_follows_renames_and_deletions_made_by_another_client(many, page):
    lab, runs = many
    panel = open_panel(page, lab)
    other, gone = runs[50], runs[51]
    job_row(page, other["id"]).wait_for(timeout=30_000)
    changes = {"name": "renamed by the teacher's notebook", "note": "from afar"}
    api(lab, "PATCH", f"jobs/{other['id']}", changes)
    row = job_row(page, other["id"])
    row.locator(".lepton-lab-job-name", has_text="renamed by the teacher's notebook").wait_for(timeout=10_000)
    assert row.locator(".lepton-lab-job-note").inner_text() == "from afar"

    api(lab, "DELETE", f"jobs/{gone['id']}/run")
    job_row(page, gone["id"]).wait_for(state="detached", timeout=10_000)
    assert not Path(gone["path"]).exists()
    assert panel.locator(".lepton-lab-job").count() >= 1
