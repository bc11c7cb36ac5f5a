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

How the structure is checked, without ever listing the tokens: ``<batch>`` is read as it is when it
has no whitespace or exactly one space after every comma (as ``json.dumps`` writes it), and with its
whitespace dropped otherwise (after checking that no whitespace splits a number, ``1 2``). Then:

1. every byte may only be followed by what the nested list's grammar allows: after ``[`` or ``,``
   a ``[`` or a number, after ``]`` or a number a ``]`` or ``,``, the one space right after a
   comma; one table lookup per byte and a comparison of neighbours rejects any other byte too;
2. the numbers are the maximal digit runs: ``n * prod(instance_shape)`` of them, each as long as
   the dtype allows, without a leading zero;
3. between consecutive numbers, where the canonical list closes ``a`` lists and opens ``a`` again
   (``]]],[[[`` between two images of rank 3), the bytes are exactly ``2a + 1`` (plus the space)
   long with the comma ``a + 1`` bytes after the number, and the batch opens and closes with
   ``rank + 1`` brackets.

By (1) the bytes between two numbers are some ``]``, one comma (with its space) and some ``[``; (3)
fixes how many of each, so the tokens are, one for one, those of the canonical nested list of shape
``[n, *shape]``: brackets, commas (none missing, doubled or trailing), depth and regularity are all
checked. Every pass is over the batch's bytes or its numbers in numpy, with no Python per number.
"""

from __future__ import annotations

import functools
import math
import re

import numpy as np

__all__ = ["scan_batch"]

# Byte codes: the high nibble is the byte's class, the low nibble the classes that may follow it
# (a class shifted right by 4), so ``(code[i] << 4) & code[i + 1]`` is nonzero exactly for an
# allowed pair. A byte outside the alphabet has code 0: nothing may follow it, it may follow nothing.
# The classes are ordered so that in a batch of allowed pairs a code is greater than the next one
# exactly where a number ends (a digit, then ``]`` or ``,``).
_CLOSING, _SPACE, _OPENING, _DIGIT = 0x10, 0x20, 0x40, 0x80  # ``]`` and ``,``; `` ``; ``[``; 0-9


def _code_table(spaced: bool) -> bytes:
    """Build the ``bytes.translate`` table of byte codes; ``spaced``: one space after each comma."""
    codes = np.zeros(256, dtype=np.uint8)
    value = (_OPENING | _DIGIT) >> 4
    codes[np.frombuffer(b"0123456789", dtype=np.uint8)] = _DIGIT | (_CLOSING | _DIGIT) >> 4
    codes[ord("[")] = _OPENING | value
    codes[ord("]")] = _CLOSING | _CLOSING >> 4
    codes[ord(",")] = _CLOSING | (_SPACE >> 4 if spaced else value)
    if spaced:
        codes[ord(" ")] = _SPACE | value
    return codes.tobytes()


_TIGHT, _SPACED = _code_table(spaced=False), _code_table(spaced=True)
_WHITESPACE = b" \t\n\r"  # JSON's whitespace, no other
_COMMA = ord(",")

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
#: Bytes put before a batch that the body does not have enough bytes before: :func:`_digits` reads
#: up to ``max_digits`` bytes before a number's last digit (and masks those past its first).
_PAD = b"[" * _FLOAT_DIGITS
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
    if len(instance_shape) > _MAX_RANK or 0 in instance_shape:
        return None  # deeper than the general reader's nesting limit allows, or no numbers at all
    head = _HEAD.match(body)
    if head is None or body[head.end() : head.end() + 1] != b"[":
        return None
    key, named = head.group(1), head.group(2) is not None
    if named and key != b"inputs":
        return None  # {"instances": {"images": ...}}: the general reader says what is wrong
    start, stop = head.end(), body.rfind(b"]") + 1
    if stop <= start or (_NAMED_TAIL if named else _TAIL).match(body, stop) is None:
        return None
    numbers = _read_batch(body, start, stop, tuple(instance_shape), max_digits)
    if numbers is None:
        return None
    values, count = numbers
    if largest is not None and int(values.max()) > largest:
        return None
    return values.astype(dtype).reshape(count, *instance_shape), key == b"inputs"


def _read_batch(
    body: bytes, start: int, stop: int, shape: tuple[int, ...], max_digits: int
) -> tuple[np.ndarray, int] | None:
    """Read the numbers of the batch ``body[start:stop]`` in order and count its instances, or None."""
    if all(body.find(space, start, stop) < 0 for space in (b"\t", b"\n", b"\r")):
        # As written (json.dumps' ", " or no whitespace at all): no copy without the whitespace.
        spaced = body.find(b" ", start, stop) >= 0
        if start >= max_digits:
            numbers = _read_layout(body, start, stop, shape, max_digits, spaced)
        else:
            padded = _PAD + body[start:stop]
            numbers = _read_layout(padded, len(_PAD), len(padded), shape, max_digits, spaced)
        if numbers is not None or not spaced:
            return numbers
    # Any other whitespace: dropped first, once it is clear that none splits a number ("1 2").
    compact = _PAD + body[start:stop].translate(None, _WHITESPACE)
    numbers = _read_layout(compact, len(_PAD), len(compact), shape, max_digits, spaced=False)
    if numbers is None:
        return None
    text = np.frombuffer(body, dtype=np.uint8, count=stop - start, offset=start)
    digit = (text - ord("0")) < 10
    if np.count_nonzero(np.greater(digit[:-1], digit[1:])) != numbers[0].size:
        return None  # whitespace joined two numbers into one
    return numbers


def _read_layout(
    text: bytes, start: int, stop: int, shape: tuple[int, ...], max_digits: int, spaced: bool
) -> tuple[np.ndarray, int] | None:
    """:func:`_read_batch` of a batch with no whitespace, or (``spaced``) one space after each comma.

    ``text[start:stop]`` is the batch, from its ``[`` to its ``]``; ``start >= max_digits``, for the
    digit reads (:func:`_digits`). The checks are numbered as in the module docstring.
    """
    codes = np.frombuffer(text.translate(_SPACED if spaced else _TIGHT), dtype=np.uint8)[start:stop]
    pairs = codes[:-1] * np.uint8(16)  # the low nibble to the high one (numpy's left_shift is slower)
    np.bitwise_and(pairs, codes[1:], out=pairs)
    if pairs.min() == 0:
        return None  # (1): a byte that may not follow the one before it, or one outside the alphabet
    # Large temporaries are few and reused: each fresh one costs page faults as well as its pass.
    ends = np.greater(codes[:-1], codes[1:], out=pairs.view(bool))
    lasts = np.flatnonzero(ends)  # each number's last digit
    per_instance, separators, commas_after = _layout(shape, spaced)
    if lasts.size == 0 or lasts.size % per_instance:
        return None
    count = lasts.size // per_instance
    read = _digits(text, start, stop, lasts, max_digits)
    if read is None:
        return None
    values, lengths = read
    depth = len(shape) + 1
    if lasts[0] + 1 - lengths[0] != depth or stop - start - 1 - lasts[-1] != depth:
        return None  # (3): the batch opens and closes with depth brackets
    work = np.empty(lasts.size, dtype=lasts.dtype)
    gaps = np.subtract(lasts[1:], lasts[:-1], out=work[:-1])
    gaps -= lengths[1:]  # bytes between a number's last digit and the next one's first
    whole = (count - 1) * per_instance
    if not (gaps[:whole].reshape(count - 1, per_instance) == separators).all():
        return None
    if not (gaps[whole:] == separators[:-1]).all():
        return None
    commas = np.add(lasts.reshape(count, per_instance), commas_after, out=work.reshape(count, per_instance))
    batch = np.frombuffer(text, dtype=np.uint8, count=stop - start, offset=start)
    if not (batch.take(commas.ravel()[:-1], mode="wrap") == _COMMA).all():  # the last's is the final ``]``
        return None
    return values, count


def _digits(
    text: bytes, start: int, stop: int, lasts: np.ndarray, max_digits: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """Read the values and digit counts of the numbers ending at ``lasts``; None if one is not JSON's.

    The digit ``place`` places before each number's last is read for all numbers at once (``take``
    on a view of ``text`` shifted by ``place``) and counted where every byte since is a digit; the
    reads past a number's first digit (into the bytes before it, or before the batch) are masked.
    """
    text_bytes = np.frombuffer(text, dtype=np.uint8)

    def before(place: int) -> np.ndarray:
        shifted = text_bytes[start - place : stop - place]
        read: np.ndarray = shifted.take(lasts, mode="wrap")  # in range; "wrap" skips the bounds check
        read -= ord("0")
        return read

    kind = np.int16 if max_digits <= 4 else np.int32 if max_digits <= 9 else np.int64
    values: np.ndarray = before(0).astype(kind)
    lengths = np.ones(lasts.size, dtype=np.uint8)
    longer = np.ones(lasts.size, dtype=bool)  # the number has a digit ``place`` places before its last
    zero_first = np.zeros(lasts.size, dtype=bool)  # its first digit so far is a 0 (and not its last)
    for place in range(1, max_digits + 1):
        digits = before(place)
        np.logical_and(longer, digits < 10, out=longer)
        if not np.count_nonzero(longer):  # (faster than .any(), a Python method)
            break
        if place == max_digits:
            return None  # more digits than the dtype's largest value has
        flags = longer.view(np.uint8)  # 0 or 1: arithmetic without a cast from bool
        lengths += flags
        digits *= flags
        np.add(values, np.multiply(digits, 10**place, dtype=kind), out=values)
        # zero_first = where(longer, digits == 0, zero_first), without np.where's or copyto's slow loop
        change = np.equal(digits, 0)
        change ^= zero_first
        change &= longer
        zero_first ^= change
    if zero_first.any():
        return None  # a number of two digits or more that starts with 0: not JSON
    return values, lengths


@functools.lru_cache(maxsize=32)
def _layout(shape: tuple[int, ...], spaced: bool) -> tuple[int, np.ndarray, np.ndarray]:
    """Numbers per instance; for each number, the bytes to the next and the offset of the comma.

    A number closes ``a`` lists after it (the last number of an instance all of them), and the
    canonical bytes to the next number are ``]`` * a, ``,``, a space when ``spaced``, ``[`` * a.
    """
    per_instance = math.prod(shape)
    closed = np.zeros(per_instance, dtype=np.int64)
    size = 1
    for extent in reversed(shape):
        size *= extent
        closed[size - 1 :: size] += 1
    separators, commas_after = 2 * closed + (2 if spaced else 1), closed + 1
    separators.setflags(write=False)  # shared by every call (cached)
    commas_after.setflags(write=False)
    return per_instance, separators, commas_after
