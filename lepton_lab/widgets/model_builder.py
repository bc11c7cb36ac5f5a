"""ModelBuilder: edit a :class:`~lepton_lab.core.specs.ModelSpec` layer by layer.

Add layers from a palette, remove and reorder them, edit each argument, or start from a
preset. Every edit re-runs the pure-Python shape inference of :mod:`lepton_lab.core.models`
(no TensorFlow, well under a millisecond), refreshing the table of output shapes and
parameter counts; a problem is shown under the layer it belongs to, in the words of
:class:`~lepton_lab.core.models.ModelError`. "Show code" shows the equivalent Keras code.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets
import traitlets
from pydantic import ValidationError

from lepton_lab.core import models, preprocessing_specs, shape_inference
from lepton_lab.core.layer_specs import (
    MERGE_MODES,
    PADDINGS_1D,
    RECURRENT_TYPES,
    layer_problems,
)
from lepton_lab.core.specs import (
    ACTIVATIONS,
    LAYER_ARGS,
    PRESET_NAMES,
    LayerSpec,
    ModelSpec,
    SpecError,
    parse,
)
from lepton_lab.sharing.snapshot import StaticSnapshot

#: Arguments by kind of editor.
_INT_ARGS = ("filters", "units", "input_dim", "output_dim")
_PAIR_ARGS = ("kernel_size", "pool_size", "strides")
_FLOAT_ARGS = ("rate", "momentum", "epsilon", "dropout", "recurrent_dropout")
_BOOL_ARGS = ("use_bias", "return_sequences", "mask_zero")
_SHAPE_ARGS = ("target_shape",)
_CHOICES = {"padding": ("valid", "same"), "activation": ACTIVATIONS, "merge_mode": MERGE_MODES}
#: Choices that differ for one layer type.
_LAYER_CHOICES = {"Conv1D": {"padding": PADDINGS_1D}}
#: A Bidirectional row edits the layer it wraps in place: its type, then its arguments as
#: ``layer.<argument>`` (the names its errors use).
_WRAPPED = "layer"

#: Arguments of a newly added layer.
NEW_LAYER_ARGS: dict[str, dict[str, Any]] = {
    "Conv2D": {"filters": 32, "kernel_size": 3, "activation": "relu", "padding": "same"},
    "MaxPooling2D": {"pool_size": 2},
    "AveragePooling2D": {"pool_size": 2},
    "Dense": {"units": 64, "activation": "relu"},
    "Dropout": {"rate": 0.2},
    "Activation": {"activation": "relu"},
    "Reshape": {"target_shape": [-1]},
    "SimpleRNN": {"units": 32},
    "LSTM": {"units": 32},
    "GRU": {"units": 32},
    "Bidirectional": {"layer": {"type": "LSTM", "units": 32}},
    "Embedding": {"output_dim": 64},
    "Conv1D": {"filters": 64, "kernel_size": 5, "activation": "relu", "padding": "same"},
    "MaxPooling1D": {"pool_size": 2},
    "AveragePooling1D": {"pool_size": 2},
}

_ERROR_STYLE = "color:#c62828;font-size:12px;margin:0 0 4px 36px"
#: One grid for every layer row, so positions, types, editors and buttons line up down the list:
#: position | type | editors (one line; scrolls sideways when a layer has many) | up, down, remove.
_ROW_COLUMNS = "30px 150px minmax(0, 1fr) 120px"
_TEXT_WIDTH = "130px"
_CHOICE_WIDTH = "160px"


def _format(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def _parse_arg(name: str, text: str) -> Any:
    """Parse the value an editor's text stands for; raises ValueError with a hint."""
    text = text.strip()
    name = name.removeprefix(f"{_WRAPPED}.")
    if name in _INT_ARGS:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{name} must be a whole number such as 32, got {text!r}") from None
    if name in _FLOAT_ARGS:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{name} must be a number such as 0.2, got {text!r}") from None
    if name in _PAIR_ARGS or name in _SHAPE_ARGS:
        try:
            values = [
                int(part)
                for part in text.replace("x", ",").replace("(", "").replace(")", "").split(",")
                if part.strip()
            ]
        except ValueError:
            example = "3 or 3, 3" if name in _PAIR_ARGS else "8, 8, 1"
            raise ValueError(f"{name} must be whole numbers such as {example}, got {text!r}") from None
        if name in _PAIR_ARGS and len(values) == 1:
            return values[0]
        return values
    if name in _BOOL_ARGS:
        return text == "true"
    return text


def _editor(key: str, name: str, value: Any, layer_type: str, builder: ModelBuilder) -> ipywidgets.Widget:
    """Make the editor of argument ``name`` (shown under that name; ``key`` is where the row keeps it)."""
    choices = _LAYER_CHOICES.get(layer_type, {}).get(name) or _CHOICES.get(name)
    if choices is not None:
        editor: ipywidgets.Widget = ipywidgets.Dropdown(
            options=[("(default)", ""), *((c, c) for c in choices)],
            value=value if value in choices else "",
            description=name, layout=ipywidgets.Layout(width=_CHOICE_WIDTH, flex="0 0 auto"),
            style={"description_width": "initial"},
        )  # fmt: skip
    elif name in _BOOL_ARGS:
        editor = ipywidgets.Dropdown(
            options=[("(default)", ""), ("true", "true"), ("false", "false")],
            value="" if value is None else ("true" if value else "false"),
            description=name, layout=ipywidgets.Layout(width=_CHOICE_WIDTH, flex="0 0 auto"),
            style={"description_width": "initial"},
        )  # fmt: skip
    else:
        editor = ipywidgets.Text(
            value=_format(value), description=name, placeholder="default",
            layout=ipywidgets.Layout(width=_TEXT_WIDTH, flex="0 0 auto"),
            style={"description_width": "initial"},
            continuous_update=False,
        )  # fmt: skip
    editor.observe(builder._changed, "value")
    return editor


class LayerRow(ipywidgets.VBox):
    """One layer: its position, type, argument editors, move/remove buttons and its error line."""

    def __init__(self, layer: LayerSpec, builder: ModelBuilder) -> None:
        self.layer_type = layer.type
        self.builder = builder
        self.position = ipywidgets.HTML(layout=ipywidgets.Layout(width="30px"))
        self.editors: dict[str, ipywidgets.Widget] = {}
        args = layer.args
        for name in LAYER_ARGS[layer.type]:
            if name == _WRAPPED and layer.type == "Bidirectional":
                self._add_wrapped_editors(args.get(name) or {}, builder)
                continue
            self.editors[name] = _editor(name, name, args.get(name), layer.type, builder)
        self.up = ipywidgets.Button(
            icon="arrow-up", tooltip="move up", layout=ipywidgets.Layout(width="34px")
        )
        self.down = ipywidgets.Button(
            icon="arrow-down", tooltip="move down", layout=ipywidgets.Layout(width="34px")
        )
        self.remove = ipywidgets.Button(
            icon="trash", tooltip="remove", layout=ipywidgets.Layout(width="34px")
        )
        self.up.on_click(lambda _: builder.move(self, -1))
        self.down.on_click(lambda _: builder.move(self, +1))
        self.remove.on_click(lambda _: builder.remove(self))
        self.error = ipywidgets.HTML()
        title = ipywidgets.HTML(f"<b>{layer.type}</b>", layout=ipywidgets.Layout(overflow="hidden"))
        title.add_class("lepton-layer-type")
        editors = ipywidgets.HBox(
            list(self.editors.values()),
            layout=ipywidgets.Layout(flex_flow="row nowrap", overflow_x="auto", overflow_y="hidden"),
        )
        buttons = ipywidgets.HBox([self.up, self.down, self.remove])
        line = ipywidgets.GridBox(
            [self.position, title, editors, buttons],
            layout=ipywidgets.Layout(grid_template_columns=_ROW_COLUMNS, align_items="center", width="100%"),
        )
        super().__init__([line, self.error])
        self.add_class("lepton-layer-row")

    def _add_wrapped_editors(self, wrapped: dict[str, Any], builder: ModelBuilder) -> None:
        kind = ipywidgets.Dropdown(
            options=list(RECURRENT_TYPES), value=wrapped.get("type", "LSTM"), description=_WRAPPED,
            layout=ipywidgets.Layout(width=_CHOICE_WIDTH, flex="0 0 auto"),
            style={"description_width": "initial"},
        )  # fmt: skip
        kind.observe(builder._changed, "value")
        self.editors[_WRAPPED] = kind
        # SimpleRNN, LSTM and GRU take the same arguments, so the editors stay when the type changes.
        for name in LAYER_ARGS[kind.value]:
            self.editors[f"{_WRAPPED}.{name}"] = _editor(
                f"{_WRAPPED}.{name}", name, wrapped.get(name), kind.value, builder
            )

    def args(self) -> dict[str, Any]:
        """Return the arguments the editors hold (empty editors left out); raises ValueError."""
        args: dict[str, Any] = {}
        for name, editor in self.editors.items():
            text = str(editor.value)
            if name == _WRAPPED and self.layer_type == "Bidirectional":
                args[_WRAPPED] = {"type": text}
            elif name.startswith(f"{_WRAPPED}.") and self.layer_type == "Bidirectional":
                if text.strip():
                    args[_WRAPPED][name.removeprefix(f"{_WRAPPED}.")] = _parse_arg(name, text)
            elif text.strip():
                args[name] = _parse_arg(name, text)
        return args

    def layer(self) -> LayerSpec:
        """Return the row as a LayerSpec; raises ValueError naming the problem."""
        args = self.args()
        try:
            return LayerSpec(type=self.layer_type, **args)
        except ValidationError as error:
            raise ValueError("; ".join(layer_problems(error, self.layer_type))) from None

    def show_error(self, message: str) -> None:
        """Show ``message`` under the layer (empty clears it)."""
        self.error.value = (
            f'<div class="lepton-error" style="{_ERROR_STYLE}">{html.escape(message)}</div>'
            if message
            else ""
        )
        if message:
            self.add_class("lepton-layer-error")
        else:
            self.remove_class("lepton-layer-error")


class ModelBuilder(StaticSnapshot, ipywidgets.VBox):
    """Build a model spec for ``input_shape`` and ``num_classes``.

    Parameters
    ----------
    input_shape : tuple of int
        Shape of one example (``dataset.input_shape``).
    num_classes : int
        Number of classes (the softmax output layer is added automatically).
    spec : ModelSpec or dict, optional
        Starting model; a preset is expanded into its layers. Defaults to ``small_cnn``.

    The palette offers only the layers that fit after the last one (no Conv2D on a sequence, no
    LSTM on a flat vector, Embedding only first); the line under it says why the others are left
    out, and "Add layer" refuses, with that reason, a layer that does not fit.

    Examples
    --------
    >>> builder = ModelBuilder((8, 8, 1), 10, {"preset": "mlp"})
    >>> [layer.type for layer in builder.spec.layers]
    ['Flatten', 'Dense', 'Dropout', 'Dense']
    """

    value = traitlets.Dict(help="The last valid ModelSpec as JSON (updated on every valid change).")
    error = traitlets.Unicode("", help="Why the current model is invalid; empty when valid.")
    error_position = traitlets.Int(None, allow_none=True, help="1-based position of the layer at fault.")
    total_params = traitlets.Int(0, help="Parameters of the model, output layer included.")

    def __init__(
        self,
        input_shape: tuple[int, ...],
        num_classes: int,
        spec: ModelSpec | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.input_shape = tuple(int(side) for side in input_shape)
        self.num_classes = int(num_classes)
        if not spec and self.input_shape == ():
            spec = {"preset": "text_bilstm"}  # one string per example: the image default cannot read it
        start: ModelSpec = parse(ModelSpec, spec or {})
        # The preprocessing (a text vectorizer, a spectrogram) stays as it is: the builder edits the
        # layers after it, which see its output (and an Embedding its vocabulary).
        self._preprocessing = models.preprocessing_of(start)
        self._rows: list[LayerRow] = []
        self._quiet = False
        presets = self._presets()
        self.preset = ipywidgets.Dropdown(
            options=presets,
            value=start.preset if start.preset in presets else presets[0],
            description="preset",
        )
        self.use_preset = ipywidgets.Button(description="Use preset", icon="magic")
        self.palette = ipywidgets.Dropdown(options=list(LAYER_ARGS), value="Dense", description="layer")
        self.add_button = ipywidgets.Button(description="Add layer", icon="plus")
        self.use_preset.on_click(lambda _: self.load_preset(self.preset.value))
        self.add_button.on_click(lambda _: self.add_from_palette())
        self.palette_note = ipywidgets.HTML()
        self.palette_note.add_class("lepton-palette-note")
        self.rows = ipywidgets.VBox()
        self.input_line = ipywidgets.HTML()
        self.output_line = ipywidgets.HTML()
        self.output_error = ipywidgets.HTML()
        self.general_error = ipywidgets.HTML()
        self.table = ipywidgets.HTML()
        self.show_code = ipywidgets.ToggleButton(description="Show code", icon="code", value=False)
        self.code = ipywidgets.HTML()
        self.show_code.observe(lambda _: self._refresh_code(), "value")
        super().__init__(
            [
                ipywidgets.HTML("<b>Model</b>"),
                ipywidgets.HBox([self.preset, self.use_preset, self.palette, self.add_button]),
                self.palette_note, self.general_error, self.input_line, self.rows, self.output_line,
                self.output_error, self.table, self.show_code, self.code,
            ],
            **kwargs,
        )  # fmt: skip
        self._set_layers(models.resolve(start, self.input_shape, self.num_classes))

    # -- editing -------------------------------------------------------------------------------

    def _set_layers(self, layers: list[LayerSpec]) -> None:
        self._quiet = True
        try:
            self._rows = [LayerRow(layer, self) for layer in layers]
        finally:
            self._quiet = False
        self._changed()

    def _presets(self) -> list[str]:
        """Return the presets for this input: text or audio ones after such preprocessing, else the others."""
        pre = self._preprocessing
        if pre is not None:
            kind = preprocessing_specs.kind_of(pre)
        elif self.input_shape == ():
            kind = "text"
        else:
            kind = "image"
        names = models.presets_for(kind)
        if kind == "image" and len(self.input_shape) == 1:
            names += models.presets_for("audio")  # a waveform is a vector too
        return [name for name in PRESET_NAMES if name in names] or list(PRESET_NAMES)

    def load_preset(self, name: str) -> None:
        """Replace the layers (and the preprocessing) with the preset ``name`` adapted to the input.

        A preset made for other data is refused, its reason shown above the layers.
        """
        try:
            spec = models.preset(name, self.input_shape, self.num_classes)
        except models.ModelError as error:
            self.general_error.value = (
                f'<div class="lepton-error" style="color:#c62828">{html.escape(str(error))}</div>'
            )
            return
        self._preprocessing = spec.preprocessing
        self._set_layers(list(spec.layers or []))

    def add(self, layer_type: str, position: int | None = None, **args: Any) -> LayerRow:
        """Add a layer (at the end, or before 0-based ``position``) with default or given arguments.

        Any layer type is added here, fitting or not (its row then shows the problem); the
        palette and :meth:`add_from_palette` offer only the layers that fit.
        """
        if layer_type not in LAYER_ARGS:
            raise ValueError(f"unknown layer type {layer_type!r}; use one of {', '.join(LAYER_ARGS)}")
        layer_args = args or NEW_LAYER_ARGS.get(layer_type, {})
        if layer_type == "Reshape" and not args:
            layer_args = {"target_shape": [*self.input_shape, 1] if len(self.input_shape) == 2 else [-1]}
        self._quiet = True
        try:
            row = LayerRow(LayerSpec(type=layer_type, **layer_args), self)
        finally:
            self._quiet = False
        self._rows.insert(len(self._rows) if position is None else position, row)
        self._changed()
        return row

    def add_from_palette(self) -> LayerRow | None:
        """Add the palette's layer at the end, or say why it does not fit there (None then)."""
        layer_type = str(self.palette.value)
        reason = self._unavailable().get(layer_type)
        if reason is not None:
            self.general_error.value = (
                f'<div class="lepton-error" style="color:#c62828">{html.escape(reason)}; not added</div>'
            )
            return None
        return self.add(layer_type)

    def remove(self, row: LayerRow | int) -> None:
        """Remove a layer (its row or 0-based position)."""
        self._rows.remove(self._rows[row] if isinstance(row, int) else row)
        self._changed()

    def move(self, row: LayerRow | int, offset: int) -> None:
        """Move a layer ``offset`` places (-1 up, +1 down); moves past either end are ignored."""
        index = row if isinstance(row, int) else self._rows.index(row)
        target = index + offset
        if 0 <= target < len(self._rows):
            self._rows.insert(target, self._rows.pop(index))
            self._changed()

    @property
    def layer_rows(self) -> list[LayerRow]:
        """The layer rows, in order."""
        return list(self._rows)

    # -- validation ----------------------------------------------------------------------------

    def _changed(self, change: dict[str, Any] | None = None) -> None:
        if self._quiet:
            return
        with self.hold_sync():
            self.rows.children = tuple(self._rows)
            for position, row in enumerate(self._rows, start=1):
                row.position.value = f"<span style='color:#555'>{position}</span>"
                row.up.disabled = position == 1
                row.down.disabled = position == len(self._rows)
                row.show_error("")
            self.output_error.value = self.general_error.value = ""
            self.input_line.value = f"<span style='color:#555'>{html.escape(self._input_text())}</span>"
            self.output_line.value = (
                f"<span style='color:#555'>output Dense({self.num_classes}, softmax)</span>"
            )
            self._validate()
            self._refresh_palette()
            self._refresh_code()

    def _fail(self, message: str, position: int | None) -> None:
        self.error, self.error_position = message, position
        if position is not None and 1 <= position <= len(self._rows):
            self._rows[position - 1].show_error(message)
        elif position is not None:
            self.output_error.value = (
                f'<div class="lepton-error" style="{_ERROR_STYLE}">{html.escape(message)}</div>'
            )
        else:
            self.general_error.value = (
                f'<div class="lepton-error" style="color:#c62828">{html.escape(message)}</div>'
            )
        self.table.value = (
            "<i style='color:#555'>Fix the highlighted problem to see shapes and parameters.</i>"
        )

    def _input_text(self) -> str:
        if self._preprocessing is None:
            return f"input {self.input_shape}"
        try:
            shape, _ = models.hidden_input(self._spec_of([]), self.input_shape)
        except models.ModelError:
            return f"input {self.input_shape} → {self._preprocessing.type}"
        return f"input {self.input_shape} → {self._preprocessing.type} → {shape}"

    def _end_of_stack(self) -> tuple[tuple[int, ...], bool] | None:
        """Return the shape after the last layer and whether it is the input's (None: a layer is wrong)."""
        try:
            layers = [row.layer() for row in self._rows]
            shape, vocabulary = models.hidden_input(self._spec_of(layers), self.input_shape)
            _, stack = shape_inference.trace(layers, shape, vocabulary)
        except (ValueError, shape_inference.ModelError):
            return None
        return stack.shape, not layers

    def _spec_of(self, layers: list[LayerSpec]) -> ModelSpec:
        if self._preprocessing is None:
            return ModelSpec(layers=layers)
        return ModelSpec(layers=layers, preprocessing=self._preprocessing)

    def _unavailable(self) -> dict[str, str]:
        """Layer types that cannot come after the last layer, each with the reason."""
        end = self._end_of_stack()
        if end is None:
            return {}  # the highlighted problem comes first; every layer may be part of its fix
        shape, at_input = end
        mode = getattr(self._preprocessing, "output_mode", None)  # a TextVectorization's
        reasons = {name: shape_inference.unavailable(name, shape, at_input, mode) for name in LAYER_ARGS}
        return {name: reason for name, reason in reasons.items() if reason is not None}

    def _refresh_palette(self) -> None:
        unavailable = self._unavailable()
        options = [name for name in LAYER_ARGS if name not in unavailable]
        if list(self.palette.options) != options:
            current = self.palette.value
            self.palette.options = options
            self.palette.value = (
                current if current in options else ("Dense" if "Dense" in options else options[0])
            )
        # One line per reason: "Conv2D, MaxPooling2D: need an image ...; the model so far gives (20, 64)".
        by_reason: dict[str, list[str]] = {}
        for name, reason in unavailable.items():
            by_reason.setdefault(reason.removeprefix(f"{name} "), []).append(name)
        self.palette_note.value = "".join(
            f"<div style='color:#555;font-size:12px'>not offered: {html.escape(', '.join(names))}"
            f" ({html.escape(reason)})</div>"
            for reason, names in by_reason.items()
        )

    def _validate(self) -> None:
        layers = []
        for position, row in enumerate(self._rows, start=1):
            try:
                layers.append(row.layer())
            except ValueError as error:
                self._fail(f"layer {position} ({row.layer_type}): {error}", position)
                return
        spec = self._spec_of(layers)
        try:
            rows = models.summary_rows(spec, self.input_shape, self.num_classes)
        except models.ModelError as error:
            self._fail(str(error), error.position)
            return
        self.error, self.error_position = "", None
        self.total_params = sum(row["params"] for row in rows)
        self.value = spec.model_dump(mode="json", exclude_none=True)
        self.table.value = _summary_table(rows)

    def _refresh_code(self) -> None:
        if not self.show_code.value:
            self.code.value = ""
            return
        if self.error:
            self.code.value = "<i>No code while the model is invalid.</i>"
            return
        code = models.to_code(self.spec, self.input_shape, self.num_classes)
        self.code.value = f'<pre class="lepton-code" style="font-size:12px">{html.escape(code)}</pre>'

    @property
    def spec(self) -> ModelSpec:
        """The ModelSpec (explicit layers) the builder shows.

        Raises
        ------
        SpecError
            While a layer is invalid (the builder shows the message beside it).
        """
        if self.error:
            raise SpecError([self.error])
        result: ModelSpec = parse(ModelSpec, self.value)
        return result

    @spec.setter
    def spec(self, spec: ModelSpec | dict[str, Any]) -> None:
        new: ModelSpec = parse(ModelSpec, spec)
        layers = models.resolve(new, self.input_shape, self.num_classes)
        self._preprocessing = models.preprocessing_of(new)
        self._set_layers(layers)

    def code_text(self) -> str:
        """Return the Keras code of the current model."""
        return models.to_code(self.spec, self.input_shape, self.num_classes)


def _summary_table(rows: list[dict[str, Any]]) -> str:
    body = "".join(
        f"<tr><td>{row['index']}</td><td>{html.escape(row['layer'])}</td>"
        f"<td>{html.escape(str(tuple(row['output_shape'])))}</td>"
        f"<td style='text-align:right'>{row['params']:,}</td>"
        f"<td style='color:#555'>{html.escape(row['description'])}</td></tr>"
        for row in rows
    )
    total = sum(row["params"] for row in rows)
    trainable = sum(row["trainable_params"] for row in rows)
    return (
        '<table class="lepton-summary" style="border-collapse:collapse;font-size:12px">'
        "<thead><tr><th>#</th><th>layer</th><th>output shape</th><th>params</th><th></th></tr></thead>"
        f"<tbody>{body}</tbody></table>"
        f"<div style='font-size:12px'>total {total:,} parameters ({trainable:,} trainable)</div>"
    )
