"""Executors: where and how a job's worker process runs.

The job manager talks to workers only through :class:`Executor` and :class:`WorkerHandle`, so
running workers elsewhere (a cluster engine such as Ray) means writing another executor and
selecting it with ``LeptonLabApp.executor_class``. :class:`LocalProcessExecutor` runs each worker
as a local process in its own session (process group), so signals aimed at the server never reach
it and a cancel reaches the worker and every process it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import psutil
from traitlets.config import LoggingConfigurable

from lepton_lab.core.rundir import RunDir

#: Module the worker process runs: ``python -m lepton_lab.core.worker RUN_DIR``.
WORKER_MODULE = "lepton_lab.core.worker"

#: Seconds two readings of a process start time may differ by and still be the same process.
_START_TIME_TOLERANCE_S = 1.0


@dataclass
class WorkerExit:
    """How a worker ended: its exit code, or None when it is unknown (not our child)."""

    code: int | None


class WorkerHandle(ABC):
    """A running worker: identify it, signal it, see whether it has exited."""

    pid: int
    create_time: float

    @abstractmethod
    def poll(self) -> WorkerExit | None:
        """None while the worker runs; how it ended once it has exited."""

    @abstractmethod
    def terminate(self) -> None:
        """Ask the worker to stop (it finishes the current batch, saves and exits)."""

    @abstractmethod
    def kill(self) -> None:
        """Stop the worker now."""


class Executor(LoggingConfigurable):
    """Starts workers for run directories and finds running ones again after a server restart.

    Subclasses implement :meth:`start` and :meth:`attach`.
    """

    def start(self, run: RunDir, env: dict[str, str], cwd: str | os.PathLike[str]) -> WorkerHandle:
        """Start the worker of ``run`` with extra environment ``env`` in directory ``cwd``."""
        raise NotImplementedError(f"{type(self).__name__} must implement start()")

    def attach(self, run: RunDir, pid: int, create_time: float | None) -> WorkerHandle | None:
        """Return the worker of ``run`` if process ``pid`` (started at ``create_time``) is still it."""
        raise NotImplementedError(f"{type(self).__name__} must implement attach()")


def _signal_group(pid: int, signum: int) -> None:
    """Send ``signum`` to the process group led by ``pid`` (or to ``pid`` alone if it leads none)."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass  # already gone


class LocalWorker(WorkerHandle):
    """A worker process on this host, started by this server or found again after a restart."""

    def __init__(self, pid: int, create_time: float, popen: subprocess.Popen[bytes] | None = None) -> None:
        self.pid = pid
        self.create_time = create_time
        self._popen = popen

    def poll(self) -> WorkerExit | None:
        """Return None while the worker runs, how it ended once it has exited."""
        if self._popen is not None:
            code = self._popen.poll()
            if code is None:
                return None
            LocalProcessExecutor.children.pop(self.pid, None)
            return WorkerExit(code)
        try:
            process = psutil.Process(self.pid)
            alive = process.status() != psutil.STATUS_ZOMBIE and _same_start(process, self.create_time)
        except psutil.NoSuchProcess:
            alive = False
        # Not our child: the exit code went to the process that started it.
        return None if alive else WorkerExit(None)

    def terminate(self) -> None:
        """Send SIGTERM to the worker's process group."""
        _signal_group(self.pid, signal.SIGTERM)

    def kill(self) -> None:
        """Send SIGKILL to the worker's process group."""
        _signal_group(self.pid, signal.SIGKILL)


def _same_start(process: psutil.Process, create_time: float | None) -> bool:
    return create_time is None or abs(process.create_time() - create_time) <= _START_TIME_TOLERANCE_S


def _package_parent() -> str:
    import lepton_lab

    return str(Path(lepton_lab.__file__).resolve().parent.parent)


class LocalProcessExecutor(Executor):
    """Runs each worker as a local process: ``python -m lepton_lab.core.worker RUN_DIR``.

    The worker's stdout and stderr go to the run's ``worker.log`` (appended, so a resumed run
    keeps the log of its first attempt).
    """

    #: Workers this server process started and has not reaped yet, by pid. Process-wide, so a
    #: job manager created again in the same process (tests, a reloaded extension) still
    #: collects their exit codes instead of leaving zombies.
    children: ClassVar[dict[int, subprocess.Popen[bytes]]] = {}

    def command(self, run: RunDir) -> list[str]:
        """Return the worker's command line."""
        return [sys.executable, "-m", WORKER_MODULE, str(run.path)]

    def start(self, run: RunDir, env: dict[str, str], cwd: str | os.PathLike[str]) -> WorkerHandle:
        """Spawn ``python -m lepton_lab.core.worker RUN_DIR`` in a new session, output to ``worker.log``."""
        full_env = {**os.environ, **env}
        # The worker must import the same lepton_lab as this server, also from a source checkout.
        parent = _package_parent()
        paths = [parent, *[p for p in full_env.get("PYTHONPATH", "").split(os.pathsep) if p and p != parent]]
        full_env["PYTHONPATH"] = os.pathsep.join(paths)
        full_env["PYTHONUNBUFFERED"] = "1"  # worker.log follows the worker live
        with open(run.worker_log_path, "ab") as log:
            popen = subprocess.Popen(
                self.command(run),
                cwd=cwd,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: cancel signals the whole group
            )
        self.children[popen.pid] = popen
        try:
            create_time = psutil.Process(popen.pid).create_time()
        except psutil.NoSuchProcess:  # exited at once (and not reaped yet is impossible to tell)
            create_time = 0.0
        self.log.info("Lepton Lab: started worker %s for run %s", popen.pid, run.id)
        return LocalWorker(popen.pid, create_time, popen)

    def attach(self, run: RunDir, pid: int, create_time: float | None) -> WorkerHandle | None:
        """Re-attach to ``pid`` only if it is alive, started at ``create_time`` and runs ``run``."""
        popen = self.children.get(pid)
        if popen is not None and popen.poll() is not None:
            self.children.pop(pid, None)
            return None
        try:
            process = psutil.Process(pid)
            if process.status() == psutil.STATUS_ZOMBIE or not _same_start(process, create_time):
                return None
            cmdline = process.cmdline()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None
        # Same pid and start time, and the command line names this run: it is our worker.
        target = run.path.resolve()
        if WORKER_MODULE not in cmdline or not any(Path(arg).resolve() == target for arg in cmdline[1:]):
            return None
        return LocalWorker(pid, process.create_time(), popen)

    def describe(self) -> dict[str, Any]:
        """Describe this executor for ``GET status``."""
        return {"executor": type(self).__name__, "python": sys.executable}
