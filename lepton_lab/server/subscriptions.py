"""The WebSocket subscriptions: who receives a job's events and every job's status changes.

A subscriber of one job gets its status, then its events from a line offset on, live while the
job is active; a finished job's events are replayed from its file and the stream closes. A
read-only server follows an active job another server manages through its files. A subscriber of
every job gets a snapshot of the jobs (and of the sweeps and deployed models, once their managers
are attached), then each status and progress change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from lepton_lab.core.event_index import EventIndexes
from lepton_lab.core.job_status import ACTIVE_STATUSES
from lepton_lab.core.rundir import RunDir
from lepton_lab.server.job_errors import JobError
from lepton_lab.server.job_listing import CachedJobStore
from lepton_lab.server.lifecycle import Job
from lepton_lab.server.streams import Broadcaster, Subscriber, encode


class Subscriptions:
    """Send jobs' events and status changes to their subscribers.

    Parameters
    ----------
    store
        The job index.
    jobs
        The manager's active jobs; jobs watched read-only join them while they stay active.
    broadcaster
        The stream of every job's status changes.
    event_indexes
        Seek into events files for replays.
    record
        Returns a job's index record (raising :class:`~.job_errors.JobNotFound`).
    view
        Returns the JSON form of a job's record.
    list_jobs
        Returns every job's JSON form, newest first.
    read_only
        Whether another server manages this runs directory's jobs.
    stopped
        Whether the manager stopped.
    poll_interval_s
        Seconds between reads of a watched job's events and status.
    """

    def __init__(
        self,
        store: CachedJobStore,
        jobs: dict[str, Job],
        broadcaster: Broadcaster,
        event_indexes: EventIndexes,
        *,
        record: Callable[[str], dict[str, Any]],
        view: Callable[[dict[str, Any]], dict[str, Any]],
        list_jobs: Callable[[], list[dict[str, Any]]],
        read_only: Callable[[], bool],
        stopped: Callable[[], bool],
        poll_interval_s: float,
    ) -> None:
        self.store = store
        self.jobs = jobs
        self.broadcaster = broadcaster
        self.event_indexes = event_indexes
        self.record = record
        self.view = view
        self.list_jobs = list_jobs
        self.read_only = read_only
        self.stopped = stopped
        self.poll_interval_s = poll_interval_s
        #: Every sweep's JSON form, newest first, for the snapshot (set by the sweep manager).
        self.list_sweeps: Callable[[], list[dict[str, Any]]] | None = None
        #: Every deployed model's JSON form, for the snapshot (set by the extension's model registry).
        self.list_models: Callable[[], list[dict[str, Any]]] | None = None

    def subscribe_job(self, job_id: str, subscriber: Subscriber, after: int = 0) -> None:
        """Send ``job_id``'s events from line ``after`` to ``subscriber``, then follow them live."""
        if after < 0:
            raise JobError(f"after: must be a line offset >= 0, got {after}")
        record = self.record(job_id)
        job = self.jobs.get(job_id)
        status = {"type": "status", "job": self.view(record)}
        if job is not None:
            subscriber.prepend([encode(status)])
            job.stream.subscribe(subscriber, after)
            return
        if self.read_only() and record["status"] in ACTIVE_STATUSES and not self.stopped():
            job = self._watch(record)  # another server runs it: follow its files live
            subscriber.prepend([encode(status)])
            job.stream.subscribe(subscriber, after)
            return
        # Finished: its status, the events from `after` to the end, then close.
        subscriber.prepend([encode(status)])
        subscriber.prepend_replay(self.event_indexes.get(RunDir(record["run_dir"]).events_path), after)
        subscriber.finish("job finished")

    def _watch(self, record: dict[str, Any]) -> Job:
        """Follow the events of an active job another server manages (read-only: writes nothing)."""
        job = Job(RunDir(record["run_dir"]), status=record["status"], origin=record.get("origin") or "server")
        self.jobs[job.id] = job
        job.task = asyncio.create_task(self._watch_until_ended(job))
        return job

    async def _watch_until_ended(self, job: Job) -> None:
        while True:
            job.stream.poll()
            record = self.store.get(job.id)  # the managing server keeps the shared index
            if record is None or record["status"] not in ACTIVE_STATUSES:
                break
            job.status = record["status"]
            await asyncio.sleep(self.poll_interval_s)
        self.jobs.pop(job.id, None)
        job.stream.poll()
        if record is not None:
            job.stream.publish({"type": "status", "job": self.view(record)})
        job.stream.close()

    def subscribe_all(self, subscriber: Subscriber) -> None:
        """Send a snapshot of every job (and sweep and model) to ``subscriber``, then every change."""
        snapshot: dict[str, Any] = {"type": "snapshot", "jobs": self.list_jobs()}
        if self.list_sweeps is not None:
            snapshot["sweeps"] = self.list_sweeps()
        if self.list_models is not None:
            snapshot["models"] = self.list_models()
        self.broadcaster.subscribe(subscriber, snapshot)

    def unsubscribe(self, subscriber: Subscriber, job_id: str | None = None) -> None:
        """Stop sending to ``subscriber``."""
        self.broadcaster.unsubscribe(subscriber)
        if job_id is not None and job_id in self.jobs:
            self.jobs[job_id].stream.unsubscribe(subscriber)
