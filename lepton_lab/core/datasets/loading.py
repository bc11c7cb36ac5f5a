"""load(): one entry point that picks the source for a name, spec, arrays or DataFrame."""

from __future__ import annotations

from typing import Any

import pandas as pd

from lepton_lab.core.datasets.builtin import from_spec
from lepton_lab.core.datasets.dataset import Dataset
from lepton_lab.core.datasets.memory import from_arrays, from_csv, from_dataframe
from lepton_lab.core.specs import DatasetSpec, parse


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
        a pair of arrays (see :func:`from_arrays`), a DataFrame or a ``.csv`` path (pass
        ``target=``, and ``text=`` for a text column; see :func:`from_dataframe`).
    **overrides
        DatasetSpec fields (``validation_split``, ``subset``, ``seed``, ``image_size``, and
        ``count`` for ``shapes`` (default 3000) and ``spoken_digits`` (default 2000))
        overriding those of the spec; for arrays and DataFrames the keyword arguments of :func:`from_arrays` /
        :func:`from_dataframe`.

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
    if isinstance(spec_or_name, str) and spec_or_name.lower().endswith(".csv"):
        if "target" not in overrides:
            raise ValueError("loading a CSV file needs the label column: load('reviews.csv', target='label')")
        return from_csv(spec_or_name, **overrides)
    spec = _spec(spec_or_name, overrides)
    dataset = from_spec(spec)
    dataset.spec = spec  # with its count, so load(dataset.spec) makes the same clips or images
    return dataset
