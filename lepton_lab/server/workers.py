"""Worker handles: what the job lifecycle knows of a running worker, wherever it runs.

A handle is opaque to the job manager. It says how the worker ended (:meth:`WorkerHandle.poll`),
signals it (:meth:`~WorkerHandle.terminate`, :meth:`~WorkerHandle.kill`), describes it for
messages, and gives a JSON-serialisable identity (:meth:`~WorkerHandle.ref`) that the job index
stores so that the executor that started it can find it again after a server restart
(:meth:`~lepton_lab.server.executors.Executor.attach`). A local process is identified by its pid
and start time, a Ray job by its actor's name: only the executor knows which.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any


@dataclass
class WorkerExit:
    """How a worker ended.

    Parameters
    ----------
    code
        Its exit code; None when unknown (not this server's child, or it never started).
    interrupted
        The host or cluster node it ran on was lost: the job becomes ``interrupted`` (Resume
        continues it from its checkpoints), not ``failed``.
    """

    code: int | None
    interrupted: bool = False


class WorkerHandle(ABC):
    """A running worker: see whether it has exited, signal it, identify it."""

    #: Where it runs (a cluster node's id or address); None on this host or while not yet placed.
    node: str | None = None
    #: The worker's process id on this host, when it has one here (shown as a job's ``pid``).
    pid: int | None = None

    @abstractmethod
    def poll(self) -> WorkerExit | None:
        """None while the worker runs; how it ended once it has exited."""

    @abstractmethod
    def terminate(self) -> None:
        """Ask the worker to stop (it finishes the current batch, saves, records ``cancelled``)."""

    @abstractmethod
    def kill(self) -> None:
        """Stop the worker now."""

    @abstractmethod
    def ref(self) -> dict[str, Any]:
        """Identity of the worker as JSON, with a ``kind``; its executor's ``attach`` takes it back."""

    def describe(self) -> str:
        """Describe the worker for messages (``worker process 1234``)."""
        return "the worker"
