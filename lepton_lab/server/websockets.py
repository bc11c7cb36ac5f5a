"""WebSocket handlers: a job's live events (``jobs/{id}/stream``) and every job's status (``stream``).

Both follow the pattern of Jupyter's own kernel and event sockets: ``@ws_authenticated`` on
``get`` (403 without a token, no login redirect), then an explicit authorization check on the
``lepton_lab`` resource. Each connection owns a :class:`~lepton_lab.server.streams.Subscriber`
whose bounded outbox is drained by its own task, so one slow client never delays another.
"""

from __future__ import annotations

import asyncio
from typing import Any

import tornado.web
from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado.websocket import WebSocketHandler

from lepton_lab.server.handlers import AUTH_RESOURCE, ApiError, api_errors, write_error_body
from lepton_lab.server.jobs import JobManager
from lepton_lab.server.streams import Subscriber


class _StreamSocket(ExtensionHandlerMixin, WebSocketMixin, WebSocketHandler, JupyterHandler):
    """Authenticated, authorized WebSocket that sends one subscriber's messages."""

    auth_resource = AUTH_RESOURCE
    subscriber: Subscriber | None = None
    _sender: asyncio.Task[None] | None = None

    def set_default_headers(self) -> None:
        """No API headers on a WebSocket upgrade (as Jupyter's kernel socket does)."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Refusals before the upgrade (403) are JSON like every API error, not Jupyter's HTML page."""
        write_error_body(self, status_code, kwargs.get("exc_info"))

    def require_upgrade(self) -> None:
        """400 naming the fix for a plain HTTP request (Tornado would answer in plain text)."""
        if self.request.headers.get("Upgrade", "").lower() != "websocket":
            raise ApiError(f"{self.request.path} is a WebSocket: connect with ws:// (or wss://)")

    @property
    def manager(self) -> JobManager:
        """The extension's job manager."""
        manager: JobManager = self.extensionapp.job_manager  # type: ignore[attr-defined]
        return manager

    async def authorize(self) -> None:
        """403 unless the user may read Lepton Lab data."""
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, "read", AUTH_RESOURCE)
        )
        if not allowed:
            raise tornado.web.HTTPError(403, f"not authorized to read {AUTH_RESOURCE}")

    def after_argument(self) -> int:
        """Parse the ``after`` query argument (line offset to replay from), or raise a 400 naming it."""
        raw = self.get_query_argument("after", "0") or "0"
        try:
            after = int(raw)
        except ValueError:
            raise ApiError(f"after: expected an integer line offset, got {raw!r}") from None
        if after < 0:
            raise ApiError(f"after: must be >= 0, got {after}")
        return after

    def _start_subscriber(self) -> Subscriber:
        subscriber = Subscriber(self.write_message, self.close)
        self.subscriber = subscriber
        self._sender = asyncio.ensure_future(subscriber.run())
        return subscriber

    def on_message(self, message: str | bytes) -> None:
        """Clients only listen; anything they send is ignored."""

    def on_close(self) -> None:
        """Stop sending to this client."""
        if self.subscriber is not None:
            self.subscriber.disconnect()
            self.manager.unsubscribe(self.subscriber, getattr(self, "job_id", None))


class JobStreamSocket(_StreamSocket):
    """``jobs/{id}/stream?after=N``: events from line N, then live ones; closes when the job ends."""

    job_id: str
    after: int

    @ws_authenticated
    @api_errors
    async def get(self, job_id: str, *args: Any, **kwargs: Any) -> None:
        """Check the job and offset, then upgrade to a WebSocket."""
        await self.authorize()
        self.job_id = job_id
        self.after = self.after_argument()
        self.manager.get(job_id)  # 404 before the upgrade if there is no such job
        self.require_upgrade()
        await super().get(job_id, *args, **kwargs)

    def open(self, *args: Any, **kwargs: Any) -> None:
        """Replay, then follow."""
        super().open()
        self.manager.subscribe_job(self.job_id, self._start_subscriber(), self.after)


class JobsStreamSocket(_StreamSocket):
    """``stream``: a snapshot of every job, then every status change and progress update."""

    @ws_authenticated
    @api_errors
    async def get(self, *args: Any, **kwargs: Any) -> None:
        """Upgrade to a WebSocket."""
        await self.authorize()
        self.require_upgrade()
        await super().get(*args, **kwargs)

    def open(self, *args: Any, **kwargs: Any) -> None:
        """Snapshot, then follow."""
        super().open()
        self.manager.subscribe_all(self._start_subscriber())
