"""Deleting runs: remove one run directory, and nothing else, after asking.

A run is addressed by its id, the name of its directory inside the runs directory. Ids are
checked before any path is built (no ``/``, no ``..``, no hidden names), the directory must be a
real run directory directly inside the runs directory (not a symlink, with a ``spec.json``), and a
queued or running run is refused: cancel it first. The directory is first renamed to a hidden
name, so scanners never see a half-deleted run, then removed without following symlinks.

Examples
--------
>>> import lepton_lab as ll
>>> ll.delete_run("20240501-101500-cnn-1a2b")                  # doctest: +SKIP
Delete run 20240501-101500-cnn-1a2b (cnn, 1.4 MB)? [y/N] y
True
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lepton_lab.core.job_status import ACTIVE_STATUSES
from lepton_lab.core.rundir import RunDir
from lepton_lab.core.runmeta import display_name

#: What a run id may look like: a directory name, never a path.
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+=@-]{0,254}")


class RunIdError(ValueError):
    """A run id that is not a plain directory name (it could point outside the runs directory)."""

    http_status = 400


class RunDirRefused(PermissionError):
    """The entry is a symlink or lies outside the runs directory: it is never deleted."""

    http_status = 403


class ActiveRunError(RuntimeError):
    """The run is queued or running: it has to be cancelled before it can be deleted."""

    http_status = 409


def check_run_id(run_id: str) -> str:
    """Return ``run_id`` if it is a plain run directory name, else raise :class:`RunIdError`."""
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id) or ".." in run_id:
        raise RunIdError(
            f"run id {run_id!r} is not a run directory name (letters, digits, '.', '_', '-'; "
            "no '/', no '..', not hidden); list the runs with lepton_lab.runs()"
        )
    return run_id


def run_size(run: RunDir) -> int:
    """Bytes of the files in the run directory (symlinks count as links, not as their targets)."""
    total = 0
    for folder, _dirs, files in os.walk(run.path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue  # removed meanwhile
    return total


def format_size(size: int) -> str:
    """``1.4 MB`` (decimal megabytes, at least one decimal so small runs do not read ``0 MB``)."""
    return f"{size / 1e6:.1f} MB" if size >= 50_000 else f"{size / 1e6:.2f} MB"


def confirm_delete(run_id: str, name: str | None, size: int, ask: Callable[[str], str] | None = None) -> bool:
    """Ask ``Delete run <id> (<name>, N MB)? [y/N]`` with ``ask`` (default ``input``); True only for yes."""
    label = f"{name}, {format_size(size)}" if name else format_size(size)
    answer = (ask or input)(f"Delete run {run_id} ({label})? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def run_directory(runs_dir: str | os.PathLike[str], run_id: str) -> RunDir:
    """Return the run directory ``run_id`` directly inside ``runs_dir``, checked to be a real one.

    Raises
    ------
    RunIdError
        For ids that are not plain names.
    FileNotFoundError
        When there is no such run directory.
    RunDirRefused
        When the entry is a symlink or resolves outside ``runs_dir``.
    """
    check_run_id(run_id)
    parent = Path(runs_dir).resolve()
    path = parent / run_id
    if path.is_symlink() or (path.exists() and path.resolve().parent != parent):
        raise RunDirRefused(f"{path} is a link, not a run directory inside {parent}; it is left alone")
    if not (path / "spec.json").is_file():
        raise FileNotFoundError(f"no run {run_id!r} in {parent} (no {run_id}/spec.json)")
    return RunDir(path)


def remove_run_dir(run: RunDir) -> None:
    """Delete ``run``'s directory and everything in it, never anything outside it.

    Callers check that the run is not active (:func:`ensure_inactive`) and that ``run`` came from
    :func:`run_directory`. The directory is renamed to a hidden sibling first, so the run vanishes
    at once from listings, then removed without following symlinks.
    """
    path = run.path
    if path.is_symlink() or not path.is_dir():
        raise RunDirRefused(f"{path} is not a run directory; nothing was deleted")
    doomed = path.with_name(f".deleting-{path.name}-{secrets.token_hex(3)}")
    os.rename(path, doomed)
    shutil.rmtree(doomed)


def ensure_inactive(run: RunDir, status: str | None = None) -> None:
    """Raise :class:`ActiveRunError` if the run is queued or running (``status`` overrides its file)."""
    status = status or str(run.read_status().get("status") or "queued")
    if status in ACTIVE_STATUSES:
        raise ActiveRunError(
            f"run {run.id} is {status}; cancel it first (the panel's Cancel, job.cancel(), or "
            "run.stop() where it trains), then delete it"
        )


def delete_run(
    run: Any,
    confirm: bool = True,
    runs_dir: str | os.PathLike[str] = "lepton-runs",
    ask: Callable[[str], str] | None = None,
) -> bool:
    """Delete a run directory, after asking ``Delete run <id> (<name>, N MB)? [y/N]``.

    Works on the runs directory itself, with or without a Jupyter server; a server watching that
    directory drops the run from its list within a second.

    Parameters
    ----------
    run
        A run id (a directory name in ``runs_dir``), a :class:`~lepton_lab.core.run_store.Run`, or
        the path of a run directory.
    confirm
        Ask first (with ``input()``); ``False`` deletes without asking.
    runs_dir
        Where the run directories are (ignored for a ``Run``).
    ask
        The prompt function (default ``input``; tests pass a fake).

    Returns
    -------
    bool
        True if the run was deleted, False if the answer was no.

    Raises
    ------
    ActiveRunError
        The run is queued or running: cancel it first.
    RunIdError, FileNotFoundError
        The id is not a run directory name, or there is no such run.
    """
    if isinstance(run, str):
        directory = run_directory(runs_dir, run)
    else:
        path = Path(run) if isinstance(run, os.PathLike) else Path(run.path)
        directory = run_directory(path.parent, path.name)
    ensure_inactive(directory)
    if confirm and not confirm_delete(directory.id, display_name(directory), run_size(directory), ask):
        return False
    ensure_inactive(directory)  # it may have been resumed while the question was open
    remove_run_dir(directory)
    return True
