"""ModelBuilder: layers edited in the widget become a ModelSpec; errors sit beside their layer."""

from __future__ import annotations

import html

import ipywidgets
import pytest

from lepton_lab.core import models
from lepton_lab.core.specs import ModelSpec, SpecError
from lepton_lab.widgets.model_builder import ModelBuilder

DIGITS = ((8, 8, 1), 10)


def test_starts_from_a_preset_expanded_into_editable_layers():
    builder = ModelBuilder(*DIGITS, {"preset": "small_cnn"})
    assert builder.spec == models.preset("small_cnn", *DIGITS)
    assert builder.total_params == models.count_params(builder.spec, *DIGITS) == 53002
    assert [row.layer_type for row in builder.layer_rows][:2] == ["Conv2D", "MaxPooling2D"]
    assert "53,002" in builder.table.value


def test_an_impossible_layer_shows_the_error_next_to_that_layer_only():
    builder = ModelBuilder(*DIGITS, {"preset": "small_cnn"})
    first = builder.layer_rows[0]
    first.editors["kernel_size"].value = "9"
    first.editors["padding"].value = "valid"
    assert builder.error_position == 1
    assert "layer 1 (Conv2D): kernel_size 9 is larger than its 8x8 input" in first.error.value
    assert all(row.error.value == "" for row in builder.layer_rows[1:])
    assert "lepton-layer-error" in first._dom_classes
    with pytest.raises(SpecError, match="kernel_size 9"):
        builder.spec  # noqa: B018
    first.editors["kernel_size"].value = "3"
    assert builder.error == "" and first.error.value == ""
    assert "lepton-layer-error" not in first._dom_classes


def test_unparsable_argument_text_is_reported_on_its_row():
    builder = ModelBuilder(*DIGITS, {"preset": "mlp"})
    dense = builder.layer_rows[1]
    dense.editors["units"].value = "many"
    assert builder.error_position == 2
    assert builder.error == "layer 2 (Dense): units must be a whole number such as 32, got 'many'"
    assert "units must be a whole number such as 32, got &#x27;many&#x27;" in dense.error.value


def test_add_remove_and_reorder_change_the_spec_and_the_live_table():
    builder = ModelBuilder(*DIGITS, {"preset": "mlp"})
    builder.add("Dense", units=16, activation="tanh")
    assert builder.spec.layers[-1].args == {"units": 16, "activation": "tanh"}
    assert builder.total_params == models.count_params(builder.spec, *DIGITS)
    builder.move(len(builder.layer_rows) - 1, -1)  # Dense(16) before Dense(64)
    assert [layer.args.get("units") for layer in builder.spec.layers] == [None, 128, None, 16, 64]
    builder.remove(2)  # the Dropout
    assert [layer.type for layer in builder.spec.layers] == ["Flatten", "Dense", "Dense", "Dense"]
    builder.move(0, -1)  # already first: nothing happens
    assert builder.spec.layers[0].type == "Flatten"
    builder.move(0, +1)
    assert [layer.type for layer in builder.spec.layers][:2] == ["Dense", "Flatten"]
    assert builder.total_params == models.count_params(builder.spec, *DIGITS)


def test_dense_before_flatten_on_a_sequence_layer_is_named():
    builder = ModelBuilder((20, 3), 4, ModelSpec(layers=[{"type": "Flatten"}]))
    builder.add("LSTM", units=8)
    assert builder.error_position == 2
    assert "layer 2 (LSTM)" in builder.layer_rows[1].error.value


def test_show_code_displays_the_generated_keras_code():
    builder = ModelBuilder(*DIGITS, {"preset": "cnn_bn"})
    assert builder.code.value == ""
    builder.show_code.value = True
    code = models.to_code(builder.spec, *DIGITS)
    assert "keras.layers.BatchNormalization()" in builder.code.value
    assert builder.code_text() == code


def test_loading_a_preset_replaces_the_layers():
    builder = ModelBuilder(*DIGITS)
    builder.load_preset("mlp")
    assert builder.spec == models.preset("mlp", *DIGITS)
    builder.spec = {"layers": [{"type": "Flatten"}, {"type": "Dense", "units": 5}]}
    assert len(builder.layer_rows) == 2 and builder.total_params == 64 * 5 + 5 + 5 * 10 + 10


def test_every_layer_row_is_one_line_on_a_shared_grid():
    builder = ModelBuilder((16, 16, 1), 10, {"preset": "small_cnn"})
    lines = [row.children[0] for row in builder.layer_rows]
    templates = {line.layout.grid_template_columns for line in lines}
    assert len(templates) == 1 and all(isinstance(line, ipywidgets.GridBox) for line in lines)
    for line in lines:
        editors = line.children[2]
        assert editors.layout.flex_flow == "row nowrap"  # no ragged wrapping
        assert all(editor.layout.width for editor in editors.children)  # fixed column widths


# --- sequence layers: the palette offers what fits after the last layer --------------------------

TOKENS = ((20,), 4)  # 20 token ids per example


def _offered(builder: ModelBuilder) -> set[str]:
    return set(builder.palette.options)


def test_after_an_embedding_the_palette_offers_sequence_layers_and_says_why_not_image_ones():
    builder = ModelBuilder(*TOKENS, {"layers": [{"type": "Embedding", "input_dim": 100, "output_dim": 8}]})
    offered = _offered(builder)
    assert {"LSTM", "GRU", "SimpleRNN", "Bidirectional", "Conv1D", "GlobalMaxPooling1D", "Dense"} <= offered
    assert not {"Conv2D", "MaxPooling2D", "GlobalAveragePooling2D", "Embedding"} & offered
    note = builder.palette_note.value
    assert "Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D" in note
    assert "needs an image (height, width, channels); the model so far gives (20, 8)" in note
    assert "Embedding" in note and "only comes first" in note


def test_after_a_recurrent_layer_without_sequences_no_sequence_layer_is_offered():
    builder = ModelBuilder(*TOKENS, {"layers": [{"type": "Embedding", "input_dim": 100, "output_dim": 8}]})
    builder.add("Bidirectional")
    assert builder.error == "" and not {"LSTM", "Conv1D", "GlobalMaxPooling1D"} & _offered(builder)
    assert (
        "needs a sequence (timesteps, features); the model so far gives (64,)" in builder.palette_note.value
    )
    builder.layer_rows[1].editors["layer.return_sequences"].value = "true"
    assert {"LSTM", "Conv1D", "GlobalMaxPooling1D"} <= _offered(builder)


def test_on_images_and_flat_vectors_the_palette_leaves_out_sequence_layers():
    empty = ModelBuilder((8, 8, 1), 10, {"layers": []})
    assert {"Conv2D", "MaxPooling2D", "Flatten"} <= _offered(empty)
    assert not {"LSTM", "Conv1D", "Embedding"} & _offered(empty)
    mlp = ModelBuilder((8, 8, 1), 10, {"preset": "mlp"})
    assert not {"LSTM", "Bidirectional", "Conv2D", "Conv1D"} & _offered(mlp)
    assert {"Dense", "Dropout"} <= _offered(mlp)
    assert "Embedding" in _offered(ModelBuilder(*TOKENS, {"layers": []}))  # token ids at the input


def test_adding_a_layer_that_does_not_fit_is_refused_with_the_reason():
    builder = ModelBuilder(*TOKENS, {"layers": [{"type": "Embedding", "input_dim": 100, "output_dim": 8}]})
    builder.palette.options = ["Conv2D"]  # a stale palette, as a front end might still show
    assert builder.add_from_palette() is None
    assert len(builder.layer_rows) == 1
    assert "Conv2D needs an image (height, width, channels); the model so far gives (20, 8); not added" in (
        builder.general_error.value
    )
    builder.palette.options = ["GlobalAveragePooling1D"]
    row = builder.add_from_palette()
    assert row is not None and builder.error == "" and builder.general_error.value == ""
    assert builder.total_params == models.count_params(builder.spec, *TOKENS) == 100 * 8 + 8 * 4 + 4


def test_a_bidirectional_row_edits_the_wrapped_layer_and_names_its_errors():
    builder = ModelBuilder(*TOKENS, {"layers": [{"type": "Embedding", "input_dim": 100, "output_dim": 8}]})
    row = builder.add("Bidirectional")
    assert list(row.editors) == [
        "layer", "layer.units", "layer.activation", "layer.return_sequences", "layer.dropout",
        "layer.recurrent_dropout", "merge_mode",
    ]  # fmt: skip
    row.editors["layer"].value = "GRU"
    row.editors["layer.units"].value = "6"
    row.editors["merge_mode"].value = "sum"
    row.editors["layer.return_sequences"].value = "true"
    builder.add("GlobalMaxPooling1D")
    assert builder.spec.layers[1].args == {
        "layer": {"type": "GRU", "units": 6, "return_sequences": True},
        "merge_mode": "sum",
    }
    assert builder.total_params == models.count_params(builder.spec, *TOKENS)
    row.editors["layer.units"].value = "0"
    assert builder.error_position == 2
    assert "layer.units: input should be greater than or equal to 1, got 0; set layer.units to e.g. 32" in (
        row.error.value
    )


def test_a_text_model_keeps_its_vectorizer_and_the_embedding_takes_its_vocabulary():
    spec = {
        "layers": [{"type": "Embedding", "output_dim": 8}, {"type": "GlobalAveragePooling1D"}],
        "preprocessing": {"type": "TextVectorization", "max_tokens": 500, "output_sequence_length": 30},
    }
    builder = ModelBuilder((), 4, spec)  # one string per example
    assert builder.error == ""
    assert builder.spec.preprocessing is not None and builder.spec.preprocessing.max_tokens == 500
    assert builder.total_params == 500 * 8 + 8 * 4 + 4
    assert "keras.layers.Embedding(input_dim=500, output_dim=8)," in builder.code_text()
    builder.remove(1)
    assert "GlobalMaxPooling1D" in _offered(builder) and "(30, 8)" in builder.palette_note.value


def test_after_a_tf_idf_vectorizer_the_palette_leaves_out_the_embedding_and_says_why():
    spec = {
        "layers": [],
        "preprocessing": {"type": "TextVectorization", "max_tokens": 500, "output_mode": "tf_idf"},
    }
    builder = ModelBuilder((), 4, spec)
    assert "Embedding" not in _offered(builder) and "Dense" in _offered(builder)
    note = html.unescape(builder.palette_note.value)
    assert "the TextVectorization's output_mode 'tf_idf' gives one vector per text" in note
    builder = ModelBuilder((), 4, {**spec, "preprocessing": {**spec["preprocessing"], "output_mode": "int"}})
    assert "Embedding" in _offered(builder)


def test_on_text_the_builder_starts_from_a_text_preset_and_offers_only_text_presets():
    builder = ModelBuilder((), 4)  # a text dataset's input: one string per example
    assert builder.error == "" and builder.spec.preprocessing is not None
    assert list(builder.preset.options) == models.presets_for("text")
    assert "input () → TextVectorization → (100,)" in builder.input_line.value
    builder.load_preset("text_cnn")
    assert [layer.type for layer in builder.spec.layers][:3] == ["Embedding", "Conv1D", "GlobalMaxPooling1D"]
    assert builder.spec.preprocessing.output_sequence_length == 200
    assert "→ (200,)" in builder.input_line.value
    layers_before = builder.spec.layers
    builder.load_preset("small_cnn")  # an image preset cannot read strings: refused, layers kept
    assert "preset &#x27;small_cnn&#x27; is made for image data" in builder.general_error.value
    assert builder.spec.layers == layers_before
