"""Layer specs: one pydantic model per Keras layer a model spec may contain.

``{"type": "Conv2D", "filters": 32, "kernel_size": 3}`` is a :class:`Conv2DLayer`; the
:data:`Layer` union picks the model by ``type``. Each model states its arguments with their types,
ranges, Keras defaults and an example, so a bad argument is refused where it is written (the
REST API, ``lepton_lab.train``, the model builder) with a message naming it and the fix, and
``openapi.json`` and the TypeScript client show exactly what each layer takes. Only declarative
layers: nothing that carries code (no Lambda).

Examples
--------
>>> layer = LayerSpec(type="Dense", units=64, activation="relu")
>>> type(layer).__name__, layer.args, layer.use_bias
('DenseLayer', {'units': 64, 'activation': 'relu'}, True)
>>> LAYER_ARGS["Dropout"]
('rate',)
"""

from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar, Literal, Union, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StrictBool,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import ErrorDetails

ACTIVATIONS = ("relu", "sigmoid", "tanh", "softmax", "linear", "elu", "gelu", "selu", "swish", "leaky_relu")
PADDINGS = ("valid", "same")
PADDINGS_1D = ("valid", "same", "causal")

Activation = Literal[ACTIVATIONS]  # type: ignore[valid-type]
Padding = Literal[PADDINGS]  # type: ignore[valid-type]
Padding1D = Literal[PADDINGS_1D]  # type: ignore[valid-type]
#: Widths Keras accepts and a model on one host can use.
_Width = Annotated[int, Field(strict=True, ge=1, le=65_536, examples=[32])]
_Window = Annotated[int, Field(strict=True, ge=1, le=1024)]
#: One side for both, or (height, width).
_WindowArg = Annotated[
    Union[_Window, Annotated[list[_Window], Field(min_length=2, max_length=2)]], Field(examples=[3])
]
#: A fraction dropped while training.
_Rate = Annotated[float, Field(strict=True, ge=0.0, lt=1.0, examples=[0.2])]
#: Token ids an Embedding takes (a vocabulary of up to ten million).
_Vocabulary = Annotated[int, Field(strict=True, ge=1, le=10_000_000, examples=[10_000])]
_Side = Union[Literal[-1], Annotated[int, Field(strict=True, ge=1, le=1_000_000)]]


def _type_required(schema: dict[str, Any]) -> None:
    # The models default ``type`` (DenseLayer(units=64) needs none), but a JSON layer must say it.
    schema["required"] = ["type", *(name for name in schema.get("required", []) if name != "type")]


class LayerSpec(BaseModel):
    """One layer: its ``type`` and, beside it, the arguments that type takes.

    ``LayerSpec(type="Dense", units=64)`` builds the model of that type (a :class:`DenseLayer`);
    :attr:`args` are the arguments as given, which is what ``spec.json`` stores.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, json_schema_extra=_type_required)

    type: str
    #: Arguments a layer cannot do without, with an example of each (for messages and docs).
    example: ClassVar[dict[str, Any]] = {}

    def __new__(cls, *args: Any, **data: Any) -> Any:
        """``LayerSpec(type=...)`` stands for the union: build the model of that type."""
        if cls is LayerSpec and "type" in data:
            cls = LAYER_TYPES.get(data["type"], cls)  # an unknown type fails validation below
        return super().__new__(cls)

    @model_validator(mode="before")
    @classmethod
    def _known_type(cls, data: Any) -> Any:
        if cls is LayerSpec:
            layer_type = data.get("type") if isinstance(data, dict) else None
            raise ValueError(unknown_type(layer_type))
        return data

    @model_serializer(mode="wrap")
    def _as_given(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Keras's defaults stay implicit, as the person wrote the layer: spec.json, REST echoes
        # and the generated code show only the arguments given.
        data: dict[str, Any] = handler(self)
        return {key: value for key, value in data.items() if key == "type" or key in self.model_fields_set}

    @property
    def args(self) -> dict[str, Any]:
        """The layer's keyword arguments as given (everything but ``type``; defaults left out)."""
        return self.model_dump(exclude={"type"})


class Conv2DLayer(LayerSpec):
    """``keras.layers.Conv2D``: ``filters`` learned ``kernel_size`` windows over an image."""

    type: Literal["Conv2D"] = "Conv2D"
    filters: _Width
    kernel_size: _WindowArg
    strides: _WindowArg = 1
    padding: Padding = "valid"
    activation: Activation = "linear"
    use_bias: StrictBool = True
    example: ClassVar[dict[str, Any]] = {"filters": 32, "kernel_size": 3}


class _Pooling(LayerSpec):
    pool_size: _WindowArg = 2
    strides: _WindowArg | None = Field(None, description="None: the pool size.")
    padding: Padding = "valid"


class MaxPooling2DLayer(_Pooling):
    """``keras.layers.MaxPooling2D``: the largest value of each window."""

    type: Literal["MaxPooling2D"] = "MaxPooling2D"


class AveragePooling2DLayer(_Pooling):
    """``keras.layers.AveragePooling2D``: the mean of each window."""

    type: Literal["AveragePooling2D"] = "AveragePooling2D"


class BatchNormalizationLayer(LayerSpec):
    """``keras.layers.BatchNormalization`` over the last axis."""

    type: Literal["BatchNormalization"] = "BatchNormalization"
    momentum: Annotated[float, Field(strict=True, ge=0.0, le=1.0, examples=[0.99])] = 0.99
    epsilon: Annotated[float, Field(strict=True, gt=0.0, le=1.0, examples=[0.001])] = 0.001


class DropoutLayer(LayerSpec):
    """``keras.layers.Dropout``: zeroes a fraction ``rate`` of its inputs while training."""

    type: Literal["Dropout"] = "Dropout"
    rate: Annotated[float, Field(strict=True, ge=0.0, lt=1.0, examples=[0.25])]
    example: ClassVar[dict[str, Any]] = {"rate": 0.2}


class FlattenLayer(LayerSpec):
    """``keras.layers.Flatten``: one feature vector per example."""

    type: Literal["Flatten"] = "Flatten"


class GlobalAveragePooling2DLayer(LayerSpec):
    """``keras.layers.GlobalAveragePooling2D``: the mean of each channel."""

    type: Literal["GlobalAveragePooling2D"] = "GlobalAveragePooling2D"


class DenseLayer(LayerSpec):
    """``keras.layers.Dense`` (on the last axis)."""

    type: Literal["Dense"] = "Dense"
    units: _Width
    activation: Activation = "linear"
    use_bias: StrictBool = True
    example: ClassVar[dict[str, Any]] = {"units": 64}


class ActivationLayer(LayerSpec):
    """``keras.layers.Activation``."""

    type: Literal["Activation"] = "Activation"
    activation: Annotated[Activation, Field(examples=["relu"])]
    example: ClassVar[dict[str, Any]] = {"activation": "relu"}


class ReshapeLayer(LayerSpec):
    """``keras.layers.Reshape``; one side may be -1 (Keras infers it)."""

    type: Literal["Reshape"] = "Reshape"
    target_shape: Annotated[list[_Side], Field(min_length=1, max_length=8, examples=[[8, 8, 1]])]
    example: ClassVar[dict[str, Any]] = {"target_shape": [8, 8, 1]}

    @field_validator("target_shape")
    @classmethod
    def _one_wildcard(cls, value: list[int]) -> list[int]:
        if value.count(-1) > 1:
            raise ValueError("at most one side may be -1 (the one Keras infers)")
        return value


class _Recurrent(LayerSpec):
    units: _Width
    activation: Activation = "tanh"
    return_sequences: StrictBool = Field(
        False, description="True: one output per timestep (timesteps, units), for a recurrent layer after it."
    )
    dropout: _Rate = Field(0.0, description="Fraction of the inputs dropped while training.")
    recurrent_dropout: _Rate = Field(
        0.0, description="Fraction of the recurrent state dropped while training."
    )
    example: ClassVar[dict[str, Any]] = {"units": 32}


class SimpleRNNLayer(_Recurrent):
    """``keras.layers.SimpleRNN`` over (timesteps, features)."""

    type: Literal["SimpleRNN"] = "SimpleRNN"


class LSTMLayer(_Recurrent):
    """``keras.layers.LSTM`` over (timesteps, features)."""

    type: Literal["LSTM"] = "LSTM"


class GRULayer(_Recurrent):
    """``keras.layers.GRU`` over (timesteps, features) (Keras 3's ``reset_after=True``)."""

    type: Literal["GRU"] = "GRU"


#: The layers :class:`BidirectionalLayer` may wrap.
Recurrent = Annotated[
    Union[SimpleRNNLayer, LSTMLayer, GRULayer],
    Field(discriminator="type", examples=[{"type": "LSTM", "units": 32}]),
]
RECURRENT_TYPES = ("SimpleRNN", "LSTM", "GRU")
MERGE_MODES = ("concat", "sum", "mul", "ave")


class BidirectionalLayer(LayerSpec):
    """``keras.layers.Bidirectional``: a recurrent layer run forwards and backwards, outputs merged."""

    type: Literal["Bidirectional"] = "Bidirectional"
    layer: Recurrent
    merge_mode: Literal[MERGE_MODES] = Field(  # type: ignore[valid-type]
        "concat", description="How the two directions combine: concat doubles the width."
    )
    example: ClassVar[dict[str, Any]] = {"layer": {"type": "LSTM", "units": 32}}


class EmbeddingLayer(LayerSpec):
    """``keras.layers.Embedding``: one learned ``output_dim`` vector per token id."""

    type: Literal["Embedding"] = "Embedding"
    input_dim: _Vocabulary | None = Field(
        None,
        examples=[10_000],
        description="Vocabulary size (largest token id + 1). None: the vocabulary size of the "
        "model's TextVectorization preprocessing.",
    )
    output_dim: _Width
    mask_zero: StrictBool = Field(False, description="Treat token id 0 as padding that later layers skip.")
    example: ClassVar[dict[str, Any]] = {"output_dim": 64}


class Conv1DLayer(LayerSpec):
    """``keras.layers.Conv1D``: ``filters`` learned ``kernel_size`` windows along a sequence."""

    type: Literal["Conv1D"] = "Conv1D"
    filters: _Width
    kernel_size: Annotated[_Window, Field(examples=[3])]
    strides: _Window = 1
    padding: Padding1D = Field("valid", description="causal: pad on the left only (no look-ahead).")
    activation: Activation = "linear"
    use_bias: StrictBool = True
    example: ClassVar[dict[str, Any]] = {"filters": 32, "kernel_size": 3}


class _Pooling1D(LayerSpec):
    pool_size: Annotated[_Window, Field(examples=[2])] = 2
    strides: _Window | None = Field(None, description="None: the pool size.")
    padding: Padding = "valid"


class MaxPooling1DLayer(_Pooling1D):
    """``keras.layers.MaxPooling1D``: the largest value of each window along a sequence."""

    type: Literal["MaxPooling1D"] = "MaxPooling1D"


class AveragePooling1DLayer(_Pooling1D):
    """``keras.layers.AveragePooling1D``: the mean of each window along a sequence."""

    type: Literal["AveragePooling1D"] = "AveragePooling1D"


class GlobalMaxPooling1DLayer(LayerSpec):
    """``keras.layers.GlobalMaxPooling1D``: the largest value of each feature over the sequence."""

    type: Literal["GlobalMaxPooling1D"] = "GlobalMaxPooling1D"


class GlobalAveragePooling1DLayer(LayerSpec):
    """``keras.layers.GlobalAveragePooling1D``: the mean of each feature over the sequence."""

    type: Literal["GlobalAveragePooling1D"] = "GlobalAveragePooling1D"


#: A layer of a model spec, chosen by its ``type``.
Layer = Annotated[
    Union[
        Conv2DLayer,
        MaxPooling2DLayer,
        AveragePooling2DLayer,
        BatchNormalizationLayer,
        DropoutLayer,
        FlattenLayer,
        GlobalAveragePooling2DLayer,
        DenseLayer,
        ActivationLayer,
        ReshapeLayer,
        SimpleRNNLayer,
        LSTMLayer,
        GRULayer,
        BidirectionalLayer,
        EmbeddingLayer,
        Conv1DLayer,
        MaxPooling1DLayer,
        AveragePooling1DLayer,
        GlobalMaxPooling1DLayer,
        GlobalAveragePooling1DLayer,
    ],
    Field(discriminator="type"),
]
#: The model of each layer type.
LAYER_TYPES: dict[str, type[LayerSpec]] = {
    get_args(model.model_fields["type"].annotation)[0]: model for model in get_args(get_args(Layer)[0])
}
#: The arguments each layer type accepts, in the order its model declares them.
LAYER_ARGS: dict[str, tuple[str, ...]] = {
    name: tuple(field for field in model.model_fields if field != "type")
    for name, model in LAYER_TYPES.items()
}


def _example(model: type[LayerSpec], name: str) -> Any:
    examples = model.model_fields[name].examples
    if examples:
        return examples[0]
    return model.model_fields[name].get_default()


def describe(item: ErrorDetails, layer_type: str, prefix: str = "") -> str:
    """One validation error of a ``layer_type`` layer as ``problem; fix`` (no location).

    An error inside the layer a Bidirectional wraps is named ``layer.units`` (``prefix``).
    """
    model = LAYER_TYPES[layer_type]
    loc = item["loc"]
    name = str(loc[0]) if loc else ""
    if name == "layer" and layer_type == "Bidirectional":
        if len(loc) >= 3 and loc[1] in RECURRENT_TYPES:
            return describe({**item, "loc": loc[2:]}, str(loc[1]), prefix=f"{prefix}layer.")
        if item["type"] in (
            "union_tag_invalid",
            "union_tag_not_found",
            "model_attributes_type",
            "model_type",
        ):
            given = item["input"].get("type") if isinstance(item["input"], dict) else item["input"]
            example = json.dumps(model.example["layer"])
            return (
                f"{prefix}layer: Bidirectional wraps one of {', '.join(RECURRENT_TYPES)}, got {given!r}; "
                f"set {prefix}layer to e.g. {example}"
            )
    shown = f"{prefix}{name}"
    if item["type"] == "missing":
        example = json.dumps({"type": layer_type, **model.example})
        return f"missing required argument {shown!r}; add it, e.g. {example}"
    if item["type"] == "extra_forbidden":
        allowed = LAYER_ARGS[layer_type]
        fix = f"use only {', '.join(allowed)}" if allowed else "remove the argument"
        return f"does not take {shown!r}; {fix}"
    reason = item["msg"].removeprefix("Value error, ")
    reason = reason[:1].lower() + reason[1:]
    example = _example(model, name)
    shown_example = json.dumps(example) if isinstance(example, dict) else repr(example)
    return f"{shown}: {reason}, got {item['input']!r}; set {shown} to e.g. {shown_example}"


def unknown_type(layer_type: Any) -> str:
    """Say that ``layer_type`` names no supported layer, and which ones there are."""
    return f"unknown layer type {layer_type!r}; use one of {', '.join(LAYER_TYPES)}"


def most_specific(items: list[ErrorDetails], depth: int = 0) -> list[ErrorDetails]:
    """One error per argument: of the union branches an argument failed, the one that got furthest.

    ``kernel_size=[3, 0]`` fails as an integer and, deeper, as a pair; the pair's error says more.
    ``depth`` is where the argument's name sits in ``loc``.
    """
    chosen: dict[tuple[Any, ...], ErrorDetails] = {}
    for item in items:
        loc = item["loc"]
        # Inside the layer a Bidirectional wraps (layer, its type, the argument), one per argument too.
        width = depth + 3 if len(loc) > depth + 2 and loc[depth] == "layer" else depth + 1
        key = tuple(loc[:width])
        if key not in chosen or len(loc) >= len(chosen[key]["loc"]):
            chosen[key] = item
    return list(chosen.values())


def layer_problems(error: ValidationError, layer_type: str) -> list[str]:
    """Every problem of a :class:`LayerSpec` that failed to build, as ``problem; fix``."""
    if layer_type not in LAYER_TYPES:
        return [unknown_type(layer_type)]
    return [describe(item, layer_type) for item in most_specific(error.errors())]
