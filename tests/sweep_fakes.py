"""A TensorFlow-free executor for sweeps: trials that train in a few event-loop turns, with real metrics.

:class:`SweepFakeExecutor` starts a :class:`SweepWorker` per job. The worker writes what
``lepton_lab.core.worker`` writes into the run directory (``status.json``, batch/epoch/status
events, ``evaluation.json``), one epoch each time the job manager polls it (every
``poll_interval_s``), so a 20-trial sweep ends in seconds. Its ``val_accuracy``, ``val_loss``,
``accuracy`` and ``loss`` are a deterministic function of the trial's spec (:func:`fake_accuracy`):
best near learning rate 3e-3, batch size 64, dropout 0.2 and preset ``small_cnn``, rising with the
epochs. So an optimizer has something to find and a pruner something to prune, and a test can
compute the best trial itself.

Select it in a server (in another process too) with
``--LeptonLabApp.executor_class=tests.sweep_fakes.SweepFakeExecutor`` (the server's working
directory must be the repository root); slow its trials down for a browser test with
``--SweepFakeExecutor.polls_per_epoch=20``. :class:`SteppedSweepExecutor` advances only when the
test calls :meth:`SweepWorker.step`, for tests that stop a sweep at a chosen point.

Workers are kept process-wide by run id (:attr:`tests.fakes.FakeExecutor.live`), so a restarted job
manager in the same process re-attaches them; a server process started again finds none and its
trials become ``interrupted`` (the sweep manager resumes them).
"""

from __future__ import annotations

import json
import math
from typing import Any

from traitlets import Float, Int

from lepton_lab.core.rundir import RunDir
from lepton_lab.server.workers import WorkerExit
from tests.fakes import FakeExecutor, FakeWorker, Script

#: Learning rate, batch size and dropout the fake metrics peak at.
BEST_LEARNING_RATE = 3e-3
BEST_BATCH_SIZE = 64
BEST_DROPOUT = 0.2
#: How good each model preset is relative to the best (small_cnn).
PRESET_QUALITY = {"small_cnn": 1.0, "cnn_bn": 0.98, "mlp": 0.95}


def final_accuracy(spec: dict[str, Any]) -> float:
    """Validation accuracy the trial of ``spec`` (a JobSpec document) converges to, in (0.5, 0.98]."""
    train = spec.get("train") or {}
    model = spec.get("model") or {}
    lr = float(train.get("learning_rate") or 1e-3)
    batch = float(train.get("batch_size") or 32)
    dropout = float(train.get("dropout") or 0.0)
    q_lr = math.exp(-((math.log10(lr) - math.log10(BEST_LEARNING_RATE)) ** 2) / 0.5)
    q_batch = max(0.0, 1.0 - 0.04 * abs(math.log2(batch / BEST_BATCH_SIZE)))
    q_dropout = max(0.0, 1.0 - 0.5 * (dropout - BEST_DROPOUT) ** 2)
    q_preset = PRESET_QUALITY.get(str(model.get("preset")), 0.97)
    return 0.5 + 0.48 * q_lr * q_batch * q_dropout * q_preset


def fake_accuracy(spec: dict[str, Any], epoch: int) -> float:
    """``val_accuracy`` after ``epoch`` epochs: rises from 0.1 towards :func:`final_accuracy`.

    Every trial rises at the same rate, so trials rank the same at every epoch: a median pruner
    that stops a trial early stops one that would have ended below the median too.
    """
    return 0.1 + (final_accuracy(spec) - 0.1) * (1.0 - math.exp(-epoch / 1.5))


def fake_metrics(spec: dict[str, Any], epoch: int) -> dict[str, float]:
    """The epoch metrics of the trial of ``spec`` after ``epoch`` epochs."""
    val_accuracy = fake_accuracy(spec, epoch)
    accuracy = min(0.999, val_accuracy + 0.01)
    return {
        "loss": -math.log(accuracy),
        "accuracy": accuracy,
        "val_loss": -math.log(val_accuracy),
        "val_accuracy": val_accuracy,
    }


class SweepWorker(FakeWorker):
    """A fake worker whose epochs carry :func:`fake_metrics` of its run's spec.

    Parameters
    ----------
    run
        Its run directory.
    script
        Its epochs and how it ends (see :class:`tests.fakes.Script`).
    number
        Its number within its executor.
    polls_per_epoch
        Polls per epoch when it runs by itself; 0: only :meth:`step` advances it.
    """

    def __init__(self, run: RunDir, script: Script, number: int, polls_per_epoch: int = 1) -> None:
        self.spec = run.read_spec_document()
        self.polls_per_epoch = polls_per_epoch
        self.polls = 0
        super().__init__(run, script, number)

    def step(self) -> None:
        """Do one step: train one epoch, honour a SIGTERM, or end as scripted."""
        if self.exit is not None or self.stopping or self.epoch >= self.script.epochs:
            super().step()  # ends: completed, failed, cancelled (SIGTERM), ...
            if self.exit is not None and self.exit.code == 0:
                accuracy = fake_accuracy(self.spec, self.epoch)
                self.run.evaluation_path.write_text(json.dumps({"accuracy": accuracy}))
            return
        self.epoch += 1
        epochs = self.script.epochs
        metrics = fake_metrics(self.spec, self.epoch)
        train = {key: metrics[key] for key in ("loss", "accuracy")}
        self._emit("batch", step=self.epoch * 10, epoch=self.epoch, total_steps=10 * epochs,
                   epochs=epochs, metrics=train)  # fmt: skip
        self._emit("epoch", step=self.epoch * 10, epoch=self.epoch, epochs=epochs, metrics=metrics)
        self.run.write_status(epoch=self.epoch)

    def poll(self) -> WorkerExit | None:
        """Advance one step every ``polls_per_epoch`` polls, then say whether it has ended."""
        if self.polls_per_epoch > 0 and self.exit is None:
            self.polls += 1
            if self.polls >= self.polls_per_epoch:
                self.polls = 0
                self.step()
        return self.exit


class SweepFakeExecutor(FakeExecutor):
    """Starts a :class:`SweepWorker` per job: the spec's epochs, one per ``polls_per_epoch`` polls.

    A trial whose learning rate is at least ``fail_learning_rate`` fails after its first epoch
    (it "diverges"), so tests see failed trials too.
    """

    polls_per_epoch = Int(1, config=True, help="Polls of the job manager per fake epoch (0: stepped).")
    fail_learning_rate = Float(math.inf, config=True, help="Trials at or above this learning rate fail.")

    def start(
        self, run: RunDir, env: dict[str, str], cwd: Any, resources: dict[str, Any] | None = None
    ) -> SweepWorker:
        """Start the worker of ``run``: as many epochs as its spec asks for."""
        spec = run.read_spec_document()
        train = spec.get("train") or {}
        fails = float(train.get("learning_rate") or 1e-3) >= self.fail_learning_rate
        script = Script(epochs=1 if fails else int(train.get("epochs") or 1),
                        outcome="failed" if fails else "completed")  # fmt: skip
        worker = SweepWorker(run, script, len(self.started) + 1, self.polls_per_epoch)
        worker.node = self.node
        self.requests[run.id] = (env, resources)
        self.started.append(worker)
        FakeExecutor.live[run.id] = worker
        return worker


class SteppedSweepExecutor(SweepFakeExecutor):
    """:class:`SweepFakeExecutor` whose workers advance only when a test calls ``step()``."""

    polls_per_epoch = Int(0, config=True, help="0: only SweepWorker.step advances a worker.")
