"""Job index: a SQLite index (WAL mode) of the jobs in a runs directory.

The run directories stay the truth (``spec.json``, ``status.json``); this index makes listing and
filtering jobs cheap and remembers what only the server knows, such as how to find a worker
again. Delete it and :meth:`JobStore.rebuild` recreates it from the run directories.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lepton_lab.core import runmeta
from lepton_lab.core.rundir import RunDir
from lepton_lab.server.job_schema import IndexRow, sqlite_columns

#: File name of the index inside the runs directory (hidden: it is not a run).
INDEX_FILE = ".lepton-lab-jobs.sqlite"

#: Columns of the ``jobs`` table and their SQLite types, from :class:`IndexRow` (lists are JSON
#: text, booleans 0/1).
COLUMNS: dict[str, str] = sqlite_columns(IndexRow)

#: ``status.json`` keys copied into the index.
_STATUS_KEYS = (
    "status",
    "created",
    "started",
    "finished",
    "pid",
    "gpu",
    "exit_code",
    "error",
    "epoch",
    "epochs",
    "origin",
)
#: Of those, the ones the server knows before the worker writes them.
_SERVER_KNOWN = ("pid", "gpu", "started")


def meta_mtime(run: RunDir) -> int | None:
    """``st_mtime_ns`` of the run's ``meta.json``, None without one (tells when to re-read it)."""
    try:
        return runmeta.meta_path(run).stat().st_mtime_ns
    except OSError:
        return None


def _meta_fields(run: RunDir, document: dict[str, Any]) -> dict[str, Any]:
    meta = runmeta.read_meta(run)
    return {
        "name": meta["name"] or document.get("name"),
        "note": meta["note"],
        "archived": int(meta["archived"]),
        "meta_mtime": meta_mtime(run),
    }


def _migrate_worker_refs(db: sqlite3.Connection) -> None:
    """Turn an older index's ``pid``/``pid_create_time`` into a local worker ref; drop the column.

    Indexes written before workers had opaque refs identified a local worker by those two
    columns; re-attaching after an upgrade needs them as ``{"kind": "local", ...}``.
    """
    rows = db.execute(
        "SELECT id, pid, pid_create_time FROM jobs WHERE worker IS NULL AND pid IS NOT NULL"
    ).fetchall()
    for row in rows:
        ref = {"kind": "local", "pid": row["pid"], "create_time": row["pid_create_time"]}
        db.execute("UPDATE jobs SET worker = ? WHERE id = ?", (json.dumps(ref), row["id"]))
    db.execute("ALTER TABLE jobs DROP COLUMN pid_create_time")


class JobStore:
    """SQLite index of jobs, safe to use from several threads of one process.

    Parameters
    ----------
    path
        The database file; a corrupt file is moved aside and recreated empty.
    log
        Where damaged run directories are reported.
    """

    def __init__(self, path: str | os.PathLike[str], log: logging.Logger | None = None) -> None:
        self.path = Path(path)
        self.log = log or logging.getLogger("lepton_lab")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = self._open()
        except sqlite3.DatabaseError:
            # The index is only a cache of the run directories: start a fresh one.
            self.path.replace(self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}"))
            self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10.0)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS.items())
        db.execute(f"CREATE TABLE IF NOT EXISTS jobs ({columns})")
        # An index written by an older version lacks newer columns; add them, keeping its rows.
        present = {row["name"] for row in db.execute("PRAGMA table_info(jobs)")}
        for name, kind in COLUMNS.items():
            if name not in present:
                db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {kind}")
        if "pid_create_time" in present:
            _migrate_worker_refs(db)
        db.execute("CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status)")
        return db

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    # -- records -------------------------------------------------------------------------------

    @staticmethod
    def _record(row: sqlite3.Row) -> dict[str, Any]:
        record = dict(row)
        record["tags"] = json.loads(record["tags"]) if record.get("tags") else []
        record["gpus"] = json.loads(record["gpus"]) if record.get("gpus") else []
        record["archived"] = bool(record.get("archived"))
        record["worker"] = json.loads(record["worker"]) if record.get("worker") else None
        return record

    def put(self, job_id: str, **fields: Any) -> None:
        """Insert job ``job_id`` or update the given fields of it (other columns are kept)."""
        unknown = set(fields) - set(COLUMNS)
        if unknown:
            raise ValueError(f"unknown job store columns {sorted(unknown)}; known: {', '.join(COLUMNS)}")
        for name in ("tags", "gpus"):  # lists are JSON text
            if name in fields:
                fields[name] = json.dumps(list(fields[name] or []))
        if fields.get("worker") is not None:
            fields["worker"] = json.dumps(fields["worker"])
        fields["updated"] = time.time()
        names = list(fields)
        update = f"UPDATE jobs SET {', '.join(f'{name} = ?' for name in names)} WHERE id = ?"
        insert = f"INSERT INTO jobs (id, {', '.join(names)}) VALUES (?{', ?' * len(names)})"
        with self._lock:
            if self._db.execute(update, [*fields.values(), job_id]).rowcount == 0:
                self._db.execute(insert, [job_id, *fields.values()])

    def get(self, job_id: str) -> dict[str, Any] | None:
        """Return the record of ``job_id``, or None."""
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else self._record(row)

    def list(self, statuses: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """All records, newest first, optionally only those whose status is in ``statuses``."""
        sql, params = "SELECT * FROM jobs", []
        if statuses is not None:
            params = list(statuses)
            sql += f" WHERE status IN ({', '.join('?' * len(params))})"
        sql += " ORDER BY created DESC, id DESC"
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [self._record(row) for row in rows]

    def ids(self) -> set[str]:
        """Ids of every indexed job."""
        with self._lock:
            return {row["id"] for row in self._db.execute("SELECT id FROM jobs")}

    def delete(self, job_id: str) -> None:
        """Forget ``job_id`` (its run directory is untouched)."""
        with self._lock:
            self._db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    # -- run directories -----------------------------------------------------------------------

    def sync_run(self, run: RunDir) -> dict[str, Any]:
        """Copy what ``run``'s ``spec.json``, ``status.json`` and ``meta.json`` say into the index.

        Returns the record. Columns the run directory does not know (such as ``worker``)
        are kept. A damaged ``status.json`` is logged and indexed as rebuilt from the events.
        """
        status = run.read_status()
        if status.get("damaged"):
            self.log.warning(
                "Lepton Lab: run %s: %s (listed as %s)", run.id, status["damaged"], status["status"]
            )
        fields: dict[str, Any] = {key: status.get(key) for key in _STATUS_KEYS}
        for key in _SERVER_KNOWN:
            if fields[key] is None:
                del fields[key]  # the worker has not written it yet; the server's value stands
        fields["status"] = status.get("status") or "queued"
        fields["origin"] = status.get("origin") or "server"  # run directories from before origins
        fields["run_dir"] = str(run.path)
        try:
            document = run.read_spec_document()
        except (OSError, ValueError):
            document = {}
        fields.update(_meta_fields(run, document))
        fields["tags"] = document.get("tags") or []
        fields["dataset"] = (document.get("dataset") or {}).get("name")
        if fields["epochs"] is None:
            fields["epochs"] = (document.get("train") or {}).get("epochs")
        self.put(run.id, **fields)
        record = self.get(run.id)
        assert record is not None
        return record

    def sync_meta(self, run: RunDir) -> None:
        """Copy ``run``'s ``meta.json`` (display name, note, archived) into the index; nothing else."""
        try:
            document = run.read_spec_document()
        except (OSError, ValueError):
            document = {}
        self.put(run.id, **_meta_fields(run, document))

    def rebuild(self, runs_dir: str | os.PathLike[str]) -> int:
        """Make the index match the run directories in ``runs_dir``.

        Every directory with a ``spec.json`` is (re)indexed from its files; records whose run
        directory is gone are dropped. Returns the number of runs indexed.
        """
        parent = Path(runs_dir)
        seen = set()
        if parent.is_dir():
            for path in sorted(parent.iterdir()):
                if path.is_dir() and (path / "spec.json").is_file():
                    try:
                        self.sync_run(RunDir(path))
                    except (OSError, ValueError):
                        continue  # a half-written or foreign directory: not a run we can index
                    seen.add(path.name)
        for record in self.list():
            if record["id"] not in seen:
                self.delete(record["id"])
        return len(seen)
