"""Job manager: queue training jobs, run their workers, follow them, survive restarts.

Each job is a run directory (:class:`~lepton_lab.core.rundir.RunDir`) trained by a worker
process that reports only through that directory. The manager

- queues jobs and starts at most ``slots`` at a time, each on the GPU its
  :class:`~lepton_lab.server.devices.GpuAllocator` picks;
- runs every job through one template method: :meth:`JobManager.before_start` →
  :meth:`JobManager.execute` → :meth:`JobManager.on_complete` / :meth:`JobManager.on_failure`;
- tails each running job's events (one :class:`~lepton_lab.server.streams.JobStream` per job)
  and fans them out to WebSocket subscribers;
- lists and follows runs that kernels and scripts (``lepton_lab.train``, the CLI) write into
  the same runs directory, without ever signalling their processes
  (:mod:`~lepton_lab.server.external`);
- keeps a SQLite index (:class:`~lepton_lab.server.job_index.JobStore`) and, on start-up,
  re-attaches workers that outlived the previous server process and marks the others
  ``interrupted`` so they can be resumed from their checkpoints.

Domain errors carry ``http_status``; the handlers map them to responses in one place.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lepton_lab.core import deletion, runmeta
from lepton_lab.core.epochs import last_epochs_done
from lepton_lab.core.event_index import EventIndexes
from lepton_lab.core.events import EventWriter
from lepton_lab.core.job_progress import JobMetrics
from lepton_lab.core.job_status import ACTIVE_STATUSES, RESUMABLE_STATUSES, STATUSES
from lepton_lab.core.rundir import RunDir, now_iso, read_json
from lepton_lab.core.specs import parse_job
from lepton_lab.server import access
from lepton_lab.server import devices as devices_module
from lepton_lab.server.devices import WAIT, GpuAllocator, visible_devices
from lepton_lab.server.executors import Executor, WorkerExit, WorkerHandle
from lepton_lab.server.external import ExternalRun
from lepton_lab.server.job_index import INDEX_FILE, meta_mtime
from lepton_lab.server.job_listing import CachedJobStore, JobListings, Listing
from lepton_lab.server.job_schema import INDEX_ONLY
from lepton_lab.server.ownership import RunsDirLock, RunsDirTaken
from lepton_lab.server.storage import STORAGE_ERRORS, is_disk_full, refuse_when_full
from lepton_lab.server.streams import Broadcaster, JobStream, Subscriber, encode

#: Most events ``GET jobs/{id}/events`` returns at once (the client pages with ``next``).
EVENTS_PAGE_LIMIT = 10_000

#: Seconds between progress messages of one job on the all-jobs stream.
PROGRESS_INTERVAL_S = 0.25

#: Seconds between looks for run directories that kernels and scripts created in the runs directory.
SCAN_INTERVAL_S = 1.0

#: Seconds between full listings of the runs directory when its mtime has not changed.
FULL_SCAN_INTERVAL_S = 15.0

#: Seconds between the first two tries to record a job's outcome that the disk refused; the wait
#: doubles up to :data:`RECORD_RETRY_MAX_S`, so an outcome is recorded at most that long after
#: space returns.
RECORD_RETRY_MIN_S = 0.25
RECORD_RETRY_MAX_S = 2.0

#: Seconds between tries of a read-only server to take over a runs directory whose manager left.
TAKEOVER_INTERVAL_S = 2.0

#: Lines of ``worker.log`` kept as the traceback of a worker that died without writing one.
_LOG_TAIL_LINES = 40


class JobError(Exception):
    """A request about a job that cannot be served as asked."""

    http_status = 400


class JobNotFound(JobError):
    """No job has this id."""

    http_status = 404


class JobStateError(JobError):
    """The job's status does not allow the operation (cancel a finished job, resume a running one)."""

    http_status = 409


@dataclass(eq=False)
class Job:
    """A job the manager is running or will run."""

    run: RunDir
    status: str = "queued"
    origin: str = "server"  # who trains it (rundir.ORIGINS); only "server" jobs use a slot
    gpu: int | None = None
    worker: WorkerHandle | None = None
    cancel_requested: bool = False
    kill_at: float | None = None  # monotonic time of the SIGKILL that follows a cancel's SIGTERM
    task: asyncio.Task[None] | None = None
    stream: JobStream = field(init=False)
    progress: dict[str, Any] = field(default_factory=dict)
    # Epoch, ETA and elapsed time by the rule the panel, notebook and CLI apply (curves unused: tiny).
    tracker: JobMetrics = field(default_factory=lambda: JobMetrics(batch_points=4, epoch_points=4))
    progress_sent: float = 0.0  # monotonic time of its last progress message
    revision: int = 0  # bumped when its progress changes (part of the GET jobs cache key)
    exited: bool = False  # its worker has exited: it holds no slot while its outcome is recorded
    write_failing: bool = False  # the last write about it failed (logged once, not per retry)
    disk_full: bool = False  # a write about it met a full disk: part of the reason it ended

    def __post_init__(self) -> None:
        self.stream = JobStream(self.run.events_path)

    @property
    def id(self) -> str:
        """The run id."""
        return self.run.id

    @property
    def external(self) -> bool:
        """Trained by a kernel or a script, not by a worker of this server."""
        return self.origin != "server"


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def _log_tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str | None:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 16_384))
            text = handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None
    tail = "\n".join(text.splitlines()[-lines:]).strip()
    return tail or None


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
        if slots < 1:
            raise ValueError(f"slots must be at least 1, got {slots}")
        self.runs_dir = Path(runs_dir)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.executor = executor
        self.slots = slots
        self.allocator = allocator or GpuAllocator()
        self.cwd = Path(cwd) if cwd is not None else self.runs_dir
        self.dataset_roots = [Path(root).expanduser().resolve() for root in dataset_roots]
        self.cancel_grace_s = cancel_grace_s
        self.poll_interval_s = poll_interval_s
        self.log = log or logging.getLogger("lepton_lab")
        self.store = CachedJobStore(self.runs_dir / INDEX_FILE, log=self.log)
        self.event_indexes = EventIndexes()  # GET jobs/{id}/events and replays seek with these
        self._listings = JobListings()
        self.lock = RunsDirLock(self.runs_dir, holder or {})
        self._takeover_task: asyncio.Task[None] | None = None
        self.broadcaster = Broadcaster()
        self._jobs: dict[str, Job] = {}  # queued and running jobs
        self._queue: deque[str] = deque()
        self._started = False
        self._stopped = False
        self._scan_task: asyncio.Task[None] | None = None
        self._scan_mtime: int | None = None  # of the runs directory at the last full scan
        self._full_scan_at = 0.0
        self._unsettled: set[str] = set()  # entries that were not complete runs at the last scan

    # -- start-up and shutdown -----------------------------------------------------------------

    def recover(self) -> None:
        """Rebuild the index from the run directories and take over the jobs left active.

        Workers still alive (same pid, start time and command line) are re-attached; jobs whose
        worker is gone become ``interrupted``; queued jobs are queued again in creation order.
        Only the server holding the runs directory's lock does this; a second one only reads.
        """
        if not self.lock.acquire():
            self.log.warning("Lepton Lab: %s", self.lock.refusal("serving read-only"))
            return
        previous = {record["id"]: record for record in self.store.list()}
        self.store.rebuild(self.runs_dir)
        for record in sorted(self.store.list(ACTIVE_STATUSES), key=lambda r: (r["created"] or "", r["id"])):
            run = RunDir(record["run_dir"])
            if record.get("origin", "server") != "server":
                self._adopt(run, record)
                continue
            before = previous.get(record["id"], {})
            was_running = record["status"] == "running" or before.get("status") == "running"
            if not was_running:
                self._enqueue(Job(run))
                continue
            pid = record.get("pid") or before.get("pid")
            worker = self.executor.attach(run, pid, before.get("pid_create_time")) if pid else None
            if worker is None:
                self._mark_interrupted(run, pid)
                continue
            job = Job(run, status="running", gpu=before.get("gpu", record.get("gpu")), worker=worker)
            self._jobs[job.id] = job
            self.store.put(job.id, status="running", pid=worker.pid, pid_create_time=worker.create_time)
            self.log.info("Lepton Lab: re-attached job %s (worker pid %s)", job.id, worker.pid)

    def _mark_interrupted(self, run: RunDir, pid: int | None) -> None:
        who = f"its worker (pid {pid})" if pid else "its worker"
        error = (
            f"the server stopped while this job ran and {who} is gone; "
            f"resume it with POST jobs/{run.id}/resume or lepton_lab.job({run.id!r}).resume()"
        )
        epoch = last_epochs_done(run.events_path)
        run.write_status(status="interrupted", error=error, **({} if epoch is None else {"epoch": epoch}))
        self._append_status_event(run, "interrupted", error)
        self.store.sync_run(run)
        self.log.warning("Lepton Lab: job %s interrupted: %s is gone", run.id, who)

    @property
    def read_only(self) -> bool:
        """Whether another server manages this runs directory's jobs (this one only reads it)."""
        return not self.lock.held

    def _check_manager(self, what: str) -> None:
        if self.read_only:
            raise RunsDirTaken(self.lock.refusal(what))

    def start(self) -> None:
        """Start following re-attached jobs and running queued ones (needs the running event loop).

        A server without the runs directory's lock starts nothing: it waits for the lock and then
        takes over as if it had just started.
        """
        if self._started or self._takeover_task is not None:
            return
        if not self.lock.acquire():
            self._takeover_task = asyncio.create_task(self._take_over_when_free())
            return
        self._begin()

    async def _take_over_when_free(self) -> None:
        while not self.lock.acquire():
            await asyncio.sleep(TAKEOVER_INTERVAL_S)
        self.log.info("Lepton Lab: the other server left; managing the jobs of %s now", self.runs_dir)
        for job in list(self._jobs.values()):  # watched read-only until now
            if job.task is not None:
                job.task.cancel()
            job.stream.going_away()
        self._jobs.clear()
        self.recover()
        self._begin()

    def _begin(self) -> None:
        self._started = True
        for job in list(self._jobs.values()):
            if job.task is None and (job.status == "running" or job.external):
                job.task = asyncio.create_task(self._run(job))
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
        into this runs directory. Returns their ids. Directories marked as the server's own
        (``origin`` ``server``, or no ``origin``: an older version) are only indexed, never run.
        """
        try:
            mtime = self.runs_dir.stat().st_mtime_ns
        except FileNotFoundError:
            return []
        now = time.monotonic()
        # An entry added or removed changes the directory's mtime. Filesystems with coarse
        # timestamps can hide one added in the same tick, so look at everything now and then too.
        if mtime != self._scan_mtime or now - self._full_scan_at >= FULL_SCAN_INTERVAL_S:
            self._scan_mtime, self._full_scan_at = mtime, now
            self._follow_known_runs()
            known = self.store.ids()
            names = sorted(p.name for p in self.runs_dir.iterdir() if p.name not in known)
        else:  # only the directories that were not complete runs last time (cheap when idle)
            names = sorted(self._unsettled)
        found = []
        for name in names:
            if name.startswith(".") or name in self._jobs:
                continue
            run = RunDir(self.runs_dir / name)
            try:
                if not (run.spec_path.is_file() and run.status_path.is_file()):
                    raise FileNotFoundError(run.status_path)  # being created: spec.json comes first
                record = self.store.sync_run(run)
            except (OSError, ValueError):
                self._unsettled.add(name)  # half-written, or not a run: look again next time
                continue
            self._unsettled.discard(name)
            found.append(run.id)
            if record.get("origin", "server") != "server" and record["status"] in ACTIVE_STATUSES:
                self._adopt(run, record)
            else:
                self._publish_status(run.id)
        return found

    def _follow_known_runs(self) -> None:
        """Notice what other processes did to indexed runs: deleted, renamed, annotated or archived them.

        ``lepton_lab.delete_run`` removes the directory; ``Run.rename()`` and co. write ``meta.json``.
        """
        for record in self.store.list():
            run = RunDir(record["run_dir"])
            if record["id"] not in self._jobs and not run.spec_path.is_file():
                self._forget(record["id"])
            elif meta_mtime(run) != record.get("meta_mtime"):
                self.store.sync_meta(run)
                self._publish_status(record["id"])

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
            job.task = asyncio.create_task(self._run(job))
            self._publish_status(job.id)
        self.log.info("Lepton Lab: following run %s, trained by a %s process", job.id, job.origin)

    async def stop(self) -> None:
        """Stop following jobs and close every stream. Workers keep running: jobs outlive the server."""
        self._stopped = True
        for task in (self._scan_task, self._takeover_task):
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
        view = {key: value for key, value in record.items() if key not in INDEX_ONLY}
        job = self._jobs.get(record["id"])
        view["cancel_requested"] = bool(job and job.cancel_requested)
        view["progress"] = dict(job.progress) if job and job.progress else None
        view["origin"] = record.get("origin") or "server"
        if job is not None:
            view["status"] = job.status
            view["gpu"] = job.gpu
            if job.status == "queued":
                view["queue_position"] = self._queue.index(job.id) if job.id in self._queue else None
        return view

    @staticmethod
    def _checked_statuses(statuses: Iterable[str] | None) -> tuple[str, ...] | None:
        if statuses is None:
            return None
        statuses = tuple(statuses)
        unknown = [s for s in statuses if s not in STATUSES]
        if unknown:
            raise JobError(f"status: unknown status {unknown[0]!r}; use one of {', '.join(STATUSES)}")
        return statuses

    def listing(self, statuses: Iterable[str] | None = None) -> Listing:
        """:meth:`list_jobs` as an encoded ``{"jobs": [...]}`` body with its ETag, kept until a job changes.

        The key of the kept answer is the job index's version plus what :meth:`_view` adds from
        memory (each active job's status, GPU, cancel flag and progress, and the queue order),
        so it is rebuilt exactly when the answer would differ.
        """
        wanted = self._checked_statuses(statuses)
        live = tuple(
            (job.id, job.status, job.gpu, job.cancel_requested, job.revision) for job in self._jobs.values()
        )
        key = (self.store.version(), live, tuple(self._queue))
        return self._listings.answer(wanted, key, lambda: self.list_jobs(wanted))

    def list_jobs(self, statuses: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Every job, newest first, optionally only those with one of ``statuses``."""
        statuses = self._checked_statuses(statuses)
        return [self._view(record) for record in self.store.list(statuses)]

    def get(self, job_id: str) -> dict[str, Any]:
        """One job with its spec and, if it failed, its error and traceback."""
        record = self._record(job_id)
        view = self._view(record)
        run = RunDir(record["run_dir"])
        status = run.read_status()
        view["traceback"] = status.get("traceback")
        try:
            view["spec"] = run.read_spec().model_dump(mode="json")
        except (OSError, ValueError):
            view["spec"] = None
        return view

    def summary(self) -> dict[str, Any]:
        """Count slots, running and queued jobs (for ``GET status``)."""
        running = sum(1 for job in self._jobs.values() if self._holds_slot(job))
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
        """Check the arguments and the job now; return the read of its events file."""
        if after < 0:
            raise JobError(f"after: must be a line offset >= 0, got {after}")
        if limit is not None and limit < 1:
            raise JobError(f"limit: must be >= 1, got {limit}")
        path = RunDir(self._record(job_id)["run_dir"]).events_path
        index = self.event_indexes.get(path)
        page = min(limit or EVENTS_PAGE_LIMIT, EVENTS_PAGE_LIMIT)
        return lambda: index.read(after, page)

    def evaluation(self, job_id: str) -> dict[str, Any]:
        """Return the job's ``evaluation.json``."""
        record = self._record(job_id)
        path = RunDir(record["run_dir"]).evaluation_path
        try:
            evaluation: dict[str, Any] = read_json(path)
        except FileNotFoundError:
            raise access.ArtifactNotFound(
                f"job {job_id} has no evaluation (status {self._view(record)['status']}); "
                "it is written when training completes"
            ) from None
        return evaluation

    def artifact_path(self, job_id: str, name: str) -> Path:
        """Return the file ``name`` of the job's run directory (see :func:`~.access.artifact_path`)."""
        return access.artifact_path(Path(self._record(job_id)["run_dir"]), name, job_id)

    def artifacts(self, job_id: str) -> list[dict[str, Any]]:
        """List the files of the job's run directory (relative names and sizes)."""
        return access.artifacts(Path(self._record(job_id)["run_dir"]))

    def devices(self) -> dict[str, Any]:
        """List the CPU and GPUs with the running jobs placed on each."""
        holders: dict[int | None, list[str]] = {}
        for job in self._jobs.values():
            if self._holds_slot(job):  # where a kernel trains is not known here
                holders.setdefault(job.gpu, []).append(job.id)
        return {
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

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Cancel a queued job at once, or SIGTERM a running one's worker (SIGKILL after the grace period)."""
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
        if job.external:
            job.run.request_stop()
            self.log.info("Lepton Lab: asked the %s process training %s to stop", job.origin, job_id)
        elif job.status == "queued":
            self._queue.remove(job_id)
            job.run.write_status(status="cancelled", error="cancelled before it started")
            self._append_status_event(job.run, "cancelled", "cancelled before it started")
            self.store.sync_run(job.run)
            self._finish(job)
        elif job.worker is not None and job.kill_at is None:
            job.worker.terminate()
            job.kill_at = time.monotonic() + self.cancel_grace_s
            self.log.info("Lepton Lab: cancelling job %s (SIGTERM to worker %s)", job_id, job.worker.pid)
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
            self.store.put(job_id, pid=None, pid_create_time=None, exit_code=None, error=None, finished=None)
        self._enqueue(Job(run))
        self._publish_status(job_id)
        self._schedule()
        return self._view(self._record(job_id))

    # -- scheduling ----------------------------------------------------------------------------

    @staticmethod
    def _holds_slot(job: Job) -> bool:
        return job.status == "running" and not job.external and not job.exited

    def _enqueue(self, job: Job) -> None:
        self._jobs[job.id] = job
        self._queue.append(job.id)

    def _schedule(self) -> None:
        """Start queued jobs while slots and GPUs allow."""
        if not self._started or self._stopped:
            return
        while self._queue:
            running = [job for job in self._jobs.values() if self._holds_slot(job)]
            if len(running) >= self.slots:
                return
            held = Counter(job.gpu for job in running if job.gpu is not None)
            choice = self.allocator.choose(held)
            if choice == WAIT:
                return
            job = self._jobs[self._queue.popleft()]
            job.status = "running"  # holds the slot from now on
            job.gpu = choice if isinstance(choice, int) else None
            job.task = asyncio.create_task(self._run(job))

    # -- the lifecycle (template method) --------------------------------------------------------

    async def _run(self, job: Job) -> None:
        """``before_start → execute → on_complete / on_failure``, for a new or re-attached job."""
        error: BaseException | None = None
        outcome = WorkerExit(None)
        try:
            if job.worker is None:
                self.before_start(job)
            outcome = await self.execute(job)
        except asyncio.CancelledError:
            raise  # the server is stopping; the worker carries on and a later server re-attaches
        except Exception as failure:
            error = failure
            job.disk_full = job.disk_full or is_disk_full(failure)
            self.log.exception("Lepton Lab: job %s could not run", job.id)
        job.exited = True  # its slot is free now, even if the disk makes its outcome wait
        self._schedule()
        await self._conclude(job, outcome, error)
        self._schedule()

    async def _conclude(self, job: Job, outcome: WorkerExit, error: BaseException | None) -> None:
        """Record how ``job`` ended, retrying for as long as the disk refuses the writes."""
        wait = RECORD_RETRY_MIN_S
        while True:
            try:
                if error is None and self._completed(job, outcome):
                    self.on_complete(job, outcome)
                else:
                    self.on_failure(job, outcome, error)
            except STORAGE_ERRORS as failure:
                self._write_failed(job, "how it ended", failure)
                await asyncio.sleep(wait)  # a stopping server cancels this; a restart recovers the job
                wait = min(wait * 2, RECORD_RETRY_MAX_S)
                continue
            except Exception:
                self.log.exception("Lepton Lab: could not record how job %s ended", job.id)
            break
        if job.write_failing:
            self.log.info("Lepton Lab: job %s: outcome recorded now that the disk takes writes", job.id)
        self._finish(job)

    def _write_failed(self, job: Job, what: str, error: BaseException) -> None:
        """Log (once per run of failures) that a write about ``job`` failed; following it goes on."""
        job.disk_full = job.disk_full or is_disk_full(error)
        if not job.write_failing:
            self.log.warning(
                "Lepton Lab: job %s: could not record %s (%s: %s); still following it, retrying",
                job.id,
                what,
                type(error).__name__,
                error,
            )
        job.write_failing = True

    def _try_write(self, job: Job, what: str, write: Callable[[], object]) -> None:
        """Do a write that following ``job`` can do without for now (a later one catches up)."""
        try:
            write()
        except STORAGE_ERRORS as error:
            self._write_failed(job, what, error)

    @staticmethod
    def _completed(job: Job, outcome: WorkerExit) -> bool:
        if outcome.code is None:  # not our child (re-attached): only the worker's own record tells
            return bool(job.run.read_status().get("status") == "completed")
        # A run that finished just as a cancel arrived completed all the same.
        return outcome.code == 0

    def before_start(self, job: Job) -> None:
        """Record that ``job`` is starting, on which GPU."""
        self.store.put(job.id, status="running", gpu=job.gpu, started=now_iso(), finished=None)
        self._publish_status(job.id)

    def worker_env(self, job: Job) -> dict[str, str]:
        """Environment variables that place the worker on its GPU."""
        return {
            "CUDA_VISIBLE_DEVICES": visible_devices(job.gpu),
            "CUDA_DEVICE_ORDER": "PCI_BUS_ID",  # so CUDA numbers GPUs as NVML does
            "TF_FORCE_GPU_ALLOW_GROWTH": "true",
        }

    async def execute(self, job: Job) -> WorkerExit:
        """Start the worker (unless re-attached) and follow it until it exits."""
        if job.worker is None:
            if job.cancel_requested:
                return WorkerExit(None)
            job.worker = worker = self.executor.start(job.run, self.worker_env(job), self.cwd)
            self._try_write(
                job,
                "its worker's pid",
                lambda: self.store.put(job.id, pid=worker.pid, pid_create_time=worker.create_time),
            )
        worker = job.worker
        while True:
            self._pump(job)
            outcome = worker.poll()
            if outcome is not None:
                self._pump(job)  # the last events it wrote before exiting
                return outcome
            if isinstance(worker, ExternalRun):
                self._follow_status(job, worker)
            if job.kill_at is not None and time.monotonic() >= job.kill_at:
                self.log.warning("Lepton Lab: job %s ignored SIGTERM; sending SIGKILL", job.id)
                worker.kill()
                job.kill_at = None
            await asyncio.sleep(self.poll_interval_s)

    def _follow_status(self, job: Job, worker: ExternalRun) -> None:
        """Take over the status an external run's own process records while it is active.

        The server sets its own workers' status itself; a kernel's run moves from ``queued``
        to ``running`` in ``status.json`` only, and without this the list would show the status
        it had when the scan found it for the whole training.
        """
        if worker.status in ACTIVE_STATUSES and worker.status != job.status:
            job.status = worker.status
            self._try_write(job, "its status", lambda: self.store.sync_run(job.run))
            self._publish_status(job.id)

    def on_complete(self, job: Job, outcome: WorkerExit) -> None:
        """Record ``completed``: the worker exited with code 0."""
        self._record_outcome(job, "completed", outcome, None)

    def on_failure(self, job: Job, outcome: WorkerExit, error: BaseException | None = None) -> None:
        """Record why the worker failed, was cancelled or could not start."""
        recorded = job.run.read_status().get("status")
        if job.cancel_requested and not (job.external and recorded in ACTIVE_STATUSES):
            status = "cancelled"
        elif job.external and recorded in ACTIVE_STATUSES:
            status = "interrupted"  # its process went away mid-run; resuming continues it here
        elif error is None and recorded in ("failed", "cancelled"):
            status = recorded  # the worker recorded its own end (a SIGTERM from elsewhere, an error)
        else:
            status = "failed"
        self._record_outcome(job, status, outcome, error)

    def _record_outcome(
        self, job: Job, status: str, outcome: WorkerExit, error: BaseException | None
    ) -> None:
        recorded = job.run.read_status()
        if job.external and recorded.get("status") == status:
            self.store.sync_run(job.run)  # its own process recorded the end; its files are not ours
            self.log.info("Lepton Lab: run %s (%s) %s", job.id, job.origin, status)
            return
        fields: dict[str, Any] = {"status": status, "gpu": job.gpu}
        if outcome.code is not None:
            fields["exit_code"] = outcome.code
        if status != "completed" and recorded.get("status") != status:
            # The worker died before recording its end: its events know how far it got.
            epoch = last_epochs_done(job.run.events_path)
            if epoch is not None:
                fields["epoch"] = epoch
        if status in ("failed", "cancelled", "interrupted") and not (
            recorded.get("status") == status and recorded.get("error")
        ):
            message = self._failure_message(job, outcome, error, status)
            if message:
                fields["error"] = message
            if status == "failed" and not recorded.get("traceback"):
                fields["traceback"] = _log_tail(job.run.worker_log_path)
        if recorded.get("status") == status and recorded.get("finished"):
            fields["finished"] = recorded["finished"]  # keep the worker's own end time
        job.run.write_status(**fields)
        if recorded.get("status") != status:
            self._append_status_event(job.run, status, fields.get("error"))
        self.store.sync_run(job.run)
        self.log.info("Lepton Lab: job %s %s (exit code %s)", job.id, status, outcome.code)

    def _failure_message(
        self, job: Job, outcome: WorkerExit, error: BaseException | None, status: str
    ) -> str | None:
        message = self._plain_failure_message(job, outcome, error, status)
        if job.disk_full and status == "failed":
            disk = "the runs directory's disk was full (no space left on device) while it ran"
            return f"{message}; {disk}" if message else disk
        return message

    def _plain_failure_message(
        self, job: Job, outcome: WorkerExit, error: BaseException | None, status: str
    ) -> str | None:
        pid = job.worker.pid if job.worker else None
        if job.external and status == "interrupted":
            return (
                f"the {job.origin} process (pid {pid}) training this run went away before it finished; "
                f"resume it on the server: POST jobs/{job.id}/resume or lepton_lab.job({job.id!r}).resume()"
            )
        if error is not None:
            return f"the worker could not be started: {type(error).__name__}: {error}"
        if status == "cancelled":
            if outcome.code == -signal.SIGKILL:
                grace = f"{self.cancel_grace_s:g} s"
                return f"cancelled; the worker did not stop within {grace} of SIGTERM and was killed"
            return None
        code = outcome.code
        if code is None:
            return (
                f"worker process {pid} ended without recording a result; it was started by an earlier "
                "server, so its exit code is unknown (see worker.log)"
            )
        if code < 0:
            hint = " (the system may have run out of memory)" if -code == signal.SIGKILL else ""
            return f"worker process {pid} was killed by {_signal_name(code)}{hint}"
        return f"worker process {pid} exited with code {code}"

    def _append_status_event(self, run: RunDir, status: str, error: str | None) -> None:
        # Only called when no worker writes this file, so appending is safe; EventWriter also ends
        # a line torn by a killed worker before adding ours.
        status_doc = run.read_status()
        writer = EventWriter(run.events_path)
        try:
            writer.emit("status", status=status, epoch=status_doc.get("epoch"), error=error)
        finally:
            writer.close()

    def _finish(self, job: Job) -> None:
        """Forget ``job`` (no longer active): drain its stream, publish its final status, close it."""
        if self._record(job.id)["status"] in ACTIVE_STATUSES:  # recording the outcome itself failed
            self._try_write(
                job,
                "that it failed",
                lambda: self.store.put(
                    job.id, status="failed", error="the server could not record how this job ended"
                ),
            )
        self._jobs.pop(job.id, None)
        job.stream.poll()
        message = {"type": "status", "job": self._view(self._record(job.id))}
        job.stream.publish(message)
        job.stream.close()
        self.broadcaster.publish(message)

    # -- streaming -----------------------------------------------------------------------------

    def _pump(self, job: Job) -> None:
        """Read the job's new events, fan them out and update its progress."""
        events = job.stream.poll()
        if not events:
            return
        epoch_done = False
        for event in events:
            kind = event.get("type")
            if kind in ("batch", "epoch"):
                job.progress.update(
                    {
                        key: event[key]
                        for key in ("step", "epoch", "total_steps", "epochs", "t")
                        if key in event
                    }
                )
                job.progress["metrics" if kind == "batch" else "epoch_metrics"] = event.get("metrics") or {}
            if kind == "epoch":
                epoch_done = True
                job.progress["epochs_done"] = event.get("epoch")
            elif kind == "status" and event.get("epochs") is not None:
                job.progress.setdefault("epochs", event["epochs"])
        tracker = job.tracker
        tracker.apply(events)
        job.progress.update(
            epoch=tracker.current_epoch(), epochs_done=tracker.epochs_done,
            eta_s=tracker.eta_seconds(), elapsed_s=tracker.elapsed_seconds(),
        )  # fmt: skip
        job.revision += 1
        if epoch_done:
            epoch = job.progress.get("epochs_done")
            self._try_write(job, f"epoch {epoch}", lambda: self.store.put(job.id, epoch=epoch))
        now = time.monotonic()
        if epoch_done or now - job.progress_sent >= PROGRESS_INTERVAL_S:
            job.progress_sent = now
            self.broadcaster.publish({"type": "progress", "id": job.id, **job.progress})

    def _publish_status(self, job_id: str) -> None:
        message = {"type": "status", "job": self._view(self._record(job_id))}
        job = self._jobs.get(job_id)
        if job is not None:
            job.stream.publish(message)
        self.broadcaster.publish(message)

    def subscribe_job(self, job_id: str, subscriber: Subscriber, after: int = 0) -> None:
        """Send ``job_id``'s events from line ``after`` to ``subscriber``, then follow them live."""
        if after < 0:
            raise JobError(f"after: must be a line offset >= 0, got {after}")
        record = self._record(job_id)
        job = self._jobs.get(job_id)
        status = {"type": "status", "job": self._view(record)}
        if job is not None:
            subscriber.prepend([encode(status)])
            job.stream.subscribe(subscriber, after)
            return
        if self.read_only and record["status"] in ACTIVE_STATUSES and not self._stopped:
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
        self._jobs[job.id] = job
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
        self._jobs.pop(job.id, None)
        job.stream.poll()
        if record is not None:
            job.stream.publish({"type": "status", "job": self._view(record)})
        job.stream.close()

    def subscribe_all(self, subscriber: Subscriber) -> None:
        """Send a snapshot of every job to ``subscriber``, then every status and progress change."""
        self.broadcaster.subscribe(subscriber, {"type": "snapshot", "jobs": self.list_jobs()})

    def unsubscribe(self, subscriber: Subscriber, job_id: str | None = None) -> None:
        """Stop sending to ``subscriber``."""
        self.broadcaster.unsubscribe(subscriber)
        if job_id is not None and job_id in self._jobs:
            self._jobs[job_id].stream.unsubscribe(subscriber)
