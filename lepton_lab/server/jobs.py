"""Job manager: queue training jobs, run their workers, follow them, survive restarts.

Each job is a run directory (:class:`~lepton_lab.core.rundir.RunDir`) trained by a worker that
reports only through that directory. The manager is a facade over one module per concept:

- :mod:`~lepton_lab.server.scheduling`: the queue, the slots and the GPU each job gets;
- :mod:`~lepton_lab.server.lifecycle`: ``before_start → execute → on_complete / on_failure``,
  which the executor owns (a cluster executor or a test double overrides its hooks); the manager
  passes it a :class:`~lepton_lab.server.lifecycle.JobContext` for the index and the streams;
- :mod:`~lepton_lab.server.run_scanner`: runs that kernels and scripts (``lepton_lab.train``,
  the CLI) write into the same runs directory, followed without ever signalling their processes;
- :mod:`~lepton_lab.server.job_views`: the JSON form of a job;
- :mod:`~lepton_lab.server.recovery`: at start-up, re-attach the workers that outlived the
  previous server process and mark the others ``interrupted`` (resumable from their checkpoints);
- :mod:`~lepton_lab.server.subscriptions`: the WebSocket streams of one job and of every job.

It keeps a SQLite index (:class:`~lepton_lab.server.job_index.JobStore`) of the runs directory.

Domain errors carry ``http_status``; the handlers map them to responses in one place.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from lepton_lab.core import deletion, runmeta
from lepton_lab.core.event_index import EventIndexes
from lepton_lab.core.job_status import ACTIVE_STATUSES, RESUMABLE_STATUSES, STATUSES
from lepton_lab.core.rundir import RunDir
from lepton_lab.core.specs import parse_job
from lepton_lab.server import access
from lepton_lab.server import devices as devices_module
from lepton_lab.server.devices import GpuAllocator
from lepton_lab.server.executors import Executor
from lepton_lab.server.external import ExternalRun
from lepton_lab.server.job_errors import JobError, JobNotFound, JobStateError
from lepton_lab.server.job_index import INDEX_FILE
from lepton_lab.server.job_listing import CachedJobStore, JobListings, Listing
from lepton_lab.server.job_views import (
    EVENTS_PAGE_LIMIT,
    checked_statuses,
    evaluation,
    events_reader,
    job_detail,
    job_view,
    live_key,
)
from lepton_lab.server.lifecycle import (
    Job,
    JobContext,
    JobLifecycle,
    append_status_event,
)
from lepton_lab.server.ownership import RunsDirLock, RunsDirTaken
from lepton_lab.server.recovery import Recovery
from lepton_lab.server.run_scanner import SCAN_INTERVAL_S, RunScanner
from lepton_lab.server.scheduling import Scheduler
from lepton_lab.server.storage import STORAGE_ERRORS, refuse_when_full
from lepton_lab.server.streams import Broadcaster, Subscriber
from lepton_lab.server.subscriptions import Subscriptions

__all__ = [
    "ACTIVE_STATUSES",
    "EVENTS_PAGE_LIMIT",
    "RESUMABLE_STATUSES",
    "STATUSES",
    "Job",
    "JobError",
    "JobManager",
    "JobNotFound",
    "JobStateError",
]

#: The lifecycle of runs trained outside the server: followed through their files, never started.
_FOLLOWER = JobLifecycle()

#: What a cancel may end a job as.
_CANCEL_STATUSES = ("cancelled", "pruned")


class JobListener(Protocol):
    """Follows jobs as the manager does (:attr:`JobManager.listeners`): the sweep manager is one."""

    def job_events(self, job_id: str, events: list[dict[str, Any]]) -> None:
        """Take new events of an active job, in file order (a re-attached job's are read again)."""

    def job_finished(self, job_id: str, job: dict[str, Any]) -> None:
        """Take the end of a job; ``job`` is its final JSON form."""


class JobManager:
    """Queue, run, follow and recover the training jobs of one runs directory.

    Parameters
    ----------
    runs_dir
        Directory of run directories (created if missing); the job index lives in it.
    executor
        Starts and re-attaches workers.
    slots
        Jobs that may run at once.
    allocator
        GPU assignment policy.
    cwd
        Working directory of workers (relative ``folder:`` datasets resolve against it).
    dataset_roots
        Directories ``folder:`` datasets must lie in.
    cancel_grace_s
        Seconds between the SIGTERM and the SIGKILL of a cancel.
    poll_interval_s
        Seconds between reads of a running job's events (and checks that its worker lives).
    log
        Logger for lifecycle messages.
    holder
        What identifies this server (``url``) to a second server on the same runs directory,
        which then only reads it (:mod:`~lepton_lab.server.ownership`).
    """

    def __init__(
        self,
        runs_dir: str | Path,
        *,
        executor: Executor,
        slots: int = 1,
        allocator: GpuAllocator | None = None,
        cwd: str | Path | None = None,
        dataset_roots: Iterable[str | Path] = (),
        cancel_grace_s: float = 10.0,
        poll_interval_s: float = 0.05,
        log: logging.Logger | None = None,
        holder: dict[str, Any] | None = None,
    ) -> None:
        self.runs_dir = Path(runs_dir)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.executor = executor
        self.cwd = Path(cwd) if cwd is not None else self.runs_dir
        self.dataset_roots = [Path(root).expanduser().resolve() for root in dataset_roots]
        self.cancel_grace_s = cancel_grace_s
        self.poll_interval_s = poll_interval_s
        self.log = log or logging.getLogger("lepton_lab")
        self.store = CachedJobStore(self.runs_dir / INDEX_FILE, log=self.log)
        self.event_indexes = EventIndexes()  # GET jobs/{id}/events and replays seek with these
        self._listings = JobListings()
        self.lock = RunsDirLock(self.runs_dir, holder or {})
        self.broadcaster = Broadcaster()
        self._jobs: dict[str, Job] = {}  # queued and running jobs
        #: Told of every job's new events and of its end (the sweep manager follows its trials so).
        self.listeners: list[JobListener] = []
        self.scheduler = Scheduler(
            self._jobs,
            slots,
            allocator or GpuAllocator(),
            places_gpus=getattr(executor, "server_places_gpus", True),
        )
        self.scanner = RunScanner(
            self.runs_dir,
            self.store,
            self._jobs,
            adopt=self._adopt,
            changed=self._publish_status,
            forget=self._forget,
            log=self.log,
        )
        self.context = JobContext(
            store=self.store,
            broadcaster=self.broadcaster,
            publish_status=self._publish_status,
            released=lambda job: self._schedule(),
            finish=self._finish,
            cwd=self.cwd,
            cancel_grace_s=cancel_grace_s,
            poll_interval_s=poll_interval_s,
            log=self.log,
            observe=self._observe,
        )
        self.recovery = Recovery(
            self.runs_dir,
            self.store,
            self.lock,
            executor,
            self._jobs,
            adopt=self._adopt,
            enqueue=self._enqueue,
            log=self.log,
        )
        self.subscriptions = Subscriptions(
            self.store,
            self._jobs,
            self.broadcaster,
            self.event_indexes,
            record=self._record,
            view=self._view,
            list_jobs=self.list_jobs,
            read_only=lambda: self.read_only,
            stopped=lambda: self._stopped,
            poll_interval_s=poll_interval_s,
        )
        self._started = False
        self._stopped = False
        self._scan_task: asyncio.Task[None] | None = None

    @property
    def slots(self) -> int:
        """Jobs that may run at once."""
        return self.scheduler.slots

    @property
    def allocator(self) -> GpuAllocator:
        """The GPU assignment policy."""
        return self.scheduler.allocator

    @property
    def _queue(self) -> deque[str]:
        return self.scheduler.queue

    # -- start-up and shutdown -----------------------------------------------------------------

    def recover(self) -> None:
        """Rebuild the index and take over the jobs left active (see :class:`~.recovery.Recovery`)."""
        self.recovery.recover()

    @property
    def read_only(self) -> bool:
        """Whether another server manages this runs directory's jobs (this one only reads it)."""
        return not self.lock.held

    def _check_manager(self, what: str) -> None:
        if self.read_only:
            raise RunsDirTaken(self.lock.refusal(what))

    def check_manages(self, what: str) -> None:
        """Raise :class:`RunsDirTaken` (409, naming the other server) unless this one manages the runs."""
        self._check_manager(what)

    def start(self) -> None:
        """Start following re-attached jobs and running queued ones (needs the running event loop).

        A server without the runs directory's lock starts nothing: it waits for the lock and then
        takes over as if it had just started.
        """
        if self._started:
            return
        self.recovery.start(self._begin)

    def _begin(self) -> None:
        self._started = True
        for job in list(self._jobs.values()):
            if job.task is None and (job.status == "running" or job.external):
                job.task = asyncio.create_task(self._lifecycle(job).process(job, self.context))
        self._scan_task = asyncio.create_task(self._scan_forever())
        self._schedule()

    async def _scan_forever(self) -> None:
        while not self._stopped:
            await asyncio.sleep(SCAN_INTERVAL_S)
            try:
                self.scan()
            except Exception:  # a bad directory must not end the scanning
                self.log.exception("Lepton Lab: scanning %s failed", self.runs_dir)

    def scan(self) -> list[str]:
        """Index run directories created since the last look; follow those still training.

        They come from ``lepton_lab.train`` in a kernel, from the CLI or from scripts that write
        into this runs directory (:class:`~lepton_lab.server.run_scanner.RunScanner`). Returns
        their ids.
        """
        return self.scanner.scan()

    def _forget(self, job_id: str) -> None:
        """Drop a deleted run from the index and tell every client."""
        self.store.delete(job_id)
        self.broadcaster.publish({"type": "deleted", "id": job_id})
        self.log.info("Lepton Lab: run %s deleted", job_id)

    def _adopt(self, run: RunDir, record: dict[str, Any]) -> None:
        """Follow an active run trained by a kernel or a script, as if it were a re-attached job."""
        job = Job(
            run, status=record["status"], origin=record.get("origin") or "kernel", worker=ExternalRun(run)
        )
        self._jobs[job.id] = job
        if self._started and not self._stopped:
            job.task = asyncio.create_task(self._lifecycle(job).process(job, self.context))
            self._publish_status(job.id)
        self.log.info("Lepton Lab: following run %s, trained by a %s process", job.id, job.origin)

    async def stop(self) -> None:
        """Stop following jobs and close every stream. Workers keep running: jobs outlive the server."""
        self._stopped = True
        for task in (self._scan_task, self.recovery.takeover_task):
            if task is not None:
                task.cancel()
        tasks = [job.task for job in self._jobs.values() if job.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for job in self._jobs.values():
            job.stream.going_away()
        self.broadcaster.close()
        self.store.close()
        self.lock.release()

    # -- queries -------------------------------------------------------------------------------

    def _record(self, job_id: str) -> dict[str, Any]:
        record = self.store.get(job_id)
        if record is None:
            raise JobNotFound(f"no job with id {job_id!r}; list jobs with GET /lepton-lab/api/jobs")
        return record

    def _view(self, record: dict[str, Any]) -> dict[str, Any]:
        """Return the JSON form of a job: its index record plus live state."""
        return job_view(record, self._jobs.get(record["id"]), self.scheduler.position(record["id"]))

    def listing(self, statuses: Iterable[str] | None = None) -> Listing:
        """:meth:`list_jobs` as an encoded ``{"jobs": [...]}`` body with its ETag, kept until a job changes.

        The key of the kept answer is the job index's version plus what :meth:`_view` adds from
        memory (each active job's status, GPU, cancel flag and progress, and the queue order),
        so it is rebuilt exactly when the answer would differ.
        """
        wanted = checked_statuses(statuses)
        key = (self.store.version(), live_key(self._jobs.values()), tuple(self._queue))
        return self._listings.answer(wanted, key, lambda: self.list_jobs(wanted))

    def list_jobs(self, statuses: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Every job, newest first, optionally only those with one of ``statuses``."""
        statuses = checked_statuses(statuses)
        return [self._view(record) for record in self.store.list(statuses)]

    def get(self, job_id: str) -> dict[str, Any]:
        """One job with its spec and, if it failed, its error and traceback."""
        record = self._record(job_id)
        return job_detail(record, self._view(record))

    def summary(self) -> dict[str, Any]:
        """Count slots, running and queued jobs (for ``GET status``)."""
        running = sum(1 for job in self._jobs.values() if self.scheduler.holds_slot(job))
        external = sum(1 for job in self._jobs.values() if job.external)
        return {"slots": self.slots, "running": running, "queued": len(self._queue), "external": external}

    def events(
        self, job_id: str, after: int = 0, limit: int | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """Events of ``job_id`` after line ``after`` (at most ``limit``) and the next offset.

        The file's index seeks to line ``after``: the cost grows with the lines returned, not with
        the file. Blocking: the server awaits :meth:`read_events` instead.
        """
        return self._events_reader(job_id, after, limit)()

    async def read_events(
        self, job_id: str, after: int = 0, limit: int | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """:meth:`events`, reading the file in a worker thread so the event loop never waits on it."""
        return await asyncio.to_thread(self._events_reader(job_id, after, limit))

    def _events_reader(
        self, job_id: str, after: int, limit: int | None
    ) -> Callable[[], tuple[list[dict[str, Any]], int]]:
        return events_reader(self.event_indexes, self._record(job_id)["run_dir"], after, limit)

    def evaluation(self, job_id: str) -> dict[str, Any]:
        """Return the job's ``evaluation.json``."""
        record = self._record(job_id)
        return evaluation(record["run_dir"], job_id, self._view(record)["status"])

    def artifact_path(self, job_id: str, name: str) -> Path:
        """Return the file ``name`` of the job's run directory (see :func:`~.access.artifact_path`)."""
        return access.artifact_path(Path(self._record(job_id)["run_dir"]), name, job_id)

    def artifacts(self, job_id: str) -> list[dict[str, Any]]:
        """List the files of the job's run directory (relative names and sizes)."""
        return access.artifacts(Path(self._record(job_id)["run_dir"]))

    def devices(self) -> dict[str, Any]:
        """List the CPU and GPUs with the running jobs placed on each."""
        nodes = self.executor.nodes() if self.executor else None  # a cluster's nodes, with the jobs each runs
        holders: dict[int | None, list[str]] = {}
        for job in self._jobs.values():
            # Where a kernel trains is not known here; a cluster's jobs are listed on its nodes.
            if self.scheduler.holds_slot(job) and nodes is None:
                placed: list[int | None] = [*job.gpus] or [job.gpu]
                for gpu in placed:
                    holders.setdefault(gpu, []).append(job.id)
        return {
            **({} if nodes is None else {"nodes": nodes}),
            "devices": devices_module.devices(holders),
            "gpu_policy": self.allocator.policy,
            "nvml_error": devices_module.nvml_error(),
            **self.summary(),
        }

    # -- commands ------------------------------------------------------------------------------

    def submit(self, data: Any) -> dict[str, Any]:
        """Validate a JobSpec, create its run directory and queue it. Returns the new job."""
        self._check_manager("a new job cannot be started here")
        spec = access.allowed_dataset(parse_job(data), self.cwd, self.dataset_roots)
        if self.scheduler.places_gpus:
            self.allocator.check_request(spec.resources.gpus)  # more GPUs than the host has: a 400
        with refuse_when_full(self.runs_dir, "the new job's run directory could not be written"):
            run = RunDir.create(self.runs_dir, spec)  # removes what it wrote when a write fails
            try:
                self.store.sync_run(run)
            except STORAGE_ERRORS:
                deletion.remove_run_dir(run)  # not indexed, so never queued: leave no orphan
                raise
        job = Job(run)
        self._enqueue(job)
        self._publish_status(job.id)
        self._schedule()
        return self._view(self._record(job.id))

    def cancel(self, job_id: str, status: str = "cancelled") -> dict[str, Any]:
        """Cancel a queued job at once, or SIGTERM a running one's worker (SIGKILL after the grace period).

        ``status`` is what the job ends as: ``cancelled``, or ``pruned`` when a sweep stops a
        losing trial (its events and checkpoints are kept all the same).
        """
        if status not in _CANCEL_STATUSES:
            raise ValueError(
                f"status: a cancel ends a job as one of {', '.join(_CANCEL_STATUSES)}, not {status!r}"
            )
        record = self._record(job_id)
        self._check_manager(f"job {job_id} cannot be cancelled here")
        job = self._jobs.get(job_id)
        if job is None:
            raise JobStateError(f"job {job_id} is already {record['status']}; there is nothing to cancel")
        if job.exited:
            raise JobStateError(
                f"job {job_id} has already ended (its worker exited); its outcome is being recorded"
            )
        job.cancel_requested = True
        job.cancel_status = status
        if job.external:
            job.run.request_stop()
            self.log.info("Lepton Lab: asked the %s process training %s to stop", job.origin, job_id)
        elif job.status == "queued":
            self._queue.remove(job_id)
            job.run.write_status(status=status, error=f"{status} before it started")
            append_status_event(job.run, status, f"{status} before it started")
            self.store.sync_run(job.run)
            self._finish(job)
        elif job.worker is not None and job.kill_at is None:
            job.worker.terminate()
            job.kill_at = time.monotonic() + self.cancel_grace_s
            self.log.info("Lepton Lab: cancelling job %s (SIGTERM to %s)", job_id, job.worker.describe())
        return self._view(self._record(job_id))

    def annotate(self, job_id: str, changes: Any) -> dict[str, Any]:
        """Set any of the job's display ``name``, ``note`` and ``archived`` flag (its ``meta.json``)."""
        record = self._record(job_id)
        run = RunDir(record["run_dir"])
        runmeta.update_meta(run, **runmeta.validate_meta(changes))
        self.store.sync_meta(run)
        self._publish_status(job_id)
        return self._view(self._record(job_id))

    def delete_run(self, job_id: str) -> None:
        """Delete the job's run directory and its index record; a queued or running job is refused."""
        record = self._record(job_id)
        self._check_manager(f"run {job_id} cannot be deleted here")
        job = self._jobs.get(job_id)
        status = job.status if job is not None else record["status"]
        if job is not None or status in ACTIVE_STATUSES:
            raise JobStateError(
                f"job {job_id} is {status}; cancel it first (DELETE jobs/{job_id}), then delete its run"
            )
        try:
            run = deletion.run_directory(self.runs_dir, job_id)
        except FileNotFoundError:
            run = None  # already gone from disk: only the index still lists it
        if run is not None:
            deletion.remove_run_dir(run)
        self._forget(job_id)

    def resume(self, job_id: str) -> dict[str, Any]:
        """Queue an interrupted, failed or cancelled job again; its worker resumes from the checkpoints."""
        record = self._record(job_id)
        self._check_manager(f"job {job_id} cannot be resumed here")
        if job_id in self._jobs or record["status"] not in RESUMABLE_STATUSES:
            status = self._jobs[job_id].status if job_id in self._jobs else record["status"]
            raise JobStateError(
                f"job {job_id} is {status}; only {', '.join(RESUMABLE_STATUSES)} jobs can be resumed"
            )
        run = RunDir(record["run_dir"])
        # A run a kernel trained may name data this server may not read: check as for a new job.
        access.allowed_dataset(run.read_spec(), self.cwd, self.dataset_roots)
        attempts = int(run.read_status().get("attempts") or 1) + 1
        with refuse_when_full(self.runs_dir, f"job {job_id} could not be queued again"):
            run.stop_request_path.unlink(missing_ok=True)
            run.write_status(
                status="queued",
                origin="server",
                attempts=attempts,
                pid=None,
                exit_code=None,
                error=None,
                traceback=None,
                finished=None,
            )
            self.store.sync_run(run)
            self.store.put(
                job_id, pid=None, worker=None, node=None, exit_code=None, error=None, finished=None
            )
        self._enqueue(Job(run))
        self._publish_status(job_id)
        self._schedule()
        return self._view(self._record(job_id))

    # -- scheduling ----------------------------------------------------------------------------

    def _enqueue(self, job: Job) -> None:
        self.scheduler.enqueue(job)

    def _schedule(self) -> None:
        """Start queued jobs while slots and GPUs allow; each runs the executor's lifecycle."""
        if not self._started or self._stopped:
            return
        for job in self.scheduler.due():
            job.task = asyncio.create_task(self._lifecycle(job).process(job, self.context))

    def _lifecycle(self, job: Job) -> JobLifecycle:
        """Return who runs ``job``'s lifecycle: the executor; the plain one for a kernel's or script's run."""
        return _FOLLOWER if job.external or self.executor is None else self.executor

    # -- the end of a job ----------------------------------------------------------------------

    def _finish(self, job: Job) -> None:
        """Forget ``job`` (no longer active): drain its stream, publish its final status, close it."""
        if self._record(job.id)["status"] in ACTIVE_STATUSES:  # recording the outcome itself failed
            self.context.try_write(
                job,
                "that it failed",
                lambda: self.store.put(
                    job.id, status="failed", error="the server could not record how this job ended"
                ),
            )
        self._jobs.pop(job.id, None)
        last = job.stream.poll()
        if last:
            self._observe(job, last)  # listeners see every event before the end
        message = {"type": "status", "job": self._view(self._record(job.id))}
        job.stream.publish(message)
        job.stream.close()
        self.broadcaster.publish(message)
        for listener in list(self.listeners):
            self._tell(listener.job_finished, job.id, message["job"])

    # -- listeners -----------------------------------------------------------------------------

    def _observe(self, job: Job, events: list[dict[str, Any]]) -> None:
        for listener in list(self.listeners):
            self._tell(listener.job_events, job.id, events)

    def _tell(self, method: Callable[[str, Any], None], job_id: str, payload: Any) -> None:
        """Call a listener; its failure is logged and never stops following the job."""
        try:
            method(job_id, payload)
        except Exception:
            self.log.exception("Lepton Lab: a listener of job %s failed", job_id)

    # -- streaming -----------------------------------------------------------------------------

    def _publish_status(self, job_id: str) -> None:
        message = {"type": "status", "job": self._view(self._record(job_id))}
        job = self._jobs.get(job_id)
        if job is not None:
            job.stream.publish(message)
        self.broadcaster.publish(message)

    def subscribe_job(self, job_id: str, subscriber: Subscriber, after: int = 0) -> None:
        """Send ``job_id``'s events from line ``after`` to ``subscriber``, then follow them live."""
        self.subscriptions.subscribe_job(job_id, subscriber, after)

    def subscribe_all(self, subscriber: Subscriber) -> None:
        """Send a snapshot of every job to ``subscriber``, then every status and progress change."""
        self.subscriptions.subscribe_all(subscriber)

    def unsubscribe(self, subscriber: Subscriber, job_id: str | None = None) -> None:
        """Stop sending to ``subscriber``."""
        self.subscriptions.unsubscribe(subscriber, job_id)
