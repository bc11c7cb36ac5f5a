"""Text and audio figures: load + adapt time, text_bilstm's training speed, accuracy against baselines.

Three parts, each repeated ``--repeats`` times and reported as the median (with every value):

1. **Load and adapt**: ``fortunes_languages`` loaded in this process (the first load reads the
   fortune files; later ones hit the parsed-file cache, both are reported), and its
   ``TextVectorization`` adapted on the training split in ``int`` mode (``text_bilstm``'s) and in
   ``tf_idf`` mode with bigrams (``bag_of_words``'s).
2. **Training speed**: steps/s of ``text_bilstm`` trained by the runner (``ll.train``, its default
   runtime) against the same network written by hand in Keras (the model ``to_code()`` prints,
   its vectorizer adapted on the same texts) fed by plain ``model.fit`` on
   ``tf.data.Dataset.from_tensor_slices(...).batch(...)``. Interleaved: runner, Keras, runner, ...
   Speed is the epoch's steps over its wall time (validation included in both), first epoch
   (tracing) left out.
3. **Accuracy** on the test split, one run per seed: each text preset on ``fortunes_languages``
   and ``fortunes_topics``, ``audio_cnn`` on ``spoken_digits``; against the majority class and,
   for text, TF-IDF + logistic regression built from Keras layers (``TextVectorization`` in
   ``tf_idf`` mode with bigrams → ``Dense(softmax)``, trained by ``model.fit``).

Usage::

    python bench/bench_text.py [--repeats 3] [--speed-subset 3200] [--epochs 5] [--parts load,speed,accuracy]

Results are printed and written to ``bench/results/text.json``. Nothing here is asserted: the
numbers depend on the machine and how busy it is (interleaving keeps the speed ratio fair).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
BATCH = 32


def _median(values: list[float], digits: int = 4) -> dict[str, Any]:
    return {"median": round(statistics.median(values), digits), "values": [round(v, digits) for v in values]}


# --- 1. load and adapt ---------------------------------------------------------------------------


def load_and_adapt(repeats: int) -> dict[str, Any]:
    """Time the dataset load and the vectorizer's adapt in int and tf_idf (bigram) modes."""
    from lepton_lab.core import datasets, preprocessing
    from lepton_lab.core.datasets import pipeline
    from lepton_lab.core.models import PRESET_PREPROCESSING

    loads = []
    for _ in range(repeats):
        start = time.perf_counter()
        data = datasets.load("fortunes_languages")
        loads.append(time.perf_counter() - start)
    adapt: dict[str, list[float]] = {"int": [], "tf_idf_bigrams": []}
    for _ in range(repeats):
        for label, preset in (("int", "text_bilstm"), ("tf_idf_bigrams", "bag_of_words")):
            texts = pipeline.batches(data, "train", preprocessing.ADAPT_BATCH, shuffle=False).map(
                lambda x, y: x
            )
            start = time.perf_counter()
            preprocessing.adapt(PRESET_PREPROCESSING[preset], texts, ())
            adapt[label].append(time.perf_counter() - start)
    return {
        "dataset": "fortunes_languages",
        "train_texts": data.count("train"),
        "load_s": _median(loads),
        "adapt_s": {label: _median(values) for label, values in adapt.items()},
    }


# --- 2. text_bilstm: runner vs hand-written Keras --------------------------------------------------


def _runner_speed(subset: int, epochs: int, seed: int, runs_dir: Path) -> float:
    import lepton_lab as ll

    run = ll.train(
        dataset={"name": "fortunes_languages", "subset": subset},
        model="text_bilstm",
        train={"epochs": epochs, "batch_size": BATCH, "seed": seed},
        runs_dir=runs_dir,
    )
    assert run.status["status"] == "completed", run.status
    metrics = run.metrics("epoch")
    steps = np.diff(np.concatenate([[0], metrics["step"].to_numpy()]))
    times = metrics["epoch_time_s"].to_numpy()
    return float(steps[1:].sum() / times[1:].sum())


def _keras_model(data: Any) -> Any:
    """The network ``to_code()`` writes for text_bilstm, with its vectorizer adapted on the texts."""
    from lepton_lab.core import models
    from lepton_lab.core.tf_import import keras

    spec = models.preset("text_bilstm", data.input_shape, data.num_classes)
    namespace: dict[str, Any] = {}
    exec(models.to_code(spec, data.input_shape, data.num_classes), namespace)
    model = namespace["model"]
    texts, _ = data.arrays("train")
    (vectorizer,) = [layer for layer in model.layers if isinstance(layer, keras.layers.TextVectorization)]
    vectorizer.adapt(texts.astype(str))
    model.compile(
        optimizer=keras.optimizers.Adam(0.001), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


def _keras_speed(subset: int, epochs: int, seed: int) -> float:
    from lepton_lab.core import datasets
    from lepton_lab.core.tf_import import keras, tf

    keras.utils.set_random_seed(seed)
    data = datasets.load("fortunes_languages", subset=subset)
    model = _keras_model(data)
    train_x, train_y = data.arrays("train")
    val_x, val_y = data.arrays("validation")
    train = (
        tf.data.Dataset.from_tensor_slices((train_x.astype(str), train_y)).shuffle(len(train_y)).batch(BATCH)
    )
    val = tf.data.Dataset.from_tensor_slices((val_x.astype(str), val_y)).batch(BATCH)
    times: list[float] = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            times.append(time.perf_counter() - self.start)

    model.fit(train, validation_data=val, epochs=epochs, verbose=0, callbacks=[EpochTimer()])
    steps = int(np.ceil(len(train_y) / BATCH))
    return steps * (len(times) - 1) / sum(times[1:])


def training_speed(repeats: int, subset: int, epochs: int) -> dict[str, Any]:
    """Interleave the runner and plain Keras ``repeats`` times each; steps/s and their ratio."""
    runner, plain = [], []
    with tempfile.TemporaryDirectory() as root:
        for repeat in range(repeats):
            runner.append(_runner_speed(subset, epochs, repeat, Path(root)))
            plain.append(_keras_speed(subset, epochs, repeat))
            print(
                f"  speed {repeat + 1}/{repeats}: runner {runner[-1]:.2f} steps/s, keras {plain[-1]:.2f}",
                flush=True,
            )
    return {
        "model": "text_bilstm",
        "train_texts": subset,
        "batch_size": BATCH,
        "epochs": epochs,
        "runner_steps_per_s": _median(runner, 2),
        "keras_fit_steps_per_s": _median(plain, 2),
        "ratio_runner_over_keras": _median([r / k for r, k in zip(runner, plain, strict=True)], 3),
    }


# --- 3. accuracy against baselines -------------------------------------------------------------------


def _preset_accuracy(dataset: dict[str, Any], preset: str, epochs: int, seed: int, runs_dir: Path) -> float:
    import lepton_lab as ll

    run = ll.train(
        dataset=dataset,
        model=preset,
        train={"epochs": epochs, "batch_size": BATCH, "seed": seed},
        runs_dir=runs_dir,
    )
    assert run.status["status"] == "completed", run.status
    return float(run.evaluation.accuracy)


def _tfidf_logistic_regression(name: str, epochs: int, seed: int) -> float:
    """TF-IDF (words and bigrams) → Dense(softmax): multinomial logistic regression, in Keras."""
    from lepton_lab.core import datasets
    from lepton_lab.core.tf_import import keras

    keras.utils.set_random_seed(seed)
    data = datasets.load(name)
    train_x, train_y = data.arrays("train")
    test_x, test_y = data.arrays("test")
    vectorizer = keras.layers.TextVectorization(max_tokens=10_000, output_mode="tf_idf", ngrams=2)
    vectorizer.adapt(train_x.astype(str))
    features = vectorizer(train_x.astype(str))
    classifier = keras.Sequential(
        [keras.Input((features.shape[1],)), keras.layers.Dense(data.num_classes, activation="softmax")]
    )
    classifier.compile(
        optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    classifier.fit(features, train_y, epochs=epochs, batch_size=BATCH, verbose=0)
    predicted = classifier.predict(vectorizer(test_x.astype(str)), verbose=0).argmax(axis=1)
    return float((predicted == test_y).mean())


def _majority(name: str) -> float:
    from lepton_lab.core import datasets

    data = datasets.load(name)
    majority = np.bincount(data.labels("train")).argmax()
    return float((data.labels("test") == majority).mean())


def accuracy(repeats: int, epochs: int) -> dict[str, Any]:
    """Test accuracy of each preset (median over seeds) and of the baselines."""
    result: dict[str, Any] = {"epochs": epochs, "batch_size": BATCH}
    with tempfile.TemporaryDirectory() as root:
        for name in ("fortunes_languages", "fortunes_topics"):
            entry: dict[str, Any] = {"majority_class": round(_majority(name), 4)}
            for preset in ("bag_of_words", "text_cnn", "text_bilstm"):
                values = [
                    _preset_accuracy({"name": name}, preset, epochs, seed, Path(root))
                    for seed in range(repeats)
                ]
                entry[preset] = _median(values)
                print(f"  {name} {preset}: {entry[preset]}", flush=True)
            values = [_tfidf_logistic_regression(name, epochs, seed) for seed in range(repeats)]
            entry["tfidf_logistic_regression"] = _median(values)
            print(f"  {name} tf-idf + logistic regression: {entry['tfidf_logistic_regression']}", flush=True)
            result[name] = entry
        values = [
            _preset_accuracy({"name": "spoken_digits"}, "audio_cnn", epochs, seed, Path(root))
            for seed in range(repeats)
        ]
        result["spoken_digits"] = {
            "majority_class": round(_majority("spoken_digits"), 4),
            "audio_cnn": _median(values),
        }
        print(f"  spoken_digits audio_cnn: {result['spoken_digits']}", flush=True)
    return result


def main() -> None:
    """Run the parts asked for; print and save ``bench/results/text.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--speed-subset", type=int, default=3200, help="training texts for the speed part")
    parser.add_argument(
        "--speed-epochs", type=int, default=3, help="epochs per speed run (the first is left out)"
    )
    parser.add_argument("--epochs", type=int, default=5, help="epochs per accuracy run")
    parser.add_argument("--parts", default="load,speed,accuracy")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    result: dict[str, Any] = {"cpus": os.cpu_count(), "repeats": args.repeats}
    if "load" in parts:
        result["load_and_adapt"] = load_and_adapt(args.repeats)
        print(json.dumps(result["load_and_adapt"]), flush=True)
    if "speed" in parts:
        result["training_speed"] = training_speed(args.repeats, args.speed_subset, args.speed_epochs)
    if "accuracy" in parts:
        result["accuracy"] = accuracy(args.repeats, args.epochs)
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    suffix = "" if parts == {"load", "speed", "accuracy"} else "-" + "-".join(sorted(parts))
    (RESULTS / f"text{suffix}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
