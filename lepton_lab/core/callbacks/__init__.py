"""Keras callbacks the runner adds to every fit, one per module as in ``keras.callbacks``.

Each depends only on the callback hooks, never on the runner. The runner orders them
``StopGuard, MetricsCallback, NaNGuard, EpochCheckpoint, ...`` so that an epoch's event is on
disk before its checkpoint: a crash in between repeats the epoch on resume rather than losing
its record.

- :mod:`~lepton_lab.core.callbacks.metrics` -- ``MetricsCallback`` streams batch and epoch
  events to ``events.jsonl``.
- :mod:`~lepton_lab.core.callbacks.stop_guard` -- ``StopGuard`` raises ``RunCancelled`` once
  the stop event is set.
- :mod:`~lepton_lab.core.callbacks.nan_guard` -- ``NaNGuard`` stops on a non-finite loss and
  says at which step.
- :mod:`~lepton_lab.core.callbacks.epoch_checkpoint` -- ``EpochCheckpoint`` saves atomically
  for resuming (``CheckpointDamaged`` when it cannot be read back).
- :mod:`~lepton_lab.core.callbacks.tensorboard` -- ``EpochTensorBoard``, Keras's per-epoch
  TensorBoard summaries written in a background thread.

Importing this package imports Keras (and TensorFlow).
"""

from lepton_lab.core.callbacks.epoch_checkpoint import CheckpointDamaged, EpochCheckpoint
from lepton_lab.core.callbacks.metrics import MetricsCallback
from lepton_lab.core.callbacks.nan_guard import NaNGuard
from lepton_lab.core.callbacks.stop_guard import RunCancelled, StopGuard

__all__ = ["CheckpointDamaged", "EpochCheckpoint", "MetricsCallback", "NaNGuard", "RunCancelled", "StopGuard"]
