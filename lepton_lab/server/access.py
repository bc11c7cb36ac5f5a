"""Access: which files the API may serve and which dataset folders jobs may read.

Artifacts are served only from inside their run directory: absolute names, ``..`` components and
symlinks that resolve outside it are refused. ``folder:`` datasets must lie under one of the
allowed dataset roots (``LeptonLabApp.dataset_roots``, default the server's root directory).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from lepton_lab.core.specs import JobSpec, parse_job

#: Short names of the usual artifacts of a run directory.
ARTIFACT_ALIASES = {
    "model": "model.keras",
    "report": "report.html",
    "log": "worker.log",
    "logs": "worker.log",
    "spec": "spec.json",
    "status": "status.json",
    "events": "events.jsonl",
    "evaluation": "evaluation.json",
}

#: Content type of each kind of run-directory file, by suffix; every other file is sent as
#: ``application/octet-stream`` (``openapi.json`` lists exactly these).
ARTIFACT_CONTENT_TYPES = {
    ".json": "application/json",
    ".jsonl": "application/x-ndjson",
    ".log": "text/plain",
    ".txt": "text/plain",
    ".html": "text/html",
    ".csv": "text/csv",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".keras": "application/zip",
}
DEFAULT_CONTENT_TYPE = "application/octet-stream"


def artifact_content_type(path: Path) -> str:
    """Content type ``GET jobs/{id}/artifacts/{name}`` sends ``path`` with."""
    return ARTIFACT_CONTENT_TYPES.get(path.suffix.lower(), DEFAULT_CONTENT_TYPE)


class ArtifactNotFound(LookupError):
    """The run directory has no such file (yet)."""

    http_status = 404


class ArtifactRefused(PermissionError):
    """The artifact name points outside the run directory."""

    http_status = 403


class DatasetRefused(ValueError):
    """A dataset the server may not read (outside the allowed roots, or in-kernel only)."""

    http_status = 400


def artifact_path(run_dir: Path, name: str, job_id: str) -> Path:
    """Return the file ``name`` inside ``run_dir`` (a relative path, or an alias such as ``model``).

    Raises
    ------
    ArtifactRefused
        For absolute paths, ``..`` components and symlinks leading out of the run directory.
    ArtifactNotFound
        When there is no such file.
    """
    root = run_dir.resolve()
    relative = PurePosixPath(ARTIFACT_ALIASES.get(name, name))
    if not name or relative.is_absolute() or ".." in relative.parts or "\\" in name or "\0" in name:
        raise ArtifactRefused(
            f"artifact name {name!r} must be a relative path inside the run directory "
            f"(no '..', no leading '/'), or one of {', '.join(ARTIFACT_ALIASES)}"
        )
    target = (root / relative).resolve()
    if not target.is_relative_to(root):
        raise ArtifactRefused(f"artifact {name!r} leads outside the run directory of job {job_id}")
    if not target.is_file():
        raise ArtifactNotFound(
            f"job {job_id} has no artifact {name!r}; list them with GET jobs/{job_id}/artifacts"
        )
    return target


def artifacts(run_dir: Path) -> list[dict[str, Any]]:
    """List the files inside ``run_dir`` (relative names and sizes), skipping hidden ones."""
    root = run_dir.resolve()
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.startswith(".") and path.resolve().is_relative_to(root):
            found.append({"name": path.relative_to(root).as_posix(), "size": path.stat().st_size})
    return found


def allowed_dataset(spec: JobSpec, cwd: Path, roots: Sequence[Path]) -> JobSpec:
    """Check that the server may read ``spec``'s dataset; return it with a ``folder:`` path made absolute.

    Parameters
    ----------
    spec
        The job.
    cwd
        Directory relative ``folder:`` paths are resolved against (the server's root).
    roots
        Allowed dataset roots; empty means ``cwd`` only.

    Raises
    ------
    DatasetRefused
        Naming ``dataset.name`` and how to fix it.
    """
    name = spec.dataset.name
    if name.startswith("memory:"):
        raise DatasetRefused(
            f"dataset.name: {name!r} is an in-memory dataset that exists only inside a kernel; "
            "train it in the kernel with lepton_lab.train(...), or save it as a class-per-folder "
            "image directory and use 'folder:<path>'"
        )
    if not name.startswith("folder:"):
        return spec
    folder = Path(name.removeprefix("folder:")).expanduser()
    folder = (folder if folder.is_absolute() else cwd / folder).resolve()
    allowed = [Path(root).resolve() for root in roots] or [cwd.resolve()]
    if not any(folder.is_relative_to(root) for root in allowed):
        raise DatasetRefused(
            f"dataset.name: folder {folder} is outside the allowed dataset roots "
            f"({', '.join(str(r) for r in allowed)}); move the images under one of them or add its "
            "parent to c.LeptonLabApp.dataset_roots"
        )
    if not folder.is_dir():
        raise DatasetRefused(f"dataset.name: folder {folder} does not exist or is not a directory")
    # Workers, and copies of the run directory, then see the same absolute folder.
    document = spec.model_dump(mode="json")
    document["dataset"]["name"] = f"folder:{folder}"
    return parse_job(document)
