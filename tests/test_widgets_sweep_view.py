"""SweepView and its figures, built from recorded sweep JSON (no server, no TensorFlow)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from lepton_lab.sharing.svg.figure import figure_to_svg
from lepton_lab.widgets import _sweep_figures as figures
from lepton_lab.widgets._plots import PLOTLY_MIME
from lepton_lab.widgets.sweep_view import SweepView

FIXTURE = Path(__file__).parent / "fixtures" / "sweep_running.json"


@pytest.fixture
def recorded() -> dict[str, Any]:
    """A running sweep (3 completed, 2 pruned, 2 running, 1 queued trials) and its trials."""
    return json.loads(FIXTURE.read_text())


class FakeSweep:
    """What SweepView reads of a sweep: its JSON, its trials and a follow() of its changes."""

    def __init__(self, info: dict[str, Any], trials: list[dict[str, Any]], changes: Any = ()) -> None:
        self.id = info["id"]
        self.info = info
        self.trials = trials
        self.changes = list(changes)
        self.fetches = 0

    def trials_info(self) -> list[dict[str, Any]]:
        self.fetches += 1
        return copy.deepcopy(self.trials)

    def follow(self, timeout: float | None = None, stop: Any = None):
        yield from self.changes


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeTimers:
    """Timers fired by hand."""

    def __init__(self) -> None:
        self.pending: list[Any] = []

    def __call__(self, delay: float, callback: Any) -> Any:
        timer = _Timer(callback)
        self.pending.append(timer)
        return timer

    def fire(self) -> None:
        pending, self.pending = self.pending, []
        for timer in pending:
            if not timer.cancelled:
                timer.callback()


class _Timer:
    def __init__(self, callback: Any) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


# -- figures ----------------------------------------------------------------------------------------


def test_history_marks_completed_trials_and_steps_the_running_best_up(recorded):
    figure = figures.history_figure(recorded["trials"], "val_accuracy", "maximize")
    completed, best, pruned = figure["data"]
    assert completed["x"] == [0, 2, 3] and completed["y"] == [0.81, 0.962, 0.93]
    # flat until a trial beats it: 0.81 at trial 0, up to 0.962 at trial 2, flat through the
    # completed trial 3 and on to the last finished trial (4, pruned)
    steps = list(zip(best["x"], best["y"], strict=True))
    assert steps == [(0, 0.81), (2, 0.81), (2, 0.962), (3, 0.962), (3, 0.962), (4, 0.962)]
    assert pruned["x"] == [1, 4] and pruned["y"] == [0.41, 0.52]
    assert figure["layout"]["yaxis"]["title"]["text"] == "val_accuracy"


def test_history_of_a_minimized_loss_steps_down(recorded):
    trials = [{**trial, "status": "completed", "value": value}
              for trial, value in zip(recorded["trials"][:3], (0.5, 0.7, 0.2), strict=True)]  # fmt: skip
    best = figures.history_figure(trials, "val_loss", "minimize")["data"][1]
    assert best["y"][-1] == 0.2 and max(best["y"]) == 0.5


def test_no_history_no_parallel_coordinates_before_any_value(recorded):
    waiting = [{**trial, "status": "running", "value": None} for trial in recorded["trials"]]
    assert figures.history_figure(waiting, "val_accuracy", "maximize") is None
    assert figures.parallel_figure(waiting, recorded["sweep"]["space"], "val_accuracy", "maximize") is None
    assert figures.importance_figure(None) is None


def test_parallel_coordinates_put_log_parameters_on_log_axes_and_categories_in_choice_order(recorded):
    sweep = recorded["sweep"]
    figure = figures.parallel_figure(recorded["trials"], sweep["space"], "val_accuracy", "maximize")
    (trace,) = figure["data"]
    rate, batch, dropout, objective = trace["dimensions"]
    assert rate["label"] == "learning_rate (log)"
    # log10 of 1e-4, 0.0029 and 0.0091
    assert rate["values"] == pytest.approx([-4.0, -2.5376, -2.0410], abs=1e-4)
    assert rate["range"] == [-4.0, -2.0] and rate["ticktext"] == ["0.0001", "0.001", "0.01"]
    assert batch["ticktext"] == ["32", "64", "128"] and batch["values"] == [0, 1, 0]
    assert dropout["range"] == [0.0, 0.5] and dropout["values"] == [0.3, 0.1, 0.0]
    assert objective["label"] == "val_accuracy" and trace["line"]["color"] == [0.81, 0.962, 0.93]
    assert trace["line"]["reversescale"] is False  # bright = high accuracy = better


def test_importance_bars_are_horizontal_with_the_most_important_on_top(recorded):
    figure = figures.importance_figure(recorded["sweep"]["importance"])
    (bars,) = figure["data"]
    assert bars["orientation"] == "h"
    assert bars["y"] == ["dropout", "batch_size", "learning_rate"]  # plotly draws the last on top
    assert bars["x"] == [0.08, 0.21, 0.71]


def test_importance_bars_survive_as_a_static_drawing(recorded):
    svg = figure_to_svg(figures.importance_figure(recorded["sweep"]["importance"]))
    widths = [float(w) for w in re.findall(r'<rect class="bar" [^>]*width="([\d.]+)"', svg)]
    assert len(widths) == 3
    # bar lengths in proportion to the importances 0.08 : 0.21 : 0.71, drawn along x
    assert sorted(widths)[2] / sorted(widths)[0] == pytest.approx(0.71 / 0.08, rel=0.02)
    assert "learning_rate" in svg and "dropout" in svg


def test_trial_table_lists_every_trial_with_status_value_epochs_and_params_and_stars_the_best(recorded):
    table = figures.trials_table_html(recorded["trials"], recorded["sweep"]["space"], best_number=2)
    rows = re.findall(r"<tr( class=lepton-sweep-best)?>(.*?)</tr>", table)
    assert len(rows) == 1 + 8  # header + one per trial
    best = [cells for marked, cells in rows if marked]
    assert len(best) == 1 and "completed ★" in best[0]
    assert "<td>0.962</td>" in best[0] and "<td>0.0029</td>" in best[0]
    queued = rows[-1][1]
    assert "queued" in queued and "<td>64</td>" in queued and "<td>0.2</td>" in queued
    assert re.search(r"<th[^>]*>learning_rate</th>", table)


def test_header_says_counts_and_best_value_with_its_params(recorded):
    text = re.sub(r"<[^>]+>", "", figures.header_html(recorded["sweep"]))
    assert "Sweep lr-sweep" in text and "running" in text and "tpe sampling, median pruning" in text
    assert "5/8 trials done · 2 running · 1 queued · 2 pruned" in text
    assert "best val_accuracy 0.962 (trial 2): learning_rate=0.0029, batch_size=64, dropout=0.1" in text


# -- the view ---------------------------------------------------------------------------------------


def _plot(view_output) -> dict[str, Any]:
    (output,) = view_output.outputs
    return output["data"][PLOTLY_MIME]


def test_view_draws_all_four_parts_from_the_sweep(recorded):
    view = SweepView(FakeSweep(recorded["sweep"], recorded["trials"]), follow=False)
    assert "lepton-sweep-view" in view._dom_classes
    assert _plot(view.history)["data"][0]["x"] == [0, 2, 3]
    assert _plot(view.importance)["data"][0]["orientation"] == "h"
    assert _plot(view.parallel)["data"][0]["type"] == "parcoords"
    assert view.table.value.count("<tr") == 9 and "5/8 trials done" in view.header.value
    # every chart carries its static drawing for pages without plotly.js
    for output in (view.history, view.importance, view.parallel):
        assert "<svg" in output.outputs[0]["data"]["text/html"]


def test_view_waits_with_a_message_before_any_value(recorded):
    info = {**recorded["sweep"], "best": None, "importance": None}
    trials = [{**trial, "status": "queued", "value": None} for trial in recorded["trials"]]
    view = SweepView(FakeSweep(info, trials), follow=False)
    for output in (view.history, view.importance, view.parallel):
        (shown,) = output.outputs
        assert PLOTLY_MIME not in shown["data"] and "appear" in shown["data"]["text/html"]


def test_changes_faster_than_the_rate_limit_cost_one_fetch_and_one_redraw(recorded):
    clock, timers = FakeClock(), FakeTimers()
    sweep = FakeSweep(recorded["sweep"], recorded["trials"])
    view = SweepView(sweep, follow=False, max_redraws_per_s=2, clock=clock, timer=timers)
    assert (view.redraws, sweep.fetches) == (1, 1)
    for _ in range(10):
        clock.now += 0.01
        view.update(recorded["sweep"])
    assert (view.redraws, sweep.fetches) == (1, 1)  # within the interval: coalesced
    sweep.trials[6] = {**sweep.trials[6], "status": "completed", "value": 0.99, "epochs_run": 4}
    clock.now += 0.5
    timers.fire()
    assert (view.redraws, sweep.fetches) == (2, 2)
    assert _plot(view.history)["data"][0]["x"] == [0, 2, 3, 6]
    assert _plot(view.history)["data"][1]["y"][-1] == 0.99


def test_unchanged_figures_are_not_sent_again(recorded):
    clock = FakeClock()
    view = SweepView(FakeSweep(recorded["sweep"], recorded["trials"]), follow=False, clock=clock, timer=None)
    draws = (view.history.draws, view.parallel.draws, view.importance.draws)
    clock.now += 10
    view.update()
    assert view.redraws == 2
    assert (view.history.draws, view.parallel.draws, view.importance.draws) == draws


def test_following_a_sweep_draws_its_end_and_snapshots_the_final_state(recorded):
    counts = {"queued": 0, "running": 0, "completed": 6, "pruned": 2, "failed": 0, "cancelled": 0}
    ended = {**recorded["sweep"], "state": "completed", "counts": counts}
    final_trials = [
        {**trial, "status": "completed", "value": trial["value"] or 0.9, "epochs_run": 4}
        if trial["status"] in ("running", "queued") else trial
        for trial in recorded["trials"]
    ]  # fmt: skip
    sweep = FakeSweep(recorded["sweep"], recorded["trials"], changes=[recorded["sweep"], ended])

    class Handle:
        updates: list[dict[str, Any]] = []

        def update(self, data: dict[str, Any], raw: bool = False) -> None:
            self.updates.append(data)

    original_follow = sweep.follow

    def follow(timeout=None, stop=None):
        for info in original_follow(timeout, stop):
            if info["state"] == "completed":
                sweep.trials = final_trials  # the trials have ended by the time the sweep says so
            yield info

    sweep.follow = follow
    view = SweepView(sweep, follow=False, timer=None)
    view._handle = Handle()  # as display() leaves it
    view._follow()  # what the following thread runs
    assert view.info["state"] == "completed" and "completed" in view.header.value
    assert _plot(view.history)["data"][0]["x"] == [0, 2, 3, 5, 6, 7]
    (snapshot,) = Handle.updates
    assert "application/vnd.jupyter.widget-view+json" in snapshot
    assert "completed" in snapshot["text/html"] and snapshot["text/html"].count("<svg") >= 3


def test_a_finished_sweep_is_drawn_without_a_following_thread(recorded):
    view = SweepView(FakeSweep({**recorded["sweep"], "state": "completed"}, recorded["trials"]))
    assert view._follower is None and view.redraws == 1


def test_the_view_is_a_lazy_public_name():
    import lepton_lab

    assert lepton_lab.SweepView is SweepView
    assert "SweepView" in dir(lepton_lab) and "sweep" in dir(lepton_lab) and "sweeps" in dir(lepton_lab)


# -- sharing: what a saved or exported notebook shows offline ---------------------------------------

RECORDED_END = Path(__file__).parent / "fixtures" / "sweep_completed.json"


@pytest.fixture
def ended() -> dict[str, Any]:
    """A TPE + median-pruning sweep of 10 trials as a real server answered it at its end
    (tests.sweep_fakes trials: 7 completed, 3 pruned)."""
    return json.loads(RECORDED_END.read_text())


def test_a_recorded_sweep_draws_completed_and_pruned_trials_apart(ended):
    view = SweepView(FakeSweep(ended["sweep"], ended["trials"]), follow=False)
    completed, best, pruned = _plot(view.history)["data"]
    assert completed["x"] == [0, 1, 2, 3, 4, 6, 8] and pruned["x"] == [5, 7, 9]
    assert best["y"][-1] == pytest.approx(ended["sweep"]["best"]["value"])
    assert len(_plot(view.parallel)["data"][0]["line"]["color"]) == 7
    assert view.table.value.count("<tr") == 11 and "10/10 trials done · 3 pruned" in view.header.value


def test_the_static_snapshot_has_the_three_drawings_and_the_table(ended):
    view = SweepView(FakeSweep(ended["sweep"], ended["trials"]), follow=False)
    bundle = view._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # JupyterLab still shows the live view
    snapshot = bundle["text/html"]
    assert snapshot.count("<svg") == 3 and snapshot.count('class="bar"') == 3  # importance bars
    assert snapshot.count("lepton-sweep-status") >= 10 and "Parameter importance" in snapshot
    assert "<script src=" not in snapshot


def test_exported_from_saved_widget_state_each_chart_is_a_plotly_figure(ended):
    from ipywidgets.embed import dependency_state

    from lepton_lab.sharing.snapshot import WidgetSnapshot

    view = SweepView(FakeSweep(ended["sweep"], ended["trials"]), follow=False)
    snapshot = WidgetSnapshot(dependency_state([view], drop_defaults=False))  # what export_notebook reads
    page = snapshot.widget(view.model_id)
    assert snapshot.figures == 3  # drawn by the page's inlined plotly.js
    assert "parcoords" in page and '"orientation":"h"' in page and "lepton-sweep-table" in page
