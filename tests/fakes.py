"""Executors that train nothing, so server tests run the whole job lifecycle in milliseconds.

:class:`FakeExecutor` writes what a real worker writes into the run directory (``status.json``
through :class:`~lepton_lab.core.rundir.RunDir`, batch/epoch/status events through
:class:`~lepton_lab.core.events.EventWriter`) and ends with the outcome a test picks, either at
once or one step per :meth:`FakeWorker.step` call: no TensorFlow, no clock.

Select one in a server with ``--LeptonLabApp.executor_class=tests.fakes.InstantExecutor`` (the
server's working directory must be the repository root, so ``tests`` is importable).
"""

from __future__ import annotations

import json
import signal
import sys
from dataclasses import dataclass
from typing import Any, ClassVar

from lepton_lab.core.events import EventWriter
from lepton_lab.core.rundir import RunDir
from lepton_lab.server.executors import (
    WORKER_MODULE,
    Executor,
    LocalProcessExecutor,
    WorkerExit,
    WorkerHandle,
)

#: How a scripted worker ends (see :class:`Script`).
OUTCOMES = ("completed", "failed", "killed", "interrupted", "forever", "ignores_sigterm")


@dataclass
class Script:
    """What a fake worker does.

    Parameters
    ----------
    epochs
        Epochs it trains (each one batch and one epoch event) before it ends.
    outcome
        ``completed`` (exit 0), ``failed`` (exit ``code``), ``killed`` (by ``signal``),
        ``interrupted`` (its node is lost), ``forever`` (runs until terminated) or
        ``ignores_sigterm`` (runs until killed).
    code
        Exit code of ``failed``.
    signal
        Signal of ``killed``.
    instant
        Run every step at start (True), or only when the test calls :meth:`FakeWorker.step`.
    """

    epochs: int = 2
    outcome: str = "completed"
    code: int = 1
    signal: int = signal.SIGKILL
    instant: bool = False

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome: unknown {self.outcome!r}; use one of {', '.join(OUTCOMES)}")


class FakeWorker(WorkerHandle):
    """A scripted worker writing into its run directory as ``lepton_lab.core.worker`` does."""

    def __init__(self, run: RunDir, script: Script, number: int) -> None:
        self.run = run
        self.script = script
        self.number = number
        self.epoch = 0
        self.exit: WorkerExit | None = None
        self.stopping = False  # a SIGTERM arrived: it saves and records cancelled at its next step
        done = run.read_status().get("epoch") or 0  # a resumed run continues from its checkpoint
        self.epoch = int(done)
        run.write_status(status="running", epochs=script.epochs, epoch=self.epoch)
        self._emit("status", status="running", epoch=self.epoch, epochs=script.epochs)

    def _emit(self, kind: str, **fields: Any) -> None:
        writer = EventWriter(self.run.events_path)
        try:
            writer.emit(kind, **fields)
        finally:
            writer.close()

    def step(self) -> None:
        """Do one step: train one epoch, honour a SIGTERM, or end as scripted."""
        if self.exit is not None:
            return
        if self.stopping:
            self.run.write_status(status="cancelled", epoch=self.epoch, exit_code=143)
            self._emit("status", status="cancelled", epoch=self.epoch)
            self.exit = WorkerExit(143)  # as lepton_lab.core.worker exits on SIGTERM
            return
        if self.epoch < self.script.epochs:
            self.epoch += 1
            steps = self.epoch * 10
            self._emit("batch", step=steps, epoch=self.epoch, total_steps=10 * self.script.epochs,
                       epochs=self.script.epochs, metrics={"loss": 1 / self.epoch})  # fmt: skip
            self._emit("epoch", step=steps, epoch=self.epoch, epochs=self.script.epochs,
                       metrics={"loss": 1 / self.epoch})  # fmt: skip
            self.run.write_status(epoch=self.epoch)
            return
        outcome = self.script.outcome
        if outcome == "completed":
            self.run.evaluation_path.write_text(json.dumps({"accuracy": 0.5}))
            self.run.write_status(status="completed", epoch=self.epoch, exit_code=0)
            self._emit("status", status="completed", epoch=self.epoch)
            self.exit = WorkerExit(0)
        elif outcome == "failed":
            self.run.write_status(status="failed", error="scripted failure", traceback="Traceback: scripted")
            self._emit("status", status="failed", epoch=self.epoch, error="scripted failure")
            self.exit = WorkerExit(self.script.code)
        elif outcome == "killed":
            self.exit = WorkerExit(-self.script.signal)  # died without recording anything
        elif outcome == "interrupted":
            self.exit = WorkerExit(None, interrupted=True)

    def run_to_end(self, limit: int = 10_000) -> WorkerExit | None:
        """Step until it ends (or ``limit`` steps: a ``forever`` worker never does)."""
        for _ in range(limit):
            if self.exit is not None:
                break
            self.step()
        return self.exit

    def poll(self) -> WorkerExit | None:
        """None while it runs; how it ended once it has."""
        return self.exit

    def terminate(self) -> None:
        """SIGTERM: it records ``cancelled`` at its next step (unless scripted to ignore it)."""
        if self.script.outcome != "ignores_sigterm":
            self.stopping = True
            if self.script.instant:
                self.step()

    def kill(self) -> None:
        """SIGKILL: it ends at once without recording anything."""
        if self.exit is None:
            self.exit = WorkerExit(-signal.SIGKILL)

    def lose_node(self) -> None:
        """Its host or cluster node goes away mid-run: it ends interrupted, recording nothing."""
        if self.exit is None:
            self.exit = WorkerExit(None, interrupted=True)

    def ref(self) -> dict[str, Any]:
        """``{"kind": "fake", "run": ..., "number": ...}``."""
        return {"kind": "fake", "run": self.run.id, "number": self.number}

    def describe(self) -> str:
        """``fake worker 3``."""
        return f"fake worker {self.number}"


class FakeExecutor(Executor):
    """Starts :class:`FakeWorker` s; ``script`` (or ``scripts[run name]``) says what each does.

    Live workers are kept process-wide by run id, so a fresh executor (a restarted server in the
    same process) re-attaches them from their refs, as a real one finds its processes again.
    """

    live: ClassVar[dict[str, FakeWorker]] = {}

    def __init__(self, script: Script | None = None, node: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.script = script or Script()
        self.scripts: dict[str, Script] = {}
        self.started: list[FakeWorker] = []
        #: What each run's worker was started with, by run id: ``(env, resources)``.
        self.requests: dict[str, tuple[dict[str, str], dict[str, Any] | None]] = {}
        #: The cluster node its workers run on (None: this host, as the local executor's).
        self.node = node

    def nodes(self) -> list[dict[str, Any]] | None:
        """One cluster node with the runs of the live workers on it, when ``node`` is set."""
        if self.node is None:
            return None
        jobs = sorted(w.run.id for w in self.started if w.exit is None)
        return [{"id": self.node, "cpus": 2.0, "gpus": 0.0, "alive": True, "jobs": jobs}]

    def start(
        self, run: RunDir, env: dict[str, str], cwd: Any, resources: dict[str, Any] | None = None
    ) -> FakeWorker:
        """Start a scripted worker for ``run``."""
        name = run.read_spec_document().get("name")
        script = self.scripts.get(name or "", self.script)
        worker = FakeWorker(run, script, len(self.started) + 1)
        worker.node = self.node
        self.requests[run.id] = (env, resources)
        self.started.append(worker)
        FakeExecutor.live[run.id] = worker
        if script.instant:
            worker.run_to_end()
        return worker

    def attach(self, run: RunDir, ref: dict[str, Any]) -> FakeWorker | None:
        """The still-running fake worker ``ref`` names, else None."""
        worker = FakeExecutor.live.get(run.id)
        if ref.get("kind") != "fake" or worker is None or worker.number != ref.get("number"):
            return None
        return None if worker.exit is not None else worker


class InstantExecutor(FakeExecutor):
    """Completes every job at once: one epoch, status ``completed``, a tiny evaluation."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(Script(epochs=1, instant=True), **kwargs)


#: A worker process without TensorFlow for :class:`ScriptedLocalExecutor`. It records ``running``
#: and its pid and epoch 1, then waits for the run's ``continue`` file (see :func:`let_continue`)
#: and trains the spec's remaining epochs and completes; a run named ``short`` completes at once.
#: SIGTERM makes it record ``cancelled`` and exit 143, as ``lepton_lab.core.worker`` does.
LOCAL_SCRIPT = r"""
import os, signal, sys, time
from lepton_lab.core.events import EventWriter
from lepton_lab.core.rundir import RunDir
run = RunDir(sys.argv[2])
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
spec = run.read_spec_document()
epochs = int(spec["train"]["epochs"])
done = int(run.read_status().get("epoch") or 0)
run.write_status(status="running", pid=os.getpid(), epochs=epochs)
events = EventWriter(run.events_path)
events.emit("status", status="running", epoch=done, epochs=epochs)
def epoch(n):
    events.emit("epoch", epoch=n, step=10 * n, epochs=epochs, metrics={"loss": 1 / n})
    run.write_status(epoch=n)
if spec.get("name") != "short":
    if done == 0:
        done = 1
        epoch(1)
    while not stop and not (run.path / "continue").exists():
        time.sleep(0.01)
if stop:
    run.write_status(status="cancelled", exit_code=143)
    events.emit("status", status="cancelled", epoch=done)
    sys.exit(143)
for n in range(done + 1, epochs + 1):
    epoch(n)
run.write_status(status="completed", exit_code=0, epoch=epochs)
events.emit("status", status="completed", epoch=epochs)
"""


class ScriptedLocalExecutor(LocalProcessExecutor):
    """The local executor with :data:`LOCAL_SCRIPT` as the worker: real processes, no TensorFlow."""

    def command(self, run: RunDir) -> list[str]:
        """The script's command line; the worker module and the run path stay on it (attach checks)."""
        return [sys.executable, "-c", LOCAL_SCRIPT, WORKER_MODULE, str(run.path)]


def let_continue(run: RunDir) -> None:
    """Let a :data:`LOCAL_SCRIPT` worker train on past epoch 1."""
    (run.path / "continue").touch()


class ClusterScriptedExecutor(ScriptedLocalExecutor):
    """:class:`ScriptedLocalExecutor` that reports a two-node cluster, for the Lab's cluster view.

    Its workers are real :data:`LOCAL_SCRIPT` processes on this host that say they run on
    :attr:`HEAD`; :meth:`nodes` lists :attr:`HEAD` (alive, with the running workers) and
    :attr:`LOST` (a node the cluster lost). Select it in a server (another process, where a test
    cannot step a :class:`FakeExecutor`) with
    ``--LeptonLabApp.executor_class=tests.fakes.ClusterScriptedExecutor``.
    """

    #: The node every worker runs on: a Ray-style 56-hex-digit node id.
    HEAD = "a1b2c3d4" * 7
    #: The second node, reported lost.
    LOST = "0badc0de" * 7

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: Workers started or re-attached, by run id (finished ones are dropped by :meth:`nodes`).
        self.workers: dict[str, WorkerHandle] = {}

    def _placed(self, run: RunDir, worker: WorkerHandle | None) -> WorkerHandle | None:
        if worker is not None:
            worker.node = self.HEAD
            self.workers[run.id] = worker
        return worker

    def start(
        self, run: RunDir, env: dict[str, str], cwd: Any, resources: dict[str, Any] | None = None
    ) -> WorkerHandle:
        """Start the scripted worker, placed on :attr:`HEAD`."""
        worker = super().start(run, env, cwd, resources)
        self._placed(run, worker)
        return worker

    def attach(self, run: RunDir, ref: dict[str, Any]) -> WorkerHandle | None:
        """Re-attach as the local executor does, placed on :attr:`HEAD`."""
        return self._placed(run, super().attach(run, ref))

    def nodes(self) -> list[dict[str, Any]]:
        """The head (alive, running this executor's live workers) and a lost second node."""
        running = sorted(run_id for run_id, worker in self.workers.items() if worker.poll() is None)
        return [
            {"id": self.HEAD, "address": "10.0.0.1", "alive": True, "head": True,
             "cpus": 2.0, "gpus": 0.0, "jobs": running},
            {"id": self.LOST, "address": "10.0.0.2", "alive": False, "head": False,
             "cpus": 4.0, "gpus": 1.0, "jobs": []},
        ]  # fmt: skip
