"""Read back the WAV files players carry: 16-bit PCM (full quality) and mu-law (previews).

Written from the formats' specifications (RIFF chunks; G.711's decoding table as Sun's g711.c
computes it), apart from :mod:`lepton_lab.sharing.audio_media`, so a test that decodes with it
checks the encoder against the format rather than against itself. Python's ``wave`` module reads
PCM only.
"""

from __future__ import annotations

import base64
import re
import struct
from dataclasses import dataclass

import numpy as np

PCM = 1
MULAW = 7
_PLAYERS = re.compile(r'<audio controls[^>]*src="data:audio/wav;base64,([^"]+)"')


@dataclass
class Wav:
    """One decoded WAV file: its format tag, rate, bits per sample and float samples in [-1, 1]."""

    format: int
    rate: int
    bits: int
    samples: np.ndarray


def mulaw_decode(codes: np.ndarray) -> np.ndarray:
    """G.711 mu-law bytes to 16-bit linear values (int32), as the reference decoder computes them."""
    code = ~np.asarray(codes, dtype=np.int32) & 0xFF
    magnitude = (((code & 0x0F) << 3) + 0x84) << ((code & 0x70) >> 4)
    return np.where(code & 0x80, 0x84 - magnitude, magnitude - 0x84)


def mulaw_tolerance(expected: np.ndarray) -> np.ndarray:
    """How far a mu-law sample may be from ``expected``: about 3 % of the level, 8 steps of 16 bits near 0.

    Measured over every int16 value below G.711's clip level (0.98): the error is at most
    ``|x| / 32 + 7.3 / 32768``.
    """
    return np.abs(expected) / 32 + 8 / 32768


def read_wav(data: bytes) -> Wav:
    """Decode a mono WAV file of 16-bit PCM or 8-bit mu-law."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", data[:12]
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8, "RIFF size"
    chunks: dict[bytes, bytes] = {}
    position = 12
    while position < len(data):
        name, size = data[position : position + 4], struct.unpack("<I", data[position + 4 : position + 8])[0]
        chunks[name] = data[position + 8 : position + 8 + size]
        position += 8 + size + size % 2  # chunks are word-aligned
    tag, channels, rate, byte_rate, align, bits = struct.unpack("<HHIIHH", chunks[b"fmt "][:16])
    assert channels == 1 and byte_rate == rate * align and align == bits // 8
    raw = chunks[b"data"]
    if tag == PCM and bits == 16:
        samples = np.frombuffer(raw, "<i2").astype(np.float64) / 32768
    elif tag == MULAW and bits == 8:
        # A non-PCM file states its length in samples in a fact chunk.
        assert struct.unpack("<I", chunks[b"fact"])[0] == len(raw)
        samples = mulaw_decode(np.frombuffer(raw, np.uint8)) / 32768
    else:
        raise AssertionError(f"unexpected WAV format {tag} with {bits} bits")
    return Wav(tag, rate, bits, samples)


def players(markup: str) -> list[Wav]:
    """Every ``<audio controls ... src="data:audio/wav;base64,...">`` in ``markup``, decoded."""
    return [read_wav(base64.b64decode(encoded)) for encoded in _PLAYERS.findall(markup)]
