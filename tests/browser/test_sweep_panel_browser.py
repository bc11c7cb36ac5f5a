"""A sweep in the Lab panel and its sweep view, in Chromium.

The Lab server runs ``tests.sweep_fakes.SweepFakeExecutor``: TensorFlow-free trials that write
real run directories, one epoch per poll of the job manager, with ``val_accuracy`` a deterministic
function of the trial's spec. The sweep is started through the REST API while the panel is open,
so everything the panel shows arrives over the stream socket; the test compares what it shows with
what ``GET sweeps/{id}`` and ``GET sweeps/{id}/trials`` answer once the sweep has ended.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.browser.lab_api import api, open_panel, wait_for
from tests.lab_server import running_lab

REPO = Path(__file__).resolve().parents[2]
EXECUTOR = "tests.sweep_fakes.SweepFakeExecutor"

#: One trial at a time and a fixed seed: the same trials, values and pruning decisions every run.
SWEEP: dict[str, Any] = {
    "name": "ui-sweep",
    "base": {
        "dataset": {"name": "digits", "subset": 300},
        "model": {"preset": "mlp"},
        "train": {"epochs": 4},
    },
    "space": {
        "train.learning_rate": {"type": "float", "low": 1e-5, "high": 1e-1, "log": True},
        "train.batch_size": {"type": "categorical", "choices": [32, 64, 128]},
    },
    "objective": {"metric": "val_accuracy", "direction": "maximize"},
    "strategy": "random",
    "max_trials": 10,
    "parallel": 1,
    "pruner": "median",
    "seed": 0,
}


@pytest.fixture
def sweep_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    # The server process imports the executor class from `tests`: the repository root on its path.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    root = tmp_path / "root"
    root.mkdir()
    args = (f"--LeptonLabApp.executor_class={EXECUTOR}", "--LeptonLabApp.max_concurrent_jobs=2")
    with running_lab(root, extra_args=args) as lab:
        yield lab


def metric_text(value: float | None) -> str:
    """A value as the panel writes it (``formatMetric``: about 3 significant digits)."""
    if value is None:
        return "\u2013"  # the dash formatMetric writes
    return repr(float(f"{value:.3g}"))


def counts_text(counts: dict[str, int]) -> str:
    """The sweep row's counts line (``countsLabel``)."""
    parts = [f"{counts.get('completed', 0)} done", f"{counts.get('running', 0)} running",
             f"{counts.get('pruned', 0)} pruned"]  # fmt: skip
    parts += [f"{counts[s]} {s}" for s in ("failed", "cancelled", "interrupted", "queued") if counts.get(s)]
    return " · ".join(parts)


def test_sweep_row_groups_its_trials_and_the_sweep_view_draws_them(
    sweep_lab: Any, page: Any, artifacts: Path
) -> None:
    lab = sweep_lab
    panel = open_panel(page, lab)
    sweep = api(lab, "POST", "sweeps", SWEEP)
    sweep_id = sweep["id"]
    row = panel.locator(f".lepton-lab-sweep[data-sweep-id='{sweep_id}']")
    row.wait_for(timeout=30_000)
    assert row.locator(".lepton-lab-sweep-name").inner_text() == "ui-sweep"

    ended = wait_for(
        lambda: (record := api(lab, "GET", f"sweeps/{sweep_id}"))["state"] == "completed" and record,
        120,
        "the sweep completes",
    )
    trials = api(lab, "GET", f"sweeps/{sweep_id}/trials")["trials"]
    assert len(trials) == SWEEP["max_trials"]
    pruned = [t for t in trials if t["status"] == "pruned"]
    assert pruned, f"the median pruner stops a trial of this seeded sweep: {[t['status'] for t in trials]}"
    best = ended["best"]
    assert best is not None and best["number"] in {t["number"] for t in trials}

    # The row: state, best value, counts, all from the stream (the page was never reloaded).
    row.locator(".lepton-lab-sweep-state[data-status='completed']").wait_for(timeout=30_000)
    best_line = f"best val_accuracy {metric_text(best['value'])} (#{best['number']})"
    wait_for(lambda: row.locator(".lepton-lab-sweep-best").inner_text() == best_line, 30, "the best value")
    counts = counts_text(ended["counts"])
    wait_for(lambda: row.locator(".lepton-lab-sweep-counts").inner_text() == counts, 30, "the trial counts")
    assert ended["counts"]["completed"] + ended["counts"]["pruned"] == len(trials)
    # Trials are not listed beside their sweep, only under it.
    assert panel.locator(".lepton-lab-jobs > .lepton-lab-job:not(.lepton-lab-sweep)").count() == 0
    assert row.locator(".lepton-lab-sweep-trials").is_hidden()
    row.screenshot(path=str(artifacts / "panel-sweep-row.png"))

    # Expanded: one ordinary job row per trial; a pruned trial says so in its badge.
    row.locator(".lepton-lab-sweep-toggle").click()
    trial_rows = row.locator(".lepton-lab-sweep-trials > .lepton-lab-job")
    wait_for(lambda: trial_rows.count() == len(trials), 30, "the trial rows")
    assert {trial_rows.nth(i).get_attribute("data-job-id") for i in range(len(trials))} == {
        t["job_id"] for t in trials
    }
    first_pruned = row.locator(f".lepton-lab-job[data-job-id='{pruned[0]['job_id']}']")
    badge = first_pruned.locator(".lepton-lab-badge")
    assert badge.inner_text() == "pruned"
    completed_job = next(t["job_id"] for t in trials if t["status"] == "completed")
    completed_badge = row.locator(f".lepton-lab-job[data-job-id='{completed_job}'] .lepton-lab-badge")
    background = "e => getComputedStyle(e).backgroundColor"
    assert badge.evaluate(background) not in {completed_badge.evaluate(background), "rgba(0, 0, 0, 0)"}
    panel.screenshot(path=str(artifacts / "panel-sweep-expanded.png"))

    # A trial row opens the usual job view.
    first_pruned.locator(".lepton-lab-job-name").click()
    job_view = page.locator(f".lepton-lab-jobview[data-job-id='{pruned[0]['job_id']}']")
    job_view.locator(".lepton-lab-badge", has_text="pruned").wait_for(timeout=30_000)

    # The sweep view: header, best-so-far chart, parallel coordinates, importance, trial table.
    row.locator(".lepton-lab-sweep-open").click()
    view = page.locator(f".lepton-lab-sweepview[data-sweep-id='{sweep_id}']")
    view.wait_for(timeout=30_000)
    assert view.locator(".lepton-lab-sweep-best").inner_text() == best_line
    table_rows = view.locator(".lepton-lab-trials tbody tr")
    wait_for(lambda: table_rows.count() == len(trials), 30, "the trial table")
    for trial in trials:
        cells = view.locator(f".lepton-lab-trials tbody tr[data-number='{trial['number']}'] td")
        assert cells.nth(1).inner_text() == trial["status"]
        assert cells.nth(2).inner_text() == metric_text(trial["value"])
        assert cells.nth(3).inner_text() == str(trial["epochs_run"])
    assert view.locator(".lepton-lab-trials tbody tr[data-best='true']").get_attribute("data-number") == str(
        best["number"]
    )
    # Best so far: a line through the completed trials' best, their dots, and the pruned ones' dots.
    history = view.locator(".lepton-lab-sweep-history")
    best_curve = history.locator("path.lepton-lab-curve[data-key='best']")
    wait_for(lambda: bool(best_curve.get_attribute("d")), 30, "the best-so-far curve")
    assert history.locator(".lepton-lab-dots.lepton-lab-curve-val").get_attribute("d")
    assert history.locator(".lepton-lab-dots.lepton-lab-curve-pruned").get_attribute("d")
    # Parallel coordinates: an axis per parameter and the objective, a line per trial, a log axis.
    parcoords = view.locator(".lepton-lab-parcoords")
    axes = parcoords.locator(".lepton-lab-pc-axis")
    assert [axes.nth(i).get_attribute("data-key") for i in range(axes.count())] == [
        "train.learning_rate",
        "train.batch_size",
        "objective",
    ]
    assert (
        parcoords.locator(".lepton-lab-pc-axis[data-key='train.learning_rate']").get_attribute("data-scale")
        == "log"
    )
    assert parcoords.locator(".lepton-lab-pc-line").count() == len(trials)
    assert parcoords.locator(".lepton-lab-pc-line.lepton-lab-pc-best").get_attribute("data-number") == str(
        best["number"]
    )
    assert parcoords.locator(".lepton-lab-pc-line[data-status='pruned']").count() == len(pruned)
    # Importance: one bar per parameter, the most important first, as the server ranked them.
    importance = ended["importance"]
    if importance:
        bars = view.locator(".lepton-lab-importance-row")
        ranked = sorted(importance, key=lambda path: -importance[path])
        assert [bars.nth(i).get_attribute("data-param") for i in range(bars.count())] == ranked
    view.screenshot(path=str(artifacts / "lab-sweep-view.png"))

    # A trial's row in the table opens its job view, which links back to the (same) sweep view.
    view.locator(f".lepton-lab-trials tbody tr[data-number='{best['number']}']").click()
    best_view = page.locator(f".lepton-lab-jobview[data-job-id='{best['job_id']}']")
    best_view.wait_for(timeout=30_000)
    link = best_view.locator(".lepton-lab-jobview-sweep")
    assert link.inner_text() == f"trial #{best['number']} of sweep ui-sweep"
    link.click()
    view.wait_for(state="visible", timeout=10_000)
    assert page.locator(".lepton-lab-sweepview").count() == 1


def test_cancel_on_the_sweep_row_asks_then_cancels_the_sweep(
    sweep_lab: Any, page: Any, artifacts: Path
) -> None:
    lab = sweep_lab
    panel = open_panel(page, lab)
    # Trials of 10 000 epochs (the most a spec allows, minutes each): still running when cancelled.
    spec = {**SWEEP, "name": "endless-sweep", "base": {**SWEEP["base"], "train": {"epochs": 10_000}}}
    spec["parallel"] = 2
    sweep_id = api(lab, "POST", "sweeps", spec)["id"]
    row = panel.locator(f".lepton-lab-sweep[data-sweep-id='{sweep_id}']")
    row.locator(".lepton-lab-sweep-state[data-status='running']").wait_for(timeout=30_000)
    wait_for(lambda: api(lab, "GET", f"sweeps/{sweep_id}")["counts"]["running"] == 2, 60, "two trials run")
    row.locator(".lepton-lab-sweep-counts", has_text="2 running").wait_for(timeout=30_000)

    # The sweep view while it runs: the running trials' lines, no best value yet.
    row.locator(".lepton-lab-sweep-open").click()
    view = page.locator(f".lepton-lab-sweepview[data-sweep-id='{sweep_id}']")
    view.locator(".lepton-lab-jobview-title .lepton-lab-badge[data-status='running']").wait_for(
        timeout=30_000
    )
    running_lines = view.locator(".lepton-lab-pc-line[data-status='running']")
    wait_for(lambda: running_lines.count() == 2, 30, "the running trials' lines")
    assert view.locator(".lepton-lab-sweep-best").inner_text() == "best val_accuracy: none yet"
    view.screenshot(path=str(artifacts / "lab-sweep-view-running.png"))

    # Asked first; keeping it changes nothing.
    row.locator(".lepton-lab-sweep-cancel").click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=10_000)
    assert dialog.locator(".jp-Dialog-header").inner_text() == 'Cancel sweep "endless-sweep"?'
    assert "2 running trials are cancelled" in dialog.locator(".jp-Dialog-body").inner_text()
    dialog.screenshot(path=str(artifacts / "panel-sweep-cancel-dialog.png"))
    dialog.locator("button", has_text="Keep sweeping").click()
    dialog.wait_for(state="detached", timeout=10_000)
    assert api(lab, "GET", f"sweeps/{sweep_id}")["state"] == "running"

    row.locator(".lepton-lab-sweep-cancel").click()
    page.locator(".jp-Dialog button", has_text="Cancel sweep").click()
    row.locator(".lepton-lab-sweep-state[data-status='cancelled']").wait_for(timeout=30_000)
    assert row.locator(".lepton-lab-sweep-cancel").is_hidden()
    ended = api(lab, "GET", f"sweeps/{sweep_id}")
    assert ended["state"] == "cancelled"
    # A trial's job ends when its worker process has stopped, a moment after the sweep says cancelled.
    def trial_statuses() -> list[str]:
        return [t["status"] for t in api(lab, "GET", f"sweeps/{sweep_id}/trials")["trials"]]

    wait_for(lambda: "running" not in trial_statuses(), 30, "every trial to stop")
    statuses = trial_statuses()
    assert statuses and all(status in {"cancelled", "pruned", "completed"} for status in statuses), statuses
    wait_for(lambda: "0 running" in row.locator(".lepton-lab-sweep-counts").inner_text(), 30, "no trial runs")
    # The open sweep view heard it too.
    view.locator(".lepton-lab-jobview-title .lepton-lab-badge[data-status='cancelled']").wait_for(
        timeout=30_000
    )
    assert view.locator(".lepton-lab-jobview-title .lepton-lab-cancel").is_hidden()
