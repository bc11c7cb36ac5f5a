"""Datasets from a notebook's memory: image or feature arrays, pandas DataFrames and CSV files.

Their spec is named ``memory:<what>``: it records how the data was split, but only the
kernel that holds the arrays can load them again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lepton_lab.core.datasets.dataset import Dataset
from lepton_lab.core.datasets.text import from_text_frame as text_frame
from lepton_lab.core.datasets.text import text_dataset
from lepton_lab.core.example_store import ArrayStore
from lepton_lab.core.specs import DatasetSpec, parse
from lepton_lab.core.splits import TEST_FRACTION, stratified_split


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


def _audio_dataset(
    x: np.ndarray,
    labels: np.ndarray,
    names: list[str],
    splits: dict[str, np.ndarray],
    name: str,
    spec: DatasetSpec,
    sample_rate: int,
) -> Dataset:
    """Waveforms ``[n, samples]`` as an audio dataset (int16 kept as PCM, scaled per batch)."""
    if x.ndim != 2:
        raise ValueError(
            f"waveforms must be [n, samples] (mono, one length), got shape {x.shape}; pad or trim them"
        )
    if x.dtype == np.int16:
        store = ArrayStore(x, 1 / 32768)
    else:
        low, high = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
        if not np.issubdtype(x.dtype, np.floating) or low < -1 or high > 1:
            raise ValueError(
                f"waveform values range from {low} to {high} ({x.dtype}); give floats in [-1, 1] or int16 PCM"
            )
        store = ArrayStore(x.astype(np.float32))
    return Dataset(
        name,
        "audio",
        names,
        (x.shape[1],),
        store,
        labels,
        splits,
        description=f"{len(x)} clips of {x.shape[1] / sample_rate:g} s at {sample_rate} Hz",
        source="in-memory arrays",
        spec=spec,
        sample_rate=sample_rate,
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
    sample_rate: int | None = None,
) -> Dataset:
    """Make a dataset from in-memory arrays.

    Parameters
    ----------
    x : np.ndarray
        Images ``[n, h, w]`` / ``[n, h, w, c]`` (uint8 0-255 or float in [0, 1]),
        feature rows ``[n, n_features]`` (tabular), texts ``[n]`` (str: a text dataset) or,
        with ``sample_rate``, mono waveforms ``[n, samples]`` (float in [-1, 1] or int16 PCM: an
        audio dataset).
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
    sample_rate : int, optional
        Samples per second of waveforms ``x``: makes an audio dataset.
    """
    spec = _memory_spec(name, validation_split, seed, subset)
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} examples but y has {len(y)} labels; give one label per example")
    labels, names = _encode_labels(y, class_names)
    splits = stratified_split(labels, seed, validation_split, test_split=test_split, subset=subset)
    if x.ndim == 1 and len(x) and all(isinstance(value, str) for value in x.tolist()):
        texts = [str(value) for value in x.tolist()]
        return text_dataset(name, texts, labels, names, splits, f"{len(x)} texts", "in-memory arrays", spec)
    if sample_rate is not None:
        return _audio_dataset(x, labels, names, splits, name, spec, sample_rate)
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
    text: str | None = None,
) -> Dataset:
    """Make a tabular dataset from a DataFrame: every column but ``target`` is a feature.

    Text and category columns are one-hot encoded. With ``standardize`` numeric
    features are scaled to zero mean and unit variance using the train split's
    statistics only (no leakage from validation/test into training).

    With ``text`` the dataset is a text dataset instead (``kind="text"``): column ``text``
    holds one document per row, ``target`` its label, and other columns are ignored
    (``from_dataframe(df, text="review", target="label")``).
    """
    spec = _memory_spec(name, validation_split, seed, subset)
    if target not in df.columns:
        raise ValueError(
            f"target column {target!r} is not in the DataFrame; its columns are {list(df.columns)}"
        )
    if text is not None:
        if df[target].isna().any():
            raise ValueError(f"target column {target!r} has missing values; drop those rows first")
        labels, names = _encode_labels(df[target].to_numpy(), None)
        return text_frame(df, text, labels, names, name, spec, validation_split, test_split, seed, subset)
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
    # A copy of its own: standardised in place below, and with copy-on-write (pandas 3) to_numpy of
    # an all-float frame is a read-only view of the user's data.
    values = encoded.to_numpy(dtype=np.float32, copy=True)
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


def from_csv(path: str | Path, target: str, text: str | None = None, **options: Any) -> Dataset:
    """Make a dataset from a CSV file: :func:`from_dataframe` of ``pandas.read_csv(path)``.

    ``from_csv("reviews.csv", text="review", target="label")`` gives a text dataset; without
    ``text`` every other column is a feature (tabular). ``options`` are those of
    :func:`from_dataframe` (``validation_split``, ``seed``, ``subset``...).
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise FileNotFoundError(f"CSV file {str(file)!r} does not exist; give the path of a .csv file")
    frame = pd.read_csv(file, keep_default_na=text is None)
    options.setdefault("name", f"memory:{file.name}")
    return from_dataframe(frame, target=target, text=text, **options)
