"""One server manages a runs directory at a time.

Two Jupyter servers on one runs directory would both re-attach the same worker, both record its
outcome and both start the same queued job. The server that manages the jobs holds an exclusive
``flock`` on ``RUNS_DIR/.lepton-lab-server.lock`` for as long as it lives, and writes its pid and
URL into the file. The kernel drops the lock when that process ends, however it ends, so a lock
left by a crashed server is never in the way. A second server finds the lock taken: it serves the
runs directory read-only (listing, events, streams) and refuses to start, cancel or resume jobs,
naming the server that manages them, until the lock comes free and it takes over.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import IO, Any

#: The lock file inside the runs directory (hidden: it is not a run).
LOCK_FILE = ".lepton-lab-server.lock"


class RunsDirTaken(Exception):
    """Another server manages this runs directory's jobs; this one only reads it."""

    http_status = 409


class RunsDirLock:
    """The exclusive lock on a runs directory that makes a server its manager.

    Parameters
    ----------
    runs_dir
        The runs directory.
    holder
        What this server writes into the lock file when it gets the lock (``pid``, ``url``).
    """

    def __init__(self, runs_dir: Path, holder: dict[str, Any]) -> None:
        self.path = Path(runs_dir) / LOCK_FILE
        self.holder = {"pid": os.getpid(), **holder}
        self._file: IO[str] | None = None

    @property
    def held(self) -> bool:
        """Whether this server holds the lock."""
        return self._file is not None

    def acquire(self) -> bool:
        """Take the lock if no live server holds it; return whether this server holds it now."""
        if self._file is not None:
            return True
        handle = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        json.dump(self.holder, handle)
        handle.flush()
        self._file = handle
        return True

    def release(self) -> None:
        """Give the lock up (the file stays; the next holder overwrites it)."""
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def owner(self) -> dict[str, Any]:
        """Return what the holder wrote into the lock file (``{}`` when unreadable)."""
        try:
            document = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return {}
        return document if isinstance(document, dict) else {}

    def refusal(self, what: str) -> str:
        """Say why ``what`` is refused: the other server's pid and URL, and where to go instead."""
        owner = self.owner()
        who = f"pid {owner.get('pid', '?')}" + (f", {owner['url']}" if owner.get("url") else "")
        return (
            f"{what}: the runs directory {self.path.parent} is managed by another Lepton Lab server "
            f"({who}); this server only reads it. Use that server, or stop it and this one takes over"
        )
