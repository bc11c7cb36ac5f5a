"""Executors that train nothing, for server tests that need jobs to run through their lifecycle fast.

Select one with ``--LeptonLabApp.executor_class=tests.fake_executors.InstantExecutor`` (the
server's working directory must be the repository root, so ``tests`` is importable).
"""

from __future__ import annotations

import json
import time
from typing import Any

from lepton_lab.core.rundir import RunDir
from lepton_lab.server.executors import Executor, WorkerExit, WorkerHandle


class FinishedWorker(WorkerHandle):
    """A worker that has already exited with code 0."""

    def __init__(self) -> None:
        self.pid, self.create_time = 0, 0.0

    def poll(self) -> WorkerExit | None:
        return WorkerExit(0)

    def terminate(self) -> None:
        pass

    def kill(self) -> None:
        pass


class InstantExecutor(Executor):
    """Completes every job at once: one epoch event, status ``completed``, a tiny evaluation."""

    def start(self, run: RunDir, env: dict[str, str], cwd: Any) -> WorkerHandle:
        event = {"t": time.time(), "type": "epoch", "step": 1, "epoch": 1, "metrics": {"loss": 0.5}}
        with open(run.events_path, "a") as handle:
            handle.write(json.dumps(event) + "\n")
        run.evaluation_path.write_text(json.dumps({"accuracy": 0.5}))
        run.write_status(status="completed", epoch=1, exit_code=0)
        return FinishedWorker()

    def attach(self, run: RunDir, pid: int, create_time: float | None) -> WorkerHandle | None:
        return None
