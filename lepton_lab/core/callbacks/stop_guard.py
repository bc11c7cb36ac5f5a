"""StopGuard: a Keras callback that cancels ``fit`` between batches once a stop event is set."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from lepton_lab.core.tf_import import keras

if TYPE_CHECKING:
    from lepton_lab.core.callbacks.epoch_checkpoint import EpochCheckpoint


class RunCancelled(Exception):
    """Raised inside ``fit`` when the stop event is set: the run ends ``cancelled``.

    Raising (rather than setting ``model.stop_training``) keeps Keras from treating a cut-off
    epoch as finished, so no checkpoint claims it and a resumed run repeats the whole epoch.
    """


class StopGuard(keras.callbacks.Callback):
    """Raise :class:`RunCancelled` at the next batch or epoch once ``stop`` is set.

    Parameters
    ----------
    stop
        Set by a Stop button, ``Run.stop()`` or the worker's SIGTERM handler.
    checkpoint
        Saved before cancelling between epochs, so a resumed run continues after the last one.
    """

    def __init__(self, stop: threading.Event | None, checkpoint: EpochCheckpoint | None = None) -> None:
        super().__init__()
        self.stop = stop
        self.checkpoint = checkpoint
        self._epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Cancel between epochs, after saving the epoch that just ended."""
        self._epoch = epoch
        if self.stop is not None and self.stop.is_set():
            if self.checkpoint is not None:
                self.checkpoint.save_completed()
            raise RunCancelled(f"cancelled after epoch {epoch}")

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Cancel before the next batch."""
        if self.stop is not None and self.stop.is_set():
            raise RunCancelled(f"cancelled during epoch {self._epoch + 1}")
