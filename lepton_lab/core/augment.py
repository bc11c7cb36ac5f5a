"""Augment: compile an :class:`~lepton_lab.core.specs.AugmentSpec` into Keras preprocessing layers.

The preview widget and training use the same compiled layers, so what you see
is what trains:

- :func:`pipeline` builds the layers (one per op, in op order) plus a final clip
  to [0, 1], each random layer seeded from the pipeline seed;
- :func:`preview` calls a fresh ``pipeline(spec, seed)`` with ``training=True``;
- :meth:`Dataset.as_tf_data <lepton_lab.core.datasets.Dataset.as_tf_data>` runs the
  same layers on each training batch through :func:`apply`, which gives every
  batch its own seed so that parallel ``tf.data`` workers stay reproducible.

Image op → layer: flip → ``RandomFlip``, rotation → ``RandomRotation``, zoom →
``RandomZoom``, translation → ``RandomTranslation``, crop →
:class:`~lepton_lab.core.augment_layers.RandomCropResize` (a random window resized
back to the input size), contrast → ``RandomContrast``, brightness →
``RandomBrightness`` (value range [0, 1]), noise → ``GaussianNoise``.
Geometric ops fill uncovered pixels by reflection. All work on 1- and 3-channel images,
and the pipeline ends with a clip to [0, 1].

Audio op → layer (waveforms ``[n, samples]`` in [-1, 1]): time_shift →
:class:`~lepton_lab.core.augment_layers.RandomTimeShift` (silence fills the gap),
audio_noise → :class:`~lepton_lab.core.augment_layers.RandomAudioNoise` (white noise at
an SNR drawn per clip); the pipeline ends with a clip to [-1, 1]. Text has no
standard augmentation: :func:`check` refuses any op on it (and image ops on audio, audio
ops on images), naming the ops that fit.

Importing this module does not import TensorFlow; its functions do.

Examples
--------
>>> spec = AugmentSpec(ops=[{"op": "flip"}, {"op": "rotation", "factor": 0.05}])
>>> variants = preview(images, spec, n_variants=4, seed=0)   # doctest: +SKIP
>>> variants.shape                                           # doctest: +SKIP
(16, 4, 8, 8, 1)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from lepton_lab.core.specs import (
    AUDIO_AUGMENT_OPS,
    AudioNoiseOp,
    AugmentSpec,
    BrightnessOp,
    ContrastOp,
    CropOp,
    FlipOp,
    NoiseOp,
    RotationOp,
    TimeShiftOp,
    TranslationOp,
    ZoomOp,
    augment_problem,
    parse,
)

if TYPE_CHECKING:
    import keras


def _layer_seed(seed: int | None, index: int) -> int | None:
    """Seed of the ``index``-th layer: distinct per layer, fixed for a pipeline seed."""
    if seed is None:
        return None
    return int(np.random.SeedSequence([seed & 0xFFFFFFFF, index]).generate_state(1)[0] % (2**31 - 1))


def _layer(op: Any, seed: int | None, name: str) -> Any:
    from lepton_lab.core.augment_layers import RandomAudioNoise, RandomCropResize, RandomTimeShift
    from lepton_lab.core.tf_import import keras

    if isinstance(op, FlipOp):
        return keras.layers.RandomFlip(mode=op.mode, seed=seed, name=name)
    if isinstance(op, RotationOp):
        return keras.layers.RandomRotation(op.factor, fill_mode="reflect", seed=seed, name=name)
    if isinstance(op, ZoomOp):
        return keras.layers.RandomZoom(op.factor, fill_mode="reflect", seed=seed, name=name)
    if isinstance(op, TranslationOp):
        return keras.layers.RandomTranslation(op.factor, op.factor, fill_mode="reflect", seed=seed, name=name)
    if isinstance(op, CropOp):
        return RandomCropResize(op.fraction, seed=seed, name=name)
    if isinstance(op, ContrastOp):
        return keras.layers.RandomContrast(op.factor, value_range=(0, 1), seed=seed, name=name)
    if isinstance(op, BrightnessOp):
        return keras.layers.RandomBrightness(op.factor, value_range=(0, 1), seed=seed, name=name)
    if isinstance(op, NoiseOp):
        return keras.layers.GaussianNoise(op.stddev, seed=seed, name=name)
    if isinstance(op, TimeShiftOp):
        return RandomTimeShift(op.max_fraction, seed=seed, name=name)
    if isinstance(op, AudioNoiseOp):
        return RandomAudioNoise(op.snr_db, seed=seed, name=name)
    raise TypeError(f"no augmentation layer for op {op!r}")  # pragma: no cover - specs.AugmentOp is closed


def layers(spec: AugmentSpec | dict[str, Any], seed: int | None = None) -> list[Any]:
    """One Keras preprocessing layer per op of ``spec``, in op order.

    Parameters
    ----------
    spec : AugmentSpec or dict
        The ops.
    seed : int, optional
        Seeds every random layer (each its own derived seed); None draws fresh randomness.

    Returns
    -------
    list of keras.layers.Layer
        Named ``<op>_<position>``, e.g. ``flip_0``, ``rotation_1``. Without the final
        clip that :func:`pipeline` adds.
    """
    checked: AugmentSpec = parse(AugmentSpec, spec)
    return [_layer(op, _layer_seed(seed, index), f"{op.op}_{index}") for index, op in enumerate(checked.ops)]


def is_audio(spec: AugmentSpec | dict[str, Any]) -> bool:
    """Whether ``spec``'s ops are audio ops (an AugmentSpec never mixes image and audio ops)."""
    checked: AugmentSpec = parse(AugmentSpec, spec)
    return any(op.op in AUDIO_AUGMENT_OPS for op in checked.ops)


def check(spec: AugmentSpec | dict[str, Any], kind: str, dataset: str = "the dataset") -> None:
    """Raise ValueError if ``spec`` does not fit data of ``kind``, naming the ops that fit.

    Image ops fit images, audio ops (time_shift, audio_noise) fit audio, and text and
    tables take no augmentation.
    """
    checked: AugmentSpec = parse(AugmentSpec, spec)
    problem = augment_problem([op.op for op in checked.ops], kind, dataset)
    if problem is not None:
        raise ValueError(problem)


def pipeline(spec: AugmentSpec | dict[str, Any], seed: int | None = None) -> keras.Sequential | None:
    """Build the augmentation as a ``keras.Sequential``; None without ops.

    The ops, then a clip to the data's value range: [0, 1] for images, [-1, 1] for audio.
    Call it with ``training=True`` to augment; with ``training=False`` it only clips.
    """
    from lepton_lab.core.augment_layers import ClipToAudioRange, ClipToUnitRange
    from lepton_lab.core.tf_import import keras

    op_layers = layers(spec, seed)
    if not op_layers:
        return None
    clip = ClipToAudioRange(name="clip") if is_audio(spec) else ClipToUnitRange(name="clip")
    return keras.Sequential([*op_layers, clip], name="augmentation")


def apply(augmentation: keras.Sequential, images: Any, seed: Any) -> Any:
    """Run ``augmentation`` on a batch in training mode, with randomness drawn from ``seed`` only.

    Each layer makes the same kind of random draw as in ``augmentation(images,
    training=True)``, but from :class:`~lepton_lab.core.augment_layers.StatelessSeeds`
    instead of the layer's own seed generator, so the result depends only on
    ``images`` and ``seed``. Safe inside a parallel ``tf.data`` map.

    Parameters
    ----------
    augmentation : keras.Sequential
        As returned by :func:`pipeline`.
    images : tensor
        ``float32 [n, h, w, c]`` in [0, 1], or audio waveforms ``float32 [n, samples]`` in [-1, 1].
    seed : int pair or int tensor of shape [2]
        This batch's seed.
    """
    from lepton_lab.core.augment_layers import StatelessSeeds
    from lepton_lab.core.tf_import import keras

    seeds = StatelessSeeds(seed)
    outputs = keras.ops.convert_to_tensor(images, "float32")
    for layer in augmentation.layers:
        if isinstance(layer, keras.layers.GaussianNoise):
            noise = keras.random.normal(keras.ops.shape(outputs), stddev=layer.stddev, seed=seeds)
            outputs = outputs + noise
        elif hasattr(layer, "transform_waveforms"):
            transformation = layer.get_random_transformation(outputs, training=True, seed=seeds)
            outputs = layer.transform_waveforms(outputs, transformation, training=True)
        elif hasattr(layer, "get_random_transformation"):
            transformation = layer.get_random_transformation(outputs, training=True, seed=seeds)
            outputs = layer.transform_images(outputs, transformation, training=True)
        else:
            outputs = layer(outputs, training=True)
    return outputs


def preview(
    images: np.ndarray, spec: AugmentSpec | dict[str, Any], n_variants: int = 4, seed: int = 0
) -> np.ndarray:
    """Augmented variants of ``images``, exactly as ``pipeline(spec, seed)`` makes them.

    Variant ``k`` is the ``k``-th call of a fresh ``pipeline(spec, seed)`` on the whole
    batch with ``training=True``: the same seed gives the same variants, another seed others.

    Parameters
    ----------
    images : np.ndarray
        ``[n, h, w, c]`` (or one ``[h, w, c]`` image) in [0, 1], or audio waveforms
        ``[n, samples]`` (or one ``[samples]``) in [-1, 1].
    spec : AugmentSpec or dict
        The augmentation: image ops for images, audio ops for waveforms.
    n_variants : int
        Variants per example.
    seed : int
        Pipeline seed.

    Returns
    -------
    np.ndarray
        ``float32 [n, n_variants, *example shape]``; without ops, copies of the input.
    """
    batch = np.asarray(images, dtype=np.float32)
    if batch.ndim in (1, 3):
        batch = batch[None]
    if batch.ndim not in (2, 4):
        raise ValueError(
            "preview needs images [n, h, w, c] or waveforms [n, samples] (or one of either), "
            f"got shape {batch.shape}"
        )
    check(spec, "audio" if batch.ndim == 2 else "image", "these examples")
    if n_variants < 1:
        raise ValueError(f"n_variants must be at least 1, got {n_variants}")
    augmentation = pipeline(spec, seed)
    if augmentation is None:
        return np.repeat(batch[:, None], n_variants, axis=1)
    from lepton_lab.core.tf_import import keras

    variants = [keras.ops.convert_to_numpy(augmentation(batch, training=True)) for _ in range(n_variants)]
    return np.stack(variants, axis=1).astype(np.float32)
