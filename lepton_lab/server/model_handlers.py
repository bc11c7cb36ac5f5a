"""HTTP handlers of deployed models, monitoring and exports.

Routes (under ``/lepton-lab/api/``, every one authenticated and authorized like the job routes):
``models``, ``models/{model}``, ``models/{model}:predict``, ``v1/models/{model}:predict`` (and
``/versions/{version}``), ``v1/models/{model}`` (TF Serving's model status), ``models/{model}/metrics``,
``metrics`` (Prometheus) and ``jobs/{job_id}/exports``. Thin like :mod:`~lepton_lab.server.handlers`:
the registry (:class:`~lepton_lab.server.model_registry.ModelRegistry`) serves, the exporter
(:class:`~lepton_lab.server.model_exports.Exporter`) exports in a child process. The predict routes
answer errors as TF Serving does, ``{"error": message}``; the others as every Lepton Lab route does.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import tornado.web
from jupyter_server.auth.decorator import authorized

from lepton_lab.server import model_service
from lepton_lab.server.handlers import ApiError, LeptonHandler
from lepton_lab.server.model_exports import check_export_request
from lepton_lab.server.tf_serving import error_body, model_status

if TYPE_CHECKING:
    from lepton_lab.server.model_exports import Exporter
    from lepton_lab.server.model_registry import ModelRegistry
    from lepton_lab.server.model_stream import ModelStream

#: Content type of the Prometheus text exposition format (prometheus_client's CONTENT_TYPE_LATEST).
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


F = TypeVar("F", bound=Callable[..., Awaitable[None]])


def model_api_errors(method: F) -> F:
    """:func:`~lepton_lab.server.handlers.api_errors` for these routes: also the registry's errors.

    The registry's errors declare their HTTP status as ``status_code``
    (:class:`~lepton_lab.server.model_deployment.ModelError`), Lepton Lab's as ``http_status``;
    both become ``{"message", "reason"}`` answers, anything else a logged 500.
    """

    @functools.wraps(method)
    async def wrapper(self: LeptonHandler, *args: Any, **kwargs: Any) -> None:
        try:
            await method(self, *args, **kwargs)
        except tornado.web.HTTPError:
            raise
        except Exception as error:
            status = error.status if isinstance(error, ApiError) else model_service.error_status(error)
            if status is None:
                raise
            self.set_status(status)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"message": str(error), "reason": type(error).__name__}))

    return wrapper  # type: ignore[return-value]


def check_deploy_request(body: Any) -> tuple[str, str | None, str | None]:
    """Validate a ``POST models`` body; return ``(run, name, export)``.

    Raises
    ------
    ApiError
        400 naming the bad field.
    """
    usage = (
        '{"run": "<run id>", "name": "digits" (optional), "export": "<SavedModel export name>" (optional)}'
    )
    if not isinstance(body, dict):
        raise ApiError(f"the body must be a JSON object: {usage}")
    unknown = sorted(set(body) - {"run", "name", "export"})
    if unknown:
        raise ApiError(f"unknown field(s) {', '.join(unknown)}; a deployment takes {usage}")
    run = body.get("run")
    if not isinstance(run, str) or not run:
        raise ApiError(f"run: expected the id of a completed run, got {run!r}: {usage}")
    for field in ("name", "export"):
        if body.get(field) is not None and not isinstance(body[field], str):
            raise ApiError(f"{field}: expected a string or null, got {body[field]!r}")
    return run, body.get("name") or None, body.get("export") or None


class ModelHandlerBase(LeptonHandler):
    """Base of the model handlers: reaches the extension's registry, exporter and stream."""

    @property
    def registry(self) -> ModelRegistry:
        """The extension's model registry."""
        registry: ModelRegistry = self.extensionapp.model_registry  # type: ignore[attr-defined]
        return registry

    @property
    def exporter(self) -> Exporter:
        """The extension's exporter (child processes)."""
        exporter: Exporter = self.extensionapp.model_exporter  # type: ignore[attr-defined]
        return exporter

    @property
    def model_stream(self) -> ModelStream:
        """The ``model`` messages of the all-jobs stream."""
        stream: ModelStream = self.extensionapp.model_stream  # type: ignore[attr-defined]
        return stream

    def run_dir(self, run_id: str) -> Path:
        """Return the run directory of ``run_id`` (404 naming it when there is no such run)."""
        return Path(self.manager.get(run_id)["run_dir"])


class ModelsHandler(ModelHandlerBase):
    """``GET models`` lists deployed models; ``POST models`` deploys a run's SavedModel."""

    @tornado.web.authenticated
    @authorized
    @model_api_errors
    async def get(self) -> None:
        """Return ``{"models": [Model, ...]}``."""
        self.write_json({"models": self.registry.list()})

    @tornado.web.authenticated
    @authorized
    @model_api_errors
    async def post(self) -> None:
        """Deploy ``run``'s SavedModel (exported first if it has none) under ``name``; 201 Model."""
        run, name, export = check_deploy_request(self.read_json())
        self.manager.check_manages(f"run {run} cannot be deployed here")  # 409 on a read-only server
        run_dir = self.run_dir(run)
        export_dir = None if export is None else run_dir / "exports" / "savedmodel" / export
        if export_dir is not None and not export_dir.is_dir():
            names = sorted(p.name for p in export_dir.parent.glob("*") if p.is_dir())
            raise ApiError(
                f"run {run} has no SavedModel export {export!r} (it has: {', '.join(names) or 'none'}); "
                "omit export to deploy the latest (exported first if there is none)",
                404,
            )
        model = await self.registry.deploy(run, name=name, export_dir=export_dir)
        self.set_header("Location", self.request.path.rstrip("/") + "/" + model["name"])
        self.write_json(model, status=201)


class ModelHandler(ModelHandlerBase):
    """``GET models/{model}``: one deployed model; ``DELETE``: undeploy it."""

    @tornado.web.authenticated
    @authorized
    @model_api_errors
    async def get(self, model: str) -> None:
        """Return the Model."""
        self.write_json(self.registry.get(model))

    @tornado.web.authenticated
    @authorized
    @model_api_errors
    async def delete(self, model: str) -> None:
        """Stop its worker and remove the deployment (the run's export stays); 200 ``{"deleted"}``."""
        last = self.registry.get(model)
        await self.registry.undeploy(model)
        self.model_stream.deleted(last)
        self.write_json({"deleted": model})


class ModelPredictHandler(ModelHandlerBase):
    """``POST models/{model}:predict`` and ``v1/models/{model}[/versions/{version}]:predict``.

    TF Serving's REST predict API exactly (:mod:`~lepton_lab.server.tf_serving`), errors included.
    """

    @tornado.web.authenticated
    @authorized
    async def post(self, model: str, version: str | None = None) -> None:
        """Answer ``{"predictions": ...}`` / ``{"outputs": ...}`` or ``{"error": ...}``."""
        if version is not None:
            status, answer = self._check_version(model, version)
            if status != 200:
                self._answer(status, answer)
                return
        limit: int = self.extensionapp.max_body_bytes  # type: ignore[attr-defined]
        status, text = await model_service.predict(self.registry, model, self.request.body, limit=limit)
        self._answer(status, text)

    def _check_version(self, model: str, version: str) -> tuple[int, dict[str, Any]]:
        try:
            served = self.registry.get(model)
        except Exception as error:
            status = model_service.error_status(error)
            if status is None:
                raise
            return status, error_body(str(error))
        if version != str(served.get("version")):
            return 404, error_body(
                f"Servable not found for request: Specific({model}, {version}); "
                f"version {served.get('version')} is served (omit /versions/N for it)"
            )
        return 200, {}

    def _answer(self, status: int, answer: dict[str, Any] | str) -> None:
        """Write ``answer`` (a JSON-able dict, or JSON text already written) with ``status``."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(answer if isinstance(answer, str) else json.dumps(answer))


class ModelStatusHandler(ModelHandlerBase):
    """``GET v1/models/{model}``: TF Serving's model status (``GetModelStatusResponse``)."""

    @tornado.web.authenticated
    @authorized
    async def get(self, model: str) -> None:
        """Return ``{"model_version_status": [...]}``, or 404 ``{"error"}``."""
        try:
            answer, status = model_status(self.registry.get(model)), 200
        except Exception as error:
            status = model_service.error_status(error) or 500
            if status == 500:
                raise
            answer = error_body(str(error))
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(answer))


class ModelMetricsHandler(ModelHandlerBase):
    """``GET models/{model}/metrics``: the model's monitoring JSON."""

    @tornado.web.authenticated
    @authorized
    @model_api_errors
    async def get(self, model: str) -> None:
        """Return the counts, latency quantiles, batch sizes, class distribution, drift and history."""
        self.registry.get(model)  # 404 naming the model
        self.write_json(self.registry.metrics(model).snapshot())


class MetricsHandler(ModelHandlerBase):
    """``GET metrics``: every deployed model's metrics in the Prometheus text format."""

    @tornado.web.authenticated
    @authorized
    @model_api_errors
    async def get(self) -> None:
        """Return the Prometheus exposition of every deployed model."""
        from lepton_lab.server.model_metrics import prometheus_text

        metrics = [self.registry.metrics(model["name"]) for model in self.registry.list()]
        self.set_header("Content-Type", PROMETHEUS_CONTENT_TYPE)
        self.finish(prometheus_text(metrics), set_content_type=PROMETHEUS_CONTENT_TYPE)


class JobExportsHandler(ModelHandlerBase):
    """``GET jobs/{id}/exports`` lists a run's exports; ``POST`` exports it (in a child process)."""

    @tornado.web.authenticated
    @authorized
    @model_api_errors
    async def get(self, job_id: str) -> None:
        """Return ``{"exports": [export.json, ...]}``."""
        from lepton_lab.core.export import list_exports

        self.write_json({"exports": list_exports(self.run_dir(job_id))})

    @tornado.web.authenticated
    @authorized
    @model_api_errors
    async def post(self, job_id: str) -> None:
        """Export to ``format`` (``quantize``, ``name``) and answer 201 with its export.json."""
        format, quantize, name = check_export_request(self.read_json())
        run_dir = self.run_dir(job_id)
        self.write_json(await self.exporter.export(run_dir, format, quantize, name), status=201)
