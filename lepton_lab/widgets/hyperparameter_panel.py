"""HyperparameterPanel: the training settings of a job (a :class:`~lepton_lab.core.specs.TrainSpec`).

Learning rate on a log slider, batch size, epochs, optimizer (+ momentum), dropout override,
weight decay, schedule, early stopping, seed and mixed precision. Every change re-validates
the whole TrainSpec; an invalid combination (momentum with Adam ...) is shown in the panel
and :attr:`HyperparameterPanel.spec` raises until it is fixed.

Below the controls, "Find learning rate" (:class:`~lepton_lab.widgets.lr_finder_control.LRFinderControl`)
runs the LR finder on the panel's settings and the job it is given, plots it, and its "Use"
button puts the suggestion on the learning-rate slider.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from typing import Any

import ipywidgets
import traitlets

from lepton_lab.core.specs import JobSpec, SpecError, TrainSpec, parse, parse_job
from lepton_lab.sharing.snapshot import StaticSnapshot
from lepton_lab.widgets._controls import ChoiceDropdown, FloatLogSlider, FloatSlider
from lepton_lab.widgets.lr_finder_control import LRFinderControl

BATCH_SIZES = (8, 16, 32, 64, 128, 256, 512, 1024, 2048)
_STYLE = {"description_width": "140px"}
_WIDE = ipywidgets.Layout(width="420px")


def _warnings(spec: TrainSpec) -> list[str]:
    """List valid but probably unintended settings."""
    notes = []
    if spec.optimizer in ("adam", "adamw", "rmsprop") and spec.learning_rate >= 0.05:
        notes.append(
            f"learning rate {spec.learning_rate:g} is high for {spec.optimizer}; training may diverge "
            "(try 1e-3)"
        )
    if spec.optimizer == "sgd" and spec.learning_rate < 1e-4:
        notes.append(
            f"learning rate {spec.learning_rate:g} is very low for sgd; training will be slow (try 1e-2)"
        )
    if spec.lr_schedule == "cosine" and spec.epochs == 1:
        notes.append("a cosine schedule over 1 epoch decays to 0 within that epoch")
    return notes


class HyperparameterPanel(StaticSnapshot, ipywidgets.VBox):
    """Controls for a :class:`~lepton_lab.core.specs.TrainSpec`.

    Parameters
    ----------
    spec : TrainSpec or dict, optional
        Starting values (the TrainSpec defaults otherwise).
    job : JobSpec, dict or callable, optional
        What "Find learning rate" ramps: a JobSpec (or its dict), or a function returning the
        current one (a dashboard's tabs). Its dataset, model and augmentation are used with the
        panel's training settings. Default: the default model on ``digits``.
    dataset : Dataset, optional
        A loaded dataset for the finder to use instead of loading the job's.
    lr_find_options : dict, optional
        Keyword arguments of :func:`lepton_lab.lr_find` (``steps``, ``start_lr`` ...).

    Examples
    --------
    >>> panel = HyperparameterPanel({"epochs": 3})
    >>> panel.spec.epochs
    3
    """

    value = traitlets.Dict(help="The last valid TrainSpec as JSON (updated on every valid change).")
    error = traitlets.Unicode("", help="Why the current settings are invalid; empty when valid.")

    def __init__(
        self,
        spec: TrainSpec | dict[str, Any] | None = None,
        *,
        job: JobSpec | dict[str, Any] | Callable[[], JobSpec] | None = None,
        dataset: Any = None,
        lr_find_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        start: TrainSpec = parse(TrainSpec, spec or {})
        self._job = job if callable(job) else parse_job(job or {"dataset": {"name": "digits"}})
        self.learning_rate = FloatLogSlider(
            value=start.learning_rate, base=10, min=-6, max=0, step=0.1, readout_format=".1e",
            description="learning rate", style=_STYLE, layout=_WIDE,
        )  # fmt: skip
        sizes = sorted({*BATCH_SIZES, start.batch_size})
        self.batch_size = ipywidgets.Dropdown(
            options=sizes, value=start.batch_size, description="batch size", style=_STYLE
        )
        self.epochs = ipywidgets.BoundedIntText(
            value=start.epochs, min=1, max=10_000, description="epochs", style=_STYLE
        )
        self.optimizer = ipywidgets.Dropdown(
            options=["adam", "adamw", "sgd", "rmsprop"],
            value=start.optimizer,
            description="optimizer",
            style=_STYLE,
        )
        self.momentum = FloatSlider(
            value=start.momentum,
            min=0.0,
            max=0.99,
            step=0.01,
            description="momentum",
            style=_STYLE,
            layout=_WIDE,
        )
        self.dropout_override = ipywidgets.Checkbox(
            value=start.dropout is not None, description="override dropout", style=_STYLE, indent=False
        )
        self.dropout = FloatSlider(
            value=start.dropout or 0.0, min=0.0, max=0.9, step=0.05, description="dropout", style=_STYLE,
            layout=_WIDE, disabled=start.dropout is None,
        )  # fmt: skip
        self.weight_decay = ipywidgets.BoundedFloatText(
            value=start.weight_decay, min=0.0, max=1.0, step=1e-4, description="weight decay", style=_STYLE
        )
        self.lr_schedule = ipywidgets.Dropdown(
            options=["constant", "cosine"], value=start.lr_schedule, description="schedule", style=_STYLE
        )
        self.early_stopping = ipywidgets.BoundedIntText(
            value=start.early_stopping_patience or 0, min=0, max=1000,
            description="early stop after", style=_STYLE,
            tooltip="epochs without improvement of the validation loss; 0 turns early stopping off",
        )  # fmt: skip
        self.seed = ipywidgets.IntText(value=start.seed, description="seed", style=_STYLE)
        self.mixed_precision = ChoiceDropdown(
            options=[("auto", None), ("on", True), ("off", False)], value=start.mixed_precision,
            description="mixed precision", style=_STYLE,
            tooltip="auto: bfloat16 on CPUs with native bfloat16, float32 elsewhere; "
            "on: also float16 on a GPU; off: float32 everywhere",
        )  # fmt: skip
        self.message = ipywidgets.HTML()
        self.lr_finder = LRFinderControl(
            self._finder_job, self.use_learning_rate, dataset=dataset, options=lr_find_options
        )
        self._extra = {
            key: value for key, value in start.model_dump().items() if key in ("steps_per_execution",)
        }  # fields without a control are kept as given
        self._controls = [
            self.learning_rate, self.batch_size, self.epochs, self.optimizer, self.momentum,
            self.dropout_override, self.dropout, self.weight_decay, self.lr_schedule, self.early_stopping,
            self.seed, self.mixed_precision,
        ]  # fmt: skip
        super().__init__(
            [
                ipywidgets.HTML("<b>Hyperparameters</b>"),
                self.learning_rate, self.batch_size, self.epochs, self.optimizer, self.momentum,
                ipywidgets.HBox([self.dropout_override, self.dropout]),
                self.weight_decay, self.lr_schedule, self.early_stopping, self.seed, self.mixed_precision,
                self.message, self.lr_finder,
            ],
            **kwargs,
        )  # fmt: skip
        for control in self._controls:
            control.observe(self._changed, "value")
        self._changed()

    def settings(self) -> dict[str, Any]:
        """Return the controls' values as a TrainSpec dict (not validated)."""
        return {
            **self._extra,
            "learning_rate": float(self.learning_rate.value),
            "batch_size": int(self.batch_size.value),
            "epochs": int(self.epochs.value),
            "optimizer": self.optimizer.value,
            # A dragged slider reports its grid value with float noise (0.9000000000000001).
            "momentum": round(float(self.momentum.value), 6),
            "dropout": round(float(self.dropout.value), 6) if self.dropout_override.value else None,
            "weight_decay": float(self.weight_decay.value),
            "lr_schedule": self.lr_schedule.value,
            "early_stopping_patience": int(self.early_stopping.value) or None,
            "seed": int(self.seed.value),
            "mixed_precision": self.mixed_precision.choice(),
        }

    def _finder_job(self) -> JobSpec:
        """Return the job the LR finder ramps: the given job with this panel's training settings."""
        base = self._job() if callable(self._job) else self._job
        return parse_job({**base.model_dump(mode="json"), "train": self.spec.model_dump(mode="json")})

    def use_learning_rate(self, learning_rate: float) -> None:
        """Set the learning-rate slider to ``learning_rate``, widening its range if it lies outside."""
        exponent = math.log10(learning_rate)
        slider = self.learning_rate
        if exponent < slider.min:
            slider.min = math.floor(exponent)
        if exponent > slider.max:
            slider.max = math.ceil(exponent)
        slider.value = learning_rate

    def _changed(self, change: dict[str, Any] | None = None) -> None:
        self.dropout.disabled = not self.dropout_override.value
        self.momentum.disabled = self.optimizer.value not in ("sgd", "rmsprop") and not self.momentum.value
        try:
            spec: TrainSpec = parse(TrainSpec, self.settings())
        except SpecError as error:
            self.error = "; ".join(error.problems)
            self.message.value = (
                '<div class="lepton-error" style="color:#c62828">'
                + "<br>".join(html.escape(problem) for problem in error.problems)
                + "</div>"
            )
            return
        self.error = ""
        notes = _warnings(spec)
        self.message.value = "".join(
            f'<div class="lepton-warning" style="color:#ad6800">{html.escape(note)}</div>' for note in notes
        )
        self.value = spec.model_dump(mode="json")

    @property
    def spec(self) -> TrainSpec:
        """The TrainSpec the controls describe.

        Raises
        ------
        SpecError
            While the settings are invalid (the panel shows why).
        """
        result: TrainSpec = parse(TrainSpec, self.settings())
        return result

    @spec.setter
    def spec(self, spec: TrainSpec | dict[str, Any]) -> None:
        new: TrainSpec = parse(TrainSpec, spec)
        for control in self._controls:
            control.unobserve(self._changed, "value")
        try:
            self.learning_rate.value = new.learning_rate
            if new.batch_size not in self.batch_size.options:
                self.batch_size.options = sorted({*self.batch_size.options, new.batch_size})
            self.batch_size.value = new.batch_size
            self.epochs.value = new.epochs
            self.optimizer.value = new.optimizer
            self.momentum.value = new.momentum
            self.dropout_override.value = new.dropout is not None
            self.dropout.value = new.dropout or 0.0
            self.weight_decay.value = new.weight_decay
            self.lr_schedule.value = new.lr_schedule
            self.early_stopping.value = new.early_stopping_patience or 0
            self.seed.value = new.seed
            self.mixed_precision.value = new.mixed_precision
            self._extra = {"steps_per_execution": new.steps_per_execution}
        finally:
            for control in self._controls:
                control.observe(self._changed, "value")
        self._changed()
