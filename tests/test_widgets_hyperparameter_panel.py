"""HyperparameterPanel: controls in, TrainSpec out, invalid combinations shown."""

from __future__ import annotations

import threading

import pytest

from lepton_lab.core.specs import SpecError, TrainSpec
from lepton_lab.widgets.hyperparameter_panel import HyperparameterPanel
from tests.widget_comm import comms_fixture  # noqa: F401 - provides the `comms` fixture


def test_spec_is_the_train_spec_the_controls_describe():
    panel = HyperparameterPanel()
    panel.learning_rate.value = 0.01
    panel.batch_size.value = 128
    panel.epochs.value = 7
    panel.optimizer.value = "sgd"
    panel.momentum.value = 0.9
    panel.dropout_override.value = True
    panel.dropout.value = 0.3
    panel.early_stopping.value = 2
    panel.seed.value = 42
    expected = TrainSpec(
        learning_rate=0.01, batch_size=128, epochs=7, optimizer="sgd", momentum=0.9, dropout=0.3,
        early_stopping_patience=2, seed=42,
    )  # fmt: skip
    assert panel.spec == expected
    assert panel.value == expected.model_dump(mode="json")
    assert panel.error == ""


def test_momentum_with_adam_is_shown_in_the_panel_and_spec_refuses():
    panel = HyperparameterPanel({"optimizer": "sgd", "momentum": 0.9})
    panel.optimizer.value = "adam"
    assert "momentum applies to 'sgd' or 'rmsprop'" in panel.error
    assert "momentum applies" in panel.message.value and "lepton-error" in panel.message.value
    with pytest.raises(SpecError, match="momentum"):
        panel.spec  # noqa: B018
    assert panel.value["optimizer"] == "sgd"  # value keeps the last valid spec
    panel.momentum.value = 0.0
    assert panel.error == "" and panel.spec.optimizer == "adam"


def test_a_high_learning_rate_for_adam_is_flagged_but_allowed():
    panel = HyperparameterPanel()
    panel.learning_rate.value = 0.5
    assert "may diverge" in panel.message.value
    assert panel.spec.learning_rate == 0.5


def test_setting_spec_updates_every_control_and_notifies_once_valid():
    panel = HyperparameterPanel()
    seen = []
    panel.observe(lambda change: seen.append(change["new"]), "value")
    spec = TrainSpec(batch_size=48, epochs=3, optimizer="rmsprop", momentum=0.5, lr_schedule="cosine",
                     weight_decay=0.01, mixed_precision=True)  # fmt: skip
    panel.spec = spec
    assert panel.spec == spec
    assert 48 in panel.batch_size.options
    assert seen[-1] == spec.model_dump(mode="json")
    assert len(seen) == 1


def test_mixed_precision_offers_auto_on_and_off():
    panel = HyperparameterPanel()
    assert panel.spec.mixed_precision is None  # auto: the runner picks for the hardware
    panel.mixed_precision.value = False
    assert panel.spec.mixed_precision is False
    panel.spec = TrainSpec(mixed_precision=True)
    assert panel.mixed_precision.label == "on"


def _front_end_state(comms, widget):
    """The state the front end was given when ``widget`` was opened."""
    return next(c for c in comms if c.comm_id == widget.model_id).opened["data"]["state"]


def test_mixed_precision_auto_is_a_visible_choice_in_the_front_end(comms):
    panel = HyperparameterPanel()
    state = _front_end_state(comms, panel.mixed_precision)
    # ipywidgets shows the option at `index`; None there is an empty drop-down.
    assert state["_options_labels"][state["index"]] == "auto"
    panel.mixed_precision.value = True
    panel.mixed_precision.value = None
    comm = next(c for c in comms if c.comm_id == panel.mixed_precision.model_id)
    assert comm.updates("index")[-2:] == [1, 0]
    assert panel.spec.mixed_precision is None and panel.settings()["mixed_precision"] is None


def test_sliders_leave_values_set_from_the_kernel_alone(comms):
    """The page's sliders re-snap a kernel-set value (0.9 → 0.9000000000000001) and, when they
    send while moving, write it back after the cell has moved on (tutorial 03's momentum)."""
    panel = HyperparameterPanel()
    for slider in (panel.learning_rate, panel.momentum, panel.dropout):
        assert _front_end_state(comms, slider)["continuous_update"] is False, slider.description


def test_a_dragged_slider_value_keeps_no_float_noise():
    panel = HyperparameterPanel({"optimizer": "sgd"})
    panel.momentum.value = 0.9000000000000001  # what the page sends for 0.9
    assert panel.spec.momentum == 0.9


# -- "Find learning rate" --------------------------------------------------------------------------

#: A ramp short enough for a test: the MLP on digits, 30 batches.
FINDER_JOB = {"dataset": {"name": "digits"}, "model": {"preset": "mlp"}}
FINDER_OPTIONS = {"steps": 30, "start_lr": 1e-5, "end_lr": 1.0}


def test_find_learning_rate_button_plots_the_ramp_and_use_sets_the_slider():
    pytest.importorskip("keras")
    from lepton_lab.widgets.lr_finder_control import rounded

    panel = HyperparameterPanel({"batch_size": 32}, job=FINDER_JOB, lr_find_options=FINDER_OPTIONS)
    finder = panel.lr_finder
    assert finder in panel.children and finder.use_button.layout.display == "none"
    finder.find_button.click()
    # The click returns at once; the ramp trains in its own thread (the kernel stays free).
    assert finder.thread is not None and finder.thread is not threading.current_thread()
    finder.thread.join(timeout=300)
    assert finder.state == "done", finder.status.value
    result = finder.result
    assert result.spec.train.batch_size == 32 and result.spec.model.preset == "mlp"  # the panel's job
    assert len(result.learning_rates) == 30
    assert finder.plot.figure["layout"]["xaxis"]["type"] == "log"
    assert finder.plot.layout.display is None and finder.use_button.layout.display is None
    suggestion = rounded(result.suggestion)
    assert f"{suggestion:.1e}" in finder.use_button.description
    assert panel.spec.learning_rate == 1e-3  # nothing applied until "Use" is pressed

    finder.use_button.click()
    assert panel.learning_rate.value == suggestion
    assert panel.spec.learning_rate == suggestion and panel.value["learning_rate"] == suggestion
    assert 1e-5 <= panel.spec.learning_rate <= 1.0


def test_using_a_rate_below_the_slider_widens_its_range():
    panel = HyperparameterPanel()
    panel.use_learning_rate(3e-8)
    assert panel.learning_rate.min == -8
    assert panel.spec.learning_rate == 3e-8


def test_invalid_settings_are_shown_in_the_finder_instead_of_ramping():
    panel = HyperparameterPanel({"optimizer": "sgd", "momentum": 0.9}, job=FINDER_JOB)
    panel.optimizer.value = "adam"
    panel.lr_finder.find_button.click()
    assert panel.lr_finder.state == "failed" and panel.lr_finder.thread is None
    assert "momentum" in panel.lr_finder.error
    assert "lepton-error" in panel.lr_finder.status.value and "momentum" in panel.lr_finder.status.value
    assert not panel.lr_finder.find_button.disabled


def test_a_failing_ramp_is_reported_as_text_in_the_widget():
    panel = HyperparameterPanel(job=FINDER_JOB, lr_find_options={"steps": 1})
    panel.lr_finder.find_button.click()
    panel.lr_finder.thread.join(timeout=60)
    assert panel.lr_finder.state == "failed"
    assert "steps 1" in panel.lr_finder.error and "steps 1" in panel.lr_finder.status.value
    assert not panel.lr_finder.find_button.disabled
    panel.lr_finder.use_button.click()  # no suggestion: says so instead of raising
    assert "no suggestion yet" in panel.lr_finder.status.value
