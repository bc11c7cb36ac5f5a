"""Optuna for one sweep: its study (a journal file under the runs directory), sampler and pruner.

Optuna is imported on the first call, never when the server starts: a server without sweeps never
loads it. The study lives in ``<runs_dir>/.sweeps/<sweep_id>/journal.log`` (Optuna's
``JournalFileBackend``: an append-only log, safe to reopen after a crash), so a restarted server
loads it and continues.

Samplers are seeded per trial from the sweep's seed and the number of trials asked so far
(:func:`trial_seed`): a sweep asked again after a restart continues the sequence it would have
followed, and never repeats the first trials' values the way a sampler reseeded with the sweep's
seed would. A grid keeps one sampler seeded once: Optuna's grid sampler gives trial ``n`` the
``n``-th point of its (seeded) shuffled grid.
"""

from __future__ import annotations

import functools
import math
import warnings
from pathlib import Path
from typing import Any

from lepton_lab.core.sweep_spec import CategoricalDimension, SweepSpec, grid_values, to_optuna

#: The study's journal, in the sweep's directory.
JOURNAL_FILE = "journal.log"

#: Completed trials fANOVA needs before parameter importance is shown.
IMPORTANCE_MIN_TRIALS = 3


@functools.cache
def optuna() -> Any:
    """Import Optuna (once), with its per-trial INFO lines off: the server logs what matters."""
    import optuna as module

    module.logging.set_verbosity(module.logging.WARNING)
    return module


@functools.cache
def _grid_sampler_class() -> type[Any]:
    samplers = optuna().samplers

    class AskTellGridSampler(samplers.GridSampler):  # type: ignore[name-defined]
        """Optuna's grid sampler without its ``study.stop()``: that works only inside ``optimize``."""

        def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
            """Do nothing: the sweep manager stops asking once the sweep's trials are all asked."""

    return AskTellGridSampler


def trial_seed(seed: int, asked: int) -> int:
    """Seed of the sampler that picks trial number ``asked`` of a sweep seeded ``seed``."""
    return (seed * 1_000_003 + asked) % 2**32


def make_sampler(spec: SweepSpec, asked: int) -> Any:
    """Return the sampler for the next trial of ``spec`` once ``asked`` trials exist."""
    samplers = optuna().samplers
    if spec.strategy == "grid":
        return _grid_sampler_class()(grid_values(spec.space), seed=spec.seed)
    seed = trial_seed(spec.seed, asked)
    if spec.strategy == "random":
        return samplers.RandomSampler(seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant_liar is "experimental"
        # constant_liar: trials in flight count as bad, so parallel trials spread out.
        return samplers.TPESampler(seed=seed, constant_liar=True)


def max_epochs(spec: SweepSpec) -> int:
    """Most epochs a trial of ``spec`` trains (Hyperband's largest resource)."""
    dimension = spec.space.get("train.epochs")
    if dimension is None:
        return spec.base.train.epochs
    if isinstance(dimension, CategoricalDimension):
        return max(int(choice) for choice in dimension.choices if isinstance(choice, (int, float)))
    return int(dimension.high)


def make_pruner(spec: SweepSpec) -> Any:
    """Optuna's pruner for ``spec.pruner``: none, median (its defaults) or Hyperband over epochs."""
    pruners = optuna().pruners
    if spec.pruner == "median":
        return pruners.MedianPruner()
    if spec.pruner == "hyperband":
        return pruners.HyperbandPruner(
            min_resource=1, max_resource=max(1, max_epochs(spec)), reduction_factor=3
        )
    return pruners.NopPruner()


def open_study(directory: Path, sweep_id: str, spec: SweepSpec, create: bool) -> Any:
    """Create (or load) the study of sweep ``sweep_id`` in ``directory``."""
    module = optuna()
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    storage = JournalStorage(JournalFileBackend(str(directory / JOURNAL_FILE)))
    asked = 0 if create else len(storage.get_all_trials(storage.get_study_id_from_name(sweep_id)))
    options = {"study_name": sweep_id, "storage": storage, "pruner": make_pruner(spec)}
    if create:
        direction = spec.objective.direction
        return module.create_study(sampler=make_sampler(spec, 0), direction=direction, **options)
    return module.load_study(sampler=make_sampler(spec, asked), **options)


def ask(study: Any, spec: SweepSpec) -> Any:
    """Ask the study for the next trial's values of every dimension (an ``optuna.Trial``)."""
    if spec.strategy != "grid":
        study.sampler = make_sampler(spec, len(study.get_trials(deepcopy=False)))
    return study.ask({path: to_optuna(dimension) for path, dimension in spec.space.items()})


def handle(study: Any, trial_id: int) -> Any:
    """Return the ``optuna.Trial`` of a running trial (to report to, ask whether to prune), by its id."""
    return optuna().trial.Trial(study, trial_id)


def trial_state(name: str) -> Any:
    """``optuna.trial.TrialState`` by name: COMPLETE, PRUNED, FAIL, RUNNING, WAITING."""
    return optuna().trial.TrialState[name]


def importance(direction: str, trials: list[Any]) -> dict[str, float] | None:
    """Compute the fANOVA importance of each parameter over the completed ``trials`` (None: unknown).

    Runs in a worker thread on an in-memory copy of the trials, so the event loop and the
    study's journal are never held up by the random forest.
    """
    complete = [t for t in trials if t.state == trial_state("COMPLETE") and t.value is not None]
    if len(complete) < IMPORTANCE_MIN_TRIALS:
        return None
    module = optuna()
    copy = module.create_study(direction=direction)
    copy.add_trials(complete)
    try:
        evaluator = module.importance.FanovaImportanceEvaluator(seed=0)
        found = module.importance.get_param_importances(copy, evaluator=evaluator)
    except (RuntimeError, ValueError):  # e.g. every parameter took one value so far
        return None
    values = {name: float(value) for name, value in found.items()}
    return values if values and all(math.isfinite(v) for v in values.values()) else None
