"""Tests of test-set evaluation: numpy metrics checked against scikit-learn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from lepton_lab.core.evaluate import Evaluation, evaluate, evaluate_predictions


def _random_predictions(seed: int = 0, n: int = 300, classes: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=n)
    logits = rng.normal(size=(n, classes))
    logits[np.arange(n), labels] += 1.0  # better than chance, far from perfect
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return labels, probs


def test_metrics_match_scikit_learn() -> None:
    labels, probs = _random_predictions()
    names = [f"c{i}" for i in range(5)]
    result = evaluate_predictions(labels, probs, names)
    predicted = probs.argmax(axis=1)
    precision, recall, f1, support = precision_recall_fscore_support(labels, predicted, zero_division=0)
    assert result.accuracy == pytest.approx(accuracy_score(labels, predicted))
    assert result.confusion == confusion_matrix(labels, predicted).tolist()
    frame = result.per_class_frame()
    np.testing.assert_allclose(frame["precision"], precision)
    np.testing.assert_allclose(frame["recall"], recall)
    np.testing.assert_allclose(frame["f1"], f1)
    assert frame["support"].tolist() == support.tolist()
    macro = precision_recall_fscore_support(labels, predicted, average="macro", zero_division=0)
    assert result.macro["precision"] == pytest.approx(macro[0])
    assert result.macro["recall"] == pytest.approx(macro[1])
    assert result.macro["f1"] == pytest.approx(macro[2])


def test_class_never_predicted_scores_zero_like_scikit_learn() -> None:
    labels = np.array([0, 1, 2, 2])
    probs = np.array([[0.9, 0.05, 0.05], [0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.2, 0.1, 0.7]])
    result = evaluate_predictions(labels, probs, ["a", "b", "c"])
    precision, _, f1, _ = precision_recall_fscore_support(labels, probs.argmax(1), zero_division=0)
    assert [row["precision"] for row in result.per_class] == pytest.approx(precision.tolist())
    assert [row["f1"] for row in result.per_class] == pytest.approx(f1.tolist())
    assert result.per_class[1]["precision"] == 0.0


def test_worst_examples_are_confident_mistakes_first() -> None:
    labels, probs = _random_predictions(seed=1)
    result = evaluate_predictions(labels, probs, [str(i) for i in range(5)])
    assert len(result.worst) == 25
    true_probs = [w["true_probability"] for w in result.worst]
    assert true_probs == sorted(true_probs)
    assert true_probs[0] == pytest.approx(probs[np.arange(len(labels)), labels].min())
    first = result.worst[0]
    assert first["predicted"] != first["true"]
    assert first["confidence"] == pytest.approx(probs[first["index"]].max())


def test_grid_holds_first_25_examples() -> None:
    labels, probs = _random_predictions(seed=2)
    result = evaluate_predictions(labels, probs, [str(i) for i in range(5)])
    assert [g["index"] for g in result.grid] == list(range(25))
    assert [g["true"] for g in result.grid] == labels[:25].tolist()
    assert [g["predicted"] for g in result.grid] == probs[:25].argmax(1).tolist()


def test_json_round_trip_and_frames(tmp_path: Path) -> None:
    labels, probs = _random_predictions(seed=3, classes=3)
    result = evaluate_predictions(labels, probs, ["cat", "dog", "eel"])
    path = tmp_path / "evaluation.json"
    result.save(path)
    again = Evaluation.load(path)
    assert again == result
    assert Evaluation.from_json(result.to_json()) == result
    confusion = again.confusion_frame()
    assert list(confusion.index) == ["cat", "dog", "eel"] and confusion.index.name == "true"
    assert confusion.to_numpy().sum() == len(labels)
    assert set(again.worst_frame()["true_name"]) <= {"cat", "dog", "eel"}


def test_one_hot_labels_are_accepted() -> None:
    labels, probs = _random_predictions(seed=4, classes=4)
    one_hot = np.eye(4)[labels]
    assert evaluate_predictions(one_hot, probs, list("abcd")) == evaluate_predictions(
        labels, probs, list("abcd")
    )


def test_shape_mismatch_names_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"shape \(3, 2\).*got \(3, 3\)"):
        evaluate_predictions([0, 1, 1], np.ones((3, 3)) / 3, ["a", "b"])


def test_evaluate_runs_a_keras_model() -> None:
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(40, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    result = evaluate(model, x, y, ["neg", "pos"])
    probs = model.predict(x, verbose=0)
    assert result.count == 40
    assert result.accuracy == pytest.approx(float((probs.argmax(1) == y).mean()))
    assert result.loss == pytest.approx(float(-np.log(probs[np.arange(40), y]).mean()), rel=1e-4)
