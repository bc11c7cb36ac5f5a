"""Run annotations: the display name, note and archived flag a person gives a run after training.

They live in the run directory's ``meta.json`` (written atomically), beside ``spec.json``, which
stays exactly as trained. A copied run directory keeps its annotations; a run without
``meta.json`` has none (its name is the one it was trained with, no note, not archived).

Examples
--------
>>> import tempfile
>>> from lepton_lab.core.rundir import RunDir
>>> run = RunDir.create(tempfile.mkdtemp(), {"name": "cnn", "dataset": {"name": "digits"}})
>>> update_meta(run, name="cnn, lr 0.01", archived=True)["name"]
'cnn, lr 0.01'
>>> display_name(run), read_meta(run)["archived"]
('cnn, lr 0.01', True)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lepton_lab.core.rundir import RunDir, now_iso, read_json, write_json_atomic

#: File of the annotations inside a run directory.
META_FILE = "meta.json"
#: Longest display name, in characters.
NAME_MAX = 200
#: Longest note, in characters.
NOTE_MAX = 10_000
#: Fields a person may set.
META_FIELDS = ("name", "note", "archived")


class MetaError(ValueError):
    """An annotation that cannot be stored as given (the message names the field and the limit)."""

    http_status = 400


def meta_path(run: RunDir) -> Path:
    """``meta.json`` of ``run``."""
    return run.path / META_FILE


def read_meta(run: RunDir) -> dict[str, Any]:
    """Read the annotations: ``name`` (None: the trained name), ``note`` (None), ``archived`` (False).

    A missing or unreadable ``meta.json`` means no annotations: it must never hide a run.
    """
    try:
        stored = read_json(meta_path(run))
    except (OSError, ValueError):
        stored = {}
    if not isinstance(stored, dict):
        stored = {}
    name = stored.get("name")
    note = stored.get("note")
    return {
        "name": name if isinstance(name, str) and name.strip() else None,
        "note": note if isinstance(note, str) and note else None,
        "archived": stored.get("archived") is True,
        "updated": stored.get("updated"),
    }


def validate_meta(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Check a partial update of ``name`` / ``note`` / ``archived``; return it normalised.

    ``name`` and ``note`` accept a string or None (None or an empty string clears them: the
    run shows its trained name again); ``archived`` a boolean.

    Raises
    ------
    MetaError
        Naming the field: unknown, of the wrong type, or too long.
    """
    if not isinstance(changes, Mapping):
        raise MetaError(
            f"expected a JSON object with any of {', '.join(META_FIELDS)}, got {type(changes).__name__}"
        )
    unknown = sorted(set(changes) - set(META_FIELDS))
    if unknown:
        raise MetaError(f"{unknown[0]}: not an annotation; only {', '.join(META_FIELDS)} can be changed")
    if not changes:
        raise MetaError(f"nothing to change: give any of {', '.join(META_FIELDS)}")
    clean: dict[str, Any] = {}
    for field, limit in (("name", NAME_MAX), ("note", NOTE_MAX)):
        if field not in changes:
            continue
        value = changes[field]
        if value is not None and not isinstance(value, str):
            raise MetaError(f"{field}: expected a string or null, got {type(value).__name__}")
        text = (value or "").strip() if field == "name" else (value or "")
        if len(text) > limit:
            raise MetaError(f"{field}: {len(text)} characters is too long; at most {limit:,} are allowed")
        if field == "name" and any(ord(c) < 32 for c in text):
            raise MetaError("name: must be one line (no newlines or control characters)")
        clean[field] = text or None
    if "archived" in changes:
        if not isinstance(changes["archived"], bool):
            raise MetaError(f"archived: expected true or false, got {changes['archived']!r}")
        clean["archived"] = changes["archived"]
    return clean


def update_meta(run: RunDir, **changes: Any) -> dict[str, Any]:
    """Validate ``changes`` (see :func:`validate_meta`), merge them into ``meta.json``; return the result."""
    clean = validate_meta(changes)
    if not run.spec_path.is_file():
        raise FileNotFoundError(f"{run.path} is not a run directory (no spec.json)")
    meta = read_meta(run)
    meta.update(clean)
    meta["updated"] = now_iso()
    stored = {key: value for key, value in meta.items() if value not in (None, False)}
    write_json_atomic(meta_path(run), stored)
    return read_meta(run)


def display_name(run: RunDir, document: Mapping[str, Any] | None = None) -> str | None:
    """Return the name to show: the one a person gave the run, else its trained name (``spec.json``)."""
    name = read_meta(run)["name"]
    if name:
        return str(name)
    if document is None:
        try:
            document = run.read_spec_document()
        except (OSError, ValueError):
            return None
    trained = document.get("name")
    return str(trained) if trained is not None else None
