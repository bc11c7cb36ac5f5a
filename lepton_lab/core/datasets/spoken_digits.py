"""Spoken digits: the words "zero" to "nine" synthesised with espeak-ng, varied and seeded.

No registry this project may use ships a spoken-digit corpus, so it is generated, like
``shapes``: each clip draws an English accent (8 of espeak-ng's), a voice variant (male,
female, whisper, croak, klatt…), a speed, a pitch and a loudness; the spoken
word is then placed in a one-second clip with a small random time shift and background
noise at a random signal-to-noise ratio. Everything a clip draws comes from ``seed``, so the
same ``(count, seed)`` gives the same clips on the same espeak-ng version.

espeak-ng runs as one subprocess per clip, several in parallel. The clips are cached as
int16 in ``<cache dir>/datasets/`` (see :func:`~lepton_lab.core.runtime_policy.cache_dir`),
so a second load, in this or another process, reads one file instead of synthesising.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lepton_lab.core.datasets.audio import CLIP_SAMPLES, SAMPLE_RATE, decode_wav, resample, to_pcm16
from lepton_lab.core.datasets.errors import DatasetUnavailable
from lepton_lab.core.runtime_policy import cache_dir

#: Class names in label order: the word spoken.
CLASS_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
#: Default number of clips: 200 per digit.
DEFAULT_COUNT = 2000
#: Bumped whenever generation changes, so older cache files are not mistaken for new ones.
GENERATOR_VERSION = 1
#: espeak-ng's English accents (its own voices; the mbrola ones need extra packages).
ACCENTS = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-gb-x-rp",
    "en-029",
    "en-us-nyc",
)
#: Voice variants (``voice+variant``) shipped with espeak-ng: timbres, genders, styles.
VARIANTS = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
    "klatt", "klatt2", "klatt3", "croak", "whisper", "whisperf", "grandpa", "grandma",
    "Alex", "Annie", "Andy", "belinda", "benjamin", "edward", "iven", "linda", "max", "steph",
)  # fmt: skip
#: Install hint shown when espeak-ng is missing.
INSTALL_HINT = "sudo apt-get install espeak-ng (or `make system-deps`)"

#: Runs an espeak-ng command line and returns the WAV it writes to stdout.
Runner = Callable[[list[str]], bytes]


def espeak_ng() -> str | None:
    """Return the path of the ``espeak-ng`` executable, or None when it is not installed."""
    return shutil.which("espeak-ng")


def espeak_version() -> str | None:
    """Return the installed espeak-ng's version line (``"eSpeak NG text-to-speech: 1.51 ..."``)."""
    executable = espeak_ng()
    if executable is None:
        return None
    try:
        result = subprocess.run([executable, "--version"], capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.decode(errors="replace").split("Data at:")[0].strip() or None


def _run(command: list[str]) -> bytes:
    result = subprocess.run(command, capture_output=True, timeout=60)
    if result.returncode != 0 or not result.stdout:
        # e.g. an accent missing from an older espeak-ng: say which one, not "bad WAV data"
        raise RuntimeError(
            f"espeak-ng wrote no audio for `{' '.join(command)}` (exit status {result.returncode}): "
            f"{result.stderr.decode(errors='replace').strip() or 'no message'}"
        )
    return result.stdout


def cache_file(count: int, seed: int, root: Path | None = None) -> Path:
    """Where the clips of ``(count, seed)`` are cached."""
    base = (root or cache_dir()) / "datasets"
    return base / f"spoken_digits-v{GENERATOR_VERSION}-{count}-{seed}.npz"


@dataclass(frozen=True)
class ClipSettings:
    """What one clip draws."""

    label: int
    voice: str  # accent+variant
    speed: int  # words per minute (espeak-ng's default is 175)
    pitch: int  # 0..99, default 50
    gain: float  # peak level of the spoken word
    shift: float  # seconds off centre
    snr_db: float  # background noise: signal-to-noise ratio in dB


def _settings(count: int, seed: int) -> list[ClipSettings]:
    """Draw every clip's settings up front, so parallel synthesis cannot change the result."""
    rng = np.random.default_rng([seed, 16_000])
    return [
        ClipSettings(
            label=index % len(CLASS_NAMES),
            voice=f"{ACCENTS[rng.integers(len(ACCENTS))]}+{VARIANTS[rng.integers(len(VARIANTS))]}",
            speed=int(rng.integers(110, 231)),
            pitch=int(rng.integers(15, 86)),
            gain=float(rng.uniform(0.3, 0.95)),
            shift=float(rng.uniform(-0.1, 0.1)),
            snr_db=float(rng.uniform(10, 40)),
        )
        for index in range(count)
    ]


def _clip(wav: bytes, setting: ClipSettings, noise_seed: list[int], clip_samples: int) -> np.ndarray:
    """One synthesised word as an int16 clip: trimmed, levelled, shifted and with noise added."""
    samples, rate = decode_wav(wav, "espeak-ng output")
    samples = resample(samples, rate)
    loud = np.flatnonzero(np.abs(samples) > 0.01)
    word = samples[loud[0] : loud[-1] + 1] if len(loud) else samples[:0]
    word = word[:clip_samples]
    peak = float(np.abs(word).max()) if len(word) else 0.0
    if peak > 0:
        word = word * (setting.gain / peak)
    clip = np.zeros(clip_samples, np.float32)
    room = clip_samples - len(word)
    start = int(np.clip(room / 2 + setting.shift * SAMPLE_RATE, 0, room))
    clip[start : start + len(word)] = word
    power = float(np.mean(word**2)) if len(word) else 1e-4
    noise_power = power / 10 ** (setting.snr_db / 10)
    rng = np.random.default_rng(noise_seed)
    clip += rng.normal(0, np.sqrt(noise_power), clip_samples).astype(np.float32)
    return to_pcm16(np.clip(clip, -1, 1))


def generate(
    count: int = DEFAULT_COUNT,
    seed: int = 0,
    *,
    runner: Runner | None = None,
    workers: int | None = None,
    clip_samples: int = CLIP_SAMPLES,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Synthesise ``count`` clips: ``(int16 [count, clip_samples], int64 labels [count])``.

    Labels cycle through the ten digits, so classes are balanced (within one).

    Parameters
    ----------
    runner : callable, optional
        Runs an espeak-ng command line and returns its WAV output (default: a subprocess);
        tests pass one that counts calls.
    workers : int, optional
        espeak-ng processes at a time (default: the number of CPUs).
    progress : callable, optional
        Called with the number of clips done.
    """
    executable = espeak_ng() if runner is None else "espeak-ng"
    if executable is None:
        raise DatasetUnavailable(
            f"spoken_digits is generated with espeak-ng, which is not installed; install it: {INSTALL_HINT}"
        )
    run = runner or _run
    settings = _settings(count, seed)

    def make(index: int) -> np.ndarray:
        setting = settings[index]
        command = [
            executable,
            "--stdout",
            "-v", setting.voice,
            "-s", str(setting.speed),
            "-p", str(setting.pitch),
            CLASS_NAMES[setting.label],
        ]  # fmt: skip
        return _clip(run(command), setting, [seed, index], clip_samples)

    waveforms = np.zeros((count, clip_samples), np.int16)
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        for index, clip in enumerate(pool.map(make, range(count))):
            waveforms[index] = clip
            if progress is not None:
                progress(index + 1)
    labels = np.asarray([setting.label for setting in settings], dtype=np.int64)
    return waveforms, labels


def load(
    count: int = DEFAULT_COUNT,
    seed: int = 0,
    *,
    root: Path | None = None,
    runner: Runner | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the clips of ``(count, seed)`` from the cache, generating and caching them when absent.

    A cache written by another espeak-ng version than the installed one is generated again.

    Parameters are those of :func:`generate`; ``root`` is the cache directory (default
    :func:`~lepton_lab.core.runtime_policy.cache_dir`).

    Raises
    ------
    DatasetUnavailable
        Not cached and espeak-ng is not installed; the message says how to install it.
    """
    path = cache_file(count, seed, root)
    version = espeak_version()
    if path.is_file():
        try:
            with np.load(path) as stored:
                made_by = str(stored["espeak_version"]) if "espeak_version" in stored else None
                # Another espeak-ng speaks differently: its clips are not "the same seed's clips".
                # Without espeak-ng (or for a cache older than this check) the cache is all there is.
                if version is None or made_by is None or made_by == version:
                    return stored["waveforms"], stored["labels"]
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache file is regenerated below
    waveforms, labels = generate(count, seed, runner=runner, progress=progress)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial.npz")
        np.savez(partial, waveforms=waveforms, labels=labels, espeak_version=np.str_(version or "unknown"))
        os.replace(partial, path)  # atomic: another process never reads half a file
    except OSError:
        pass  # a read-only cache costs a regeneration next time, nothing else
    return waveforms, labels


def is_available(count: int = DEFAULT_COUNT, seed: int = 0) -> bool:
    """Whether spoken digits can be loaded offline: espeak-ng is installed or the clips are cached."""
    return espeak_ng() is not None or cache_file(count, seed).is_file()
