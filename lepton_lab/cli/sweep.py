"""``lepton-lab sweep | sweeps``: start a hyperparameter sweep on a server and follow it; list sweeps.

A sweep runs on a Lepton Lab server (its trials are the server's jobs), so these commands talk
to one through :class:`~lepton_lab.client.LabClient`: ``--url`` / ``--token``, else
``LEPTON_LAB_URL`` / ``LEPTON_LAB_TOKEN`` (``jupyter server list`` shows both). Following a sweep
reads the server's ``stream`` WebSocket; :class:`SweepProgress` draws it: on a terminal a rich bar
of trials done with the running, pruned and best counts, a line per finished trial, and a summary
at the end. Ctrl-C stops following; the sweep goes on on the server.

Exit status: 0 when the sweep completed, 1 when it failed, 143 when it was cancelled (as a
cancelled ``lepton-lab train``), 2 when it could not be started (bad file, refused spec, no server).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from lepton_lab.cli import terminal
from lepton_lab.sweep_client import FINISHED_SWEEP_STATES, counts_text, method_text, short_label

if TYPE_CHECKING:
    from rich.progress import Progress

    from lepton_lab.client import LabClient
    from lepton_lab.sweep_client import Sweep

#: Exit status of an ended sweep's state (an unknown one counts as a failure).
EXIT_CODES = {"completed": 0, "failed": 1, "cancelled": 143}
#: Exit status when the sweep could not be started or followed.
EXIT_USAGE = 2
_DONE = ("completed", "pruned", "failed", "cancelled")


def _value(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else json.dumps(value)


def params_text(params: dict[str, Any]) -> str:
    """``"learning_rate=0.0031 batch_size=64"``: a trial's parameters by their short names."""
    return " ".join(f"{short_label(path)}={_value(value)}" for path, value in params.items())


def best_text(info: dict[str, Any]) -> str:
    """``"best val_accuracy 0.9730 (trial 4)"``, or ``""`` before any trial has a value."""
    best = info.get("best") or {}
    if not isinstance(best.get("value"), (int, float)):
        return ""
    metric = (info.get("objective") or {}).get("metric") or "value"
    return f"best {metric} {best['value']:.4f} (trial {best.get('number')})"


class SweepProgress:
    """Draw a sweep's progress on ``stream`` from its successive JSON states.

    On a terminal a rich progress bar (trials done of the total, running, pruned, best value) is
    redrawn in place; everywhere a line is printed per finished trial and when the best changes,
    so a log file or CI shows the same story without escape codes.

    Parameters
    ----------
    sweep
        The :class:`~lepton_lab.sweep_client.Sweep` (its trials are fetched when trials end).
    stream
        Where to draw (``sys.stderr`` by default).
    """

    def __init__(self, sweep: Sweep, stream: TextIO | None = None) -> None:
        self.sweep = sweep
        self.console = terminal.console(stream if stream is not None else sys.stderr)
        self._reported: set[int] = set()
        self._done = -1
        self._bar: Progress | None = None
        self._task: Any = None

    def start(self) -> SweepProgress:
        """Start the progress bar (on a terminal)."""
        if self.console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._bar = Progress(
                TextColumn("trials"),
                BarColumn(bar_width=24),
                MofNCompleteColumn(),
                TextColumn("{task.fields[detail]}"),
                console=self.console,
                auto_refresh=False,  # redrawn once per change of the sweep
            )
            self._task = self._bar.add_task("sweep", total=None, detail="")
            self._bar.start()
        return self

    def close(self) -> None:
        """Stop the progress bar."""
        if self._bar is not None and self._bar.live.is_started:
            self._bar.stop()

    def draw(self, info: dict[str, Any]) -> None:
        """Fold in the sweep's new state: print newly finished trials, move the bar."""
        counts = info.get("counts") or {}
        done = sum(int(counts.get(key) or 0) for key in _DONE)
        if done != self._done or info.get("state") in FINISHED_SWEEP_STATES:
            self._done = done
            self._print_finished_trials(info)
        if self._bar is not None:
            detail = " · ".join(
                part
                for part in (
                    f"{counts.get('running') or 0} running",
                    f"{counts.get('pruned') or 0} pruned",
                    best_text(info),
                )
                if part
            )
            self._bar.update(self._task, completed=done, total=info.get("max_trials"), detail=detail)
            self._bar.refresh()

    def _print_finished_trials(self, info: dict[str, Any]) -> None:
        try:
            trials = self.sweep.trials_info()
        except Exception as error:  # the summary line is still worth printing
            self.console.print(f"could not fetch the trials: {error}")
            trials = []
        metric = (info.get("objective") or {}).get("metric") or "value"
        for trial in sorted(trials, key=lambda trial: int(trial["number"])):
            number = int(trial["number"])
            if trial.get("status") not in _DONE or number in self._reported:
                continue
            self._reported.add(number)
            value = trial.get("value")
            shown = f"{metric} {value:.4f}" if isinstance(value, (int, float)) else f"{metric} -"
            self.console.print(
                f"trial {number:>3} {trial.get('status'):<9} {shown}  epochs {trial.get('epochs_run') or 0}"
                f"  {params_text(trial.get('params') or {})}"
            )
        best = best_text(info)
        self.console.print(f"{counts_text(info)}" + (f" · {best}" if best else ""))

    def summary(self, info: dict[str, Any]) -> None:
        """Print the ended sweep: state, best value and its parameters."""
        self.console.print(f"sweep {info.get('id')} {info.get('state')}: {counts_text(info)}")
        best = info.get("best") or {}
        if best_text(info):
            self.console.print(f"{best_text(info)} job {best.get('job_id')}")
            self.console.print(f"best params: {params_text(best.get('params') or {})}")


def _client(url: str | None, token: str | None) -> LabClient:
    from lepton_lab.client import LabClient

    if url:
        return LabClient(url, token if token is not None else os.environ.get("LEPTON_LAB_TOKEN"))
    return LabClient.discover()


def cmd_sweep(
    spec_path: str,
    client: LabClient | None = None,
    *,
    follow: bool = True,
    stream: TextIO | None = None,
    timeout: float | None = None,
    url: str | None = None,
    token: str | None = None,
) -> int:
    """Start the sweep in ``spec_path`` (SweepSpec JSON) and, with ``follow``, draw it until it ends.

    ``client`` talks to the server; by default one for ``url`` / ``token`` (else the environment's).
    Returns the exit status (see the module's docstring).
    """
    from lepton_lab.client import ApiError, LabClientError

    err = stream if stream is not None else sys.stderr
    try:
        document = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        print(f"lepton-lab sweep: no such sweep file {spec_path!r}", file=err)
        return EXIT_USAGE
    except ValueError as error:
        print(f"lepton-lab sweep: {spec_path} is not valid JSON: {error}", file=err)
        return EXIT_USAGE
    try:
        client = client if client is not None else _client(url, token)
        sweep = client.sweep(document)
    except ApiError as error:
        print(f"lepton-lab sweep: {spec_path}: {error.message}", file=err)
        return EXIT_USAGE
    except (LabClientError, ValueError, TypeError) as error:
        print(f"lepton-lab sweep: {error}", file=err)
        return EXIT_USAGE
    print(
        f"sweep {sweep.id} ({sweep.name}): {sweep.info.get('max_trials')} trials, {method_text(sweep.info)}",
        file=err,
    )
    if not follow:
        print(sweep.id)  # for scripts: `id=$(lepton-lab sweep s.json --no-follow)`
        return 0
    return follow_sweep(sweep, err, timeout)


def follow_sweep(sweep: Sweep, stream: TextIO, timeout: float | None = None) -> int:
    """Draw ``sweep`` until it ends; return its exit status (130 if interrupted by Ctrl-C)."""
    from lepton_lab.client import LabClientError

    progress = SweepProgress(sweep, stream).start()
    try:
        for info in sweep.follow(timeout=timeout):
            progress.draw(info)
    except KeyboardInterrupt:
        progress.close()
        print(f"stopped following; sweep {sweep.id} goes on on the server", file=stream)
        return 130
    except (LabClientError, TimeoutError) as error:
        progress.close()
        print(f"lepton-lab sweep: {error}", file=stream)
        return EXIT_USAGE
    progress.close()
    progress.summary(sweep.info)
    return EXIT_CODES.get(str(sweep.info.get("state")), 1)


def cmd_sweeps(
    client: LabClient | None = None,
    stream: TextIO | None = None,
    url: str | None = None,
    token: str | None = None,
) -> int:
    """Print a table of the server's sweeps, newest first (``client`` as in :func:`cmd_sweep`)."""
    from lepton_lab.client import LabClientError

    out = terminal.console(stream if stream is not None else sys.stdout)
    try:
        client = client if client is not None else _client(url, token)
        sweeps = client.sweeps()
    except LabClientError as error:
        print(f"lepton-lab sweeps: {error}", file=sys.stderr)
        return EXIT_USAGE
    if not sweeps:
        out.print("no sweeps")
        return 0
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in ("id", "name", "state", "trials", "running", "pruned", "best", "metric"):
        table.add_column(column, no_wrap=column == "id")
    for sweep in sweeps:
        info = sweep.info
        counts = info.get("counts") or {}
        done = sum(int(counts.get(key) or 0) for key in _DONE)
        best = (info.get("best") or {}).get("value")
        table.add_row(
            sweep.id, sweep.name, str(info.get("state")), f"{done}/{info.get('max_trials')}",
            str(counts.get("running") or 0), str(counts.get("pruned") or 0),
            f"{best:.4f}" if isinstance(best, (int, float)) else "",
            str((info.get("objective") or {}).get("metric") or ""),
        )  # fmt: skip
    out.print(table)
    return 0


def add_subcommands(subparsers: Any) -> None:
    """Add ``sweep`` and ``sweeps`` to the ``lepton-lab`` argument parser."""
    server = "Lepton Lab server URL (default: $LEPTON_LAB_URL)"
    token = "the server's token (default: $LEPTON_LAB_TOKEN)"
    sweep = subparsers.add_parser(
        "sweep", help="start a hyperparameter sweep (SweepSpec JSON) on a server and follow it"
    )
    sweep.add_argument("spec", help="SweepSpec JSON file: base, space, objective, strategy, max_trials, ...")
    sweep.add_argument("--no-follow", action="store_true", help="print the sweep's id and return at once")
    sweep.add_argument("--timeout", type=float, help="stop following after this many seconds")
    sweep.add_argument("--url", help=server)
    sweep.add_argument("--token", help=token)
    sweep.set_defaults(handler=_run_sweep)
    listing = subparsers.add_parser("sweeps", help="list the sweeps of a server")
    listing.add_argument("--url", help=server)
    listing.add_argument("--token", help=token)
    listing.set_defaults(handler=_run_sweeps)


def _run_sweep(args: Any) -> int:
    return cmd_sweep(
        args.spec, follow=not args.no_follow, timeout=args.timeout, url=args.url, token=args.token
    )


def _run_sweeps(args: Any) -> int:
    return cmd_sweeps(url=args.url, token=args.token)
