"""Run directory: the self-describing folder one training run writes.

A run directory holds everything about a run (see DESIGN.md, "Run directory")::

    RUNS_DIR/<run_id>/
      spec.json  status.json  events.jsonl  tensorboard/  checkpoints/
      model.keras  evaluation.json  worker.log  report.html
      meta.json     (a person's name, note and archived flag: lepton_lab.core.runmeta)

This module is TensorFlow-free: the server and the run store read run
directories without importing TensorFlow.

Examples
--------
>>> import tempfile
>>> from lepton_lab.core.specs import JobSpec
>>> spec = JobSpec.model_validate({"name": "My run", "dataset": {"name": "digits"}})
>>> run = RunDir.create(tempfile.mkdtemp(), spec)
>>> run.read_status()["status"]
'queued'
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
import os
import re
import secrets
import shutil
import sys
import threading
from pathlib import Path
from typing import Any

from lepton_lab.core.job_status import FINISHED_STATUSES, ORIGINS, STATUSES
from lepton_lab.core.specs import JobSpec, parse_job

#: Keys in ``spec.json`` beside the JobSpec fields.
SPEC_EXTRA_KEYS = ("versions", "runtime")

SPEC_FILE = "spec.json"
STATUS_FILE = "status.json"
EVENTS_FILE = "events.jsonl"
TENSORBOARD_DIR = "tensorboard"
CHECKPOINTS_DIR = "checkpoints"
MODEL_FILE = "model.keras"
EVALUATION_FILE = "evaluation.json"
WORKER_LOG_FILE = "worker.log"
REPORT_FILE = "report.html"
#: Created (by the server's cancel) to ask a run training outside a worker to stop.
STOP_REQUEST_FILE = "stop-requested"


def now_iso() -> str:
    """Return the current UTC time as an ISO 8601 string with a ``+00:00`` offset."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def slug(name: str, max_length: int = 40) -> str:
    """Lower-case, dash-separated form of ``name`` usable in a directory name.

    >>> slug("My CNN: lr=0.01!")
    'my-cnn-lr-0-01'
    """
    text = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return text[:max_length].strip("-") or "run"


def package_versions() -> dict[str, str | None]:
    """Versions of Lepton Lab, Keras, TensorFlow and Python, read without importing TensorFlow."""
    from lepton_lab._version import __version__

    def version(distribution: str) -> str | None:
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            return None

    return {
        "lepton_lab": version("lepton-lab") or __version__,
        "keras": version("keras"),
        "tensorflow": version("tensorflow") or version("tensorflow-cpu"),
        "python": ".".join(str(part) for part in sys.version_info[:3]),
    }


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON so that readers see either the old or the new file, never half of one."""
    # A unique temporary name per process and thread: two writers never share a temp file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk keeps the old file whole and no stray copy
        raise


def read_json(path: Path) -> Any:
    """Read a JSON file (UTF-8)."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


class RunDir:
    """One run directory: its paths and its ``spec.json`` / ``status.json``.

    Parameters
    ----------
    path
        The run directory (need not exist yet for path arithmetic; readers need it).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunDir) and self.path.resolve() == other.path.resolve()

    def __hash__(self) -> int:
        return hash(self.path.resolve())

    # -- paths -----------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The run id: the directory's name."""
        return self.path.name

    @property
    def spec_path(self) -> Path:
        """``spec.json``: the full JobSpec with defaults, plus ``versions`` and ``runtime``."""
        return self.path / SPEC_FILE

    @property
    def status_path(self) -> Path:
        """``status.json``: the run's current status, pid, times and error."""
        return self.path / STATUS_FILE

    @property
    def events_path(self) -> Path:
        """``events.jsonl``: the append-only metric stream (see :mod:`lepton_lab.core.events`)."""
        return self.path / EVENTS_FILE

    @property
    def tensorboard_dir(self) -> Path:
        """TensorBoard event files (``train/``, ``validation/``)."""
        return self.path / TENSORBOARD_DIR

    @property
    def checkpoints_dir(self) -> Path:
        """State for resuming (Keras ``BackupAndRestore``)."""
        return self.path / CHECKPOINTS_DIR

    @property
    def model_path(self) -> Path:
        """The final model, ``model.keras``."""
        return self.path / MODEL_FILE

    @property
    def evaluation_path(self) -> Path:
        """``evaluation.json``: test-set metrics (see :mod:`lepton_lab.core.evaluate`)."""
        return self.path / EVALUATION_FILE

    @property
    def worker_log_path(self) -> Path:
        """``worker.log``: stdout and stderr of the worker process."""
        return self.path / WORKER_LOG_FILE

    @property
    def report_path(self) -> Path:
        """``report.html``: the self-contained report, written on request."""
        return self.path / REPORT_FILE

    @property
    def stop_request_path(self) -> Path:
        """``stop-requested``: present when someone asked this run to stop (see :meth:`request_stop`)."""
        return self.path / STOP_REQUEST_FILE

    def request_stop(self) -> None:
        """Ask the process training this run to stop at its next check (within about a second).

        This is how the server cancels a run it did not start and must not signal: one trained
        by ``lepton_lab.train`` in a notebook kernel, where a signal would hit the kernel.
        """
        self.stop_request_path.touch()

    # -- creation --------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        runs_dir: str | os.PathLike[str],
        spec: JobSpec | dict[str, Any] | str,
        *,
        run_id: str | None = None,
        origin: str = "server",
    ) -> RunDir:
        """Create a new run directory for ``spec`` with status ``queued``.

        The run id is ``<yyyymmdd-hhmmss>-<slug(name)>-<4 hex digits>`` unless given.

        Parameters
        ----------
        runs_dir
            Parent directory of all runs; created if missing.
        spec
            The job (validated with :func:`lepton_lab.core.specs.parse_job`).
        run_id
            Use this id instead of generating one (it must not exist yet).
        origin
            Who will train it, one of :data:`ORIGINS`.
        """
        if origin not in ORIGINS:
            raise ValueError(f"origin must be one of {', '.join(ORIGINS)}, got {origin!r}")
        job = parse_job(spec)
        parent = Path(runs_dir)
        parent.mkdir(parents=True, exist_ok=True)
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        for _attempt in range(100):
            name = run_id or f"{stamp}-{slug(job.name)}-{secrets.token_hex(2)}"
            try:
                (parent / name).mkdir()
            except FileExistsError:
                if run_id is not None:
                    raise FileExistsError(
                        f"run directory {parent / name} already exists; choose another run id"
                    ) from None
                continue
            break
        else:  # pragma: no cover - 100 collisions of 4 random hex digits within one second
            raise FileExistsError(f"could not find a free run id in {parent}")
        run = cls(parent / name)
        document = {**job.model_dump(mode="json"), "versions": package_versions()}
        try:
            write_json_atomic(run.spec_path, document)
            write_json_atomic(
                run.status_path,
                {
                    "id": run.id,
                    "status": "queued",
                    "created": now_iso(),
                    "epochs": job.train.epochs,
                    "origin": origin,
                },
            )
        except BaseException:
            # A full disk (or an interrupt) leaves no half-made run behind for listings to trip on.
            shutil.rmtree(run.path, ignore_errors=True)
            raise
        return run

    # -- spec ------------------------------------------------------------------------------------

    def read_spec(self) -> JobSpec:
        """Read the run's JobSpec (``spec.json`` without ``versions`` / ``runtime``)."""
        document = self.read_spec_document()
        return parse_job({k: v for k, v in document.items() if k not in SPEC_EXTRA_KEYS})

    def read_spec_document(self) -> dict[str, Any]:
        """``spec.json`` as written: JobSpec fields plus ``versions`` and (once started) ``runtime``."""
        document: dict[str, Any] = read_json(self.spec_path)
        return document

    def update_spec_document(self, **fields: Any) -> None:
        """Set top-level keys of ``spec.json`` beside the JobSpec (``runtime``, ``versions``)."""
        unknown = set(fields) - set(SPEC_EXTRA_KEYS)
        if unknown:
            raise ValueError(
                f"spec.json keys {sorted(unknown)} are not extras; only {SPEC_EXTRA_KEYS} may be updated"
            )
        document = self.read_spec_document()
        document.update(fields)
        write_json_atomic(self.spec_path, document)

    # -- status ----------------------------------------------------------------------------------

    def read_status(self) -> dict[str, Any]:
        """``status.json`` as a dict (``{"status": "queued", ...}``).

        Returns ``{"id": ..., "status": "queued"}`` when the file does not exist yet. A damaged
        file (torn, not JSON) reads as the status rebuilt from ``events.jsonl`` with a
        ``damaged`` key saying so (see :meth:`rebuilt_status`), so the run can still be listed,
        inspected, resumed or deleted; the next :meth:`write_status` replaces the file whole.
        """
        try:
            status = read_json(self.status_path)
        except FileNotFoundError:
            return {"id": self.id, "status": "queued"}
        except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
            return self.rebuilt_status(f"{type(error).__name__}: {error}")
        if not isinstance(status, dict):
            return self.rebuilt_status("it holds no JSON object")
        return status

    def rebuilt_status(self, problem: str) -> dict[str, Any]:
        """Rebuild ``status.json``'s content from ``events.jsonl`` after ``problem`` made it unreadable.

        The status is the last finished status an event recorded, else ``interrupted`` (its
        process may have died; resuming continues from the checkpoints); the epoch follows the
        resume policy of :mod:`lepton_lab.core.epochs`.
        """
        from lepton_lab.core.epochs import epochs_done
        from lepton_lab.core.events import read_events

        events, _ = read_events(self.events_path)
        statuses = [e for e in events if e.get("type") == "status" and e.get("status") in STATUSES]
        last = statuses[-1] if statuses else {}
        finished = last.get("status") in FINISHED_STATUSES
        epochs = [e["epochs"] for e in events if isinstance(e.get("epochs"), int)]
        try:
            created = _dt.datetime.fromtimestamp(self.path.stat().st_ctime, _dt.timezone.utc)
        except OSError:
            created = None
        message = f"status.json is damaged ({problem}); this status was rebuilt from events.jsonl"
        return {
            "id": self.id,
            "status": last["status"] if finished else "interrupted",
            "created": created.isoformat(timespec="milliseconds") if created else None,
            "epoch": epochs_done(events),
            "epochs": epochs[-1] if epochs else None,
            "error": last.get("error") or message,
            "damaged": message,
        }

    def write_status(self, **fields: Any) -> dict[str, Any]:
        """Merge ``fields`` into ``status.json`` atomically and return the new status.

        Moving to ``running`` stamps ``started`` and clears a previous run's ``error``,
        ``traceback``, ``exit_code`` and ``finished`` (a resumed run starts clean); moving to a
        finished status stamps ``finished``. Explicit values win over these stamps.

        Parameters
        ----------
        **fields
            ``status`` (one of :data:`STATUSES`), ``pid``, ``error``, ``traceback``,
            ``exit_code``, ``epoch``, ``epochs``, or any other JSON value.
        """
        value = fields.get("status")
        if value is not None and value not in STATUSES:
            raise ValueError(f"unknown run status {value!r}; use one of {', '.join(STATUSES)}")
        status = self.read_status()
        status.pop("damaged", None)  # written whole from here on
        if value == "running":
            for stale in ("error", "traceback", "exit_code", "finished"):
                status.pop(stale, None)
            status["started"] = now_iso()
        elif value in FINISHED_STATUSES:
            status["finished"] = now_iso()
        status.update(fields)
        status.setdefault("id", self.id)
        write_json_atomic(self.status_path, status)
        return status
