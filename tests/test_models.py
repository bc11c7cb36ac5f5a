"""Tests of model specs: presets, pure-Python summaries against real Keras, code, conversion, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from pydantic import ValidationError

from lepton_lab.core import models
from lepton_lab.core.layer_specs import LAYER_TYPES, layer_problems
from lepton_lab.core.models import ModelError
from lepton_lab.core.specs import LAYER_ARGS, LayerSpec, ModelSpec, SpecError, parse, parse_job

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DATASET_SHAPES = {"digits": (8, 8, 1), "fashion": (28, 28, 1), "shapes": (32, 32, 3)}


def _spec(*layers: dict[str, Any]) -> ModelSpec:
    return ModelSpec.model_validate({"layers": list(layers)})


# Stacks that exercise every layer type and the less common arguments (strides, valid/same,
# non-square kernels, Dense on a 3-D tensor, Reshape with -1, recurrent sequences).
CUSTOM_STACKS: dict[str, tuple[ModelSpec, tuple[int, ...], int]] = {
    "strided_valid_convs": (
        _spec(
            {"type": "Conv2D", "filters": 8, "kernel_size": [3, 5], "strides": 2, "activation": "relu"},
            {"type": "AveragePooling2D", "pool_size": 3, "strides": [3, 1], "padding": "same"},
            {"type": "Conv2D", "filters": 4, "kernel_size": 2, "use_bias": False, "padding": "same"},
            {"type": "MaxPooling2D", "pool_size": [2, 3]},
            {"type": "Flatten"},
        ),
        (18, 16, 3),  # sizes that do not divide by the strides, so rounding matters
        5,
    ),
    "global_pool_and_batchnorm": (
        _spec(
            {"type": "Conv2D", "filters": 6, "kernel_size": 1},
            {"type": "BatchNormalization", "momentum": 0.9, "epsilon": 0.01},
            {"type": "Activation", "activation": "gelu"},
            {"type": "Dense", "units": 7, "activation": "tanh"},
            {"type": "GlobalAveragePooling2D"},
            {"type": "BatchNormalization"},
            {"type": "Dropout", "rate": 0.5},
        ),
        (8, 8, 1),
        3,
    ),
    "reshape_into_recurrent": (
        _spec(
            {"type": "Reshape", "target_shape": [-1, 4]},
            {"type": "SimpleRNN", "units": 5, "return_sequences": True, "activation": "relu"},
            {"type": "GRU", "units": 6, "return_sequences": True},
            {"type": "LSTM", "units": 7},
        ),
        (8, 8, 1),
        10,
    ),
    "tabular_dense": (
        _spec(
            {"type": "Dense", "units": 16, "activation": "selu", "use_bias": False},
            {"type": "Reshape", "target_shape": [4, 4, 1]},
            {"type": "Conv2D", "filters": 3, "kernel_size": 2},
            {"type": "Flatten"},
        ),
        (13,),
        2,
    ),
}


def _presets() -> list[tuple[str, tuple[int, ...]]]:
    return [(name, shape) for name in ("mlp", "small_cnn", "cnn_bn") for shape in DATASET_SHAPES.values()]


def _keras_rows(model: Any) -> list[tuple[tuple[int | None, ...], int]]:
    rows = [(tuple(model.inputs[0].shape), 0)]
    rows += [(tuple(layer.output.shape), layer.count_params()) for layer in model.layers]
    return rows


def _configs(model: Any) -> list[tuple[str, dict[str, Any]]]:
    # Layer names carry a session-wide counter (dense, dense_1, ...), so they cannot be compared.
    return [
        (type(layer).__name__, {k: v for k, v in layer.get_config().items() if k != "name"})
        for layer in model.layers
    ]


# --- presets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "shape"), _presets())
def test_preset_summary_matches_the_built_keras_model(name: str, shape: tuple[int, ...]) -> None:
    spec = ModelSpec(preset=name)
    model = models.build(spec, shape, 10)
    frame = models.summary(spec, shape, 10)
    assert list(zip(frame["output_shape"], frame["params"], strict=True)) == _keras_rows(model)
    assert frame.attrs["total_params"] == model.count_params()
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    assert frame.attrs["trainable_params"] == trainable
    assert model.name == name and model.output_shape == (None, 10)


def test_small_cnn_on_digits_pools_twice_down_to_2x2() -> None:
    layers = models.preset("small_cnn", (8, 8, 1), 10).layers
    assert [layer.type for layer in layers or []] == [
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "MaxPooling2D",
        "Flatten",
        "Dropout",
        "Dense",
    ]
    assert models.summary(ModelSpec(preset="small_cnn"), (8, 8, 1), 10)["output_shape"][4] == (None, 2, 2, 64)


def test_cnn_bn_has_two_conv_batchnorm_pool_blocks() -> None:
    layers = models.preset("cnn_bn", (28, 28, 1), 10).layers or []
    assert [layer.type for layer in layers[:6]] == ["Conv2D", "BatchNormalization", "MaxPooling2D"] * 2
    assert {layer.type for layer in layers[6:]} == {"Flatten", "Dense", "Dropout"}


@pytest.mark.parametrize("name", ["small_cnn", "cnn_bn"])
def test_conv_presets_skip_pooling_on_tiny_images_and_still_build(name: str) -> None:
    layers = models.preset(name, (3, 3, 1), 4).layers or []
    assert "MaxPooling2D" not in [layer.type for layer in layers]
    assert models.build(ModelSpec(preset=name), (3, 3, 1), 4).output_shape == (None, 4)


@pytest.mark.parametrize("name", ["small_cnn", "cnn_bn"])
def test_conv_presets_fall_back_to_mlp_for_tabular_input(name: str) -> None:
    assert models.preset(name, (13,), 3) == models.preset("mlp", (13,), 3)
    assert models.build(ModelSpec(preset=name), (13,), 3).output_shape == (None, 3)


def test_conv_preset_adds_channel_axis_to_2d_images() -> None:
    layers = models.preset("small_cnn", (28, 28), 10).layers or []
    assert layers[0] == LayerSpec(type="Reshape", target_shape=[28, 28, 1])
    assert models.build(ModelSpec(preset="small_cnn"), (28, 28), 10).output_shape == (None, 10)


def test_unknown_preset_names_the_choices() -> None:
    with pytest.raises(ModelError, match="unknown preset 'resnet'; use one of mlp, small_cnn, cnn_bn"):
        models.preset("resnet", (8, 8, 1), 10)


def test_resolve_expands_presets_and_copies_explicit_layers() -> None:
    assert (
        models.resolve(ModelSpec(preset="mlp"), (8, 8, 1), 10) == models.preset("mlp", (8, 8, 1), 10).layers
    )
    spec = _spec({"type": "Flatten"})
    resolved = models.resolve(spec, (8, 8, 1), 10)
    assert resolved == spec.layers and resolved[0] is not (spec.layers or [])[0]
    assert all(layer.type != "Dense" or layer.args["units"] != 10 for layer in resolved)


# --- summary against Keras --------------------------------------------------------------------


@pytest.mark.parametrize("stack", sorted(CUSTOM_STACKS))
def test_custom_stack_summary_matches_the_built_keras_model(stack: str) -> None:
    spec, shape, classes = CUSTOM_STACKS[stack]
    model = models.build(spec, shape, classes)
    frame = models.summary(spec, shape, classes)
    assert list(zip(frame["output_shape"], frame["params"], strict=True)) == _keras_rows(model)
    assert frame.attrs["total_params"] == model.count_params() == models.count_params(spec, shape, classes)
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    assert frame.attrs["trainable_params"] == trainable


def test_summary_has_one_row_per_layer_including_input_and_output() -> None:
    frame = models.summary(ModelSpec(preset="mlp"), (8, 8, 1), 10)
    assert list(frame.columns[:4]) == ["index", "layer", "output_shape", "params"]
    assert list(frame["index"]) == list(range(6))
    assert list(frame["layer"]) == ["Input", "Flatten", "Dense", "Dropout", "Dense", "Dense"]
    assert frame["output_shape"].iloc[-1] == (None, 10) and frame["params"].iloc[-1] == 64 * 10 + 10


def test_summary_rows_are_json_serialisable() -> None:
    rows = models.summary_rows(ModelSpec(preset="cnn_bn"), (8, 8, 1), 10)
    again = json.loads(json.dumps(rows))
    assert again[1]["output_shape"] == [None, 8, 8, 32] and again[1]["params"] == 320
    assert again[2] == {
        "index": 2,
        "layer": "BatchNormalization",
        "output_shape": [None, 8, 8, 32],
        "params": 128,
        "trainable_params": 64,
        "description": "normalise",
    }


def test_summary_does_not_import_tensorflow() -> None:
    code = (
        "import sys\n"
        "from lepton_lab.core import models\n"
        "from lepton_lab.core.specs import ModelSpec\n"
        "frame = models.summary(ModelSpec(preset='cnn_bn'), (28, 28, 1), 10)\n"
        "models.validate(ModelSpec(preset='small_cnn'), (8, 8, 1), 10)\n"
        "models.summary_rows(ModelSpec(preset='mlp'), (13,), 3)\n"
        "code = models.to_code(ModelSpec(preset='mlp'), (13,), 3)\n"
        "assert frame.attrs['total_params'] > 0\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


# --- build -----------------------------------------------------------------------------------


def test_build_dropout_overrides_every_dropout_rate() -> None:
    spec = _spec(
        {"type": "Flatten"},
        {"type": "Dropout", "rate": 0.1},
        {"type": "Dense", "units": 4},
        {"type": "Dropout", "rate": 0.4},
    )
    rates = [
        layer.rate
        for layer in models.build(spec, (8, 8, 1), 10, dropout=0.25).layers
        if hasattr(layer, "rate")
    ]
    assert rates == [0.25, 0.25]
    kept = [layer.rate for layer in models.build(spec, (8, 8, 1), 10).layers if hasattr(layer, "rate")]
    assert kept == [0.1, 0.4]


def test_build_rejects_out_of_range_dropout_override() -> None:
    with pytest.raises(ModelError, match=r"dropout must be a number in \[0, 1\), got 1.5"):
        models.build(ModelSpec(preset="mlp"), (8, 8, 1), 10, dropout=1.5)


def test_build_raises_model_error_not_a_keras_traceback() -> None:
    spec = _spec({"type": "Conv2D", "filters": 4, "kernel_size": 9})
    with pytest.raises(ModelError, match=r"layer 1 \(Conv2D\): kernel_size 9 is larger than its 8x8 input"):
        models.build(spec, (8, 8, 1), 10)


def test_built_model_trains_one_step_on_digits_shaped_data() -> None:
    import numpy as np

    model = models.build(ModelSpec(preset="cnn_bn"), (8, 8, 1), 10)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    history = model.fit(rng.random((16, 8, 8, 1)), rng.integers(0, 10, 16), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


# --- to_code ---------------------------------------------------------------------------------


def _exec_code(code: str) -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(code, "<to_code>", "exec"), namespace)
    return namespace["model"]


@pytest.mark.parametrize(
    ("spec", "shape", "classes"),
    [(ModelSpec(preset=name), shape, 10) for name, shape in _presets()[::2]] + list(CUSTOM_STACKS.values()),
)
def test_to_code_rebuilds_the_same_model(spec: ModelSpec, shape: tuple[int, ...], classes: int) -> None:
    code = models.to_code(spec, shape, classes)
    assert code.startswith("import keras\n\nmodel = keras.Sequential(")
    rebuilt = _exec_code(code)
    built = models.build(spec, shape, classes)
    assert rebuilt.count_params() == built.count_params()
    assert _configs(rebuilt) == _configs(built)
    assert rebuilt.name == built.name


def test_to_code_applies_the_dropout_override() -> None:
    code = models.to_code(ModelSpec(preset="mlp"), (8, 8, 1), 10, dropout=0.45)
    assert "Dropout(rate=0.45)" in code and "rate=0.2" not in code


# --- from_keras ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "shape"), _presets())
def test_from_keras_recovers_preset_layers_exactly(name: str, shape: tuple[int, ...]) -> None:
    spec = models.from_keras(models.build(ModelSpec(preset=name), shape, 10))
    assert spec == models.preset(name, shape, 10)


@pytest.mark.parametrize("stack", sorted(CUSTOM_STACKS))
def test_from_keras_round_trip_rebuilds_identical_layers(stack: str) -> None:
    spec, shape, classes = CUSTOM_STACKS[stack]
    built = models.build(spec, shape, classes)
    again = models.build(models.from_keras(built), shape, classes)
    assert _configs(again) == _configs(built)


def test_from_keras_reads_a_handwritten_model_with_explicit_defaults() -> None:
    import keras

    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(16, (3, 3), strides=(1, 1), padding="valid", activation="relu"),
            keras.layers.MaxPooling2D((2, 2), strides=(2, 2)),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    spec = models.from_keras(model)
    assert spec.layers == [
        LayerSpec(type="Conv2D", filters=16, kernel_size=3, activation="relu"),
        LayerSpec(type="MaxPooling2D", pool_size=2),
        LayerSpec(type="Flatten"),
    ]


def test_from_keras_keeps_a_final_dense_that_is_not_softmax() -> None:
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    assert models.from_keras(model).layers == [LayerSpec(type="Dense", units=3)]


def test_from_keras_rejects_lambda_layers_naming_them() -> None:
    import keras

    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(3),
            keras.layers.Lambda(lambda x: x * 2),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    with pytest.raises(
        ModelError, match=r"layer 2 \(Lambda\): is not a layer Lepton Lab can describe"
    ) as info:
        models.from_keras(model)
    assert "rebuild the model from Conv2D" in str(info.value) and info.value.position == 2


def test_from_keras_rejects_custom_subclasses_of_supported_layers() -> None:
    import keras

    class MyDense(keras.layers.Dense):
        pass

    model = keras.Sequential([keras.Input((4,)), MyDense(3)])
    with pytest.raises(ModelError, match=r"layer 1 \(MyDense\)"):
        models.from_keras(model)


def test_from_keras_rejects_settings_a_spec_cannot_hold() -> None:
    import keras

    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, dilation_rate=2)])
    with pytest.raises(ModelError, match=r"layer 1 \(Conv2D\): dilation_rate=\(2, 2\) cannot be expressed"):
        models.from_keras(model)


def test_from_keras_rejects_functional_models() -> None:
    import keras

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs), name="func")
    with pytest.raises(ModelError, match=r"keras\.Sequential models only, got Functional 'func'"):
        models.from_keras(model)


# --- invalid stacks --------------------------------------------------------------------------

INVALID = [
    pytest.param(
        [{"type": "Conv2D", "filters": 4, "kernel_size": 3}],
        (64,),
        "layer 1 (Conv2D): needs an image (height, width, channels) but gets shape (64,) from the input; "
        "add Reshape(target_shape=(8, 8, 1)) before it",
        id="conv-on-flat-input",
    ),
    pytest.param(
        [{"type": "Flatten"}, {"type": "MaxPooling2D"}],
        (8, 8, 1),
        "layer 2 (MaxPooling2D): needs an image (height, width, channels) but gets shape (64,) from "
        "layer 1 (Flatten); move it before layer 1 (Flatten), or add Reshape(target_shape=(8, 8, 1))",
        id="pool-after-flatten",
    ),
    pytest.param(
        [{"type": "GlobalAveragePooling2D"}],
        (28, 28),
        "layer 1 (GlobalAveragePooling2D): needs an image (height, width, channels) but gets shape (28, 28) "
        "from the input; add Reshape(target_shape=(28, 28, 1)) before it",
        id="global-pool-on-2d",
    ),
    pytest.param(
        [{"type": "Conv2D", "filters": 8, "kernel_size": 3, "padding": "same"}],
        (8, 8, 1),
        "layer 2 (Dense): the output layer needs one feature vector per example but gets shape (8, 8, 8) "
        "from layer 1 (Conv2D); add Flatten or GlobalAveragePooling2D before the output",
        id="no-flatten-before-output",
    ),
    pytest.param(
        [{"type": "Flatten"}, {"type": "Dense", "units": 8}],
        (8, 8, 1),
        None,
        id="valid-control",
    ),
    pytest.param(
        [{"type": "LSTM", "units": 8}],
        (8, 8, 1),
        "layer 1 (LSTM): needs a sequence (timesteps, features) but gets shape (8, 8, 1) from the input; "
        "add Reshape(target_shape=(8, 8)) before it",
        id="rnn-on-image",
    ),
    pytest.param(
        [{"type": "GRU", "units": 8}],
        (20,),
        "layer 1 (GRU): needs a sequence (timesteps, features) but gets shape (20,) from the input; "
        "add Reshape(target_shape=(20, 1)) before it",
        id="rnn-on-tabular",
    ),
    pytest.param(
        [
            {"type": "Reshape", "target_shape": [8, 8]},
            {"type": "SimpleRNN", "units": 4},
            {"type": "LSTM", "units": 4},
        ],
        (64,),
        "layer 3 (LSTM): needs a sequence (timesteps, features) but gets shape (4,) from layer 2 "
        "(SimpleRNN); set return_sequences=true on layer 2 (SimpleRNN)",
        id="stacked-rnn-without-sequences",
    ),
    pytest.param(
        [
            {"type": "Reshape", "target_shape": [8, 8, 1]},
            {"type": "LSTM", "units": 4, "return_sequences": True},
        ],
        (64,),
        "layer 2 (LSTM): needs a sequence (timesteps, features) but gets shape (8, 8, 1) "
        "from layer 1 (Reshape)",
        id="rnn-after-image-reshape",
    ),
    pytest.param(
        [{"type": "Reshape", "target_shape": [5, 5]}],
        (8, 8, 1),
        "layer 1 (Reshape): target_shape (5, 5) holds 25 values but its input (8, 8, 1) holds 64",
        id="sequence-reshape-size-mismatch",
    ),
    pytest.param(
        [
            {"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "same"},
            {"type": "MaxPooling2D"},
            {"type": "Conv2D", "filters": 4, "kernel_size": 9},
        ],
        (8, 8, 1),
        "layer 3 (Conv2D): kernel_size 9 is larger than its 4x4 input; "
        "use padding='same' or a smaller kernel",
        id="kernel-larger-than-input",
    ),
    pytest.param(
        [{"type": "AveragePooling2D", "pool_size": [2, 5]}],
        (4, 4, 3),
        "layer 1 (AveragePooling2D): pool_size (2, 5) is larger than its 4x4 input; use padding='same', "
        "a smaller pool_size, or remove this pooling layer",
        id="pool-larger-than-input",
    ),
    pytest.param(
        [{"type": "Reshape", "target_shape": [5, 5, 1]}],
        (8, 8, 1),
        "layer 1 (Reshape): target_shape (5, 5, 1) holds 25 values but its input (8, 8, 1) holds 64; "
        "use a target_shape whose sizes multiply to 64",
        id="reshape-size-mismatch",
    ),
    pytest.param(
        [{"type": "Reshape", "target_shape": [-1, 7]}],
        (8, 8, 1),
        "layer 1 (Reshape): target_shape (-1, 7) cannot hold the 64 values of its input (8, 8, 1)",
        id="reshape-wildcard-indivisible",
    ),
]


@pytest.mark.parametrize(("layers", "shape", "message"), INVALID)
def test_invalid_stack_raises_model_error_naming_layer_and_fix(
    layers: list[dict[str, Any]], shape: tuple[int, ...], message: str | None
) -> None:
    spec = _spec(*layers)
    if message is None:
        models.validate(spec, shape, 10)
        return
    with pytest.raises(ModelError) as info:
        models.validate(spec, shape, 10)
    assert message in str(info.value)
    assert f"layer {info.value.position} ({info.value.layer})" in str(info.value)
    assert ";" in str(info.value)  # problem; fix
    with pytest.raises(ModelError):
        models.summary(spec, shape, 10)


# Arguments a layer type does not take, or takes with another type or range, are refused where
# the layer is written (its model), naming the layer, the argument and the fix.
BAD_ARGUMENTS = [
    pytest.param(
        [{"type": "Reshape", "target_shape": [-1, -1]}],
        "layers.0 (Reshape): target_shape: at most one side may be -1 (the one Keras infers), got [-1, -1]",
        id="reshape-two-wildcards",
    ),
    pytest.param(
        [{"type": "Flatten"}, {"type": "Conv2D", "kernel_size": 3}],
        "layers.1 (Conv2D): missing required argument 'filters'; add it, e.g. "
        '{"type": "Conv2D", "filters": 32, "kernel_size": 3}',
        id="conv-missing-filters",
    ),
    pytest.param(
        [{"type": "Conv2D", "filters": 4}],
        "layers.0 (Conv2D): missing required argument 'kernel_size'",
        id="conv-missing-kernel",
    ),
    pytest.param(
        [{"type": "Flatten"}, {"type": "Dense", "activation": "relu"}],
        'layers.1 (Dense): missing required argument \'units\'; add it, e.g. {"type": "Dense", "units": 64}',
        id="dense-missing-units",
    ),
    pytest.param(
        [{"type": "Flatten"}, {"type": "Dense", "units": -3}],
        "layers.1 (Dense): units: input should be greater than or equal to 1, got -3; set units to e.g. 32",
        id="negative-units",
    ),
    pytest.param(
        [{"type": "Flatten"}, {"type": "Dense", "units": "64"}],
        "layers.1 (Dense): units: input should be a valid integer, got '64'",
        id="string-units",
    ),
    pytest.param(
        [{"type": "Flatten"}, {"type": "Dropout", "rate": 1.0}],
        "layers.1 (Dropout): rate: input should be less than 1, got 1.0; set rate to e.g. 0.25",
        id="rate-one",
    ),
    pytest.param(
        [{"type": "Flatten"}, {"type": "Dropout", "rate": -0.1}],
        "layers.1 (Dropout): rate: input should be greater than or equal to 0, got -0.1",
        id="rate-negative",
    ),
    pytest.param(
        [{"type": "Conv2D", "filters": 4, "kernel_size": [3, 0]}],
        "layers.0 (Conv2D): kernel_size: input should be greater than or equal to 1, got 0; "
        "set kernel_size to e.g. 3",
        id="zero-kernel",
    ),
    pytest.param(
        [{"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "full"}],
        "layers.0 (Conv2D): padding: input should be 'valid' or 'same', got 'full'",
        id="bad-padding",
    ),
    pytest.param(
        [{"type": "Flatten"}, {"type": "Dense", "units": 4, "use_bias": "yes"}],
        "layers.1 (Dense): use_bias: input should be a valid boolean, got 'yes'",
        id="bad-bool",
    ),
    pytest.param(
        [{"type": "BatchNormalization", "epsilon": 0}],
        "layers.0 (BatchNormalization): epsilon: input should be greater than 0, got 0; "
        "set epsilon to e.g. 0.001",
        id="bad-epsilon",
    ),
    pytest.param(
        [{"type": "Dense", "units": 4, "kernel_initializer": "ones"}],
        "layers.0 (Dense): does not take 'kernel_initializer'; use only units, activation, use_bias",
        id="unknown-argument",
    ),
    pytest.param(
        [{"type": "Dense", "units": 4, "activation": "os.system"}],
        "layers.0 (Dense): activation: input should be 'relu', 'sigmoid'",
        id="unknown-activation",
    ),
    pytest.param(
        [{"type": "Lambda", "function": "x"}],
        "layers.0: unknown layer type 'Lambda'; use one of Conv2D, MaxPooling2D",
        id="lambda",
    ),
]


@pytest.mark.parametrize(("layers", "message"), BAD_ARGUMENTS)
def test_bad_layer_arguments_are_refused_naming_layer_argument_and_fix(
    layers: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(SpecError) as info:
        parse(ModelSpec, {"layers": layers})
    assert message in str(info.value)
    with pytest.raises(SpecError) as in_job:  # the REST API's path to the same layer
        parse_job({"dataset": {"name": "digits"}, "model": {"layers": layers}}, strict=True)
    assert f"model.{message}" in str(in_job.value)


def test_every_layer_type_takes_its_own_arguments_and_no_other() -> None:
    for layer_type, arguments in LAYER_ARGS.items():
        model = LAYER_TYPES[layer_type]
        layer = LayerSpec(type=layer_type, **model.example)
        assert type(layer) is model and layer.args == model.example
        for name in arguments:
            assert name in model.model_fields
        with pytest.raises(ValidationError) as info:
            LayerSpec(type=layer_type, **model.example, bogus=1)
        fix = f"use only {', '.join(arguments)}" if arguments else "remove the argument"
        assert layer_problems(info.value, layer_type) == [f"does not take 'bogus'; {fix}"]


def test_a_layer_built_around_validation_is_still_refused_by_inference() -> None:
    # model_construct skips validation; a type inference does not know still fails by name.
    layer = LayerSpec.model_construct(type="Lambda")
    spec = ModelSpec.model_construct(preset=None, layers=[layer])
    with pytest.raises(ModelError, match=r"layer 1 \(Lambda\): is not a supported layer type"):
        models.validate(spec, (4,), 2)


@pytest.mark.parametrize(
    ("shape", "classes", "message"),
    [
        ((0,), 10, "input_shape must be a non-empty tuple of positive integers, got (0,)"),
        # () is one string per example (text): an image preset says which presets fit.
        ((), 10, "preset 'mlp' is made for image and tabular data, but the input is text"),
        ((8, 0, 1), 10, "got (8, 0, 1); pass the shape of one example"),
        ((8, 8, 1), 1, "num_classes must be an integer >= 2, got 1"),
    ],
)
def test_bad_input_shape_or_class_count_is_explained(
    shape: tuple[int, ...], classes: int, message: str
) -> None:
    with pytest.raises(ModelError) as info:
        models.validate(ModelSpec(preset="mlp"), shape, classes)
    assert message in str(info.value)


def test_mixed_precision_build_keeps_the_softmax_in_float32():
    import keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = models.build(models.preset("small_cnn", (8, 8, 1), 10), (8, 8, 1), 10)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert model.layers[0].compute_dtype == "float16"
    assert model.layers[-1].compute_dtype == "float32"
    import numpy as np

    assert keras.backend.standardize_dtype(model(np.zeros((1, 8, 8, 1), "float32")).dtype) == "float32"
