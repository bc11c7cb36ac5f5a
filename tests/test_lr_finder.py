"""LR finder: a real exponential ramp on digits, its suggestions, and training at the suggestion."""

from __future__ import annotations

import copy
import json
import math
import threading

import numpy as np
import pytest

from lepton_lab.core.lr_finder import LRFinderResult, minimum_over_10, ramp, smooth, steepest
from lepton_lab.core.specs import JobSpec

keras = pytest.importorskip("keras")

from lepton_lab.core.lr_finder import lr_find  # noqa: E402  (after the keras skip)

#: A tiny job: the MLP preset on digits, Adam (the default optimizer).
JOB = {"name": "tiny", "dataset": {"name": "digits"}, "model": {"preset": "mlp"}, "train": {"batch_size": 32}}
STEPS = 50
START, END = 1e-5, 1.0


@pytest.fixture(scope="module")
def found() -> tuple[LRFinderResult, list[tuple[int, float, float]]]:
    """One short ramp shared by the tests that only read its result, with its progress calls."""
    calls: list[tuple[int, float, float]] = []
    result = lr_find(JOB, start_lr=START, end_lr=END, steps=STEPS, progress=lambda *call: calls.append(call))
    return result, calls


# -- the pure rules (no training) ----------------------------------------------------------------


def test_ramp_is_geometric_from_start_to_end():
    rates = ramp(1e-6, 1.0, 7)
    assert rates[0] == 1e-6 and rates[-1] == pytest.approx(1.0)
    assert np.allclose(np.diff(np.log10(rates)), 1.0)


def test_smoothing_is_a_bias_corrected_moving_average():
    # Bias correction: a constant loss smooths to itself from the first batch on.
    assert smooth([2.0, 2.0, 2.0], 0.98) == pytest.approx([2.0, 2.0, 2.0])
    average, expected = 0.0, []
    for index, loss in enumerate([3.0, 1.0, 2.0]):
        average = 0.9 * average + 0.1 * loss
        expected.append(average / (1 - 0.9 ** (index + 1)))
    assert smooth([3.0, 1.0, 2.0], 0.9) == pytest.approx(expected)
    assert smooth([3.0, 1.0], 0.0) == [3.0, 1.0]


def test_steepest_picks_the_fastest_fall_per_log_step_and_minimum_over_10_the_lowest_point():
    rates = ramp(1e-6, 1.0, 61)
    logs = np.log10(rates)
    # Flat, then a fall that is steepest around 1e-3, a minimum at 1e-2, then a blow-up.
    curve = [2.3 - 1.5 / (1 + math.exp(-(x + 3) * 4)) + (max(0.0, x + 2)) ** 2 * 3 for x in logs]
    suggestion = steepest(rates, curve, steps=61)
    assert 10**-3.3 < suggestion < 10**-2.7
    lowest = rates[int(np.argmin(curve))]
    assert minimum_over_10(rates, curve) == pytest.approx(lowest / 10)


def test_steepest_ignores_non_finite_losses():
    rates = ramp(1e-4, 1.0, 20)
    curve = [2.0 - 0.1 * index for index in range(19)] + [math.nan]
    assert steepest(rates, curve, steps=20) in rates[:19]


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"start_lr": 1.0, "end_lr": 1e-3}, "start_lr"),
        ({"steps": 1}, "steps"),
        ({"smoothing": 1.0}, "smoothing"),
        ({"divergence": 1.0}, "divergence"),
    ],
)
def test_impossible_settings_are_refused_naming_the_setting(settings, named):
    with pytest.raises(ValueError, match=named):
        lr_find(JOB, **settings)


# -- a real ramp ---------------------------------------------------------------------------------


def test_the_curve_is_recorded_per_batch_with_increasing_learning_rates(found):
    result, calls = found
    assert not result.stopped_early  # Adam on digits stays finite up to a rate of 1
    assert len(result.learning_rates) == len(result.losses) == len(result.smoothed) == STEPS
    assert [call[0] for call in calls] == list(range(STEPS))  # one call per batch
    assert [call[1] for call in calls] == result.learning_rates
    assert all(b > a for a, b in zip(result.learning_rates, result.learning_rates[1:], strict=False))
    assert result.learning_rates[0] == START and result.learning_rates[-1] == pytest.approx(END)
    assert result.smoothed == pytest.approx(smooth(result.losses, 0.98))
    # The ramp trains: the batch loss falls far below its start (log 10, an untrained softmax).
    assert min(result.losses) < 0.5 * result.losses[0]
    assert min(result.smoothed) < result.smoothed[0]


def test_suggestions_lie_within_the_ramp(found):
    result, _ = found
    assert result.suggestion in result.learning_rates
    assert START <= result.suggestion <= END
    assert START / 10 <= result.minimum_over_10 <= END / 10
    # The steepest fall comes before the lowest point of the curve.
    assert result.suggestion <= result.minimum_over_10 * 10


def test_divergence_stops_the_ramp_early():
    steps = 60
    result = lr_find(JOB, start_lr=1e-3, end_lr=1e3, steps=steps, divergence=3.0)
    assert result.stopped_early
    assert len(result.learning_rates) < steps
    last = result.smoothed[-1]
    assert not math.isfinite(last) or last > 3.0 * min(result.smoothed[:-1])
    # Before the last batch the loss had stayed under the bound: the stop is the first crossing.
    assert all(value <= 3.0 * min(result.smoothed[: i + 1]) for i, value in enumerate(result.smoothed[:-1]))
    assert result.learning_rates[-1] < 1e3


def test_a_stop_request_ends_the_ramp_after_the_current_batch():
    stop = threading.Event()

    def progress(index: int, rate: float, loss: float) -> None:
        if index == 4:
            stop.set()

    result = lr_find(JOB, start_lr=START, end_lr=END, steps=STEPS, progress=progress, stop=stop)
    assert len(result.learning_rates) == 5 and not result.stopped_early


def test_the_spec_passed_in_is_left_unchanged():
    document = copy.deepcopy(JOB)
    document["train"] = {**JOB["train"], "learning_rate": 0.5, "lr_schedule": "cosine"}
    before = copy.deepcopy(document)
    spec = JobSpec.model_validate(document)
    spec_before = spec.model_dump()
    lr_find(document, steps=3)
    result = lr_find(spec, steps=3)
    assert document == before
    assert spec.model_dump() == spec_before
    assert result.spec is not None and result.spec.train.learning_rate == 0.5  # recorded as given


def test_a_keras_model_given_keeps_its_weights():
    model = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(10, "softmax")]
    )
    weights = [w.copy() for w in model.get_weights()]
    lr_find(dataset="digits", model=model, start_lr=1e-3, end_lr=1.0, steps=5)
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights(), strict=True))


def test_training_at_the_suggestion_converges_on_digits(found, tmp_path):
    from lepton_lab.core.runner import train

    result, _ = found
    run = train(JOB, train={"epochs": 3, "learning_rate": result.suggestion}, runs_dir=tmp_path)
    assert run.status["status"] == "completed", run.status
    val = [event["metrics"]["val_accuracy"] for event in run.events() if event["type"] == "epoch"]
    assert len(val) == 3
    # Chance is 0.1; three epochs at a good rate reach ~0.9 (0.95 here), a bad one stays near chance.
    assert val[-1] > 0.7, val


# -- showing it ----------------------------------------------------------------------------------


def test_the_figure_plots_smoothed_loss_on_a_log_axis_with_the_suggestion_marked(found):
    result, _ = found
    figure = result.figure()
    assert figure["layout"]["xaxis"]["type"] == "log"
    traces = {trace["name"]: trace for trace in figure["data"]}
    assert traces["smoothed loss"]["x"] == result.learning_rates
    assert traces["smoothed loss"]["y"] == result.smoothed
    marked = next(trace for name, trace in traces.items() if name.startswith("suggestion"))
    assert marked["x"] == [result.suggestion]
    assert marked["y"] == [pytest.approx(result.smoothed[result.learning_rates.index(result.suggestion)])]


def test_the_result_serialises_to_strict_json(found):
    result, _ = found
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["suggestion"] == result.suggestion
    assert data["learning_rates"] == result.learning_rates
    assert data["settings"]["steps"] == STEPS and data["spec"]["model"]["preset"] == "mlp"
    json.dumps(result.figure(), allow_nan=False)  # plotly's mimetype needs strict JSON too


def test_ll_lr_find_shows_the_plot_in_a_cell_and_offline(monkeypatch):
    import IPython.display

    import lepton_lab as ll
    from lepton_lab.widgets.lr_finder_control import LRFinderResult as NotebookResult

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda data, raw: shown.append(data))
    result = ll.lr_find(JOB, start_lr=START, end_lr=END, steps=10)
    assert isinstance(result, NotebookResult) and len(result.learning_rates) == 10
    result._ipython_display_()
    (bundle,) = shown
    assert bundle["application/vnd.plotly.v1+json"]["layout"]["xaxis"]["type"] == "log"
    # A drawing that needs no script or network (plain nbconvert HTML, opened offline).
    assert "<svg" in bundle["text/html"] and "<svg" in result._repr_html_()
