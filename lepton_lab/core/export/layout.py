"""Layout of a run's exports: directory names, SavedModel names and versions, ``export.json``.

TensorFlow-free: the server (listing a run's exports, finding the SavedModel to deploy) reads
these without loading a model.

::

    <run>/exports/savedmodel/<name>/<version>/   TF Serving's layout: saved_model.pb, variables/,
                                                 export.json (that version's record)
    <run>/exports/savedmodel/export.json         the latest SavedModel export's record
    <run>/exports/tflite[-<quantize>]/           model.tflite, export.json
    <run>/exports/onnx[-<quantize>]/             model.onnx, export.json
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

#: Export formats and the quantization modes each accepts (the first is the default).
QUANTIZE_BY_FORMAT: dict[str, tuple[str, ...]] = {
    "savedmodel": ("none",),
    "tflite": ("none", "float16", "dynamic", "int8"),
    "onnx": ("none", "dynamic"),
}
FORMATS = tuple(QUANTIZE_BY_FORMAT)
QUANTIZE_MODES = ("none", "float16", "dynamic", "int8")

#: Accuracy change (absolute, fraction of the test split) an export may make without a warning.
TOLERANCE = {"int8": 0.03}
DEFAULT_TOLERANCE = 0.01

EXPORTS_DIR = "exports"
MANIFEST = "export.json"
MODEL_FILES = {"tflite": "model.tflite", "onnx": "model.onnx"}


class ExportError(ValueError):
    """An export cannot be made as asked; the message names the problem and the fix."""


def check_options(format: str, quantize: str) -> None:
    """Raise :class:`ExportError` unless ``format`` accepts ``quantize``.

    Raises
    ------
    ExportError
        An unknown format or quantization, or a combination the format does not offer.
    """
    if format not in QUANTIZE_BY_FORMAT:
        raise ExportError(f"unknown export format {format!r}; use one of {', '.join(FORMATS)}")
    if quantize not in QUANTIZE_MODES:
        raise ExportError(f"unknown quantize {quantize!r}; use one of {', '.join(QUANTIZE_MODES)}")
    allowed = QUANTIZE_BY_FORMAT[format]
    if quantize not in allowed:
        offered = [name for name, modes in QUANTIZE_BY_FORMAT.items() if quantize in modes and name != format]
        raise ExportError(
            f"format {format!r} does not offer quantize={quantize!r} (it offers {', '.join(allowed)}); "
            f"for {quantize} quantization use --format {' or '.join(offered)}"
        )


def tolerance(quantize: str) -> float:
    """Accuracy change allowed for an export quantized with ``quantize``."""
    return TOLERANCE.get(quantize, DEFAULT_TOLERANCE)


def export_dir_name(format: str, quantize: str) -> str:
    """``<format>`` for ``quantize="none"``, else ``<format>-<quantize>`` (e.g. ``tflite-int8``)."""
    return format if quantize == "none" else f"{format}-{quantize}"


def safe_name(text: str | None) -> str:
    """``text`` as a model name of ``[a-z0-9_-]`` (TF Serving's model names, URL paths)."""
    name = re.sub(r"[^a-z0-9_-]+", "-", (text or "").lower()).strip("-_")
    return name[:64] or "model"


def check_name(name: str) -> str:
    """Return ``name`` if it is a valid model name, else raise :class:`ExportError` with a fix."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", name):
        raise ExportError(
            f"model name {name!r} is not allowed; use 1-64 characters of a-z, 0-9, '_' and '-' "
            f"starting with a letter or digit, e.g. {safe_name(name)!r}"
        )
    return name


def versions(name_dir: Path) -> list[int]:
    """Return the version numbers (numeric subdirectories) under a SavedModel ``<name>`` directory."""
    if not name_dir.is_dir():
        return []
    return sorted(int(p.name) for p in name_dir.iterdir() if p.is_dir() and p.name.isdigit())


def next_version(name_dir: Path) -> int:
    """Return the first version number after those already under ``name_dir`` (1 for none)."""
    existing = versions(name_dir)
    return existing[-1] + 1 if existing else 1


def exports_root(run_path: Path) -> Path:
    """``<run>/exports``."""
    return Path(run_path) / EXPORTS_DIR


def _run_path(run: Any) -> Path:
    return Path(getattr(run, "path", run))


def savedmodel_dir(run: Any, name: str | None = None) -> Path:
    """Return the ``<name>`` directory (holding version subdirectories) of a run's SavedModel export.

    Parameters
    ----------
    run : Run or path
        The run (or its directory).
    name : str, optional
        The model name; by default the one of the latest SavedModel export.

    Raises
    ------
    FileNotFoundError
        The run has no SavedModel export (of that name); the message says how to make one.
    """
    base = exports_root(_run_path(run)) / "savedmodel"
    if name is None:
        latest = read_manifest(base / MANIFEST)
        name = latest.get("name") if latest else None
    if name is None or not versions(base / name):
        what = f"named {name!r} " if name else ""
        raise FileNotFoundError(
            f"run {_run_path(run).name} has no SavedModel export {what}under {base}; "
            f"make one with `lepton-lab export-model {_run_path(run)} --format savedmodel`"
        )
    return base / name


def read_manifest(path: Path) -> dict[str, Any] | None:
    """Return the ``export.json`` at ``path``, or None if absent or unreadable (a half-written export)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically (a reader sees the old file or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".export-", suffix=".json", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
    os.replace(tmp, path)


def list_exports(run: Any) -> list[dict[str, Any]]:
    """Return the ``export.json`` of each of a run's exports, oldest first.

    Each SavedModel version counts as one export; the others one per directory
    (``tflite-int8``...). Half-written exports (no readable ``export.json``) are skipped.
    """
    root = exports_root(_run_path(run))
    if not root.is_dir():
        return []
    found: list[dict[str, Any]] = []
    for directory in sorted(root.iterdir()):
        if not directory.is_dir() or directory.name.startswith("."):
            continue
        if directory.name == "savedmodel":
            for name_dir in sorted(p for p in directory.iterdir() if p.is_dir()):
                for version in versions(name_dir):
                    manifest = read_manifest(name_dir / str(version) / MANIFEST)
                    if manifest is not None:
                        found.append(manifest)
        else:
            manifest = read_manifest(directory / MANIFEST)
            if manifest is not None:
                found.append(manifest)
    return sorted(found, key=lambda item: float(item.get("created") or 0))
