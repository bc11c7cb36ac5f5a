"""TrainingDashboard: set up a job, train it in the kernel or on the server, watch it live.

Composes :class:`DatasetBrowser`, :class:`AugmentationPreview`, :class:`ModelBuilder` and
:class:`HyperparameterPanel` (with its "Find learning rate" button, which ramps the model and
data of the other tabs) in tabs, with a :class:`LivePlot` below and three buttons:

- **Train** runs :func:`lepton_lab.core.runner.train` in a background thread of this kernel,
  so the notebook stays usable while it trains; the plot tails the run directory;
- **Submit to server** sends the same JobSpec through :mod:`lepton_lab.client`, and the plot
  follows the job's events;
- **Stop** cancels whichever is running.

When an in-kernel run completes, its :class:`EvaluationView` appears under the plot.
"""

from __future__ import annotations

import html
import os
import threading
from typing import Any

import ipywidgets
import traitlets

from lepton_lab.core.specs import DatasetSpec, JobSpec, SpecError, parse, parse_job
from lepton_lab.sharing.snapshot import StaticSnapshot
from lepton_lab.widgets.augmentation_preview import AugmentationPreview
from lepton_lab.widgets.dataset_browser import DatasetBrowser
from lepton_lab.widgets.hyperparameter_panel import HyperparameterPanel
from lepton_lab.widgets.live_plot import LivePlot
from lepton_lab.widgets.model_builder import ModelBuilder


def _dataset_and_spec(dataset: Any) -> tuple[Any, DatasetSpec, bool]:
    """Return ``(loaded dataset, its DatasetSpec, whether training must be given the object itself)``."""
    from lepton_lab.core import datasets

    if isinstance(dataset, (str, dict, DatasetSpec)):
        spec: DatasetSpec = parse(DatasetSpec, {"name": dataset} if isinstance(dataset, str) else dataset)
        return datasets.load(spec), spec, False
    # A loaded Dataset: registry datasets can be reloaded anywhere by name; in-memory ones cannot.
    name = dataset.name if dataset.name.startswith(("memory:", "folder:")) or dataset.name in (
        "digits", "shapes", "fashion_mnist", "mnist", "cifar10") else f"memory:{dataset.name}"  # fmt: skip
    return dataset, parse(DatasetSpec, {"name": name}), True


class TrainingDashboard(StaticSnapshot, ipywidgets.VBox):
    """Everything to configure, train and watch one model.

    Parameters
    ----------
    dataset : str, DatasetSpec, dict or Dataset
        What to train on (``"digits"``, ``{"name": "fashion_mnist", "subset": 5000}``, a loaded
        Dataset; in-memory datasets train in the kernel only).
    spec : JobSpec or dict, optional
        Starting augmentation, model and training settings.
    runs_dir : str or path
        Where in-kernel runs are written.

    Attributes
    ----------
    run : Run or None
        The last in-kernel run.
    job : Job or None
        The last server job.
    """

    state = traitlets.Unicode(
        "idle", help="idle, training (in the kernel), submitted (server job) or the outcome."
    )
    error = traitlets.Unicode("", help="Why the last Train/Submit was refused or failed.")

    def __init__(
        self,
        dataset: Any,
        spec: JobSpec | dict[str, Any] | None = None,
        *,
        runs_dir: str | os.PathLike[str] = "lepton-runs",
        name: str = "dashboard",
        **kwargs: Any,
    ) -> None:
        self.dataset, self.dataset_spec, self._pass_dataset = _dataset_and_spec(dataset)
        # The dataset argument wins over a dataset in ``spec``: the tabs show that one.
        start = parse_job({**(parse_job(spec).model_dump() if spec is not None else {}),
                           "dataset": self.dataset_spec.model_dump()})  # fmt: skip
        self.runs_dir = runs_dir
        self.run: Any = None
        self.job: Any = None
        ds = self.dataset
        self.browser = DatasetBrowser(ds, page_size=32, columns=16)
        self.augmentation = AugmentationPreview(ds, start.augment) if ds.kind in ("image", "audio") else None
        self.model_builder = ModelBuilder(ds.input_shape, ds.num_classes, start.model)
        # "Find learning rate" in the Hyperparameters tab ramps the model and data the tabs describe.
        self.hyperparameters = HyperparameterPanel(start.train, job=self.job_spec, dataset=ds)
        pages = [self.browser, *([self.augmentation] if self.augmentation else []), self.model_builder,
                 self.hyperparameters]  # fmt: skip
        titles = ["Data", *(["Augmentation"] if self.augmentation else []), "Model", "Hyperparameters"]
        self.tabs = ipywidgets.Tab(children=pages, titles=titles)
        self.name = ipywidgets.Text(value=name if spec is None else start.name, description="run name")
        self.train_button = ipywidgets.Button(description="Train", icon="play", button_style="primary",
                                              tooltip="train in this kernel, in the background")  # fmt: skip
        self.submit_button = ipywidgets.Button(description="Submit to server", icon="cloud-upload",
                                               tooltip="queue the job on the Jupyter server")  # fmt: skip
        self.stop_button = ipywidgets.Button(
            description="Stop", icon="stop", button_style="danger", disabled=True
        )
        self.train_button.on_click(lambda _: self._guard(self.train))
        self.submit_button.on_click(lambda _: self._guard(self.submit))
        self.stop_button.on_click(lambda _: self._guard(self.stop))
        self.status = ipywidgets.HTML()
        self.plot = LivePlot()
        self.plot_box = ipywidgets.VBox([self.plot.widget])
        self.results = ipywidgets.VBox()
        super().__init__(
            [
                self.tabs,
                ipywidgets.HBox([self.name, self.train_button, self.submit_button, self.stop_button]),
                self.status, self.plot_box, self.results,
            ],
            **kwargs,
        )  # fmt: skip
        self.add_class("lepton-dashboard")

    # -- spec ------------------------------------------------------------------------------------

    def job_spec(self) -> JobSpec:
        """Return the JobSpec the tabs describe.

        Raises
        ------
        SpecError
            Listing every invalid part (model layer, hyperparameters ...).
        """
        problems = []
        parts: dict[str, Any] = {
            "name": self.name.value or "dashboard",
            "dataset": self.dataset_spec.model_dump(),
        }
        for key, source in (("augment", self.augmentation), ("model", self.model_builder),
                            ("train", self.hyperparameters)):  # fmt: skip
            if source is None:
                continue
            try:
                parts[key] = source.spec.model_dump(mode="json")
            except SpecError as error:
                problems += [f"{key}: {problem}" for problem in error.problems]
        if problems:
            raise SpecError(problems)
        return parse_job(parts)

    # -- actions ---------------------------------------------------------------------------------

    def _guard(self, action: Any) -> None:
        """Run a button's action; show a refusal or failure in the dashboard instead of losing it."""
        try:
            action()
        except Exception as error:
            self._show_error(str(error))

    def _show_error(self, message: str) -> None:
        self.error = message
        lines = "<br>".join(html.escape(line) for line in message.splitlines())
        self.status.value = f'<div class="lepton-error" style="color:#c62828">{lines}</div>'

    def _new_plot(self, title: str) -> None:
        self.plot.stop_following()
        self.plot = LivePlot(title=title)
        self.plot_box.children = (self.plot.widget,)
        self.results.children = ()

    def _busy(self, busy: bool) -> None:
        self.train_button.disabled = self.submit_button.disabled = busy
        self.stop_button.disabled = not busy

    def train(self) -> Any:
        """Start training in this kernel (background thread) and return the Run."""
        from lepton_lab.core.runner import train

        if self.state in ("training", "submitted"):
            raise RuntimeError("a run is already going; press Stop first")
        spec = self.job_spec()
        self.error = ""
        self.run = train(
            spec,
            dataset=self.dataset if self._pass_dataset else None,
            runs_dir=self.runs_dir,
            background=True,
        )
        self.job = None
        self._new_plot(f"run {self.run.id}")
        self.plot.follow_run(self.run)
        self.state = "training"
        self._busy(True)
        self.status.value = f"Training <code>{html.escape(self.run.id)}</code> in this kernel…"
        threading.Thread(
            target=self._await_run, args=(self.run,), name="lepton-dashboard", daemon=True
        ).start()
        return self.run

    def _await_run(self, run: Any) -> None:
        status = run.wait()  # the plot's follower ends by itself once it reads the final status
        outcome = status.get("status", "finished")
        self.state = outcome
        self._busy(False)
        text = f"Run <code>{html.escape(run.id)}</code> {html.escape(outcome)}"
        if status.get("error"):
            self._show_error(f"run {run.id} {outcome}: {status['error']}")
            return
        evaluation = run.evaluation
        if evaluation is not None:
            text += f" · test accuracy {evaluation.accuracy:.2%}"
            from lepton_lab.widgets.evaluation_view import EvaluationView

            self.results.children = (EvaluationView(run, dataset=self.dataset),)
        self.status.value = text + f" · <code>{html.escape(str(run.path))}</code>"

    def submit(self, client: Any = None) -> Any:
        """Queue the job on the Jupyter server (through ``lepton_lab.client``) and follow it."""
        from lepton_lab import client as lab_client

        if self.state in ("training", "submitted"):
            raise RuntimeError("a run is already going; press Stop first")
        if self._pass_dataset:
            raise SpecError(
                [f"dataset {self.dataset.name!r} lives in this kernel only; press Train, or use a registry "
                 "dataset such as 'digits' to submit to the server"]
            )  # fmt: skip
        spec = self.job_spec()
        self.error = ""
        self.job = (client or lab_client).submit(spec)
        self.run = None
        self._new_plot(f"job {self.job.id}")
        self.plot.follow(self.job)
        self.state = "submitted"
        self._busy(True)
        self.status.value = f"Submitted job <code>{html.escape(self.job.id)}</code> to the server…"
        threading.Thread(
            target=self._await_job, args=(self.job,), name="lepton-dashboard-job", daemon=True
        ).start()
        return self.job

    def _await_job(self, job: Any) -> None:
        try:
            job.wait()
            outcome = job.info.get("status", "finished")
        except Exception as error:
            self._busy(False)
            self.state = "idle"
            self._show_error(f"lost track of job {job.id}: {error}")
            return
        self.state = outcome
        self._busy(False)
        if job.error:
            self._show_error(f"job {job.id} {outcome}: {job.error}")
        else:
            self.status.value = f"Job <code>{html.escape(job.id)}</code> {html.escape(outcome)}"

    def stop(self) -> None:
        """Stop the in-kernel run or cancel the server job."""
        if self.state == "training" and self.run is not None:
            self.run.stop()
            self.status.value = "Stopping after the current batch…"
        elif self.state == "submitted" and self.job is not None:
            self.job.cancel(wait=False)
            self.status.value = "Cancelling the job…"
