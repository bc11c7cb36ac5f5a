"""Exports for the server: E's exporter run in a process of its own, never TensorFlow in the server.

``POST jobs/{id}/exports`` exports a run. Converting and verifying a model imports TensorFlow and
takes seconds to minutes, so :class:`Exporter` runs ``python -m lepton_lab.core.export RUN_DIR
--format F --quantize Q`` as a child process, awaits it without blocking the event loop, and answers
with the ``export.json`` it prints. Two requests for the same export of the same run share one
process. The options are checked here first (:func:`lepton_lab.core.export.check_options`), so a
bad request is a 400 before any process starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from lepton_lab.core.export.layout import ExportError, check_options, export_dir_name

#: Module the exporter runs as.
EXPORT_MODULE = "lepton_lab.core.export"
#: Characters of the exporter's standard error quoted when it fails.
STDERR_TAIL_CHARS = 2000
#: The exporter's exit status for a bad request (an ExportError: its message is the last line).
EXIT_BAD_REQUEST = 2


class ExportRequestError(ValueError):
    """An export request the exporter refuses (format, quantization, name); the message says why."""

    http_status = 400


class ExportUnavailable(RuntimeError):
    """The run has no trained model to export (yet)."""

    http_status = 409


class ExportFailed(RuntimeError):
    """The exporter process failed; the message quotes why."""

    http_status = 500


def check_export_request(body: Any) -> tuple[str, str, str | None]:
    """Validate a ``{"format", "quantize", "name"}`` body; return them (quantize defaults to none).

    Raises
    ------
    ExportRequestError
        Naming the bad field and the values allowed.
    """
    if not isinstance(body, dict):
        raise ExportRequestError('the body must be a JSON object: {"format": "tflite", "quantize": "int8"}')
    unknown = sorted(set(body) - {"format", "quantize", "name"})
    if unknown:
        raise ExportRequestError(
            f"unknown field(s) {', '.join(unknown)}; an export takes format, quantize, name"
        )
    format, quantize, name = body.get("format"), body.get("quantize", "none"), body.get("name")
    if not isinstance(format, str) or not isinstance(quantize, str):
        raise ExportRequestError(f"format and quantize must be strings, got {format!r} and {quantize!r}")
    try:
        check_options(format, quantize)
    except ExportError as error:
        raise ExportRequestError(str(error)) from None
    if name is not None and not isinstance(name, str):
        raise ExportRequestError(f"name: expected a string or null, got {name!r}")
    return format, quantize, name


class Exporter:
    """Run exports in child processes, one per distinct (run, format, quantize) at a time.

    Parameters
    ----------
    log
        Where failures are logged.
    python
        Interpreter that runs the exporter (the server's own by default).
    env
        Extra environment for the exporter. By default ``CUDA_VISIBLE_DEVICES`` is empty: an
        export is small, and TensorFlow would otherwise reserve the memory of a GPU that training
        jobs use.
    timeout_s
        An export running longer is killed and fails (None: no limit).
    """

    def __init__(
        self,
        log: logging.Logger | logging.LoggerAdapter[Any] | None = None,
        *,
        python: str = sys.executable,
        env: dict[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> None:
        self.log: logging.Logger | logging.LoggerAdapter[Any] = log or logging.getLogger(__name__)
        self.python = python
        self.env = {"CUDA_VISIBLE_DEVICES": ""} if env is None else env
        self.timeout_s = timeout_s
        self._running: dict[tuple[str, str, str, str | None], asyncio.Task[dict[str, Any]]] = {}
        self._processes: set[asyncio.subprocess.Process] = set()

    async def export(
        self, run_dir: Path, format: str, quantize: str = "none", name: str | None = None
    ) -> dict[str, Any]:
        """Export the run and return its ``export.json``.

        Raises
        ------
        ExportUnavailable
            The run has no ``model.keras``.
        ExportFailed
            The exporter exited with an error (its message quoted).
        """
        run_dir = Path(run_dir)
        if not (run_dir / "model.keras").is_file():
            raise ExportUnavailable(
                f"run {run_dir.name} has no trained model (model.keras) yet; export it once it has completed"
            )
        key = (str(run_dir), format, quantize, name)
        task = self._running.get(key)
        if task is None:
            task = asyncio.ensure_future(self._run(run_dir, format, quantize, name))
            self._running[key] = task
            task.add_done_callback(lambda _: self._running.pop(key, None))
        return await asyncio.shield(task)  # a client that goes away does not stop the export

    def command(self, run_dir: Path, format: str, quantize: str, name: str | None) -> list[str]:
        """Return the exporter's command line."""
        command = [self.python, "-m", EXPORT_MODULE, str(run_dir), "--format", format, "--quantize", quantize]
        return [*command, "--name", name] if name else command

    async def _run(self, run_dir: Path, format: str, quantize: str, name: str | None) -> dict[str, Any]:
        process = await asyncio.create_subprocess_exec(
            *self.command(run_dir, format, quantize, name),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **self.env},
        )
        self._processes.add(process)
        what = f"export of run {run_dir.name} to {export_dir_name(format, quantize)}"
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(), self.timeout_s)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise ExportFailed(f"{what} took over {self.timeout_s:g} s and was stopped") from None
        finally:
            self._processes.discard(process)
        text = stderr.decode("utf-8", "replace").strip()
        if process.returncode == EXIT_BAD_REQUEST and text:
            raise ExportRequestError(text.splitlines()[-1].removeprefix("error: "))
        if process.returncode != 0:
            tail = text[-STDERR_TAIL_CHARS:]
            self.log.warning("Lepton Lab: %s failed (exit code %s): %s", what, process.returncode, tail)
            raise ExportFailed(f"{what} failed (exit code {process.returncode}): {tail or 'no message'}")
        try:
            result: dict[str, Any] = json.loads(stdout)
        except ValueError as error:
            raise ExportFailed(f"{what} printed no export.json: {error}") from None
        return result

    async def stop(self) -> None:
        """Kill the exports in flight (the server is stopping)."""
        for process in list(self._processes):
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        for task in list(self._running.values()):
            with contextlib.suppress(BaseException):
                await task
