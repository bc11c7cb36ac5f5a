"""The error every dataset source raises when its data is not on this machine."""

from __future__ import annotations


class DatasetUnavailable(RuntimeError):
    """The dataset's files are not on this machine and cannot be downloaded now.

    The message says exactly how to get them (a path to fill, or the package to install).
    """
