"""Audio examples: WAV files read into fixed-length mono 16 kHz waveforms.

Every audio dataset holds waveforms as int16 PCM ``[n, clip_samples]`` (half the memory of
float32); the models see them times :data:`PCM_SCALE`, float32 in [-1, 1]. Batches must be
rectangular, so each clip is padded with silence at the end or trimmed to ``clip_samples``
(what ``keras.utils.audio_dataset_from_directory(output_sequence_length=...)`` does).

Files are read with Python's :mod:`wave` module (PCM only: 8-, 16-, 24- and 32-bit integer
samples), averaged to mono, and resampled with :func:`resample`: band-limited resampling in the
Fourier domain with numpy (the method of ``scipy.signal.resample``), done once when a file is
first read, so every epoch and every page sees the same samples.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np

from lepton_lab.core.progress import Progress

#: Samples per second of every audio dataset's waveforms.
SAMPLE_RATE = 16_000
#: Samples per example by default: one second.
CLIP_SAMPLES = 16_000
#: Stored int16 samples times this are the float32 values in [-1, 1] the models see.
PCM_SCALE = 1 / 32768
#: Suffixes of the audio files a ``folder:`` dataset reads.
AUDIO_SUFFIXES = (".wav",)


def decode_wav(data: bytes | Path, name: str = "") -> tuple[np.ndarray, int]:
    """Decode a PCM WAV file (a path or its bytes) to ``(float32 mono samples in [-1, 1], rate)``.

    Channels are averaged (a stereo file becomes its mid signal). A header whose frame count
    is wrong (as ``espeak-ng --stdout`` writes, not knowing the length in advance) is fine:
    the samples are read to the end of the data.

    Raises
    ------
    ValueError
        Not a WAV file, or not integer PCM (e.g. 32-bit float); the message names the file
        and how to convert it.
    """
    label = name or (str(data) if isinstance(data, Path) else "WAV data")
    source = io.BytesIO(data.read_bytes() if isinstance(data, Path) else data)
    try:
        with wave.open(source, "rb") as reader:
            channels, width, rate = reader.getnchannels(), reader.getsampwidth(), reader.getframerate()
            frames = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError) as error:
        raise ValueError(
            f"{label} is not a PCM WAV file ({error}); convert it to 16-bit PCM, "
            "e.g. ffmpeg -i in.wav -acodec pcm_s16le -ar 16000 out.wav"
        ) from None
    usable = len(frames) - len(frames) % (width * channels)
    samples = _pcm_to_float(frames[:usable], width)
    return samples.reshape(-1, channels).mean(axis=1, dtype=np.float32), rate


def _pcm_to_float(frames: bytes, width: int) -> np.ndarray:
    if width == 1:  # 8-bit WAV is unsigned, centred on 128
        return (np.frombuffer(frames, np.uint8).astype(np.float32) - 128) / 128
    if width == 2:
        return np.frombuffer(frames, "<i2").astype(np.float32) / 32768
    if width == 3:  # little-endian 24-bit: place each sample in the top 3 bytes of an int32
        triples = np.frombuffer(frames, np.uint8).reshape(-1, 3)
        padded = np.zeros((len(triples), 4), np.uint8)
        padded[:, 1:] = triples
        return padded.view("<i4").ravel().astype(np.float32) / 2**31
    if width == 4:
        return (np.frombuffer(frames, "<i4").astype(np.float64) / 2**31).astype(np.float32)
    raise ValueError(f"unsupported WAV sample width of {width} bytes")


def resample(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Resample ``samples`` from ``rate`` to ``target`` Hz in the Fourier domain.

    The spectrum is cut (downsampling: no aliasing, everything above the new Nyquist
    frequency is removed) or zero-padded (upsampling) and transformed back, like
    ``scipy.signal.resample``. The method treats the clip as periodic, so the first and
    last few samples can ring slightly when the clip starts or ends loud.
    """
    if rate == target or len(samples) == 0:
        return samples.astype(np.float32)
    count = max(1, round(len(samples) * target / rate))
    spectrum = np.fft.rfft(samples.astype(np.float64))
    bins = count // 2 + 1
    kept = np.zeros(bins, np.complex128)
    shared = min(bins, len(spectrum))
    kept[:shared] = spectrum[:shared]
    # A Nyquist bin that exists on one side only carries half its energy into the other length.
    if shared == bins and count % 2 == 0 and bins < len(spectrum):
        kept[-1] *= 2
    if shared == len(spectrum) and len(samples) % 2 == 0 and bins > len(spectrum):
        kept[shared - 1] /= 2
    return (np.fft.irfft(kept, count) * (count / len(samples))).astype(np.float32)


def fit_length(samples: np.ndarray, length: int) -> np.ndarray:
    """Trim ``samples`` to ``length`` or pad them with silence at the end."""
    if len(samples) >= length:
        return samples[:length]
    return np.concatenate([samples, np.zeros(length - len(samples), samples.dtype)])


def to_pcm16(samples: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] as stored int16 (clipped, rounded)."""
    return np.clip(np.round(samples * 32768), -32768, 32767).astype(np.int16)


def read_clip(path: Path, clip_samples: int = CLIP_SAMPLES) -> np.ndarray:
    """Read a WAV file as int16 mono at :data:`SAMPLE_RATE`, padded or trimmed to ``clip_samples``."""
    samples, rate = decode_wav(path)
    # Resample only what the clip keeps (plus a margin for the filter): a long file costs no more.
    needed = int(np.ceil(clip_samples * rate / SAMPLE_RATE)) + 64
    resampled = resample(samples[:needed], rate)
    return to_pcm16(fit_length(resampled, clip_samples))


def list_audio_folder(root: Path, skip_underscored: bool = False) -> tuple[list[Path], np.ndarray, list[str]]:
    """List a class-per-subfolder directory of WAV files: ``(paths, labels, class_names)``.

    ``skip_underscored`` leaves out folders such as Speech Commands' ``_background_noise_``.
    """
    paths: list[Path] = []
    labels: list[int] = []
    class_names: list[str] = []
    folders = sorted(entry for entry in root.iterdir() if entry.is_dir() and not entry.name.startswith("."))
    for folder in folders:
        if skip_underscored and folder.name.startswith("_"):
            continue
        files = sorted(
            entry for entry in folder.rglob("*") if entry.suffix.lower() in AUDIO_SUFFIXES and entry.is_file()
        )
        if files:
            labels.extend([len(class_names)] * len(files))
            class_names.append(folder.name)
            paths.extend(files)
    return paths, np.asarray(labels, dtype=np.int64), class_names


class AudioFolderStore:
    """WAV files decoded to int16 clips on first access and kept, each file read at most once."""

    resize: tuple[int, int] | None = None

    def __init__(self, paths: list[Path], clip_samples: int = CLIP_SAMPLES):
        self.paths = paths
        self.decoded = np.zeros((len(paths), clip_samples), dtype=np.int16)
        self.ready = np.zeros(len(paths), dtype=bool)
        self.clip_samples = clip_samples

    def _decode(self, rows: np.ndarray) -> None:
        missing = np.unique(rows[~self.ready[rows]])
        with Progress(f"reading {len(missing)} audio files", total=len(missing)) as progress:
            for done, row in enumerate(missing, start=1):
                self.decoded[row] = read_clip(self.paths[row], self.clip_samples)
                self.ready[row] = True
                progress.update(done)

    def get(self, rows: np.ndarray) -> np.ndarray:
        """Return ``rows`` as float32 waveforms in [-1, 1], reading the files not seen yet."""
        self._decode(rows)
        return self.decoded[rows].astype(np.float32) * np.float32(PCM_SCALE)

    def raw(self, rows: np.ndarray) -> tuple[np.ndarray, float]:
        """Return ``rows`` as int16 samples (reading as needed) and the factor :data:`PCM_SCALE`."""
        self._decode(rows)
        return self.decoded[rows], PCM_SCALE
