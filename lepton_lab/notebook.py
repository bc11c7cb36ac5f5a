"""The notebook's entry points: where training, server jobs and the live plot meet.

``lepton_lab.train``, ``submit``, ``job``, ``jobs`` and ``LabClient`` come from here. The layers
below stay apart (checked by import-linter in ``make lint``): :mod:`lepton_lab.core` trains and
imports no widget, :mod:`lepton_lab.client` talks to the server and imports no widget, and
:mod:`lepton_lab.widgets` draws. This module is the one layer above all three, so it is where
they are joined:

- :func:`train` passes :func:`~lepton_lab.widgets.live_plot.watch_run` to the runner for
  ``live=True``: a plot that tails the run's ``events.jsonl``;
- :class:`Job` is the client's job with :meth:`Job.watch` (a live plot of the job), which
  ``submit``, ``job`` and ``jobs`` return.
- :class:`Sweep` is the client's sweep with :meth:`Sweep.watch` (a live
  :class:`~lepton_lab.widgets.sweep_view.SweepView`), which ``sweep`` and ``sweeps`` return.
- :func:`deploy`, :func:`deployed_models` and :func:`model` are the client's deployed models
  (:class:`~lepton_lab.model_client.DeployedModel`).
- :func:`lr_find` runs the core LR finder and returns its result as the widgets'
  :class:`~lepton_lab.widgets.lr_finder_control.LRFinderResult`, whose cell output is the plot.

Nothing heavy is imported until a function is called.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from lepton_lab import client, sweep_client

if TYPE_CHECKING:
    from collections.abc import Mapping

    from lepton_lab.core.run_store import Run
    from lepton_lab.widgets.live_plot import LivePlot
    from lepton_lab.widgets.lr_finder_control import LRFinderResult
    from lepton_lab.widgets.sweep_view import SweepView

_LOG = logging.getLogger("lepton_lab")


class Job(client.Job):
    """A job on the server (see :class:`lepton_lab.client.Job`) that can be watched live."""

    def watch(self) -> LivePlot:
        """Show a live loss/accuracy plot of this job in the cell; ``job.wait()`` waits for its end.

        The plot follows the job's WebSocket: its history first, then live, so
        ``lepton_lab.job(id).watch()`` works after a kernel restart too.
        """
        try:
            from lepton_lab.widgets.live_plot import LivePlot
        except ImportError as error:
            raise ImportError(
                f"Job.watch() needs lepton_lab.widgets.live_plot ({error}); install the widget "
                "dependencies (ipywidgets, anywidget) or follow the events with job.follow()"
            ) from error
        plot = LivePlot.follow_job(self)
        self._plots.append(plot)
        return plot


class Sweep(sweep_client.Sweep):
    """A sweep on the server (see :class:`lepton_lab.sweep_client.Sweep`) that can be watched live."""

    def watch(self) -> SweepView:
        """Show a live :class:`~lepton_lab.widgets.sweep_view.SweepView` of this sweep in the cell.

        Best-so-far curve, trial table, parallel coordinates and parameter importance, redrawn
        as trials report; ``sweep.wait()`` waits for the view's final draw too. Works after a
        kernel restart: ``lepton_lab.sweeps()[0].watch()``.
        """
        try:
            from lepton_lab.widgets.sweep_view import SweepView
        except ImportError as error:
            raise ImportError(
                f"Sweep.watch() needs lepton_lab.widgets.sweep_view ({error}); install the widget "
                "dependencies (ipywidgets, anywidget) or read sweep.trials()"
            ) from error
        view = SweepView(self)
        self._views.append(view)
        return view.display()


class LabClient(client.LabClient):
    """:class:`lepton_lab.client.LabClient` whose jobs and sweeps have ``watch()``."""

    job_type = Job
    sweep_type = Sweep


def _watchable(job: client.Job) -> Job:
    return job if isinstance(job, Job) else Job(job.client, job.info)


def submit(spec: Any) -> Job:
    """Queue a training job on the server this kernel belongs to (see :meth:`LabClient.submit`)."""
    return _watchable(client.submit(spec))


def jobs(status: str | list[str] | None = None) -> list[Job]:
    """Jobs on the server this kernel belongs to, newest first."""
    return [_watchable(job) for job in client.jobs(status)]


def job(job_id: str) -> Job:
    """Fetch the job ``job_id`` from the server this kernel belongs to."""
    return _watchable(client.job(job_id))


def _watchable_sweep(sweep: sweep_client.Sweep) -> Sweep:
    return sweep if isinstance(sweep, Sweep) else Sweep(sweep.client, sweep.info)


def sweep(
    spec: Any,
    space: Mapping[str, Any],
    *,
    objective: str | Mapping[str, Any] = "val_accuracy",
    direction: str | None = None,
    strategy: str = "tpe",
    max_trials: int | None = 20,
    parallel: int | None = None,
    pruner: str = "median",
    seed: int = 0,
    name: str | None = None,
) -> Sweep:
    """Start a hyperparameter sweep of ``spec`` over ``space`` on the server this kernel belongs to.

    Each trial is an ordinary job (tagged ``sweep:<id>`` and ``trial:<n>``) with the trial's
    parameters applied to ``spec``; Optuna picks them (``strategy``) and stops clearly losing
    trials early (``pruner``).

    Parameters
    ----------
    spec
        The base JobSpec (a :class:`~lepton_lab.core.specs.JobSpec`, a dict or JSON text).
    space
        ``{dotted path: dimension}``: ``{"type": "float", "low", "high", "log", "step"}``,
        ``{"type": "int", "low", "high", "step"}`` or ``{"type": "categorical", "choices": [...]}``.
    objective
        The epoch metric to optimise; a trial's value is its best epoch value.
    direction
        ``"maximize"`` or ``"minimize"``; by default minimize for ``*loss``, else maximize.
    strategy
        ``"tpe"``, ``"random"`` or ``"grid"``.
    max_trials
        Trials to run (a grid runs at most its size; None: the whole grid).
    parallel
        Trials at once; None: as many as the server has job slots.
    pruner
        ``"median"``, ``"hyperband"`` or ``"none"``.
    seed
        The sampler's seed: the same seed proposes the same parameters.
    name
        Shown in the Lab panel and as each trial job's name (``"<name> #<n>"``).

    Raises
    ------
    lepton_lab.client.ApiError
        The server refused the sweep (HTTP 400): the message names the path and the reason,
        e.g. ``space.train.learning_rate: low 0.1 must be below high 0.01``.

    Examples
    --------
    >>> sweep = ll.sweep({"dataset": {"name": "digits"}, "train": {"epochs": 4}},   # doctest: +SKIP
    ...                  {"train.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
    ...                   "train.batch_size": {"type": "categorical", "choices": [32, 64, 128]}},
    ...                  max_trials=12)
    >>> sweep.watch()                                                               # doctest: +SKIP
    """
    body = sweep_client.sweep_request(
        spec, space, objective=objective, direction=direction, strategy=strategy,
        max_trials=max_trials, parallel=parallel, pruner=pruner, seed=seed, name=name,
    )  # fmt: skip
    return _watchable_sweep(client.sweep(body))


def sweeps() -> list[Sweep]:
    """Sweeps on the server this kernel belongs to, newest first."""
    return [_watchable_sweep(found) for found in client.sweeps()]


#: Deployed models (:mod:`lepton_lab.model_client`): nothing to watch, so the client's own.
deploy = client.deploy
deployed_models = client.deployed_models
model = client.model


def lr_find(*args: Any, **kwargs: Any) -> LRFinderResult:
    """Find a learning rate for a job: a short exponential ramp; the result shows its plot in the cell.

    The arguments are :func:`lepton_lab.core.lr_finder.lr_find`'s (a JobSpec, a dict or the
    parts ``ll.train`` takes); the result is that function's, displayed as the notebook's other
    plots are (with a static drawing for pages without plotly.js).
    """
    from lepton_lab.core.lr_finder import lr_find as find
    from lepton_lab.widgets.lr_finder_control import shown

    return shown(find(*args, **kwargs))


def _watch_run(run: Run) -> Any:
    try:
        from lepton_lab.widgets.live_plot import watch_run
    except ImportError as error:
        _LOG.warning("live=True needs lepton_lab.widgets.live_plot (%s); training without a plot", error)
        return None
    return watch_run(run)


def train(*args: Any, live: bool = False, **kwargs: Any) -> Run:
    """Train in this process and return the run; ``live=True`` shows it in the cell as it trains.

    The arguments are :func:`lepton_lab.core.runner.train`'s. With ``live=True`` the plot tails
    the run's ``events.jsonl`` (the very records the server and the report read) and shows the
    final plot once the run has ended, however it ended.
    """
    from lepton_lab.core import runner

    return runner.train(*args, live=_watch_run if live else False, **kwargs)
