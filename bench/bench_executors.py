"""Executors for server benchmarks that need jobs without TensorFlow.

``StreamingExecutor`` runs each job as a process that writes events like a training worker (one
batch event every ``1 / rate`` seconds through :class:`~lepton_lab.core.events.EventWriter`, an
epoch event every 100 batches) until it is cancelled or ``LEPTON_BENCH_SECONDS`` pass. Select it
with ``--LeptonLabApp.executor_class=bench_executors.StreamingExecutor`` and ``bench/`` on
``PYTHONPATH``. Run as a script, this module is that process: ``python bench_executors.py RUN_DIR``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from lepton_lab.core.rundir import RunDir
from lepton_lab.server.executors import LocalProcessExecutor

#: Batch events per second each streaming job writes.
RATE = float(os.environ.get("LEPTON_BENCH_RATE", "200"))

#: Seconds a streaming job runs unless cancelled first.
SECONDS = float(os.environ.get("LEPTON_BENCH_SECONDS", "600"))


class StreamingExecutor(LocalProcessExecutor):
    """Runs this module as each job's worker: events at :data:`RATE` per second, no training."""

    def command(self, run: RunDir) -> list[str]:
        """Return the worker's command line."""
        return [sys.executable, str(Path(__file__).resolve()), str(run.path)]


def stream(run: RunDir) -> None:
    """Write events into ``run`` as a training worker would, then record it completed."""
    from lepton_lab.core.events import EventWriter

    run.write_status(status="running", pid=os.getpid(), epoch=0)
    steps, epochs = int(RATE * SECONDS), max(1, int(RATE * SECONDS) // 100)
    start = time.monotonic()
    with EventWriter(run.events_path) as writer:
        writer.emit("status", status="running", epoch=0, epochs=epochs)
        for step in range(1, steps + 1):
            epoch = (step - 1) // 100 + 1
            writer.emit("batch", step=step, epoch=epoch, total_steps=steps, metrics={"loss": 1 / step})
            if step % 100 == 0:
                writer.emit("epoch", step=step, epoch=epoch, metrics={"loss": 1 / step, "val_loss": 1 / step})
            time.sleep(max(0.0, start + step / RATE - time.monotonic()))
        writer.emit("status", status="completed", epoch=epochs)
    run.write_status(status="completed", epoch=epochs, exit_code=0)


if __name__ == "__main__":
    stream(RunDir(sys.argv[1]))
