"""The scanner of the runs directory: runs that kernels and scripts create, and what they change.

``lepton_lab.train`` in a kernel, the CLI and scripts write run directories into the server's
runs directory. The scanner indexes new ones, hands those still training to the manager to follow
(as :class:`~lepton_lab.server.external.ExternalRun` workers), and notices runs that other
processes deleted, renamed, annotated or archived.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Container
from pathlib import Path
from typing import Any

from lepton_lab.core.job_status import ACTIVE_STATUSES
from lepton_lab.core.rundir import RunDir
from lepton_lab.server.job_index import meta_mtime

#: Seconds between looks for run directories that kernels and scripts created in the runs directory.
SCAN_INTERVAL_S = 1.0

#: Seconds between full listings of the runs directory when its mtime has not changed.
FULL_SCAN_INTERVAL_S = 15.0


class RunScanner:
    """Find run directories created since the last look (see the module docstring).

    Parameters
    ----------
    runs_dir
        The runs directory.
    store
        The job index.
    active
        Ids of the jobs the manager follows (never rescanned).
    adopt
        Follow an active run trained by another process: ``adopt(run, record)``.
    changed
        A run's record changed (publish it): ``changed(run_id)``.
    forget
        A run was deleted by another process: ``forget(run_id)``.
    log
        Logger.
    """

    def __init__(
        self,
        runs_dir: Path,
        store: Any,
        active: Container[str],
        *,
        adopt: Callable[[RunDir, dict[str, Any]], None],
        changed: Callable[[str], None],
        forget: Callable[[str], None],
        log: logging.Logger,
    ) -> None:
        self.runs_dir = runs_dir
        self.store = store
        self.active = active
        self.adopt = adopt
        self.changed = changed
        self.forget = forget
        self.log = log
        self._mtime: int | None = None  # of the runs directory at the last full scan
        self._full_scan_at = 0.0
        self._unsettled: set[str] = set()  # entries that were not complete runs at the last scan

    def scan(self) -> list[str]:
        """Index run directories created since the last look; adopt those still training.

        Returns their ids. Directories marked as the server's own (``origin`` ``server``, or no
        ``origin``: an older version) are only indexed, never run.
        """
        try:
            mtime = self.runs_dir.stat().st_mtime_ns
        except FileNotFoundError:
            return []
        now = time.monotonic()
        # An entry added or removed changes the directory's mtime. Filesystems with coarse
        # timestamps can hide one added in the same tick, so look at everything now and then too.
        if mtime != self._mtime or now - self._full_scan_at >= FULL_SCAN_INTERVAL_S:
            self._mtime, self._full_scan_at = mtime, now
            self.follow_known_runs()
            known = self.store.ids()
            names = sorted(p.name for p in self.runs_dir.iterdir() if p.name not in known)
        else:  # only the directories that were not complete runs last time (cheap when idle)
            names = sorted(self._unsettled)
        found = []
        for name in names:
            if name.startswith(".") or name in self.active:
                continue
            run = RunDir(self.runs_dir / name)
            try:
                if not (run.spec_path.is_file() and run.status_path.is_file()):
                    raise FileNotFoundError(run.status_path)  # being created: spec.json comes first
                record = self.store.sync_run(run)
            except (OSError, ValueError):
                self._unsettled.add(name)  # half-written, or not a run: look again next time
                continue
            self._unsettled.discard(name)
            found.append(run.id)
            if record.get("origin", "server") != "server" and record["status"] in ACTIVE_STATUSES:
                self.adopt(run, record)
            else:
                self.changed(run.id)
        return found

    def follow_known_runs(self) -> None:
        """Notice what other processes did to indexed runs: deleted, renamed, annotated or archived them.

        ``lepton_lab.delete_run`` removes the directory; ``Run.rename()`` and co. write ``meta.json``.
        """
        for record in self.store.list():
            run = RunDir(record["run_dir"])
            if record["id"] not in self.active and not run.spec_path.is_file():
                self.forget(record["id"])
            elif meta_mtime(run) != record.get("meta_mtime"):
                self.store.sync_meta(run)
                self.changed(record["id"])
