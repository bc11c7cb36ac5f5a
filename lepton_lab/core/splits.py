"""Splits: deterministic, stratified train / validation / test partitions.

Every split keeps each class's share of the data (largest-remainder allocation,
so sizes are exact) and depends only on the labels and the seed.
"""

from __future__ import annotations

import numpy as np

#: Fraction held out for testing where a dataset has no official test split.
TEST_FRACTION = 0.2


def _allocate(counts: np.ndarray, n: int) -> np.ndarray:
    """Split ``n`` over classes in proportion to ``counts`` (largest remainder; sums to exactly ``n``)."""
    quotas = counts * (n / max(counts.sum(), 1))
    base = np.minimum(np.floor(quotas).astype(np.int64), counts)
    order = np.argsort(-(quotas - base), kind="stable")
    for k in order[: n - base.sum()]:
        base[k] += 1
    return base


def _stratified_take(
    rows: np.ndarray, labels: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Pick ``n`` of ``rows`` keeping class proportions: ``(taken, rest)``, each sorted."""
    classes, inverse = np.unique(labels[rows], return_inverse=True)
    counts = np.bincount(inverse, minlength=len(classes))
    taken = [
        rng.permutation(rows[inverse == k])[:share]
        for k, share in enumerate(_allocate(counts, min(n, len(rows))))
    ]
    picked = np.sort(np.concatenate(taken)) if taken else rows[:0]
    return picked, np.setdiff1d(rows, picked)


def stratified_split(
    labels: np.ndarray,
    seed: int,
    validation_split: float,
    test_split: float = TEST_FRACTION,
    test_rows: np.ndarray | None = None,
    subset: int | None = None,
) -> dict[str, np.ndarray]:
    """Deterministic stratified split of rows ``0..len(labels)-1``.

    ``test_rows`` marks an official test set; otherwise ``test_split`` of all rows
    is held out. ``validation_split`` of the remaining rows becomes validation.
    ``subset`` caps the train split; validation and test shrink by the same factor
    so that a quick experiment stays quick end to end.
    """
    rng = np.random.default_rng([seed, 20_240_601])
    everything = np.arange(len(labels))
    if test_rows is None:
        test, pool = _stratified_take(everything, labels, round(len(everything) * test_split), rng)
    else:
        test, pool = test_rows, np.setdiff1d(everything, test_rows)
    validation, train = _stratified_take(pool, labels, round(len(pool) * validation_split), rng)
    splits = {"train": train, "validation": validation, "test": test}
    if subset is not None and subset < len(train):
        factor = subset / len(train)
        for name, rows in splits.items():
            keep = subset if name == "train" else max(round(len(rows) * factor), min(len(rows), 1))
            splits[name] = _stratified_take(rows, labels, keep, rng)[0]
    return splits
