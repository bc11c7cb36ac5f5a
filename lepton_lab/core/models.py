"""Models: turn a :class:`~lepton_lab.core.specs.ModelSpec` into a Keras model, a summary or code.

A spec lists the hidden layers only. The input shape and the classifier
(``Dense(num_classes, activation="softmax")``) come from the dataset, so one spec trains on
digits and on Fashion-MNIST alike. Everything here except :func:`build` and :func:`from_keras`
is TensorFlow-free: summaries and validation use the pure-Python arithmetic of
:mod:`lepton_lab.core.shape_inference`.

Examples
--------
>>> from lepton_lab.core.specs import ModelSpec
>>> spec = ModelSpec(preset="small_cnn")
>>> summary(spec, (8, 8, 1), 10).attrs["total_params"]
53002
>>> print(to_code(spec, (8, 8, 1), 10).splitlines()[0])
import keras
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from lepton_lab.core.preprocessing_specs import (
    MelSpectrogramSpec,
    TextVectorizationSpec,
    kind_of,
    output_shape,
)
from lepton_lab.core.shape_inference import (
    LayerInfo,
    ModelError,
    check_input_shape,
    check_num_classes,
    infer,
)
from lepton_lab.core.specs import (
    ACTIVATIONS,
    LAYER_ARGS,
    PRESET_KINDS,
    PRESET_NAMES,
    LayerSpec,
    ModelSpec,
    presets_for,
)

if TYPE_CHECKING:
    import keras
    import pandas

__all__ = [
    "ModelError",
    "build",
    "check_kind",
    "count_params",
    "from_keras",
    "preprocessing_of",
    "preset",
    "presets_for",
    "resolve",
    "summary",
    "summary_rows",
    "to_code",
    "validate",
]

#: Pooling is skipped once the feature map is smaller than this, so 8x8 digits keep a 2x2 map.
MIN_POOL_INPUT = 4


#: The preprocessing a preset brings when ``model.preprocessing`` is not given.
PRESET_PREPROCESSING: dict[str, TextVectorizationSpec | MelSpectrogramSpec] = {
    # 100 token ids: fortunes and reviews are short, and each step of an LSTM costs.
    "text_bilstm": TextVectorizationSpec(output_sequence_length=100),
    "text_cnn": TextVectorizationSpec(output_sequence_length=200),
    # Word and bigram TF-IDF, the classic linear text baseline's features.
    "bag_of_words": TextVectorizationSpec(output_mode="tf_idf", ngrams=2, output_sequence_length=None),
    "audio_cnn": MelSpectrogramSpec(),
}


def _layer(type: str, **args: Any) -> LayerSpec:
    return LayerSpec(type=type, **args)


def _mlp() -> list[LayerSpec]:
    return [
        _layer("Flatten"),
        _layer("Dense", units=128, activation="relu"),
        _layer("Dropout", rate=0.2),
        _layer("Dense", units=64, activation="relu"),
    ]


def _conv_stack(name: str, height: int, width: int) -> list[LayerSpec]:
    layers = []
    size = min(height, width)
    for filters in (32, 64):
        layers.append(_layer("Conv2D", filters=filters, kernel_size=3, activation="relu", padding="same"))
        if name == "cnn_bn":
            layers.append(_layer("BatchNormalization"))
        if size >= MIN_POOL_INPUT:
            layers.append(_layer("MaxPooling2D", pool_size=2))
            size //= 2
    layers.append(_layer("Flatten"))
    if name == "cnn_bn":
        layers += [_layer("Dense", units=128, activation="relu"), _layer("Dropout", rate=0.3)]
    else:
        layers += [_layer("Dropout", rate=0.3), _layer("Dense", units=128, activation="relu")]
    return layers


def preprocessing_of(spec: ModelSpec) -> Any:
    """Return the preprocessing ``spec`` trains with: its own, else its preset's default, else None."""
    if spec.preprocessing is not None:
        return spec.preprocessing
    return PRESET_PREPROCESSING.get(spec.preset or "")


def _fits(kind: str) -> str:
    names = presets_for(kind)
    return f"the presets for {kind} data are {', '.join(names)}" if names else f"no preset fits {kind} data"


def check_kind(spec: ModelSpec, kind: str) -> None:
    """Raise :class:`ModelError` unless ``spec`` suits a dataset of ``kind``, naming the presets that fit.

    A preset must be made for the kind; text and audio need preprocessing (their own, or their
    preset's) of their kind, and images and tables none.
    """
    if spec.preset is not None and kind not in PRESET_KINDS[spec.preset]:
        made_for = " and ".join(PRESET_KINDS[spec.preset])
        raise ModelError(
            f"preset {spec.preset!r} is made for {made_for} data, but this dataset is {kind}; {_fits(kind)}"
        )
    pre = preprocessing_of(spec)
    if pre is None and kind in ("text", "audio"):
        what = "TextVectorization" if kind == "text" else "MelSpectrogram or STFTSpectrogram"
        raise ModelError(
            f"a {kind} dataset needs model.preprocessing ({what}) to turn its examples into numbers; "
            f"add it, or use a preset: {_fits(kind)}"
        )
    if pre is not None and kind_of(pre) != kind:
        raise ModelError(
            f"model.preprocessing {pre.type} reads {kind_of(pre)} but this dataset is {kind}; "
            f"remove it or use a {kind_of(pre)} dataset ({_fits(kind)})"
        )


def _hidden_shape(spec: ModelSpec, input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Return the shape the hidden layers see: after the preprocessing, if any."""
    pre = preprocessing_of(spec)
    if pre is None:
        if tuple(input_shape) == ():
            raise ModelError(
                "the input is one string per example (text); add model.preprocessing "
                f"TextVectorization or use a preset: {_fits('text')}"
            )
        return check_input_shape(input_shape)
    try:
        return output_shape(pre, tuple(input_shape))
    except ValueError as error:
        raise ModelError(str(error)) from None


def _vocabulary_size(spec: ModelSpec) -> int | None:
    pre = preprocessing_of(spec)
    return pre.max_tokens if isinstance(pre, TextVectorizationSpec) else None


def hidden_input(spec: ModelSpec, input_shape: tuple[int, ...]) -> tuple[tuple[int, ...], int | None]:
    """Return what the first hidden layer sees: its input shape and the vocabulary size, if any.

    The shape is the preprocessing's output (the input's without one); the vocabulary is a
    TextVectorization's, the ``input_dim`` of an ``Embedding`` that leaves it out (the model
    builder's palette asks, and :func:`lepton_lab.core.shape_inference.trace` takes both).
    """
    return _hidden_shape(spec, input_shape), _vocabulary_size(spec)


def _text_preset(name: str, pre: TextVectorizationSpec) -> list[LayerSpec]:
    if name == "bag_of_words":
        if pre.output_mode == "int":
            raise ModelError(
                "preset 'bag_of_words' is an MLP over one vector per text; set "
                "model.preprocessing.output_mode to 'tf_idf', 'multi_hot' or 'count'"
            )
        return [_layer("Dense", units=64, activation="relu"), _layer("Dropout", rate=0.3)]
    if pre.output_mode != "int":
        raise ModelError(
            f"preset {name!r} embeds token ids; set model.preprocessing.output_mode to 'int' "
            "(or use preset 'bag_of_words' for tf_idf / multi_hot vectors)"
        )
    # The LSTM skips the padding ids (mask_zero); max pooling over a convolution needs no mask.
    masking = {"mask_zero": True} if name == "text_bilstm" else {}
    embedding = _layer("Embedding", input_dim=pre.max_tokens, output_dim=64, **masking)
    if name == "text_bilstm":
        body = [_layer("Bidirectional", layer={"type": "LSTM", "units": 32})]
    else:
        assert pre.output_sequence_length is not None  # int mode has a length
        body = [
            _layer("Conv1D", filters=128, kernel_size=min(5, pre.output_sequence_length), activation="relu"),
            _layer("GlobalMaxPooling1D"),
        ]
    return [embedding, *body, _layer("Dense", units=64, activation="relu"), _layer("Dropout", rate=0.3)]


def _audio_preset(shape: tuple[int, ...]) -> list[LayerSpec]:
    # A spectrogram is an image of frequency by time: a small CNN reads it as one channel.
    layers = [_layer("Reshape", target_shape=[*shape, 1])] if len(shape) == 2 else []
    height, width = shape[0], shape[1] if len(shape) > 1 else 1
    for filters in (16, 32, 64):
        layers.append(_layer("Conv2D", filters=filters, kernel_size=3, activation="relu", padding="same"))
        if min(height, width) >= MIN_POOL_INPUT:
            layers.append(_layer("MaxPooling2D", pool_size=2))
            height, width = height // 2, width // 2
    return [
        *layers,
        _layer("Flatten"),
        _layer("Dropout", rate=0.3),
        _layer("Dense", units=64, activation="relu"),
    ]


def preset(name: str, input_shape: tuple[int, ...], num_classes: int) -> ModelSpec:
    """Expand the named preset into an explicit layer list adapted to ``input_shape``.

    Parameters
    ----------
    name : str
        ``"mlp"`` (Flatten, Dense 128 relu, Dropout 0.2, Dense 64 relu), ``"small_cnn"``
        (2 x (Conv2D 3x3 relu same, MaxPooling2D 2), Flatten, Dropout 0.3, Dense 128 relu) or
        ``"cnn_bn"`` (2 x (Conv2D, BatchNormalization, MaxPooling2D), Flatten, Dense 128 relu,
        Dropout 0.3).
    input_shape : tuple of int
        Shape of one example. Tabular input ``(n,)`` gets the MLP whatever the name; a 2-D
        ``(height, width)`` image gets a leading ``Reshape`` to add the channel axis; pooling
        stops once the feature map is below 4x4.
    num_classes : int
        Number of classes (the output layer itself is added by :func:`build`).

    Text and audio presets: ``"text_bilstm"`` (Embedding 64 with masking, Bidirectional LSTM 32,
    Dense 64 relu, Dropout 0.3), ``"text_cnn"`` (Embedding 64, Conv1D 128x5 relu,
    GlobalMaxPooling1D, Dense 64 relu, Dropout 0.3), ``"bag_of_words"`` (Dense 64 relu, Dropout 0.3
    over TF-IDF or multi-hot vectors) and ``"audio_cnn"`` (3 x (Conv2D 3x3 relu same,
    MaxPooling2D 2) over the spectrogram as a one-channel image, Flatten, Dropout 0.3, Dense 64
    relu). Their ``input_shape`` is the dataset's (``()`` for text, ``(samples,)`` for audio);
    the returned spec carries the preset's preprocessing.

    Returns
    -------
    ModelSpec
        With ``layers`` set and ``preset`` unset.
    """
    check_num_classes(num_classes)
    if name not in PRESET_NAMES:
        raise ModelError(f"unknown preset {name!r}; use one of {', '.join(PRESET_NAMES)}")
    pre = PRESET_PREPROCESSING.get(name)
    if pre is not None:
        return _sequence_preset(name, pre, input_shape)
    if tuple(input_shape) == ():
        made_for = " and ".join(PRESET_KINDS[name])
        raise ModelError(
            f"preset {name!r} is made for {made_for} data, but the input is text; {_fits('text')}"
        )
    shape = check_input_shape(input_shape)
    if name == "mlp" or len(shape) not in (2, 3):
        return ModelSpec(layers=_mlp())
    prefix = [_layer("Reshape", target_shape=[*shape, 1])] if len(shape) == 2 else []
    return ModelSpec(layers=prefix + _conv_stack(name, shape[0], shape[1]))


def _sequence_preset(name: str, default: Any, input_shape: tuple[int, ...], given: Any = None) -> ModelSpec:
    """Expand a text or audio preset for its default preprocessing or the one ``given``."""
    pre = given if given is not None else default
    if kind_of(pre) != kind_of(default):
        raise ModelError(
            f"preset {name!r} reads {kind_of(default)}, but model.preprocessing is {pre.type}; "
            f"use a {kind_of(pre)} preset ({', '.join(presets_for(kind_of(pre)))}) "
            f"or {kind_of(default)} preprocessing"
        )
    try:
        shape = output_shape(pre, tuple(input_shape))
    except ValueError:
        raise ModelError(
            f"preset {name!r} is made for {kind_of(default)} data, "
            f"but the input has shape {tuple(input_shape)}; "
            f"{_fits(_kind_of_shape(input_shape))}"
        ) from None
    layers = _text_preset(name, pre) if isinstance(pre, TextVectorizationSpec) else _audio_preset(shape)
    return ModelSpec(layers=layers, preprocessing=pre)


def _kind_of_shape(input_shape: tuple[int, ...]) -> str:
    return {0: "text", 1: "tabular"}.get(len(tuple(input_shape)), "image")


def resolve(spec: ModelSpec, input_shape: tuple[int, ...], num_classes: int) -> list[LayerSpec]:
    """Return the hidden layers of ``spec`` (a preset expanded), without the output layer."""
    if spec.layers is not None:
        return [layer.model_copy(deep=True) for layer in spec.layers]
    assert spec.preset is not None  # ModelSpec guarantees one of the two
    default = PRESET_PREPROCESSING.get(spec.preset)
    if default is not None:
        expanded = _sequence_preset(spec.preset, default, input_shape, spec.preprocessing)
    else:
        expanded = preset(spec.preset, input_shape, num_classes)
    return list(expanded.layers or [])


def _infer(spec: ModelSpec, input_shape: tuple[int, ...], num_classes: int) -> list[LayerInfo]:
    layers = resolve(spec, input_shape, num_classes)
    pre = preprocessing_of(spec)
    mode = pre.output_mode if isinstance(pre, TextVectorizationSpec) else None
    rows = infer(
        layers,
        _hidden_shape(spec, input_shape),
        num_classes,
        vocabulary_size=_vocabulary_size(spec),
        vectorizer_mode=mode,
    )
    if pre is None:
        return rows
    # The raw input, then the preprocessing (position 0 too: spec positions stay 1..n). Adapted
    # preprocessing holds no weights Keras counts, except a spectrogram's Normalization (mean,
    # variance and count: three scalars).
    normalized = getattr(pre, "normalize", False)
    description = f"{pre.type}" + (", normalized" if normalized else "")
    return [
        LayerInfo(0, "Input", (None, *input_shape), 0, 0, "input"),
        LayerInfo(0, pre.type, rows[0].output_shape, 3 if normalized else 0, 0, description),
        *rows[1:],
    ]


def validate(spec: ModelSpec, input_shape: tuple[int, ...], num_classes: int) -> None:
    """Raise :class:`ModelError` if ``spec`` cannot be built for this input and class count."""
    _infer(spec, input_shape, num_classes)


def summary_rows(spec: ModelSpec, input_shape: tuple[int, ...], num_classes: int) -> list[dict[str, Any]]:
    """JSON-friendly summary: one dict per layer, input and output layer included.

    Keys: ``index`` (0 for the input), ``layer`` (type), ``output_shape`` (list, batch axis
    ``None`` first, as Keras prints it), ``params``, ``trainable_params`` and ``description``.
    """
    return [
        {
            "index": row.index,
            "layer": row.layer,
            "output_shape": list(row.output_shape),
            "params": row.params,
            "trainable_params": row.trainable_params,
            "description": row.description,
        }
        for row in _infer(spec, input_shape, num_classes)
    ]


def summary(spec: ModelSpec, input_shape: tuple[int, ...], num_classes: int) -> pandas.DataFrame:
    """Per-layer output shapes and parameter counts, computed without TensorFlow.

    Returns
    -------
    pandas.DataFrame
        Columns ``index``, ``layer``, ``output_shape`` (tuple, ``None`` batch axis first),
        ``params``, ``trainable_params``, ``description``; one row per layer including the
        input and the output ``Dense``. ``df.attrs`` holds ``total_params``,
        ``trainable_params`` and ``non_trainable_params``, equal to Keras's counts.
    """
    import pandas

    rows = summary_rows(spec, input_shape, num_classes)
    for row in rows:
        row["output_shape"] = tuple(row["output_shape"])
    frame = pandas.DataFrame(rows, columns=list(rows[0]))
    total = sum(row["params"] for row in rows)
    trainable = sum(row["trainable_params"] for row in rows)
    frame.attrs.update(total_params=total, trainable_params=trainable, non_trainable_params=total - trainable)
    return frame


def count_params(spec: ModelSpec, input_shape: tuple[int, ...], num_classes: int) -> int:
    """Total weights of the built model (what ``keras.Model.count_params()`` returns)."""
    return sum(row.params for row in _infer(spec, input_shape, num_classes))


def _keras_args(layer: LayerSpec, dropout: float | None) -> dict[str, Any]:
    # Keras wants tuples where JSON gives lists (kernel_size, strides, target_shape).
    args = {key: tuple(value) if isinstance(value, list) else value for key, value in layer.args.items()}
    if layer.type == "Dropout" and dropout is not None:
        args["rate"] = dropout
    return args


def _check_dropout(dropout: float | None) -> None:
    if dropout is not None and (
        isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0
    ):
        raise ModelError(
            f"dropout must be a number in [0, 1), got {dropout!r}; use e.g. 0.2, or None to keep "
            "each Dropout layer's own rate"
        )


def _default_name(spec: ModelSpec) -> str:
    return spec.preset or "custom"


def build(
    spec: ModelSpec,
    input_shape: tuple[int, ...],
    num_classes: int,
    dropout: float | None = None,
    name: str | None = None,
    preprocessing_layers: list[Any] | None = None,
) -> keras.Model:
    """Build ``keras.Sequential([Input, *preprocessing, *layers, Dense(num_classes, softmax)])``.

    Parameters
    ----------
    spec : ModelSpec
        Preset or explicit layers.
    input_shape : tuple of int
        Shape of one example.
    num_classes : int
        Width of the softmax output.
    dropout : float, optional
        If given, the rate of every Dropout layer (``TrainSpec.dropout``).
    name : str, optional
        Model name; defaults to the preset name or ``"custom"``.
    preprocessing_layers : list of keras.Layer, optional
        The spec's preprocessing, adapted on the training split
        (:func:`lepton_lab.core.preprocessing.adapt`); the model then takes raw strings or
        waveforms. Needed when the preprocessing learns from data (a vectorizer, a normalised
        spectrogram).

    Raises
    ------
    ModelError
        Before Keras is touched, so the user sees which layer is wrong rather than a traceback.
    """
    layers = resolve(spec, input_shape, num_classes)
    _infer(spec, input_shape, num_classes)
    _check_dropout(dropout)
    from lepton_lab.core import preprocessing
    from lepton_lab.core.tf_import import keras

    pre = preprocessing_of(spec)
    if pre is not None and preprocessing_layers is None:
        try:
            preprocessing_layers = preprocessing.unadapted(pre, tuple(input_shape))
        except ValueError as error:
            raise ModelError(str(error)) from None
    dtype = preprocessing.input_dtype(pre) if pre is not None else "float32"

    # Under mixed precision (float16 or bfloat16) the softmax must stay float32, or probabilities
    # lose precision (Keras's mixed-precision guide); otherwise leave the default policy untouched.
    mixed = keras.mixed_precision.global_policy().compute_dtype != "float32"
    output_dtype = {"dtype": "float32"} if mixed else {}
    vocabulary = _vocabulary_size(spec)
    return keras.Sequential(
        [
            keras.Input(shape=tuple(input_shape), dtype=dtype),
            *(preprocessing_layers or []),
            *(_keras_layer(keras, layer, dropout, vocabulary) for layer in layers),
            keras.layers.Dense(num_classes, activation="softmax", **output_dtype),
        ],
        name=name or _default_name(spec),
    )


def _keras_layer(keras: Any, layer: LayerSpec, dropout: float | None, vocabulary: int | None) -> Any:
    """Build the Keras layer of one spec layer (a Bidirectional's wrapped layer first)."""
    args = _keras_args(layer, dropout)
    if layer.type == "Bidirectional":
        inner = args.pop("layer")
        wrapped = getattr(keras.layers, inner["type"])(**{k: v for k, v in inner.items() if k != "type"})
        return keras.layers.Bidirectional(wrapped, **args)
    if layer.type == "Embedding" and args.get("input_dim") is None:
        if vocabulary is None:
            raise ModelError(
                "Embedding without input_dim needs a TextVectorization preprocessing; set input_dim"
            )
        args["input_dim"] = vocabulary
    return getattr(keras.layers, layer.type)(**args)


def _code_layer(layer: LayerSpec, dropout: float | None, vocabulary: int | None) -> str:
    """``keras.layers.X(...)`` for one spec layer, as :func:`_keras_layer` builds it."""
    args = _keras_args(layer, dropout)
    wrapped = args.pop("layer", None)
    if layer.type == "Embedding" and args.get("input_dim") is None:
        args = {"input_dim": vocabulary, **args}  # Keras's order; inference checked it is known
    items = [f"{key}={_literal(value)}" for key, value in args.items()]
    if wrapped is not None:
        items.insert(0, _code_layer(LayerSpec(**wrapped), dropout, vocabulary))
    return f"keras.layers.{layer.type}({', '.join(items)})"


def _literal(value: Any) -> str:
    # Values were validated (numbers, bools, known activation/padding names), so repr-style
    # literals are safe to emit; strings use double quotes to match the house style.
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, tuple):
        inner = ", ".join(_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def to_code(
    spec: ModelSpec,
    input_shape: tuple[int, ...],
    num_classes: int,
    dropout: float | None = None,
    name: str | None = None,
) -> str:
    """Python source that rebuilds the same model as :func:`build` with plain Keras.

    Returns
    -------
    str
        ``import keras`` followed by ``model = keras.Sequential([...], name=...)``.
    """
    layers = resolve(spec, input_shape, num_classes)
    _infer(spec, input_shape, num_classes)
    _check_dropout(dropout)
    lines = [f"        keras.Input(shape={_literal(tuple(input_shape))}),"]
    pre = preprocessing_of(spec)
    if pre is not None:
        lines = [f'        keras.Input(shape={_literal(tuple(input_shape))}, dtype="string"),']
        if not isinstance(pre, TextVectorizationSpec):
            lines = [lines[0].replace('"string"', '"float32"')]
        lines += _preprocessing_code(pre, tuple(input_shape))
    vocabulary = _vocabulary_size(spec)
    lines += [f"        {_code_layer(layer, dropout, vocabulary)}," for layer in layers]
    lines.append(f'        keras.layers.Dense(units={num_classes}, activation="softmax"),')
    body = "\n".join(lines)
    model_name = _literal(name or _default_name(spec))
    return f"import keras\n\nmodel = keras.Sequential(\n    [\n{body}\n    ],\n    name={model_name},\n)\n"


def _preprocessing_code(pre: Any, input_shape: tuple[int, ...]) -> list[str]:
    """Source lines of the preprocessing layers (what :mod:`lepton_lab.core.preprocessing` builds)."""
    if isinstance(pre, TextVectorizationSpec):
        args = {
            "max_tokens": pre.max_tokens,
            "standardize": pre.standardize,
            "split": pre.split,
            "ngrams": pre.ngrams,
            "output_mode": pre.output_mode,
            "output_sequence_length": pre.output_sequence_length if pre.output_mode == "int" else None,
            "pad_to_max_tokens": pre.output_mode != "int",
        }
        text = ", ".join(f"{key}={_literal(value)}" for key, value in args.items())
        return [f"        keras.layers.TextVectorization({text}),  # adapt() it on the training texts first"]
    window = f"frame_length={pre.frame_length}, frame_step={pre.frame_step}, fft_length={pre.fft}"
    if isinstance(pre, MelSpectrogramSpec):
        lines = [
            f"        keras.layers.MelSpectrogram(sequence_length={pre.frame_length}, "
            f"sequence_stride={pre.frame_step}, fft_length={pre.fft}, sampling_rate=16000, "
            f"num_mel_bins={pre.num_mel_bins}, min_freq={pre.min_freq!r}, max_freq={pre.max_freq!r}, "
            f"power_to_db={pre.log!r}),"
        ]
    else:
        lines = [
            f"        keras.layers.Reshape(({input_shape[0]}, 1)),",
            f"        keras.layers.STFTSpectrogram(mode={_literal(pre.mode)}, {window}),",
        ]
    if pre.normalize:
        lines.append(
            "        keras.layers.Normalization(axis=None),  # adapt() it on the training spectrograms first"
        )
    return lines


# --- from_keras -------------------------------------------------------------------------------

#: Config values that change what a layer computes but have no place in a spec: they must hold
#: these (Keras's default) values for a model to be convertible.
_FIXED_CONFIG: dict[str, dict[str, Any]] = {
    "Conv2D": {"dilation_rate": (1, 1), "groups": 1, "data_format": "channels_last"},
    "MaxPooling2D": {"data_format": "channels_last"},
    "AveragePooling2D": {"data_format": "channels_last"},
    "BatchNormalization": {"axis": -1, "center": True, "scale": True, "renorm": False},
    "Dropout": {"noise_shape": None},
    "Flatten": {"data_format": "channels_last"},
    "GlobalAveragePooling2D": {"data_format": "channels_last", "keepdims": False},
    "SimpleRNN": {"use_bias": True, "go_backwards": False, "stateful": False, "return_state": False},
    "LSTM": {
        "recurrent_activation": "sigmoid",
        "use_bias": True,
        "go_backwards": False,
        "stateful": False,
        "return_state": False,
    },
    "GRU": {
        "recurrent_activation": "sigmoid",
        "use_bias": True,
        "go_backwards": False,
        "stateful": False,
        "return_state": False,
        "reset_after": True,
    },
    "Conv1D": {"dilation_rate": (1,), "groups": 1, "data_format": "channels_last"},
    "MaxPooling1D": {"data_format": "channels_last"},
    "AveragePooling1D": {"data_format": "channels_last"},
    "GlobalMaxPooling1D": {"data_format": "channels_last", "keepdims": False},
    "GlobalAveragePooling1D": {"data_format": "channels_last", "keepdims": False},
}

#: Spec arguments left out of a converted layer when they hold Keras's default.
_DEFAULTS: dict[str, Any] = {
    "strides": (1, 1),
    "padding": "valid",
    "activation": "linear",
    "use_bias": True,
    "momentum": 0.99,
    "epsilon": 0.001,
    "return_sequences": False,
    "dropout": 0.0,
    "recurrent_dropout": 0.0,
    "mask_zero": False,
    "merge_mode": "concat",
}


def _compact(value: Any) -> Any:
    # (3, 3) and (3,) -> 3, other tuples -> lists, as a person would write the spec in JSON.
    if isinstance(value, (tuple, list)):
        if len(value) == 1 or (len(value) == 2 and value[0] == value[1]):
            return value[0]
        return list(value)
    return value


def _normalise(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _spec_layer(position: int, layer: Any) -> LayerSpec:
    from lepton_lab.core.tf_import import keras

    type_name = type(layer).__name__
    if type_name not in LAYER_ARGS or type(layer) is not getattr(keras.layers, type_name):
        raise ModelError(
            f"layer {position} ({type_name}): is not a layer Lepton Lab can describe (no Lambda or custom "
            f"layers, since a spec carries no code); rebuild the model from {', '.join(LAYER_ARGS)}",
            position,
            type_name,
        )
    if type_name == "Bidirectional":
        return _spec_bidirectional(position, layer)
    config = layer.get_config()
    for key, expected in _FIXED_CONFIG.get(type_name, {}).items():
        actual = _normalise(config.get(key, expected))
        if actual != expected and not (key == "axis" and actual in ([-1], (-1,))):
            raise ModelError(
                f"layer {position} ({type_name}): {key}={actual!r} cannot be expressed in a spec; "
                f"use the default {key}={expected!r} or keep this model in plain Keras",
                position,
                type_name,
            )
    args: dict[str, Any] = {}
    for key in LAYER_ARGS[type_name]:
        if key not in config:
            continue
        value = _normalise(config[key])
        if key == "activation" and value not in ACTIVATIONS:
            raise ModelError(
                f"layer {position} ({type_name}): activation {value!r} is not supported; "
                f"use one of {', '.join(ACTIVATIONS)}",
                position,
                type_name,
            )
        if key == "strides" and "Pooling" in type_name and value == _normalise(config["pool_size"]):
            continue  # Keras stores strides=pool_size when none was given
        if type_name in ("SimpleRNN", "LSTM", "GRU") and key == "activation" and value == "tanh":
            continue
        if key in _DEFAULTS and value == _DEFAULTS[key] and type_name != "Activation":
            continue
        if type_name == "Conv1D" and key == "strides" and value == (1,):
            continue  # Keras's default
        args[key] = _compact(value) if key != "target_shape" else list(value)
    return LayerSpec(type=type_name, **args)


def _spec_bidirectional(position: int, layer: Any) -> LayerSpec:
    forward, backward = layer.forward_layer, layer.backward_layer

    def same(config: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in config.items() if key not in ("name", "go_backwards")}

    # A spec wraps one layer, read both ways; a backward layer of its own cannot be written down.
    if type(backward) is not type(forward) or same(backward.get_config()) != same(forward.get_config()):
        raise ModelError(
            f"layer {position} (Bidirectional): its backward layer differs from its forward layer, "
            "which a spec cannot express; wrap one layer (Bidirectional(LSTM(...))) or keep this "
            "model in plain Keras",
            position,
            "Bidirectional",
        )
    wrapped = _spec_layer(position, forward)
    args: dict[str, Any] = {"layer": wrapped.model_dump()}
    if layer.merge_mode != _DEFAULTS["merge_mode"]:
        args["merge_mode"] = layer.merge_mode
    return LayerSpec(type="Bidirectional", **args)


def from_keras(model: keras.Model) -> ModelSpec:
    """Describe a ``keras.Sequential`` model made of supported layers as a spec.

    The input layer is implicit in Keras's ``model.layers``; a final ``Dense`` with softmax
    activation is taken for the classifier that :func:`build` adds back and is dropped.

    Raises
    ------
    ModelError
        For non-Sequential models, unsupported layers (Lambda, custom classes) and settings a
        spec cannot express, naming the layer by position and type.
    """
    from lepton_lab.core.tf_import import keras

    if not isinstance(model, keras.Sequential):
        raise ModelError(
            f"from_keras reads keras.Sequential models only, got {type(model).__name__} {model.name!r}; "
            "rebuild it as keras.Sequential([...])"
        )
    layers = list(model.layers)
    if layers and type(layers[-1]) is keras.layers.Dense:
        config = layers[-1].get_config()
        if config.get("activation") == "softmax" and config.get("use_bias", True):
            layers = layers[:-1]
    return ModelSpec(layers=[_spec_layer(position, layer) for position, layer in enumerate(layers, start=1)])
