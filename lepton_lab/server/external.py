"""Runs trained outside the server: by ``lepton_lab.train`` in a kernel, or by a script or the CLI.

They write run directories into the server's runs directory like its own workers do, so the
server lists and streams them too (the Lab panel shows every run there). The server did not
start their processes and must never signal them (the process is often a notebook kernel), so
an :class:`ExternalRun` stands where a worker handle would:

- it has ended when ``status.json`` says so, or when the process that wrote ``running``
  into it is gone (the kernel was shut down or crashed), or when it never left ``queued``;
- "terminate" creates the run's ``stop-requested`` file, which the training process polls
  twice a second; "kill" does nothing.
"""

from __future__ import annotations

import datetime as _dt
import time
from typing import Any

import psutil

from lepton_lab.core.rundir import FINISHED_STATUSES, RunDir
from lepton_lab.server.workers import WorkerExit, WorkerHandle

#: Seconds between reads of an external run's ``status.json``.
STATUS_POLL_INTERVAL_S = 0.5

#: Seconds a run may stay ``queued`` before its process counts as gone (``lepton_lab.train``
#: marks its run ``running`` right after creating it).
QUEUED_GRACE_S = 60.0

#: A process that started more than this after the run did is not the one training it (pid reuse).
_START_TOLERANCE_S = 2.0


def _timestamp(text: object) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return _dt.datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def process_alive(pid: object, started: object = None) -> bool:
    """Whether process ``pid`` exists and could be the one that started a run at ``started``."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        created = process.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    began = _timestamp(started)
    return began is None or created <= began + _START_TOLERANCE_S


class ExternalRun(WorkerHandle):
    """The worker-handle view of a run some other process trains (see the module docstring).

    Parameters
    ----------
    run
        The run directory.
    """

    def __init__(self, run: RunDir) -> None:
        self.run = run
        status = run.read_status()
        self.pid = int(status.get("pid") or 0) or None
        #: ``status.json``'s status at the last read: ``lepton_lab.train`` creates its run
        #: ``queued`` and marks it ``running`` a moment later, often after the server found it.
        self.status: str | None = status.get("status")
        self._next_check = 0.0

    def ref(self) -> dict[str, Any]:
        """``{"kind": "external", "pid": ...}``: followed through its files, never attached by an executor."""
        return {"kind": "external", "pid": self.pid}

    def describe(self) -> str:
        """``kernel process 1234`` (or the run's other origin)."""
        origin = self.run.read_status().get("origin") or "kernel"
        return f"{origin} process {self.pid}"

    def poll(self) -> WorkerExit | None:
        """None while the run goes on; ``WorkerExit(None)`` once it has ended or its process is gone."""
        now = time.monotonic()
        if now < self._next_check:
            return None
        self._next_check = now + STATUS_POLL_INTERVAL_S
        status = self.run.read_status()
        self.pid = int(status.get("pid") or 0) or None
        self.status = status.get("status")
        if status.get("status") in FINISHED_STATUSES:
            return WorkerExit(None)
        if status.get("status") == "running" and not process_alive(status.get("pid"), status.get("started")):
            return WorkerExit(None)
        created = _timestamp(status.get("created"))
        if (
            status.get("status") == "queued"
            and created is not None
            and time.time() - created > QUEUED_GRACE_S
        ):
            return WorkerExit(None)  # created, never started: the process went away in between
        return None

    def terminate(self) -> None:
        """Ask the training process to stop at its next check (it saves and records ``cancelled``)."""
        self.run.request_stop()

    def kill(self) -> None:
        """Do nothing: the process is not the server's to kill (it may be a notebook kernel)."""
