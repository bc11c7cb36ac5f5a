"""TrainingDashboard: tabs make one JobSpec; Train runs in the background; Submit goes to the client."""

from __future__ import annotations

import threading
import time

import pytest

from lepton_lab.core import models
from lepton_lab.core.specs import JobSpec, SpecError
from lepton_lab.widgets.evaluation_view import EvaluationView
from lepton_lab.widgets.training_dashboard import TrainingDashboard


def wait_for(predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_job_spec_is_assembled_from_every_tab(tmp_path):
    dashboard = TrainingDashboard("digits", runs_dir=tmp_path)
    dashboard.augmentation.enabled["rotation"].value = True
    dashboard.model_builder.load_preset("mlp")
    dashboard.hyperparameters.epochs.value = 3
    dashboard.name.value = "my run"
    spec = dashboard.job_spec()
    assert spec == JobSpec(
        name="my run", dataset={"name": "digits"}, augment={"ops": [{"op": "rotation", "factor": 0.1}]},
        model=models.preset("mlp", (8, 8, 1), 10), train={"epochs": 3},
    )  # fmt: skip
    assert dashboard.tabs.titles == ("Data", "Augmentation", "Model", "Hyperparameters")


def test_train_runs_in_the_background_and_shows_plot_and_evaluation(tmp_path):
    dashboard = TrainingDashboard(
        "digits", {"dataset": {"name": "digits"}, "train": {"epochs": 2}}, runs_dir=tmp_path
    )
    dashboard.train_button.click()
    # The click returned while training goes on in another thread: the kernel stays free.
    assert dashboard.state == "training"
    assert dashboard.stop_button.disabled is False and dashboard.train_button.disabled
    assert dashboard.run._thread is not threading.current_thread()
    wait_for(lambda: dashboard.state != "training")
    assert dashboard.state == "completed", dashboard.status.value
    assert not dashboard.train_button.disabled and dashboard.stop_button.disabled
    wait_for(lambda: dashboard.plot.status == "completed", timeout=10)
    plot = dashboard.plot
    assert plot.epoch == 2 and "test_accuracy" in plot.final
    assert [trace["name"] for trace in plot.figure()["data"]][:3] == [
        "train (batch)",
        "train (epoch)",
        "validation",
    ]
    assert plot.widget in dashboard.plot_box.children
    assert isinstance(dashboard.results.children[0], EvaluationView)
    assert "test accuracy" in dashboard.status.value


def test_stop_cancels_an_in_kernel_run(tmp_path):
    dashboard = TrainingDashboard(
        "digits", {"dataset": {"name": "digits"}, "train": {"epochs": 200}}, runs_dir=tmp_path
    )
    dashboard.train()
    wait_for(lambda: dashboard.plot.step > 0)
    dashboard.stop_button.click()
    wait_for(lambda: dashboard.state != "training")
    assert dashboard.state == "cancelled"
    assert dashboard.run.status["status"] == "cancelled"


def test_an_invalid_model_is_reported_instead_of_training(tmp_path):
    dashboard = TrainingDashboard("digits", runs_dir=tmp_path)
    row = dashboard.model_builder.layer_rows[0]
    row.editors["kernel_size"].value = "9"
    row.editors["padding"].value = "valid"
    dashboard.train_button.click()
    assert dashboard.state == "idle" and dashboard.run is None
    assert "model: layer 1 (Conv2D): kernel_size 9" in dashboard.error
    assert "lepton-error" in dashboard.status.value
    assert not list(tmp_path.iterdir())


class FakeJob:
    id = "job-7"

    def __init__(self):
        self.info = {"status": "completed"}
        self.error = None
        self.cancelled = False

    def follow_batches(self, stop=None):
        yield [{"type": "status", "status": "completed"}]

    @property
    def done(self):
        return True

    def wait(self, timeout=None):
        return self

    def cancel(self, wait=True):
        self.cancelled = True


class FakeClient:
    """Test double of lepton_lab.client: records what was submitted."""

    def __init__(self):
        self.submitted = []

    def submit(self, spec):
        self.submitted.append(spec)
        return FakeJob()


def test_submit_sends_the_same_job_spec_through_the_client(tmp_path):
    dashboard = TrainingDashboard("digits", runs_dir=tmp_path)
    client = FakeClient()
    job = dashboard.submit(client)
    assert client.submitted == [dashboard.job_spec()]
    assert job.id == "job-7"
    wait_for(lambda: dashboard.state == "completed", timeout=10)
    assert "job-7" in dashboard.status.value


def test_in_memory_datasets_train_in_the_kernel_only(tmp_path):
    import numpy as np

    from lepton_lab.core import datasets

    rng = np.random.default_rng(0)
    data = datasets.load((rng.random((60, 8, 8)), np.arange(60) % 3))
    dashboard = TrainingDashboard(data, runs_dir=tmp_path)
    with pytest.raises(SpecError, match="lives in this kernel only"):
        dashboard.submit(FakeClient())


def test_find_learning_rate_in_the_hyperparameters_tab_ramps_the_tabs_model_and_sets_the_slider(tmp_path):
    dashboard = TrainingDashboard("digits", runs_dir=tmp_path)
    dashboard.model_builder.load_preset("mlp")
    panel = dashboard.hyperparameters
    assert panel in dashboard.tabs.children and panel.lr_finder in panel.children
    panel.lr_finder.options = {"steps": 20, "start_lr": 1e-5, "end_lr": 1.0}
    panel.lr_finder.find_button.click()
    panel.lr_finder.thread.join(timeout=300)
    assert panel.lr_finder.state == "done", panel.lr_finder.status.value
    assert panel.lr_finder.result.spec.model == dashboard.job_spec().model  # what the Model tab says
    assert panel.lr_finder.result.spec.model == models.preset("mlp", (8, 8, 1), 10)  # not the default CNN
    panel.lr_finder.use_button.click()
    assert dashboard.job_spec().train.learning_rate == panel.lr_finder.suggestion
    assert not list(tmp_path.iterdir())  # the ramp writes no run
