"""Write failures of the runs directory's disk: a full disk told apart from other errors.

The job manager writes to the runs directory all the time: the SQLite index, ``status.json``,
status events. When that disk fills up, these writes fail with ``OSError`` (``ENOSPC``) or
``sqlite3.OperationalError`` ("database or disk is full"); the manager must keep following its
workers through that and record their outcomes once space returns, and a new job must be refused
with a message that says what is wrong instead of a 500.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: What a failed write to the runs directory or its index raises.
STORAGE_ERRORS: tuple[type[Exception], ...] = (OSError, sqlite3.Error)

_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}


class DiskFull(Exception):
    """The runs directory's disk has no space left for what was asked."""

    http_status = 507


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` says the disk (or the user's quota on it) is full."""
    if isinstance(error, OSError):
        return error.errno in _FULL_ERRNOS
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        return code == sqlite3.SQLITE_FULL or "disk is full" in str(error)
    return False


def disk_full_message(runs_dir: Path, what: str) -> str:
    """Say that ``what`` failed because the runs directory's disk is full, and what to do."""
    return (
        f"no space left on the runs directory's disk ({runs_dir}): {what}; free some space "
        "(delete runs you no longer need, or their checkpoints) and try again"
    )


@contextmanager
def refuse_when_full(runs_dir: Path, what: str) -> Iterator[None]:
    """Turn a full disk met inside the block into :class:`DiskFull` (HTTP 507) naming ``what``."""
    try:
        yield
    except STORAGE_ERRORS as error:
        if is_disk_full(error):
            raise DiskFull(disk_full_message(runs_dir, what)) from error
        raise
