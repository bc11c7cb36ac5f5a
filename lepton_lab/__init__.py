"""Lepton Lab: an interactive deep-learning lab for JupyterLab.

``import lepton_lab`` is cheap: the public names below are imported lazily on
first use, so TensorFlow loads only when something trains or builds a model.

Examples
--------
>>> import lepton_lab as ll
>>> ds = ll.datasets.load("digits")           # doctest: +SKIP
>>> run = ll.train(dataset="digits", train={"epochs": 2})  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

from lepton_lab._version import __version__

# public name -> "module:attribute" (attribute empty for a module)
_LAZY: dict[str, str] = {
    # core
    "specs": "lepton_lab.core.specs:",
    "datasets": "lepton_lab.core.datasets:",
    "augment": "lepton_lab.core.augment:",
    "models": "lepton_lab.core.models:",
    "evaluate": "lepton_lab.core.evaluate:",
    "JobSpec": "lepton_lab.core.specs:JobSpec",
    "DatasetSpec": "lepton_lab.core.specs:DatasetSpec",
    "AugmentSpec": "lepton_lab.core.specs:AugmentSpec",
    "ModelSpec": "lepton_lab.core.specs:ModelSpec",
    "TrainSpec": "lepton_lab.core.specs:TrainSpec",
    "SpecError": "lepton_lab.core.specs:SpecError",
    "train": "lepton_lab.notebook:train",  # core.runner.train, plus the live plot
    "lr_find": "lepton_lab.notebook:lr_find",  # core.lr_finder.lr_find, shown as a plot
    "runs": "lepton_lab.core.run_store:runs",
    "load_run": "lepton_lab.core.run_store:load_run",
    "delete_run": "lepton_lab.core.deletion:delete_run",
    "report": "lepton_lab.sharing.report:report",
    "export_notebook": "lepton_lab.sharing.export:export_notebook",
    # notebook widgets
    "DatasetBrowser": "lepton_lab.widgets.dataset_browser:DatasetBrowser",
    "TextBrowser": "lepton_lab.widgets.text_browser:TextBrowser",
    "AudioBrowser": "lepton_lab.widgets.audio_browser:AudioBrowser",
    "AugmentationPreview": "lepton_lab.widgets.augmentation_preview:AugmentationPreview",
    "ModelBuilder": "lepton_lab.widgets.model_builder:ModelBuilder",
    "HyperparameterPanel": "lepton_lab.widgets.hyperparameter_panel:HyperparameterPanel",
    "LivePlot": "lepton_lab.widgets.live_plot:LivePlot",
    "TrainingDashboard": "lepton_lab.widgets.training_dashboard:TrainingDashboard",
    "EvaluationView": "lepton_lab.widgets.evaluation_view:EvaluationView",
    "RunsTable": "lepton_lab.widgets.runs_table:RunsTable",
    "SweepView": "lepton_lab.widgets.sweep_view:SweepView",
    "PredictionPad": "lepton_lab.widgets.prediction_pad:PredictionPad",
    # server client (its jobs with watch(): lepton_lab.notebook joins client and widgets)
    "LabClient": "lepton_lab.notebook:LabClient",
    "submit": "lepton_lab.notebook:submit",
    "jobs": "lepton_lab.notebook:jobs",
    "job": "lepton_lab.notebook:job",
    "sweep": "lepton_lab.notebook:sweep",
    "sweeps": "lepton_lab.notebook:sweeps",
    # deployed models (ll.models is the core model builders: the list is ll.deployed_models())
    "deploy": "lepton_lab.notebook:deploy",
    "deployed_models": "lepton_lab.notebook:deployed_models",
    "model": "lepton_lab.notebook:model",
    "DeployedModel": "lepton_lab.model_client:DeployedModel",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'lepton_lab' has no attribute {name!r}")
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    value = getattr(module, attribute) if attribute else module
    globals()[name] = value  # cache: later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from lepton_lab.server.extension import LeptonLabApp

    return [{"module": "lepton_lab.server.extension", "app": LeptonLabApp}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "lepton-lab"}]
