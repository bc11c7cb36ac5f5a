"""Scheduling: the queue of jobs, the slots they run in, and the GPU each one gets."""

from __future__ import annotations

from collections import Counter, deque

from lepton_lab.server.devices import WAIT, GpuAllocator
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
        """Take the queued jobs that may start now, marked ``running`` with their GPU."""
        started: list[Job] = []
        while self.queue:
            running = self.running()
            if len(running) >= self.slots:
                break
            gpu: int | None = None
            if self.places_gpus:
                held = Counter(job.gpu for job in running if job.gpu is not None)
                choice = self.allocator.choose(held)
                if choice == WAIT:
                    break
                gpu = choice if isinstance(choice, int) else None
            job = self.jobs[self.queue.popleft()]
            job.status = "running"  # holds the slot from now on
            job.gpu = gpu
            started.append(job)
        return started
