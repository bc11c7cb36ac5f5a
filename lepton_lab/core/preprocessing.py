"""Preprocessing: the Keras layers of a ``model.preprocessing`` spec, adapted on training data.

:func:`adapt` is called once per run with the **training split only** (the validation and test
examples never reach a vocabulary or a normalisation statistic, so a token seen only in the test
split maps to the out-of-vocabulary id). The layers it returns become the first layers of the
model (:func:`lepton_lab.core.models.build`), so ``model.keras`` carries the vocabulary and
predicts from raw strings or raw waveforms. Adapted layers hold no trainable weights and may be
shared by the models the runtime probe builds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lepton_lab.core.preprocessing_specs import (
    MelSpectrogramSpec,
    STFTSpectrogramSpec,
    TextVectorizationSpec,
    output_shape,
)

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

#: Examples per batch while adapting (a vocabulary pass over the training split).
ADAPT_BATCH = 1024
#: Default sampling rate of audio datasets (the contract's 16 kHz).
SAMPLE_RATE = 16_000


def input_dtype(spec: Any) -> str:
    """Keras dtype of the model input: ``"string"`` before a vectorizer, else ``"float32"``."""
    return "string" if isinstance(spec, TextVectorizationSpec) else "float32"


def _text_layer(spec: TextVectorizationSpec, **given: Any) -> keras.Layer:
    from lepton_lab.core.tf_import import keras

    return keras.layers.TextVectorization(
        max_tokens=spec.max_tokens,
        standardize=spec.standardize,
        split=spec.split,
        ngrams=spec.ngrams,
        output_mode=spec.output_mode,
        output_sequence_length=spec.output_sequence_length if spec.output_mode == "int" else None,
        # Vector modes are max_tokens wide even when the corpus has fewer tokens: a fixed shape.
        pad_to_max_tokens=spec.output_mode != "int",
        name="text_vectorization",
        **given,
    )


def _spectrogram_layers(spec: MelSpectrogramSpec | STFTSpectrogramSpec, samples: int, rate: int) -> list[Any]:
    from lepton_lab.core.tf_import import keras

    # float32 whatever the global policy: spectrogram power spans 80 dB, beyond float16's comfort.
    if isinstance(spec, MelSpectrogramSpec):
        return [
            keras.layers.MelSpectrogram(
                fft_length=spec.fft,
                sequence_stride=spec.frame_step,
                sequence_length=spec.frame_length,
                sampling_rate=rate,
                num_mel_bins=spec.num_mel_bins,
                min_freq=spec.min_freq,
                max_freq=spec.max_freq,
                power_to_db=spec.log,
                dtype="float32",
                name="mel_spectrogram",
            )
        ]
    return [
        # STFTSpectrogram reads (samples, channels): a mono clip gets its channel axis.
        keras.layers.Reshape((samples, 1), dtype="float32", name="add_channel"),
        keras.layers.STFTSpectrogram(
            mode=spec.mode,
            frame_length=spec.frame_length,
            frame_step=spec.frame_step,
            fft_length=spec.fft,
            dtype="float32",
            name="stft_spectrogram",
        ),
    ]


def _with_given_vocabulary(spec: TextVectorizationSpec, adapted: Any) -> keras.Layer:
    """Rebuild an adapted vectorizer with its vocabulary and IDF weights given instead.

    Keras 3.15 saves an adapted, max_tokens-padded TF-IDF vectorizer with IDF weights padded to
    max_tokens but its vocabulary not, and then cannot load it ("idf_weights must be the same
    length as vocabulary"); given ones are saved in the layer's config and load back.
    """
    vocabulary = adapted.get_vocabulary()
    weights = adapted._lookup_layer.idf_weights_const.numpy()[: len(vocabulary)]
    return _text_layer(spec, vocabulary=vocabulary, idf_weights=weights)


def adapt(
    spec: Any,
    train_examples: tf.data.Dataset,
    input_shape: tuple[int, ...],
    sample_rate: int = SAMPLE_RATE,
) -> list[keras.Layer]:
    """Build the layers of ``spec`` and adapt them on ``train_examples``.

    Parameters
    ----------
    spec
        A :mod:`~lepton_lab.core.preprocessing_specs` spec.
    train_examples
        Batches of raw training examples only (strings, or float32 waveforms), no labels.
    input_shape
        Shape of one raw example (``()`` for text, ``(samples,)`` for audio).
    sample_rate
        Audio datasets' sampling rate in Hz.

    Returns
    -------
    list of keras.Layer
        In model order: the vectorizer, or the spectrogram (and its normalisation).
    """
    from lepton_lab.core.tf_import import keras

    output_shape(spec, input_shape)  # a clear error before TensorFlow sees a wrong input
    if isinstance(spec, TextVectorizationSpec):
        layer = _text_layer(spec)
        layer.adapt(train_examples)
        if spec.output_mode == "tf_idf":
            layer = _with_given_vocabulary(spec, layer)
        return [layer]
    layers = _spectrogram_layers(spec, input_shape[0], sample_rate)
    if not spec.normalize:
        return layers
    features = train_examples
    for layer in layers:
        features = features.map(layer)
    # One mean and variance over every value: a clip's level, not a per-band whitening.
    normalization = keras.layers.Normalization(axis=None, dtype="float32", name="spectrogram_normalization")
    normalization.adapt(features)
    return [*layers, normalization]


def unadapted(spec: Any, input_shape: tuple[int, ...], sample_rate: int = SAMPLE_RATE) -> list[keras.Layer]:
    """Build the layers of a spec that needs no training data (a spectrogram without ``normalize``).

    Raises
    ------
    ValueError
        For a vectorizer or a normalised spectrogram, naming :func:`adapt` as the fix.
    """
    output_shape(spec, input_shape)
    if isinstance(spec, TextVectorizationSpec) or spec.normalize:
        raise ValueError(
            f"{spec.type} must first be adapted on a training split; build the model through the runner "
            "(lepton_lab.train) or pass preprocessing.adapt(spec, train_examples, input_shape) as "
            "preprocessing_layers"
        )
    return _spectrogram_layers(spec, input_shape[0], sample_rate)
