"""LR finder: a short exponential learning-rate ramp that suggests where to train (Smith, fastai).

:func:`lr_find` builds a fresh model from a :class:`~lepton_lab.core.specs.JobSpec` (the
runner's dataset, model and optimizer), then trains it one batch per learning rate, the rates
growing geometrically from ``start_lr`` to ``end_lr``. The loss of each batch is recorded raw and
smoothed (a bias-corrected exponential moving average, as fastai's ``LRFinder``); the ramp stops
early once the smoothed loss exceeds ``divergence`` times its lowest value, because past that
point the model has blown up and later batches say nothing about the rates before it.

Two suggestions come back, fastai's two classic rules:

- :attr:`LRFinderResult.suggestion`, the **steepest descent**: the rate where the smoothed loss
  falls fastest per unit of log learning rate (fastai's ``SuggestionMethod.Steep``), computed, as
  fastai does, with the first tenth of the ramp and its last five points left out (the start is
  flat and noisy, the end is the blow-up);
- :attr:`LRFinderResult.minimum_over_10`, the rate at the lowest smoothed loss divided by ten
  (fastai's ``Minimum``): more conservative, a safe fallback when the curve is noisy.

The weights trained by the ramp are thrown away, and the spec given is never changed. The ramp
always runs in float32 on one device (no mixed precision, no strategy, one batch per step):
it measures how the optimizer responds to its learning rate, not how fast the hardware runs.
TensorFlow is imported when :func:`lr_find` runs. ``lepton_lab.lr_find`` (the notebook entry
point) returns the same result with a static drawing of the plot for pages without plotly.js.

Examples
--------
>>> import lepton_lab as ll
>>> result = ll.lr_find(dataset="digits", model="mlp", steps=60)    # doctest: +SKIP
>>> result                                                           # doctest: +SKIP  (the plot)
>>> ll.train(dataset="digits", model="mlp", train={"learning_rate": result.suggestion})  # doctest: +SKIP
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from lepton_lab.core.specs import JobSpec, TrainSpec

if TYPE_CHECKING:
    import keras

    from lepton_lab.core.datasets import Dataset

#: Called after every batch of the ramp with ``(batch index, learning rate, smoothed loss)``.
ProgressCallback = Callable[[int, float, float], None]

#: Points left out of the suggestion at the end of the curve (fastai's ``[num_it//10:-5]``).
_SKIP_END = 5


@dataclass(frozen=True)
class LRFinderResult:
    """What an LR finder ramp recorded, and the learning rates it suggests.

    Attributes
    ----------
    learning_rates : list of float
        The learning rate of each batch, increasing geometrically (one entry per batch trained).
    losses : list of float
        The raw training loss of each batch (NaN or inf where the model blew up).
    smoothed : list of float
        The bias-corrected exponential moving average of ``losses`` (``smoothing`` its factor).
    suggestion : float
        The steepest-descent rate (see the module docstring); always one of ``learning_rates``.
    minimum_over_10 : float
        The rate at the lowest smoothed loss, divided by 10.
    stopped_early : bool
        Whether the ramp stopped before ``end_lr`` because the loss diverged.
    settings : dict
        ``start_lr``, ``end_lr``, ``steps``, ``smoothing``, ``divergence`` and ``seed`` as run.
    spec : JobSpec
        The job whose model and data were ramped (its learning rate and schedule ignored).
    """

    learning_rates: list[float]
    losses: list[float]
    smoothed: list[float]
    suggestion: float
    minimum_over_10: float
    stopped_early: bool
    settings: dict[str, Any] = field(default_factory=dict)
    spec: JobSpec | None = None

    def figure(self) -> dict[str, Any]:
        """Plot the smoothed loss against the learning rate (log axis), the suggestion marked.

        Returns plotly's figure JSON (``{"data": [...], "layout": {...}}``), as every plot of
        Lepton Lab: ``plotly.graph_objects.Figure(result.figure())`` makes it a graph object.
        """
        marks = [
            (self.suggestion, f"suggestion {self.suggestion:.2g} (steepest)", "#d62728", "circle"),
            (self.minimum_over_10, f"minimum ÷ 10: {self.minimum_over_10:.2g}", "#2ca02c", "diamond"),
        ]
        losses = [_finite(value) for value in self.losses]
        smoothed = [_finite(value) for value in self.smoothed]
        data: list[dict[str, Any]] = [
            {
                "type": "scatter", "mode": "lines", "name": "raw loss", "x": self.learning_rates,
                "y": losses, "line": {"color": "#1f77b4", "width": 1}, "opacity": 0.3,
            },
            {
                "type": "scatter", "mode": "lines", "name": "smoothed loss", "x": self.learning_rates,
                "y": smoothed, "line": {"color": "#1f77b4", "width": 2},
            },
        ]  # fmt: skip
        for rate, label, colour, symbol in marks:
            data.append(
                {
                    "type": "scatter", "mode": "markers", "name": label, "x": [rate],
                    "y": [self.loss_at(rate)], "marker": {"color": colour, "size": 11, "symbol": symbol},
                }
            )  # fmt: skip
        title = "LR finder: smoothed loss by learning rate"
        if self.stopped_early:
            title += f" (stopped at {self.learning_rates[-1]:.2g}: diverged)"
        return {
            "data": data,
            "layout": {
                "title": {"text": title},
                "xaxis": {"title": {"text": "learning rate"}, "type": "log", "exponentformat": "e"},
                "yaxis": {"title": {"text": "training loss"}, "range": _loss_range(self.smoothed)},
                "height": 360,
                "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
                "legend": {"orientation": "h", "y": -0.25},
            },
        }

    def loss_at(self, learning_rate: float) -> float | None:
        """Return the smoothed loss at the recorded rate nearest to ``learning_rate`` (in log terms)."""
        if not self.learning_rates:
            return None
        logs = np.log(np.asarray(self.learning_rates))
        index = int(np.argmin(np.abs(logs - math.log(learning_rate))))
        value = self.smoothed[index]
        return value if math.isfinite(value) else None

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready data (NaN and inf as None)."""
        return {
            "learning_rates": list(self.learning_rates),
            "losses": [_finite(value) for value in self.losses],
            "smoothed": [_finite(value) for value in self.smoothed],
            "suggestion": self.suggestion,
            "minimum_over_10": self.minimum_over_10,
            "stopped_early": self.stopped_early,
            "settings": dict(self.settings),
            "spec": self.spec.model_dump(mode="json") if self.spec is not None else None,
        }

    # -- showing in a notebook -------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """Show the plot where plotly's mimetype renders (JupyterLab), else the text line.

        ``lepton_lab.lr_find`` returns a subclass that adds a static drawing for offline pages.
        """
        return {"application/vnd.plotly.v1+json": self.figure(), "text/plain": repr(self)}

    def __repr__(self) -> str:
        end = " (stopped early: diverged)" if self.stopped_early else ""
        return (
            f"LRFinderResult(suggestion={self.suggestion:.3g}, minimum_over_10={self.minimum_over_10:.3g}, "
            f"{len(self.learning_rates)} batches from {self.learning_rates[0]:.3g} "
            f"to {self.learning_rates[-1]:.3g}{end})"
        )


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _loss_range(smoothed: list[float]) -> list[float] | None:
    """Y range from the lowest smoothed loss to the start of the curve, so a blow-up stays on screen."""
    finite = [value for value in smoothed if math.isfinite(value)]
    if not finite:
        return None
    low, high = min(finite), max(finite[0], min(max(finite), 4 * min(finite)))
    pad = 0.05 * (high - low) or 0.05 * abs(high) or 0.05
    return [low - pad, high + pad]


# -- the ramp ----------------------------------------------------------------------------------


def ramp(start_lr: float, end_lr: float, steps: int) -> list[float]:
    """Return ``steps`` rates from ``start_lr`` to ``end_lr`` (both included), evenly spaced in log."""
    if steps == 1:
        return [start_lr]
    ratio = end_lr / start_lr
    return [start_lr * ratio ** (index / (steps - 1)) for index in range(steps)]


def smooth(losses: list[float], smoothing: float) -> list[float]:
    """Bias-corrected exponential moving average of ``losses`` (fastai's ``SmoothenValue``).

    ``avg = smoothing * avg + (1 - smoothing) * loss``, divided by ``1 - smoothing ** (i + 1)``
    so the first values are not pulled towards the zero the average starts from.
    """
    average = 0.0
    smoothed = []
    for index, loss in enumerate(losses):
        average = smoothing * average + (1 - smoothing) * loss
        smoothed.append(average / (1 - smoothing ** (index + 1)))
    return smoothed


def steepest(learning_rates: list[float], smoothed: list[float], steps: int) -> float:
    """Return the rate where the smoothed loss falls fastest per unit of log learning rate.

    As fastai's ``steep``: the first ``steps // 10`` points and the last five are left out
    (when enough remain), then the rate at the start of the steepest downward segment.
    """
    rates = np.asarray(learning_rates, dtype=float)
    values = np.asarray(smoothed, dtype=float)
    keep = np.isfinite(values)
    rates, values = rates[keep], values[keep]
    if len(rates) < 2:
        return float(rates[0]) if len(rates) else float(learning_rates[0])
    start, end = steps // 10, len(rates) - _SKIP_END
    if end - start >= 3:
        rates, values = rates[start:end], values[start:end]
    slopes = np.diff(values) / np.diff(np.log(rates))
    return float(rates[int(np.argmin(slopes))])


def minimum_over_10(learning_rates: list[float], smoothed: list[float]) -> float:
    """Return the rate at the lowest finite smoothed loss, divided by ten (fastai's ``minimum``)."""
    values = np.where(np.isfinite(smoothed), smoothed, np.inf)
    return float(learning_rates[int(np.argmin(values))]) / 10


def _check_settings(start_lr: float, end_lr: float, steps: int, smoothing: float, divergence: float) -> None:
    problems = []
    if not 0 < start_lr < end_lr:
        problems.append(
            f"start_lr {start_lr:g} and end_lr {end_lr:g}: need 0 < start_lr < end_lr (e.g. 1e-7 and 10)"
        )
    if steps < 2:
        problems.append(f"steps {steps}: the ramp needs at least 2 batches (e.g. 100)")
    if not 0 <= smoothing < 1:
        problems.append(f"smoothing {smoothing:g}: use a factor in [0, 1), e.g. 0.98 (0 turns smoothing off)")
    if not divergence > 1:
        problems.append(
            f"divergence {divergence:g}: must be above 1 (the loss stops the ramp at divergence times its "
            "minimum; e.g. 4)"
        )
    if problems:
        raise ValueError("lr_find: " + "; ".join(problems))


def lr_find(
    spec: JobSpec | dict[str, Any] | str | None = None,
    *,
    dataset: Any = None,
    model: Any = None,
    augment: Any = None,
    train: Any = None,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    steps: int = 100,
    smoothing: float = 0.98,
    divergence: float = 4.0,
    seed: int | None = None,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
) -> LRFinderResult:
    """Ramp the learning rate over ``steps`` batches of a fresh model and suggest one.

    Parameters
    ----------
    spec, dataset, model, augment, train
        The job, as :func:`lepton_lab.core.runner.train` takes it: a JobSpec, its dict or JSON
        text, or a path to a JSON file, with parts given by keyword overriding it (a loaded
        Dataset or a ``keras.Sequential`` is used as it is; a Keras model is cloned with fresh
        weights, so its own weights are left alone). The ramp uses the job's dataset, augmentation,
        model, optimizer (its momentum and weight decay too), batch size and dropout; its
        learning rate and schedule are what the ramp replaces.
    start_lr, end_lr
        The first and last learning rate of the ramp.
    steps
        Batches in the ramp (one learning rate each); the training split repeats if shorter.
    smoothing
        Factor of the exponential moving average of the loss (0.98 as fastai; 0 for none).
    divergence
        Stop once the smoothed loss exceeds this multiple of its lowest value so far.
    seed
        Seeds the model's initial weights and the batch order (default: the job's ``train.seed``).
    progress
        Called after each batch with ``(index, learning rate, smoothed loss)``.
    stop
        When set, the ramp ends after the current batch (the result holds what was recorded).

    Returns
    -------
    LRFinderResult
        The curve and the suggestions; shown as a plot in a notebook.

    Raises
    ------
    ValueError
        For settings that cannot make a ramp (the message names the setting and a good value).
    SpecError
        For an invalid job.
    """
    from lepton_lab.core.runner import _job_from_parts

    _check_settings(start_lr, end_lr, steps, smoothing, divergence)
    job, dataset_object, model_object = _job_from_parts(spec, dataset, model, augment, train, None)
    seed = job.train.seed if seed is None else seed
    rates = ramp(start_lr, end_lr, steps)
    keras_model, batches = _prepare(job, dataset_object, model_object, seed, start_lr, steps)
    learning_rate = keras_model.optimizer.learning_rate
    losses: list[float] = []
    smoothed: list[float] = []
    best = math.inf
    average = 0.0
    stopped_early = False
    for index, (rate, (x, y)) in enumerate(zip(rates, batches, strict=False)):
        learning_rate.assign(rate)
        loss = float(keras_model.train_on_batch(x, y, return_dict=True)["loss"])
        losses.append(loss)
        # The running form of smooth(): same numbers, one batch at a time.
        average = smoothing * average + (1 - smoothing) * loss
        value = average / (1 - smoothing ** (index + 1))
        smoothed.append(value)
        if progress is not None:
            progress(index, rate, value)
        best = min(best, value)
        if not math.isfinite(value) or (index > 0 and value > divergence * best):
            stopped_early = index < steps - 1
            break
        if stop is not None and stop.is_set():
            break
    recorded = rates[: len(losses)]
    return LRFinderResult(
        learning_rates=recorded,
        losses=losses,
        smoothed=smoothed,
        suggestion=steepest(recorded, smoothed, steps),
        minimum_over_10=minimum_over_10(recorded, smoothed),
        stopped_early=stopped_early,
        settings={
            "start_lr": start_lr,
            "end_lr": end_lr,
            "steps": steps,
            "smoothing": smoothing,
            "divergence": divergence,
            "seed": seed,
        },
        spec=job,
    )


def _prepare(
    job: JobSpec,
    dataset: Dataset | None,
    given_model: keras.Model | None,
    seed: int,
    start_lr: float,
    steps: int,
) -> tuple[keras.Model, Any]:
    """Build a freshly initialised, compiled model and an iterator over ``steps`` training batches."""
    from lepton_lab.core import datasets, models
    from lepton_lab.core.datasets import pipeline
    from lepton_lab.core.optimizers import LOSS, make_optimizer
    from lepton_lab.core.tf_import import keras

    data = dataset if dataset is not None else datasets.load(job.dataset)
    keras.utils.set_random_seed(seed)
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        if given_model is not None:
            model = keras.models.clone_model(given_model)  # fresh weights: the user's stay untouched
        else:
            model = models.build(
                job.model, tuple(data.input_shape), data.num_classes, dropout=job.train.dropout
            )
    finally:
        keras.mixed_precision.set_global_policy(previous)  # process-global: leave it as found
    # A constant rate the loop overwrites before every batch (a schedule would fight the ramp).
    train: TrainSpec = job.train.model_copy(update={"learning_rate": start_lr, "lr_schedule": "constant"})
    model.compile(optimizer=make_optimizer(train, steps), loss=LOSS, steps_per_execution=1, jit_compile=False)
    augment = job.augment if job.augment.ops else None
    batches = pipeline.batches(data, "train", job.train.batch_size, augment=augment, shuffle=True, seed=seed)
    return model, iter(batches.repeat().take(steps))
