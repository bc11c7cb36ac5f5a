"""One sweep as the server holds it: its files, its study and a record of each trial, and its JSON views.

A sweep's directory is ``<runs_dir>/.sweeps/<sweep_id>/`` (the leading dot keeps the run scanner
and the job index out of it): ``sweep.json`` (the spec, the state, when it was created and ended,
and the last parameter importance computed, so a finished sweep shows it without fitting fANOVA
again) and the Optuna study's ``journal.log``. What the API shows of a trial comes from the study
(its parameters and reported values) and from its job's index record (status and epochs), so
nothing is stored twice.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import logging
import math
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lepton_lab.core.job_status import ACTIVE_STATUSES
from lepton_lab.core.rundir import read_json, slug, write_json_atomic
from lepton_lab.core.sweep_spec import SweepSpec, apply_params, parse_sweep, trial_count
from lepton_lab.server import sweep_study
from lepton_lab.server.sweep_schema import COUNTED_STATUSES

#: The directory of every sweep, inside the runs directory.
SWEEPS_DIR = ".sweeps"
SWEEP_FILE = "sweep.json"

#: Optuna's view of a trial (``TrialState`` names, lower case) to the status of a trial without a job.
_STATE_STATUS = {"running": "queued", "complete": "completed", "pruned": "pruned", "fail": "failed"}


def new_sweep_id(name: str) -> str:
    """``sw-<yyyymmdd-hhmmss>-<slug(name)>-<4 hex digits>``: sortable by time, like job ids.

    The slug is shorter than a job id's so that the tag ``sweep:<id>`` fits a tag's 64 characters.
    """
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"sw-{stamp}-{slug(name, 30)}-{secrets.token_hex(2)}"


@dataclass
class TrialRecord:
    """One trial: Optuna's number and id, its values, its job and how far it got."""

    number: int
    trial_id: int
    params: dict[str, Any]
    job_id: str | None = None
    state: str = "running"  # Optuna's view: running, complete, pruned, fail
    intermediate: dict[int, float] = field(default_factory=dict)  # epoch -> objective value
    error: str | None = None  # why it could not be submitted
    orphan: bool = False  # asked but never submitted (the server stopped in between): not counted
    pruning: bool = False  # its job was cancelled as pruned; the end is on its way
    resumes: int = 0  # times its interrupted job was resumed
    handle: Any = None  # the optuna.Trial while it runs

    def best(self, direction: str) -> float | None:
        """Return the best objective value reported so far (None before the first epoch)."""
        if not self.intermediate:
            return None
        pick = max if direction == "maximize" else min
        return pick(self.intermediate.values())

    def report(self, events: list[dict[str, Any]], metric: str) -> bool:
        """Report each epoch event's new value of ``metric`` to the study; True if there was one.

        An epoch already reported (a re-attached job's events are read again) and a missing or
        non-finite value are skipped.
        """
        new = False
        for event in events:
            if event.get("type") != "epoch":
                continue
            epoch, value = event.get("epoch"), (event.get("metrics") or {}).get(metric)
            if (
                isinstance(epoch, int)
                and isinstance(value, (int, float))
                and not isinstance(value, bool)
                and math.isfinite(value)
                and epoch not in self.intermediate
            ):
                self.handle.report(float(value), epoch)
                self.intermediate[epoch] = float(value)
                new = True
        return new


def trial_spec(spec: SweepSpec, sweep_id: str, trial: TrialRecord) -> dict[str, Any]:
    """Return a trial's JobSpec document: the base with its values, its name and its two tags."""
    job = apply_params(spec.base, trial.params)
    suffix = f" #{trial.number}"
    name = spec.name[: 100 - len(suffix)] + suffix
    tags = [*spec.base.tags, f"sweep:{sweep_id}", f"trial:{trial.number}"]
    return {**job.model_dump(mode="json"), "name": name, "tags": tags}


class SweepRun:
    """A sweep: its directory, spec, state, study and trials.

    Parameters
    ----------
    directory
        ``<runs_dir>/.sweeps/<sweep_id>``.
    spec
        The sweep's spec.
    state, created, finished
        As ``sweep.json`` says (unix seconds).
    """

    def __init__(
        self, directory: Path, spec: SweepSpec, state: str, created: float, finished: float | None
    ) -> None:
        self.directory = directory
        self.id = directory.name
        self.spec = spec
        self.state = state
        self.created = created
        self.finished = finished
        self.total = trial_count(spec)
        self.study: Any = None  # loaded on first need (Optuna is imported then)
        self.trials: dict[int, TrialRecord] = {}
        self.importance: dict[str, float] | None = None
        self.importance_busy = False  # fANOVA runs in a thread now
        self.importance_stale = False  # a trial completed while it ran: run it again

    # -- files ---------------------------------------------------------------------------------

    @classmethod
    def create(cls, root: Path, spec: SweepSpec) -> SweepRun:
        """Make the directory, the study and ``sweep.json`` of a new sweep."""
        root.mkdir(parents=True, exist_ok=True)
        while True:
            directory = root / new_sweep_id(spec.name)
            try:
                directory.mkdir()
                break
            except FileExistsError:
                continue
        run = cls(directory, spec, "running", time.time(), None)
        run.study = sweep_study.open_study(directory, run.id, spec, create=True)
        run.save()
        return run

    @classmethod
    def read(cls, directory: Path) -> SweepRun:
        """Read the sweep of ``directory`` from its ``sweep.json`` (its study is loaded later)."""
        document = read_json(directory / SWEEP_FILE)
        spec = parse_sweep(document["spec"])
        run = cls(directory, spec, document["state"], float(document["created"]), document.get("finished"))
        run.importance = document.get("importance")
        return run

    def save(self) -> None:
        """Write ``sweep.json`` (atomically)."""
        write_json_atomic(
            self.directory / SWEEP_FILE,
            {
                "id": self.id,
                "spec": self.spec.model_dump(mode="json"),
                "state": self.state,
                "created": self.created,
                "finished": self.finished,
                "importance": self.importance,  # kept: fANOVA takes a while to compute again
            },
        )

    def load(self, job_of_trial: dict[int, str]) -> None:
        """Load the study and a record of each trial; ``job_of_trial`` fills in job ids it lacks.

        (A trial's job id is stored in the study right after its job is submitted; a server that
        stopped in between finds it from the job's ``trial:<n>`` tag.)
        """
        self.study = sweep_study.open_study(self.directory, self.id, self.spec, create=False)
        for frozen in self.study.get_trials(deepcopy=False):
            state = frozen.state.name.lower()
            if state == "waiting":
                continue  # enqueued again, not asked yet
            attrs = frozen.user_attrs
            self.trials[frozen.number] = TrialRecord(
                number=frozen.number,
                trial_id=frozen._trial_id,
                params=dict(frozen.params),
                job_id=attrs.get("job_id") or job_of_trial.get(frozen.number),
                state=state,
                intermediate={int(k): float(v) for k, v in frozen.intermediate_values.items()},
                error=attrs.get("error"),
                orphan=bool(attrs.get("orphan")),
            )

    async def update_importance(self, log: logging.Logger) -> bool:
        """Recompute fANOVA importance in a worker thread; again if trials completed meanwhile.

        Returns False when a computation already runs (it picks the new trials up).
        """
        if self.importance_busy:
            self.importance_stale = True
            return False
        self.importance_busy = True
        try:
            while True:
                self.importance_stale = False
                trials = self.study.get_trials(deepcopy=True)
                direction = self.spec.objective.direction or "maximize"
                try:
                    self.importance = await asyncio.to_thread(sweep_study.importance, direction, trials)
                except Exception:
                    log.exception("Lepton Lab: sweep %s: parameter importance failed", self.id)
                if not self.importance_stale:
                    return True
        finally:
            self.importance_busy = False

    # -- counting ------------------------------------------------------------------------------

    def counted(self) -> list[TrialRecord]:
        """Return the trials that count towards ``total``, by number."""
        return [self.trials[n] for n in sorted(self.trials) if not self.trials[n].orphan]

    def in_flight(self) -> list[TrialRecord]:
        """Return the trials whose jobs are queued or running."""
        return [t for t in self.counted() if t.state == "running"]

    def record(self, job_id: str) -> TrialRecord | None:
        """Return the trial of job ``job_id``, if it belongs to this sweep."""
        return next((t for t in self.trials.values() if t.job_id == job_id), None)

    # -- views ---------------------------------------------------------------------------------

    def trial_view(self, trial: TrialRecord, job: dict[str, Any] | None) -> dict[str, Any]:
        """Return the JSON form of a trial (see :class:`~lepton_lab.server.sweep_schema.Trial`)."""
        if job is not None:
            status = job["status"]
        else:  # never submitted, or its run was deleted since
            status = _STATE_STATUS[trial.state]
        epochs = job.get("epoch") if job is not None else None
        return {
            "number": trial.number,
            "job_id": trial.job_id,
            "status": status,
            "params": dict(trial.params),
            "value": trial.best(self.spec.objective.direction or "maximize"),
            "epochs_run": int(epochs) if isinstance(epochs, int) else max(trial.intermediate, default=0),
            "intermediate": [[epoch, trial.intermediate[epoch]] for epoch in sorted(trial.intermediate)],
        }

    def view(self, trials: list[dict[str, Any]], parallel: int) -> dict[str, Any]:
        """Return the JSON form of the sweep (see :class:`~lepton_lab.server.sweep_schema.Sweep`)."""
        counts = dict.fromkeys(COUNTED_STATUSES, 0)
        for trial in trials:
            status = trial["status"]
            counts[status if status in counts else "failed"] += 1
        direction = self.spec.objective.direction or "maximize"
        return {
            "id": self.id,
            "name": self.spec.name,
            "state": self.state,
            "created": self.created,
            "finished": self.finished,
            "strategy": self.spec.strategy,
            "pruner": self.spec.pruner,
            "max_trials": self.total,
            "parallel": parallel,
            "objective": {"metric": self.spec.objective.metric, "direction": direction},
            "space": {path: dim.model_dump(mode="json") for path, dim in self.spec.space.items()},
            "counts": counts,
            "best": self.best(direction),
            "importance": self.importance,
            "spec": self.spec.model_dump(mode="json"),
        }

    def best(self, direction: str) -> dict[str, Any] | None:
        """Return the completed trial with the best value, or None."""
        done = [(t.best(direction), t) for t in self.counted() if t.state == "complete"]
        scored = [(value, t) for value, t in done if value is not None and math.isfinite(value)]
        if not scored:
            return None
        sign = 1 if direction == "maximize" else -1
        value, trial = max(scored, key=lambda pair: (sign * pair[0], -pair[1].number))
        return {"number": trial.number, "job_id": trial.job_id, "value": value, "params": dict(trial.params)}


def active(job: dict[str, Any] | None) -> bool:
    """Whether a job record is queued or running."""
    return job is not None and job["status"] in ACTIVE_STATUSES
