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

Text models start from token ids: an ``Embedding`` without ``input_dim`` takes the vocabulary
size of the TextVectorization before the model, passed here as ``vocabulary_size`` (the input
shape is then the vectorizer's output, e.g. ``(200,)``). A vectorizer in ``multi_hot``, ``count`` or
``tf_idf`` mode gives one vector per text instead of token ids, with the same rank; its
``vectorizer_mode`` tells the two apart, so an ``Embedding`` there is refused.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lepton_lab.core.layer_specs import (
    AveragePooling1DLayer,
    AveragePooling2DLayer,
    BidirectionalLayer,
    Conv1DLayer,
    Conv2DLayer,
    DenseLayer,
    DropoutLayer,
    EmbeddingLayer,
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


#: The layer doing the same along a sequence, for a 2-D layer given one (and back).
SEQUENCE_COUNTERPART = {
    "Conv2D": "Conv1D",
    "MaxPooling2D": "MaxPooling1D",
    "AveragePooling2D": "AveragePooling1D",
    "GlobalAveragePooling2D": "GlobalAveragePooling1D",
}
IMAGE_COUNTERPART = {one_d: two_d for two_d, one_d in SEQUENCE_COUNTERPART.items()}


def _suggest_sequence_reshape(shape: Shape) -> str:
    if len(shape) == 1:
        return f"Reshape(target_shape={fmt_shape((shape[0], 1))})"
    return f"Reshape(target_shape={fmt_shape((shape[0], math.prod(shape[1:])))})"


class _Stack:
    """Walks the layers, tracking the current shape and which layer produced it."""

    def __init__(
        self, input_shape: Shape, vocabulary_size: int | None = None, vectorizer_mode: str | None = None
    ) -> None:
        self.shape = input_shape
        self.producer = "the input"
        self.producer_type = "Input"
        self.vocabulary_size = vocabulary_size
        self.vectorizer_mode = vectorizer_mode

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
        if self.producer_type not in ("Input", "Embedding") and len(self.shape) < 3:
            fix = f"move it before {self.producer}, or {fix}"
        if len(self.shape) == 2 and layer.type in SEQUENCE_COUNTERPART and self.producer_type != "Input":
            # A layer made this sequence (an Embedding, a recurrent layer): the 1-D layer is meant.
            # A 2-D input is more often a grayscale image, which the Reshape below serves.
            fix = f"use {SEQUENCE_COUNTERPART[layer.type]} on a sequence (timesteps, features), or {fix}"
        raise layer.fail(problem, fix)

    def need_sequence(self, layer: _Layer) -> tuple[int, int]:
        if len(self.shape) == 2:
            return self.shape[0], self.shape[1]
        got = f"shape {fmt_shape(self.shape)} from {self.producer}"
        problem = f"needs a sequence (timesteps, features) but gets {got}"
        if self.producer_type in ("SimpleRNN", "LSTM", "GRU", "Bidirectional"):
            fix = f"set return_sequences=true on {self.producer}"
        elif len(self.shape) == 3 and layer.type in IMAGE_COUNTERPART:
            reshape = _suggest_sequence_reshape(self.shape)
            fix = f"use {IMAGE_COUNTERPART[layer.type]} on an image, or add {reshape} before it"
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
        spec: SimpleRNNLayer = layer.spec  # or LSTMLayer, GRULayer: the same arguments
        units, sequences = spec.units, spec.return_sequences
        timesteps, features = stack.need_sequence(layer)
        # kernel (features x gates*units), recurrent kernel (units x gates*units), bias; Keras's GRU
        # defaults to reset_after=True, which keeps two bias vectors. Dropout adds no weights.
        params = gates * units * (features + units + bias_sets)
        shape = (timesteps, units) if sequences else (units,)
        description = f"{units} units" + (", sequences" if sequences else "")
        if spec.dropout or spec.recurrent_dropout:
            description += f", dropout {spec.dropout:g}/{spec.recurrent_dropout:g}"
        return shape, params, params, description

    return infer


def _bidirectional(layer: _Layer, stack: _Stack) -> Step:
    spec: BidirectionalLayer = layer.spec
    inner = _Layer(layer.position, spec.layer)
    inner.type = layer.type  # problems are the Bidirectional's, at its position
    shape, params, _, description = _INFER[spec.layer.type](inner, stack)
    if spec.merge_mode == "concat":
        shape = (*shape[:-1], 2 * shape[-1])
    # Two copies of the wrapped layer: one reads forwards, one backwards.
    return shape, 2 * params, 2 * params, f"{spec.layer.type} {description}, {spec.merge_mode}"


def _embedding(layer: _Layer, stack: _Stack) -> Step:
    spec: EmbeddingLayer = layer.spec
    if stack.producer_type != "Input":
        raise layer.fail(
            "turns the input's token ids into vectors, so it must come first, "
            f"but it follows {stack.producer}",
            "move it to position 1",
        )
    if stack.vectorizer_mode not in (None, "int"):
        # Same rank as token ids, but each entry is a per-token weight, not an id to look up.
        raise layer.fail(
            f"needs token ids, but the TextVectorization's output_mode {stack.vectorizer_mode!r} gives "
            f"one {stack.vectorizer_mode} vector of {stack.shape[0]} entries per text",
            "set model.preprocessing output_mode='int' (with output_sequence_length) to embed tokens, "
            "or remove the Embedding and use Dense layers on the vector (as preset 'bag_of_words' does)",
        )
    if len(stack.shape) != 1:
        raise layer.fail(
            f"needs one sequence of token ids per example (sequence_length,) but gets shape "
            f"{fmt_shape(stack.shape)} from the input",
            "use it on text vectorized with output_mode='int' (model.preprocessing TextVectorization), "
            "or remove it",
        )
    vocabulary = stack.vocabulary_size
    input_dim = spec.input_dim
    if input_dim is None:
        if vocabulary is None:
            raise layer.fail(
                "input_dim is not set and no TextVectorization before the model gives the vocabulary size",
                "set input_dim to the number of token ids, e.g. 10000, or add a TextVectorization "
                "to model.preprocessing",
            )
        input_dim = vocabulary
    elif vocabulary is not None and input_dim < vocabulary:
        raise layer.fail(
            f"input_dim {input_dim} is smaller than the vocabulary of {vocabulary} tokens the "
            "TextVectorization produces, so some token ids have no vector",
            f"leave input_dim out (it defaults to {vocabulary}) or set it to at least {vocabulary}",
        )
    params = input_dim * spec.output_dim
    description = f"{input_dim} tokens x {spec.output_dim}" + (", mask 0" if spec.mask_zero else "")
    return (stack.shape[0], spec.output_dim), params, params, description


def _window1d(
    layer: _Layer, length: int, window: int, strides: int, padding: str, what: str, fix: str
) -> int:
    if padding in ("same", "causal"):
        return math.ceil(length / strides)
    if window > length:
        raise layer.fail(f"{what} {window} is longer than its {length} timesteps", fix)
    return (length - window) // strides + 1


def _conv1d(layer: _Layer, stack: _Stack) -> Step:
    spec: Conv1DLayer = layer.spec
    timesteps, features = stack.need_sequence(layer)
    kernel = spec.kernel_size
    length = _window1d(
        layer,
        timesteps,
        kernel,
        spec.strides,
        spec.padding,
        "kernel_size",
        "use padding='same' or a smaller kernel",
    )
    params = kernel * features * spec.filters + (spec.filters if spec.use_bias else 0)
    description = f"{spec.filters} filters x{kernel}, {spec.padding}, {spec.activation}"
    return (length, spec.filters), params, params, description


def _pooling1d(layer: _Layer, stack: _Stack) -> Step:
    spec: AveragePooling1DLayer = layer.spec  # or MaxPooling1DLayer: the same arguments
    timesteps, features = stack.need_sequence(layer)
    strides = spec.pool_size if spec.strides is None else spec.strides
    length = _window1d(
        layer,
        timesteps,
        spec.pool_size,
        strides,
        spec.padding,
        "pool_size",
        "use padding='same', a smaller pool_size, or remove this pooling layer",
    )
    return (length, features), 0, 0, f"{spec.pool_size}"


def _global1d(layer: _Layer, stack: _Stack) -> Step:
    return (stack.need_sequence(layer)[1],), 0, 0, ""


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
    "Bidirectional": _bidirectional,
    "Embedding": _embedding,
    "Conv1D": _conv1d,
    "MaxPooling1D": _pooling1d,
    "AveragePooling1D": _pooling1d,
    "GlobalMaxPooling1D": _global1d,
    "GlobalAveragePooling1D": _global1d,
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


def check_vocabulary_size(vocabulary_size: Any) -> int | None:
    """Return ``vocabulary_size`` if it is None or an int >= 1, else raise :class:`ModelError`."""
    if vocabulary_size is None or (
        isinstance(vocabulary_size, int) and not isinstance(vocabulary_size, bool) and vocabulary_size >= 1
    ):
        return vocabulary_size
    raise ModelError(
        f"vocabulary_size must be a positive integer or None, got {vocabulary_size!r}; pass the "
        "TextVectorization's vocabulary size (its max_tokens), or None when no vectorizer precedes the model"
    )


def trace(
    layers: Sequence[LayerSpec],
    input_shape: Any,
    vocabulary_size: int | None = None,
    vectorizer_mode: str | None = None,
) -> tuple[list[LayerInfo], _Stack]:
    """Rows of ``Input → layers`` (no output layer) and where the stack ends.

    ``vocabulary_size`` and ``vectorizer_mode`` describe the TextVectorization before the model,
    if any (see :func:`infer`).

    Raises
    ------
    ModelError
        Naming the first bad layer by position and type, and the fix.
    """
    shape = check_input_shape(input_shape)
    stack = _Stack(shape, check_vocabulary_size(vocabulary_size), vectorizer_mode)
    rows = [LayerInfo(0, "Input", (None, *shape), 0, 0, "input")]
    for position, spec in enumerate(layers, start=1):
        layer = _Layer(position, spec)
        if spec.type not in _INFER or type(spec) is LayerSpec:
            # Only a spec built around validation (model_construct) gets here.
            raise layer.fail("is not a supported layer type", unknown_type(spec.type))
        out, params, trainable, description = _INFER[spec.type](layer, stack)
        rows.append(LayerInfo(position, spec.type, (None, *out), params, trainable, description))
        stack.advance(out, position, spec.type)
    return rows, stack


def infer(
    layers: Sequence[LayerSpec],
    input_shape: Any,
    num_classes: Any,
    vocabulary_size: int | None = None,
    vectorizer_mode: str | None = None,
) -> list[LayerInfo]:
    """Shapes and parameter counts of ``Input → layers → Dense(num_classes, softmax)``.

    Parameters
    ----------
    layers : sequence of LayerSpec
        The hidden layers, without the input and the output layer.
    input_shape : tuple of int
        Shape of one example (no batch axis); for text, the vectorizer's output shape.
    num_classes : int
        Width of the softmax output.
    vocabulary_size : int, optional
        Vocabulary size of the TextVectorization before the model: an ``Embedding`` without
        ``input_dim`` takes it.
    vectorizer_mode : str, optional
        That TextVectorization's ``output_mode``: an ``Embedding`` needs ``'int'`` (token ids);
        ``'multi_hot'``, ``'count'`` and ``'tf_idf'`` give one vector per text and refuse it.

    Returns
    -------
    list of LayerInfo
        ``len(layers) + 2`` rows: the input, each layer, the output layer.

    Raises
    ------
    ModelError
        Naming the first bad layer by position and type, and the fix.
    """
    check_input_shape(input_shape)
    classes = check_num_classes(num_classes)
    rows, stack = trace(layers, input_shape, vocabulary_size, vectorizer_mode)
    output = len(rows)
    if len(stack.shape) != 1:
        fix = "add Flatten or GlobalAveragePooling2D before the output"
        if len(stack.shape) == 2:
            fix = "add Flatten or GlobalAveragePooling1D before the output"
            if stack.producer_type in ("SimpleRNN", "LSTM", "GRU", "Bidirectional"):
                fix += ", or set return_sequences=false on the last recurrent layer"
        raise ModelError(
            f"layer {output} (Dense): the output layer needs one feature vector per example but gets shape "
            f"{fmt_shape(stack.shape)} from {stack.producer}; {fix}",
            output,
            "Dense",
        )
    params = stack.shape[0] * classes + classes
    rows.append(LayerInfo(output, "Dense", (None, classes), params, params, f"{classes} classes, softmax"))
    return rows


#: What each layer needs from the one before it, by rank, in words (the builder's palette).
_NEEDS = {
    3: "an image (height, width, channels)",
    2: "a sequence (timesteps, features)",
}
_RANK: dict[str, int] = {
    "Conv2D": 3,
    "MaxPooling2D": 3,
    "AveragePooling2D": 3,
    "GlobalAveragePooling2D": 3,
    "Conv1D": 2,
    "MaxPooling1D": 2,
    "AveragePooling1D": 2,
    "GlobalMaxPooling1D": 2,
    "GlobalAveragePooling1D": 2,
    "SimpleRNN": 2,
    "LSTM": 2,
    "GRU": 2,
    "Bidirectional": 2,
}


def unavailable(
    layer_type: str, shape: Sequence[int], at_input: bool, vectorizer_mode: str | None = None
) -> str | None:
    """Why a ``layer_type`` layer cannot come next after ``shape``, or None when it can.

    ``at_input`` says that ``shape`` is the input's (no layer yet). Only the rank is judged here
    (sizes and arguments are the layer's own checks); layers that take any rank always fit, except
    an ``Embedding`` after a TextVectorization whose ``vectorizer_mode`` gives one vector per text.

    Examples
    --------
    >>> unavailable("LSTM", (64,), at_input=False)
    'LSTM needs a sequence (timesteps, features); the model so far gives (64,)'
    >>> unavailable("Dense", (64,), at_input=False) is None
    True
    """
    so_far = f"the {'input is' if at_input else 'model so far gives'} {fmt_shape(shape)}"
    if layer_type == "Embedding":
        if not at_input:
            return "Embedding turns the input's token ids into vectors, so it only comes first"
        if len(shape) != 1:
            return f"Embedding needs one sequence of token ids per example; {so_far}"
        if vectorizer_mode not in (None, "int"):
            return (
                f"Embedding needs token ids; the TextVectorization's output_mode {vectorizer_mode!r} gives "
                "one vector per text (set output_mode='int' to embed tokens)"
            )
        return None
    rank = _RANK.get(layer_type)
    if rank is None or len(shape) == rank:
        return None
    return f"{layer_type} needs {_NEEDS[rank]}; {so_far}"
