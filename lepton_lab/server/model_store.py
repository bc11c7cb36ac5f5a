"""Deployments on disk, and finding the SavedModel a deployment serves.

A deployment lives under ``<runs_dir>/.models/<name>/``::

    model.json      name, current version, versions, run id and source of each version,
                    classes, input spec, training class distribution, created
    worker.log      what its model workers wrote to standard error
    1/  2/  ...     SavedModel versions, copied from a run's export (``saved_model.pb``, ``variables/``)

so a restarted server redeploys what it served, even if the run's export is later deleted.
A SavedModel export is found in TF Serving's layout, ``<name>/<version>/saved_model.pb``, as
:mod:`lepton_lab.core.export` writes it under ``<run>/exports/savedmodel/``. The run's class
names and training class distribution come from the export's ``export.json`` when it records
them, otherwise from the run's ``evaluation.json``: the test split is stratified
(:mod:`lepton_lab.core.splits`), so its class shares are the training split's to within
rounding.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from lepton_lab.core.export.layout import check_name as valid_name
from lepton_lab.core.export.layout import safe_name
from lepton_lab.core.rundir import EVALUATION_FILE, SPEC_FILE, read_json, write_json_atomic

__all__ = [
    "MODELS_DIR",
    "DeploymentSource",
    "find_run_savedmodel",
    "resolve_export_dir",
    "run_metadata",
    "safe_name",
    "valid_name",
]

#: Folder of the runs directory holding deployments (hidden: not a run).
MODELS_DIR = ".models"
MODEL_FILE = "model.json"
WORKER_LOG = "worker.log"
EXPORT_FILE = "export.json"


class DeploymentSource:
    """A SavedModel version directory and what is known of it.

    Attributes
    ----------
    version_dir
        ``<name>/<version>/`` holding ``saved_model.pb``.
    export_name
        The ``<name>`` folder (the default deployment name).
    run_dir
        The run directory it was exported from, when it lies inside one.
    """

    def __init__(self, version_dir: Path) -> None:
        self.version_dir = version_dir
        self.export_name = version_dir.parent.name
        self.run_dir = next((p for p in version_dir.parents if (p / SPEC_FILE).is_file()), None)

    @property
    def run_id(self) -> str | None:
        """The run's id (its folder name), if it came from a run."""
        return self.run_dir.name if self.run_dir else None

    def export_json(self) -> dict[str, Any]:
        """Return the nearest ``export.json`` above the version directory (within the run), or {}."""
        for folder in (self.version_dir, *self.version_dir.parents):
            if (folder / EXPORT_FILE).is_file():
                data = read_json(folder / EXPORT_FILE)
                return data if isinstance(data, dict) else {}
            if self.run_dir is not None and folder == self.run_dir:
                break
        return {}


def _versions(name_dir: Path) -> list[int]:
    return (
        sorted(
            int(p.name) for p in name_dir.iterdir() if p.name.isdigit() and (p / "saved_model.pb").is_file()
        )
        if name_dir.is_dir()
        else []
    )


def resolve_export_dir(path: Path) -> DeploymentSource:
    """Find the SavedModel version to serve at ``path``.

    ``path`` is a version directory, its ``<name>`` directory (the newest version is served), or
    a folder holding one ``<name>`` directory (``<run>/exports/savedmodel``).
    """
    path = Path(path).expanduser().resolve()
    if (path / "saved_model.pb").is_file():
        return DeploymentSource(path)
    if versions := _versions(path):
        return DeploymentSource(path / str(versions[-1]))
    names = [p for p in sorted(path.iterdir()) if _versions(p)] if path.is_dir() else []
    if len(names) == 1:
        return DeploymentSource(names[0] / str(_versions(names[0])[-1]))
    what = (
        f"holds several exports ({', '.join(p.name for p in names)}); pass one of them"
        if names
        else (
            "is not a SavedModel: expected saved_model.pb in it or in numbered version folders "
            "(<name>/<version>/), as `lepton-lab export-model RUN --format savedmodel` writes"
        )
    )
    raise ValueError(f"{path} {what}")


def find_run_savedmodel(run_dir: Path, name: str | None = None) -> DeploymentSource | None:
    """Find the run's SavedModel export to deploy; None when the run has none yet.

    The export called ``name`` if there is one, else the newest.
    """
    root = run_dir / "exports" / "savedmodel"
    exports = [p for p in sorted(root.iterdir()) if _versions(p)] if root.is_dir() else []
    if not exports:
        return None
    chosen = next((p for p in exports if p.name == name), None) or max(
        exports, key=lambda p: (p / str(_versions(p)[-1])).stat().st_mtime
    )
    return DeploymentSource(chosen / str(_versions(chosen)[-1]))


def run_metadata(source: DeploymentSource) -> dict[str, Any]:
    """``classes``, ``input`` and ``training_distribution`` of a SavedModel, as far as known."""
    export = source.export_json()
    classes = export.get("classes")
    distribution = export.get("training_distribution")
    # A run evaluated before the export recorded its class counts, or never evaluated: no file.
    evaluation_file = source.run_dir / EVALUATION_FILE if source.run_dir else None
    evaluation = read_json(evaluation_file) if evaluation_file and evaluation_file.is_file() else None
    if isinstance(evaluation, dict):
        classes = classes or evaluation.get("class_names")
        support = [row.get("support", 0) for row in evaluation.get("per_class", [])]
        if distribution is None and sum(support) > 0:
            distribution = [s / sum(support) for s in support]
    spec = export.get("input") or {}
    return {
        "classes": [str(c) for c in classes] if classes else None,
        "input": {"shape": spec["shape"], "dtype": spec.get("dtype", "uint8")} if "shape" in spec else None,
        "training_distribution": distribution,
    }


class ModelStore:
    """The deployments folder ``<runs_dir>/.models``: read, add a version, remove."""

    def __init__(self, runs_dir: Path) -> None:
        self.root = Path(runs_dir) / MODELS_DIR

    def names(self) -> list[str]:
        """Names of the deployments on disk."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / MODEL_FILE).is_file())

    def folder(self, name: str) -> Path:
        """Return the deployment's folder."""
        return self.root / name

    def read(self, name: str) -> dict[str, Any]:
        """Its ``model.json``."""
        data = read_json(self.folder(name) / MODEL_FILE)
        if not isinstance(data, dict):
            raise ValueError(f"{self.folder(name) / MODEL_FILE} is not a model record")
        return data

    def write(self, record: dict[str, Any]) -> None:
        """Replace its ``model.json`` (atomically)."""
        write_json_atomic(self.folder(record["name"]) / MODEL_FILE, record)

    def add_version(self, name: str, source: DeploymentSource, meta: dict[str, Any]) -> dict[str, Any]:
        """Copy ``source`` in as the next version; the record with it current (not yet written)."""
        folder = self.folder(name)
        folder.mkdir(parents=True, exist_ok=True)
        record: dict[str, Any] = (
            self.read(name)
            if (folder / MODEL_FILE).is_file()
            else {
                "name": name,
                "created": time.time(),
                "versions": [],
                "sources": {},
            }
        )
        version = max([*record["versions"], *_versions(folder), 0]) + 1
        staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=folder))
        try:
            shutil.copytree(source.version_dir, staging, dirs_exist_ok=True)
            os.replace(staging, folder / str(version))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        record["versions"] = [*record["versions"], version]
        record["sources"][str(version)] = {
            "run_id": source.run_id,
            "path": str(source.version_dir),
            **{k: meta.get(k) for k in ("classes", "input")},
            "training_distribution": meta.get("training_distribution"),
        }
        return {**record, "version": version, "run_id": source.run_id, **meta}

    def remove_version(self, name: str, version: int) -> None:
        """Delete a version's folder (a new version that failed to load)."""
        shutil.rmtree(self.folder(name) / str(version), ignore_errors=True)

    def remove(self, name: str) -> None:
        """Delete the deployment's folder."""
        shutil.rmtree(self.folder(name), ignore_errors=True)
