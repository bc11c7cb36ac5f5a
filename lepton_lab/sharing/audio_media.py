"""Audio clips as things a page can show: WAV bytes, ``data:`` URLs, waveform and spectrogram PNGs.

Shared by every widget and report that shows audio (AudioBrowser, AugmentationPreview,
EvaluationView, HTML reports). Everything is numpy (and Pillow, through
:func:`lepton_lab.sharing.images.png`, when a PNG is written): no TensorFlow and no matplotlib,
so browsing a dataset never starts TensorFlow.

A clip is a 1-D waveform: float samples in [-1, 1] (what :meth:`Dataset.page` returns for
audio) or int16 PCM. The players get 16-bit PCM mono WAV, which every browser plays; the
``data:`` URL form keeps a saved notebook, a static snapshot or a report playable offline.

Examples
--------
>>> import numpy as np
>>> tone = np.sin(np.linspace(0, 440 * 2 * np.pi, 16_000)).astype(np.float32) * 0.5
>>> wav_bytes(tone, 16_000)[:4]
b'RIFF'
>>> audio_data_url(tone, 16_000).startswith("data:audio/wav;base64,")
True
"""

from __future__ import annotations

import base64
import io
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


def spectrogram_pixels(
    waveform: np.ndarray, sample_rate: int, width: int = 160, height: int = 64
) -> np.ndarray:
    """Draw :func:`log_spectrogram` as uint8 RGB ``[height, width, 3]``, low frequencies at the bottom."""
    _check_size(width, height)
    decibels = log_spectrogram(waveform, sample_rate)
    levels = (decibels + DYNAMIC_RANGE_DB) / DYNAMIC_RANGE_DB
    levels = _resize_axis(_resize_axis(levels, height, 0), width, 1)
    return _colormap(levels[::-1])


def waveform_png(waveform: np.ndarray, width: int = 160, height: int = 48) -> bytes:
    """Return a PNG of :func:`waveform_pixels` (``width`` x ``height`` pixels)."""
    return images.png(waveform_pixels(waveform, width, height))


def spectrogram_png(waveform: np.ndarray, sample_rate: int, width: int = 160, height: int = 64) -> bytes:
    """Return a PNG of :func:`spectrogram_pixels` (``width`` x ``height`` pixels, fixed colormap)."""
    return images.png(spectrogram_pixels(waveform, sample_rate, width, height))
