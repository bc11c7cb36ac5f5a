"""Verification: score an export, loaded back in its own runtime, against the Keras model.

The export's predictions on the run's test split (raw inputs, as the dataset stores them) give
its test accuracy and its agreement with the Keras model (the fraction of examples where both
pick the same class); ``latency_ms`` is the median wall time of one call at batch 1 and at
batch 32, ``latency_ms_per_example`` the same divided by the batch size.
An accuracy change beyond the tolerance (:data:`~lepton_lab.core.export.layout.TOLERANCE`)
makes a warning string that the CLI prints loudly.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

#: One call of an export: raw batch in, ``(probabilities, classes)`` out.
Predict = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]

#: Examples per call when scoring the test split.
SCORE_BATCH = 256
#: Batch sizes timed, and how many timed calls each (after one warm-up call).
LATENCY_BATCHES = (1, 32)
LATENCY_CALLS = 20


def predicted_classes(predict: Predict, images: np.ndarray, batch_size: int = SCORE_BATCH) -> np.ndarray:
    """Return the class ``predict`` picks for every example of ``images``, in batches."""
    classes = [predict(images[start : start + batch_size])[1] for start in range(0, len(images), batch_size)]
    return np.concatenate(classes).astype(np.int64) if classes else np.zeros(0, np.int64)


def latency_ms(
    predict: Predict,
    images: np.ndarray,
    *,
    calls: int = LATENCY_CALLS,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, float]:
    """Median milliseconds of one ``predict`` call at each of :data:`LATENCY_BATCHES`.

    ``images`` are repeated to fill a batch when the split is smaller.
    """
    result = {}
    for size in LATENCY_BATCHES:
        batch = np.ascontiguousarray(np.resize(images, (size, *images.shape[1:])).astype(images.dtype))
        predict(batch)  # warm-up: first calls allocate and resize tensors
        times = []
        for _ in range(calls):
            start = clock()
            predict(batch)
            times.append(clock() - start)
        result[f"batch_{size}"] = round(statistics.median(times) * 1000, 4)
    return result


def warning_text(label: str, keras_accuracy: float, accuracy: float, tolerance: float) -> str | None:
    """Return the warning for an accuracy change beyond ``tolerance``, or None within it."""
    change = accuracy - keras_accuracy
    if abs(change) <= tolerance + 1e-12:
        return None
    direction = "dropped" if change < 0 else "rose"
    return (
        f"{label} {direction} test accuracy by {abs(change) * 100:.1f} points "
        f"({keras_accuracy:.4f} -> {accuracy:.4f}), beyond the {tolerance * 100:.0f}-point tolerance: "
        "check it before deploying; quantize less (float16 or dynamic) or retrain"
        + (" with more representative training data" if "int8" in label else "")
    )


def score(
    predict: Predict,
    images: np.ndarray,
    labels: np.ndarray,
    keras_classes: np.ndarray,
    keras_accuracy: float,
    tolerance: float,
    label: str,
    *,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, Any]:
    """Return the verification fields of ``export.json`` for one export.

    Parameters
    ----------
    predict : Predict
        The export loaded in its runtime.
    images, labels : np.ndarray
        The test split, raw as stored, and its labels.
    keras_classes : np.ndarray
        The Keras model's predicted class for each test example.
    keras_accuracy : float
        The Keras model's test accuracy.
    tolerance : float
        Largest accuracy change (absolute fraction) without a warning.
    label : str
        What the warning calls the export, e.g. ``tflite-int8``.
    """
    classes = predicted_classes(predict, images)
    count = len(labels)
    accuracy = float((classes == labels).mean()) if count else 0.0
    agreement = float((classes == keras_classes).mean()) if count else 1.0
    warning = warning_text(label, keras_accuracy, accuracy, tolerance) if count else None
    latency = latency_ms(predict, images, clock=clock) if count else None
    per_example = (
        {key: round(value / int(key.split("_")[1]), 4) for key, value in latency.items()} if latency else None
    )
    return {
        "test_accuracy": round(accuracy, 6),
        "accuracy_change": round(accuracy - keras_accuracy, 6),
        "agreement": round(agreement, 6),
        "examples": count,
        "latency_ms": latency,
        "latency_ms_per_example": per_example,
        "tolerance": tolerance,
        "within_tolerance": warning is None,
        "warning": warning,
    }
