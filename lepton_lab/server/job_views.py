"""The JSON views of jobs: an index record plus what the manager knows live (``GET jobs``, streams)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from lepton_lab.core.event_index import EventIndexes
from lepton_lab.core.job_status import STATUSES
from lepton_lab.core.rundir import RunDir, read_json
from lepton_lab.server import access
from lepton_lab.server.job_errors import JobError
from lepton_lab.server.job_schema import INDEX_ONLY
from lepton_lab.server.lifecycle import Job

#: Most events ``GET jobs/{id}/events`` returns at once (the client pages with ``next``).
EVENTS_PAGE_LIMIT = 10_000


def job_view(record: dict[str, Any], job: Job | None, queue_position: int | None) -> dict[str, Any]:
    """Return the JSON form of a job: its index record (less the index-only columns) plus live state."""
    view = {key: value for key, value in record.items() if key not in INDEX_ONLY}
    view["cancel_requested"] = bool(job and job.cancel_requested)
    view["progress"] = dict(job.progress) if job and job.progress else None
    view["origin"] = record.get("origin") or "server"
    if job is not None:
        view["status"] = job.status
        view["gpu"] = job.gpu
        if job.status == "queued":
            view["queue_position"] = queue_position
    return view


def job_detail(record: dict[str, Any], view: dict[str, Any]) -> dict[str, Any]:
    """``view`` plus the job's spec and, if it failed, its traceback (``GET jobs/{id}``)."""
    run = RunDir(record["run_dir"])
    view["traceback"] = run.read_status().get("traceback")
    try:
        view["spec"] = run.read_spec().model_dump(mode="json")
    except (OSError, ValueError):
        view["spec"] = None
    return view


def live_key(jobs: Iterable[Job]) -> tuple[tuple[Any, ...], ...]:
    """Return what :func:`job_view` adds from memory, as a cache key (the GET jobs listing)."""
    return tuple((job.id, job.status, job.gpu, job.cancel_requested, job.revision) for job in jobs)


def checked_statuses(statuses: Iterable[str] | None) -> tuple[str, ...] | None:
    """``statuses`` as a tuple; a clear error for one that does not exist."""
    if statuses is None:
        return None
    statuses = tuple(statuses)
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        raise JobError(f"status: unknown status {unknown[0]!r}; use one of {', '.join(STATUSES)}")
    return statuses


def events_reader(
    indexes: EventIndexes, run_dir: str, after: int, limit: int | None
) -> Callable[[], tuple[list[dict[str, Any]], int]]:
    """Check the arguments now; return the read of a page of the run's events (and the next offset).

    The file's index seeks to line ``after``: the cost grows with the lines returned, not with
    the file.
    """
    if after < 0:
        raise JobError(f"after: must be a line offset >= 0, got {after}")
    if limit is not None and limit < 1:
        raise JobError(f"limit: must be >= 1, got {limit}")
    index = indexes.get(RunDir(run_dir).events_path)
    page = min(limit or EVENTS_PAGE_LIMIT, EVENTS_PAGE_LIMIT)
    return lambda: index.read(after, page)


def evaluation(run_dir: str, job_id: str, status: str) -> dict[str, Any]:
    """Return the run's ``evaluation.json``; a clear 404 while it has none (``status``: the job's)."""
    try:
        document: dict[str, Any] = read_json(RunDir(run_dir).evaluation_path)
    except FileNotFoundError:
        raise access.ArtifactNotFound(
            f"job {job_id} has no evaluation (status {status}); it is written when training completes"
        ) from None
    return document
