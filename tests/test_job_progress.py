"""The shared progress rule: Python agrees with the fixture the TypeScript test also checks."""

from __future__ import annotations

import json

import pytest

from lepton_lab.core.job_progress import SERIES_KEYS, BoundedSeries, JobMetrics, format_duration
from tests.fixtures.job_progress_cases import PATH, _cases, expected

CASES = json.loads(PATH.read_text(encoding="utf-8"))["cases"]


def test_the_fixture_is_what_the_generator_writes():
    # The stored cases are the generator's: a changed scenario must be regenerated (and pass in TS).
    assert [case["events"] for case in CASES] == [case["events"] for case in json.loads(json.dumps(_cases()))]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_python_agrees_with_the_shared_fixture(case):
    got = expected(case)
    want = case["expected"]
    for key in ("status", "step", "total_steps", "epochs", "epochs_done", "current_epoch"):
        assert got[key] == want[key], key
    for key in ("fraction", "elapsed_s", "eta_s"):
        assert (got[key] is None) == (want[key] is None), key
        if want[key] is not None:
            assert got[key] == pytest.approx(want[key], rel=1e-9, abs=1e-9), key
    for key in SERIES_KEYS:
        assert got["series"][key]["xs"] == pytest.approx(want["series"][key]["xs"], rel=1e-9)
        assert got["series"][key]["ys"] == pytest.approx(want["series"][key]["ys"], rel=1e-9)


def _case(name):
    return next(case for case in CASES if case["name"] == name)


def test_eta_is_steps_left_at_the_rate_plus_the_epoch_end_pauses_to_come():
    # 20 steps/s, 30 steps left (1.5 s) and two epoch ends with a 0.5 s pause each.
    metrics = JobMetrics.of(_case("mid-run with epoch-end pauses")["events"])
    assert metrics.step_rate() == pytest.approx(20)
    assert metrics.eta_seconds() == pytest.approx(2.5)
    assert metrics.current_epoch() == 3 and metrics.epochs_done == 2


def test_a_finished_run_shows_the_epochs_it_completed_and_no_eta():
    metrics = JobMetrics.of(_case("cancelled in epoch 4 after 3 epochs")["events"])
    assert metrics.current_epoch() == 3 and metrics.eta_seconds() is None


def test_a_restart_point_drops_the_epochs_trained_again():
    metrics = JobMetrics.of(_case("resumed from an earlier checkpoint")["events"])
    xs, _ = metrics.series["val_loss"].points()
    assert xs == [10, 20, 30, 40]  # epoch 3 of the killed attempt replaced, epoch 4 new
    loss_x = metrics.series["loss"].xs
    assert loss_x == sorted(loss_x) and len(loss_x) == len(set(loss_x)) == 42


def test_bounded_series_keeps_the_mean_of_every_point():
    series = BoundedSeries(8)
    for i in range(1000):
        series.push(i, float(i % 7))
    assert 4 <= len(series) <= 8 and series.count == 1000
    assert all(b > a for a, b in zip(series.xs, series.xs[1:], strict=False))
    with pytest.raises(ValueError, match="at least 4"):
        BoundedSeries(2)


def test_durations_read_naturally():
    assert [format_duration(s) for s in (4.4, 65, 3725)] == ["4 s", "1 min 05 s", "1 h 02 min"]
