"""Sequence layers (Embedding, Conv1D, 1-D and global pooling, SimpleRNN/LSTM/GRU, Bidirectional).

Shape inference and parameter counts are held to real Keras models built from the same specs, the
generated code is executed and compared, and every way to get a layer wrong gets a message naming
the layer, the argument and the fix.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from lepton_lab.core import models
from lepton_lab.core.layer_specs import LAYER_TYPES, layer_problems
from lepton_lab.core.models import ModelError
from lepton_lab.core.shape_inference import infer, trace, unavailable
from lepton_lab.core.specs import LayerSpec, ModelSpec, SpecError, parse_job

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SEQUENCE_TYPES = (
    "Embedding",
    "Conv1D",
    "MaxPooling1D",
    "AveragePooling1D",
    "GlobalMaxPooling1D",
    "GlobalAveragePooling1D",
    "SimpleRNN",
    "LSTM",
    "GRU",
    "Bidirectional",
)


def _spec(*layers: dict[str, Any]) -> ModelSpec:
    return ModelSpec.model_validate({"layers": list(layers)})


#: Stacks covering each new layer in several configurations: paddings (causal too), strides that
#: do not divide the length, biases off, masking, every merge mode, dropout on the recurrent layers.
STACKS: dict[str, tuple[ModelSpec, tuple[int, ...], int]] = {
    "embedding_conv_pools": (
        _spec(
            {"type": "Embedding", "input_dim": 50, "output_dim": 8},
            {"type": "Conv1D", "filters": 4, "kernel_size": 3, "strides": 2, "activation": "relu"},
            {"type": "MaxPooling1D", "pool_size": 3},
            {"type": "GlobalAveragePooling1D"},
        ),
        (21,),
        3,
    ),
    "causal_and_same_convs": (
        _spec(
            {"type": "Embedding", "input_dim": 60, "output_dim": 6, "mask_zero": True},
            {
                "type": "Conv1D",
                "filters": 5,
                "kernel_size": 4,
                "strides": 3,
                "padding": "causal",
                "use_bias": False,
            },
            {"type": "AveragePooling1D", "pool_size": 2, "strides": 1, "padding": "same"},
            {"type": "Conv1D", "filters": 3, "kernel_size": 5, "padding": "same", "strides": 2},
            {"type": "GlobalMaxPooling1D"},
        ),
        (23,),
        4,
    ),
    "bidirectional_gru_then_lstm": (
        _spec(
            {"type": "Embedding", "input_dim": 40, "output_dim": 4, "mask_zero": True},
            {"type": "Bidirectional", "layer": {"type": "GRU", "units": 5, "return_sequences": True}},
            {
                "type": "Bidirectional",
                "layer": {"type": "LSTM", "units": 3, "dropout": 0.1},
                "merge_mode": "sum",
            },
        ),
        (17,),
        2,
    ),
    "recurrent_on_features": (
        _spec(
            {
                "type": "Bidirectional",
                "layer": {"type": "SimpleRNN", "units": 7, "return_sequences": True, "activation": "relu"},
                "merge_mode": "mul",
            },
            {"type": "LSTM", "units": 4, "return_sequences": True, "recurrent_dropout": 0.2},
            {"type": "SimpleRNN", "units": 5, "return_sequences": True, "dropout": 0.1},
            {"type": "GRU", "units": 6, "activation": "sigmoid"},
        ),
        (10, 3),
        5,
    ),
    "averaged_directions_pooled": (
        _spec(
            {
                "type": "Bidirectional",
                "layer": {"type": "LSTM", "units": 7, "return_sequences": True},
                "merge_mode": "ave",
            },
            {"type": "MaxPooling1D", "pool_size": 3, "strides": 2, "padding": "same"},
            {"type": "Conv1D", "filters": 2, "kernel_size": 2, "padding": "valid"},
            {"type": "Flatten"},
        ),
        (11, 3),
        2,
    ),
}


def _keras_rows(model: Any) -> list[tuple[tuple[int | None, ...], int]]:
    rows = [(tuple(model.inputs[0].shape), 0)]
    rows += [(tuple(layer.output.shape), layer.count_params()) for layer in model.layers]
    return rows


def _configs(model: Any) -> list[tuple[str, dict[str, Any]]]:
    # Layer names carry a session-wide counter (lstm, lstm_1, ...), so they cannot be compared.
    def strip(config: Any) -> Any:
        if isinstance(config, dict):
            return {k: strip(v) for k, v in config.items() if k != "name"}
        return config

    return [(type(layer).__name__, strip(layer.get_config())) for layer in model.layers]


def _exec_code(code: str) -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(code, "<to_code>", "exec"), namespace)
    return namespace["model"]


def test_the_stacks_cover_every_sequence_layer_type():
    used = {layer.type for spec, _, _ in STACKS.values() for layer in spec.layers or []}
    assert set(SEQUENCE_TYPES) <= used
    assert set(SEQUENCE_TYPES) <= set(LAYER_TYPES)


# --- shape inference and parameter counts against Keras ---------------------------------------


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_summary_matches_the_built_keras_model(stack: str) -> None:
    spec, shape, classes = STACKS[stack]
    model = models.build(spec, shape, classes)
    frame = models.summary(spec, shape, classes)
    assert list(zip(frame["output_shape"], frame["params"], strict=True)) == _keras_rows(model)
    assert frame.attrs["total_params"] == model.count_params() == models.count_params(spec, shape, classes)
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    assert frame.attrs["trainable_params"] == trainable


@pytest.mark.parametrize("recurrent", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
def test_bidirectional_width_and_weights_match_keras_for_each_layer_and_merge(recurrent, merge_mode):
    import keras

    spec = _spec(
        {"type": "Bidirectional", "layer": {"type": recurrent, "units": 6}, "merge_mode": merge_mode}
    )
    rows = infer(spec.layers or [], (9, 4), 3)
    layer = keras.layers.Bidirectional(getattr(keras.layers, recurrent)(6), merge_mode=merge_mode)
    out = layer(keras.Input((9, 4)))
    assert rows[1].output_shape == tuple(out.shape)
    assert rows[1].params == layer.count_params()


def test_embedding_takes_the_vectorizers_vocabulary_when_input_dim_is_left_out():
    layers = [LayerSpec(type="Embedding", output_dim=16), LayerSpec(type="GlobalAveragePooling1D")]
    rows = infer(layers, (30,), 4, vocabulary_size=1200)
    assert rows[1].output_shape == (None, 30, 16) and rows[1].params == 1200 * 16
    with pytest.raises(ModelError) as excinfo:
        infer(layers, (30,), 4)
    message = str(excinfo.value)
    assert message.startswith("layer 1 (Embedding): input_dim is not set")
    assert "set input_dim to the number of token ids, e.g. 10000, or add a TextVectorization" in message
    assert excinfo.value.position == 1


def test_a_text_model_built_after_its_vectorizer_counts_the_same_as_keras():
    # The vocabulary comes from model.preprocessing (the builder and the runner pass the spec).
    spec = ModelSpec.model_validate(
        {
            "layers": [
                {"type": "Embedding", "output_dim": 8, "mask_zero": True},
                {"type": "Bidirectional", "layer": {"type": "LSTM", "units": 4}},
            ],
            "preprocessing": {"type": "TextVectorization", "max_tokens": 300, "output_sequence_length": 12},
        }
    )
    import tensorflow as tf

    from lepton_lab.core import preprocessing

    texts = tf.data.Dataset.from_tensor_slices(["the cat sat", "a dog ran far", "the dog sat"]).batch(2)
    vectorizer = preprocessing.adapt(spec.preprocessing, texts, ())
    model = models.build(spec, (), 3, preprocessing_layers=vectorizer)
    embedding = next(layer for layer in model.layers if type(layer).__name__ == "Embedding")
    assert embedding.input_dim == 300
    assert models.count_params(spec, (), 3) == model.count_params()
    assert model.predict(tf.constant(["the cat ran"]), verbose=0).shape == (1, 3)
    assert [row["output_shape"] for row in models.summary_rows(spec, (), 3)][-3:] == [
        [None, 12, 8],
        [None, 8],
        [None, 3],
    ]


def test_an_embedding_smaller_than_the_vocabulary_is_refused():
    layers = [LayerSpec(type="Embedding", input_dim=100, output_dim=4), LayerSpec(type="Flatten")]
    with pytest.raises(ModelError, match="input_dim 100 is smaller than the vocabulary of 500 tokens"):
        infer(layers, (8,), 2, vocabulary_size=500)
    assert infer(layers, (8,), 2, vocabulary_size=100)[1].params == 400


@pytest.mark.parametrize("mode", ["multi_hot", "count", "tf_idf"])
def test_an_embedding_after_a_vector_per_text_vectorizer_is_refused(mode):
    # Such a vectorizer gives (max_tokens,) like token ids of that length; Keras would build it
    # and embed weights as if they were ids.
    spec = ModelSpec.model_validate(
        {
            "layers": [{"type": "Embedding", "output_dim": 8}, {"type": "GlobalAveragePooling1D"}],
            "preprocessing": {"type": "TextVectorization", "max_tokens": 300, "output_mode": mode},
        }
    )
    with pytest.raises(ModelError) as excinfo:
        models.validate(spec, (), 3)
    message = str(excinfo.value)
    assert message.startswith(
        f"layer 1 (Embedding): needs token ids, but the TextVectorization's output_mode '{mode}'"
    )
    assert "set model.preprocessing output_mode='int'" in message
    assert "or remove the Embedding" in message
    assert excinfo.value.position == 1
    with pytest.raises(ModelError, match="needs token ids"):
        models.to_code(spec, (), 3)
    as_ids = spec.model_copy(
        update={
            "preprocessing": spec.preprocessing.model_copy(
                update={"output_mode": "int", "output_sequence_length": 20}
            )
        }
    )
    assert models.count_params(as_ids, (), 3) == 300 * 8 + 8 * 3 + 3


def test_trace_stops_before_the_output_layer():
    rows, stack = trace([LayerSpec(type="Embedding", input_dim=10, output_dim=3)], (7,))
    assert stack.shape == (7, 3) and [row.layer for row in rows] == ["Input", "Embedding"]


# --- layers that do not fit where they are -----------------------------------------------------


@pytest.mark.parametrize(
    ("layers", "shape", "message"),
    [
        (
            [{"type": "Dense", "units": 4}, {"type": "LSTM", "units": 8}],
            (12,),
            "layer 2 (LSTM): needs a sequence (timesteps, features) but gets shape (4,) from layer 1 "
            "(Dense); add Reshape(target_shape=(4, 1)) before it",
        ),
        (
            [
                {"type": "Embedding", "input_dim": 9, "output_dim": 4},
                {"type": "Conv2D", "filters": 2, "kernel_size": 3},
            ],
            (20,),
            "layer 2 (Conv2D): needs an image (height, width, channels) but gets shape (20, 4) from layer 1 "
            "(Embedding); use Conv1D on a sequence (timesteps, features), or add Reshape",
        ),
        (
            [{"type": "MaxPooling1D"}],
            (8, 8, 3),
            "layer 1 (MaxPooling1D): needs a sequence (timesteps, features) but gets shape (8, 8, 3) "
            "from the input; use MaxPooling2D on an image, or add Reshape(target_shape=(8, 24)) before it",
        ),
        (
            [{"type": "Dense", "units": 4}, {"type": "Embedding", "input_dim": 9, "output_dim": 4}],
            (12,),
            "layer 2 (Embedding): turns the input's token ids into vectors, so it must come first, but it "
            "follows layer 1 (Dense); move it to position 1",
        ),
        (
            [{"type": "Embedding", "input_dim": 9, "output_dim": 4}],
            (4, 4),
            "layer 1 (Embedding): needs one sequence of token ids per example (sequence_length,) but gets "
            "shape (4, 4) from the input",
        ),
        (
            [{"type": "Conv1D", "filters": 2, "kernel_size": 9}],
            (6, 2),
            "layer 1 (Conv1D): kernel_size 9 is longer than its 6 timesteps; "
            "use padding='same' or a smaller kernel",
        ),
        (
            [{"type": "AveragePooling1D", "pool_size": 7}],
            (6, 2),
            "layer 1 (AveragePooling1D): pool_size 7 is longer than its 6 timesteps; use padding='same'",
        ),
        (
            [{"type": "Bidirectional", "layer": {"type": "GRU", "units": 3}}, {"type": "GlobalMaxPooling1D"}],
            (6, 2),
            "layer 2 (GlobalMaxPooling1D): needs a sequence (timesteps, features) but gets shape (6,) from "
            "layer 1 (Bidirectional); set return_sequences=true on layer 1 (Bidirectional)",
        ),
        (
            [{"type": "Bidirectional", "layer": {"type": "GRU", "units": 3}}],
            (6,),
            "layer 1 (Bidirectional): needs a sequence (timesteps, features) "
            "but gets shape (6,) from the input",
        ),
        (
            [{"type": "Bidirectional", "layer": {"type": "LSTM", "units": 3, "return_sequences": True}}],
            (6, 2),
            "layer 2 (Dense): the output layer needs one feature vector per example but gets "
            "shape (6, 6) from layer 1 (Bidirectional); add Flatten or GlobalAveragePooling1D before "
            "the output, or set return_sequences=false on the last recurrent layer",
        ),
    ],
)
def test_a_misplaced_layer_is_named_with_the_fix(layers, shape, message):
    with pytest.raises(ModelError) as excinfo:
        models.validate(_spec(*layers), shape, 3)
    assert str(excinfo.value).startswith(message)


@pytest.mark.parametrize(
    ("layer_type", "shape", "at_input", "fits"),
    [
        ("LSTM", (64,), False, False),
        ("LSTM", (20, 8), False, True),
        ("Bidirectional", (20, 8), False, True),
        ("Conv2D", (20, 8), False, False),
        ("Conv1D", (8, 8, 1), True, False),
        ("Conv1D", (20, 8), False, True),
        ("GlobalMaxPooling1D", (32,), False, False),
        ("Embedding", (20,), True, True),
        ("Embedding", (20,), False, False),
        ("Embedding", (8, 8, 1), True, False),
        ("Dense", (20, 8), False, True),
        ("Flatten", (64,), False, True),
    ],
)
def test_unavailable_judges_the_rank_a_layer_needs(layer_type, shape, at_input, fits):
    reason = unavailable(layer_type, shape, at_input)
    assert (reason is None) == fits
    if reason is not None:
        assert reason.startswith(layer_type) and (str(shape) in reason or "comes first" in reason)


# --- argument errors -----------------------------------------------------------------------------


def _problems(layer: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as excinfo:
        parse_job(
            {"dataset": {"name": "digits"}, "model": {"layers": [{"type": "Flatten"}, layer]}}, strict=True
        )
    return excinfo.value.problems


@pytest.mark.parametrize(
    ("layer", "problem"),
    [
        (
            {"type": "LSTM", "units": 0},
            "model.layers.1 (LSTM): units: input should be greater than or equal to 1, got 0; "
            "set units to e.g. 32",
        ),
        (
            {"type": "GRU", "units": 8, "dropout": 1.0},
            "model.layers.1 (GRU): dropout: input should be less than 1, got 1.0; set dropout to e.g. 0.2",
        ),
        (
            {"type": "SimpleRNN", "units": 8, "return_sequences": "yes"},
            "model.layers.1 (SimpleRNN): return_sequences: input should be a valid boolean, got 'yes'; "
            "set return_sequences to e.g. False",
        ),
        (
            {"type": "Embedding"},
            "model.layers.1 (Embedding): missing required argument 'output_dim'; add it, e.g. "
            '{"type": "Embedding", "output_dim": 64}',
        ),
        (
            {"type": "Embedding", "output_dim": 8, "input_dim": 0},
            "model.layers.1 (Embedding): input_dim: input should be greater than or equal to 1, got 0; "
            "set input_dim to e.g. 10000",
        ),
        (
            {"type": "Conv1D", "filters": 8, "kernel_size": [3, 3]},
            "model.layers.1 (Conv1D): kernel_size: input should be a valid integer, got [3, 3]; "
            "set kernel_size to e.g. 3",
        ),
        (
            {"type": "MaxPooling1D", "padding": "causal"},
            "model.layers.1 (MaxPooling1D): padding: input should be 'valid' or 'same', got 'causal'; "
            "set padding to e.g. 'valid'",
        ),
        (
            {"type": "GlobalMaxPooling1D", "keepdims": True},
            "model.layers.1 (GlobalMaxPooling1D): does not take 'keepdims'; remove the argument",
        ),
        (
            {"type": "Bidirectional", "layer": {"type": "LSTM", "units": -1}},
            "model.layers.1 (Bidirectional): layer.units: input should be greater than or equal "
            "to 1, got -1; set layer.units to e.g. 32",
        ),
        (
            {"type": "Bidirectional", "layer": {"type": "Dense", "units": 4}},
            "model.layers.1 (Bidirectional): layer: Bidirectional wraps one of SimpleRNN, LSTM, GRU, got "
            '\'Dense\'; set layer to e.g. {"type": "LSTM", "units": 32}',
        ),
        (
            {"type": "Bidirectional", "layer": {"type": "GRU", "units": 4}, "merge_mode": None},
            "model.layers.1 (Bidirectional): merge_mode: input should be 'concat', 'sum', 'mul' or 'ave', "
            "got None; set merge_mode to e.g. 'concat'",
        ),
        (
            {"type": "Bidirectional"},
            "model.layers.1 (Bidirectional): missing required argument 'layer'; add it, e.g. "
            '{"type": "Bidirectional", "layer": {"type": "LSTM", "units": 32}}',
        ),
    ],
)
def test_a_bad_argument_is_named_with_the_fix(layer, problem):
    assert _problems(layer) == [problem]


def test_each_bad_argument_of_a_wrapped_layer_is_named_once():
    problems = _problems(
        {"type": "Bidirectional", "layer": {"type": "GRU", "units": 0, "recurrent_dropout": 2.0}}
    )
    assert [p.split(":")[1].strip() for p in problems] == ["layer.units", "layer.recurrent_dropout"]


def test_the_builders_row_message_is_the_same_without_the_path():
    with pytest.raises(ValidationError) as excinfo:
        LayerSpec(type="Bidirectional", layer={"type": "LSTM", "units": 0})
    assert layer_problems(excinfo.value, "Bidirectional") == [
        "layer.units: input should be greater than or equal to 1, got 0; set layer.units to e.g. 32"
    ]


def test_a_bidirectional_layer_keeps_only_the_arguments_given():
    layer = LayerSpec(type="Bidirectional", layer={"type": "LSTM", "units": 8})
    assert layer.args == {"layer": {"type": "LSTM", "units": 8}}
    assert layer.layer.dropout == 0.0 and layer.merge_mode == "concat"


# --- to_code -------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_to_code_rebuilds_the_same_model(stack: str) -> None:
    spec, shape, classes = STACKS[stack]
    code = models.to_code(spec, shape, classes)
    rebuilt = _exec_code(code)
    built = models.build(spec, shape, classes)
    assert rebuilt.count_params() == built.count_params()
    assert _configs(rebuilt) == _configs(built)


def test_to_code_writes_the_wrapped_layer_and_the_vocabulary():
    spec = ModelSpec.model_validate(
        {
            "layers": [
                {"type": "Embedding", "output_dim": 8},
                {"type": "Bidirectional", "layer": {"type": "GRU", "units": 4}, "merge_mode": "sum"},
            ],
            "preprocessing": {"type": "TextVectorization", "max_tokens": 300, "output_sequence_length": 12},
        }
    )
    code = models.to_code(spec, (), 3)
    assert "keras.layers.Embedding(input_dim=300, output_dim=8)" in code
    assert 'keras.layers.Bidirectional(keras.layers.GRU(units=4), merge_mode="sum")' in code
    assert _exec_code(code).count_params() == models.count_params(spec, (), 3)


# --- from_keras ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_from_keras_round_trip_rebuilds_identical_layers(stack: str) -> None:
    spec, shape, classes = STACKS[stack]
    built = models.build(spec, shape, classes)
    again = models.from_keras(built)
    assert again.layers == spec.layers
    assert _configs(models.build(again, shape, classes)) == _configs(built)


def test_from_keras_refuses_a_bidirectional_with_its_own_backward_layer():
    import keras

    model = keras.Sequential(
        [
            keras.Input((6, 2)),
            keras.layers.Bidirectional(
                keras.layers.LSTM(3), backward_layer=keras.layers.LSTM(5, go_backwards=True)
            ),
        ]
    )
    with pytest.raises(ModelError, match=r"layer 1 \(Bidirectional\): its backward layer differs"):
        models.from_keras(model)


# --- one real step ---------------------------------------------------------------------------


def test_a_sequence_model_takes_a_training_step_on_token_ids():
    spec, shape, classes = STACKS["bidirectional_gru_then_lstm"]
    model = models.build(spec, shape, classes)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    tokens = rng.integers(1, 40, (16, *shape))
    tokens[:, 12:] = 0  # padding the mask hides
    history = model.fit(tokens, rng.integers(0, classes, 16), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert model.predict(tokens[:2], verbose=0).shape == (2, classes)
