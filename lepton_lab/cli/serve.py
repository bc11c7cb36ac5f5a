"""``lepton-lab serve RUN|EXPORT_DIR --port N``: one model behind TF Serving's REST API, without Jupyter.

A small Tornado app with TF Serving's paths, so a client written for TF Serving works unchanged:

- ``POST /v1/models/{name}:predict`` (and ``/v1/models/{name}/versions/{v}:predict``): TF Serving's
  predict bodies and answers (:mod:`lepton_lab.server.tf_serving`), ``{"error": ...}`` on failure;
- ``GET /v1/models/{name}``: TF Serving's model status;
- ``GET /metrics``: the model's metrics in the Prometheus text format.

The model runs in a model-server worker process (the same
:class:`~lepton_lab.server.model_registry.ModelRegistry` as the Jupyter extension: micro-batching,
restarts), so this process never imports TensorFlow. ``RUN`` is a run directory or id: its latest
SavedModel export is served, exported first (in a child process) if it has none. ``EXPORT_DIR`` is
a SavedModel version directory or its ``<name>`` directory. Without ``--token`` anyone who can
reach ``--host`` may call it (the default host, 127.0.0.1, is this machine only); with it, requests
must send ``Authorization: Bearer <token>`` (or ``token <token>``).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from lepton_lab.core.run_store import DEFAULT_RUNS_DIR

#: TF Serving's REST port, the default here too.
DEFAULT_PORT = 8501
#: Exit status when there is nothing to serve (no run, no SavedModel, a failed export or load).
EXIT_USAGE = 2


def _handlers(
    registry: Any, name: str, token: str | None, limit: int
) -> list[tuple[str, Any, dict[str, Any]]]:
    import tornado.web

    from lepton_lab.server import model_service
    from lepton_lab.server.model_metrics import prometheus_text
    from lepton_lab.server.tf_serving import error_body, model_status

    class Handler(tornado.web.RequestHandler):
        """Base: token check, JSON answers, TF Serving's ``{"error"}`` for every failure."""

        def prepare(self) -> None:
            if token is None:
                return
            scheme, _, given = self.request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() not in ("bearer", "token") or not hmac.compare_digest(given.strip(), token):
                self.answer(401, error_body("missing or wrong token: send Authorization: Bearer <token>"))

        def answer(self, status: int, body: dict[str, Any] | str) -> None:
            self.set_status(status)
            self.set_header("Content-Type", "application/json")
            self.finish(body if isinstance(body, str) else json.dumps(body))

        def write_error(self, status_code: int, **kwargs: Any) -> None:
            self.answer(status_code, error_body(self._reason))

        def model(self, model: str) -> dict[str, Any] | None:
            """Return the served Model, or None after answering 404 as TF Serving does."""
            if model != name:
                self.answer(
                    404, error_body(f"Servable not found for request: Latest({model}); serving {name!r}")
                )
                return None
            result: dict[str, Any] = registry.get(name)
            return result

    class PredictHandler(Handler):
        async def post(self, model: str, version: str | None = None) -> None:
            served = self.model(model)
            if served is None:
                return
            if version is not None and version != str(served.get("version")):
                self.answer(404, error_body(f"Servable not found for request: Specific({model}, {version})"))
                return
            self.answer(*await model_service.predict(registry, name, self.request.body, limit=limit))

    class StatusHandler(Handler):
        def get(self, model: str) -> None:
            served = self.model(model)
            if served is not None:
                self.answer(200, model_status(served))

    class MetricsHandler(Handler):
        def get(self) -> None:
            self.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.finish(prometheus_text([registry.metrics(name)]))

    class NotFoundHandler(Handler):
        def prepare(self) -> None:
            super().prepare()
            if not self._finished:
                self.answer(
                    404,
                    error_body(
                        f"no route {self.request.path}; this server answers POST /v1/models/{name}:predict, "
                        f"GET /v1/models/{name} and GET /metrics"
                    ),
                )

    model = r"([^/:]+)"
    colon = "(?::|%3[Aa])"
    return [
        (rf"/v1/models/{model}{colon}predict", PredictHandler, {}),
        (rf"/v1/models/{model}/versions/([^/:]+){colon}predict", PredictHandler, {}),
        (rf"/v1/models/{model}", StatusHandler, {}),
        (r"/metrics", MetricsHandler, {}),
        (r".*", NotFoundHandler, {}),
    ]


def find_export(target: str, runs_dir: str) -> tuple[Path | None, Path | None]:
    """Return ``(export_dir, run_dir)`` for ``target``: a SavedModel directory, or a run to export.

    ``export_dir`` is None when ``run_dir`` has no SavedModel export yet.

    Raises
    ------
    LookupError
        ``target`` is neither a directory nor a run id.
    """
    from lepton_lab.core.rundir import SPEC_FILE
    from lepton_lab.server.model_store import find_run_savedmodel

    path = Path(target).expanduser()
    if path.is_dir() and not (path / SPEC_FILE).is_file():
        return path, None  # a SavedModel (checked when deployed)
    if path.is_dir():
        run_dir = path
    else:
        from lepton_lab.cli.runs import find_run

        run_dir = Path(find_run(target, runs_dir).path)
    source = find_run_savedmodel(run_dir)
    return (source.version_dir if source else None), run_dir


async def serve(
    target: str,
    port: int = DEFAULT_PORT,
    name: str | None = None,
    host: str = "127.0.0.1",
    token: str | None = None,
    runs_dir: str = DEFAULT_RUNS_DIR,
    max_body_bytes: int = 16 << 20,
    gpu: str | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """Serve ``target`` until ``stop`` is set (or SIGINT/SIGTERM); return an exit status."""
    import tornado.httpserver
    import tornado.netutil
    import tornado.web

    from lepton_lab.server.model_exports import Exporter
    from lepton_lab.server.model_registry import ModelError, ModelRegistry

    log = logging.getLogger("lepton_lab.serve")
    try:
        export_dir, run_dir = find_export(target, runs_dir)
        if export_dir is None and run_dir is not None:
            print(f"run {run_dir.name} has no SavedModel export: exporting it first...", file=sys.stderr)
            await (Exporter(log) if gpu is None else Exporter(log, env={"CUDA_VISIBLE_DEVICES": gpu})).export(
                run_dir, "savedmodel"
            )
            export_dir, _ = find_export(str(run_dir), runs_dir)
    except (LookupError, ValueError, OSError, RuntimeError) as error:  # no run, no model, a failed export
        print(f"lepton-lab serve: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    registry = ModelRegistry(None, log, gpu=gpu)
    try:
        await registry.start()
        model = await registry.deploy(name=name, export_dir=export_dir)
    except (ModelError, ValueError, OSError) as error:  # a SavedModel that does not load
        print(f"lepton-lab serve: error: {error}", file=sys.stderr)
        await registry.stop()
        return EXIT_USAGE
    served = model["name"]
    app = tornado.web.Application(_handlers(registry, served, token, max_body_bytes))
    server = tornado.httpserver.HTTPServer(app, max_body_size=max_body_bytes)
    sockets = tornado.netutil.bind_sockets(port, host)
    server.add_sockets(sockets)
    bound = sockets[0].getsockname()[1]
    print(
        f"serving model {served!r} version {model['version']} ({model['input']['dtype']} "
        f"{model['input']['shape']}) at http://{host}:{bound}/v1/models/{served}:predict",
        flush=True,
    )
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        server.stop()
        await registry.stop()
    return 0


def cmd_serve(args: Any) -> int:
    """Run :func:`serve` with the parsed arguments."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    return asyncio.run(
        serve(
            args.target,
            port=args.port,
            name=args.name,
            host=args.host,
            token=args.token,
            runs_dir=args.runs_dir,
            gpu=args.gpu,
        )
    )


def add_subcommands(subparsers: Any) -> None:
    """Add ``serve`` to the ``lepton-lab`` argument parser."""
    command = subparsers.add_parser(
        "serve",
        help="serve a run's SavedModel (or a SavedModel folder) with TF Serving's REST API, no Jupyter",
    )
    command.add_argument(
        "target", help="run directory or id (its SavedModel export), or a SavedModel directory"
    )
    command.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="port (TF Serving's 8501; 0: any free)"
    )
    command.add_argument("--name", help="model name in the URL; default: the export's name")
    command.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)"
    )
    command.add_argument("--token", help="require 'Authorization: Bearer TOKEN' on every request")
    command.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR, help="where to look up a run id")
    command.add_argument("--gpu", help="CUDA_VISIBLE_DEVICES for the model worker (default: CPU)")
    command.set_defaults(handler=cmd_serve)
