"""Frames between the server and a model worker: a JSON header and a raw byte payload.

Each frame is ``<4-byte big-endian header length><header JSON><payload>``; the header's
``nbytes`` says how long the payload is. Arrays travel as their raw bytes (C order) with the
shape and dtype in the header, so a batch of 64 images costs one copy each way and no JSON
number formatting.

Server to worker::

    {"type": "predict", "id": 7, "shape": [n, H, W, C], "nbytes": ...}   payload: uint8 images
                                                                           (a text model's strings:
                                                                           a JSON list, UTF-8)

Worker to server::

    {"type": "ready", "input": {"shape": [null, H, W, C], "dtype": "uint8"}, "classes": K, "pid": ...,
     "device": "CPU" or "GPU:0"}
    {"type": "result", "id": 7, "n": n, "classes": K, "nbytes": ...}      payload: float32 [n, K]
                                                                           probabilities, then
                                                                           int64 [n] classes
    {"type": "error", "id": 7, "error": "..."}                             the batch failed; the
                                                                           worker carries on

This module imports only numpy: the server process uses it and must stay TensorFlow-free.
"""

from __future__ import annotations

import json
import struct
from typing import Any, BinaryIO

import numpy as np

__all__ = [
    "batch_payload",
    "decode_batch",
    "decode_result",
    "encode",
    "header_length",
    "read_frame",
    "result_payload",
]

_LENGTH = struct.Struct(">I")
#: Largest header accepted: a header is a few hundred bytes, anything bigger is a corrupt stream.
MAX_HEADER = 1 << 20


def encode(header: dict[str, Any], payload: bytes = b"") -> bytes:
    """One frame: ``header`` (``nbytes`` filled in from ``payload``) followed by ``payload``."""
    text = json.dumps({**header, "nbytes": len(payload)}).encode()
    return _LENGTH.pack(len(text)) + text + payload


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    """``size`` bytes from a blocking stream; EOFError if it ends first."""
    chunks = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            raise EOFError("the stream ended inside a frame")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(stream: BinaryIO) -> tuple[dict[str, Any], bytes] | None:
    """Read the next frame from a blocking binary stream; None at a clean end of stream."""
    prefix = stream.read(_LENGTH.size)
    if not prefix:
        return None
    if len(prefix) < _LENGTH.size:
        prefix += _read_exactly(stream, _LENGTH.size - len(prefix))
    return parse_header_and_payload(prefix, lambda n: _read_exactly(stream, n))


def header_length(prefix: bytes) -> int:
    """Length of the header that the 4-byte ``prefix`` announces; ValueError if implausible."""
    (length,) = _LENGTH.unpack(prefix)
    if length > MAX_HEADER:
        raise ValueError(f"frame header of {length} bytes: the stream is corrupt")
    return int(length)


def parse_header_and_payload(prefix: bytes, read: Any) -> tuple[dict[str, Any], bytes]:
    """Decode a frame given its length prefix and a ``read(n) -> bytes`` for the rest."""
    header = json.loads(read(header_length(prefix)))
    payload = read(int(header.get("nbytes", 0))) if header.get("nbytes") else b""
    return header, payload


def batch_payload(batch: np.ndarray) -> bytes:
    """Encode the payload of a ``predict`` frame: raw bytes, or for strings a UTF-8 JSON list."""
    if batch.dtype.kind in "OUS":  # a text model's batch: variable-length strings have no raw layout
        return json.dumps([str(text) for text in batch.reshape(-1).tolist()]).encode("utf-8")
    return np.ascontiguousarray(batch).tobytes()


def decode_batch(payload: bytes, shape: list[int], dtype: str) -> np.ndarray:
    """Decode the batch of a ``predict`` frame for a model input of ``dtype`` (``"string"``: str objects)."""
    if dtype == "string":
        return np.array(json.loads(payload.decode("utf-8")), dtype=object).reshape(shape)
    return np.frombuffer(payload, dtype=dtype).reshape(shape)


def result_payload(probabilities: np.ndarray, classes: np.ndarray) -> bytes:
    """Encode the payload of a ``result`` frame."""
    return (
        np.ascontiguousarray(probabilities, dtype=np.float32).tobytes()
        + np.ascontiguousarray(classes, dtype=np.int64).tobytes()
    )


def decode_result(header: dict[str, Any], payload: bytes) -> tuple[np.ndarray, np.ndarray]:
    """``(probabilities float32 [n, K], classes int64 [n])`` from a ``result`` frame."""
    n, k = int(header["n"]), int(header["classes"])
    split = n * k * 4
    probabilities = np.frombuffer(payload[:split], dtype=np.float32).reshape(n, k)
    classes = np.frombuffer(payload[split:], dtype=np.int64)
    return probabilities, classes
