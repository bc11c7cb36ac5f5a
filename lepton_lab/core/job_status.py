"""Job status: the lifecycle of a run as ``Literal`` types, and the tuples Python code tests against.

The ``Literal`` types are what the schema models (:mod:`lepton_lab.core.event_schema`,
:mod:`lepton_lab.server.job_schema`) declare, so ``openapi.json`` and the generated TypeScript
list the same values; the tuples below are derived from them, never typed out again. This module
imports nothing heavier than :mod:`typing`, so the client and the CLI can use it at start-up.

Examples
--------
>>> STATUSES
('queued', 'running', 'completed', 'failed', 'cancelled', 'interrupted', 'pruned')
>>> "interrupted" in RESUMABLE_STATUSES, "queued" in FINISHED_STATUSES
(True, False)
"""

from __future__ import annotations

from typing import Literal, get_args

#: A process trains the run now, or will: queued for a slot, or running.
ActiveStatus = Literal["queued", "running"]
#: The run does not change any more (unless resumed). ``pruned``: a sweep stopped the trial early
#: because it was clearly losing (a cancel on the sweep's behalf; events and checkpoints are kept).
FinishedStatus = Literal["completed", "failed", "cancelled", "interrupted", "pruned"]
#: Finished without completing: ``POST jobs/{id}/resume`` continues from the checkpoints.
ResumableStatus = Literal["interrupted", "failed", "cancelled", "pruned"]
#: Every value ``status.json``'s ``status`` (and a status event's) may take.
JobStatus = Literal[ActiveStatus, FinishedStatus]
#: Who trains a run: a worker the Jupyter server spawned, ``lepton_lab.train`` inside a notebook
#: kernel, or any other Python process (the CLI, a script). Run directories without the field were
#: written by the server.
Origin = Literal["server", "kernel", "script"]

STATUSES: tuple[str, ...] = get_args(JobStatus)
ACTIVE_STATUSES: tuple[str, ...] = get_args(ActiveStatus)
FINISHED_STATUSES: tuple[str, ...] = get_args(FinishedStatus)
RESUMABLE_STATUSES: tuple[str, ...] = get_args(ResumableStatus)
ORIGINS: tuple[str, ...] = get_args(Origin)
