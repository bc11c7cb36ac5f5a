"""The job lifecycle: ``before_start → execute → on_complete / on_failure``, owned by the executor.

As in jupyter-scheduler's ``ExecutionManager.process``, the template method and its hooks live on
the swappable class (:class:`JobLifecycle`, a base of every
:class:`~lepton_lab.server.executors.Executor`), so a cluster executor, a test double or a user's
executor overrides a hook without touching the job manager. What a hook does on the manager's
side (index writes, status messages, reading the job's new events) goes through the
:class:`JobContext` the manager passes in.

This module also holds how an outcome becomes a job status and the message a failed, cancelled or
interrupted job shows (:func:`failure_message`).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lepton_lab.core.epochs import last_epochs_done
from lepton_lab.core.events import EventWriter
from lepton_lab.core.job_progress import JobMetrics
from lepton_lab.core.job_status import ACTIVE_STATUSES
from lepton_lab.core.rundir import RunDir, now_iso
from lepton_lab.server.storage import STORAGE_ERRORS, is_disk_full
from lepton_lab.server.streams import Broadcaster, JobStream
from lepton_lab.server.workers import WorkerExit, WorkerHandle

#: Seconds between progress messages of one job on the all-jobs stream.
PROGRESS_INTERVAL_S = 0.25

#: Seconds between the first two tries to record a job's outcome that the disk refused; the wait
#: doubles up to :data:`RECORD_RETRY_MAX_S`, so an outcome is recorded at most that long after
#: space returns.
RECORD_RETRY_MIN_S = 0.25
RECORD_RETRY_MAX_S = 2.0

#: Lines of ``worker.log`` kept as the traceback of a worker that died without writing one.
_LOG_TAIL_LINES = 40


@dataclass(eq=False)
class Job:
    """A job the manager is running or will run."""

    run: RunDir
    status: str = "queued"
    origin: str = "server"  # who trains it (rundir.ORIGINS); only "server" jobs use a slot
    gpu: int | None = None  # the first of ``gpus`` (what the index and the views show)
    gpus: list[int] = field(default_factory=list)  # every GPU the server's allocator gave it
    requested_gpus: int | None = None  # spec.resources.gpus: None default placement, N GPUs
    start_error: Exception | None = None  # why it cannot start (e.g. its GPUs went away)
    worker: WorkerHandle | None = None
    cancel_requested: bool = False
    cancel_status: str = "cancelled"  # what a cancel ends it as: "pruned" when a sweep stops a trial
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
    node: str | None = None  # the cluster node its worker runs on, as last recorded

    def __post_init__(self) -> None:
        self.stream = JobStream(self.run.events_path)
        if self.requested_gpus is None:
            self.requested_gpus = _requested_gpus(self.run)

    @property
    def id(self) -> str:
        """The run id."""
        return self.run.id

    @property
    def external(self) -> bool:
        """Trained by a kernel or a script, not by a worker of this server."""
        return self.origin != "server"


@dataclass
class JobContext:
    """The manager's side of a job's lifecycle, as the executor's hooks reach it.

    Parameters
    ----------
    store
        The job index (``put``, ``sync_run``).
    broadcaster
        The all-jobs stream (progress messages).
    publish_status
        Send a job's current record to its subscribers and the all-jobs stream.
    released
        Called once the worker has exited: the job's slot is free (the manager schedules more).
    finish
        Called last: the manager forgets the job and closes its stream.
    cwd
        Working directory of workers.
    cancel_grace_s
        Seconds between a cancel's SIGTERM and its SIGKILL (named in the message of a killed job).
    poll_interval_s
        Seconds between looks at a running worker and its new events.
    log
        Logger for lifecycle messages.
    """

    store: Any
    broadcaster: Broadcaster
    publish_status: Callable[[str], None]
    released: Callable[[Job], None]
    finish: Callable[[Job], None]
    cwd: Path
    cancel_grace_s: float = 10.0
    poll_interval_s: float = 0.05
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("lepton_lab"))
    #: Called with each batch of new events a job's worker wrote (the sweeps' trial reports).
    observe: Callable[[Job, list[dict[str, Any]]], None] | None = None

    def write_failed(self, job: Job, what: str, error: BaseException) -> None:
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

    def try_write(self, job: Job, what: str, write: Callable[[], object]) -> None:
        """Do a write that following ``job`` can do without for now (a later one catches up)."""
        try:
            write()
        except STORAGE_ERRORS as error:
            self.write_failed(job, what, error)

    def record_worker(self, job: Job, worker: WorkerHandle) -> None:
        """Store the worker's identity (and node) in the index, so a restarted server can re-attach it."""
        job.node = worker.node
        self.try_write(
            job,
            "its worker's identity",
            lambda: self.store.put(job.id, worker=worker.ref(), pid=worker.pid, node=worker.node),
        )

    def pump(self, job: Job) -> None:
        """Read the job's new events, fan them out and update its progress."""
        events = job.stream.poll()
        if not events:
            return
        if self.observe is not None:
            self.observe(job, events)
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
            self.try_write(job, f"epoch {epoch}", lambda: self.store.put(job.id, epoch=epoch))
        now = time.monotonic()
        if epoch_done or now - job.progress_sent >= PROGRESS_INTERVAL_S:
            job.progress_sent = now
            self.broadcaster.publish({"type": "progress", "id": job.id, **job.progress})

    def follow_status(self, job: Job, status: str | None) -> None:
        """Take over the status an external run's own process records while it is active.

        The server sets its own workers' status itself; a kernel's run moves from ``queued``
        to ``running`` in ``status.json`` only, and without this the list would show the status
        it had when the scan found it for the whole training.
        """
        if status in ACTIVE_STATUSES and status != job.status:
            job.status = status
            self.try_write(job, "its status", lambda: self.store.sync_run(job.run))
            self.publish_status(job.id)


def append_status_event(run: RunDir, status: str, error: str | None) -> None:
    """Append a ``status`` event for an end the worker did not record itself.

    Only called when no worker writes the file, so appending is safe; EventWriter also ends
    a line torn by a killed worker before adding ours.
    """
    status_doc = run.read_status()
    writer = EventWriter(run.events_path)
    try:
        writer.emit("status", status=status, epoch=status_doc.get("epoch"), error=error)
    finally:
        writer.close()


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def log_tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str | None:
    """Return the last ``lines`` lines of ``path`` (None when it is missing or empty)."""
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


def completed(job: Job, outcome: WorkerExit) -> bool:
    """Whether ``outcome`` means the job completed."""
    if outcome.interrupted:
        return False
    if outcome.code is None:  # not our child (re-attached): only the worker's own record tells
        return bool(job.run.read_status().get("status") == "completed")
    # A run that finished just as a cancel arrived completed all the same.
    return outcome.code == 0


def failure_status(job: Job, outcome: WorkerExit, error: BaseException | None) -> str:
    """Return the status of a job that did not complete: cancelled (or pruned), interrupted, or failed."""
    recorded = job.run.read_status().get("status")
    if job.cancel_requested and not (job.external and recorded in ACTIVE_STATUSES):
        return job.cancel_status
    if job.external and recorded in ACTIVE_STATUSES:
        return "interrupted"  # its process went away mid-run; resuming continues it here
    if error is None and recorded in ("failed", "cancelled"):
        return str(recorded)  # the worker recorded its own end (a SIGTERM from elsewhere, an error)
    if outcome.interrupted and error is None:
        return "interrupted"  # its host or node was lost: Resume continues it elsewhere
    return "failed"


def failure_message(
    job: Job, outcome: WorkerExit, error: BaseException | None, status: str, cancel_grace_s: float
) -> str | None:
    """Return what a failed, cancelled or interrupted job's ``error`` says."""
    message = _plain_failure_message(job, outcome, error, status, cancel_grace_s)
    if job.disk_full and status == "failed":
        disk = "the runs directory's disk was full (no space left on device) while it ran"
        return f"{message}; {disk}" if message else disk
    return message


def _plain_failure_message(
    job: Job, outcome: WorkerExit, error: BaseException | None, status: str, cancel_grace_s: float
) -> str | None:
    who = job.worker.describe() if job.worker else "the worker"
    if job.external and status == "interrupted":
        pid = job.worker.pid if job.worker else None
        return (
            f"the {job.origin} process (pid {pid}) training this run went away before it finished; "
            f"resume it on the server: POST jobs/{job.id}/resume or lepton_lab.job({job.id!r}).resume()"
        )
    if error is not None:
        return f"the worker could not be started: {type(error).__name__}: {error}"
    if status == "cancelled":
        if outcome.code == -signal.SIGKILL:
            return f"cancelled; the worker did not stop within {cancel_grace_s:g} s of SIGTERM and was killed"
        return None
    if status == "interrupted":
        return (
            f"{who} was lost before the job finished (its node went away); resume it with "
            f"POST jobs/{job.id}/resume or lepton_lab.job({job.id!r}).resume()"
        )
    code = outcome.code
    if code is None:
        return (
            f"{who} ended without recording a result; it was started by an earlier "
            "server, so its exit code is unknown (see worker.log)"
        )
    if code < 0:
        hint = " (the system may have run out of memory)" if -code == signal.SIGKILL else ""
        return f"{who} was killed by {_signal_name(code)}{hint}"
    return f"{who} exited with code {code}"


def mark_interrupted(run: RunDir, store: Any, who: str, log: logging.Logger) -> None:
    """Record that ``run``'s worker (``who``) is gone after a server restart: resumable."""
    error = (
        f"the server stopped while this job ran and {who} is gone; "
        f"resume it with POST jobs/{run.id}/resume or lepton_lab.job({run.id!r}).resume()"
    )
    epoch = last_epochs_done(run.events_path)
    run.write_status(status="interrupted", error=error, **({} if epoch is None else {"epoch": epoch}))
    append_status_event(run, "interrupted", error)
    store.sync_run(run)
    log.warning("Lepton Lab: job %s interrupted: %s is gone", run.id, who)


class JobLifecycle:
    """The template method and its hooks; :class:`~lepton_lab.server.executors.Executor` inherits them.

    Subclasses implement ``start`` (and ``attach``) and may override any hook:
    :meth:`before_start`, :meth:`execute`, :meth:`on_complete`, :meth:`on_failure`.
    """

    def start(self, run: RunDir, env: dict[str, str], cwd: Any, resources: dict[str, Any]) -> WorkerHandle:
        """Start the worker of ``run`` (the executor implements it)."""
        raise NotImplementedError(f"{type(self).__name__} must implement start()")

    def worker_env(self, job: Job) -> dict[str, str]:
        """Extra environment variables of the job's worker (none by default)."""
        return {}

    def resources(self, job: Job) -> dict[str, Any]:
        """Return what the job's worker asks for: ``cpus`` and ``gpus``.

        With the server's allocator, the GPU it chose (if any); when the executor places GPUs
        (a cluster), what the spec's ``resources.gpus`` asks (none by default).
        """
        if getattr(self, "server_places_gpus", True):
            return {"cpus": 1, "gpus": len(job.gpus) if job.gpus else (0 if job.gpu is None else 1)}
        try:
            asked = (job.run.read_spec_document().get("resources") or {}).get("gpus")
        except (OSError, ValueError):
            asked = None
        return {"cpus": 1, "gpus": int(asked or 0)}

    async def process(self, job: Job, ctx: JobContext) -> None:
        """``before_start → execute → on_complete / on_failure``, for a new or re-attached job."""
        error: BaseException | None = None
        outcome = WorkerExit(None)
        try:
            if job.worker is None:
                self.before_start(job, ctx)
            outcome = await self.execute(job, ctx)
        except asyncio.CancelledError:
            raise  # the server is stopping; the worker carries on and a later server re-attaches
        except Exception as failure:
            error = failure
            job.disk_full = job.disk_full or is_disk_full(failure)
            ctx.log.exception("Lepton Lab: job %s could not run", job.id)
        job.exited = True  # its slot is free now, even if the disk makes its outcome wait
        ctx.released(job)
        await self._conclude(job, ctx, outcome, error)
        ctx.released(job)

    async def _conclude(
        self, job: Job, ctx: JobContext, outcome: WorkerExit, error: BaseException | None
    ) -> None:
        """Record how ``job`` ended, retrying for as long as the disk refuses the writes."""
        wait = RECORD_RETRY_MIN_S
        while True:
            try:
                if error is None and completed(job, outcome):
                    self.on_complete(job, ctx, outcome)
                else:
                    self.on_failure(job, ctx, outcome, error)
            except STORAGE_ERRORS as failure:
                ctx.write_failed(job, "how it ended", failure)
                await asyncio.sleep(wait)  # a stopping server cancels this; a restart recovers the job
                wait = min(wait * 2, RECORD_RETRY_MAX_S)
                continue
            except Exception:
                ctx.log.exception("Lepton Lab: could not record how job %s ended", job.id)
            break
        if job.write_failing:
            ctx.log.info("Lepton Lab: job %s: outcome recorded now that the disk takes writes", job.id)
        ctx.finish(job)

    def before_start(self, job: Job, ctx: JobContext) -> None:
        """Record that ``job`` is starting, on which GPU."""
        ctx.store.put(job.id, status="running", gpu=job.gpu, gpus=job.gpus, started=now_iso(), finished=None)
        ctx.publish_status(job.id)

    async def execute(self, job: Job, ctx: JobContext) -> WorkerExit:
        """Start the worker (unless re-attached) and follow it until it exits."""
        if job.worker is None:
            if job.cancel_requested:
                return WorkerExit(None)
            if job.start_error is not None:
                raise job.start_error  # recorded as failed, with the reason
            job.worker = self.start(job.run, self.worker_env(job), ctx.cwd, self.resources(job))
            ctx.record_worker(job, job.worker)
        worker = job.worker
        while True:
            ctx.pump(job)
            outcome = worker.poll()
            if outcome is not None:
                ctx.pump(job)  # the last events it wrote before exiting
                return outcome
            if job.external:
                ctx.follow_status(job, getattr(worker, "status", None))
            elif worker.node != job.node:  # a cluster placed it (or re-attached it) since
                ctx.record_worker(job, worker)
                ctx.publish_status(job.id)
            if job.kill_at is not None and time.monotonic() >= job.kill_at:
                ctx.log.warning("Lepton Lab: job %s ignored SIGTERM; sending SIGKILL", job.id)
                worker.kill()
                job.kill_at = None
            await asyncio.sleep(ctx.poll_interval_s)

    def on_complete(self, job: Job, ctx: JobContext, outcome: WorkerExit) -> None:
        """Record ``completed``: the worker exited with code 0."""
        self.record_outcome(job, ctx, "completed", outcome, None)

    def on_failure(
        self, job: Job, ctx: JobContext, outcome: WorkerExit, error: BaseException | None = None
    ) -> None:
        """Record why the worker failed, was cancelled, was interrupted or could not start."""
        self.record_outcome(job, ctx, failure_status(job, outcome, error), outcome, error)

    def record_outcome(
        self, job: Job, ctx: JobContext, status: str, outcome: WorkerExit, error: BaseException | None
    ) -> None:
        """Write ``status`` (and why) into the run's ``status.json``, its events and the index."""
        recorded = job.run.read_status()
        if job.external and recorded.get("status") == status:
            ctx.store.sync_run(job.run)  # its own process recorded the end; its files are not ours
            ctx.log.info("Lepton Lab: run %s (%s) %s", job.id, job.origin, status)
            return
        fields: dict[str, Any] = {"status": status, "gpu": job.gpu}
        ctx.store.put(job.id, gpus=job.gpus)  # status.json keeps the first; the index keeps all
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
            message = failure_message(job, outcome, error, status, ctx.cancel_grace_s)
            if message:
                fields["error"] = message
            if status == "failed" and not recorded.get("traceback"):
                fields["traceback"] = log_tail(job.run.worker_log_path)
        if recorded.get("status") == status and recorded.get("finished"):
            fields["finished"] = recorded["finished"]  # keep the worker's own end time
        job.run.write_status(**fields)
        if recorded.get("status") != status:
            append_status_event(job.run, status, fields.get("error"))
        ctx.store.sync_run(job.run)
        ctx.log.info("Lepton Lab: job %s %s (exit code %s)", job.id, status, outcome.code)


def _requested_gpus(run: RunDir) -> int | None:
    """``resources.gpus`` of the run's spec: None (default placement) when absent or unreadable."""
    try:
        asked = (run.read_spec_document().get("resources") or {}).get("gpus")
    except (OSError, ValueError, AttributeError):
        return None
    return asked if isinstance(asked, int) and not isinstance(asked, bool) else None
