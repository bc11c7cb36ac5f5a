"""EpochTensorBoard: Keras's ``TensorBoard`` callback, per epoch, writing in a background thread.

The run directory's ``tensorboard/`` folder keeps exactly what ``keras.callbacks.TensorBoard(...,
update_freq="epoch")`` writes: ``train/`` with ``epoch_<metric>`` and ``epoch_learning_rate``,
``validation/`` with ``epoch_<metric>`` and ``evaluation_<metric>_vs_iterations``. Only the
writing moves off the training thread: on a small model an epoch can take 150 ms, and the
summary ops of its end, its validation's end and its per-batch hooks took about 15 ms of it.
Values are taken at the hook (the learning rate and step of that epoch), written later in order.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from lepton_lab.core.tf_import import keras


class EpochTensorBoard(keras.callbacks.TensorBoard):
    """``TensorBoard(log_dir, update_freq="epoch", write_graph=False)`` with writes in a thread.

    Parameters
    ----------
    log_dir
        The run's ``tensorboard/`` directory.
    """

    def __init__(self, log_dir: str) -> None:
        super().__init__(log_dir, update_freq="epoch", write_graph=False)
        self._pending: queue.Queue[tuple[str, int, dict[str, float]] | None] = queue.Queue()
        self._writer_thread: threading.Thread | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Start the writing thread."""
        super().on_train_begin(logs)
        self._writer_thread = threading.Thread(target=self._write_all, name="lepton-tensorboard", daemon=True)
        self._writer_thread.start()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Nothing: per-batch summaries are off with ``update_freq="epoch"`` (Keras's would be no-ops)."""

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        """Queue the validation scalars against the optimizer's iterations, as Keras's does."""
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "iterations") and logs:
            step = int(keras.ops.convert_to_numpy(optimizer.iterations))
            values = {f"evaluation_{name}_vs_iterations": value for name, value in logs.items()}
            self._queue("validation", step, values)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Queue the epoch's training (with the learning rate) and validation scalars."""
        if not logs:
            return
        train = self._collect_learning_rate({k: v for k, v in logs.items() if not k.startswith("val_")})
        self._queue("train", epoch, {f"epoch_{name}": value for name, value in train.items()})
        validation = {f"epoch_{k[4:]}": v for k, v in logs.items() if k.startswith("val_")}
        if validation:
            self._queue("validation", epoch, validation)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """Write what is queued, then close the writers (also called when fit ends early)."""
        if self._writer_thread is not None:
            self._pending.put(None)
            self._writer_thread.join()
            self._writer_thread = None
        super().on_train_end(logs)

    def _queue(self, writer: str, step: int, values: dict[str, Any]) -> None:
        scalars = {}
        for name, value in values.items():
            try:
                scalars[name] = float(value)
            except (TypeError, ValueError):
                continue  # non-scalar logs: Keras's summary would refuse them too
        if self._writer_thread is None:  # hooks called outside fit: write now
            self._write(writer, step, scalars)
        else:
            self._pending.put((writer, step, scalars))

    def _write_all(self) -> None:
        while (item := self._pending.get()) is not None:
            self._write(*item)

    def _write(self, writer: str, step: int, scalars: dict[str, float]) -> None:
        target = self._train_writer if writer == "train" else self._val_writer
        with target.as_default():
            for name, value in scalars.items():
                self.summary.scalar(name, value, step=step)
