"""Text and audio training: preprocessing inside the model, the presets and the runner's path.

The vectorizer learns from the training split only, a saved model takes raw strings or raw
waveforms, each preset learns the offline corpora above chance in two epochs, and a preset or
preprocessing meant for another kind of data is refused naming the presets that fit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lepton_lab.core import models, preprocessing, runner
from lepton_lab.core.datasets import Dataset, DatasetUnavailable, from_arrays, from_dataframe, load, pipeline
from lepton_lab.core.preprocessing_specs import (
    MelSpectrogramSpec,
    STFTSpectrogramSpec,
    TextVectorizationSpec,
    output_shape,
)
from lepton_lab.core.rundir import RunDir
from lepton_lab.core.shape_inference import ModelError
from lepton_lab.core.specs import JobSpec, ModelSpec, SpecError, parse_job
from lepton_lab.sharing.report import report

TOPICS = {
    "food": "pizza bread cheese soup salad cook kitchen taste",
    "space": "planet star rocket orbit moon galaxy astronaut",
    "music": "guitar song piano drum melody band concert",
}
FILLER = "the a of and to in is it that was".split()
#: A word only the test split's texts contain.
TEST_ONLY = "zyzzyva"
QUICK = {"epochs": 1, "batch_size": 16, "runtime": {"probe": "never"}}


def _topic_texts(per_class: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [
        {"text": " ".join(rng.choice(words.split() + FILLER, size=10)), "label": label}
        for label, words in TOPICS.items()
        for _ in range(per_class)
    ]
    return pd.DataFrame(rows)


def _text_dataset(per_class: int = 60) -> Dataset:
    """Topic texts in which every test example, and only those, holds :data:`TEST_ONLY`."""
    frame = _topic_texts(per_class)
    dataset = from_dataframe(frame, text="text", target="label", seed=0)
    test_rows = dataset._rows("test")
    texts = dataset._store.data.copy()
    texts[test_rows] = [f"{text} {TEST_ONLY}" for text in texts[test_rows]]
    dataset._store.data = texts
    return dataset


def _tone_dataset(n: int = 150, samples: int = 4000, rate: int = 16_000) -> Dataset:
    """Three classes of noisy tones (low, mid, high) as float32 waveforms in [-1, 1]."""
    rng = np.random.default_rng(0)
    labels = np.arange(n) % 3
    t = np.arange(samples) / rate
    pitch = np.array([300.0, 900.0, 2500.0])[labels, None] * rng.uniform(0.9, 1.1, (n, 1))
    waves = 0.5 * np.sin(2 * np.pi * pitch * t) + 0.1 * rng.standard_normal((n, samples))
    clipped = np.clip(waves, -1, 1).astype(np.float32)
    return from_arrays(clipped, labels, ["low", "mid", "high"], name="memory:tones", sample_rate=rate)


def test_arrays_of_str_or_waveforms_make_text_or_audio_datasets() -> None:
    texts = from_arrays(np.array(["a pizza", "a rocket", "the soup", "the moon"] * 5), np.arange(20) % 2)
    assert (texts.kind, texts.input_shape) == ("text", ())
    assert all(isinstance(text, str) for text in texts.page(0, 4).images)
    clips = from_arrays(
        (np.arange(40).reshape(10, 4) - 20).astype(np.int16), np.arange(10) % 2, sample_rate=8000
    )
    assert (clips.kind, clips.input_shape, clips.sample_rate) == ("audio", (4,), 8000)
    waves, _ = clips.arrays("test")
    assert waves.dtype == np.float32 and np.abs(waves).max() <= 20 / 32768
    with pytest.raises(ValueError, match=r"give floats in \[-1, 1\] or int16 PCM"):
        from_arrays(np.full((4, 8), 2.0), np.arange(4) % 2, sample_rate=8000)


def _train(dataset: Dataset, model: Any, tmp_path: Path, train: dict[str, Any] | None = None) -> Any:
    return runner.train(dataset=dataset, model=model, train=train or QUICK, runs_dir=tmp_path)


# -- specs ---------------------------------------------------------------------------------------


def test_an_old_model_spec_loads_and_serialises_as_before() -> None:
    old = {"dataset": {"name": "digits"}, "model": {"preset": "small_cnn", "layers": None}}
    spec = parse_job(json.dumps(old))
    assert spec.model.preprocessing is None
    assert spec.model.model_dump(mode="json") == {"preset": "small_cnn", "layers": None}


def test_preprocessing_round_trips_through_spec_json() -> None:
    data = {
        "dataset": {"name": "fortunes_topics"},
        "model": {
            "preset": "bag_of_words",
            "preprocessing": {"type": "TextVectorization", "output_mode": "multi_hot"},
        },
    }
    spec = parse_job(data)
    again = JobSpec.model_validate_json(spec.model_dump_json())
    assert again.model.preprocessing == spec.model.preprocessing
    assert again.model.preprocessing.output_mode == "multi_hot"


@pytest.mark.parametrize(
    ("preprocessing", "message"),
    [
        ({"type": "TextVectorization", "split": "sentence"}, "model.preprocessing.TextVectorization.split"),
        ({"type": "TextVectorization", "output_sequence_length": None}, "needs output_sequence_length"),
        ({"type": "MelSpectrogram", "frame_length": 512, "fft_length": 256}, "fft_length 256 is shorter"),
        ({"type": "Spectrogram"}, "'TextVectorization', 'MelSpectrogram', 'STFTSpectrogram'"),
    ],
)
def test_bad_preprocessing_is_a_spec_error_naming_the_field(
    preprocessing: dict[str, Any], message: str
) -> None:
    with pytest.raises(SpecError, match=message):
        parse_job({"dataset": {"name": "digits"}, "model": {"preprocessing": preprocessing}})


# -- presets and kinds ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "kind", "fits"),
    [
        ("small_cnn", "text", "text_bilstm, text_cnn, bag_of_words"),
        ("mlp", "audio", "audio_cnn"),
        ("text_cnn", "image", "mlp, small_cnn, cnn_bn"),
        ("audio_cnn", "text", "text_bilstm, text_cnn, bag_of_words"),
    ],
)
def test_a_preset_for_another_kind_names_the_presets_that_fit(preset: str, kind: str, fits: str) -> None:
    with pytest.raises(ModelError, match=f"this dataset is {kind}; the presets for {kind} data are {fits}"):
        models.check_kind(ModelSpec(preset=preset), kind)


def test_text_layers_without_preprocessing_are_refused_with_the_fix() -> None:
    spec = ModelSpec(layers=[{"type": "Dense", "units": 8}])
    with pytest.raises(ModelError, match=r"needs model.preprocessing \(TextVectorization\)"):
        models.check_kind(spec, "text")
    with pytest.raises(
        ModelError, match=r"model\.preprocessing MelSpectrogram reads audio but this dataset is text"
    ):
        models.check_kind(ModelSpec(layers=[{"type": "Flatten"}], preprocessing=MelSpectrogramSpec()), "text")
    with pytest.raises(
        ModelError, match=r"preset 'text_cnn' is made for text data, but the input has shape \(8, 8, 1\)"
    ):
        models.validate(ModelSpec(preset="text_cnn"), (8, 8, 1), 3)


def test_a_text_preset_refuses_preprocessing_of_the_wrong_mode() -> None:
    vectors = TextVectorizationSpec(output_mode="tf_idf", output_sequence_length=None)
    with pytest.raises(ModelError, match=r"set model\.preprocessing\.output_mode to 'int'"):
        models.validate(ModelSpec(preset="text_bilstm", preprocessing=vectors), (), 3)
    with pytest.raises(ModelError, match="'tf_idf', 'multi_hot' or 'count'"):
        models.validate(ModelSpec(preset="bag_of_words", preprocessing=TextVectorizationSpec()), (), 3)


@pytest.mark.parametrize(
    ("dataset", "preset", "message"),
    [
        ("fortunes_topics", "small_cnn", "'small_cnn' is made for image data, but fortunes_topics is text; "
         "use one of text_bilstm, text_cnn, bag_of_words"),
        ("spoken_digits", "text_cnn", "'text_cnn' is made for text data, but spoken_digits is audio; "
         "use one of audio_cnn"),
        ("digits", "audio_cnn", "'audio_cnn' is made for audio data, but digits is image; use one of mlp"),
    ],
)  # fmt: skip
def test_a_job_naming_a_registry_dataset_and_a_preset_for_other_data_is_refused(
    dataset: str, preset: str, message: str
) -> None:
    with pytest.raises(SpecError, match=message):
        parse_job({"dataset": {"name": dataset}, "model": {"preset": preset}})


@pytest.mark.parametrize(
    ("dataset", "model", "preset"),
    [
        ("fortunes_languages", None, "bag_of_words"),
        ("spoken_digits", None, "audio_cnn"),
        ("digits", None, "small_cnn"),
        ("fortunes_topics", {"preprocessing": {"type": "TextVectorization"}}, "text_cnn"),
        (
            "fortunes_topics",
            {"preprocessing": {"type": "TextVectorization", "output_mode": "multi_hot"}},
            "bag_of_words",
        ),
        ("spoken_digits", {"preprocessing": {"type": "STFTSpectrogram"}}, "audio_cnn"),
    ],
)
def test_a_job_without_a_model_gets_the_preset_for_its_data(dataset: str, model: Any, preset: str) -> None:
    data: dict[str, Any] = {"dataset": {"name": dataset}, **({"model": model} if model else {})}
    spec = parse_job(data)
    assert spec.model.preset == preset
    assert parse_job(spec.model_dump_json()).model == spec.model  # spec.json keeps the choice


def test_an_image_preset_on_a_text_dataset_fails_the_run_naming_the_fitting_presets(tmp_path: Path) -> None:
    run = _train(_text_dataset(), "small_cnn", tmp_path)
    assert run.status["status"] == "failed"
    assert "preset 'small_cnn' is made for image data" in run.status["error"]
    assert "text_bilstm, text_cnn, bag_of_words" in run.status["error"]


def test_the_summary_puts_the_preprocessing_between_input_and_layers() -> None:
    rows = models.summary_rows(ModelSpec(preset="text_cnn"), (), 3)
    assert [row["layer"] for row in rows[:3]] == ["Input", "TextVectorization", "Embedding"]
    assert rows[0]["output_shape"] == [None] and rows[1]["output_shape"] == [None, 200]
    assert [row["index"] for row in rows[2:]] == list(range(1, len(rows) - 1))


# -- preprocessing layers against Keras ----------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "samples"),
    [
        (MelSpectrogramSpec(), 16_000),
        (MelSpectrogramSpec(frame_length=256, frame_step=128, num_mel_bins=40), 8000),
        (STFTSpectrogramSpec(), 16_000),
        (STFTSpectrogramSpec(frame_length=200, frame_step=100, fft_length=512), 4000),
    ],
)
def test_spectrogram_output_shapes_are_keras_s(spec: Any, samples: int) -> None:
    from lepton_lab.core.tf_import import tf

    waves = tf.data.Dataset.from_tensors(tf.random.uniform((4, samples), -1, 1))
    layers = preprocessing.adapt(spec, waves, (samples,))
    values = tf.random.uniform((2, samples), -1, 1)
    for layer in layers:
        values = layer(values)
    assert tuple(values.shape[1:]) == output_shape(spec, (samples,))
    assert abs(float(tf.reduce_mean(values))) < 0.5  # normalised with the adapted statistics


@pytest.mark.parametrize("preset", ["text_bilstm", "text_cnn", "bag_of_words"])
def test_text_preset_parameter_counts_are_keras_s(preset: str) -> None:
    dataset = _text_dataset()
    spec = ModelSpec(preset=preset)
    pre = models.preprocessing_of(spec)
    train = pipeline.batches(dataset, "train", 64, shuffle=False).map(lambda x, y: x)
    model = models.build(spec, (), 3, preprocessing_layers=preprocessing.adapt(pre, train, ()))
    assert model.count_params() == models.count_params(spec, (), 3)
    assert model.output_shape == (None, 3)


def test_a_custom_text_stack_takes_its_embedding_width_from_the_vectorizer() -> None:
    dataset = _text_dataset()
    spec = ModelSpec(
        layers=[{"type": "Embedding", "output_dim": 16}, {"type": "GlobalAveragePooling1D"}],
        preprocessing={"type": "TextVectorization", "max_tokens": 500, "output_sequence_length": 20},
    )
    train = pipeline.batches(dataset, "train", 64, shuffle=False).map(lambda x, y: x)
    model = models.build(spec, (), 3, preprocessing_layers=preprocessing.adapt(spec.preprocessing, train, ()))
    assert model.count_params() == models.count_params(spec, (), 3) == 500 * 16 + 16 * 3 + 3


def test_audio_preset_parameter_count_is_keras_s() -> None:
    dataset = _tone_dataset()
    spec = ModelSpec(preset="audio_cnn")
    train = pipeline.batches(dataset, "train", 64, shuffle=False).map(lambda x, y: x)
    layers = preprocessing.adapt(models.preprocessing_of(spec), train, dataset.input_shape)
    model = models.build(spec, dataset.input_shape, 3, preprocessing_layers=layers)
    assert model.count_params() == models.count_params(spec, dataset.input_shape, 3)


def test_a_vectorizer_needs_adapting_before_build() -> None:
    with pytest.raises(ModelError, match="must first be adapted on a training split"):
        models.build(ModelSpec(preset="text_cnn"), (), 3)


# -- no leakage ----------------------------------------------------------------------------------


def test_the_vectorizer_learns_from_the_training_split_only(tmp_path: Path) -> None:
    dataset = _text_dataset()
    spec = parse_job({"dataset": {"name": "memory:texts"}, "model": {"preset": "text_cnn"}})
    log = runner._RunLog(RunDir.create(tmp_path, spec), runner.EventWriter(tmp_path / "events.jsonl"))
    try:
        (vectorizer,) = runner._adapt_preprocessing(spec, dataset, log) or []
    finally:
        log.close()
    vocabulary = vectorizer.get_vocabulary()
    assert "pizza" in vocabulary and TEST_ONLY not in vocabulary
    ids = vectorizer(np.array([f"pizza {TEST_ONLY}"], dtype=object)).numpy()[0]
    assert ids[0] == vocabulary.index("pizza") and ids[1] == 1  # 1: the out-of-vocabulary id


# -- end to end (slow) ---------------------------------------------------------------------------


@pytest.mark.slow
def test_a_text_run_saves_a_model_that_predicts_from_raw_strings(tmp_path: Path) -> None:
    from lepton_lab.core.tf_import import tf

    dataset = _text_dataset(per_class=120)
    run = _train(
        dataset, "text_cnn", tmp_path, {"epochs": 2, "batch_size": 16, "runtime": {"probe": "never"}}
    )
    assert run.status["status"] == "completed", run.status.get("error")
    model = run.load_model()
    (vectorizer,) = [layer for layer in model.layers if type(layer).__name__ == "TextVectorization"]
    assert TEST_ONLY not in vectorizer.get_vocabulary()  # saved as adapted: on train only
    probabilities = model.predict(
        tf.constant(["pizza cheese soup bread", "rocket orbit moon star"]), verbose=0
    )
    assert [dataset.class_names[i] for i in probabilities.argmax(axis=1)] == ["food", "space"]
    texts, _ = dataset.arrays("test")
    again = model.predict(texts, verbose=0).argmax(axis=1)  # an object array of str, as pages hold
    assert [item["predicted"] for item in run.evaluation.grid] == again[: len(run.evaluation.grid)].tolist()
    assert run.evaluation.accuracy > 0.6  # chance: 1/3
    events = run.events()
    assert run.events("epoch") and run.events("eval")
    assert any("TextVectorization adapted on the" in event.get("message", "") for event in events)
    exported = run.export("savedmodel", dataset=dataset)  # raw strings in, as model.keras takes them
    assert exported["input"]["dtype"] == "string" and exported["agreement"] >= 0.99


@pytest.mark.slow
def test_an_audio_run_saves_a_model_that_predicts_from_raw_waveforms(tmp_path: Path) -> None:
    dataset = _tone_dataset()
    run = _train(
        dataset, "audio_cnn", tmp_path, {"epochs": 2, "batch_size": 16, "runtime": {"probe": "never"}}
    )
    assert run.status["status"] == "completed", run.status.get("error")
    waves, labels = dataset.arrays("test")
    predicted = run.load_model().predict(waves, verbose=0).argmax(axis=1)
    assert [item["predicted"] for item in run.evaluation.grid] == predicted[
        : len(run.evaluation.grid)
    ].tolist()
    assert (predicted == labels).mean() > 0.8


def _corpus(name: str, **options: Any) -> Dataset:
    try:
        return load(name, **options)
    except DatasetUnavailable as error:
        pytest.skip(str(error))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("preset", "corpus", "options", "above"),
    [
        ("text_bilstm", "fortunes_languages", {"subset": 1200}, 0.25),
        ("text_cnn", "fortunes_languages", {"subset": 1200}, 0.25),
        ("bag_of_words", "fortunes_languages", {"subset": 1200}, 0.5),
        ("bag_of_words", "fortunes_topics", {}, 0.25),
        ("audio_cnn", "spoken_digits", {"count": 1000}, 0.3),
    ],
)
def test_each_preset_learns_an_offline_corpus_above_chance_in_two_epochs(
    preset: str, corpus: str, options: dict[str, Any], above: float, tmp_path: Path
) -> None:
    dataset = _corpus(corpus, **options)
    run = _train(dataset, preset, tmp_path, {"epochs": 2, "batch_size": 16, "runtime": {"probe": "never"}})
    assert run.status["status"] == "completed", run.status.get("error")
    chance = 1 / dataset.num_classes
    assert run.evaluation.accuracy > max(above, 2 * chance), run.evaluation.accuracy
    page = report(run).read_text(encoding="utf-8")  # its images-only parts skip text and audio
    pre = models.preprocessing_of(ModelSpec(preset=preset)).type
    assert f"{run.evaluation.accuracy:.4f}" in page  # the report rounds to 4 decimals
    assert pre in page  # the model summary, with the preprocessing


@pytest.mark.slow
def test_the_runtime_probe_measures_a_text_model_without_xla(tmp_path: Path) -> None:
    train = {"epochs": 1, "batch_size": 16, "runtime": {"probe": "always"}}
    run = _train(_text_dataset(), "bag_of_words", tmp_path, train)
    assert run.status["status"] == "completed", run.status.get("error")
    runtime = run.spec_document["runtime"]
    candidates = runtime["policy"]["candidates"]
    assert len(candidates) > 1 and runtime["jit_compile"] is not True
    assert all(candidate["settings"]["jit_compile"] is not True for candidate in candidates)


# -- evaluation view -----------------------------------------------------------------------------


def test_the_evaluation_view_shows_the_worst_text_examples_as_text() -> None:
    from lepton_lab.core.evaluate import evaluate_predictions
    from lepton_lab.widgets.evaluation_view import EvaluationView

    dataset = _text_dataset()
    labels = dataset.labels("test")
    probabilities = np.full((len(labels), 3), 0.1)
    probabilities[np.arange(len(labels)), labels] = 0.8
    probabilities[0] = 0.0
    probabilities[0, (labels[0] + 1) % 3] = 1.0  # the first test text is the worst: wrong and sure
    dataset._store.data[dataset._rows("test")[0]] = "<b>pizza</b> " + TEST_ONLY
    evaluation = evaluate_predictions(labels, probabilities, dataset.class_names)
    view = EvaluationView(evaluation, dataset=dataset)
    table = view.worst_texts.value
    first_row = table.split("<tbody><tr>")[1].split("</tr>")[0]
    assert "&lt;b&gt;pizza&lt;/b&gt; " + TEST_ONLY in first_row  # the text, escaped
    assert f"<td>{dataset.class_names[labels[0]]}</td>" in first_row
    assert view.worst is None  # no image gallery for text


def test_the_evaluation_view_of_an_audio_run_plays_its_clips() -> None:
    from lepton_lab.core.evaluate import evaluate_predictions
    from lepton_lab.widgets.evaluation_view import EvaluationView

    dataset = _tone_dataset()
    labels = dataset.labels("test")
    evaluation = evaluate_predictions(labels, np.eye(3)[labels], dataset.class_names)
    view = EvaluationView(evaluation, dataset=dataset)
    # Players and spectrograms in detail: tests/test_text_audio_evaluation.py.
    assert view.clip_grid.value.count("<audio controls") == 25
