"""Progress: how far slow loading work is, on stderr, only once it has taken a while.

Fast work stays silent: nothing appears until the work has run for ``delay`` seconds, so
``load("digits")`` prints nothing while parsing 60 000 Fashion-MNIST images or decoding a large
image folder shows where it is. On a terminal rich draws a progress bar; anywhere else (a
worker's log file, a notebook, CI) one plain line is rewritten in place. In a Jupyter kernel the
line goes to stdout: the notebook draws stderr as an error, and progress is none.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress


def default_stream() -> TextIO:
    """Where progress goes by default: stderr, except stdout in a Jupyter (ipykernel) kernel."""
    # ipykernel replaces sys.stderr with its OutStream, which the notebook shows in red.
    if type(sys.stderr).__module__.startswith("ipykernel."):
        return sys.stdout
    return sys.stderr


class Progress:
    """Report ``done / total`` for one piece of work.

    Parameters
    ----------
    description : str
        What is being done, e.g. ``"reading fashion_mnist"``.
    total : int
        Number of steps the work takes.
    delay : float
        Seconds the work must run before anything is shown.
    stream : TextIO, optional
        Where to write; when omitted ``sys.stderr``, or ``sys.stdout`` in a Jupyter kernel.

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
        self.stream = stream if stream is not None else default_stream()
        self.shown = False
        self._start = time.monotonic()
        self._last_draw = 0.0
        self._done = 0
        self._bar: RichProgress | None = None
        self._task: Any = None

    def update(self, done: int) -> None:
        """Record that ``done`` of ``total`` steps are finished; redraw when due."""
        self._done = done
        now = time.monotonic()
        if now - self._start < self.delay or now - self._last_draw < self.REDRAW_INTERVAL:
            return
        self._last_draw = now
        self._draw(end="\r")

    def close(self) -> None:
        """Finish the bar or line if anything was shown; silent work stays silent."""
        if self.shown:
            self._draw(end="\n")
        if self._bar is not None:
            self._bar.stop()

    def _draw(self, end: str) -> None:
        self.shown = True
        if self.stream.isatty():
            self._draw_bar()
            return
        percent = 100 * self._done // max(self.total, 1)
        elapsed = time.monotonic() - self._start
        self.stream.write(f"{self.description}: {self._done}/{self.total} ({percent}%, {elapsed:.1f} s){end}")
        self.stream.flush()

    def _draw_bar(self) -> None:
        if self._bar is None:
            from rich.console import Console
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(console=Console(file=self.stream), auto_refresh=False)
            self._task = self._bar.add_task(self.description, total=self.total)
            self._bar.start()
        self._bar.update(self._task, completed=self._done)
        self._bar.refresh()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
