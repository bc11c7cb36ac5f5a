"""HTTP handlers of the Lepton Lab server extension.

Handlers stay thin: they parse the request, call the service and write JSON.
Domain errors become HTTP statuses in one place, :func:`api_errors`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin

from lepton_lab.server.status import server_status

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
    if isinstance(error, (SpecError, json.JSONDecodeError)):
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
            self.finish(json.dumps({"message": str(error), "reason": type(error).__name__}))
            return None

    return wrapper  # type: ignore[return-value]


class LeptonHandler(ExtensionHandlerMixin, APIHandler):
    """Base of every Lepton Lab API handler (authenticated and authorized)."""

    auth_resource = AUTH_RESOURCE

    def write_json(self, data: Any, status: int = 200) -> None:
        """Send ``data`` as JSON with ``status``."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data, default=str))

    def read_json(self) -> Any:
        """Parse the request body, or raise a 400 that says what is wrong with it."""
        try:
            return json.loads(self.request.body or b"null")
        except json.JSONDecodeError as error:
            raise ApiError(f"request body is not valid JSON: {error.msg} at line {error.lineno} "
                           f"column {error.colno}") from None


class StatusHandler(LeptonHandler):
    """``GET /lepton-lab/api/status``: package and framework versions."""

    @tornado.web.authenticated
    @authorized
    @api_errors
    async def get(self) -> None:
        self.write_json(server_status(self.extensionapp))
