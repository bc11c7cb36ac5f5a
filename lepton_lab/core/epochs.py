"""Which records of ``events.jsonl`` count: one value per epoch, the latest, across resumes.

A run resumed after a kill restarts from its last checkpoint. Checkpoints are throttled when
epochs are very short, so that checkpoint may lie a few epochs before the last epoch the killed
attempt logged, and those epochs are trained (and logged) again. The worker marks the restart
point with a status event ``{"type": "status", "status": "running", "epoch": N}`` (N = 0 for a
fresh start). The policy every chart, table and report follows:

- a restart point at epoch N drops the records of epochs after N written before it: the resumed
  run trains them again, and until it has they are not part of its history;
- every epoch (and, for batch records, every step) then appears once, with its newest values.

This module is TensorFlow-free and imports nothing from the rest of Lepton Lab.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

#: Bytes read from the end of an events file at a time when looking for the last epoch.
_TAIL_CHUNK = 65_536


def restart_epoch(event: dict[str, Any]) -> int | None:
    """Return the epoch a run (re)starts after if ``event`` marks a start, else None."""
    if event.get("type") == "status" and event.get("status") == "running":
        return int(event.get("epoch") or 0)
    return None


def latest_records(events: Iterable[dict[str, Any]], key: str = "epoch") -> list[dict[str, Any]]:
    """Apply the resume policy to ``events`` (in file order), keeping records with a ``key``.

    Parameters
    ----------
    events
        Events in the order they were written; status events mark restart points, the records
        kept are the others that carry ``key``.
    key
        ``"epoch"`` for epoch records, ``"step"`` for batch records.

    Returns
    -------
    list
        One record per ``key`` value, the newest, sorted by that value.
    """
    latest: dict[Any, dict[str, Any]] = {}
    for event in events:
        restart = restart_epoch(event)
        if restart is not None:
            latest = {k: e for k, e in latest.items() if (e.get("epoch") or 0) <= restart}
        elif event.get("type") != "status" and event.get(key) is not None:
            latest[event[key]] = event
    return [latest[k] for k in sorted(latest)]


def epochs_done(events: Iterable[dict[str, Any]]) -> int | None:
    """Epochs a run had completed after ``events``: its last epoch record or restart point."""
    done = None
    for event in events:
        restart = restart_epoch(event)
        if restart is not None:
            done = restart
        elif event.get("type") == "epoch" and event.get("epoch") is not None:
            done = int(event["epoch"])
    return done


def last_epochs_done(path: str | os.PathLike[str]) -> int | None:
    """:func:`epochs_done` of an events file, reading it backwards only as far as needed.

    Returns None when the file is missing or holds no epoch record and no restart point.
    """
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        return None
    with handle:
        start = handle.seek(0, os.SEEK_END)
        carry = b""  # the start of a line whose beginning lies in the next chunk back
        while start > 0:
            size = min(_TAIL_CHUNK, start)
            start -= size
            handle.seek(start)
            lines = (handle.read(size) + carry).split(b"\n")
            carry = lines.pop(0) if start > 0 else b""
            for line in reversed(lines):
                if b'"epoch"' not in line:
                    continue
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # a torn line from a killed writer
                if isinstance(event, dict) and (done := epochs_done([event])) is not None:
                    return done
    return None
