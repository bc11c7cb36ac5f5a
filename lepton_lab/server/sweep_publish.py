"""Throttled stream messages: at most one message per key every ``interval_s``, the last change never lost.

A sweep changes with every epoch of every trial in flight; the all-jobs stream needs only a few
messages a second about it. A change within ``interval_s`` of the last message waits for the
interval's end and is then sent once, with whatever state the sweep has by then.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class Throttle:
    """Call ``send(key)`` at most once per ``interval_s`` per key, and once more after the last change.

    Parameters
    ----------
    send
        Sends the current state of ``key``.
    interval_s
        Seconds between two sends of one key (0: every change is sent at once).
    """

    def __init__(self, send: Callable[[str], None], interval_s: float) -> None:
        self.send = send
        self.interval_s = interval_s
        self._sent: dict[str, float] = {}  # monotonic time of each key's last send
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self.closed = False

    def changed(self, key: str) -> None:
        """Send ``key`` now, or at the end of its interval (a send is already waiting: nothing to do)."""
        if self.closed or key in self._pending:
            return
        wait = self._sent.get(key, -float("inf")) + self.interval_s - time.monotonic()
        if wait <= 0:
            self.now(key)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a script using the manager directly): send now
            self.now(key)
            return
        self._pending[key] = loop.call_later(wait, self.now, key)

    def now(self, key: str) -> None:
        """Send ``key`` at once (a state change a client must see), dropping a waiting send."""
        handle = self._pending.pop(key, None)
        if handle is not None:
            handle.cancel()
        if self.closed:
            return
        self._sent[key] = time.monotonic()
        self.send(key)

    def close(self) -> None:
        """Send nothing more."""
        self.closed = True
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()
