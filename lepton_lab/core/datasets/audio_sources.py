"""The registry's audio sources: ``spoken_digits``, ``speech_commands`` and WAV folders.

Each loader returns a :class:`~lepton_lab.core.datasets.dataset.Dataset` of kind ``"audio"``:
mono float32 waveforms in [-1, 1] at 16 kHz, one second each (``input_shape == (16000,)``),
stored as int16 (see :mod:`lepton_lab.core.datasets.audio`).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from lepton_lab.core import dataset_files
from lepton_lab.core.datasets import spoken_digits
from lepton_lab.core.datasets.audio import (
    CLIP_SAMPLES,
    PCM_SCALE,
    SAMPLE_RATE,
    AudioFolderStore,
    list_audio_folder,
)
from lepton_lab.core.datasets.dataset import Dataset
from lepton_lab.core.datasets.errors import DatasetUnavailable
from lepton_lab.core.example_store import ArrayStore
from lepton_lab.core.progress import Progress
from lepton_lab.core.specs import DatasetSpec
from lepton_lab.core.splits import stratified_split

#: The audio names of the registry.
NAMES = ("spoken_digits", "speech_commands")
#: Where Speech Commands may sit in the Keras cache: the full set (v0.02, v0.01) extracted
#: there by hand, or the mini set as the Keras/TensorFlow audio tutorial's ``get_file`` leaves it.
SPEECH_COMMANDS_LAYOUTS = (
    "speech_commands_v0.02",
    "speech_commands_v0.01",
    "mini_speech_commands",
    "mini_speech_commands_extracted/mini_speech_commands",
)

DESCRIPTIONS = {
    "spoken_digits": f"Spoken digits zero to nine generated with espeak-ng (many voices, speeds, pitches, "
    f"noise): {spoken_digits.DEFAULT_COUNT} one-second 16 kHz clips by default, seeded.",
    "speech_commands": "Speech Commands (one-second spoken words at 16 kHz), read from the Keras cache.",
}


@functools.lru_cache(maxsize=4)
def _spoken_digits(count: int, seed: int) -> tuple[np.ndarray, ...]:
    with Progress(f"generating {count} spoken digits with espeak-ng", total=count) as progress:
        waveforms, labels = spoken_digits.load(count, seed, progress=progress.update)
    for array in (waveforms, labels):
        array.flags.writeable = False  # shared by every Dataset in the process
    return waveforms, labels


def _audio_dataset(
    spec: DatasetSpec,
    class_names: list[str],
    store: Any,
    labels: np.ndarray,
    description: str,
    source: str,
    test_rows: np.ndarray | None = None,
) -> Dataset:
    return Dataset(
        spec.name,
        "audio",
        class_names,
        (CLIP_SAMPLES,),
        store,
        labels,
        stratified_split(labels, spec.seed, spec.validation_split, test_rows=test_rows, subset=spec.subset),
        description=description,
        source=source,
        sample_rate=SAMPLE_RATE,
    )


def load_spoken_digits(spec: DatasetSpec, count: int | None = None) -> Dataset:
    """Load ``count`` spoken digits (default 2000) generated from ``spec.seed``."""
    count = spoken_digits.DEFAULT_COUNT if count is None else count
    if count < 10:
        raise ValueError(f"spoken_digits needs a count of at least 10 (one clip per digit), got {count}")
    waveforms, labels = _spoken_digits(count, spec.seed)
    return _audio_dataset(
        spec,
        list(spoken_digits.CLASS_NAMES),
        ArrayStore(waveforms, PCM_SCALE),
        labels,
        DESCRIPTIONS["spoken_digits"],
        f"generated with espeak-ng (count={count}, seed={spec.seed})",
    )


def find_speech_commands() -> Path | None:
    """Return the Speech Commands folder in the Keras cache, or None. Reads no audio."""
    root = dataset_files.keras_datasets_dir()
    for layout in SPEECH_COMMANDS_LAYOUTS:
        if (root / layout).is_dir() and any((root / layout).glob("*/*.wav")):
            return root / layout
    return None


def speech_commands_hint() -> str:
    """How to make ``speech_commands`` available offline."""
    root = dataset_files.keras_datasets_dir()
    return (
        "speech_commands is not available offline. Download "
        "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz (or the tutorial's "
        "mini_speech_commands.zip) on a machine with internet and extract it so that "
        f"{root / 'speech_commands_v0.02'}/yes/*.wav (or {root / 'mini_speech_commands'}/yes/*.wav) exists"
    )


def _listed(root: Path, name: str, paths: list[Path]) -> np.ndarray | None:
    """Rows of ``paths`` named in Speech Commands' ``testing_list.txt``-style file, if it exists."""
    listing = root / name
    if not listing.is_file():
        return None
    wanted = set(listing.read_text().split())
    rows = [row for row, path in enumerate(paths) if path.relative_to(root).as_posix() in wanted]
    return np.asarray(rows, dtype=np.int64)


def load_speech_commands(spec: DatasetSpec) -> Dataset:
    """Speech Commands from the Keras cache; its official test list is the test split when present."""
    root = find_speech_commands()
    if root is None:
        raise DatasetUnavailable(speech_commands_hint())
    paths, labels, class_names = list_audio_folder(root, skip_underscored=True)
    return _audio_dataset(
        spec,
        class_names,
        AudioFolderStore(paths),
        labels,
        f"Speech Commands: {len(paths)} clips of {len(class_names)} words",
        str(root),
        test_rows=_listed(root, "testing_list.txt", paths),
    )


def load_folder(spec: DatasetSpec, root: Path) -> Dataset:
    """Load a class-per-subfolder directory of WAV files as one-second 16 kHz mono clips."""
    paths, labels, class_names = list_audio_folder(root)
    if not class_names:
        raise DatasetUnavailable(
            f"folder dataset {str(root)!r} has no class subfolders with .wav files; "
            f"put each class's recordings in its own subfolder, e.g. {root / 'yes'}/1.wav"
        )
    return _audio_dataset(
        spec,
        class_names,
        AudioFolderStore(paths),
        labels,
        f"{len(paths)} audio clips in {len(class_names)} class folders",
        str(root),
    )


def load(spec: DatasetSpec, count: int | None = None) -> Dataset:
    """Load the registry audio dataset ``spec`` names (one of :data:`NAMES`)."""
    if spec.name == "spoken_digits":
        return load_spoken_digits(spec, count)
    return load_speech_commands(spec)


def available() -> list[dict[str, Any]]:
    """List the audio entries of :func:`~lepton_lab.core.datasets.available`; checks files only."""
    digits_offline = spoken_digits.is_available()
    commands = find_speech_commands()
    return [
        {
            "name": "spoken_digits",
            "offline": digits_offline,
            "description": DESCRIPTIONS["spoken_digits"],
            "source": "generated with espeak-ng",
            "hint": None
            if digits_offline
            else f"spoken_digits needs espeak-ng, which is not installed: {spoken_digits.INSTALL_HINT}",
        },
        {
            "name": "speech_commands",
            "offline": commands is not None,
            "description": DESCRIPTIONS["speech_commands"],
            "source": str(commands) if commands is not None else "the Keras cache (not downloaded)",
            "hint": None if commands is not None else speech_commands_hint(),
        },
    ]
