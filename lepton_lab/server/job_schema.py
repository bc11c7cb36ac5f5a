"""Job schema: what the server knows about a job, as pydantic models.

:class:`JobRecord` holds the fields the SQLite index stores and every listing shows; :class:`Job`
adds the live ones the job manager knows (cancel requested, queue position, progress) and the
detail of ``GET jobs/{job_id}``; :class:`IndexRow` adds the columns only the index needs. The
index's columns (:func:`sqlite_columns`), the ``Job`` component of ``openapi.json`` and the
TypeScript ``IJob`` are all derived from these classes, so a new field is added here once.

Examples
--------
>>> sqlite_columns(IndexRow)["status"], sqlite_columns(IndexRow)["tags"]
('TEXT NOT NULL', 'TEXT')
>>> sorted(set(IndexRow.model_fields) - set(JobRecord.model_fields))
['meta_mtime', 'updated', 'worker']
"""

from __future__ import annotations

import types
import typing
from typing import Any, Union

from pydantic import BaseModel, ConfigDict, Field

from lepton_lab.core.event_schema import Metrics
from lepton_lab.core.job_status import JobStatus, Origin
from lepton_lab.core.specs import JobSpec


class JobRecord(BaseModel):
    """A job as the index stores it: copied from the run directory's files, plus the worker's pid."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Run id: the run directory's name.")
    name: str | None = Field(None, description="As renamed (PATCH), else as trained.")
    tags: list[str] = Field(default_factory=list)
    status: JobStatus
    created: str | None = Field(None, description="ISO 8601 time the job was queued.")
    started: str | None = None
    finished: str | None = None
    pid: int | None = Field(None, description="Worker process id.")
    gpu: int | None = Field(None, description="Index of the (first) GPU the job holds, if any.")
    gpus: list[int] = Field(
        default_factory=list, description="Every GPU the job holds (several with resources.gpus > 1)."
    )
    node: str | None = Field(
        None, description="Cluster node its worker ran on (a Ray node id); None on the server's host."
    )
    exit_code: int | None = None
    error: str | None = None
    epoch: int | None = Field(None, description="Epochs completed.")
    epochs: int | None = None
    dataset: str | None = None
    run_dir: str
    origin: Origin = Field(
        "server",
        description="Who trains it: a worker of this server, lepton_lab.train in a kernel, "
        "or a script/the CLI writing into the runs directory (cancel asks those to stop).",
    )
    note: str | None = Field(None, description="A person's note on the run (meta.json).")
    archived: bool = Field(False, description="Hidden from lists unless archived runs are asked for.")


class IndexRow(JobRecord):
    """A row of the SQLite index: the record plus what only the index uses (never shown)."""

    worker: dict[str, Any] | None = Field(
        None,
        description="The worker's identity as its executor gave it (WorkerHandle.ref(), JSON): "
        "a local process's pid and start time, a Ray actor's name and node. A restarted server "
        "re-attaches the worker from it.",
    )
    meta_mtime: int | None = Field(
        None, description="st_mtime_ns of meta.json when last indexed (None: no file)."
    )
    updated: float | None = Field(None, description="Unix time of the row's last change.")


class JobProgress(BaseModel):
    """How far a running job has come: a job's ``progress`` and the stream's progress messages."""

    model_config = ConfigDict(extra="allow")

    step: int | None = Field(None, description="Global step of the latest batch.")
    epoch: int | None = Field(None, description="1-based epoch in progress.")
    total_steps: int | None = None
    epochs: int | None = None
    epochs_done: int | None = Field(None, description="Epochs completed.")
    t: float | None = Field(None, description="Unix time (s) of the latest event.")
    metrics: Metrics = Field(default_factory=dict, description="Metrics of the latest batch.")
    epoch_metrics: Metrics = Field(
        default_factory=dict, description="Metrics of the latest epoch (train and `val_`)."
    )


class Job(JobRecord):
    """A job as the API returns it (``GET jobs``, ``GET jobs/{job_id}``, stream messages)."""

    cancel_requested: bool = False
    queue_position: int | None = Field(None, description="Place in the queue (0: next), while queued.")
    progress: JobProgress | None = Field(None, description="Latest step, epoch, total_steps, metrics.")
    traceback: str | None = Field(None, description="Only in GET jobs/{job_id}.")
    spec: JobSpec | None = Field(None, description="Only in GET jobs/{job_id}.")


#: Fields the index keeps for itself (left out of every :class:`Job`).
INDEX_ONLY: tuple[str, ...] = tuple(IndexRow.model_fields.keys() - JobRecord.model_fields.keys())

#: The index's primary key.
PRIMARY_KEY = "id"

_SQLITE_TYPES: dict[Any, str] = {
    str: "TEXT", int: "INTEGER", float: "REAL", bool: "INTEGER", list: "TEXT", dict: "TEXT"
}  # fmt: skip


def _sqlite_type(annotation: Any) -> str:
    """SQLite type of a field: its non-null Python type's (a list is stored as JSON text)."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        (annotation,) = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return _SQLITE_TYPES[type(typing.get_args(annotation)[0])]
    return _SQLITE_TYPES[origin or annotation]


def sqlite_columns(model: type[BaseModel]) -> dict[str, str]:
    """Column definitions of ``model``'s table: a required field is NOT NULL, ``id`` the key."""
    columns = {}
    for name, info in model.model_fields.items():
        kind = _sqlite_type(info.annotation)
        if name == PRIMARY_KEY:
            kind += " PRIMARY KEY"
        elif info.is_required():
            kind += " NOT NULL"
        columns[name] = kind
    return columns
