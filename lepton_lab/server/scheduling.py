"""Scheduling: the queue of jobs, the slots they run in, and the GPU each one gets."""

from __future__ import annotations

from collections import Counter, deque

from lepton_lab.server.devices import WAIT, GpuAllocator, GpuRequestError
from lepton_lab.server.lifecycle import Job


class Scheduler:
    """Decide which queued jobs start now, and on which GPU.

    Parameters
    ----------
    jobs
        The manager's active jobs by id (shared, not copied).
    slots
        Jobs of this server that may run at once.
    allocator
        GPU assignment policy on this host.
    places_gpus
        Whether ``allocator`` picks GPUs; False when the executor places them (a cluster).
    """

    def __init__(
        self, jobs: dict[str, Job], slots: int, allocator: GpuAllocator, places_gpus: bool = True
    ) -> None:
        if slots < 1:
            raise ValueError(f"slots must be at least 1, got {slots}")
        self.jobs = jobs
        self.slots = slots
        self.allocator = allocator
        self.places_gpus = places_gpus
        self.queue: deque[str] = deque()

    @staticmethod
    def holds_slot(job: Job) -> bool:
        """Whether ``job`` uses a slot: one of this server's, running, its worker not exited."""
        return job.status == "running" and not job.external and not job.exited

    def running(self) -> list[Job]:
        """Return the jobs holding a slot."""
        return [job for job in self.jobs.values() if self.holds_slot(job)]

    def enqueue(self, job: Job) -> None:
        """Add ``job`` to the active jobs and the end of the queue."""
        self.jobs[job.id] = job
        self.queue.append(job.id)

    def position(self, job_id: str) -> int | None:
        """Place of ``job_id`` in the queue (0: next), None when not queued."""
        return self.queue.index(job_id) if job_id in self.queue else None

    def due(self) -> list[Job]:
        """Take the queued jobs that may start now, marked ``running`` with their GPUs.

        First in, first out: a job asking for several GPUs waits at the head of the queue until
        they are free together, so later one-GPU jobs cannot starve it. A job whose GPUs went
        away since it was submitted starts with ``start_error`` set (its lifecycle records it
        as failed) instead of blocking the queue.
        """
        started: list[Job] = []
        while self.queue:
            running = self.running()
            if len(running) >= self.slots:
                break
            gpus: list[int] = []
            error: GpuRequestError | None = None
            if self.places_gpus:
                head = self.jobs[self.queue[0]]
                held = Counter(index for job in running for index in (job.gpus or _as_list(job.gpu)))
                try:
                    choice = self.allocator.choose_many(held, head.requested_gpus)
                except GpuRequestError as refused:
                    choice, error = [], refused
                if choice == WAIT:
                    break
                gpus = list(choice)
            job = self.jobs[self.queue.popleft()]
            job.status = "running"  # holds the slot from now on
            job.gpus = gpus
            job.gpu = gpus[0] if gpus else None
            job.start_error = error
            started.append(job)
        return started


def _as_list(gpu: int | None) -> list[int]:
    return [] if gpu is None else [gpu]
