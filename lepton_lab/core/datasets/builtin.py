"""The registry's built-in sources: digits, shapes, Keras's image sets and image folders.

Each ``_load_<source>`` turns a :class:`~lepton_lab.core.specs.DatasetSpec` into a
:class:`~lepton_lab.core.datasets.dataset.Dataset`; raw arrays are cached per process, so a
second load (another split, another widget) costs no decoding. :func:`available` lists the
registry without loading anything.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from lepton_lab.core import dataset_files, shapes_dataset
from lepton_lab.core.datasets import audio_sources, text
from lepton_lab.core.datasets.dataset import Dataset
from lepton_lab.core.datasets.errors import DatasetUnavailable
from lepton_lab.core.datasets.folders import folder_kind
from lepton_lab.core.example_store import ArrayStore, FolderStore
from lepton_lab.core.progress import Progress
from lepton_lab.core.specs import DatasetSpec
from lepton_lab.core.splits import stratified_split

#: Default number of generated ``shapes`` images and side length of folder images.
SHAPES_COUNT = 3000
SHAPES_SIZE = 32
FOLDER_SIZE = 64

#: The digits arrays, shipped with the package (where they come from: data/README.md).
DIGITS_FILE = Path(__file__).parent / "data" / "digits.npz"
#: Stored digits pixels (counts 0..16) times this are the [0, 1] values the models see.
DIGITS_SCALE = 1 / 16


def _frozen(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    # Cached arrays are shared by every Dataset in the process: make accidental writes fail loudly.
    for array in arrays:
        array.flags.writeable = False
    return arrays


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, ...]:
    # Pixels are counts of 0..16 set bits in 4x4 blocks (see data/README.md), kept as stored
    # (uint8) like every other image set; DIGITS_SCALE maps them to [0, 1] exactly (a power of
    # two), and an exported model takes the same raw counts (lepton_lab.core.export).
    with np.load(DIGITS_FILE) as stored:
        images = stored["images"].astype(np.uint8)[..., None]
        labels = stored["target"].astype(np.int64)
    return _frozen(images, labels)


@functools.lru_cache(maxsize=8)
def _shapes(count: int, image_size: int, seed: int) -> tuple[np.ndarray, ...]:
    with Progress(f"generating {count} shapes ({image_size}x{image_size})", total=count) as progress:
        images, labels = shapes_dataset.generate(count, image_size, seed, progress=progress.update)
    return _frozen(images, labels)


@functools.lru_cache(maxsize=4)
def _remote(name: str, path: Path) -> tuple[np.ndarray, ...]:
    x_train, y_train, x_test, y_test = dataset_files.read(name, path)
    images = np.concatenate([x_train, x_test])
    labels = np.concatenate([y_train, y_test]).astype(np.int64)
    return _frozen(images, labels, np.arange(len(x_train), len(images)))


# --- registry ------------------------------------------------------------------------------------------


def _image_size(spec: DatasetSpec, native: int) -> tuple[int, int] | None:
    return None if spec.image_size in (None, native) else (spec.image_size, spec.image_size)


def _load_digits(spec: DatasetSpec) -> Dataset:
    images, labels = _digits()
    resize = _image_size(spec, 8)
    side = resize[0] if resize else 8
    return Dataset(
        "digits",
        "image",
        [str(digit) for digit in range(10)],
        (side, side, 1),
        ArrayStore(images, DIGITS_SCALE, resize),
        labels,
        stratified_split(labels, spec.seed, spec.validation_split, subset=spec.subset),
        description=_DESCRIPTIONS["digits"],
        source="bundled UCI optdigits",
    )


def _load_shapes(spec: DatasetSpec, count: int) -> Dataset:
    side = spec.image_size or SHAPES_SIZE
    images, labels = _shapes(count, side, spec.seed)
    return Dataset(
        "shapes",
        "image",
        list(shapes_dataset.CLASS_NAMES),
        (side, side, 3),
        ArrayStore(images, 1 / 255),
        labels,
        stratified_split(labels, spec.seed, spec.validation_split, subset=spec.subset),
        description=_DESCRIPTIONS["shapes"],
        source=f"generated (count={count}, seed={spec.seed})",
    )


def _load_remote(spec: DatasetSpec) -> Dataset:
    remote = dataset_files.REMOTE[spec.name]
    path = dataset_files.find(spec.name)
    if path is None:
        if not dataset_files.is_online(remote.host):
            raise DatasetUnavailable(dataset_files.unavailable_message(spec.name))
        path = dataset_files.download(spec.name)
    images, labels, test_rows = _remote(spec.name, path)
    native = images.shape[1]
    resize = _image_size(spec, native)
    side = resize[0] if resize else native
    return Dataset(
        spec.name,
        "image",
        list(remote.class_names),
        (side, side, images.shape[-1]),
        ArrayStore(images, 1 / 255, resize),
        labels,
        stratified_split(labels, spec.seed, spec.validation_split, test_rows=test_rows, subset=spec.subset),
        description=remote.description,
        source=str(path),
    )


def _load_folder(spec: DatasetSpec) -> Dataset:
    root = Path(spec.name.removeprefix("folder:")).expanduser()
    kind = folder_kind(root)
    if kind == "text":
        return text.load_folder(spec, root)
    if kind == "audio":
        return audio_sources.load_folder(spec, root)
    try:
        paths, labels, class_names = dataset_files.list_folder(root)
    except (FileNotFoundError, NotADirectoryError) as error:
        raise DatasetUnavailable(str(error)) from None
    side = spec.image_size or FOLDER_SIZE
    channels = dataset_files.image_channels(paths[0])
    return Dataset(
        spec.name,
        "image",
        class_names,
        (side, side, channels),
        FolderStore(paths, side, channels),
        labels,
        stratified_split(labels, spec.seed, spec.validation_split, subset=spec.subset),
        description=f"{len(paths)} images in {len(class_names)} class folders",
        source=str(root),
    )


_DESCRIPTIONS = {
    "digits": "Handwritten digits (UCI optdigits): 1797 8x8 grey images, 10 classes. Always available.",
    "shapes": f"Generated coloured shapes ({', '.join(shapes_dataset.CLASS_NAMES)}), any size, seeded. "
    "Always available.",
}


def available() -> list[dict[str, Any]]:
    """List the registry: ``[{"name", "offline", "description", "source", "hint"}]``.

    ``offline`` is True when the data is on this machine; otherwise ``hint`` says how
    to get it (the :class:`DatasetUnavailable` message), else it is None. Loads no data
    and imports no TensorFlow; it only checks whether files exist.
    """
    entries: list[dict[str, Any]] = [
        {
            "name": name,
            "offline": True,
            "description": _DESCRIPTIONS[name],
            "source": "bundled" if name == "digits" else "generated",
            "hint": None,
        }
        for name in ("digits", "shapes")
    ]
    for name, remote in dataset_files.REMOTE.items():
        path = dataset_files.find(name)
        entries.append(
            {
                "name": name,
                "offline": path is not None,
                "description": remote.description,
                "source": str(path) if path is not None else f"download from {remote.host}",
                "hint": None if path is not None else dataset_files.unavailable_message(name),
            }
        )
    entries.extend(text.available_entries())
    entries.extend(audio_sources.available())
    return entries


def from_spec(spec: DatasetSpec, count: int | None = None) -> Dataset:
    """Load the registry dataset or image folder ``spec`` names.

    Parameters
    ----------
    spec : DatasetSpec
        A registry name or ``folder:<path>``; ``memory:`` names are refused with the fix.
    count : int, optional
        Number of generated examples: ``shapes`` images (default :data:`SHAPES_COUNT`) or
        ``spoken_digits`` clips (default 2000); ``spec.count`` when omitted; other datasets
        ignore it.

    Raises
    ------
    DatasetUnavailable
        The data is not on this machine and cannot be fetched; the message says how to get it.
    """
    count = spec.count if count is None else count
    if spec.name == "digits":
        return _load_digits(spec)
    if spec.name == "shapes":
        return _load_shapes(spec, SHAPES_COUNT if count is None else count)
    if spec.name in dataset_files.REMOTE:
        return _load_remote(spec)
    if spec.name in ("fortunes_topics", "fortunes_languages"):
        return text.load_fortunes(spec)
    if spec.name == "imdb":
        return text.load_imdb(spec)
    if spec.name in audio_sources.NAMES:
        return audio_sources.load(spec, count)
    if spec.name.startswith("folder:"):
        return _load_folder(spec)
    raise ValueError(
        f"{spec.name!r} lives only in the kernel that created it; pass the data itself: "
        "load((x, y)) or load(df, target=...)"
    )
