"""Runtime probe: seconds per training step of one runtime setting, measured with TensorFlow.

:func:`step_timer` returns the ``measure`` function :func:`lepton_lab.core.runtime_policy.decide`
calls. Each call builds a fresh copy of the run's model with the setting's precision, compiles it
as the run will (:func:`~lepton_lab.core.optimizers.compile_model`), feeds it the run's own
training pipeline built with the setting's input options, and times whole epochs of a few steps
after a first one that traces and warms up. The run's model is never touched: it is built after
the probe from the same seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lepton_lab.core.optimizers import compile_model
from lepton_lab.core.specs import TrainSpec

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

#: Steps per timed epoch (rounded up to a multiple of steps_per_execution).
PROBE_STEPS = 32
#: Timed epochs after the warm-up one; the fastest counts (the others met more noise).
PROBE_REPEATS = 2


def step_timer(
    train: TrainSpec,
    build_model: Callable[[str], keras.Model],
    train_data: Callable[[dict[str, Any]], tf.data.Dataset],
    *,
    replay_first_batches: bool = False,
    clock: Callable[[], float] = time.perf_counter,
) -> Callable[[dict[str, Any]], float]:
    """Return a function from a runtime setting to its measured seconds per training step.

    Parameters
    ----------
    train
        The run's training settings (optimizer, batch size, seed).
    build_model
        Builds a fresh, uncompiled copy of the run's model under a dtype policy name.
    train_data
        Builds the run's training pipeline for a setting (its input options).
    replay_first_batches
        Time the first batches again and again instead of the stream: for pipelines whose later
        epochs read a cache (image folders), where a short probe would time only decoding.
    clock
        Seconds counter.
    """
    from lepton_lab.core.tf_import import keras

    def measure(settings: dict[str, Any]) -> float:
        per_execution = int(settings["steps_per_execution"])
        steps = -(-max(PROBE_STEPS, per_execution) // per_execution) * per_execution
        keras.utils.set_random_seed(train.seed)
        model = compile_model(build_model(settings["precision"]), train, steps, settings)
        data = train_data(settings)
        data = data.take(steps).cache().repeat() if replay_first_batches else data.repeat()
        times: list[float] = []

        class EpochTimer(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
                self.start = clock()

            def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                times.append(clock() - self.start)

        model.fit(
            data,
            steps_per_epoch=steps,
            epochs=1 + PROBE_REPEATS,
            verbose=0,
            callbacks=[EpochTimer()],
            shuffle=False,
        )
        return min(times[1:]) / steps

    return measure
