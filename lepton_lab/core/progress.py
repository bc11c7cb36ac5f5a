"""Progress: a one-line stderr report for slow loading work.

Fast work stays silent: the line appears only once the work has run for
``delay`` seconds, so ``load("digits")`` prints nothing while parsing 60 000
Fashion-MNIST images or decoding a large image folder shows where it is.
No tqdm: this must work in a worker's log file as well as in a terminal.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO


class Progress:
    """Report ``done / total`` for one piece of work on a single stderr line.

    Parameters
    ----------
    description : str
        What is being done, e.g. ``"reading fashion_mnist"``.
    total : int
        Number of steps the work takes.
    delay : float
        Seconds the work must run before anything is printed.
    stream : TextIO, optional
        Where to write; ``sys.stderr`` when omitted.

    Examples
    --------
    >>> with Progress("generating shapes", total=3) as progress:
    ...     for step in range(3):
    ...         progress.update(step + 1)
    """

    #: Seconds between redraws, so a tight loop does not flood a log file.
    REDRAW_INTERVAL = 0.5

    def __init__(self, description: str, total: int, delay: float = 1.0, stream: TextIO | None = None):
        self.description = description
        self.total = total
        self.delay = delay
        self.stream = stream if stream is not None else sys.stderr
        self.shown = False
        self._start = time.monotonic()
        self._last_draw = 0.0
        self._done = 0

    def update(self, done: int) -> None:
        """Record that ``done`` of ``total`` steps are finished; redraw when due."""
        self._done = done
        now = time.monotonic()
        if now - self._start < self.delay or now - self._last_draw < self.REDRAW_INTERVAL:
            return
        self._last_draw = now
        self._draw(end="\r")

    def close(self) -> None:
        """Finish the line if anything was shown; silent work stays silent."""
        if self.shown:
            self._draw(end="\n")

    def _draw(self, end: str) -> None:
        percent = 100 * self._done // max(self.total, 1)
        elapsed = time.monotonic() - self._start
        self.stream.write(f"{self.description}: {self._done}/{self.total} ({percent}%, {elapsed:.1f} s){end}")
        self.stream.flush()
        self.shown = True

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
