"""Shape inference: output shapes and parameter counts of a layer stack, in pure Python.

The model builder widget redraws its table on every keystroke and the server checks specs
before queueing a job, so neither can afford TensorFlow's ~4 s import. This module repeats
Keras 3's shape and weight arithmetic for the layer models of :mod:`lepton_lab.core.layer_specs`
(the tests hold it to ``model.count_params()`` and each layer's output shape) and turns every
way a stack can be wrong into a :class:`ModelError` naming the layer and the fix. The layer
models have already checked each argument's type and range; what is left here is how the layers
fit together.

Positions are 1-based and match :func:`lepton_lab.core.models.summary`: position 0 is the input,
1..n are the spec's layers and n + 1 is the output ``Dense(num_classes, softmax)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lepton_lab.core.layer_specs import (
    AveragePooling2DLayer,
    Conv2DLayer,
    DenseLayer,
    DropoutLayer,
    LayerSpec,
    ReshapeLayer,
    SimpleRNNLayer,
    unknown_type,
)

Shape = tuple[int, ...]


class ModelError(ValueError):
    """A model spec cannot be built; the message names the layer and how to fix it.

    Attributes
    ----------
    position : int or None
        1-based position of the offending layer (``len(layers) + 1`` for the output layer),
        or None when the problem is not one layer's (input shape, number of classes).
    layer : str or None
        The offending layer's type.
    """

    def __init__(self, message: str, position: int | None = None, layer: str | None = None) -> None:
        self.position = position
        self.layer = layer
        super().__init__(message)


@dataclass(frozen=True)
class LayerInfo:
    """One row of a model summary.

    ``output_shape`` includes the batch axis as ``None``, as Keras prints it.
    """

    index: int
    layer: str
    output_shape: tuple[int | None, ...]
    params: int
    trainable_params: int
    description: str


def fmt_shape(shape: Sequence[int]) -> str:
    """``(4, 4, 32)`` for messages; a 1-tuple keeps its comma."""
    return str(tuple(shape))


def _pair(value: int | list[int]) -> tuple[int, int]:
    """``3`` or ``[3, 5]`` as (height, width)."""
    return (value, value) if isinstance(value, int) else (value[0], value[1])


class _Layer:
    """A layer being checked: its position and spec, and a way to fail naming them."""

    def __init__(self, position: int, spec: LayerSpec) -> None:
        self.position = position
        self.type = spec.type
        self.spec: Any = spec  # the layer model of its type (its arguments are typed attributes)

    def fail(self, problem: str, fix: str) -> ModelError:
        return ModelError(f"layer {self.position} ({self.type}): {problem}; {fix}", self.position, self.type)


def _suggest_image_reshape(shape: Shape) -> str:
    if len(shape) == 2:
        return f"Reshape(target_shape={fmt_shape((*shape, 1))})"
    size = math.prod(shape)
    for channels in (1, 3):
        side = math.isqrt(size // channels)
        if side * side * channels == size:
            return f"Reshape(target_shape={fmt_shape((side, side, channels))})"
    return "Reshape(target_shape=(height, width, channels))"


def _suggest_sequence_reshape(shape: Shape) -> str:
    if len(shape) == 1:
        return f"Reshape(target_shape={fmt_shape((shape[0], 1))})"
    return f"Reshape(target_shape={fmt_shape((shape[0], math.prod(shape[1:])))})"


class _Stack:
    """Walks the layers, tracking the current shape and which layer produced it."""

    def __init__(self, input_shape: Shape) -> None:
        self.shape = input_shape
        self.producer = "the input"
        self.producer_type = "Input"

    def advance(self, shape: Shape, position: int, layer_type: str) -> None:
        self.shape = shape
        self.producer = f"layer {position} ({layer_type})"
        self.producer_type = layer_type

    def need_image(self, layer: _Layer) -> tuple[int, int, int]:
        if len(self.shape) == 3:
            return self.shape[0], self.shape[1], self.shape[2]
        got = f"shape {fmt_shape(self.shape)} from {self.producer}"
        problem = f"needs an image (height, width, channels) but gets {got}"
        fix = f"add {_suggest_image_reshape(self.shape)} before it"
        if self.producer_type != "Input" and len(self.shape) < 3:
            fix = f"move it before {self.producer}, or {fix}"
        raise layer.fail(problem, fix)

    def need_sequence(self, layer: _Layer) -> tuple[int, int]:
        if len(self.shape) == 2:
            return self.shape[0], self.shape[1]
        got = f"shape {fmt_shape(self.shape)} from {self.producer}"
        problem = f"needs a sequence (timesteps, features) but gets {got}"
        if self.producer_type in ("SimpleRNN", "LSTM", "GRU"):
            fix = f"set return_sequences=true on {self.producer}"
        else:
            fix = f"add {_suggest_sequence_reshape(self.shape)} before it"
        raise layer.fail(problem, fix)


Step = tuple[Shape, int, int, str]  # output shape, params, trainable params, description


def _window(
    layer: _Layer,
    size: tuple[int, int],
    window: tuple[int, int],
    strides: tuple[int, int],
    padding: str,
    what: str,
    fix: str,
) -> tuple[int, int]:
    if padding == "same":
        return math.ceil(size[0] / strides[0]), math.ceil(size[1] / strides[1])
    if window[0] > size[0] or window[1] > size[1]:
        shown = window[0] if window[0] == window[1] else window
        raise layer.fail(f"{what} {shown} is larger than its {size[0]}x{size[1]} input", fix)
    return (size[0] - window[0]) // strides[0] + 1, (size[1] - window[1]) // strides[1] + 1


def _conv2d(layer: _Layer, stack: _Stack) -> Step:
    spec: Conv2DLayer = layer.spec
    filters, kernel, strides, padding = (
        spec.filters,
        _pair(spec.kernel_size),
        _pair(spec.strides),
        spec.padding,
    )
    height, width, channels = stack.need_image(layer)
    out = _window(
        layer,
        (height, width),
        kernel,
        strides,
        padding,
        "kernel_size",
        "use padding='same' or a smaller kernel",
    )
    params = kernel[0] * kernel[1] * channels * filters + (filters if spec.use_bias else 0)
    description = f"{filters} filters {kernel[0]}x{kernel[1]}, {padding}, {spec.activation}"
    return (*out, filters), params, params, description


def _pooling(layer: _Layer, stack: _Stack) -> Step:
    spec: AveragePooling2DLayer = layer.spec  # or MaxPooling2DLayer: the same arguments
    pool = _pair(spec.pool_size)
    strides = pool if spec.strides is None else _pair(spec.strides)
    padding = spec.padding
    height, width, channels = stack.need_image(layer)
    out = _window(
        layer,
        (height, width),
        pool,
        strides,
        padding,
        "pool_size",
        "use padding='same', a smaller pool_size, or remove this pooling layer",
    )
    return (*out, channels), 0, 0, f"{pool[0]}x{pool[1]}"


def _batch_norm(layer: _Layer, stack: _Stack) -> Step:
    features = stack.shape[-1]
    # gamma and beta train; the moving mean and variance are weights too but are not trained.
    return stack.shape, 4 * features, 2 * features, "normalise"


def _dropout(layer: _Layer, stack: _Stack) -> Step:
    spec: DropoutLayer = layer.spec
    return stack.shape, 0, 0, f"rate {spec.rate:g}"


def _flatten(layer: _Layer, stack: _Stack) -> Step:
    return (math.prod(stack.shape),), 0, 0, ""


def _global_average(layer: _Layer, stack: _Stack) -> Step:
    channels = stack.need_image(layer)[2]
    return (channels,), 0, 0, ""


def _dense(layer: _Layer, stack: _Stack) -> Step:
    spec: DenseLayer = layer.spec
    units = spec.units
    # Keras applies Dense to the last axis, so earlier axes pass through unchanged.
    params = stack.shape[-1] * units + (units if spec.use_bias else 0)
    return (*stack.shape[:-1], units), params, params, f"{units} units, {spec.activation}"


def _activation(layer: _Layer, stack: _Stack) -> Step:
    return stack.shape, 0, 0, str(layer.spec.activation)


def _reshape(layer: _Layer, stack: _Stack) -> Step:
    spec: ReshapeLayer = layer.spec
    size = math.prod(stack.shape)
    fix = f"use a target_shape whose sizes multiply to {size}, e.g. {_suggest_image_reshape(stack.shape)}"
    dims: list[int] = list(spec.target_shape)
    known = math.prod(v for v in dims if v != -1)
    if -1 in dims:
        if size % known:
            raise layer.fail(
                f"target_shape {fmt_shape(dims)} cannot hold the {size} values of its input "
                f"{fmt_shape(stack.shape)}",
                fix,
            )
        dims = [size // known if v == -1 else v for v in dims]
    elif known != size:
        raise layer.fail(
            f"target_shape {fmt_shape(dims)} holds {known} values but its input "
            f"{fmt_shape(stack.shape)} holds {size}",
            fix,
        )
    return tuple(dims), 0, 0, ""


def _recurrent(gates: int, bias_sets: int) -> Callable[[_Layer, _Stack], Step]:
    def infer(layer: _Layer, stack: _Stack) -> Step:
        spec: SimpleRNNLayer = layer.spec  # or LSTMLayer, GRULayer: units and return_sequences
        units, sequences = spec.units, spec.return_sequences
        timesteps, features = stack.need_sequence(layer)
        # kernel (features x gates*units), recurrent kernel (units x gates*units), bias; Keras's GRU
        # defaults to reset_after=True, which keeps two bias vectors.
        params = gates * units * (features + units + bias_sets)
        shape = (timesteps, units) if sequences else (units,)
        return shape, params, params, f"{units} units" + (", sequences" if sequences else "")

    return infer


_INFER: dict[str, Callable[[_Layer, _Stack], Step]] = {
    "Conv2D": _conv2d,
    "MaxPooling2D": _pooling,
    "AveragePooling2D": _pooling,
    "BatchNormalization": _batch_norm,
    "Dropout": _dropout,
    "Flatten": _flatten,
    "GlobalAveragePooling2D": _global_average,
    "Dense": _dense,
    "Activation": _activation,
    "Reshape": _reshape,
    "SimpleRNN": _recurrent(1, 1),
    "LSTM": _recurrent(4, 1),
    "GRU": _recurrent(3, 2),
}


def check_input_shape(input_shape: Any) -> Shape:
    """Return ``input_shape`` as a tuple of positive ints, or raise :class:`ModelError`."""
    if (
        isinstance(input_shape, (list, tuple))
        and input_shape
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in input_shape)
    ):
        return tuple(input_shape)
    raise ModelError(
        f"input_shape must be a non-empty tuple of positive integers, got {input_shape!r}; "
        "pass the shape of one example without the batch axis, e.g. (28, 28, 1)"
    )


def check_num_classes(num_classes: Any) -> int:
    """Return ``num_classes`` if it is an int >= 2, else raise :class:`ModelError`."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ModelError(
            f"num_classes must be an integer >= 2, got {num_classes!r}; "
            "pass the number of labels in the dataset (2 for a yes/no problem)"
        )
    return num_classes


def infer(layers: Sequence[LayerSpec], input_shape: Any, num_classes: Any) -> list[LayerInfo]:
    """Shapes and parameter counts of ``Input → layers → Dense(num_classes, softmax)``.

    Parameters
    ----------
    layers : sequence of LayerSpec
        The hidden layers, without the input and the output layer.
    input_shape : tuple of int
        Shape of one example (no batch axis).
    num_classes : int
        Width of the softmax output.

    Returns
    -------
    list of LayerInfo
        ``len(layers) + 2`` rows: the input, each layer, the output layer.

    Raises
    ------
    ModelError
        Naming the first bad layer by position and type, and the fix.
    """
    shape = check_input_shape(input_shape)
    classes = check_num_classes(num_classes)
    stack = _Stack(shape)
    rows = [LayerInfo(0, "Input", (None, *shape), 0, 0, "input")]
    for position, spec in enumerate(layers, start=1):
        layer = _Layer(position, spec)
        if spec.type not in _INFER or type(spec) is LayerSpec:
            # Only a spec built around validation (model_construct) gets here.
            raise layer.fail("is not a supported layer type", unknown_type(spec.type))
        out, params, trainable, description = _INFER[spec.type](layer, stack)
        rows.append(LayerInfo(position, spec.type, (None, *out), params, trainable, description))
        stack.advance(out, position, spec.type)
    output = len(rows)
    if len(stack.shape) != 1:
        fix = "add Flatten or GlobalAveragePooling2D before the output"
        if len(stack.shape) == 2:
            fix = "add Flatten before the output, or set return_sequences=false on the last recurrent layer"
        raise ModelError(
            f"layer {output} (Dense): the output layer needs one feature vector per example but gets shape "
            f"{fmt_shape(stack.shape)} from {stack.producer}; {fix}",
            output,
            "Dense",
        )
    params = stack.shape[0] * classes + classes
    rows.append(LayerInfo(output, "Dense", (None, classes), params, params, f"{classes} classes, softmax"))
    return rows
