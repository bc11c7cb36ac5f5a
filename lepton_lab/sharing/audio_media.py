"""Audio clips as things a page can show: WAV bytes, ``data:`` URLs, waveform and spectrogram PNGs.

Shared by every widget and report that shows audio (AudioBrowser, AugmentationPreview,
EvaluationView, HTML reports). Everything is numpy (and Pillow, through
:func:`lepton_lab.sharing.images.png`, when a PNG is written): no TensorFlow and no matplotlib,
so browsing a dataset never starts TensorFlow.

A clip is a 1-D waveform: float samples in [-1, 1] (what :meth:`Dataset.page` returns for
audio) or int16 PCM. Two encodings, both mono WAV that Chromium, Firefox and Safari play:

- :func:`wav_bytes`, 16-bit PCM at the clip's own rate: the clip as it is (reports, files);
- :func:`preview_wav_bytes`, 8-bit mu-law (G.711) at :data:`PREVIEW_RATE` Hz: a quarter of the
  bytes of a 16 kHz clip, telephone quality, for the many small players of a widget page. A
  notebook stores each widget's clips twice (its saved state and its static snapshot), so a
  page of full-quality players made a tutorial several megabytes.

The ``data:`` URL forms keep a saved notebook, a static snapshot or a report playable offline.

Examples
--------
>>> import numpy as np
>>> tone = np.sin(np.linspace(0, 440 * 2 * np.pi, 16_000)).astype(np.float32) * 0.5
>>> wav_bytes(tone, 16_000)[:4]
b'RIFF'
>>> audio_data_url(tone, 16_000).startswith("data:audio/wav;base64,")
True
>>> len(preview_wav_bytes(tone, 16_000)) < len(wav_bytes(tone, 16_000)) // 3
True
"""

from __future__ import annotations

import base64
import io
import math
import struct
import wave

import numpy as np

from lepton_lab.sharing import images

#: Loudness range of a spectrogram thumbnail: anything this many dB below the clip's loudest
#: bin is drawn as the coldest colour (so background noise does not paint the whole picture).
DYNAMIC_RANGE_DB = 80.0

# Anchor colours of the spectrogram colormap (quiet → loud), close to matplotlib's "magma":
# a dark, perceptually ordered ramp that stays readable in a small thumbnail and in grey print.
_COLORMAP_ANCHORS = np.array(
    [
        [0, 0, 4],
        [40, 11, 84],
        [101, 21, 110],
        [159, 42, 99],
        [212, 72, 66],
        [245, 125, 21],
        [250, 193, 39],
        [252, 255, 164],
    ],
    dtype=np.float64,
)
#: Sample rate of preview players (at most; slower clips keep theirs): 4 kHz of bandwidth, as
#: on the telephone, which keeps speech and most sounds recognisable.
PREVIEW_RATE = 8000
#: Colours of a spectrogram PNG: levels of the ramp, about 0.6 dB apart over DYNAMIC_RANGE_DB.
#: A palette PNG of 128 levels is about a third of the RGB one's bytes and looks the same.
SPECTROGRAM_LEVELS = 128
_WAVE_FORMAT_MULAW = 7
_MULAW_BIAS = 0x21  # G.711 on 14-bit samples: the bias and the largest magnitude before it
_MULAW_CLIP = 8159
_WAVE_COLOR = np.array([25, 118, 210], dtype=np.uint8)  # the widgets' brand blue
_AXIS_COLOR = np.array([200, 200, 200], dtype=np.uint8)


def _samples(waveform: np.ndarray) -> np.ndarray:
    """Return one clip as float64 samples in [-1, 1]; int16 PCM is scaled, other shapes refused."""
    array = np.asarray(waveform)
    if array.ndim == 2 and 1 in array.shape:
        array = array.reshape(-1)  # [n, 1] (a channel axis) or [1, n] (a batch of one)
    if array.ndim != 1:
        raise ValueError(
            f"expected one mono clip as a 1-D waveform [samples], got shape {array.shape}; "
            "pass one example, e.g. page.images[0]"
        )
    if array.dtype == np.int16:
        return array.astype(np.float64) / 32768
    if not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"expected numeric samples, got dtype {array.dtype}")
    return np.clip(np.nan_to_num(array.astype(np.float64)), -1.0, 1.0)


def _check_rate(sample_rate: int) -> int:
    rate = int(sample_rate)
    if rate < 1:
        raise ValueError(f"sample_rate must be a positive number of samples per second, got {sample_rate}")
    return rate


def wav_bytes(waveform: np.ndarray, sample_rate: int) -> bytes:
    """Encode ``waveform`` (float in [-1, 1], clipped, or int16) as a 16-bit PCM mono WAV file.

    Parameters
    ----------
    waveform : np.ndarray
        One clip ``[samples]``.
    sample_rate : int
        Samples per second, written to the header.

    Returns
    -------
    bytes
        The whole file; ``wave.open(io.BytesIO(data))`` reads the samples back.
    """
    rate = _check_rate(sample_rate)
    array = np.asarray(waveform)
    if array.dtype == np.int16 and array.ndim == 1:
        pcm = array  # stored PCM goes out untouched, bit for bit
    else:
        pcm = np.clip(np.round(_samples(array) * 32768), -32768, 32767).astype(np.int16)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm.astype("<i2").tobytes())
    return buffer.getvalue()


def audio_data_url(waveform: np.ndarray, sample_rate: int) -> str:
    """Return ``data:audio/wav;base64,...`` of :func:`wav_bytes`, for ``<audio src>`` in offline HTML."""
    return "data:audio/wav;base64," + base64.b64encode(wav_bytes(waveform, sample_rate)).decode("ascii")


def resample(waveform: np.ndarray, sample_rate: int, target_rate: int) -> np.ndarray:
    """Return ``waveform`` at ``target_rate`` (float64 samples), band-limited below its Nyquist frequency.

    Only slows a clip down (a faster target returns the samples as they are). The spectrum is
    cut at the new Nyquist frequency (no aliasing); the clip is zero-padded first so its end
    does not wrap onto its start, to a length that gives a whole number of output samples (so
    the pitch is exact) and that the FFT handles fast. The result has
    ``round(len * target_rate / sample_rate)`` samples: the same duration.
    """
    rate, target = _check_rate(sample_rate), _check_rate(target_rate)
    samples = _samples(waveform)
    if target >= rate or len(samples) == 0:
        return samples
    step = rate // math.gcd(rate, target)  # input samples per whole group of output samples
    groups = -(-(len(samples) + len(samples) // 8 + 16) // step)
    # A power of two of groups: an FFT of 18 016 samples (2^5 x 563) took 10 times one of 32 768.
    padded = step * (1 << (groups - 1).bit_length())
    out = padded * target // rate
    spectrum = np.fft.rfft(samples, padded)[: out // 2 + 1]
    if out % 2 == 0:
        spectrum[-1] = 0  # the new Nyquist bin: its phase cannot be kept at the lower rate
    slowed = np.fft.irfft(spectrum, out) * (out / padded)
    return slowed[: max(1, round(len(samples) * target / rate))]


def mulaw(waveform: np.ndarray) -> np.ndarray:
    """Encode samples (float in [-1, 1], clipped, or int16) as G.711 mu-law bytes, ``uint8``.

    Eight bits a sample on a logarithmic scale: steps are about 3 % of the level at every
    loudness (as against 16-bit PCM's fixed steps), the telephone codec every browser decodes.
    """
    # int16 samples come back from _samples' scaling exactly.
    pcm = np.clip(np.round(_samples(waveform) * 32768), -32768, 32767).astype(np.int32)
    # The reference encoder (Sun's g711.c, also Python's audioop): on 14-bit samples, the
    # magnitude biased so each of the 8 segments' steps start at a power of two.
    pcm = pcm >> 2
    magnitude = np.minimum(np.abs(pcm), _MULAW_CLIP) + _MULAW_BIAS
    bits = np.frexp(magnitude)[1]  # bit length: 6 for the smallest magnitudes, 14 for the clip
    segment = np.minimum(bits - 6, 7)
    mantissa = np.where(bits - 6 > 7, 0x0F, (magnitude >> (segment + 1)) & 0x0F)
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    return (((segment << 4) | mantissa) ^ mask).astype(np.uint8)


def preview_wav_bytes(waveform: np.ndarray, sample_rate: int) -> bytes:
    """Encode ``waveform`` as a small WAV for a preview player: mu-law, at most :data:`PREVIEW_RATE` Hz.

    Parameters
    ----------
    waveform : np.ndarray
        One clip ``[samples]``, float in [-1, 1] or int16.
    sample_rate : int
        Its samples per second.

    Returns
    -------
    bytes
        A WAV file (format 7, mu-law, 8 bits, mono, with the ``fact`` chunk non-PCM WAV files
        carry), at ``min(sample_rate, PREVIEW_RATE)`` Hz and of the clip's duration.
    """
    rate = _check_rate(sample_rate)
    target = min(rate, PREVIEW_RATE)
    data = mulaw(resample(waveform, rate, target)).tobytes()
    # fmt: tag, channels, rate, bytes/s, block align, bits/sample, extension size (none)
    fmt = struct.pack("<HHIIHHH", _WAVE_FORMAT_MULAW, 1, target, target, 1, 8, 0)
    chunks = (
        b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"fact" + struct.pack("<II", 4, len(data))
        + b"data" + struct.pack("<I", len(data)) + data + b"\0" * (len(data) % 2)  # word-aligned
    )  # fmt: skip
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def preview_data_url(waveform: np.ndarray, sample_rate: int) -> str:
    """Return ``data:audio/wav;base64,...`` of :func:`preview_wav_bytes`, for a widget's small players."""
    encoded = base64.b64encode(preview_wav_bytes(waveform, sample_rate)).decode("ascii")
    return "data:audio/wav;base64," + encoded


def _check_size(width: int, height: int) -> None:
    if int(width) < 2 or int(height) < 2:
        raise ValueError(f"a thumbnail needs at least 2x2 pixels, got width={width} height={height}")


def waveform_pixels(waveform: np.ndarray, width: int = 160, height: int = 48) -> np.ndarray:
    """Draw the waveform as uint8 RGB ``[height, width, 3]``, each column its samples' min to max.

    An envelope (rather than every sample) keeps a one-second clip's 16 000 samples legible in
    160 pixels. A grey centre line marks zero; a silent clip shows only that line.
    """
    _check_size(width, height)
    samples = _samples(waveform)
    pixels = np.full((height, width, 3), 255, np.uint8)
    middle = (height - 1) / 2
    pixels[round(middle)] = _AXIS_COLOR
    if len(samples) == 0:
        return pixels
    # Column c covers samples [starts[c], starts[c + 1]) (the last one to the clip's end); a
    # column narrower than a sample (short clips) repeats its one sample, as reduceat does.
    starts = np.minimum(np.linspace(0, len(samples), width + 1).astype(np.int64)[:-1], len(samples) - 1)
    highs = np.maximum.reduceat(samples, starts)
    lows = np.minimum.reduceat(samples, starts)
    # Row 0 is +1, row height-1 is -1.
    top = np.round(middle - highs * middle).astype(np.int64)
    bottom = np.round(middle - lows * middle).astype(np.int64)
    rows = np.arange(height)[:, None]
    drawn = (rows >= top[None, :]) & (rows <= bottom[None, :])
    silent = np.abs(highs - lows) + np.abs(highs) < 1e-9
    drawn[:, silent] = False
    pixels[drawn] = _WAVE_COLOR
    return pixels


def log_spectrogram(waveform: np.ndarray, sample_rate: int) -> np.ndarray:
    """Compute the log-magnitude STFT in dB relative to the loudest bin, ``float64 [frequencies, frames]``.

    Frames of about 32 ms (the next power of two in samples) with a Hann window and half-frame
    hops, the usual speech setting; values lie in ``[-DYNAMIC_RANGE_DB, 0]``, row 0 is 0 Hz.
    """
    rate = _check_rate(sample_rate)
    samples = _samples(waveform)
    frame = 1 << max(3, int(np.ceil(np.log2(max(8, rate * 0.032)))))
    hop = frame // 2
    if len(samples) < frame:
        samples = np.concatenate([samples, np.zeros(frame - len(samples))])
    count = 1 + (len(samples) - frame) // hop
    starts = np.arange(count)[:, None] * hop
    frames = samples[starts + np.arange(frame)[None, :]] * np.hanning(frame)[None, :]
    magnitude = np.abs(np.fft.rfft(frames, axis=1)).T
    loudest = float(magnitude.max())
    if loudest <= 0:
        return np.full(magnitude.shape, -DYNAMIC_RANGE_DB)
    decibels = 20 * np.log10(np.maximum(magnitude, loudest * 1e-12) / loudest)
    return np.maximum(decibels, -DYNAMIC_RANGE_DB)


def _colormap(levels: np.ndarray) -> np.ndarray:
    """Map levels in [0, 1] to uint8 RGB along the fixed magma-like ramp."""
    positions = np.linspace(0.0, 1.0, len(_COLORMAP_ANCHORS))
    channels = [np.interp(levels, positions, _COLORMAP_ANCHORS[:, c]) for c in range(3)]
    return np.round(np.stack(channels, axis=-1)).astype(np.uint8)


def _resize_axis(values: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Average (shrinking) or repeat (growing) ``values`` along ``axis`` to ``size`` entries."""
    length = values.shape[axis]
    edges = np.linspace(0, length, size + 1)
    starts = np.minimum(np.floor(edges[:-1]).astype(np.int64), length - 1)
    stops = np.maximum(np.ceil(edges[1:]).astype(np.int64), starts + 1)
    cumulative = np.cumsum(np.moveaxis(values, axis, 0), axis=0)
    cumulative = np.concatenate([np.zeros((1, *cumulative.shape[1:])), cumulative], axis=0)
    means = (cumulative[stops] - cumulative[starts]) / (stops - starts).reshape(-1, *[1] * (values.ndim - 1))
    return np.moveaxis(means, 0, axis)


def _spectrogram_levels(waveform: np.ndarray, sample_rate: int, width: int, height: int) -> np.ndarray:
    """Loudness in [0, 1] of each thumbnail pixel ``[height, width]``, low frequencies at the bottom."""
    _check_size(width, height)
    decibels = log_spectrogram(waveform, sample_rate)
    levels = (decibels + DYNAMIC_RANGE_DB) / DYNAMIC_RANGE_DB
    return _resize_axis(_resize_axis(levels, height, 0), width, 1)[::-1]


def spectrogram_pixels(
    waveform: np.ndarray, sample_rate: int, width: int = 160, height: int = 64
) -> np.ndarray:
    """Draw :func:`log_spectrogram` as uint8 RGB ``[height, width, 3]``, low frequencies at the bottom."""
    return _colormap(_spectrogram_levels(waveform, sample_rate, width, height))


def waveform_png(waveform: np.ndarray, width: int = 160, height: int = 48) -> bytes:
    """Return a PNG of :func:`waveform_pixels` (``width`` x ``height`` pixels)."""
    return images.png(waveform_pixels(waveform, width, height))


def spectrogram_png(waveform: np.ndarray, sample_rate: int, width: int = 160, height: int = 64) -> bytes:
    """Return a PNG of :func:`spectrogram_pixels` (``width`` x ``height`` pixels, fixed colormap).

    A palette PNG of :data:`SPECTROGRAM_LEVELS` colours of the ramp: each pixel is within half
    a level of :func:`spectrogram_pixels`' colour, in about a third of the bytes of RGB.
    """
    from PIL import Image

    levels = _spectrogram_levels(waveform, sample_rate, width, height)
    indices = np.round(levels * (SPECTROGRAM_LEVELS - 1)).astype(np.uint8)
    picture = Image.fromarray(indices, mode="P")
    picture.putpalette(_colormap(np.linspace(0.0, 1.0, SPECTROGRAM_LEVELS)).reshape(-1).tolist())
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=9)  # about 1 ms for a thumbnail
    return buffer.getvalue()
