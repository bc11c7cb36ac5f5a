"""Datasets: every source of training data behind one lazy, paged interface.

:func:`load` turns a :class:`~lepton_lab.core.specs.DatasetSpec` (or a name,
arrays, a DataFrame) into a :class:`Dataset` with deterministic, stratified
train / validation / test splits. A dataset keeps its pixels in their stored
form (uint8 for 60 000 Fashion-MNIST images, file paths for a folder) and
converts only what is asked for: ``page(900, 64)`` decodes 64 images, not the
whole set. :meth:`Dataset.as_tf_data` feeds training.

Registry
--------
``digits``
    scikit-learn's bundled 8x8 handwritten digits (1797 images); always offline.
``shapes``
    Procedural coloured shapes (:mod:`lepton_lab.core.shapes_dataset`), any size, seeded.
``fashion_mnist``, ``mnist``, ``cifar10``
    Read from the Keras cache or Debian packages (:mod:`lepton_lab.core.dataset_files`),
    downloaded only when online; otherwise :class:`DatasetUnavailable` says how to get them.
``folder:<path>``
    A class-per-subfolder image directory, decoded with Pillow page by page.

This module imports neither TensorFlow nor Keras; :meth:`Dataset.as_tf_data` does.

Examples
--------
>>> ds = load("digits", validation_split=0.25)
>>> ds.input_shape, ds.num_classes, ds.count("train") + ds.count("validation") + ds.count("test")
((8, 8, 1), 10, 1797)
>>> page = ds.page(0, 16, label=3)
>>> page.images.shape, set(page.labels.tolist())
((16, 8, 8, 1), {3})
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lepton_lab.core import dataset_files, shapes_dataset
from lepton_lab.core.example_store import ArrayStore, FolderStore, Store
from lepton_lab.core.progress import Progress
from lepton_lab.core.specs import AugmentSpec, DatasetSpec, parse
from lepton_lab.core.splits import TEST_FRACTION, stratified_split

if TYPE_CHECKING:
    import tensorflow as tf

SPLITS = ("train", "validation", "test")

#: Default number of generated ``shapes`` images and side length of folder images.
SHAPES_COUNT = 3000
SHAPES_SIZE = 32
FOLDER_SIZE = 64


class DatasetUnavailable(RuntimeError):
    """The dataset's files are not on this machine and cannot be downloaded now.

    The message says exactly how to get them.
    """


@dataclass(frozen=True)
class Page:
    """One page of a split.

    Attributes
    ----------
    images : np.ndarray
        ``float32 [n, h, w, c]`` in [0, 1] (feature rows ``[n, n_features]`` for tabular data).
    labels : np.ndarray
        ``int64 [n]`` class indices.
    indices : np.ndarray
        ``int64 [n]`` positions of these examples within the split.
    """

    images: np.ndarray
    labels: np.ndarray
    indices: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


class Dataset:
    """A labelled dataset split into ``train``, ``validation`` and ``test``.

    Built by :func:`load`, :func:`from_arrays` or :func:`from_dataframe`, not directly.

    Attributes
    ----------
    name : str
        Registry name, ``folder:<path>`` or ``memory:<what>``.
    kind : str
        ``"image"`` (float32 NHWC in [0, 1]) or ``"tabular"`` (float32 feature rows).
    class_names : list of str
        Label names in label order.
    input_shape : tuple of int
        Shape of one example, e.g. ``(8, 8, 1)`` for digits or ``(n_features,)``.
    num_classes : int
        ``len(class_names)``.
    description : str
        One line for pickers.
    source : str
        Where the data came from (a path, "bundled with scikit-learn", "generated").
    feature_names : list of str
        Tabular datasets only: the columns behind each feature; empty for images.
    spec : DatasetSpec
        The spec this dataset was loaded from (``memory:<what>`` for in-memory data);
        ``load(dataset.spec)`` rebuilds registry and folder datasets identically.
    """

    def __init__(
        self,
        name: str,
        kind: str,
        class_names: list[str],
        input_shape: tuple[int, ...],
        store: Store,
        labels: np.ndarray,
        splits: dict[str, np.ndarray],
        description: str = "",
        source: str = "",
        frame: pd.DataFrame | None = None,
        feature_names: list[str] | None = None,
        spec: DatasetSpec | None = None,
    ):
        self.name = name
        self.kind = kind
        self.class_names = list(class_names)
        self.input_shape = tuple(int(side) for side in input_shape)
        self.num_classes = len(self.class_names)
        self.description = description
        self.source = source
        self.feature_names = list(feature_names or [])
        self.spec = spec or DatasetSpec(name=name)
        self._store = store
        self._labels = labels
        self._splits = splits
        self._frame = frame

    def __repr__(self) -> str:
        sizes = ", ".join(f"{split}={self.count(split)}" for split in SPLITS)
        return f"<Dataset {self.name!r} {self.kind} {self.input_shape} classes={self.num_classes} {sizes}>"

    def _rows(self, split: str) -> np.ndarray:
        if split not in self._splits:
            raise ValueError(f"unknown split {split!r}; use 'train', 'validation' or 'test'")
        return self._splits[split]

    def count(self, split: str = "train") -> int:
        """Return the number of examples in ``split``."""
        return len(self._rows(split))

    def counts(self) -> pd.DataFrame:
        """Examples per class (rows, by class name) and split (columns)."""
        table = {
            split: np.bincount(self._labels[self._rows(split)], minlength=self.num_classes)
            for split in SPLITS
        }
        return pd.DataFrame(table, index=pd.Index(self.class_names, name="class"))

    def labels(self, split: str = "train") -> np.ndarray:
        """Class index of every example in ``split``, in split order."""
        return self._labels[self._rows(split)]

    def _positions(self, split: str, label: int | None) -> np.ndarray:
        rows = self._rows(split)
        if label is None:
            return np.arange(len(rows))
        if not 0 <= label < self.num_classes:
            raise ValueError(
                f"label {label} is out of range; {self.name} has labels 0 to {self.num_classes - 1}"
            )
        return np.flatnonzero(self._labels[rows] == label)

    def page_count(self, size: int, split: str = "train", label: int | None = None) -> int:
        """Return the number of pages of ``size`` examples in ``split`` (only class ``label`` if given)."""
        if size < 1:
            raise ValueError(f"page size must be at least 1, got {size}")
        return math.ceil(len(self._positions(split, label)) / size)

    def page(self, i: int, size: int, split: str = "train", label: int | None = None) -> Page:
        """Page ``i`` (from 0) of ``size`` examples; decodes only those examples.

        With ``label`` the pages run over that class only. A page past the end is empty.
        """
        if i < 0:
            raise ValueError(f"page index must be 0 or more, got {i}")
        if size < 1:
            raise ValueError(f"page size must be at least 1, got {size}")
        positions = self._positions(split, label)[i * size : (i + 1) * size]
        return self._examples(split, positions)

    def _examples(self, split: str, positions: np.ndarray) -> Page:
        rows = self._rows(split)[positions]
        if len(rows) == 0:
            return Page(
                np.zeros((0, *self.input_shape), np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64)
            )
        return Page(self._store.get(rows), self._labels[rows], positions.astype(np.int64))

    def sample(self, n: int, seed: int = 0, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
        """``n`` random examples of ``split`` (all of them if it has fewer): ``(images, labels)``."""
        total = self.count(split)
        positions = np.random.default_rng(seed).choice(total, size=min(n, total), replace=False)
        page = self._examples(split, positions)
        return page.images, page.labels

    def arrays(self, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
        """All of ``split`` as float32 examples and int64 labels."""
        page = self._examples(split, np.arange(self.count(split)))
        return page.images, page.labels

    def to_frame(self, split: str = "train") -> pd.DataFrame:
        """Return the examples of ``split`` as a table.

        Tabular datasets return their original rows (target column included);
        image datasets one row per image with its position, label and class name.
        """
        rows = self._rows(split)
        if self._frame is not None:
            return self._frame.iloc[rows]
        labels = self._labels[rows]
        names = np.asarray(self.class_names, dtype=object)[labels]
        return pd.DataFrame({"index": np.arange(len(rows)), "label": labels, "class": names})

    def as_tf_data(
        self,
        split: str,
        batch_size: int,
        augment: AugmentSpec | dict[str, Any] | None = None,
        shuffle: bool | None = None,
        seed: int = 0,
        cache: bool = True,
    ) -> tf.data.Dataset:
        """Batches of ``(float32 examples, int32 labels)`` for ``model.fit``.

        Parameters
        ----------
        split : str
            ``"train"``, ``"validation"`` or ``"test"``.
        batch_size : int
            Examples per batch (the last batch may be smaller).
        augment : AugmentSpec or dict, optional
            Augmentation for the ``train`` split; ignored for the other splits.
            Applied per batch, in parallel, with per-batch seeds drawn from ``seed``,
            so the same seed gives the same augmented batches (see :func:`augment.apply`).
        shuffle : bool, optional
            Defaults to True for ``train`` only. Reshuffled every epoch, deterministically.
        seed : int
            Seed of the shuffle order and of the augmentation.
        cache : bool
            Cache the stored (not yet scaled) examples after the first epoch.
        """
        from lepton_lab.core import augment as augmentation
        from lepton_lab.core.tf_import import tf

        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        rows = self._rows(split)
        stored, scale = self._store.raw(rows)
        resize = self._store.resize
        data = tf.data.Dataset.from_tensor_slices((stored, self._labels[rows].astype(np.int32)))
        if cache:
            data = data.cache()
        if shuffle if shuffle is not None else split == "train":
            data = data.shuffle(max(len(rows), 1), seed=seed, reshuffle_each_iteration=True)
        data = data.batch(batch_size)

        def to_float(examples: tf.Tensor) -> tf.Tensor:
            values = tf.cast(examples, tf.float32) * tf.constant(scale, tf.float32)
            return values if resize is None else tf.image.resize(values, resize, method="bilinear")

        spec = parse(AugmentSpec, augment) if augment is not None else AugmentSpec()
        pipeline = augmentation.pipeline(spec, seed) if split == "train" else None
        if pipeline is not None and self.kind != "image":
            raise ValueError(
                f"{self.name} is a tabular dataset; image augmentation does not apply, remove the ops"
            )
        if pipeline is None:
            data = data.map(lambda x, y: (to_float(x), y), num_parallel_calls=tf.data.AUTOTUNE)
        else:
            # Random layers keep their state in a variable, and parallel map calls race on it;
            # drawing one seed per batch in order and applying the layers statelessly keeps
            # training reproducible. rerandomize_each_iteration gives each epoch new seeds.
            batch_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
            data = tf.data.Dataset.zip(data, batch_seeds).map(
                lambda batch, batch_seed: (
                    augmentation.apply(pipeline, to_float(batch[0]), batch_seed),
                    batch[1],
                ),
                num_parallel_calls=tf.data.AUTOTUNE,
            )
        return data.prefetch(tf.data.AUTOTUNE)


# --- raw data, cached per process ----------------------------------------------------------------------


def _frozen(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    # Cached arrays are shared by every Dataset in the process: make accidental writes fail loudly.
    for array in arrays:
        array.flags.writeable = False
    return arrays


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, ...]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (np.asarray(bunch.images, dtype=np.float32) / 16.0)[..., None]
    return _frozen(images, np.asarray(bunch.target, dtype=np.int64))


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
        ArrayStore(images, 1.0, resize),
        labels,
        stratified_split(labels, spec.seed, spec.validation_split, subset=spec.subset),
        description=_DESCRIPTIONS["digits"],
        source="bundled with scikit-learn",
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
    "digits": "scikit-learn handwritten digits: 1797 8x8 grey images, 10 classes. Always available.",
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
            "source": "scikit-learn" if name == "digits" else "generated",
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
    return entries


# --- in-memory data ------------------------------------------------------------------------------------


def _encode_labels(y: np.ndarray, class_names: list[str] | None) -> tuple[np.ndarray, list[str]]:
    if y.ndim != 1:
        raise ValueError(f"y must be one label per example (shape [n]), got shape {y.shape}")
    if class_names is not None and np.issubdtype(y.dtype, np.integer):
        if len(y) and (y.min() < 0 or y.max() >= len(class_names)):
            raise ValueError(
                f"y holds labels {y.min()} to {y.max()} but class_names has {len(class_names)} names; "
                "labels must be 0 to len(class_names) - 1"
            )
        return y.astype(np.int64), list(class_names)
    values, codes = np.unique(y, return_inverse=True)
    names = [str(value) for value in values]
    if class_names is not None:
        if sorted(class_names) != names:
            raise ValueError(f"class_names {class_names} do not match the labels found in y: {names}")
        order = {name: index for index, name in enumerate(class_names)}
        return np.asarray([order[names[code]] for code in codes], dtype=np.int64), list(class_names)
    return codes.astype(np.int64), names


def _image_store(x: np.ndarray) -> ArrayStore:
    if x.ndim == 3:
        x = x[..., None]
    if x.dtype == np.uint8:
        return ArrayStore(x, 1 / 255)
    low, high = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
    if np.issubdtype(x.dtype, np.integer) and low >= 0 and high <= 255:
        return ArrayStore(x.astype(np.uint8), 1 / 255)
    if np.issubdtype(x.dtype, np.floating) and low >= 0 and high <= 1:
        return ArrayStore(x.astype(np.float32))
    raise ValueError(
        f"image values range from {low} to {high} ({x.dtype}); "
        "give uint8 pixels (0-255) or floats in [0, 1], e.g. x / 255"
    )


def _memory_spec(name: str, validation_split: float, seed: int, subset: int | None) -> DatasetSpec:
    """Record how in-memory data was split, under a name the DatasetSpec schema accepts."""
    if not name.startswith("memory:"):
        name = f"memory:{name}"
    spec: DatasetSpec = parse(
        DatasetSpec, {"name": name, "validation_split": validation_split, "seed": seed, "subset": subset}
    )
    return spec


def from_arrays(
    x: np.ndarray,
    y: np.ndarray,
    class_names: list[str] | None = None,
    name: str = "memory:arrays",
    validation_split: float = 0.2,
    test_split: float = TEST_FRACTION,
    seed: int = 0,
    subset: int | None = None,
) -> Dataset:
    """Make a dataset from in-memory arrays.

    Parameters
    ----------
    x : np.ndarray
        Images ``[n, h, w]`` / ``[n, h, w, c]`` (uint8 0-255 or float in [0, 1]) or
        feature rows ``[n, n_features]`` (tabular).
    y : np.ndarray
        Labels ``[n]``: integers, or any values (strings...) that become classes in sorted order.
    class_names : list of str, optional
        Names for integer labels ``0..k-1``, or the order of the classes for other labels.
    validation_split, test_split : float
        Fractions held out, stratified by class (validation is taken after test).
    seed : int
        Seed of the split.
    subset : int, optional
        Cap on the train split (validation and test shrink alike).
    """
    spec = _memory_spec(name, validation_split, seed, subset)
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} examples but y has {len(y)} labels; give one label per example")
    labels, names = _encode_labels(y, class_names)
    splits = stratified_split(labels, seed, validation_split, test_split=test_split, subset=subset)
    if x.ndim == 2:
        features = x.astype(np.float32)
        return Dataset(
            name,
            "tabular",
            names,
            (x.shape[1],),
            ArrayStore(features),
            labels,
            splits,
            description=f"{len(x)} rows, {x.shape[1]} features",
            source="in-memory arrays",
            feature_names=[f"x{i}" for i in range(x.shape[1])],
            spec=spec,
        )
    if x.ndim not in (3, 4):
        raise ValueError(
            f"x has shape {x.shape}; give images [n, h, w] or [n, h, w, c], or feature rows [n, n_features]"
        )
    store = _image_store(x)
    return Dataset(
        name,
        "image",
        names,
        store.data.shape[1:],
        store,
        labels,
        splits,
        description=f"{len(x)} images {store.data.shape[1:]}",
        source="in-memory arrays",
        spec=spec,
    )


def from_dataframe(
    df: pd.DataFrame,
    target: str,
    name: str = "memory:dataframe",
    validation_split: float = 0.2,
    test_split: float = TEST_FRACTION,
    seed: int = 0,
    subset: int | None = None,
    standardize: bool = True,
) -> Dataset:
    """Make a tabular dataset from a DataFrame: every column but ``target`` is a feature.

    Text and category columns are one-hot encoded. With ``standardize`` numeric
    features are scaled to zero mean and unit variance using the train split's
    statistics only (no leakage from validation/test into training).
    """
    spec = _memory_spec(name, validation_split, seed, subset)
    if target not in df.columns:
        raise ValueError(
            f"target column {target!r} is not in the DataFrame; its columns are {list(df.columns)}"
        )
    missing = [str(column) for column in df.columns if df[column].isna().any()]
    if missing:
        raise ValueError(f"columns {missing} have missing values; drop or fill them first, e.g. df.dropna()")
    features = df.drop(columns=[target])
    if features.shape[1] == 0:
        raise ValueError(f"the DataFrame has no feature columns besides the target {target!r}")
    numeric = features.select_dtypes(include="number").columns
    encoded = pd.get_dummies(features, dtype=np.float32)
    labels, names = _encode_labels(df[target].to_numpy(), None)
    splits = stratified_split(labels, seed, validation_split, test_split=test_split, subset=subset)
    values = encoded.to_numpy(dtype=np.float32)
    if standardize and len(numeric):
        columns = [encoded.columns.get_loc(column) for column in numeric]
        train = values[splits["train"]][:, columns]
        spread = train.std(axis=0)
        values[:, columns] = (values[:, columns] - train.mean(axis=0)) / np.where(spread > 0, spread, 1)
    return Dataset(
        name,
        "tabular",
        names,
        (values.shape[1],),
        ArrayStore(values),
        labels,
        splits,
        description=f"{len(df)} rows, {values.shape[1]} features, target {target!r}",
        source="in-memory DataFrame",
        frame=df,
        feature_names=[str(column) for column in encoded.columns],
        spec=spec,
    )


# --- entry point ---------------------------------------------------------------------------------------


def _spec(spec_or_name: str | DatasetSpec | dict[str, Any], overrides: dict[str, Any]) -> DatasetSpec:
    if isinstance(spec_or_name, str):
        data: dict[str, Any] = {"name": spec_or_name}
    elif isinstance(spec_or_name, DatasetSpec):
        data = spec_or_name.model_dump(exclude_unset=True)
    elif isinstance(spec_or_name, dict):
        data = dict(spec_or_name)
    else:
        raise TypeError(
            f"cannot load a dataset from {type(spec_or_name).__name__}; give a name such as 'digits', "
            "a DatasetSpec or dict, an (x, y) tuple of arrays, or a DataFrame with target=..."
        )
    result: DatasetSpec = parse(DatasetSpec, {**data, **overrides})
    return result


def load(spec_or_name: Any, **overrides: Any) -> Dataset:
    """Load a dataset by name, spec, arrays or DataFrame.

    Parameters
    ----------
    spec_or_name : str, DatasetSpec, dict, (x, y) tuple or pandas.DataFrame
        ``"digits"``, ``"folder:/data/pets"``, a :class:`DatasetSpec` (or its dict),
        a pair of arrays (see :func:`from_arrays`) or a DataFrame (pass ``target=``).
    **overrides
        DatasetSpec fields (``validation_split``, ``subset``, ``seed``, ``image_size``)
        overriding those of the spec; ``count`` for ``shapes`` (default 3000); for
        arrays and DataFrames the keyword arguments of :func:`from_arrays` / :func:`from_dataframe`.

    Raises
    ------
    SpecError
        A bad name or field value.
    DatasetUnavailable
        The data is not on this machine and cannot be fetched; the message says how to get it.
    """
    if isinstance(spec_or_name, pd.DataFrame):
        if "target" not in overrides:
            raise ValueError("loading a DataFrame needs the label column: load(df, target='species')")
        return from_dataframe(spec_or_name, **overrides)
    if isinstance(spec_or_name, tuple) and len(spec_or_name) == 2:
        return from_arrays(*spec_or_name, **overrides)
    count = int(overrides.pop("count", SHAPES_COUNT))
    spec = _spec(spec_or_name, overrides)
    if spec.name == "digits":
        dataset = _load_digits(spec)
    elif spec.name == "shapes":
        dataset = _load_shapes(spec, count)
    elif spec.name in dataset_files.REMOTE:
        dataset = _load_remote(spec)
    elif spec.name.startswith("folder:"):
        dataset = _load_folder(spec)
    else:
        raise ValueError(
            f"{spec.name!r} lives only in the kernel that created it; pass the data itself: "
            "load((x, y)) or load(df, target=...)"
        )
    dataset.spec = spec
    return dataset
