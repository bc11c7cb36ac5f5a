"""NaNGuard: Keras's ``TerminateOnNaN`` that records where the loss stopped being finite."""

from __future__ import annotations

import math
from typing import Any

from lepton_lab.core.tf_import import keras


class NaNGuard(keras.callbacks.TerminateOnNaN):
    """``TerminateOnNaN`` that remembers the global step at which the loss stopped being finite.

    Parameters
    ----------
    step_of
        Returns the current global step (the runner passes the MetricsCallback's).
    """

    def __init__(self, step_of: Any) -> None:
        super().__init__()
        self.step_of = step_of
        self.step: int | None = None
        self.value: float | None = None

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Record the first non-finite loss, then let TerminateOnNaN stop training."""
        loss = (logs or {}).get("loss")
        if self.step is None and loss is not None and not math.isfinite(float(loss)):
            self.step, self.value = int(self.step_of()), float(loss)
        super().on_batch_end(batch, logs)

    def message(self, epoch: int, learning_rate: float) -> str:
        """Explain the failure and the fix."""
        kind = "NaN" if self.value is None or math.isnan(self.value) else "infinite"
        return (
            f"loss became {kind} at step {self.step} (epoch {epoch}); "
            f"lower the learning rate (train.learning_rate is {learning_rate:g})"
        )
