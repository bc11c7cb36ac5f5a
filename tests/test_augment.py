"""Tests for lepton_lab.core.augment: spec → Keras layers, previews, and seeded application."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from lepton_lab.core import augment, datasets
from lepton_lab.core.specs import AUGMENT_OPS, AugmentSpec, SpecError

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
    assert [layer.name for layer in built] == [f"{op}_{i}" for i, op in enumerate(AUGMENT_OPS)]
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
