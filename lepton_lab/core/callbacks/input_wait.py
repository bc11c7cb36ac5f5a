"""Input wait: how long training waited for data, per epoch.

A run is *input-bound* when the model finishes a step before the next batch is ready. To see
that without a profiler, :func:`instrument` wraps the training pipeline so every request for a
batch is timed inside tf.data itself: a ticker (asked first by ``zip``) stamps when the batch
was asked for, the pipeline stamps when it was delivered, and the difference is added to a
counter. :class:`InputWaitCallback` reads the counter at each epoch's end and adds
``input_wait_s`` to the epoch's logs, so it lands in the ``epoch`` event beside
``epoch_time_s`` (an optional field: older runs simply lack it).

The count includes tf.data's own per-batch cost of handing a ready batch over (microseconds).
With ``steps_per_execution > 1`` Keras may ask for the next batch while the current step still
computes; a wait then partly overlaps computation, so the figure is an upper bound there.
"""

from __future__ import annotations

from typing import Any

from lepton_lab.core.tf_import import keras, tf

#: Name of the field in epoch logs and events.
FIELD = "input_wait_s"


class InputWaitMeter:
    """Seconds the consumer of an instrumented pipeline has waited, in total."""

    def __init__(self) -> None:
        self.total = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="input_wait_s")

    def instrument(self, data: tf.data.Dataset) -> tf.data.Dataset:
        """Return ``data`` yielding the same elements, with every wait for one counted."""
        total = self.total
        # A sequential map over a counter runs the moment zip asks it, i.e. when the batch is
        # requested; the map after zip starts once the batch has arrived. One stage after the
        # pipeline's prefetch, not two: each stage there runs in the consumer's path for every
        # batch (a separate delivery stamp cost 0.5-1 ms a batch on a busy 2-core machine, a
        # fifth of a small model's epoch).
        asked = tf.data.Dataset.counter().map(lambda _: tf.timestamp())

        def count(asked_at: tf.Tensor, element: Any) -> Any:
            with tf.control_dependencies([total.assign_add(tf.timestamp() - asked_at)]):
                return tf.nest.map_structure(tf.identity, element)

        return tf.data.Dataset.zip(asked, data).map(count)

    def seconds(self) -> float:
        """Total seconds waited so far."""
        return float(self.total.numpy())


class InputWaitCallback(keras.callbacks.Callback):
    """Add ``input_wait_s`` (seconds training waited for data this epoch) to each epoch's logs.

    Place it before the callbacks that record epoch logs: Keras hands every callback the same
    logs dict, so they see the new field.
    """

    def __init__(self, meter: InputWaitMeter) -> None:
        super().__init__()
        self.meter = meter
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Note the counter at the epoch's start."""
        self._start = self.meter.seconds()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Add this epoch's wait to ``logs``."""
        if logs is not None:
            logs[FIELD] = max(0.0, self.meter.seconds() - self._start)
