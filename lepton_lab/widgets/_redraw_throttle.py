"""RedrawThrottle: at most one redraw per interval, the last one never lost.

A plot fed hundreds of events a second redraws when its last redraw is at least one interval
old; events arriving sooner are coalesced, and a timer makes the redraw that is due when they
stop coming, so the plot never lags more than one interval. The clock and the timer are
injectable: tests drive both by hand instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class Cancellable(Protocol):
    """What a timer factory returns: something that can be cancelled before it fires."""

    def cancel(self) -> None:
        """Do not fire."""


#: ``timer(delay_s, callback)`` starts a one-shot timer calling ``callback`` after ``delay_s``.
TimerFactory = Callable[[float, Callable[[], None]], Cancellable]


def thread_timer(delay_s: float, callback: Callable[[], None]) -> Cancellable:
    """Start a daemon ``threading.Timer`` (the default timer)."""
    timer = threading.Timer(delay_s, callback)
    timer.daemon = True
    timer.start()
    return timer


class RedrawThrottle:
    """Call ``draw`` at most once per ``interval_s``; a trailing timer draws what is left.

    Not thread-safe by itself: the caller holds its lock around :meth:`request` and
    :meth:`flush`, and ``draw`` is called with that lock held (the timer takes it through
    ``lock``).

    Parameters
    ----------
    interval_s : float
        Least seconds between two draws.
    draw : callable
        Draws; called with the current clock time.
    lock : threading.RLock
        Taken by the timer's callback.
    clock : callable
        Monotonic seconds.
    timer : callable, optional
        Timer factory for the trailing redraw; None: no trailing redraw (the caller flushes).
    """

    def __init__(
        self,
        interval_s: float,
        draw: Callable[[float], None],
        lock: threading.RLock,
        clock: Callable[[], float] = time.monotonic,
        timer: TimerFactory | None = thread_timer,
    ) -> None:
        self.interval_s = interval_s
        self.clock = clock
        self._draw = draw
        self._lock = lock
        self._timer_factory = timer
        self._timer: Cancellable | None = None
        self._last = float("-inf")
        #: Whether something arrived since the last draw.
        self.dirty = False

    def request(self) -> None:
        """Something changed: draw now if the last draw is one interval old, else later."""
        self.dirty = True
        now = self.clock()
        if now - self._last >= self.interval_s:
            self._run(now)
        elif self._timer_factory is not None and self._timer is None:
            self._timer = self._timer_factory(self.interval_s - (now - self._last), self._on_timer)

    def flush(self) -> None:
        """Draw now if anything is pending (the end of training)."""
        self.cancel()
        if self.dirty:
            self._run(self.clock())

    def cancel(self) -> None:
        """Forget a pending trailing redraw."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_timer(self) -> None:
        with self._lock:
            self._timer = None
            if self.dirty:
                self.request()

    def _run(self, now: float) -> None:
        self._last = now
        self.dirty = False
        self._draw(now)
