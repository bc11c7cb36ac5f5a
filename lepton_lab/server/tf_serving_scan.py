"""A numeric fast path for TF Serving predict bodies: the body's bytes straight to an array.

A predict body is mostly a nested list of small integers (``{"instances": [[[[0], [12], ...]]]}``,
784 numbers per 28x28 image). Read the general way, ``json.loads`` builds a Python int per number,
the body's depth is walked, and the lists are validated and converted again, all in per-element
Python on the server's event loop: milliseconds per request. :func:`scan_batch` reads the common
body in a few vectorized numpy passes over its bytes instead.

It is a fast path only: it answers an array solely for a body the general reader
(:func:`~lepton_lab.server.bodies.parse_json_body` then
:func:`~lepton_lab.server.tf_serving.parse_predict_body`) would accept with the very same array,
and None for anything else (another form, another number syntax, a wrong shape or value, invalid
JSON), which the general reader then reads and answers with its own error. Accepted:

- ``{"instances": <batch>}``, ``{"inputs": <batch>}`` and ``{"inputs": {"images": <batch>}}``, with
  ``"signature_name": "serving_default"`` before or after, any JSON whitespace between tokens;
- ``<batch>``: a regular nested list of exactly ``[n, *instance_shape]`` non-negative JSON integers
  (no sign, fraction or exponent; no leading zeros, which JSON forbids) within the dtype's range,
  or of any size that a float input takes.

How the structure is checked: every byte of ``<batch>`` must be a digit, ``[``, ``]``, ``,`` or JSON
whitespace; the tokens that remain after dropping whitespace and merging digit runs into numbers
must equal, token for token, those of the one canonical nested list of shape ``[n, *shape]``.
That single comparison checks brackets, commas (none missing, doubled or trailing), nesting depth
and regularity at once.
"""

from __future__ import annotations

import functools
import re

import numpy as np

__all__ = ["scan_batch"]

#: Token codes; 0 marks a byte that may not appear in a numeric batch.
_NUMBER, _OPEN, _CLOSE, _COMMA, _SPACE = 1, 2, 3, 4, 5

_CODES = np.zeros(256, dtype=np.uint8)
_CODES[np.frombuffer(b"0123456789", dtype=np.uint8)] = _NUMBER
_CODES[ord("[")], _CODES[ord("]")], _CODES[ord(",")] = _OPEN, _CLOSE, _COMMA
_CODES[np.frombuffer(b" \t\n\r", dtype=np.uint8)] = _SPACE  # JSON's whitespace, no other
#: The same table for ``bytes.translate`` (one C pass, faster than numpy's ``take``).
_CODE_TABLE = _CODES.tobytes()

_WS = rb"[ \t\n\r]*"
_SIGNATURE = rb'"signature_name"' + _WS + rb":" + _WS + rb'"serving_default"'
#: Everything before the batch's first ``[``: the key, and ``{"images": `` around a named batch.
_HEAD = re.compile(
    _WS + rb"\{" + _WS + rb"(?:" + _SIGNATURE + _WS + rb"," + _WS + rb")?"
    rb'"(instances|inputs)"' + _WS + rb":" + _WS + rb"(\{" + _WS + rb'"images"' + _WS + rb":" + _WS + rb")?"
)
#: Everything after the batch's last ``]`` (without, or with, the named batch's closing brace).
_TAIL = re.compile(_WS + rb"(?:," + _WS + _SIGNATURE + _WS + rb")?\}" + _WS + rb"\Z")
_NAMED_TAIL = re.compile(_WS + rb"\}" + _WS + rb"(?:," + _WS + _SIGNATURE + _WS + rb")?\}" + _WS + rb"\Z")

#: Integer input dtypes and their value ranges (the general reader's ranges).
_INTEGER_MAX = {"uint8": 255, "int8": 127, "int32": 2**31 - 1}
#: Float input dtypes: any integer is a value (digits capped so int64 holds it exactly).
_FLOATS = ("float16", "float32", "float64")
_FLOAT_DIGITS = 15
#: Most instance axes read here: with the batch axis and two objects, within the bodies' depth limit.
_MAX_RANK = 28


def scan_batch(body: bytes, instance_shape: tuple[int, ...], dtype: str) -> tuple[np.ndarray, bool] | None:
    """Read a predict body of plain integers into ``(images, columnar)``; None when it is anything else.

    Parameters
    ----------
    body
        The raw request body.
    instance_shape
        The shape of one instance, ``(H, W, C)``.
    dtype
        The model input's dtype name; other than the integer and float ones, None always.

    Returns
    -------
    tuple or None
        ``images`` ``[n, *instance_shape]`` of ``dtype`` and whether the body was columnar
        (``inputs``), exactly what the general reader returns for this body; None where the general
        reader must decide (it may accept the body, or refuse it with its message).
    """
    if dtype in _INTEGER_MAX:
        largest: int | None = _INTEGER_MAX[dtype]
        max_digits = len(str(largest))
    elif dtype in _FLOATS:
        largest, max_digits = None, _FLOAT_DIGITS
    else:
        return None
    if len(instance_shape) > _MAX_RANK:
        return None  # deeper than the general reader's nesting limit allows
    head = _HEAD.match(body)
    if head is None or body[head.end() : head.end() + 1] != b"[":
        return None
    key, named = head.group(1), head.group(2) is not None
    if named and key != b"inputs":
        return None  # {"instances": {"images": ...}}: the general reader says what is wrong
    start, stop = head.end(), body.rfind(b"]") + 1
    if stop <= start or (_NAMED_TAIL if named else _TAIL).match(body, stop) is None:
        return None
    text = np.frombuffer(body, dtype=np.uint8, count=stop - start, offset=start)
    # A byte of code 0 (a sign, fraction, exponent, string, object or literal) stays a token of
    # its own, which no canonical token sequence has: such bodies are left to the general reader.
    codes = np.frombuffer(body[start:stop].translate(_CODE_TABLE), dtype=np.uint8)
    numbers = _numbers(text, codes, instance_shape, max_digits)
    if numbers is None:
        return None
    values, count = numbers
    if largest is not None and values.size and int(values.max()) > largest:
        return None
    return values.astype(dtype).reshape(count, *instance_shape), key == b"inputs"


def _numbers(
    text: np.ndarray, codes: np.ndarray, shape: tuple[int, ...], max_digits: int
) -> tuple[np.ndarray, int] | None:
    """Read the batch's numbers in order and count its instances, if its tokens are the canonical ones.

    Whole-body passes are elementwise on slices (no shifted copies); digits are then read at the
    numbers' last positions only, with ``take`` (numpy's boolean and fancy indexing cost several
    times more per element).
    """
    per_instance = int(np.prod(shape, dtype=np.int64))
    if per_instance == 0:
        return None
    digit = codes == _NUMBER
    continued = np.zeros_like(digit)  # a digit that continues the number before it
    np.logical_and(digit[1:], digit[:-1], out=continued[1:])
    ending = digit.copy()  # the last digit of a number
    ending[:-1] &= ~digit[1:]
    lasts = np.flatnonzero(ending)
    if lasts.size == 0 or lasts.size % per_instance:
        return None
    count = lasts.size // per_instance
    tokens = codes.take(np.flatnonzero((codes != _SPACE) & ~continued))
    if not _canonical_batch(tokens, shape, count):
        return None
    values: np.ndarray = text.take(lasts).astype(np.int64 if max_digits > 9 else np.int32) - ord("0")
    longer = np.ones(lasts.size, dtype=bool)  # the number has a digit ``place`` places before its last
    for place in range(1, max_digits + 1):
        before = lasts - place  # never below -1, which is the batch's closing bracket
        longer &= digit.take(before)
        if not longer.any():
            break
        if place == max_digits:
            return None  # more digits than the dtype's largest value has
        digits = text.take(before) - ord("0")
        values = values + np.where(longer, digits, 0).astype(values.dtype) * 10**place
        leading = longer & (digits == 0) & ~digit.take(before - 1)
        if leading.any():
            return None  # a number with a leading zero: not JSON
    return values, count


def _canonical_batch(tokens: np.ndarray, shape: tuple[int, ...], count: int) -> bool:
    """Whether ``tokens`` are those of a nested list of ``count`` instances of ``shape``."""
    instance = _canonical(shape)
    width = instance.size + 1  # an instance and the comma after it
    if tokens.size != count * width + 1 or tokens[0] != _OPEN or tokens[-1] != _CLOSE:
        return False
    inner = tokens[1:-1]
    if count > 1 and not bool(
        (inner[: (count - 1) * width].reshape(count - 1, width) == _canonical_with_comma(shape)).all()
    ):
        return False
    return bool(np.array_equal(inner[(count - 1) * width :], instance))


@functools.lru_cache(maxsize=16)
def _canonical(shape: tuple[int, ...]) -> np.ndarray:
    """Tokens of a nested list of ``shape`` (numbers as single tokens, no whitespace)."""
    if not shape:
        return np.array([_NUMBER], dtype=np.uint8)
    inner = _canonical(shape[1:])
    items = np.tile(np.append(inner, np.uint8(_COMMA)), shape[0])[:-1] if shape[0] else inner[:0]
    return np.concatenate([[np.uint8(_OPEN)], items, [np.uint8(_CLOSE)]]).astype(np.uint8)


@functools.lru_cache(maxsize=16)
def _canonical_with_comma(shape: tuple[int, ...]) -> np.ndarray:
    return np.append(_canonical(shape), np.uint8(_COMMA))
