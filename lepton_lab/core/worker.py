"""Worker: run a prepared run directory in a process of its own.

Usage::

    python -m lepton_lab.core.worker RUN_DIR

The server creates the run directory (:meth:`~lepton_lab.core.rundir.RunDir.create`) and spawns
this. The worker reports only through the run directory: stdout and stderr go to
``worker.log``, its pid to ``status.json``. SIGTERM cancels the run at the next batch.

Exit codes: 0 completed, 1 failed, 143 cancelled, 2 bad usage.

Testing only: ``LEPTON_LAB_LOGICAL_CPUS=N`` splits the CPU into N logical TensorFlow devices
before training starts, so ``train.distribute="mirrored"`` runs N replicas on a machine without
GPUs (see :mod:`lepton_lab.core.distribution`). The replicas share the same cores.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from types import FrameType

from lepton_lab.core import distribution
from lepton_lab.core.rundir import RunDir


def _redirect_output(path: str) -> None:
    """Send this process's stdout and stderr (including TensorFlow's C++ logging) to ``path``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", closefd=False)
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", closefd=False)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the run directory named in ``argv`` and return the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m lepton_lab.core.worker RUN_DIR", file=sys.stderr)
        return 2
    run_dir = RunDir(args[0])
    if not run_dir.spec_path.is_file():
        print(
            f"{run_dir.path} is not a run directory (no spec.json); create it with RunDir.create",
            file=sys.stderr,
        )
        return 2
    _redirect_output(str(run_dir.worker_log_path))
    stop = threading.Event()

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # Installed before TensorFlow loads so an early cancel is not lost.
    signal.signal(signal.SIGTERM, on_sigterm)
    run_dir.write_status(pid=os.getpid())
    try:
        logical_cpus = distribution.logical_cpus_requested(os.environ)
        if logical_cpus is not None:
            distribution.split_cpu(logical_cpus)  # before the runner starts TensorFlow's runtime
        from lepton_lab.core import runner

        status = runner.run(run_dir.read_spec(), run_dir, stop=stop)
    except BaseException as error:
        traceback.print_exc()
        run_dir.write_status(
            status="failed", error=f"{type(error).__name__}: {error}", traceback=traceback.format_exc()
        )
        status = {"status": "failed"}
    code = exit_code(status.get("status", "failed"))
    run_dir.write_status(exit_code=code)
    return code


def exit_code(status: str) -> int:
    """Exit code for a final status: 0 completed, 143 cancelled, 1 otherwise."""
    return {"completed": 0, "cancelled": 143}.get(status, 1)


if __name__ == "__main__":
    exit_status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # TensorFlow's interpreter teardown takes seconds; by now every file of the run is written,
    # fsynced and closed, so skip it and report the outcome at once.
    os._exit(exit_status)
