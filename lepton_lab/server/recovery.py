"""Recovery at start-up: take over the jobs a previous server process left active.

Jobs outlive the server. When it starts again, the server holding the runs directory's lock
rebuilds the job index from the run directories, re-attaches the workers still alive (from the
opaque worker ref the index stores), marks the others ``interrupted`` so they can be resumed from
their checkpoints, and queues the queued jobs again in creation order. A server that finds the
lock taken only reads the runs directory and waits to take over when the other one leaves.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lepton_lab.core.job_status import ACTIVE_STATUSES
from lepton_lab.core.rundir import RunDir
from lepton_lab.server.executors import Executor
from lepton_lab.server.job_listing import CachedJobStore
from lepton_lab.server.lifecycle import Job, mark_interrupted
from lepton_lab.server.ownership import RunsDirLock

#: Seconds between tries of a read-only server to take over a runs directory whose manager left.
TAKEOVER_INTERVAL_S = 2.0


def worker_ref(record: dict[str, Any], before: dict[str, Any]) -> dict[str, Any] | None:
    """Return the worker ref of a job that was running, from its record or its previous one.

    Rows written before refs were stored name only a pid: that worker is a local process whose
    start time is unknown.
    """
    ref = record.get("worker") or before.get("worker")
    pid = record.get("pid") or before.get("pid")
    if ref is None and pid:
        ref = {"kind": "local", "pid": pid, "create_time": None}
    return ref


class Recovery:
    """Recover the jobs of one runs directory, now or once its lock is free.

    Parameters
    ----------
    runs_dir
        The runs directory.
    store
        The job index (rebuilt from the run directories).
    lock
        The runs directory's lock: only its holder recovers.
    executor
        Re-attaches workers from their refs.
    jobs
        The manager's active jobs, which re-attached jobs join.
    adopt
        Follows an active run trained by a kernel or a script.
    enqueue
        Queues a job again.
    log
        Logger for recovery messages.
    """

    def __init__(
        self,
        runs_dir: Path,
        store: CachedJobStore,
        lock: RunsDirLock,
        executor: Executor,
        jobs: dict[str, Job],
        *,
        adopt: Callable[[RunDir, dict[str, Any]], None],
        enqueue: Callable[[Job], None],
        log: logging.Logger,
    ) -> None:
        self.runs_dir = runs_dir
        self.store = store
        self.lock = lock
        self.executor = executor
        self.jobs = jobs
        self.adopt = adopt
        self.enqueue = enqueue
        self.log = log
        self.takeover_task: asyncio.Task[None] | None = None

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
                self.adopt(run, record)
                continue
            before = previous.get(record["id"], {})
            was_running = record["status"] == "running" or before.get("status") == "running"
            if not was_running:
                self.enqueue(Job(run))
                continue
            self._reattach(run, record, before)

    def _reattach(self, run: RunDir, record: dict[str, Any], before: dict[str, Any]) -> None:
        """Re-attach the worker of a job that was running, or mark the job ``interrupted``."""
        ref = worker_ref(record, before)
        worker = self.executor.attach(run, ref) if ref else None
        if worker is None:
            pid = record.get("pid") or before.get("pid")
            who = f"its worker (pid {pid})" if pid else "its worker"
            mark_interrupted(run, self.store, who, self.log)
            return
        gpus = before.get("gpus") or record.get("gpus") or []
        job = Job(run, status="running", gpu=before.get("gpu", record.get("gpu")), gpus=gpus, worker=worker)
        self.jobs[job.id] = job
        job.node = worker.node
        self.store.put(job.id, status="running", worker=worker.ref(), pid=worker.pid, node=worker.node)
        self.log.info("Lepton Lab: re-attached job %s (%s)", job.id, worker.describe())

    def start(self, begin: Callable[[], None]) -> None:
        """Call ``begin`` now if this server holds the lock, else once it takes the lock over."""
        if self.takeover_task is not None:
            return
        if not self.lock.acquire():
            self.takeover_task = asyncio.create_task(self._take_over_when_free(begin))
            return
        begin()

    async def _take_over_when_free(self, begin: Callable[[], None]) -> None:
        while not self.lock.acquire():
            await asyncio.sleep(TAKEOVER_INTERVAL_S)
        self.log.info("Lepton Lab: the other server left; managing the jobs of %s now", self.runs_dir)
        for job in list(self.jobs.values()):  # watched read-only until now
            if job.task is not None:
                job.task.cancel()
            job.stream.going_away()
        self.jobs.clear()
        self.recover()
        begin()
