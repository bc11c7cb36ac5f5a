"""Text datasets: fortunes, IMDB from the Keras cache, ``.txt`` class folders, DataFrames and CSV.

Every text dataset has ``kind == "text"``, ``input_shape == ()`` (one string per example),
pages of numpy object arrays of ``str`` and :meth:`Dataset.as_tf_data` batches of ``tf.string``.
Texts are small, so they are read once and held in a :class:`~lepton_lab.core.example_store.TextStore`.
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lepton_lab.core import dataset_files
from lepton_lab.core.datasets import fortunes
from lepton_lab.core.datasets.dataset import Dataset
from lepton_lab.core.datasets.errors import DatasetUnavailable
from lepton_lab.core.example_store import TextStore
from lepton_lab.core.specs import DatasetSpec
from lepton_lab.core.splits import TEST_FRACTION, stratified_split

#: Suffix of the text files in a ``folder:`` dataset (keras ``text_dataset_from_directory``).
TEXT_SUFFIXES = (".txt",)
#: The registry's text datasets.
NAMES = ("fortunes_topics", "fortunes_languages", "imdb")
IMDB_CLASSES = ("neg", "pos")
IMDB_DESCRIPTION = "IMDB movie reviews, positive or negative: 25 000 train and 25 000 test; text."


def text_dataset(
    name: str,
    texts: list[str] | tuple[str, ...],
    labels: np.ndarray,
    class_names: list[str],
    splits: dict[str, np.ndarray],
    description: str,
    source: str,
    spec: DatasetSpec | None = None,
    frame: pd.DataFrame | None = None,
) -> Dataset:
    """Wrap texts and labels already split as a ``kind="text"`` :class:`Dataset`."""
    return Dataset(
        name,
        "text",
        class_names,
        (),
        TextStore(texts),
        labels,
        splits,
        description=description,
        source=source,
        frame=frame,
        spec=spec,
    )


# --- registry: fortunes and IMDB -----------------------------------------------------------------------


def available_entries() -> list[dict[str, Any]]:
    """List the text datasets for :func:`~lepton_lab.core.datasets.available`; reads no text."""
    entries = []
    for name in ("fortunes_topics", "fortunes_languages"):
        missing = fortunes.missing_packages(name)
        entries.append(
            {
                "name": name,
                "offline": not missing,
                "description": fortunes.DESCRIPTIONS[name],
                "source": str(fortunes.FORTUNES_DIR),
                "hint": fortunes.unavailable_message(name) if missing else None,
            }
        )
    found = _imdb_source()
    entries.append(
        {
            "name": "imdb",
            "offline": found is not None,
            "description": IMDB_DESCRIPTION,
            "source": str(found) if found else "Keras cache",
            "hint": None if found else imdb_unavailable_message(),
        }
    )
    return entries


def load_fortunes(spec: DatasetSpec) -> Dataset:
    """``fortunes_topics`` or ``fortunes_languages`` (see :mod:`.fortunes`).

    Raises
    ------
    DatasetUnavailable
        A Debian package is missing; the message names it.
    """
    try:
        texts, labels, names = fortunes.corpus(spec.name)
    except FileNotFoundError as error:
        raise DatasetUnavailable(str(error)) from None
    return text_dataset(
        spec.name,
        texts,
        labels,
        list(names),
        stratified_split(labels, spec.seed, spec.validation_split, subset=spec.subset),
        fortunes.DESCRIPTIONS[spec.name],
        str(fortunes.FORTUNES_DIR),
    )


def _imdb_source() -> Path | None:
    """Find the IMDB files in the Keras cache: the ``aclImdb`` folder, else ``imdb.npz`` + word index."""
    cache = dataset_files.keras_datasets_dir()
    # Unpacked by hand, or by keras.utils.get_file (Keras 2 next to the archive, Keras 3 in *_extracted).
    for folder in (
        cache / "aclImdb",
        cache / "aclImdb_v1" / "aclImdb",
        cache / "aclImdb_v1_extracted" / "aclImdb",
    ):
        if (folder / "train" / "pos").is_dir() and (folder / "test" / "neg").is_dir():
            return folder
    if (cache / "imdb.npz").is_file() and (cache / "imdb_word_index.json").is_file():
        return cache / "imdb.npz"
    return None


def imdb_unavailable_message() -> str:
    """How to put IMDB in the Keras cache (it is never downloaded behind the user's back)."""
    cache = dataset_files.keras_datasets_dir()
    return (
        f"imdb is read only from the Keras cache ({cache}) and is not there (this machine is offline or "
        "Lepton Lab never downloads it itself). Unpack https://ai.stanford.edu/~amaas/data/sentiment/"
        f"aclImdb_v1.tar.gz so that {cache / 'aclImdb' / 'train' / 'pos'} exists, or run "
        "keras.datasets.imdb.load_data() and keras.datasets.imdb.get_word_index() once online "
        f"(imdb.npz and imdb_word_index.json in {cache}); offline, use fortunes_topics or fortunes_languages"
    )


@functools.lru_cache(maxsize=1)
def _imdb(path: Path) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """``(texts, labels, test_rows)`` of IMDB at ``path`` (train first, then the official test set)."""
    texts: list[str] = []
    labels: list[int] = []
    test_start = 0
    if path.is_dir():
        for split in ("train", "test"):
            test_start = len(texts) if split == "test" else test_start
            for label, class_name in enumerate(IMDB_CLASSES):
                for file in sorted((path / split / class_name).glob("*.txt")):
                    texts.append(file.read_text(encoding="utf-8", errors="replace"))
                    labels.append(label)
    else:
        # imdb.npz holds word indices offset by 3 (0 padding, 1 start, 2 out of vocabulary).
        index = json.loads((path.parent / "imdb_word_index.json").read_text(encoding="utf-8"))
        words = {value + 3: word for word, value in index.items()}
        with np.load(path, allow_pickle=True) as stored:
            parts = [(stored["x_train"], stored["y_train"]), (stored["x_test"], stored["y_test"])]
        for part, (sequences, targets) in enumerate(parts):
            test_start = len(texts) if part == 1 else test_start
            texts.extend(" ".join(words.get(int(i), "[UNK]") for i in seq if int(i) > 2) for seq in sequences)
            labels.extend(int(target) for target in targets)
    return tuple(texts), np.asarray(labels, dtype=np.int64), np.arange(test_start, len(texts))


def load_imdb(spec: DatasetSpec) -> Dataset:
    """IMDB from the Keras cache, with its official test split.

    Raises
    ------
    DatasetUnavailable
        IMDB is not in the Keras cache; the message says how to put it there.
    """
    path = _imdb_source()
    if path is None:
        raise DatasetUnavailable(imdb_unavailable_message())
    texts, labels, test_rows = _imdb(path)
    splits = stratified_split(
        labels, spec.seed, spec.validation_split, test_rows=test_rows, subset=spec.subset
    )
    return text_dataset("imdb", texts, labels, list(IMDB_CLASSES), splits, IMDB_DESCRIPTION, str(path))


# --- folders -------------------------------------------------------------------------------------------


def load_folder(spec: DatasetSpec, root: Path) -> Dataset:
    """Load a class-per-subfolder directory of ``.txt`` files (keras ``text_dataset_from_directory``).

    Raises
    ------
    ValueError
        A file is not UTF-8 text; the message names it.
    """
    texts: list[str] = []
    labels: list[int] = []
    class_names: list[str] = []
    for folder in sorted(
        entry for entry in root.iterdir() if entry.is_dir() and not entry.name.startswith(".")
    ):
        files = sorted(
            entry for entry in folder.rglob("*") if entry.suffix.lower() in TEXT_SUFFIXES and entry.is_file()
        )
        if not files:
            continue
        for file in files:
            try:
                texts.append(file.read_text(encoding="utf-8"))
            except UnicodeDecodeError as error:
                raise ValueError(
                    f"{file} is not UTF-8 text ({error.reason} at byte {error.start}); "
                    "convert it, e.g. iconv -f latin1 -t utf-8"
                ) from None
        labels.extend([len(class_names)] * len(files))
        class_names.append(folder.name)
    label_array = np.asarray(labels, dtype=np.int64)
    return text_dataset(
        spec.name,
        texts,
        label_array,
        class_names,
        stratified_split(label_array, spec.seed, spec.validation_split, subset=spec.subset),
        f"{len(texts)} text files in {len(class_names)} class folders",
        str(root),
    )


# --- DataFrames and CSV --------------------------------------------------------------------------------


def from_text_frame(
    df: pd.DataFrame,
    text: str,
    labels: np.ndarray,
    class_names: list[str],
    name: str,
    spec: DatasetSpec,
    validation_split: float,
    test_split: float = TEST_FRACTION,
    seed: int = 0,
    subset: int | None = None,
) -> Dataset:
    """Make a text dataset from DataFrame column ``text``, labels already encoded by the caller.

    Raises
    ------
    ValueError
        ``text`` is not a column, or holds missing or non-string values.
    """
    if text not in df.columns:
        raise ValueError(f"text column {text!r} is not in the DataFrame; its columns are {list(df.columns)}")
    column = df[text]
    if column.isna().any():
        raise ValueError(
            f"text column {text!r} has {int(column.isna().sum())} missing values; drop or fill them first, "
            f"e.g. df.dropna(subset=[{text!r}])"
        )
    not_text = [value for value in column if not isinstance(value, str)][:3]
    if not_text:
        raise ValueError(
            f"text column {text!r} holds non-text values such as {not_text!r}; convert it with "
            f"df[{text!r}].astype(str) or name the column that holds the text"
        )
    return text_dataset(
        name,
        column.tolist(),
        labels,
        class_names,
        stratified_split(labels, seed, validation_split, test_split=test_split, subset=subset),
        f"{len(df)} texts from column {text!r}",
        "in-memory DataFrame",
        spec=spec,
        frame=df,
    )


# --- statistics ----------------------------------------------------------------------------------------

#: Keras TextVectorization's ``lower_and_strip_punctuation``: the tokens statistics count are the
#: tokens a default vectorizer sees.
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~\']')


def tokens(text: str) -> list[str]:
    """Split ``text`` as a default ``TextVectorization`` does: lower case, no punctuation, whitespace."""
    return _PUNCTUATION.sub("", text.lower()).split()


def text_stats(dataset: Dataset, split: str = "train", top: int = 10) -> pd.DataFrame:
    """Per class of ``split``: examples, words per example (mean, median, max) and most frequent tokens.

    Words are counted as :func:`tokens` splits them. One row per class, by class name.
    """
    if dataset.kind != "text":
        raise ValueError(f"{dataset.name} is a {dataset.kind} dataset; text_stats() is for text datasets")
    texts, labels = dataset.arrays(split)
    split_texts = [tokens(text) for text in texts]
    lengths = np.asarray([len(words) for words in split_texts], dtype=np.int64)
    rows = []
    for label, name in enumerate(dataset.class_names):
        members = np.flatnonzero(labels == label)
        counter = Counter(word for i in members for word in split_texts[i])
        sizes = lengths[members]
        rows.append(
            {
                "class": name,
                "examples": len(members),
                "mean_words": float(sizes.mean()) if len(sizes) else 0.0,
                "median_words": float(np.median(sizes)) if len(sizes) else 0.0,
                "max_words": int(sizes.max()) if len(sizes) else 0,
                "top_tokens": [word for word, _ in counter.most_common(top)],
            }
        )
    return pd.DataFrame(rows).set_index("class")
