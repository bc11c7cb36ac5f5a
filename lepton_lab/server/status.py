"""What ``GET /lepton-lab/api/status`` reports, read without importing TensorFlow."""

from __future__ import annotations

import platform
from importlib import metadata
from typing import Any

from lepton_lab._version import __version__


def installed_version(distribution: str) -> str | None:
    """Version of an installed distribution from its metadata, or None if absent."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def tensorflow_version() -> str | None:
    """TensorFlow version workers will use (any of its distribution names)."""
    for name in ("tensorflow", "tensorflow-cpu", "tf-nightly"):
        version = installed_version(name)
        if version is not None:
            return version
    return None


def server_status(app: Any) -> dict[str, Any]:
    """Status payload for the extension app ``app``."""
    return {
        "lepton_lab": __version__,
        "tensorflow": tensorflow_version(),
        "keras": installed_version("keras"),
        "python": platform.python_version(),
        "runs_dir": str(app.runs_path),
    }
