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

Activation = Literal[ACTIVATIONS]  # type: ignore[valid-type]
Padding = Literal[PADDINGS]  # type: ignore[valid-type]
#: Widths Keras accepts and a model on one host can use.
_Width = Annotated[int, Field(strict=True, ge=1, le=65_536, examples=[32])]
_Window = Annotated[int, Field(strict=True, ge=1, le=1024)]
#: One side for both, or (height, width).
_WindowArg = Annotated[
    Union[_Window, Annotated[list[_Window], Field(min_length=2, max_length=2)]], Field(examples=[3])
]
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


class SimpleRNNLayer(LayerSpec):
    """``keras.layers.SimpleRNN`` over (timesteps, features)."""

    type: Literal["SimpleRNN"] = "SimpleRNN"
    units: _Width
    activation: Activation = "tanh"
    return_sequences: StrictBool = False
    example: ClassVar[dict[str, Any]] = {"units": 32}


class LSTMLayer(LayerSpec):
    """``keras.layers.LSTM`` over (timesteps, features)."""

    type: Literal["LSTM"] = "LSTM"
    units: _Width
    return_sequences: StrictBool = False
    example: ClassVar[dict[str, Any]] = {"units": 32}


class GRULayer(LayerSpec):
    """``keras.layers.GRU`` over (timesteps, features) (Keras 3's ``reset_after=True``)."""

    type: Literal["GRU"] = "GRU"
    units: _Width
    return_sequences: StrictBool = False
    example: ClassVar[dict[str, Any]] = {"units": 32}


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


def describe(item: ErrorDetails, layer_type: str) -> str:
    """One validation error of a ``layer_type`` layer as ``problem; fix`` (no location)."""
    model = LAYER_TYPES[layer_type]
    name = str(item["loc"][0]) if item["loc"] else ""
    if item["type"] == "missing":
        example = json.dumps({"type": layer_type, **model.example})
        return f"missing required argument {name!r}; add it, e.g. {example}"
    if item["type"] == "extra_forbidden":
        allowed = LAYER_ARGS[layer_type]
        fix = f"use only {', '.join(allowed)}" if allowed else "remove the argument"
        return f"does not take {name!r}; {fix}"
    reason = item["msg"].removeprefix("Value error, ")
    reason = reason[:1].lower() + reason[1:]
    return f"{name}: {reason}, got {item['input']!r}; set {name} to e.g. {_example(model, name)!r}"


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
        key = tuple(item["loc"][: depth + 1])
        if key not in chosen or len(item["loc"]) >= len(chosen[key]["loc"]):
            chosen[key] = item
    return list(chosen.values())


def layer_problems(error: ValidationError, layer_type: str) -> list[str]:
    """Every problem of a :class:`LayerSpec` that failed to build, as ``problem; fix``."""
    if layer_type not in LAYER_TYPES:
        return [unknown_type(layer_type)]
    return [describe(item, layer_type) for item in most_specific(error.errors())]
