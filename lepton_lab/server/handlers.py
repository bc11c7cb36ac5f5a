"""HTTP handlers of the Lepton Lab server extension.

Handlers stay thin: they parse the request, call the service and write JSON.
Domain errors become HTTP statuses in one place, :func:`api_errors`.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from http.client import responses
from typing import TYPE_CHECKING, Any, TypeVar

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin

from lepton_lab.core.specs import parse_job
from lepton_lab.server.access import artifact_content_type
from lepton_lab.server.bodies import parse_json_body
from lepton_lab.server.status import server_status

if TYPE_CHECKING:
    from lepton_lab.server.jobs import JobManager

#: Resource name checked by Jupyter's authorizer for every Lepton Lab route.
AUTH_RESOURCE = "lepton_lab"

F = TypeVar("F", bound=Callable[..., Awaitable[Any] | Any])


class ApiError(Exception):
    """An error with an HTTP status and a message for the user."""

    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


def _status_for(error: Exception) -> int | None:
    """HTTP status for a known domain error, None for unexpected ones."""
    from lepton_lab.core.specs import SpecError

    if isinstance(error, ApiError):
        return error.status
    if isinstance(error, SpecError):
        return 400
    for cls in type(error).__mro__:
        status = getattr(cls, "http_status", None)
        if isinstance(status, int):
            return status
    return None


def api_errors(method: F) -> F:
    """Turn domain errors raised by a handler method into JSON HTTP errors.

    Unknown exceptions propagate so Jupyter logs them as 500s with a traceback.
    """

    @functools.wraps(method)
    async def wrapper(self: APIHandler, *args: Any, **kwargs: Any) -> Any:
        try:
            result = method(self, *args, **kwargs)
            if hasattr(result, "__await__"):
                result = await result
            return result
        except tornado.web.HTTPError:
            raise
        except Exception as error:
            status = _status_for(error)
            if status is None:
                raise
            self.set_status(status)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"message": str(error), "reason": type(error).__name__}))
            return None

    return wrapper  # type: ignore[return-value]


def write_error_body(handler: tornado.web.RequestHandler, status_code: int, exc_info: Any = None) -> None:
    """Finish ``handler`` with the error body every Lepton Lab route sends: ``{"message", "reason"}``.

    Jupyter's own ``write_error`` sends ``"reason": null`` (and a traceback field for 500s), and
    its HTML pages for WebSocket routes; here both fields are always strings, as ``openapi.json`` says.
    """
    phrase = responses.get(status_code, "Unknown HTTP Error")
    message, reason = phrase, phrase
    error = exc_info[1] if exc_info else None
    if isinstance(error, tornado.web.HTTPError):
        message = error.log_message or phrase
        reason = error.reason or phrase
    elif error is not None:
        message = "Unhandled error; the server log has the traceback"
    if status_code == 405:
        from lepton_lab.server.routes import handler_methods  # routes imports this module

        # RFC 9110: a 405 lists the methods the route does support.
        handler.set_header("Allow", ", ".join(m.upper() for m in handler_methods(type(handler))))
    handler.set_header("Content-Type", "application/json")
    handler.finish(json.dumps({"message": message, "reason": reason}))


#: Events encoded per ``json.dumps`` call of a page: one call holds the GIL (and so the event loop)
#: until it returns, so a 10 000-event page is encoded in slices.
ENCODE_SLICE = 500


def encode_events_page(events: list[dict[str, Any]], offset: int) -> str:
    """Encode ``{"events": events, "next": offset}`` exactly as ``json.dumps(..., default=str)`` does."""
    slices = (
        json.dumps(events[start : start + ENCODE_SLICE], default=str)[1:-1]
        for start in range(0, len(events), ENCODE_SLICE)
    )
    return f'{{"events": [{", ".join(slices)}], "next": {json.dumps(offset)}}}'


class LeptonHandler(ExtensionHandlerMixin, APIHandler):
    """Base of every Lepton Lab API handler (authenticated and authorized)."""

    auth_resource = AUTH_RESOURCE

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Answer errors raised outside :func:`api_errors` (403, 405, 500) as ``{"message", "reason"}``."""
        write_error_body(self, status_code, kwargs.get("exc_info"))

    def write_json(self, data: Any, status: int = 200) -> None:
        """Send ``data`` as JSON with ``status``."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data, default=str))

    @property
    def manager(self) -> JobManager:
        """The extension's job manager."""
        manager: JobManager = self.extensionapp.job_manager  # type: ignore[attr-defined]
        return manager

    def int_argument(self, name: str, default: int | None = None) -> int | None:
        """Query argument ``name`` as an int, or a 400 naming it."""
        raw = self.get_query_argument(name, None)
        if raw is None:  # an empty value is refused like any other non-integer, as openapi.json says
            return default
        try:
            return int(raw)
        except ValueError:
            raise ApiError(f"{name}: expected an integer, got {raw!r}") from None

    def read_json(self) -> Any:
        """Parse the request body, or raise a 400 (413 when too large) that says what is wrong with it."""
        limit: int = self.extensionapp.max_body_bytes  # type: ignore[attr-defined]
        return parse_json_body(self.request.body, limit)


class StatusHandler(LeptonHandler):
    """``GET status``: versions, runs directory, executor and job counts."""

    @tornado.web.authenticated
    @authorized
    @api_errors
    async def get(self) -> None:
        """Report versions, the runs directory, the executor and job counts."""
        status = server_status(self.extensionapp)
        status["jobs"] = self.manager.summary()
        status["executor"] = type(self.manager.executor).__name__
        self.write_json(status)


class JobsHandler(LeptonHandler):
    """``GET jobs[?status=a,b]`` lists jobs; ``POST jobs`` with a JobSpec queues one."""

    @tornado.web.authenticated
    @authorized
    @api_errors
    async def get(self) -> None:
        """List jobs, newest first, optionally only some statuses; 304 if the client's ETag is current."""
        raw = self.get_query_argument("status", None)
        statuses = [s.strip() for s in raw.split(",") if s.strip()] if raw else None
        listing = self.manager.listing(statuses)  # kept encoded in memory until a job changes
        self.set_header("Content-Type", "application/json")
        self.set_header("Etag", listing.etag)
        if self.check_etag_header():
            self.set_status(304)
            self.finish()
        else:
            self.finish(listing.body)

    @tornado.web.authenticated
    @authorized
    @api_errors
    async def post(self) -> None:
        """Validate the JobSpec body, queue the job and answer 201 with it."""
        job = self.manager.submit(parse_job(self.read_json(), strict=True))
        self.set_header("Location", self.request.path.rstrip("/") + "/" + job["id"])
        self.write_json(job, status=201)


class JobHandler(LeptonHandler):
    """``GET jobs/{id}``: one job; ``PATCH``: rename, note, archive; ``DELETE``: cancel it."""

    @tornado.web.authenticated
    @authorized
    @api_errors
    async def get(self, job_id: str) -> None:
        """Return the job with its spec and traceback."""
        self.write_json(self.manager.get(job_id))

    @tornado.web.authenticated
    @authorized
    @api_errors
    async def patch(self, job_id: str) -> None:
        """Set any of ``name``, ``note``, ``archived``; answer with the updated job."""
        self.write_json(self.manager.annotate(job_id, self.read_json()))

    @tornado.web.authenticated
    @authorized
    @api_errors
    async def delete(self, job_id: str) -> None:
        """Cancel the job: 200 if it was queued, 202 while its worker stops."""
        job = self.manager.cancel(job_id)
        # A running worker gets time to stop: 202 until its status says cancelled.
        self.write_json(job, status=200 if job["status"] == "cancelled" else 202)


class JobRunHandler(LeptonHandler):
    """``DELETE jobs/{id}/run``: delete a finished job's run directory and forget the job."""

    @tornado.web.authenticated
    @authorized
    @api_errors
    async def delete(self, job_id: str) -> None:
        """Delete the run directory: 204, or 409 while the job is queued or running."""
        self.manager.delete_run(job_id)
        self.set_status(204)
        self.finish()


class JobResumeHandler(LeptonHandler):
    """``POST jobs/{id}/resume``: continue an interrupted, failed or cancelled job."""

    @tornado.web.authenticated
    @authorized
    @api_errors
    async def post(self, job_id: str) -> None:
        """Queue the job again; its worker resumes from the checkpoints."""
        self.write_json(self.manager.resume(job_id), status=202)


class JobEventsHandler(LeptonHandler):
    """``GET jobs/{id}/events?after=N&limit=L``: ``{"events": [...], "next": M}``."""

    @tornado.web.authenticated
    @authorized
    @api_errors
    async def get(self, job_id: str) -> None:
        """Return events after line ``after`` and the offset to continue from.

        The file is read, and the page encoded, in worker threads: a 10 000-event page must not
        hold up the other requests and streams of the event loop.
        """
        after = self.int_argument("after", 0) or 0
        events, offset = await self.manager.read_events(job_id, after=after, limit=self.int_argument("limit"))
        body = await asyncio.to_thread(encode_events_page, events, offset)
        self.set_header("Content-Type", "application/json")
        self.finish(body)


class JobEvaluationHandler(LeptonHandler):
    """``GET jobs/{id}/evaluation``: the job's ``evaluation.json``."""

    @tornado.web.authenticated
    @authorized
    @api_errors
    async def get(self, job_id: str) -> None:
        """Return the job's evaluation."""
        self.write_json(self.manager.evaluation(job_id))


class JobArtifactsHandler(LeptonHandler):
    """``GET jobs/{id}/artifacts``: the files of the run directory."""

    @tornado.web.authenticated
    @authorized
    @api_errors
    async def get(self, job_id: str) -> None:
        """List the files of the run directory."""
        self.write_json({"artifacts": self.manager.artifacts(job_id)})


class JobArtifactHandler(LeptonHandler):
    """``GET jobs/{id}/artifacts/{name}``: one file of the run directory, never one outside it."""

    @tornado.web.authenticated
    @authorized
    @api_errors
    async def get(self, job_id: str, name: str) -> None:
        """Send the file ``name`` of the run directory."""
        path = self.manager.artifact_path(job_id, name)
        content_type = artifact_content_type(path)
        self.set_header("Content-Type", content_type)  # before the first flush sends the headers
        self.set_header("Content-Disposition", f'attachment; filename="{path.name}"')
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                self.write(chunk)
                await self.flush()
        self.finish(set_content_type=content_type)


class DevicesHandler(LeptonHandler):
    """``GET devices``: CPU and GPUs, with the jobs placed on each."""

    @tornado.web.authenticated
    @authorized
    @api_errors
    async def get(self) -> None:
        """List the CPU and GPUs with their jobs."""
        self.write_json(self.manager.devices())


class DatasetsHandler(LeptonHandler):
    """``GET datasets``: the dataset registry and the roots allowed for ``folder:`` datasets."""

    @tornado.web.authenticated
    @authorized
    @api_errors
    async def get(self) -> None:
        """List the datasets and the allowed folder roots."""
        from lepton_lab.core.datasets import available

        roots = [str(root) for root in self.manager.dataset_roots or [self.manager.cwd.resolve()]]
        self.write_json({"datasets": available(), "folder_roots": roots})


class OpenApiHandler(LeptonHandler):
    """``GET openapi.json``: the OpenAPI document of every route."""

    @tornado.web.authenticated
    @authorized
    @api_errors
    async def get(self) -> None:
        """Return the OpenAPI document."""
        from lepton_lab.server.openapi import openapi_document

        self.write_json(openapi_document())
