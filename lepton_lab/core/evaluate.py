"""Evaluation: test-set metrics of a trained classifier (``evaluation.json``).

Metrics are computed with numpy from the predicted class probabilities: accuracy, per-class
precision / recall / F1 / support, their macro averages, the confusion matrix (rows are true
classes, columns predicted), the worst-classified examples and the predictions for a 5x5 grid of
the first test examples. For text, those examples also keep their text (cut to
:data:`TEXT_CHARS`), so reports and views show them without reloading the dataset; other
examples are found again by ``index`` in the test split (images and audio clips are too large
for a JSON file).

Only :func:`evaluate` touches the model (``model.predict``); :func:`evaluate_predictions` works on
arrays, and reading an ``evaluation.json`` imports neither TensorFlow nor Keras.

Examples
--------
>>> import numpy as np
>>> result = evaluate_predictions([0, 1, 1], np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]), ["a", "b"])
>>> round(result.accuracy, 3), result.confusion
(0.667, [[1, 0], [1, 1]])
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

#: Number of worst-classified examples kept.
WORST_COUNT = 25
#: Number of examples in the prediction grid (5x5).
GRID_COUNT = 25
#: Characters of a text example kept in ``worst`` / ``grid`` entries.
TEXT_CHARS = 1000


@dataclass
class Evaluation:
    """Test-set metrics of one model.

    Attributes
    ----------
    accuracy
        Fraction of examples whose most likely class is the true class.
    count
        Number of examples evaluated.
    class_names
        Name of each class, in label order.
    per_class
        One dict per class: ``class``, ``precision``, ``recall``, ``f1``, ``support``.
    macro
        Unweighted means over classes: ``precision``, ``recall``, ``f1``.
    confusion
        ``confusion[i][j]``: examples of true class ``i`` predicted as class ``j``.
    worst
        Up to 25 examples, least probability on the true class first: ``index`` (into the
        test split), ``true``, ``predicted`` (label indices), ``confidence`` (probability of the
        predicted class) and ``true_probability``; for text also ``text`` (evaluations written
        before text runs existed have none).
    grid
        The first 25 test examples: ``index``, ``true``, ``predicted``, ``confidence`` (and
        ``text`` for text).
    loss
        Mean cross-entropy on the test split, if computed.
    """

    accuracy: float
    count: int
    class_names: list[str]
    per_class: list[dict[str, Any]]
    macro: dict[str, float]
    confusion: list[list[int]]
    worst: list[dict[str, Any]] = field(default_factory=list)
    grid: list[dict[str, Any]] = field(default_factory=list)
    loss: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (the content of ``evaluation.json``)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evaluation:
        """Rebuild an Evaluation from :meth:`to_dict` output."""
        return cls(**data)

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str | bytes) -> Evaluation:
        """Parse :meth:`to_json` output."""
        return cls.from_dict(json.loads(text))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write ``evaluation.json``."""
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Evaluation:
        """Read an ``evaluation.json``."""
        return cls.from_json(Path(path).read_text(encoding="utf-8"))

    def per_class_frame(self) -> pd.DataFrame:
        """Per-class precision, recall, F1 and support, indexed by class name."""
        import pandas as pd

        frame = pd.DataFrame(self.per_class).set_index("class")
        frame.index.name = "class"
        return frame

    def confusion_frame(self) -> pd.DataFrame:
        """Confusion matrix with true classes as rows and predicted classes as columns."""
        import pandas as pd

        return pd.DataFrame(
            self.confusion,
            index=pd.Index(self.class_names, name="true"),
            columns=pd.Index(self.class_names, name="predicted"),
        )

    def worst_frame(self) -> pd.DataFrame:
        """Return the worst-classified examples with class names beside the label indices."""
        import pandas as pd

        frame = pd.DataFrame(
            self.worst, columns=["index", "true", "predicted", "confidence", "true_probability"]
        )
        frame["true_name"] = [self.class_names[i] for i in frame["true"]]
        frame["predicted_name"] = [self.class_names[i] for i in frame["predicted"]]
        return frame


def _labels(y: Any) -> np.ndarray:
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] > 1:  # one-hot
        labels = labels.argmax(axis=1)
    return labels.reshape(-1).astype(np.int64)


def evaluate_predictions(
    y_true: Any,
    probabilities: Any,
    class_names: list[str] | tuple[str, ...],
    *,
    texts: Any = None,
) -> Evaluation:
    """Compute an :class:`Evaluation` from true labels and predicted class probabilities.

    Parameters
    ----------
    y_true
        Integer labels, shape ``(n,)`` (or one-hot, shape ``(n, classes)``).
    probabilities
        Predicted probabilities, shape ``(n, classes)``.
    class_names
        One name per class.
    texts
        For text data, the ``n`` examples: the worst and grid entries keep theirs as ``text``.
    """
    labels = _labels(y_true)
    probs = np.asarray(probabilities, dtype=np.float64)
    names = [str(name) for name in class_names]
    classes = len(names)
    if probs.ndim != 2 or probs.shape != (labels.shape[0], classes):
        raise ValueError(
            f"probabilities must have shape ({labels.shape[0]}, {classes}) for {labels.shape[0]} labels and "
            f"{classes} class names; got {probs.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"labels must lie in 0..{classes - 1} for {classes} class names")
    predicted = probs.argmax(axis=1)
    confidence = probs[np.arange(len(predicted)), predicted]

    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    true_positives = np.diag(confusion).astype(np.float64)
    support = confusion.sum(axis=1)
    predicted_count = confusion.sum(axis=0)
    # Classes never predicted (or absent) get 0 rather than NaN, as scikit-learn's zero_division=0.
    precision = np.divide(true_positives, predicted_count, out=np.zeros(classes), where=predicted_count > 0)
    recall = np.divide(true_positives, support, out=np.zeros(classes), where=support > 0)
    denominator = precision + recall
    f1 = np.divide(2 * precision * recall, denominator, out=np.zeros(classes), where=denominator > 0)

    true_probability = probs[np.arange(len(labels)), labels]
    worst_order = np.argsort(true_probability, kind="stable")[:WORST_COUNT]
    worst: list[dict[str, Any]] = [
        {
            "index": int(i),
            "true": int(labels[i]),
            "predicted": int(predicted[i]),
            "confidence": float(confidence[i]),
            "true_probability": float(true_probability[i]),
        }
        for i in worst_order
    ]
    grid: list[dict[str, Any]] = [
        {
            "index": i,
            "true": int(labels[i]),
            "predicted": int(predicted[i]),
            "confidence": float(confidence[i]),
        }
        for i in range(min(GRID_COUNT, len(labels)))
    ]
    if texts is not None:
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts for {len(labels)} labels; give one text per label")
        for entry in (*worst, *grid):
            entry["text"] = str(texts[entry["index"]])[:TEXT_CHARS]
    return Evaluation(
        accuracy=float((predicted == labels).mean()) if labels.size else 0.0,
        count=int(labels.size),
        class_names=names,
        per_class=[
            {
                "class": names[c],
                "precision": float(precision[c]),
                "recall": float(recall[c]),
                "f1": float(f1[c]),
                "support": int(support[c]),
            }
            for c in range(classes)
        ],
        macro={"precision": float(precision.mean()), "recall": float(recall.mean()), "f1": float(f1.mean())},
        confusion=confusion.tolist(),
        worst=worst,
        grid=grid,
        loss=float(-np.log(np.clip(true_probability, 1e-7, 1.0)).mean()) if labels.size else None,
    )


def evaluate(
    model: Any,
    x: Any,
    y: Any,
    class_names: list[str] | tuple[str, ...],
    *,
    batch_size: int = 256,
    texts: Any = None,
) -> Evaluation:
    """Evaluate a Keras classifier on ``(x, y)``.

    Parameters
    ----------
    model
        A Keras model whose outputs are class probabilities (softmax).
    x, y
        Test inputs and integer labels.
    class_names
        One name per class, in label order.
    batch_size
        Batch size for ``model.predict``.
    texts
        For text data, the test examples as strings (kept with the worst and grid entries).
    """
    probabilities = model.predict(x, batch_size=batch_size, verbose=0)
    return evaluate_predictions(y, probabilities, class_names, texts=texts)


def load(path: str | os.PathLike[str]) -> Evaluation:
    """Read an ``evaluation.json`` (a run directory's ``evaluation_path``)."""
    return Evaluation.load(path)
