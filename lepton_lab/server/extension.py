"""The Lepton Lab Jupyter server extension."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Unicode

from lepton_lab.server import handlers

API = r"/lepton-lab/api"


class LeptonLabApp(ExtensionApp):
    """Runs Keras training jobs in worker processes and serves their metrics."""

    name = "lepton_lab"
    description = "Lepton Lab: training jobs and live metrics for JupyterLab."

    runs_dir = Unicode(
        "",
        config=True,
        help="Directory holding one run directory per job. Default: 'lepton-runs' under the server root.",
    )

    @property
    def runs_path(self) -> Path:
        """Absolute runs directory."""
        root = Path(self.serverapp.root_dir if self.serverapp else ".").expanduser()
        path = Path(self.runs_dir).expanduser() if self.runs_dir else root / "lepton-runs"
        return path if path.is_absolute() else (root / path)

    def initialize_handlers(self) -> None:
        """Register the REST routes (all authenticated)."""
        routes: list[tuple[str, Any]] = [
            (rf"{API}/status", handlers.StatusHandler),
        ]
        self.handlers.extend(routes)
