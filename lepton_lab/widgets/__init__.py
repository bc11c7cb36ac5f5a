"""Notebook widgets: browse data, preview augmentation, build models, train and compare runs.

Each widget is usable alone and composes with the others; names are imported lazily so
``import lepton_lab.widgets`` stays cheap (TensorFlow loads only when something trains,
augments or builds a model).

Widgets drive :mod:`lepton_lab.core` for in-kernel work and :mod:`lepton_lab.client` for server
jobs. Charts are plotly JSON outputs (``application/vnd.plotly.v1+json``), never ``FigureWidget``,
so executed notebooks stay small and keep their plots.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "DatasetBrowser": "lepton_lab.widgets.dataset_browser",
    "TextBrowser": "lepton_lab.widgets.text_browser",
    "AudioBrowser": "lepton_lab.widgets.audio_browser",
    "AugmentationPreview": "lepton_lab.widgets.augmentation_preview",
    "ModelBuilder": "lepton_lab.widgets.model_builder",
    "HyperparameterPanel": "lepton_lab.widgets.hyperparameter_panel",
    "LivePlot": "lepton_lab.widgets.live_plot",
    "TrainingDashboard": "lepton_lab.widgets.training_dashboard",
    "EvaluationView": "lepton_lab.widgets.evaluation_view",
    "RunsTable": "lepton_lab.widgets.runs_table",
    "SweepView": "lepton_lab.widgets.sweep_view",
    "PredictionPad": "lepton_lab.widgets.prediction_pad",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lepton_lab.widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
