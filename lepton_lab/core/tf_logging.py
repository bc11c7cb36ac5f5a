"""TensorFlow's retracing warning, silenced where one trace per model is what happens.

Every Keras model traces its own train and predict functions, and TensorFlow counts the traces of
all of them together because they come from the same Python function. A notebook that trains or
predicts with a fifth model (tutorial 07 trains three text models; tutorial 06 exports and then
opens a pad) gets "WARNING:tensorflow:5 out of the last 13 calls to ... triggered tf.function
retracing", which reads like a bug in the reader's code and is none: each model traced once.
:func:`one_trace_per_model` drops that one message while Lepton Lab trains or predicts; every other
TensorFlow warning still shows.

Uses only :mod:`logging` (TensorFlow's logger is ``logging.getLogger("tensorflow")``), so importing
this module does not import TensorFlow.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

__all__ = ["RETRACING_MESSAGE", "one_trace_per_model"]

#: The text that marks TensorFlow's excessive-retracing warning.
RETRACING_MESSAGE = "triggered tf.function retracing"


class _DropRetracingWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return RETRACING_MESSAGE not in record.getMessage()


@contextlib.contextmanager
def one_trace_per_model() -> Iterator[None]:
    """Drop TensorFlow's excessive-retracing warning inside the block; other messages pass."""
    quiet = _DropRetracingWarning()
    logger = logging.getLogger("tensorflow")
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)
