"""The notebook's entry points: where training, server jobs and the live plot meet.

``lepton_lab.train``, ``submit``, ``job``, ``jobs`` and ``LabClient`` come from here. The layers
below stay apart (checked by import-linter in ``make lint``): :mod:`lepton_lab.core` trains and
imports no widget, :mod:`lepton_lab.client` talks to the server and imports no widget, and
:mod:`lepton_lab.widgets` draws. This module is the one layer above all three, so it is where
they are joined:

- :func:`train` passes :func:`~lepton_lab.widgets.live_plot.watch_run` to the runner for
  ``live=True``: a plot that tails the run's ``events.jsonl``;
- :class:`Job` is the client's job with :meth:`Job.watch` (a live plot of the job), which
  ``submit``, ``job`` and ``jobs`` return.

Nothing heavy is imported until a function is called.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from lepton_lab import client

if TYPE_CHECKING:
    from lepton_lab.core.run_store import Run
    from lepton_lab.widgets.live_plot import LivePlot

_LOG = logging.getLogger("lepton_lab")


class Job(client.Job):
    """A job on the server (see :class:`lepton_lab.client.Job`) that can be watched live."""

    def watch(self) -> LivePlot:
        """Show a live loss/accuracy plot of this job in the cell; ``job.wait()`` waits for its end.

        The plot follows the job's WebSocket: its history first, then live, so
        ``lepton_lab.job(id).watch()`` works after a kernel restart too.
        """
        try:
            from lepton_lab.widgets.live_plot import LivePlot
        except ImportError as error:
            raise ImportError(
                f"Job.watch() needs lepton_lab.widgets.live_plot ({error}); install the widget "
                "dependencies (ipywidgets, anywidget) or follow the events with job.follow()"
            ) from error
        plot = LivePlot.follow_job(self)
        self._plots.append(plot)
        return plot


class LabClient(client.LabClient):
    """:class:`lepton_lab.client.LabClient` whose jobs have :meth:`Job.watch`."""

    job_type = Job


def _watchable(job: client.Job) -> Job:
    return job if isinstance(job, Job) else Job(job.client, job.info)


def submit(spec: Any) -> Job:
    """Queue a training job on the server this kernel belongs to (see :meth:`LabClient.submit`)."""
    return _watchable(client.submit(spec))


def jobs(status: str | list[str] | None = None) -> list[Job]:
    """Jobs on the server this kernel belongs to, newest first."""
    return [_watchable(job) for job in client.jobs(status)]


def job(job_id: str) -> Job:
    """Fetch the job ``job_id`` from the server this kernel belongs to."""
    return _watchable(client.job(job_id))


def _watch_run(run: Run) -> Any:
    try:
        from lepton_lab.widgets.live_plot import watch_run
    except ImportError as error:
        _LOG.warning("live=True needs lepton_lab.widgets.live_plot (%s); training without a plot", error)
        return None
    return watch_run(run)


def train(*args: Any, live: bool = False, **kwargs: Any) -> Run:
    """Train in this process and return the run; ``live=True`` shows it in the cell as it trains.

    The arguments are :func:`lepton_lab.core.runner.train`'s. With ``live=True`` the plot tails
    the run's ``events.jsonl`` (the very records the server and the report read) and shows the
    final plot once the run has ended, however it ended.
    """
    from lepton_lab.core import runner

    return runner.train(*args, live=_watch_run if live else False, **kwargs)
