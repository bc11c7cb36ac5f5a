"""ModelRegistry: the models the server deploys, serves and watches, without TensorFlow.

Each deployed model runs in a model-server worker process of its own (``python -m
lepton_lab.serving.worker``) that loads its SavedModel; this process micro-batches the
requests of all callers (:mod:`~lepton_lab.server.microbatch`), supervises the worker
(:mod:`~lepton_lab.server.model_deployment`) and records metrics
(:class:`~lepton_lab.server.model_metrics.ModelMetrics`). Deployments persist under
``<runs_dir>/.models/<name>/`` (:mod:`~lepton_lab.server.model_store`) and :meth:`ModelRegistry.start`
redeploys them. Deploying a run that has no SavedModel export yet exports it first with the same
:class:`~lepton_lab.server.model_exports.Exporter` (a child process) that ``POST jobs/{id}/exports``
uses, so two requests for the same export share one process.

Used by the Jupyter extension's handlers and by ``lepton-lab serve`` (``runs_dir=None``: models
are served from ``export_dir`` in place and nothing is persisted). Errors carry the HTTP status
they map to (``status_code``): :class:`ModelNotFound` 404, :class:`DeployError` and
:class:`BadInput` 400, :class:`ModelUnavailable` 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np

from lepton_lab.core.rundir import SPEC_FILE
from lepton_lab.server.model_deployment import Deployment, ModelError, ModelNotFound, ModelUnavailable
from lepton_lab.server.model_exports import Exporter
from lepton_lab.server.model_store import (
    WORKER_LOG,
    DeploymentSource,
    ModelStore,
    find_run_savedmodel,
    resolve_export_dir,
    run_metadata,
    safe_name,
    valid_name,
)
from lepton_lab.server.model_workers import ModelWorker, WorkerDied

__all__ = ["BadInput", "DeployError", "ModelError", "ModelNotFound", "ModelRegistry", "ModelUnavailable"]

MetricsFactory = Callable[[str, list[str], "list[float] | None"], Any]


class DeployError(ModelError, ValueError):
    """A deployment that cannot be made: no export, a SavedModel that does not load, a bad name."""

    status_code = 400


class BadInput(ModelError, ValueError):
    """Images that are not ``uint8 [n, H, W, C]`` of the model's input shape."""

    status_code = 400


def _default_metrics(name: str, classes: list[str], training: list[float] | None) -> Any:
    from lepton_lab.server.model_metrics import ModelMetrics

    return ModelMetrics(name, classes, training)


class ModelRegistry:
    """Deployed models: deploy, list, predict (micro-batched), undeploy; one worker process each.

    Parameters
    ----------
    runs_dir
        The runs directory (deployments under ``.models/``); None for standalone serving.
    log
        Logger for worker deaths and restarts.
    max_batch, max_wait_s
        Micro-batching bounds: rows per worker batch, and the longest a request waits for others.
    metrics
        Makes each model's metrics, ``metrics(name, classes, training_distribution)``; default
        :class:`~lepton_lab.server.model_metrics.ModelMetrics`.
    gpu
        ``CUDA_VISIBLE_DEVICES`` for the workers; None (default) runs them on CPU.
    window
        Injected micro-batching window (tests); see :class:`~lepton_lab.server.microbatch.MicroBatcher`.
    start_timeout_s, batch_timeout_s, ready_timeout_s
        Bounds: a worker loading its model; one batch; a request waiting for a (re)starting worker.
    restart_backoff_s
        Delays before restarting a worker that died, growing while it keeps dying soon after starting.
    tick_s
        Listeners hear each model that served requests about this often.
    """

    def __init__(
        self,
        runs_dir: Path | None,
        log: logging.Logger | logging.LoggerAdapter[Any] | None = None,
        *,
        max_batch: int = 64,
        max_wait_s: float = 0.005,
        metrics: MetricsFactory | None = None,
        gpu: str | None = None,
        window: Callable[[], Awaitable[None]] | None = None,
        start_timeout_s: float = 180.0,
        batch_timeout_s: float = 60.0,
        ready_timeout_s: float = 60.0,
        restart_backoff_s: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0),
        max_start_failures: int = 3,
        export_timeout_s: float = 900.0,
        exporter: Exporter | None = None,
        tick_s: float = 1.0,
    ) -> None:
        self.runs_dir = Path(runs_dir) if runs_dir is not None else None
        self.log = log or logging.getLogger("lepton_lab.models")
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self._metrics_factory = metrics or _default_metrics
        self._env = {"CUDA_VISIBLE_DEVICES": gpu if gpu is not None else ""}
        self._window = window
        self._start_timeout_s = start_timeout_s
        self._batch_timeout_s = batch_timeout_s
        self._ready_timeout_s = ready_timeout_s
        self._restart_backoff_s = restart_backoff_s
        self._max_start_failures = max_start_failures
        self._exporter = exporter or Exporter(self.log, env=dict(self._env), timeout_s=export_timeout_s)
        self._tick_s = tick_s
        self._store = ModelStore(self.runs_dir) if self.runs_dir is not None else None
        self._deployments: dict[str, Deployment] = {}
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self._deploy_lock: asyncio.Lock | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._heard: dict[str, int] = {}

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Redeploy the models ``<runs_dir>/.models`` holds (their workers start in the background)."""
        self._start_ticker()
        if self._store is None:
            return
        for name in self._store.names():
            if name in self._deployments:
                continue
            try:
                record = self._store.read(name)
                version_dir = self._store.folder(name) / str(record["version"])
                deployment = self._deployment(record, version_dir)
            except (OSError, ValueError, KeyError) as error:
                self.log.warning("Lepton Lab: cannot redeploy model %r: %s", name, error)
                continue
            self._deployments[name] = deployment
            deployment.launch()

    async def stop(self) -> None:
        """Stop every worker (deployments stay on disk for the next start)."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        deployments, self._deployments = list(self._deployments.values()), {}
        await asyncio.gather(*(d.stop("the model server is stopping") for d in deployments))

    # ------------------------------------------------------------------ deployments

    async def deploy(
        self, run_id: str | None = None, *, name: str | None = None, export_dir: Path | None = None
    ) -> dict[str, Any]:
        """Deploy a run's SavedModel export (exported first if it has none) or ``export_dir``.

        Deploying under a name already deployed adds the next version and switches to it once its
        worker is ready. Returns the Model dict (state ``ready``).

        Raises
        ------
        ModelNotFound
            No such run in the runs directory.
        DeployError
            Nothing to deploy, a bad name, the export failed, or the SavedModel does not load.
        """
        if self._deploy_lock is None:
            self._deploy_lock = asyncio.Lock()
        self._start_ticker()
        async with self._deploy_lock:
            source = await self._source(run_id, name, export_dir)
            try:
                name = valid_name(name) if name else safe_name(source.export_name)
            except ValueError as error:
                raise DeployError(str(error)) from None
            meta = run_metadata(source)
            if self._store is not None:
                record = self._store.add_version(name, source, meta)
                version_dir = self._store.folder(name) / str(record["version"])
            else:
                version = int(source.version_dir.name) if source.version_dir.name.isdigit() else 1
                record = {
                    "name": name,
                    "created": time.time(),
                    "version": version,
                    "versions": [version],
                    "run_id": source.run_id,
                    **meta,
                }
                version_dir = source.version_dir
            worker = self._new_worker(version_dir, name)
            try:
                info = await worker.start()
            except WorkerDied as died:
                self._discard_version(record)
                raise DeployError(
                    f"model {name!r}: the SavedModel {source.version_dir} does not load: {died}"
                ) from None
            record["input"] = info["input"]
            if not record.get("classes") or len(record["classes"]) != info["classes"]:
                record["classes"] = [str(k) for k in range(int(info["classes"]))]
                record["training_distribution"] = None
            if self._store is not None:
                self._store.write(record)
            current = self._deployments.get(name)
            if current is None:
                current = self._deployments[name] = self._deployment(record, version_dir)
                current.adopt(worker)
            else:
                old_worker = current.worker
                if current.record.get("classes") != record["classes"]:
                    current.metrics = self._new_metrics(record)
                current.adopt(worker, record)
                if old_worker is not None:
                    await old_worker.stop()
            self.log.info(
                "Lepton Lab: model %r version %s serving from %s on %s",
                name,
                record["version"],
                version_dir,
                info.get("device", "CPU"),
            )
            return current.model()

    async def undeploy(self, name: str) -> None:
        """Stop the model's worker and delete its deployment (the run's export is kept)."""
        deployment = self._get(name)
        del self._deployments[name]
        await deployment.stop(f"model {name!r} was undeployed")
        if self._store is not None:
            self._store.remove(name)

    def list(self) -> list[dict[str, Any]]:
        """Every deployed model's Model dict, by name."""
        return [self._deployments[name].model() for name in sorted(self._deployments)]

    def get(self, name: str) -> dict[str, Any]:
        """Return the Model dict of ``name``; ModelNotFound if it is not deployed."""
        return self._get(name).model()

    def input_spec(self, name: str) -> dict[str, Any]:
        """``{"shape": [None, H, W, C], "dtype": "uint8"}`` the model takes."""
        spec = self._get(name).record.get("input")
        if spec is None:
            raise ModelUnavailable(f"model {name!r} is still starting; its input shape is not known yet")
        return {"shape": list(spec["shape"]), "dtype": spec["dtype"]}

    def metrics(self, name: str) -> Any:
        """Return the model's :class:`~lepton_lab.server.model_metrics.ModelMetrics`."""
        return self._get(name).metrics

    def add_listener(self, callback: Callable[[dict[str, Any]], None]) -> None:
        """Call ``callback(Model)`` on every state change and about once a second while it serves."""
        self._listeners.append(callback)

    # ------------------------------------------------------------------ predicting

    async def predict(self, name: str, images: np.ndarray) -> dict[str, np.ndarray]:
        """Class probabilities and top classes of ``images`` (uint8 ``[n, H, W, C]``), micro-batched.

        Raises
        ------
        ModelNotFound
            ``name`` is not deployed.
        BadInput
            ``images`` are not uint8 of the model's input shape.
        ModelUnavailable
            The worker is restarting, failed, or died while running this request.
        """
        deployment = self._get(name)
        self._check_input(deployment, images)
        if len(images) == 0:
            count = len(deployment.record.get("classes") or [])
            return {"probabilities": np.zeros((0, count), np.float32), "classes": np.zeros(0, np.int64)}
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._ready_timeout_s + self._batch_timeout_s + 5):
                probabilities, classes = await deployment.batcher.submit(images)
        except (ModelError, asyncio.TimeoutError) as error:
            deployment.requests += 1
            deployment.metrics.observe(time.monotonic() - started, len(images), [], error=True)
            if isinstance(error, asyncio.TimeoutError):
                raise ModelUnavailable(f"model {name!r} did not answer in time; try again shortly") from None
            raise
        deployment.requests += 1
        deployment.metrics.observe(time.monotonic() - started, len(images), classes.tolist())
        return {"probabilities": probabilities, "classes": classes}

    # ------------------------------------------------------------------ internals

    def _get(self, name: str) -> Deployment:
        try:
            return self._deployments[name]
        except KeyError:
            deployed = ", ".join(sorted(self._deployments)) or "none"
            raise ModelNotFound(f"no model named {name!r} is deployed (deployed: {deployed})") from None

    @staticmethod
    def _check_input(deployment: Deployment, images: Any) -> None:
        spec = deployment.record.get("input")
        if spec and spec.get("dtype") == "string":  # a text model: one string per example
            if not isinstance(images, np.ndarray) or images.dtype.kind not in "OU" or images.ndim != 1:
                got = (
                    f"{images.dtype} {list(images.shape)}"
                    if isinstance(images, np.ndarray)
                    else type(images).__name__
                )
                raise BadInput(f"model {deployment.name!r} takes a batch of strings [n]; got {got}")
            return
        expected = list(spec["shape"][1:]) if spec else None
        if (
            not isinstance(images, np.ndarray)
            or images.dtype != np.uint8
            or images.ndim != 4
            or (
                expected is not None
                and any(e is not None and e != s for e, s in zip(expected, images.shape[1:], strict=True))
            )
        ):
            got = (
                f"{images.dtype} {list(images.shape)}"
                if isinstance(images, np.ndarray)
                else type(images).__name__
            )
            raise BadInput(
                f"model {deployment.name!r} takes uint8 images "
                f"[n, {', '.join(map(str, expected or ['H', 'W', 'C']))}]; got {got}"
            )

    def _new_worker(self, version_dir: Path, name: str) -> ModelWorker:
        log_path = self._store.folder(name) / WORKER_LOG if self._store is not None else None
        return ModelWorker(
            version_dir,
            env=self._env,
            log_path=log_path,
            start_timeout_s=self._start_timeout_s,
            batch_timeout_s=self._batch_timeout_s,
        )

    def _new_metrics(self, record: dict[str, Any]) -> Any:
        classes = list(record.get("classes") or [])
        training = record.get("training_distribution")
        if training is not None and len(training) != len(classes):
            training = None
        return self._metrics_factory(record["name"], classes, training)

    def _deployment(self, record: dict[str, Any], version_dir: Path) -> Deployment:
        name = record["name"]
        return Deployment(
            record,
            version_dir,
            new_worker=lambda path: self._new_worker(path, name),
            on_change=self._changed,
            metrics=self._new_metrics(record),
            max_batch=self.max_batch,
            max_wait_s=self.max_wait_s,
            window=self._window,
            ready_timeout_s=self._ready_timeout_s,
            restart_backoff_s=self._restart_backoff_s,
            max_start_failures=self._max_start_failures,
        )

    def _discard_version(self, record: dict[str, Any]) -> None:
        """Forget a new version whose worker did not load (the previous one keeps serving)."""
        if self._store is None:
            return
        name = record["name"]
        if len(record["versions"]) <= 1:
            self._store.remove(name)
        else:
            self._store.remove_version(name, record["version"])

    async def _source(
        self, run_id: str | None, name: str | None, export_dir: Path | None
    ) -> DeploymentSource:
        if export_dir is not None:
            try:
                return resolve_export_dir(Path(export_dir))
            except (ValueError, OSError) as error:
                raise DeployError(str(error)) from None
        if run_id is None:
            raise DeployError("deploy needs a run id (`run`) or a SavedModel export directory")
        if self.runs_dir is None:
            raise DeployError(
                f"cannot deploy run {run_id!r}: this server has no runs directory; pass export_dir"
            )
        run_dir = self.runs_dir / run_id
        if os.sep in run_id or run_id.startswith(".") or not (run_dir / SPEC_FILE).is_file():
            raise ModelNotFound(f"no run {run_id!r} in {self.runs_dir}")
        return find_run_savedmodel(run_dir, name) or await self._export(run_dir)

    async def _export(self, run_dir: Path) -> DeploymentSource:
        """Export the run as a SavedModel in a child process (TensorFlow stays out of this process)."""
        self.log.info("Lepton Lab: exporting run %s as a SavedModel to deploy it", run_dir.name)
        try:
            await self._exporter.export(run_dir, "savedmodel")
        except (ValueError, RuntimeError) as error:  # the Exporter's 400/409/500 errors
            raise DeployError(
                f"run {run_dir.name} has no SavedModel export and exporting one failed: {error}"
            ) from None
        source = find_run_savedmodel(run_dir)
        if source is None:
            raise DeployError(f"run {run_dir.name}: the export finished but no SavedModel is in its exports")
        return source

    def _changed(self, deployment: Deployment) -> None:
        if deployment.state != "ready":
            self.log.warning(
                "Lepton Lab: model %r is %s: %s", deployment.name, deployment.state, deployment.error
            )
        self._emit(deployment)

    def _emit(self, deployment: Deployment) -> None:
        if not self._listeners:
            return
        model = deployment.model()
        self._heard[deployment.name] = deployment.requests
        for callback in list(self._listeners):
            try:
                callback(model)
            except Exception:  # a listener's bug must not stop serving
                self.log.exception("Lepton Lab: a model listener failed")

    def _start_ticker(self) -> None:
        if self._ticker is None:
            self._ticker = asyncio.ensure_future(self._tick())

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self._tick_s)
            for deployment in list(self._deployments.values()):
                if deployment.requests != self._heard.get(deployment.name, 0):
                    self._emit(deployment)
