"""Request bodies: size limit, UTF-8, JSON, nesting depth, each refused with a message naming the problem.

``json.loads`` alone turns hostile bodies into unexpected exceptions (``UnicodeDecodeError``, the
4300-digit integer limit's ``ValueError``, ``RecursionError``), which would answer 500. Here every
way a body can be unreadable becomes a :class:`BodyError` (400) or :class:`BodyTooLarge` (413).
"""

from __future__ import annotations

import json
import sys
from typing import Any

#: Default largest request body, in bytes (``LeptonLabApp.max_body_bytes``).
MAX_BODY_BYTES = 1 << 20
#: Deepest nesting of arrays and objects a body may have (a JobSpec needs 5).
MAX_DEPTH = 32


class BodyError(ValueError):
    """The request body cannot be read as JSON."""

    http_status = 400


class BodyTooLarge(BodyError):
    """The request body is over the size limit."""

    http_status = 413


def parse_json_body(body: bytes, limit: int = MAX_BODY_BYTES) -> Any:
    """Parse a JSON request body (empty means ``null``).

    Raises
    ------
    BodyTooLarge
        When ``body`` is longer than ``limit`` bytes.
    BodyError
        When it is not UTF-8, not JSON, holds an integer too long to convert, or nests deeper
        than :data:`MAX_DEPTH`.
    """
    if len(body) > limit:
        raise BodyTooLarge(
            f"request body is {len(body)} bytes; the limit is {limit} bytes (c.LeptonLabApp.max_body_bytes)"
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BodyError(f"request body is not valid UTF-8: {error.reason} at byte {error.start}") from None
    try:
        value = json.loads(text or "null")
    except json.JSONDecodeError as error:
        raise BodyError(
            f"request body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except RecursionError:
        raise BodyError(_too_deep()) from None
    except ValueError:
        # Python refuses to convert integers longer than sys.get_int_max_str_digits() digits.
        raise BodyError(
            f"request body holds an integer with more than {sys.get_int_max_str_digits()} digits; "
            "no field takes a number that large"
        ) from None
    if _depth(value) > MAX_DEPTH:
        raise BodyError(_too_deep())
    return value


def _too_deep() -> str:
    return f"request body nests arrays and objects more than {MAX_DEPTH} levels deep"


def _depth(value: Any) -> int:
    """Deepest nesting of lists and dicts in ``value`` (without recursion: bodies are hostile)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, level)
            if level > MAX_DEPTH:
                break
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest
