"""EpochCheckpoint: Keras's ``BackupAndRestore`` with cheap, atomic saves between epochs."""

from __future__ import annotations

import json
import os
import time
from typing import Any

from lepton_lab.core.tf_import import keras


class CheckpointDamaged(RuntimeError):
    """The run's checkpoint cannot be restored; the message says which folder to delete."""


class EpochCheckpoint(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` that keeps saving cheap when epochs are short.

    Writing the checkpoint (weights and optimizer state, HDF5) takes tens of milliseconds even
    for a small CNN, as long as a whole epoch of a small dataset. So an epoch's end is saved
    only once at least ``cost_factor`` times the previous save's duration has passed since that
    save (saving then costs at most ``1 / cost_factor`` of the training time), and always after
    the last epoch, before a cancel between epochs (:meth:`save_completed`) and when training ends
    early. Re-running resumes after the last saved epoch; with epochs longer than a save's
    ``cost_factor`` times, that is every epoch.

    Each save writes the weights and the epoch number to temporary files and then renames them
    over the checkpoint, so a process killed at any moment (a SIGKILL, a kernel shut down
    mid-save) leaves the previous checkpoint or the new one, never a torn HDF5 file.

    Parameters
    ----------
    backup_dir
        The run's ``checkpoints/`` directory.
    cost_factor
        Minimum ratio of training time to saving time between two saves. 50 keeps saving
        within 2 % of the training time (20 allowed 5 %, the whole margin a run may lose
        against hand-tuned Keras); a run killed mid-way repeats at most 50 saves' worth of
        training, about a second for a small CNN.
    """

    def __init__(self, backup_dir: str, cost_factor: float = 50.0) -> None:
        # Keep the checkpoint after training: a cancelled or early-stopped run can be resumed, and
        # re-running a completed run finds nothing left to train. No second copy is needed: saves
        # are atomic (see _save_model).
        super().__init__(backup_dir, delete_checkpoint=False)
        self.cost_factor = cost_factor
        self.saved_epochs = 0  # completed epochs in the checkpoint on disk
        self._completed: int | None = None  # 0-based index of the last completed, unsaved epoch
        self._last_save_end = 0.0
        self._last_save_cost = 0.0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Restore the checkpoint, if any (the model resumes at the next epoch)."""
        try:
            super().on_train_begin(logs)
        except OSError as error:  # torn by a kill mid-save under an older, non-atomic version
            raise CheckpointDamaged(
                f"the checkpoint in {self.backup_dir} cannot be read ({error}); delete that folder "
                "to train this run again from the start (its events and metrics are kept)"
            ) from error
        self.saved_epochs = int(getattr(self.model, "_initial_epoch", None) or 0)
        self._completed = None
        self._last_save_end = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Save the epoch if enough training time has passed since the last save, or it is the last."""
        if self.model.stop_training:
            # A batch callback (TerminateOnNaN) cut this epoch short: its weights are no epoch's end,
            # and those of the last completed epoch are gone. Keep the checkpoint on disk as it is.
            self._completed = None
            return
        self._completed = epoch
        last_epoch = epoch + 1 >= int((self.params or {}).get("epochs") or 0)
        elapsed = time.perf_counter() - self._last_save_end
        if last_epoch or self.saved_epochs == 0 or elapsed >= self.cost_factor * self._last_save_cost:
            self.save_completed()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """Save the last completed epoch (training may have ended early)."""
        self.save_completed()
        super().on_train_end(logs)

    def _save_model(self) -> None:
        """Write the checkpoint atomically (replaces ``BackupAndRestore``'s in-place writes)."""
        os.makedirs(self.backup_dir, exist_ok=True)
        partial_weights = os.path.join(self.backup_dir, "saving.weights.h5")
        partial_metadata = f"{self._training_metadata_path}.saving"
        self.model.save_weights(partial_weights, overwrite=True)
        with open(partial_metadata, "w", encoding="utf-8") as handle:
            json.dump({"epoch": self._current_epoch, "batch": self._last_batch_seen}, handle)
        # Weights first: a kill between the two renames leaves the next epoch's weights with the
        # previous epoch number, so a resume repeats one epoch instead of skipping one.
        os.replace(partial_weights, self._weights_path)
        os.replace(partial_metadata, self._training_metadata_path)

    def save_completed(self) -> None:
        """Save the last completed epoch unless it is saved already.

        Only valid between epochs, when the model's state is exactly that epoch's end.
        """
        if self._completed is None or self._completed + 1 <= self.saved_epochs:
            return
        start = time.perf_counter()
        super().on_epoch_end(self._completed)
        self._last_save_end = time.perf_counter()
        self._last_save_cost = self._last_save_end - start
        self.saved_epochs = self._completed + 1
