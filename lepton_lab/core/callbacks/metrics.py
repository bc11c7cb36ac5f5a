"""MetricsCallback: a Keras callback that streams training metrics to ``events.jsonl``.

Like Keras's ``CSVLogger`` it only depends on the callback hooks. Batch events cost one small
dict and a list append (the :class:`~lepton_lab.core.events.EventWriter` buffer); the file is
written by the writer's background thread. At an epoch's end the events are written to the file
before training goes on (they survive the process being killed from then on) and fsynced in a
thread of their own (against a machine crash): an fsync takes 4-20 ms here, as long as a whole
epoch of a small model on a small dataset, and training need not wait for it.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

from lepton_lab.core.events import EventWriter
from lepton_lab.core.tf_import import keras


def _floats(logs: dict[str, Any] | None) -> dict[str, float | None]:
    """Metric values as Python floats; NaN/inf become None so every event is strict JSON."""
    out: dict[str, float | None] = {}
    for name, value in (logs or {}).items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue  # non-scalar logs (rare custom metrics) are not plottable
        out[name] = number if math.isfinite(number) else None
    return out


class MetricsCallback(keras.callbacks.Callback):
    """Write ``batch`` and ``epoch`` events for a ``model.fit`` run.

    Batch events carry the global step (batches since the run began, 1-based, correct with
    ``steps_per_execution > 1`` where Keras calls batch hooks once per execution) and the
    running ``loss`` / ``accuracy`` Keras reports. Epoch events carry every metric of the epoch
    logs (training and ``val_`` metrics), ``epoch_time_s`` and ``learning_rate``. Epochs are
    1-based in events.

    Parameters
    ----------
    writer
        Where the events go.
    epochs
        Total epochs of the run (written into events for progress and ETA).
    steps_per_epoch
        Batches per epoch if known before ``fit`` (otherwise read from the fit parameters).
    """

    def __init__(self, writer: EventWriter, *, epochs: int | None = None, steps_per_epoch: int | None = None):
        super().__init__()
        self.writer = writer
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self.epoch = 0  # 0-based index of the epoch in progress
        self.step = 0  # global step of the last batch seen
        self.epochs_done = 0  # epochs completed, counting those of a resumed run's earlier process
        self._epoch_first_step = 0
        self._epoch_start = 0.0
        self._syncing: threading.Thread | None = None  # the epoch-end fsync in flight
        self._sync_missed = False

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Read epochs and steps per epoch from the fit parameters."""
        params = self.params or {}
        self.epochs = self.epochs or params.get("epochs")
        self.steps_per_epoch = self.steps_per_epoch or params.get("steps")

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Note where the epoch's steps start (later epochs when resumed)."""
        self.epoch = epoch
        self.epochs_done = max(self.epochs_done, epoch)
        # Resumed runs start at a later epoch: count the steps of the epochs before it.
        if self.steps_per_epoch:
            self._epoch_first_step = epoch * self.steps_per_epoch
        else:
            self._epoch_first_step = self.step
        self.step = self._epoch_first_step
        self._epoch_start = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Queue a ``batch`` event with the global step and the running metrics."""
        # `batch` is the index of the last step of this execution, so the step count is right
        # when Keras calls us only every `steps_per_execution` steps. Keras reports a full
        # execution for an epoch's last, shorter one: clamp to the epoch's length.
        done = batch + 1 if not self.steps_per_epoch else min(batch + 1, self.steps_per_epoch)
        self.step = self._epoch_first_step + done
        event: dict[str, Any] = {
            "t": time.time(),
            "type": "batch",
            "step": self.step,
            "epoch": self.epoch + 1,
            "metrics": _floats(logs),
        }
        if self.steps_per_epoch and self.epochs:
            event["total_steps"] = self.steps_per_epoch * self.epochs
            event["epochs"] = self.epochs
        self.writer.write(event)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Write an ``epoch`` event with every epoch metric and fsync the events file."""
        metrics = _floats(logs)
        metrics["epoch_time_s"] = time.perf_counter() - self._epoch_start
        learning_rate = self._learning_rate()
        if learning_rate is not None:
            metrics["learning_rate"] = learning_rate
        if self.steps_per_epoch is None:
            self.steps_per_epoch = self.step - self._epoch_first_step or None
        self.epochs_done = epoch + 1
        self.writer.emit("epoch", step=self.step, epoch=epoch + 1, metrics=metrics, epochs=self.epochs)
        self.writer.flush()  # in the file before the epoch's checkpoint: a killed run keeps its record
        self._sync_in_background()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """Fsync the events file (and wait for it)."""
        if self._syncing is not None:
            self._syncing.join()
        self.writer.sync()

    def _sync_in_background(self) -> None:
        """Fsync the events file in a thread; one at a time (a later one covers what it missed)."""
        if self._syncing is not None and self._syncing.is_alive():
            self._sync_missed = True
            return
        self._sync_missed = False

        def sync() -> None:
            self.writer.sync()
            if self._sync_missed:  # an epoch ended during the fsync: cover it too
                self._sync_missed = False
                self.writer.sync()

        self._syncing = threading.Thread(target=sync, name="lepton-events-fsync", daemon=True)
        self._syncing.start()

    def _learning_rate(self) -> float | None:
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None:
            return None
        try:
            # Once per epoch: reading the variable syncs with the device, which is fine here.
            return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        except (AttributeError, TypeError, ValueError):
            return None
