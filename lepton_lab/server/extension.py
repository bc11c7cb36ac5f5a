"""The Lepton Lab Jupyter server extension."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Enum, Float, Int, List, Type, Unicode, validate

from lepton_lab.server.bodies import MAX_BODY_BYTES
from lepton_lab.server.devices import GPU_POLICIES, GpuAllocator
from lepton_lab.server.executors import Executor, LocalProcessExecutor
from lepton_lab.server.jobs import JobManager
from lepton_lab.server.model_exports import Exporter
from lepton_lab.server.model_registry import ModelRegistry
from lepton_lab.server.model_stream import ModelStream
from lepton_lab.server.routes import ROUTES, tornado_pattern
from lepton_lab.server.sweeps import SweepManager


class LeptonLabApp(ExtensionApp):
    """Runs Keras training jobs in worker processes and serves their metrics."""

    name = "lepton_lab"
    description = "Lepton Lab: training jobs and live metrics for JupyterLab."

    runs_dir = Unicode(
        "",
        config=True,
        help="Directory holding one run directory per job. Default: 'lepton-runs' under the server root.",
    )
    max_concurrent_jobs = Int(
        0,
        config=True,
        help="Jobs that may run at once; more wait in the queue. 0: one per GPU (1 on a host without GPUs).",
    )
    gpu_policy = Enum(
        list(GPU_POLICIES),
        default_value="exclusive",
        config=True,
        help=(
            "How jobs get GPUs: 'exclusive' (one job per GPU; jobs wait for a free one), 'shared' (the "
            "GPU with the fewest jobs) or 'none' (workers train on the CPU)."
        ),
    )
    dataset_roots = List(
        Unicode(),
        default_value=[],
        config=True,
        help="Directories 'folder:' datasets may be read from. Default: the server's root directory.",
    )
    executor_class = Type(
        default_value=LocalProcessExecutor,
        klass=Executor,
        config=True,
        help="Where workers run: local processes by default; a cluster executor plugs in here.",
    )
    ray_address = Unicode(
        "",
        config=True,
        help=(
            "Address of the Ray cluster for executor_class = "
            "'lepton_lab.server.ray_executor.RayExecutor' (as for ray.init: 'auto', 'host:port' of "
            "the head's GCS, or 'ray://host:10001'). Empty: the executor's own default "
            "(c.RayExecutor.ray_address, 'auto')."
        ),
    )
    cancel_grace_seconds = Float(
        10.0,
        config=True,
        help="Seconds a cancelled worker gets between SIGTERM and SIGKILL.",
    )

    max_body_bytes = Int(
        MAX_BODY_BYTES,
        config=True,
        help="Largest request body the API reads, in bytes; a larger one is refused with 413. "
        "A job spec is a few kilobytes.",
    )

    @validate("max_concurrent_jobs")
    def _non_negative(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if value < 0:
            raise ValueError(f"max_concurrent_jobs must be >= 0 (0 = one per GPU), got {value}")
        return value

    job_manager: JobManager
    sweep_manager: SweepManager
    model_registry: ModelRegistry
    model_exporter: Exporter
    model_stream: ModelStream
    _registry_start: asyncio.Task[None] | None = None

    @property
    def root_path(self) -> Path:
        """The server's root directory."""
        return Path(self.serverapp.root_dir if self.serverapp else ".").expanduser().resolve()

    @property
    def runs_path(self) -> Path:
        """Absolute runs directory."""
        root = self.root_path
        path = Path(self.runs_dir).expanduser() if self.runs_dir else root / "lepton-runs"
        return path if path.is_absolute() else (root / path)

    def initialize_settings(self) -> None:
        """Create the job manager, take over jobs left by a previous server, start following them."""
        allocator = GpuAllocator(self.gpu_policy)
        slots = self.max_concurrent_jobs or max(1, len(allocator.usable()))
        roots = [Path(r).expanduser() for r in self.dataset_roots]
        self.job_manager = JobManager(
            self.runs_path,
            executor=self._make_executor(),
            slots=slots,
            allocator=allocator,
            cwd=self.root_path,
            dataset_roots=[r if r.is_absolute() else self.root_path / r for r in roots],
            cancel_grace_s=self.cancel_grace_seconds,
            log=self.log,
            holder={"url": getattr(self.serverapp, "connection_url", None)},
        )
        self.job_manager.recover()
        self.sweep_manager = SweepManager(self.job_manager, log=self.log)
        self._create_model_registry()
        try:
            # Already inside the running loop (tests, a reloaded extension): start on its next turn.
            asyncio.get_running_loop().call_soon(self._start_managers)
        except RuntimeError:
            pass  # the server starts its loop later and then calls _start_jupyter_server_extension
        self.log.info(
            "Lepton Lab: runs in %s, %d job slot(s), GPU policy %s", self.runs_path, slots, self.gpu_policy
        )

    def _create_model_registry(self) -> None:
        """Create the deployed models' registry (``<runs_dir>/.models``), its exporter and stream messages."""
        self.model_exporter = Exporter(self.log, timeout_s=900.0)
        self.model_registry = ModelRegistry(self.runs_path, self.log, exporter=self.model_exporter)
        self.model_stream = ModelStream(self.job_manager.broadcaster)
        self.model_registry.add_listener(self.model_stream.changed)
        self.job_manager.subscriptions.list_models = self.model_registry.list

    def _make_executor(self) -> Executor:
        """Create the executor; ``ray_address`` reaches an executor that has that setting."""
        executor = self.executor_class(parent=self)
        if self.ray_address and executor.has_trait("ray_address"):
            executor.set_trait("ray_address", self.ray_address)
        return executor

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        """Start the job manager once the server's event loop runs."""
        self._start_managers()

    def _start_managers(self) -> None:
        """Start the job manager, resume the sweeps running on it and redeploy the deployed models."""
        self.job_manager.start()
        self.sweep_manager.start()
        if self._registry_start is None and not self.job_manager.read_only:
            # The registry's workers start in the background; the server does not wait for them.
            # A server that only reads this runs directory leaves the models to the one managing it.
            self._registry_start = asyncio.ensure_future(self.model_registry.start())

    def initialize_handlers(self) -> None:
        """Register the routes of :data:`~lepton_lab.server.routes.ROUTES` (all authenticated)."""
        self.handlers.extend((tornado_pattern(template), handler) for template, handler in ROUTES)

    async def stop_extension(self) -> None:
        """Stop following jobs and stop the model workers.

        Training workers keep running and a restarted server re-attaches them; model workers stop
        (their deployments stay in ``.models`` and a restarted server redeploys them).
        """
        registry = getattr(self, "model_registry", None)
        if registry is not None:
            self.model_stream.close()
            if self._registry_start is not None:
                await asyncio.gather(self._registry_start, return_exceptions=True)
            await self.model_exporter.stop()
            await registry.stop()
        sweeps = getattr(self, "sweep_manager", None)
        if sweeps is not None:
            await sweeps.stop()
        manager = getattr(self, "job_manager", None)
        if manager is not None:
            await manager.stop()
