"""One deployed model in the server: its worker, supervised; its batcher; its metrics; its state.

A :class:`Deployment` keeps one :class:`~lepton_lab.server.model_workers.ModelWorker` running.
Its supervisor task waits for the worker to end; when it does, the state becomes
``restarting`` (``error`` says how it ended, ``restarts`` counts) and a new worker starts after
a backoff that grows while the worker keeps dying soon after starting. A worker that cannot
even start ``max_start_failures`` times in a row leaves the model ``failed``.

Requests reach the worker through a :class:`~lepton_lab.server.microbatch.MicroBatcher`. A
batch waits (bounded, ``ready_timeout_s``) for a worker that is starting or restarting; the
batch in flight when the worker dies fails at once with :class:`ModelUnavailable`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from lepton_lab.server.microbatch import MicroBatcher
from lepton_lab.server.model_workers import ModelWorker, WorkerDied

__all__ = ["STATES", "Deployment", "ModelError", "ModelNotFound", "ModelUnavailable"]

#: A deployment's states (Model["state"]).
STATES = ("starting", "ready", "restarting", "failed")


class ModelError(Exception):
    """A model-serving error; ``status_code`` is the HTTP status it maps to."""

    status_code = 500


class ModelNotFound(ModelError, LookupError):
    """No model (or run) by that name."""

    status_code = 404


class ModelUnavailable(ModelError):
    """The model cannot answer now: its worker is starting, restarting or failed (HTTP 503)."""

    status_code = 503


class Deployment:
    """A served model: worker supervision, micro-batching, state and metrics.

    Parameters
    ----------
    record
        Its ``model.json`` content (name, version, versions, run_id, classes, input, ...).
    version_dir
        The SavedModel version the worker loads.
    new_worker
        Makes the (not yet started) worker for a version directory.
    on_change
        Called with the deployment after every state change.
    """

    def __init__(
        self,
        record: dict[str, Any],
        version_dir: Path,
        *,
        new_worker: Callable[[Path], ModelWorker],
        on_change: Callable[[Deployment], None],
        metrics: Any,
        max_batch: int,
        max_wait_s: float,
        window: Any = None,
        ready_timeout_s: float,
        restart_backoff_s: tuple[float, ...],
        max_start_failures: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.record = record
        self.version_dir = version_dir
        self.metrics = metrics
        self.state = "starting"
        self.error: str | None = None
        self.restarts = 0
        self.worker: ModelWorker | None = None
        #: Requests answered or failed, for the listener's ~1/s updates while serving.
        self.requests = 0
        self._new_worker = new_worker
        self._on_change = on_change
        self._ready_timeout_s = ready_timeout_s
        self._backoff = restart_backoff_s
        self._max_start_failures = max_start_failures
        self._clock = clock
        self._changed = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self.batcher = MicroBatcher(
            self._run_batch,
            max_batch=max_batch,
            max_wait_s=max_wait_s,
            window=window,
            on_batch=lambda size: self.metrics.observe_batch(size),
        )

    @property
    def name(self) -> str:
        """The deployment's name."""
        return str(self.record["name"])

    def model(self) -> dict[str, Any]:
        """Return the Model JSON (DEPLOY.md section 2)."""
        record = self.record
        return {
            "name": self.name,
            "version": record["version"],
            "versions": list(record["versions"]),
            "run_id": record.get("run_id"),
            "state": self.state,
            "input": record.get("input"),
            "classes": record.get("classes"),
            "created": record.get("created"),
            "pid": self.worker.pid if self.worker is not None and self.state == "ready" else None,
            "error": self.error,
            "restarts": self.restarts,
            "summary": self.metrics.summary(),
        }

    def _set_state(self, state: str, error: str | None = None) -> None:
        self.state, self.error = state, error
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()  # wakes the batches waiting for a worker
        self._on_change(self)

    # ------------------------------------------------------------------ supervision

    def adopt(self, worker: ModelWorker, record: dict[str, Any] | None = None) -> None:
        """Serve with ``worker`` (started and ready), replacing any current one, and watch it."""
        old_task, self._supervisor = self._supervisor, None
        if old_task is not None:
            old_task.cancel()
        if record is not None:
            self.record, self.version_dir = record, worker.version_dir
        self.worker = worker
        self._supervisor = asyncio.ensure_future(self._supervise(worker))
        self._set_state("ready")

    def launch(self) -> None:
        """Start a worker in the background (a redeploy at server start); requests wait for it."""
        self._supervisor = asyncio.ensure_future(self._supervise(None))

    async def _supervise(self, worker: ModelWorker | None) -> None:
        quick_deaths = 0
        failures = 0
        while True:
            if worker is None:
                worker = self._new_worker(self.version_dir)
                try:
                    await worker.start()
                except WorkerDied as died:
                    failures += 1
                    if failures >= self._max_start_failures:
                        self._set_state("failed", f"{died} (gave up after {failures} attempts to start it)")
                        return
                    self._set_state(self.state if self.state != "ready" else "restarting", str(died))
                    await asyncio.sleep(self._delay(failures))
                    worker = None
                    continue
                failures = 0
                self.worker = worker
                self._set_state("ready")
            started = self._clock()
            message = await worker.wait()
            self.restarts += 1
            self._set_state("restarting", message)
            quick_deaths = quick_deaths + 1 if self._clock() - started < 60 else 0
            await asyncio.sleep(self._delay(quick_deaths))
            worker = None

    def _delay(self, attempt: int) -> float:
        return self._backoff[min(max(attempt - 1, 0), len(self._backoff) - 1)]

    async def stop(self, reason: str) -> None:
        """Stop supervising and stop the worker; queued requests get ModelUnavailable(``reason``)."""
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        await self.batcher.close(ModelUnavailable(reason))
        if self.worker is not None:
            await self.worker.stop()

    # ------------------------------------------------------------------ serving

    async def _ready_worker(self) -> ModelWorker:
        """Return the ready worker, waiting (bounded) while it starts or restarts."""
        deadline = self._clock() + self._ready_timeout_s
        while self.state != "ready" or self.worker is None:
            if self.state == "failed":
                raise ModelUnavailable(f"model {self.name!r} failed: {self.error}; deploy it again")
            left = deadline - self._clock()
            if left <= 0:
                why = f" after {self.error}" if self.error else ""
                raise ModelUnavailable(
                    f"model {self.name!r} is {self.state}{why}; not ready within "
                    f"{self._ready_timeout_s:g} s, try again shortly"
                )
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)
        return self.worker

    async def _run_batch(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        worker = await self._ready_worker()
        try:
            return await worker.infer(images)
        except WorkerDied as died:
            raise ModelUnavailable(
                f"model {self.name!r} is unavailable: {died}; it is restarting, try again shortly"
            ) from None
        except RuntimeError as error:
            raise ModelError(f"model {self.name!r}: {error}") from None
