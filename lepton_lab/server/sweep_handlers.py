"""HTTP handlers of the sweeps API: ``sweeps``, ``sweeps/{sweep_id}``, ``sweeps/{sweep_id}/trials``.

Thin like the job handlers (:mod:`lepton_lab.server.handlers`): parse, call the
:class:`~lepton_lab.server.sweeps.SweepManager`, write JSON; errors become statuses in
:func:`~lepton_lab.server.handlers.api_errors`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import tornado.web
from jupyter_server.auth.decorator import authorized

from lepton_lab.core.sweep_spec import parse_sweep
from lepton_lab.server.handlers import LeptonHandler, api_errors

if TYPE_CHECKING:
    from lepton_lab.server.sweeps import SweepManager


class SweepHandlerBase(LeptonHandler):
    """Base of the sweep handlers: reaches the extension's sweep manager."""

    @property
    def sweeps(self) -> SweepManager:
        """The extension's sweep manager."""
        sweeps: SweepManager = self.extensionapp.sweep_manager  # type: ignore[attr-defined]
        return sweeps


class SweepsHandler(SweepHandlerBase):
    """``GET sweeps`` lists sweeps; ``POST sweeps`` with a SweepSpec starts one."""

    @tornado.web.authenticated
    @authorized
    @api_errors
    async def get(self) -> None:
        """List every sweep, newest first."""
        self.write_json({"sweeps": self.sweeps.list_sweeps()})

    @tornado.web.authenticated
    @authorized
    @api_errors
    async def post(self) -> None:
        """Validate the SweepSpec body (a 400 names ``space.<path>: reason``), start it, answer 201."""
        sweep = self.sweeps.create(parse_sweep(self.read_json(), strict=True))
        self.set_header("Location", self.request.path.rstrip("/") + "/" + sweep["id"])
        self.write_json(sweep, status=201)


class SweepHandler(SweepHandlerBase):
    """``GET sweeps/{id}``: one sweep; ``DELETE``: cancel it."""

    @tornado.web.authenticated
    @authorized
    @api_errors
    async def get(self, sweep_id: str) -> None:
        """Return the sweep."""
        self.write_json(self.sweeps.get(sweep_id))

    @tornado.web.authenticated
    @authorized
    @api_errors
    async def delete(self, sweep_id: str) -> None:
        """Cancel the sweep: no more trials, queued ones cancelled, running ones stopped; 200."""
        self.write_json(self.sweeps.cancel(sweep_id))


class SweepTrialsHandler(SweepHandlerBase):
    """``GET sweeps/{id}/trials``: the sweep's trials by number."""

    @tornado.web.authenticated
    @authorized
    @api_errors
    async def get(self, sweep_id: str) -> None:
        """Return ``{"trials": [...]}``."""
        self.write_json({"trials": self.sweeps.trials(sweep_id)})
