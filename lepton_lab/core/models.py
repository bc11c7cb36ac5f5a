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

from lepton_lab.core.shape_inference import (
    LayerInfo,
    ModelError,
    check_input_shape,
    check_num_classes,
    infer,
)
from lepton_lab.core.specs import ACTIVATIONS, LAYER_ARGS, PRESET_NAMES, LayerSpec, ModelSpec

if TYPE_CHECKING:
    import keras
    import pandas

__all__ = [
    "ModelError",
    "build",
    "count_params",
    "from_keras",
    "preset",
    "resolve",
    "summary",
    "summary_rows",
    "to_code",
    "validate",
]

#: Pooling is skipped once the feature map is smaller than this, so 8x8 digits keep a 2x2 map.
MIN_POOL_INPUT = 4


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

    Returns
    -------
    ModelSpec
        With ``layers`` set and ``preset`` unset.
    """
    shape = check_input_shape(input_shape)
    check_num_classes(num_classes)
    if name not in PRESET_NAMES:
        raise ModelError(f"unknown preset {name!r}; use one of {', '.join(PRESET_NAMES)}")
    if name == "mlp" or len(shape) not in (2, 3):
        return ModelSpec(layers=_mlp())
    prefix = [_layer("Reshape", target_shape=[*shape, 1])] if len(shape) == 2 else []
    return ModelSpec(layers=prefix + _conv_stack(name, shape[0], shape[1]))


def resolve(spec: ModelSpec, input_shape: tuple[int, ...], num_classes: int) -> list[LayerSpec]:
    """Return the hidden layers of ``spec`` (a preset expanded), without the output layer."""
    if spec.layers is not None:
        return [layer.model_copy(deep=True) for layer in spec.layers]
    assert spec.preset is not None  # ModelSpec guarantees one of the two
    return list(preset(spec.preset, input_shape, num_classes).layers or [])


def _infer(spec: ModelSpec, input_shape: tuple[int, ...], num_classes: int) -> list[LayerInfo]:
    return infer(resolve(spec, input_shape, num_classes), input_shape, num_classes)


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
) -> keras.Model:
    """Build ``keras.Sequential([Input, *layers, Dense(num_classes, softmax)])``.

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

    Raises
    ------
    ModelError
        Before Keras is touched, so the user sees which layer is wrong rather than a traceback.
    """
    layers = resolve(spec, input_shape, num_classes)
    infer(layers, input_shape, num_classes)
    _check_dropout(dropout)
    from lepton_lab.core.tf_import import keras

    # Under mixed precision (float16 or bfloat16) the softmax must stay float32, or probabilities
    # lose precision (Keras's mixed-precision guide); otherwise leave the default policy untouched.
    mixed = keras.mixed_precision.global_policy().compute_dtype != "float32"
    output_dtype = {"dtype": "float32"} if mixed else {}
    return keras.Sequential(
        [
            keras.Input(shape=tuple(input_shape)),
            *(getattr(keras.layers, layer.type)(**_keras_args(layer, dropout)) for layer in layers),
            keras.layers.Dense(num_classes, activation="softmax", **output_dtype),
        ],
        name=name or _default_name(spec),
    )


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
    infer(layers, input_shape, num_classes)
    _check_dropout(dropout)
    lines = [f"        keras.Input(shape={_literal(tuple(input_shape))}),"]
    for layer in layers:
        args = ", ".join(f"{key}={_literal(value)}" for key, value in _keras_args(layer, dropout).items())
        lines.append(f"        keras.layers.{layer.type}({args}),")
    lines.append(f'        keras.layers.Dense(units={num_classes}, activation="softmax"),')
    body = "\n".join(lines)
    model_name = _literal(name or _default_name(spec))
    return f"import keras\n\nmodel = keras.Sequential(\n    [\n{body}\n    ],\n    name={model_name},\n)\n"


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
        "activation": "tanh",
        "recurrent_activation": "sigmoid",
        "use_bias": True,
        "go_backwards": False,
        "stateful": False,
        "return_state": False,
    },
    "GRU": {
        "activation": "tanh",
        "recurrent_activation": "sigmoid",
        "use_bias": True,
        "go_backwards": False,
        "stateful": False,
        "return_state": False,
        "reset_after": True,
    },
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
}


def _compact(value: Any) -> Any:
    # (3, 3) -> 3, other tuples -> lists, as a person would write the spec in JSON.
    if isinstance(value, (tuple, list)):
        if len(value) == 2 and value[0] == value[1]:
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
        if key == "strides" and type_name.endswith("Pooling2D") and value == _normalise(config["pool_size"]):
            continue  # Keras stores strides=pool_size when none was given
        if type_name == "SimpleRNN" and key == "activation" and value == "tanh":
            continue
        if key in _DEFAULTS and value == _DEFAULTS[key] and type_name != "Activation":
            continue
        args[key] = _compact(value) if key != "target_shape" else list(value)
    return LayerSpec(type=type_name, **args)


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
