"""Python client of the server's sweeps: start one, follow it, read its trials as a DataFrame.

A sweep (``POST sweeps``) is owned by the server: an Optuna study whose trials are ordinary
jobs. :class:`Sweep` is the client's handle on one, in the style of
:class:`lepton_lab.client.Job`: attributes reflect the last fetch, errors are
:class:`~lepton_lab.client.ApiError` carrying the server's message, and :meth:`Sweep.wait`
listens to the server's ``stream`` WebSocket (whose ``{"type": "sweep"}`` messages say every
change of a sweep) instead of polling. No widgets: ``sweep.watch()`` is added by
:mod:`lepton_lab.notebook`, the layer above both.

Examples
--------
>>> import lepton_lab as ll
>>> sweep = ll.sweep({"dataset": {"name": "digits"}},                          # doctest: +SKIP
...                  {"train.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}},
...                  max_trials=8)
>>> sweep.wait().best["params"]                                               # doctest: +SKIP
{'train.learning_rate': 0.0031}
>>> sweep.trials().sort_values("value").tail(3)                               # doctest: +SKIP
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import warnings
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from lepton_lab.client import Job, LabClient

#: States after which a sweep does not change any more.
FINISHED_SWEEP_STATES = ("completed", "cancelled", "failed")

#: First segments of a parameter path that :func:`short_label` leaves out.
_SECTIONS = ("train", "model", "dataset", "augment")

#: The first columns of :meth:`Sweep.trials`, before one column per parameter path.
TRIAL_COLUMNS = ("number", "job_id", "status", "value", "epochs_run")


def sweep_body(spec: Any, what: str = "sweep spec") -> dict[str, Any]:
    """Return the JSON of a spec model (SweepSpec, JobSpec), a dict in its shape or its JSON text.

    ``what`` names the spec in errors.
    """
    if hasattr(spec, "model_dump"):
        body: dict[str, Any] = spec.model_dump(mode="json")
        return body
    if isinstance(spec, (str, bytes)):
        try:
            loaded = json.loads(spec)
        except ValueError as error:
            raise ValueError(f"the {what} is not valid JSON: {error}") from None
        if not isinstance(loaded, dict):
            raise ValueError(f"the {what} must be a JSON object, not {type(loaded).__name__}")
        return loaded
    if not isinstance(spec, Mapping):
        raise TypeError(f"the {what} is a spec model, a dict or JSON text, not {type(spec).__name__}")
    return dict(spec)


def sweep_request(
    spec: Any,
    space: Mapping[str, Any],
    *,
    objective: str | Mapping[str, Any] = "val_accuracy",
    direction: str | None = None,
    strategy: str = "tpe",
    max_trials: int | None = 20,
    parallel: int | None = None,
    pruner: str = "median",
    seed: int = 0,
    name: str | None = None,
) -> dict[str, Any]:
    """Build a SweepSpec body from a base JobSpec and a search space (what ``ll.sweep`` posts).

    Parameters
    ----------
    spec
        The base :class:`~lepton_lab.core.specs.JobSpec`, a dict in its shape, or its JSON text.
    space
        ``{dotted path: dimension}``, e.g. ``{"train.learning_rate": {"type": "float", "low": 1e-4,
        "high": 1e-2, "log": True}}``.
    objective
        The metric to optimise (``"val_accuracy"``), or ``{"metric": ..., "direction": ...}``.
    direction
        ``"maximize"`` or ``"minimize"``; None lets the server choose (minimize for ``*loss``).
    strategy, max_trials, parallel, pruner, seed, name
        As in the SweepSpec (``parallel`` None: the server's job slots; ``name`` None: ``"sweep"``).
    """
    base = sweep_body(spec, "base JobSpec")
    if isinstance(objective, str):
        goal: dict[str, Any] = {"metric": objective}
    elif isinstance(objective, Mapping):
        goal = dict(objective)
    else:
        raise TypeError(f"objective is a metric name or {{'metric', 'direction'}}, not {objective!r}")
    if direction is not None:
        goal["direction"] = direction
    body: dict[str, Any] = {
        "base": base,
        "space": {path: dict(dimension) for path, dimension in space.items()},
        "objective": goal,
        "strategy": strategy,
        "max_trials": max_trials,
        "parallel": parallel,
        "pruner": pruner,
        "seed": seed,
    }
    if name is not None:
        body["name"] = name
    return body


def trials_frame(trials: list[dict[str, Any]], space: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One row per trial: number, job_id, status, value, epochs_run, then one column per parameter.

    Parameter columns follow the order of ``space`` (the sweep's), then any other path a
    trial has; a parameter a trial lacks is missing (NaN / None). Rows are in trial order.
    """
    import pandas as pd

    paths = list(space or {})
    for trial in trials:
        paths += [path for path in trial.get("params") or {} if path not in paths]
    rows = [
        {
            "number": int(trial["number"]),
            "job_id": trial.get("job_id"),
            "status": trial.get("status"),
            "value": trial.get("value"),
            "epochs_run": int(trial.get("epochs_run") or 0),
            **{path: (trial.get("params") or {}).get(path) for path in paths},
        }
        for trial in sorted(trials, key=lambda trial: int(trial["number"]))
    ]
    frame = pd.DataFrame(rows, columns=[*TRIAL_COLUMNS, *paths])
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype(float)
    frame["number"] = frame["number"].astype(int)
    frame["epochs_run"] = frame["epochs_run"].astype(int)
    return frame


def short_label(path: str) -> str:
    """Name a parameter path briefly: ``train.learning_rate`` -> ``learning_rate``.

    Only the section (``train``, ``model``, ``dataset``, ``augment``) is left out, so
    ``model.layers.2.rate`` stays ``layers.2.rate``.
    """
    head, _, rest = path.partition(".")
    return rest if head in _SECTIONS and rest else path


def method_text(info: Mapping[str, Any]) -> str:
    """``"tpe sampling, median pruning"`` (``"no pruning"`` for the pruner ``none``) from a Sweep."""
    pruner = info.get("pruner") or "none"
    return f"{info.get('strategy') or '?'} sampling, {'no' if pruner == 'none' else pruner} pruning"


def counts_text(info: Mapping[str, Any]) -> str:
    """``"5/20 trials done · 2 running · 3 pruned"`` from a Sweep's counts."""
    counts = info.get("counts") or {}
    done = sum(int(counts.get(key) or 0) for key in ("completed", "pruned", "failed", "cancelled"))
    text = f"{done}/{info.get('max_trials') or '?'} trials done"
    for key in ("running", "queued", "pruned", "failed"):
        if counts.get(key):
            text += f" · {counts[key]} {key}"
    return text


class Sweep:
    """A sweep on the server; attributes reflect the last fetch (``state`` and ``best`` fetch).

    Parameters
    ----------
    client
        The :class:`~lepton_lab.client.LabClient` it came from.
    info
        The server's Sweep JSON (``GET sweeps/{id}``).
    """

    def __init__(self, client: LabClient, info: dict[str, Any]) -> None:
        self.client = client
        self.info = info
        self.id: str = info["id"]
        self._views: list[Any] = []  # views of watch(), which wait() lets finish drawing

    def __repr__(self) -> str:
        best = self.info.get("best") or {}
        shown = f" best {best['value']:.4g}" if isinstance(best.get("value"), (int, float)) else ""
        return f"<Sweep {self.id} {self.name!r} {self.info.get('state')} {counts_text(self.info)}{shown}>"

    def _path(self, *parts: str) -> str:
        return "/".join(["sweeps", urllib.parse.quote(self.id, safe=""), *parts])

    @property
    def name(self) -> str:
        """The sweep's name (``"sweep"`` unless the spec named it)."""
        return str(self.info.get("name") or "sweep")

    @property
    def objective(self) -> dict[str, Any]:
        """``{"metric": ..., "direction": ...}`` as the server resolved it."""
        return dict(self.info.get("objective") or {})

    def refresh(self) -> Sweep:
        """Fetch the sweep's current state into :attr:`info`."""
        self.info = self.client.request("GET", self._path())
        return self

    @property
    def state(self) -> str:
        """running, completed, cancelled or failed; fetched."""
        return str(self.refresh().info["state"])

    @property
    def done(self) -> bool:
        """Whether the sweep has ended (fetched)."""
        return self.state in FINISHED_SWEEP_STATES

    @property
    def best(self) -> dict[str, Any] | None:
        """The best trial so far, ``{"number", "job_id", "value", "params"}``, or None; fetched."""
        best = self.refresh().info.get("best")
        return dict(best) if isinstance(best, dict) else None

    def trials_info(self) -> list[dict[str, Any]]:
        """Every trial as the server's Trial JSON (params, status, value, per-epoch values), by number."""
        result: list[dict[str, Any]] = self.client.request("GET", self._path("trials"))["trials"]
        return result

    def trials(self) -> pd.DataFrame:
        """Return the trials as a DataFrame: number, job_id, status, value, epochs_run, then parameters.

        ``value`` is a trial's objective: its best epoch value of the metric so far (NaN before
        its first epoch). Sort by it to see the best settings:
        ``sweep.trials().sort_values("value", ascending=False)``.
        """
        return trials_frame(self.trials_info(), self.info.get("space"))

    def jobs(self) -> list[Job]:
        """Return the trials' jobs (ordinary jobs: ``job.events()``, ``job.watch()``, ...), in trial order."""
        ids = [trial["job_id"] for trial in self.trials_info() if trial.get("job_id")]
        listed = {job.id: job for job in self.client.jobs()}
        return [listed[job_id] if job_id in listed else self.client.job(job_id) for job_id in ids]

    def follow(
        self, timeout: float | None = None, stop: threading.Event | None = None
    ) -> Iterator[dict[str, Any]]:
        """Yield the sweep's JSON each time it changes, until it has ended (or ``stop`` is set).

        Reads the server's ``stream`` WebSocket: the sweep as the snapshot has it, then every
        ``{"type": "sweep"}`` message about it (a trial starts, reports an epoch, ends). The
        last one yielded is the ended sweep; :attr:`info` is kept up to date.

        Parameters
        ----------
        timeout
            Give up (``TimeoutError``) after this many seconds.
        stop
            Set from another thread to stop following.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        yield self.refresh().info  # fetched: a sweep that ended before the stream opened is not missed
        if self.info.get("state") in FINISHED_SWEEP_STATES:
            return
        try:
            for message in self.client.messages("stream", None, stop, deadline):
                if message.get("type") == "snapshot":
                    found = [info for info in message.get("sweeps") or [] if _is(info, self.id)]
                elif message.get("type") == "sweep":
                    found = [message["sweep"]] if _is(message.get("sweep"), self.id) else []
                else:
                    continue
                for info in found:
                    self.info = info
                    yield info
                if self.info.get("state") in FINISHED_SWEEP_STATES:
                    return
        except TimeoutError:
            raise TimeoutError(
                f"sweep {self.id} still {self.info.get('state')} after {timeout} s ({counts_text(self.info)})"
            ) from None

    def wait(self, timeout: float | None = None) -> Sweep:
        """Block until the sweep has ended; raise ``TimeoutError`` after ``timeout`` seconds.

        Views of ``sweep.watch()`` have drawn the end too when it returns, so a cell ending with
        ``sweep.wait()`` leaves them final (a saved notebook keeps the final charts).
        """
        for _ in self.follow(timeout):
            pass
        for view in self._views:
            view.wait_following(timeout=10)
        return self

    def cancel(self, wait: bool = True, timeout: float | None = 60.0) -> Sweep:
        """Cancel the sweep: queued trials are cancelled, running ones stopped.

        With ``wait``, return once every trial's worker has stopped. A sweep that has already
        ended is left as it is: a :class:`~lepton_lab.client.JobStateNotice` says so.
        """
        from lepton_lab.client import ApiError, JobStateNotice

        try:
            self.info = self.client.request("DELETE", self._path())
        except ApiError as error:
            if error.status != 409 or not self.done:  # `done` fetches the sweep
                raise
            warnings.warn(
                f"sweep {self.id} had already {self.info['state']}; there was nothing to cancel",
                JobStateNotice, stacklevel=2,
            )  # fmt: skip
            return self
        if wait:
            deadline = None if timeout is None else time.monotonic() + timeout
            for job in self.jobs():
                if job.info.get("status") in ("queued", "running"):
                    left = None if deadline is None else max(0.0, deadline - time.monotonic())
                    job.wait(left)
        return self


def _is(info: Any, sweep_id: str) -> bool:
    return isinstance(info, dict) and info.get("id") == sweep_id
