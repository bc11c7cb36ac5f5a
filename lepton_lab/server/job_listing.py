"""Job listing: ``GET jobs`` answered from memory, encoded once per change, with its ETag.

Listing jobs is what every open Lab panel and notebook does most, so the answer is kept ready:

- :class:`CachedJobStore` is the SQLite job index with its records also held in memory; they are
  read again only after a write through it, or after another process wrote the database
  (SQLite's ``PRAGMA data_version``: a server sharing the runs directory read-only);
- :class:`JobListings` keeps the encoded answer and its ETag per ``status`` filter, keyed by the
  index's version and the live state of the active jobs (status, GPU, progress, queue), so an
  unchanged listing costs one key comparison and a client that has it gets a bodiless 304.

The body and the ETag are those Tornado would compute for the same answer
(``json.dumps(..., default=str)``; the quoted SHA-1 of the body).
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from lepton_lab.server.job_index import JobStore

#: Distinct ``status`` filters whose answers are kept (the least recently asked one goes first).
CACHED_FILTERS = 16


class CachedJobStore(JobStore):
    """The job index, with every record also kept in memory until the index changes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writes = 0  # writes through this connection (SQLite's data_version ignores them)
        self._records: list[dict[str, Any]] | None = None
        self._records_version: tuple[int, int] | None = None

    def put(self, job_id: str, **fields: Any) -> None:
        """Insert or update ``job_id`` (see :meth:`JobStore.put`); the kept records are read again."""
        try:
            super().put(job_id, **fields)
        finally:
            self._writes += 1

    def delete(self, job_id: str) -> None:
        """Forget ``job_id`` (see :meth:`JobStore.delete`); the kept records are read again."""
        try:
            super().delete(job_id)
        finally:
            self._writes += 1

    def version(self) -> tuple[int, int]:
        """Return a value that changes on each write to the index, by this process or any other."""
        with self._lock:
            external = self._db.execute("PRAGMA data_version").fetchone()[0]
        return self._writes, int(external)

    def list(self, statuses: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """All records, newest first, optionally only those whose status is in ``statuses``.

        Answered from memory; the records are read from SQLite again only after a change.
        """
        version = self.version()  # before reading: a write racing the read makes the next call re-read
        records = self._records
        if records is None or version != self._records_version:
            records = super().list()
            self._records, self._records_version = records, version
        wanted = None if statuses is None else set(statuses)
        return [dict(record) for record in records if wanted is None or record["status"] in wanted]


@dataclass(frozen=True)
class Listing:
    """One encoded ``GET jobs`` answer."""

    body: bytes
    etag: str


def encode_listing(jobs: list[dict[str, Any]]) -> Listing:
    """Encode the ``{"jobs": [...]}`` body and its ETag (as Tornado's ``compute_etag`` would make it)."""
    body = json.dumps({"jobs": jobs}, default=str).encode("utf-8")
    return Listing(body, f'"{hashlib.sha1(body).hexdigest()}"')


class JobListings:
    """Encoded ``GET jobs`` answers, rebuilt only when their key changes.

    Parameters
    ----------
    size
        ``status`` filters kept.
    """

    def __init__(self, size: int = CACHED_FILTERS) -> None:
        self.size = size
        self._answers: OrderedDict[Hashable, tuple[Hashable, Listing]] = OrderedDict()

    def answer(
        self, statuses: tuple[str, ...] | None, key: Hashable, build: Callable[[], list[dict[str, Any]]]
    ) -> Listing:
        """Return the listing for ``statuses``: the kept one if built with ``key``, else ``build()``'s."""
        kept = self._answers.get(statuses)
        if kept is not None and kept[0] == key:
            self._answers.move_to_end(statuses)
            return kept[1]
        listing = encode_listing(build())
        self._answers[statuses] = (key, listing)
        self._answers.move_to_end(statuses)
        while len(self._answers) > self.size:
            self._answers.popitem(last=False)
        return listing
