"""TensorFlow Serving's REST API: predict bodies to a validated array, results to its JSON answers.

Pure functions (no Tornado, no TensorFlow), shared by the Jupyter extension's predict routes
(:mod:`~lepton_lab.server.model_handlers`) and by ``lepton-lab serve``, so a client written for
TF Serving works against either unchanged. They follow the Predict API of
https://www.tensorflow.org/tfx/serving/api_rest:

- Row format: ``{"instances": [...]}``, each instance the value of the model's one named input
  (a nested list ``[H][W][C]``) or an object naming it (``{"images": [...]}``); the answer is
  ``{"predictions": [...]}``, one object per instance because the signature has two named outputs:
  ``{"probabilities": [...], "classes": k}``.
- Columnar format: ``{"inputs": <the batch>}`` or ``{"inputs": {"images": <the batch>}}``; the
  answer is ``{"outputs": {"probabilities": [[...], ...], "classes": [...]}}``.
- Optional ``"signature_name"`` (only ``serving_default`` is served); errors are
  ``{"error": "<message>"}``.
- ``GET /v1/models/{name}`` answers the JSON form of ``GetModelStatusResponse``
  (:func:`model_status`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lepton_lab.server.bodies import parse_json_body
from lepton_lab.server.tf_serving_scan import scan_batch

#: The SavedModel's one named input (export: ``serving_default`` takes ``images``; a text
#: model's, whose input dtype is ``string``, takes ``text``: one JSON string per instance).
INPUT_NAME = "images"
TEXT_INPUT_NAME = "text"
#: The only signature served.
SIGNATURE_NAME = "serving_default"
#: The signature's named outputs, in the order answers list them.
OUTPUT_NAMES = ("probabilities", "classes")

#: Value range of each integer dtype an input may have.
#: A JSON true or false (also inside a string, which only costs the value-by-value check).
_JSON_BOOLEAN = re.compile(rb"\b(?:true|false)\b")
_INTEGER_RANGES = {"uint8": (0, 255), "int8": (-128, 127), "int32": (-(2**31), 2**31 - 1)}

#: TF Serving's model states (``ModelVersionStatus.State``) for each deployment state.
_STATES = {"starting": "LOADING", "ready": "AVAILABLE", "restarting": "LOADING", "failed": "END"}


class PredictRequestError(ValueError):
    """A predict body TF Serving would refuse; the message names the expected shape and dtype."""

    http_status = 400


@dataclass(frozen=True)
class PredictRequest:
    """A parsed predict body.

    Attributes
    ----------
    images
        The batch, ``[n, *instance_shape]`` in the input's dtype.
    columnar
        True for an ``inputs`` body (answered with ``outputs``), False for ``instances``.
    signature_name
        The signature asked for (always :data:`SIGNATURE_NAME` once parsed).
    """

    images: np.ndarray
    columnar: bool
    signature_name: str = SIGNATURE_NAME


def expected_text(spec: Mapping[str, Any], *, per_instance: bool) -> str:
    """Say what the model takes: ``[8, 8, 1] of uint8 (0-255) per instance`` or ``[n, 8, 8, 1] ...``."""
    shape = _instance_shape(spec)
    dtype = str(spec.get("dtype", "uint8"))
    if dtype == "string":
        return "a string per instance" if per_instance else "[n] of strings"
    bounds = _INTEGER_RANGES.get(dtype)
    kind = f"{dtype} ({bounds[0]}-{bounds[1]})" if bounds else dtype
    if per_instance:
        return f"{_shape_text(shape)} of {kind} per instance"
    return f"{_shape_text(('n', *shape))} of {kind}"


def parse_predict_bytes(body: bytes, spec: Mapping[str, Any], *, limit: int) -> PredictRequest:
    """Read a predict request's raw body: :func:`parse_predict_body` of its JSON, only faster.

    A body of plain integers in one of the documented forms is read straight from its bytes
    (:func:`~lepton_lab.server.tf_serving_scan.scan_batch`, a few numpy passes instead of
    ``json.loads`` and per-number Python); every other body, and every body that is wrong, goes
    through :func:`~lepton_lab.server.bodies.parse_json_body` and :func:`parse_predict_body`, so
    the answer, array or error, is the same either way.

    Parameters
    ----------
    body
        The request body's bytes.
    spec
        The model's input: ``{"shape": [None, H, W, C], "dtype": "uint8"}``.
    limit
        The largest body accepted, in bytes.

    Raises
    ------
    BodyError
        The body is not JSON (:class:`~lepton_lab.server.bodies.BodyTooLarge` when over ``limit``).
    PredictRequestError
        As :func:`parse_predict_body`.
    """
    if len(body) <= limit:
        scanned = scan_batch(body, _instance_shape(spec), str(spec.get("dtype", "uint8")))
        if scanned is not None:
            return PredictRequest(scanned[0], columnar=scanned[1])
    # numpy reads [true, 3] as [1, 3]: a body with a JSON boolean anywhere is checked value by value.
    each = spec.get("dtype") != "string" and _JSON_BOOLEAN.search(body) is not None
    return parse_predict_body(parse_json_body(body, limit), spec, check_each=each)


def parse_predict_body(body: Any, spec: Mapping[str, Any], *, check_each: bool = False) -> PredictRequest:
    """Validate a TF Serving predict body against the model's input spec.

    Parameters
    ----------
    body
        The parsed JSON body.
    spec
        The model's input: ``{"shape": [None, H, W, C], "dtype": "uint8"}``.
    check_each
        Check every value's JSON type before reading the batch with numpy (which takes a boolean
        among numbers for 0 or 1); :func:`parse_predict_bytes` asks for it when the body holds one.

    Returns
    -------
    PredictRequest
        The batch as an array of ``spec``'s dtype and whether the body was columnar.

    Raises
    ------
    PredictRequestError
        When the body is not a predict request, or an instance has the wrong shape, dtype or range;
        the message names which instance and what the model expects.
    """
    usage = (
        'send {"instances": [<instance>, ...]} (row format) or {"inputs": [<instance>, ...]} '
        f"(columnar format), each instance {expected_text(spec, per_instance=True)}"
    )
    if not isinstance(body, dict):
        raise PredictRequestError(f"the request body must be a JSON object: {usage}")
    signature = body.get("signature_name", SIGNATURE_NAME)
    if signature != SIGNATURE_NAME:
        raise PredictRequestError(
            f"signature_name {signature!r} is not served; this model has only {SIGNATURE_NAME!r}"
        )
    if "instances" in body and "inputs" in body:
        raise PredictRequestError(f'a request has either "instances" or "inputs", not both: {usage}')
    if "instances" in body:
        return PredictRequest(_parse_instances(body["instances"], spec, check_each), columnar=False)
    if "inputs" in body:
        return PredictRequest(_parse_inputs(body["inputs"], spec, check_each), columnar=True)
    keys = ", ".join(repr(k) for k in body) or "no keys"
    raise PredictRequestError(f'the body has neither "instances" nor "inputs" (it has {keys}): {usage}')


def _parse_instances(instances: Any, spec: Mapping[str, Any], check_each: bool = False) -> np.ndarray:
    expected = expected_text(spec, per_instance=True)
    if not isinstance(instances, list) or not instances:
        what = "an empty list" if isinstance(instances, list) else f"a {_json_type(instances)}"
        raise PredictRequestError(f'"instances" is {what}; expected a list of instances, each {expected}')
    values = [_named_value(item, f"instances[{i}]", spec) for i, item in enumerate(instances)]
    if check_each:
        for i, value in enumerate(values):
            _check_instance(value, f"instances[{i}]", spec)
    batch = _array_or_none(values, spec, len(values))
    if batch is not None:
        return batch
    for i, value in enumerate(values):  # the batch is wrong somewhere: name the first bad instance
        _check_instance(value, f"instances[{i}]", spec)
    raise PredictRequestError(f'"instances" could not be read as a batch; each instance must be {expected}')


def _parse_inputs(inputs: Any, spec: Mapping[str, Any], check_each: bool = False) -> np.ndarray:
    value = _named_value(inputs, "inputs", spec)
    expected = expected_text(spec, per_instance=False)
    if not isinstance(value, list) or not value:
        what = "an empty list" if isinstance(value, list) else f"a {_json_type(value)}"
        raise PredictRequestError(
            f'"inputs" is {what}; expected the batch as a nested list {expected} '
            "(n instances, even for one: [[...]])"
        )
    if check_each:
        _check_columnar(value, spec, expected)
    batch = _array_or_none(value, spec, len(value))
    if batch is not None:
        return batch
    _check_columnar(value, spec, expected)  # the batch is wrong somewhere: say where
    raise PredictRequestError(f'"inputs" could not be read as a batch; expected {expected}')


def _check_columnar(value: list[Any], spec: Mapping[str, Any], expected: str) -> None:
    shape = _nested_shape(value)
    if shape is not None and len(shape) == len(_instance_shape(spec)):
        raise PredictRequestError(
            f'"inputs" has shape {_shape_text(shape)}; expected {expected}: '
            "the columnar format needs the batch axis, even for one instance ([<instance>])"
        )
    for i, item in enumerate(value):
        _check_instance(item, f"inputs[{i}]", spec)


def _named_value(item: Any, where: str, spec: Mapping[str, Any]) -> Any:
    """Return the value of the one named input: ``item`` itself, or ``item["images"]``."""
    if not isinstance(item, dict):
        return item
    name = TEXT_INPUT_NAME if spec.get("dtype") == "string" else INPUT_NAME
    unknown = sorted(set(item) - {name})
    if unknown or name not in item:
        names = ", ".join(repr(k) for k in unknown) or "no names"
        raise PredictRequestError(
            f"{where} names {names}; the model has one named input, {name!r}: "
            f'{{"{name}": {expected_text(spec, per_instance=where != "inputs")}}}'
        )
    return item[name]


def _array_or_none(values: list[Any], spec: Mapping[str, Any], n: int) -> np.ndarray | None:
    """Return the batch as ``spec``'s dtype if every value is right (the fast path), else None."""
    if spec.get("dtype") == "string" and not all(isinstance(value, str) for value in values):
        return None  # numpy would turn a number into its text
    try:
        array = np.asarray(values)
    except (ValueError, TypeError, OverflowError):
        return None  # ragged nesting or mixed types: the slow path says where
    if array.shape != (n, *_instance_shape(spec)) or not _values_fit(array, spec):
        return None
    if spec.get("dtype") == "string":
        return array.astype(object)  # str objects: what tf.constant makes a tf.string batch of
    return array.astype(str(spec.get("dtype", "uint8")), copy=False)


def _values_fit(array: np.ndarray, spec: Mapping[str, Any]) -> bool:
    dtype = str(spec.get("dtype", "uint8"))
    if dtype == "string":
        return array.dtype.kind == "U"
    bounds = _INTEGER_RANGES.get(dtype)
    if bounds is None:  # a float input: any number
        return array.dtype.kind in "iuf"
    if array.dtype.kind not in "iu":
        return False
    return array.size == 0 or (int(array.min()) >= bounds[0] and int(array.max()) <= bounds[1])


def _check_instance(value: Any, where: str, spec: Mapping[str, Any]) -> None:
    """Raise a :class:`PredictRequestError` naming what is wrong with one instance, if anything."""
    expected = expected_text(spec, per_instance=True)
    shape = _nested_shape(value)
    if shape is None:
        raise PredictRequestError(
            f"{where} is not a regular nested list (its rows differ in length); expected {expected}"
        )
    wanted = _instance_shape(spec)
    if shape != wanted:
        hint = ""
        if shape == wanted[:-1] and wanted[-1] == 1:
            hint = " (add the channel axis: each pixel a list of one value, [[[v], ...], ...])"
        raise PredictRequestError(f"{where} has shape {_shape_text(shape)}; expected {expected}{hint}")
    array = np.asarray(value, dtype=object)
    dtype = str(spec.get("dtype", "uint8"))
    if dtype == "string":
        if not isinstance(value, str):
            raise PredictRequestError(f"{where} is {_value_text(value)}; expected {expected}")
        return
    bounds = _INTEGER_RANGES.get(dtype)
    for index in np.ndindex(array.shape):
        item = array[index]
        position = _shape_text(index)
        number = isinstance(item, (int, float)) and not isinstance(item, bool)
        if not number:
            raise PredictRequestError(
                f"{where} holds {_value_text(item)} at {position}; expected {expected}"
            )
        if bounds is None:
            continue
        if isinstance(item, float):
            raise PredictRequestError(
                f"{where} holds {item!r} at {position}, not an integer; expected {expected}: send the raw "
                "pixel values as the dataset stores them, not scaled floats"
            )
        if not bounds[0] <= item <= bounds[1]:
            raise PredictRequestError(
                f"{where} holds {item} at {position}, out of range; expected {expected}"
            )


def _nested_shape(value: Any) -> tuple[int, ...] | None:
    """Shape of a regular nested list (``()`` for a scalar), None when its rows differ in length."""
    if not isinstance(value, list):
        return ()
    if not value:
        return (0,)
    shapes = {_nested_shape(item) for item in value}
    if len(shapes) != 1 or None in shapes:
        return None
    inner = shapes.pop()
    assert inner is not None
    return (len(value), *inner)


def _instance_shape(spec: Mapping[str, Any]) -> tuple[int, ...]:
    shape = list(spec["shape"])
    return tuple(int(d) for d in shape[1:])


def _shape_text(shape: Sequence[Any]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "list"
    return type(value).__name__


def _value_text(value: Any) -> str:
    """Describe a JSON value as its client wrote it: ``null``, ``boolean true``, ``string 'x'``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {json.dumps(value)}"
    return f"{_json_type(value)} {_short(value)}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def format_predictions(result: Mapping[str, Any], *, columnar: bool) -> dict[str, Any]:
    """TF Serving's answer to a predict request.

    Parameters
    ----------
    result
        ``{"probabilities": float32 [n, classes], "classes": int64 [n]}`` from the model.
    columnar
        Whether the request was columnar (``inputs``): answer ``{"outputs": {...}}``, else
        ``{"predictions": [{"probabilities": [...], "classes": k}, ...]}``.
    """
    probabilities = _float32_rows(np.asarray(result["probabilities"], dtype=np.float32))
    classes = [int(k) for k in np.asarray(result["classes"]).reshape(-1)]
    if columnar:
        return {"outputs": {"probabilities": probabilities, "classes": classes}}
    return {
        "predictions": [
            {"probabilities": row, "classes": k} for row, k in zip(probabilities, classes, strict=True)
        ]
    }


def predictions_json(result: Mapping[str, Any], *, columnar: bool) -> str:
    """``json.dumps(format_predictions(result, columnar=columnar))``, written directly.

    The same text, character for character, in about a tenth of the time: the numbers' texts come
    from one numpy call and are joined as strings, with no Python float or dict per value (for a
    64-image answer the general way costs about 0.6 ms of the server's event loop).
    """
    values = np.asarray(result["probabilities"], dtype=np.float32)
    values = values.reshape(len(values), int(np.prod(values.shape[1:])))
    classes = [str(int(k)) for k in np.asarray(result["classes"]).reshape(-1)]
    if len(classes) != len(values):
        raise ValueError(f"{len(values)} rows of probabilities but {len(classes)} classes")
    rows = [", ".join(row) for row in _json_floats(values).tolist()]
    if columnar:
        table = "[" + "], [".join(rows) + "]" if rows else ""
        return f'{{"outputs": {{"probabilities": [{table}], "classes": [{", ".join(classes)}]}}}}'
    items = ", ".join(
        f'{{"probabilities": [{row}], "classes": {k}}}' for row, k in zip(rows, classes, strict=True)
    )
    return f'{{"predictions": [{items}]}}'


def _json_floats(values: np.ndarray) -> np.ndarray:
    """Each float32 as ``json.dumps(float(str(value)))`` writes it, an array of strings.

    numpy's ``str`` of a float32 is its shortest round-trip text, the one :func:`_float32_rows`
    gives json.dumps; json.dumps then writes Python's ``repr`` of that float, which is the same
    text except where the two choose notation differently: numpy writes 1e+06 where Python writes
    1000000.0 (numpy switches to an exponent from 1e6, Python from 1e16), a float32 just below 1e-4
    rounds to the text 1e-04 that Python writes 0.0001, and non-finite values (NaN, Infinity).
    Only those few are redone the general way.
    """
    texts = values.astype(str)
    magnitude = np.abs(values)
    differ = ~np.isfinite(values) | (magnitude >= 1e6) | ((magnitude > 9e-5) & (magnitude < 1.1e-4))
    for index in zip(*np.nonzero(differ), strict=True):
        texts[index] = json.dumps(float(texts[index]))
    return texts


def _float32_rows(values: np.ndarray) -> list[list[float]]:
    # str() of a float32 is its shortest round-trip text (0.1, not 0.10000000149011612), so answers
    # carry what the model computed in about a third of the bytes. astype(str) is that same text,
    # made in one call instead of one numpy scalar per value.
    rows = values.reshape(values.shape[0], -1).astype(str).tolist()
    return [[float(text) for text in row] for row in rows]


def error_body(message: str) -> dict[str, str]:
    """TF Serving's error answer: ``{"error": message}``."""
    return {"error": message}


def model_status(model: Mapping[str, Any]) -> dict[str, Any]:
    """Describe a deployed model as TF Serving's ``GetModelStatusResponse`` JSON.

    ``ready`` is ``AVAILABLE``; ``starting`` and ``restarting`` are ``LOADING``; ``failed`` is
    ``END`` with error code ``UNKNOWN`` and the deployment's error as the message.
    """
    state = str(model.get("state", "starting"))
    failed = state == "failed"
    return {
        "model_version_status": [
            {
                "version": str(model.get("version", 1)),
                "state": _STATES.get(state, "UNKNOWN"),
                "status": {
                    "error_code": "UNKNOWN" if failed else "OK",
                    "error_message": str(model.get("error") or "") if failed else "",
                },
            }
        ]
    }
