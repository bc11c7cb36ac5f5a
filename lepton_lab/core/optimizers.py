"""Optimizers: the Keras optimizer and compile settings a :class:`TrainSpec` describes.

The runner and the runtime probe compile models the same way through :func:`compile_model`, so a
probed setting is timed on exactly the step the run will train with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lepton_lab.core.specs import TrainSpec

if TYPE_CHECKING:
    import keras

#: Loss and metrics of every run (integer labels, softmax outputs).
LOSS = "sparse_categorical_crossentropy"
METRICS = ("accuracy",)


def make_optimizer(train: TrainSpec, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """Build the Keras optimizer a :class:`TrainSpec` describes (with its learning-rate schedule)."""
    from lepton_lab.core.tf_import import keras

    learning_rate: Any = train.learning_rate
    if train.lr_schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=train.learning_rate, decay_steps=max(1, steps_per_epoch * train.epochs)
        )
    weight_decay = train.weight_decay or None
    if train.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate, weight_decay=weight_decay)
    if train.optimizer == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=train.weight_decay)
    if train.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=train.momentum, weight_decay=weight_decay)
    return keras.optimizers.RMSprop(learning_rate, momentum=train.momentum, weight_decay=weight_decay)


def compile_model(
    model: keras.Model, train: TrainSpec, steps_per_epoch: int, settings: dict[str, Any]
) -> keras.Model:
    """Compile ``model`` for ``train`` with the runtime ``settings`` (steps per execution, XLA)."""
    model.compile(
        optimizer=make_optimizer(train, steps_per_epoch),
        loss=LOSS,
        metrics=list(METRICS),
        steps_per_execution=settings["steps_per_execution"],
        jit_compile=settings["jit_compile"],
    )
    return model
