"""Tests for lepton_lab.core.augment: spec → Keras layers, previews, and seeded application."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from lepton_lab.core import augment, datasets
from lepton_lab.core.specs import IMAGE_AUGMENT_OPS, AugmentSpec, SpecError

keras = pytest.importorskip("keras")

ALL_OPS = AugmentSpec(
    ops=[
        {"op": "flip", "mode": "horizontal_and_vertical"},
        {"op": "rotation", "factor": 0.1},
        {"op": "zoom", "factor": 0.2},
        {"op": "translation", "factor": 0.1},
        {"op": "crop", "fraction": 0.8},
        {"op": "contrast", "factor": 0.3},
        {"op": "brightness", "factor": 0.2},
        {"op": "noise", "stddev": 0.05},
    ]
)


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return datasets.load("digits").page(0, 8).images


@pytest.fixture(scope="module")
def colour_shapes() -> np.ndarray:
    return datasets.load("shapes", image_size=16, count=100).page(0, 6).images


def test_layers_follow_the_op_order_with_the_matching_keras_layers() -> None:
    built = augment.layers(ALL_OPS, seed=0)
    assert [layer.name for layer in built] == [f"{op}_{i}" for i, op in enumerate(IMAGE_AUGMENT_OPS)]
    assert [type(layer).__name__ for layer in built] == [
        "RandomFlip",
        "RandomRotation",
        "RandomZoom",
        "RandomTranslation",
        "RandomCropResize",
        "RandomContrast",
        "RandomBrightness",
        "GaussianNoise",
    ]
    assert built[0].mode == "horizontal_and_vertical"
    assert tuple(built[5].value_range) == (0, 1) and tuple(built[6].value_range) == (0, 1)
    seeds = [layer.seed for layer in built]
    assert len(set(seeds)) == len(seeds), "each layer draws its own random stream"
    assert seeds == [layer.seed for layer in augment.layers(ALL_OPS, seed=0)]


def test_pipeline_is_none_without_ops_and_ends_with_a_clip() -> None:
    assert augment.pipeline(AugmentSpec()) is None
    assert augment.pipeline({"ops": []}) is None
    pipe = augment.pipeline({"ops": [{"op": "flip"}]}, seed=1)
    assert isinstance(pipe, keras.Sequential)
    assert [layer.name for layer in pipe.layers] == ["flip_0", "clip"]
    with pytest.raises(SpecError, match="factor"):
        augment.pipeline({"ops": [{"op": "rotation", "factor": 2}]})


@pytest.mark.parametrize("op", ALL_OPS.ops, ids=lambda op: op.op)
@pytest.mark.parametrize("images_fixture", ["digits", "colour_shapes"])
def test_every_op_changes_grey_and_colour_images_but_keeps_shape_and_range(
    op: object, images_fixture: str, request: pytest.FixtureRequest
) -> None:
    images = request.getfixturevalue(images_fixture)
    out = augment.preview(images, AugmentSpec(ops=[op]), n_variants=3, seed=5)
    assert out.shape == (len(images), 3, *images.shape[1:]) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert not np.allclose(out, images[:, None], atol=1e-3), f"{op} had no effect in training mode"


def test_preview_with_the_same_seed_is_identical_and_another_seed_differs(digits: np.ndarray) -> None:
    first = augment.preview(digits, ALL_OPS, n_variants=4, seed=0)
    again = augment.preview(digits, ALL_OPS, n_variants=4, seed=0)
    other = augment.preview(digits, ALL_OPS, n_variants=4, seed=1)
    assert np.array_equal(first, again)
    assert not np.allclose(first, other, atol=1e-3)
    # Variants of one image differ from each other.
    assert not np.allclose(first[:, 0], first[:, 1], atol=1e-3)


def test_preview_shows_what_the_training_pipeline_produces(colour_shapes: np.ndarray) -> None:
    shown = augment.preview(colour_shapes, ALL_OPS, n_variants=3, seed=11)
    pipe = augment.pipeline(ALL_OPS, seed=11)
    assert pipe is not None
    trained = [keras.ops.convert_to_numpy(pipe(colour_shapes, training=True)) for _ in range(3)]
    assert np.array_equal(shown, np.stack(trained, axis=1))


def test_preview_without_ops_repeats_the_images_and_accepts_one_image(digits: np.ndarray) -> None:
    out = augment.preview(digits, AugmentSpec(), n_variants=2)
    assert out.shape == (8, 2, 8, 8, 1) and np.array_equal(out[:, 1], digits)
    assert augment.preview(digits[0], ALL_OPS, n_variants=2).shape == (1, 2, 8, 8, 1)
    with pytest.raises(ValueError, match=r"images \[n, h, w, c\]"):
        augment.preview(digits[None], ALL_OPS)
    with pytest.raises(ValueError, match=r"do not apply to audio data.*use time_shift, audio_noise"):
        augment.preview(digits[0, :, :, 0].ravel(), ALL_OPS)


def test_pipeline_only_clips_when_not_training(colour_shapes: np.ndarray) -> None:
    pipe = augment.pipeline(ALL_OPS, seed=0)
    assert pipe is not None
    out = keras.ops.convert_to_numpy(pipe(colour_shapes, training=False))
    assert np.allclose(out, colour_shapes, atol=1e-6)


def test_flip_variants_are_mirror_images(colour_shapes: np.ndarray) -> None:
    out = augment.preview(colour_shapes, {"ops": [{"op": "flip"}]}, n_variants=6, seed=2)
    mirrored = colour_shapes[:, :, ::-1]
    for image, flipped, variants in zip(colour_shapes, mirrored, out, strict=True):
        for variant in variants:
            assert np.allclose(variant, image, atol=1e-6) or np.allclose(variant, flipped, atol=1e-6)
    flipped_count = sum(np.allclose(v, f, atol=1e-6) for f, vs in zip(mirrored, out, strict=True) for v in vs)
    assert 0 < flipped_count < out.shape[0] * out.shape[1]


def test_crop_shows_a_window_of_the_image_resized_to_full_size() -> None:
    # A horizontal ramp: a crop keeping half of each side spans half of the ramp's range.
    ramp = np.tile(np.linspace(0, 1, 32, dtype=np.float32), (4, 32, 1))[..., None]
    out = augment.preview(ramp, {"ops": [{"op": "crop", "fraction": 0.5}]}, n_variants=3, seed=0)
    spans = out.max(axis=(2, 3, 4)) - out.min(axis=(2, 3, 4))
    assert np.allclose(spans, 0.5, atol=0.02)
    starts = out[:, :, 0, 0, 0]
    assert starts.min() >= 0 and starts.max() <= 0.5 + 1e-6
    assert len(np.unique(np.round(starts, 4))) > 1, "windows differ per image and variant"


def test_apply_depends_only_on_the_seed_and_draws_the_same_kind_of_transforms(
    colour_shapes: np.ndarray,
) -> None:
    pipe = augment.pipeline({"ops": [{"op": "flip"}]}, seed=0)
    other_pipe = augment.pipeline({"ops": [{"op": "flip"}]}, seed=99)
    assert pipe is not None and other_pipe is not None
    first = [keras.ops.convert_to_numpy(augment.apply(pipe, colour_shapes, [7, s])) for s in range(6)]
    again = keras.ops.convert_to_numpy(augment.apply(other_pipe, colour_shapes, [7, 0]))
    assert np.array_equal(first[0], again), "the batch seed, not the layer's state, decides"
    assert any(not np.array_equal(first[0], batch) for batch in first[1:])
    mirrored = colour_shapes[:, :, ::-1]
    for batch in first:
        for image, original, flipped in zip(batch, colour_shapes, mirrored, strict=True):
            assert np.allclose(image, original, atol=1e-6) or np.allclose(image, flipped, atol=1e-6)


def test_apply_runs_every_op_inside_a_parallel_tf_data_map(digits: np.ndarray) -> None:
    import tensorflow as tf

    pipe = augment.pipeline(ALL_OPS, seed=0)
    assert pipe is not None

    def run() -> np.ndarray:
        data = tf.data.Dataset.from_tensor_slices(np.repeat(digits, 8, axis=0)).batch(4)
        data = tf.data.Dataset.zip(data, tf.data.Dataset.range(100).map(lambda i: tf.stack([i, i])))
        data = data.map(lambda x, s: augment.apply(pipe, x, s), num_parallel_calls=tf.data.AUTOTUNE)
        return np.concatenate([batch.numpy() for batch in data])

    first, again = run(), run()
    assert first.shape == (64, 8, 8, 1) and first.min() >= 0.0 and first.max() <= 1.0
    assert np.array_equal(first, again)
    assert not np.allclose(first[:8], first[8:16], atol=1e-3)


# --- audio: time_shift and audio_noise ----------------------------------------------------------------

RATE = 16_000


def _tones(count: int = 6, samples: int = 4000) -> np.ndarray:
    """Sine tones of amplitude 0.5 with a loud click at a known sample, so shifts can be read off."""
    t = np.arange(samples) / RATE
    clips = np.stack([0.5 * np.sin(2 * np.pi * (200 + 50 * k) * t) for k in range(count)]).astype(np.float32)
    clips[:, 1000] = 0.99
    return clips


def _shift_of(original: np.ndarray, shifted: np.ndarray) -> int:
    """The whole-sample shift that maps ``original`` onto ``shifted`` (silence filling the gap)."""
    for shift in range(-len(original) // 2, len(original) // 2 + 1):
        expected = np.zeros_like(original)
        if shift >= 0:
            expected[shift:] = original[: len(original) - shift]
        else:
            expected[:shift] = original[-shift:]
        if np.array_equal(expected, shifted):
            return shift
    raise AssertionError("not a shifted copy of the original")


def test_time_shift_moves_each_clip_by_at_most_max_fraction_and_fills_with_silence() -> None:
    clips = _tones()
    out = augment.preview(clips, {"ops": [{"op": "time_shift", "max_fraction": 0.1}]}, n_variants=4, seed=3)
    assert out.shape == (6, 4, 4000) and out.dtype == np.float32
    shifts = [
        _shift_of(clip, variant) for clip, variants in zip(clips, out, strict=True) for variant in variants
    ]
    assert max(abs(shift) for shift in shifts) <= 400, "at most 10% of 4000 samples"
    assert len(set(shifts)) > 4 and any(s > 0 for s in shifts) and any(s < 0 for s in shifts)
    # The click moved with the sound.
    assert [int(np.argmax(v)) for v in out[0]] == [1000 + _shift_of(clips[0], v) for v in out[0]]


def test_audio_noise_adds_noise_at_the_stated_snr_measured_on_the_output() -> None:
    clips = _tones(samples=16_000)
    clips[:, 1000] = 0.0
    for snr in (10.0, 25.0):
        out = augment.preview(
            clips, {"ops": [{"op": "audio_noise", "snr_db": [snr, snr]}]}, n_variants=2, seed=0
        )
        noise = out - clips[:, None]
        measured = 10 * np.log10(np.mean(clips**2, axis=1)[:, None] / np.mean(noise**2, axis=2))
        assert np.allclose(measured, snr, atol=0.3), measured
    drawn = augment.preview(clips, {"ops": [{"op": "audio_noise", "snr_db": [10, 30]}]}, n_variants=4, seed=1)
    noise = drawn - clips[:, None]
    measured = 10 * np.log10(np.mean(clips**2, axis=1)[:, None] / np.mean(noise**2, axis=2))
    assert measured.min() > 9.7 and measured.max() < 30.3 and measured.std() > 1, (
        "an SNR per clip in the range"
    )
    silent = augment.preview(np.zeros((2, 800), np.float32), {"ops": [{"op": "audio_noise"}]}, seed=0)
    assert not silent.any(), "a silent clip stays silent"


def test_audio_pipeline_clips_to_the_waveform_range_and_is_the_identity_outside_training() -> None:
    loud = np.full((2, 1000), 0.98, np.float32)
    spec = {"ops": [{"op": "time_shift", "max_fraction": 0.2}, {"op": "audio_noise", "snr_db": [0, 0]}]}
    pipe = augment.pipeline(spec, seed=0)
    assert pipe is not None
    assert [type(layer).__name__ for layer in pipe.layers] == [
        "RandomTimeShift",
        "RandomAudioNoise",
        "ClipToAudioRange",
    ]
    out = keras.ops.convert_to_numpy(pipe(loud, training=True))
    assert out.max() <= 1.0 and out.min() >= -1.0 and out.max() == 1.0
    assert np.array_equal(keras.ops.convert_to_numpy(pipe(_tones(), training=False)), _tones())


def test_audio_preview_is_seeded_and_shows_what_training_produces() -> None:
    clips = _tones()
    spec = {"ops": [{"op": "time_shift"}, {"op": "audio_noise"}]}
    first = augment.preview(clips, spec, n_variants=3, seed=4)
    assert np.array_equal(first, augment.preview(clips, spec, n_variants=3, seed=4))
    assert not np.allclose(first, augment.preview(clips, spec, n_variants=3, seed=5))
    pipe = augment.pipeline(spec, seed=4)
    assert pipe is not None
    trained = [keras.ops.convert_to_numpy(pipe(clips, training=True)) for _ in range(3)]
    assert np.array_equal(first, np.stack(trained, axis=1))


def test_audio_ops_in_a_parallel_tf_data_map_depend_only_on_the_batch_seed() -> None:
    pipe = augment.pipeline(
        {"ops": [{"op": "time_shift", "max_fraction": 0.25}, {"op": "audio_noise"}]}, seed=0
    )
    other = augment.pipeline(
        {"ops": [{"op": "time_shift", "max_fraction": 0.25}, {"op": "audio_noise"}]}, seed=9
    )
    assert pipe is not None and other is not None
    clips = _tones()
    first = keras.ops.convert_to_numpy(augment.apply(pipe, clips, [3, 1]))
    assert np.array_equal(first, keras.ops.convert_to_numpy(augment.apply(other, clips, [3, 1])))
    assert not np.allclose(first, keras.ops.convert_to_numpy(augment.apply(pipe, clips, [3, 2])))
    assert first.shape == clips.shape and np.abs(first).max() <= 1.0


@pytest.mark.parametrize(
    ("ops", "kind", "message"),
    [
        ([{"op": "flip"}], "audio", "flip do not apply to audio data .*; use time_shift, audio_noise"),
        ([{"op": "time_shift"}], "image", "time_shift do not apply to image data .*; use flip, rotation"),
        ([{"op": "audio_noise"}], "text", "audio_noise do not apply to text data .*no standard augmentation"),
    ],
)
def test_ops_for_other_data_are_refused_naming_the_ops_that_fit(ops: list, kind: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        augment.check({"ops": ops}, kind, "some_data")
    augment.check({"ops": []}, kind, "some_data")


def test_specs_refuse_mixed_ops_bad_snr_ranges_and_ops_for_another_registry_kind() -> None:
    from lepton_lab.core.specs import JobSpec, parse

    with pytest.raises(SpecError, match=r"mix image ops .flip. and audio ops .time_shift."):
        parse(AugmentSpec, {"ops": [{"op": "flip"}, {"op": "time_shift"}]})
    with pytest.raises(SpecError, match=r"snr_db must be \[lowest, highest\]"):
        parse(AugmentSpec, {"ops": [{"op": "audio_noise", "snr_db": [30, 10]}]})
    with pytest.raises(SpecError, match="max_fraction"):
        parse(AugmentSpec, {"ops": [{"op": "time_shift", "max_fraction": 0.9}]})
    job = {"dataset": {"name": "spoken_digits"}, "augment": {"ops": [{"op": "rotation"}]}}
    with pytest.raises(
        SpecError, match=r"rotation do not apply to audio data .spoken_digits.; use time_shift"
    ):
        parse(JobSpec, job)
    with pytest.raises(SpecError, match="no standard augmentation"):
        parse(JobSpec, {"dataset": {"name": "fortunes_topics"}, "augment": {"ops": [{"op": "noise"}]}})
    ok = parse(JobSpec, {"dataset": {"name": "spoken_digits"}, "augment": {"ops": [{"op": "audio_noise"}]}})
    assert ok.augment.ops[0].model_dump() == {"op": "audio_noise", "snr_db": (10.0, 30.0)}


def _tone_dataset(n: int = 60, samples: int = 2000) -> datasets.Dataset:
    labels = np.arange(n) % 3
    t = np.arange(samples) / RATE
    waves = 0.5 * np.sin(2 * np.pi * np.array([300.0, 900.0, 2500.0])[labels, None] * t)
    return datasets.from_arrays(waves.astype(np.float32), labels, ["low", "mid", "high"], sample_rate=RATE)


def test_audio_ops_augment_training_batches_only_seeded_and_image_ops_are_refused() -> None:
    ds = _tone_dataset()
    spec = {"ops": [{"op": "time_shift", "max_fraction": 0.2}, {"op": "audio_noise", "snr_db": [20, 20]}]}

    def by_label(split: str, **kwargs: object) -> tuple[np.ndarray, np.ndarray]:
        batches = list(ds.as_tf_data(split, batch_size=8, shuffle=False, **kwargs))
        return np.concatenate([x.numpy() for x, _ in batches]), np.concatenate(
            [y.numpy() for _, y in batches]
        )

    raw, labels = by_label("train")
    augmented, same_labels = by_label("train", augment=spec, seed=1)
    assert np.array_equal(labels, same_labels) and augmented.shape == raw.shape
    assert not np.allclose(augmented, raw, atol=1e-3) and np.abs(augmented).max() <= 1.0
    assert np.array_equal(augmented, by_label("train", augment=spec, seed=1)[0]), "seeded"
    assert not np.array_equal(augmented, by_label("train", augment=spec, seed=2)[0])
    for split in ("validation", "test"):
        assert np.array_equal(by_label(split, augment=spec)[0], by_label(split)[0]), (
            f"{split} is not augmented"
        )
    with pytest.raises(ValueError, match=r"flip do not apply to audio data .*use time_shift, audio_noise"):
        ds.as_tf_data("train", batch_size=8, augment={"ops": [{"op": "flip"}]})
    with pytest.raises(ValueError, match="time_shift do not apply to image data"):
        datasets.load("digits").as_tf_data("train", batch_size=8, augment={"ops": [{"op": "time_shift"}]})
    texts = datasets.from_arrays(np.array(["a cat", "a dog", "the sun", "the moon"] * 5), np.arange(20) % 2)
    with pytest.raises(ValueError, match="text data has no standard augmentation"):
        texts.as_tf_data("train", batch_size=4, augment={"ops": [{"op": "audio_noise"}]})


@pytest.mark.slow
def test_a_run_with_audio_augmentation_trains_records_its_ops_and_evaluates_unaugmented(tmp_path) -> None:
    from lepton_lab.core import runner

    ds = _tone_dataset(n=90)
    spec = {"ops": [{"op": "time_shift", "max_fraction": 0.1}, {"op": "audio_noise", "snr_db": [15, 30]}]}
    run = runner.train(
        dataset=ds, model="audio_cnn", augment=spec, train={"epochs": 1, "batch_size": 16, "seed": 0},
        runs_dir=tmp_path,
    )  # fmt: skip
    assert run.status["status"] == "completed", run.status.get("error")
    assert run.spec_document["augment"]["ops"] == [
        {"op": "time_shift", "max_fraction": 0.1}, {"op": "audio_noise", "snr_db": [15.0, 30.0]},
    ]  # fmt: skip
    # evaluation.json holds the model's probabilities on the raw test clips, not augmented ones.
    from lepton_lab.core.evaluate import evaluate_predictions

    raw, labels = ds.arrays("test")
    probabilities = run.load_model().predict(raw, verbose=0)
    expected = evaluate_predictions(labels, probabilities, ds.class_names)
    evaluation = run.evaluation
    assert evaluation is not None and evaluation.confusion == expected.confusion
    np.testing.assert_allclose(
        [e["true_probability"] for e in evaluation.worst],
        [e["true_probability"] for e in expected.worst],
        atol=1e-4,
    )
    noisy = augment.preview(raw, spec, n_variants=1, seed=0)[:, 0]
    augmented = evaluate_predictions(labels, run.load_model().predict(noisy, verbose=0), ds.class_names)
    assert not np.allclose(
        [e["confidence"] for e in augmented.grid],
        [e["confidence"] for e in evaluation.grid],
        atol=1e-4,
    ), "augmented clips would have given other probabilities"
