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
from pathlib import Path
from typing import Any, ClassVar

import psutil
from traitlets.config import LoggingConfigurable

from lepton_lab.core.rundir import RunDir
from lepton_lab.server.devices import visible_devices
from lepton_lab.server.lifecycle import Job, JobLifecycle
from lepton_lab.server.workers import WorkerExit, WorkerHandle

__all__ = ["WORKER_MODULE", "Executor", "LocalProcessExecutor", "LocalWorker", "WorkerExit", "WorkerHandle"]

#: Module the worker process runs: ``python -m lepton_lab.core.worker RUN_DIR``.
WORKER_MODULE = "lepton_lab.core.worker"

#: Seconds two readings of a process start time may differ by and still be the same process.
_START_TIME_TOLERANCE_S = 1.0


class Executor(LoggingConfigurable, JobLifecycle):
    """Starts workers for run directories and finds running ones again after a server restart.

    Subclasses implement :meth:`start` and :meth:`attach`; the job lifecycle
    (:meth:`~lepton_lab.server.lifecycle.JobLifecycle.process` and its hooks) is inherited and
    may be overridden hook by hook.
    """

    #: Whether the server's GPU allocator picks each job's GPU on this host (True), or the
    #: executor places GPUs itself (a cluster: Ray's ``num_gpus``).
    server_places_gpus: ClassVar[bool] = True

    def start(
        self, run: RunDir, env: dict[str, str], cwd: Any, resources: dict[str, Any] | None = None
    ) -> WorkerHandle:
        """Start the worker of ``run`` with extra environment ``env`` in directory ``cwd``.

        ``resources`` holds ``cpus`` and ``gpus`` the worker asks for (a cluster places it by them).
        """
        raise NotImplementedError(f"{type(self).__name__} must implement start()")

    def attach(self, run: RunDir, ref: dict[str, Any]) -> WorkerHandle | None:
        """Return the worker of ``run`` that ``ref`` (a :meth:`WorkerHandle.ref`) names, if it runs."""
        raise NotImplementedError(f"{type(self).__name__} must implement attach()")

    def nodes(self) -> list[dict[str, Any]] | None:
        """List the cluster's nodes with their CPUs, GPUs and jobs (``GET devices``); None: this host only."""
        return None

    def describe(self) -> dict[str, Any]:
        """Describe this executor for ``GET status``."""
        return {"executor": type(self).__name__}


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
        self.pid: int = pid
        self.create_time = create_time
        self._popen = popen

    def ref(self) -> dict[str, Any]:
        """Return ``{"kind": "local", "pid", "create_time"}``: pid and start time tell it from pid reuse."""
        return {"kind": "local", "pid": self.pid, "create_time": self.create_time}

    def describe(self) -> str:
        """``worker process 1234``."""
        return f"worker process {self.pid}"

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

    def worker_env(self, job: Job) -> dict[str, str]:
        """Environment variables that place the worker on the GPU the server's allocator chose."""
        return {
            "CUDA_VISIBLE_DEVICES": visible_devices(job.gpus or job.gpu),
            "CUDA_DEVICE_ORDER": "PCI_BUS_ID",  # so CUDA numbers GPUs as NVML does
            "TF_FORCE_GPU_ALLOW_GROWTH": "true",
        }

    def start(
        self, run: RunDir, env: dict[str, str], cwd: Any, resources: dict[str, Any] | None = None
    ) -> WorkerHandle:
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

    def attach(self, run: RunDir, ref: dict[str, Any]) -> WorkerHandle | None:
        """Re-attach to ``ref``'s pid only if it is alive, started at its ``create_time`` and runs ``run``.

        ``ref`` is a :meth:`LocalWorker.ref` (an index written before refs has pid and start time
        only; it is migrated to the same form). Another executor's ref is not ours: None.
        """
        if ref.get("kind", "local") != "local" or not isinstance(ref.get("pid"), int):
            return None
        pid, create_time = int(ref["pid"]), ref.get("create_time")
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
