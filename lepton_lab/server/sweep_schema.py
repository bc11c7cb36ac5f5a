"""Sweep schema: what ``GET sweeps`` and ``GET sweeps/{id}/trials`` answer, as pydantic models.

The ``Sweep`` and ``Trial`` components of ``openapi.json`` and the TypeScript ``ISweep`` and
``ITrial`` are generated from these classes (the request body, ``SweepSpec``, is
:class:`lepton_lab.core.sweep_spec.SweepSpec`). The sweep manager builds plain dicts of this shape
(:mod:`lepton_lab.server.sweeps`); a test checks them against the models.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lepton_lab.core.job_status import JobStatus
from lepton_lab.core.sweep_spec import Choice, Dimension, SweepSpec

#: The states of a sweep: trials still to run or running; all ran; cancelled; none could run.
SweepState = Literal["running", "completed", "cancelled", "failed"]
SWEEP_STATES: tuple[str, ...] = ("running", "completed", "cancelled", "failed")

#: The statuses a sweep's trials are counted by (an interrupted trial that is not resumed counts as failed).
COUNTED_STATUSES = ("queued", "running", "completed", "pruned", "failed", "cancelled")


class SweepObjective(BaseModel):
    """The metric a sweep optimises and in which direction."""

    model_config = ConfigDict(extra="forbid")

    metric: str
    direction: Literal["maximize", "minimize"]


class SweepCounts(BaseModel):
    """How many of a sweep's trials have each status."""

    model_config = ConfigDict(extra="forbid")

    queued: int
    running: int
    completed: int
    pruned: int
    failed: int
    cancelled: int


class SweepBest(BaseModel):
    """The completed trial with the best objective value."""

    model_config = ConfigDict(extra="forbid")

    number: int
    job_id: str | None
    value: float
    params: dict[str, Choice]


class Sweep(BaseModel):
    """A sweep as the API shows it: its spec, state, trial counts, best trial and parameter importance."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="sw- and the time-sortable form job ids have.")
    name: str
    state: SweepState
    created: float = Field(description="Unix time the sweep was created.")
    finished: float | None = Field(description="Unix time it ended (None while running).")
    strategy: Literal["grid", "random", "tpe"]
    pruner: Literal["none", "median", "hyperband"]
    max_trials: int = Field(description="Trials the sweep runs (for a grid: at most its size).")
    parallel: int = Field(description="Trials in flight at once.")
    objective: SweepObjective
    space: dict[str, Dimension]
    counts: SweepCounts
    best: SweepBest | None = Field(description="None until a trial completes with a value.")
    importance: dict[str, float] | None = Field(
        description="fANOVA importance of each parameter (sums to 1); None until 3 trials completed."
    )
    # No description: a $ref with siblings would become a second TypeScript type of the spec.
    spec: SweepSpec  # the SweepSpec as given, defaults filled in


class Trial(BaseModel):
    """One trial of a sweep: its job, parameters and objective values per epoch."""

    model_config = ConfigDict(extra="forbid")

    number: int = Field(description="Optuna's trial number, unique within the sweep.")
    job_id: str | None = Field(description="The trial's job (None if it could not be submitted).")
    status: JobStatus = Field(description="The job's status.")
    params: dict[str, Choice]
    value: float | None = Field(description="Best epoch value of the objective so far (None before one).")
    epochs_run: int
    intermediate: list[list[float]] = Field(description="[epoch, objective value] per epoch reported.")


#: The models ``openapi.json`` adds as components: the request body and the two answers.
SWEEP_MODELS: tuple[type[BaseModel], ...] = (SweepSpec, Sweep, Trial)
