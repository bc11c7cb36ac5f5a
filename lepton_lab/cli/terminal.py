"""terminal.console(): the rich Console every ``lepton-lab`` command prints through.

On a terminal, rich draws live progress bars and fits tables to the window. Anywhere else (a
pipe, a log file, CI, a test's StringIO) it writes plain text with no escape codes, and tables
as wide as their content, so a run id is never folded across lines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console

#: Width of a console that is not a terminal: wide enough never to fold a table row.
PLAIN_WIDTH = 10_000


def console(stream: TextIO) -> Console:
    """Return a rich Console writing to ``stream`` (imported here: rich costs ~50 ms to load)."""
    from rich.console import Console

    interactive = stream.isatty()
    return Console(
        file=stream,
        force_terminal=interactive,
        width=None if interactive else PLAIN_WIDTH,
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=not interactive,
    )
