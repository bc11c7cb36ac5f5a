"""Dataset: a labelled set split into train / validation / test, read page by page.

A dataset keeps its examples in their stored form (an :mod:`~lepton_lab.core.example_store`)
and converts only what is asked for: ``page(900, 64)`` decodes 64 images, not the whole set.
:meth:`Dataset.as_tf_data` feeds training and is the only part that imports TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lepton_lab.core.example_store import Store
from lepton_lab.core.specs import AugmentSpec, DatasetSpec

if TYPE_CHECKING:
    import tensorflow as tf

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class Page:
    """One page of a split.

    Attributes
    ----------
    images : np.ndarray
        ``float32 [n, h, w, c]`` in [0, 1] (feature rows ``[n, n_features]`` for tabular data;
        a numpy object array ``[n]`` of ``str`` for text; float32 waveforms ``[n, clip_samples]``
        in [-1, 1] for audio).
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
        ``"image"`` (float32 NHWC in [0, 1]), ``"tabular"`` (float32 feature rows),
        ``"text"`` (one ``str`` per example, ``input_shape == ()``) or ``"audio"`` (mono float32
        waveforms in [-1, 1] at ``sample_rate``, ``input_shape == (clip_samples,)``).
    class_names : list of str
        Label names in label order.
    input_shape : tuple of int
        Shape of one example, e.g. ``(8, 8, 1)`` for digits or ``(n_features,)``.
    num_classes : int
        ``len(class_names)``.
    description : str
        One line for pickers.
    source : str
        Where the data came from (a path, "bundled UCI optdigits", "generated").
    feature_names : list of str
        Tabular datasets only: the columns behind each feature; empty for images.
    spec : DatasetSpec
        The spec this dataset was loaded from (``memory:<what>`` for in-memory data);
        ``load(dataset.spec)`` rebuilds registry and folder datasets identically.
    sample_rate : int or None
        Audio datasets only: samples per second of every waveform (16 000); None otherwise.
    clip_samples : int or None
        Audio datasets only: samples per example, ``input_shape[0]``; None otherwise.
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
        sample_rate: int | None = None,
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
        self.sample_rate = sample_rate
        self.clip_samples = self.input_shape[0] if sample_rate is not None else None
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
            dtype = object if self.kind == "text" else np.float32
            return Page(np.zeros((0, *self.input_shape), dtype), np.zeros(0, np.int64), np.zeros(0, np.int64))
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

    def text_stats(self, split: str = "train", top: int = 10) -> pd.DataFrame:
        """Text datasets: examples, words per example and most frequent tokens per class of ``split``.

        See :func:`lepton_lab.core.datasets.text.text_stats`.
        """
        from lepton_lab.core.datasets.text import text_stats

        return text_stats(self, split, top)

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
        table = {"index": np.arange(len(rows)), "label": labels, "class": names}
        if self.kind == "text":
            table["text"] = self._store.get(rows)
        return pd.DataFrame(table)

    def as_tf_data(
        self,
        split: str,
        batch_size: int,
        augment: AugmentSpec | dict[str, Any] | None = None,
        shuffle: bool | None = None,
        seed: int = 0,
        cache: bool = True,
    ) -> tf.data.Dataset:
        """Batches of ``(float32 examples, int32 labels)`` for ``model.fit`` (``tf.string`` for text).

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
            Folder datasets: keep decoded images in memory after the first epoch. In-memory
            datasets are held as one tensor already.
        """
        from lepton_lab.core.datasets import pipeline

        options = pipeline.InputOptions(cache="memory" if cache else "none")
        return pipeline.batches(
            self, split, batch_size, augment=augment, shuffle=shuffle, seed=seed, options=options
        )
