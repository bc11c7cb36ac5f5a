"""Model workers: one model-server process per deployed model, seen from the server.

:class:`ModelWorker` starts ``python -m lepton_lab.serving.worker VERSION_DIR`` with pipes,
waits (bounded) for its ``ready`` frame and sends it batches (:meth:`ModelWorker.infer`) in
:mod:`lepton_lab.serving.protocol`'s frames, which it answers in order (a batch sent while another
runs waits in the pipe). A reader task takes the answers; when the process ends, the batches in
flight fail at once with :class:`WorkerDied` naming how it ended
and the last lines it wrote to standard error, so no caller waits for an answer that cannot
come. A batch that gets no answer within ``batch_timeout_s`` kills the worker (it is stuck).

TensorFlow lives only in the worker: this module imports numpy and the framing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections import deque
from pathlib import Path
from typing import Any, cast

import numpy as np

from lepton_lab.serving.protocol import batch_payload, decode_result, encode, header_length

__all__ = ["WORKER_MODULE", "ModelWorker", "WorkerDied"]

#: Module the model worker runs.
WORKER_MODULE = "lepton_lab.serving.worker"
#: Lines of the worker's standard error kept to explain how it ended.
STDERR_TAIL = 20


class WorkerDied(RuntimeError):
    """The worker process ended (or was killed as stuck); the message says how and why."""


class ModelWorker:
    """One model-server process and the pipe protocol to it.

    Parameters
    ----------
    version_dir
        The SavedModel version directory it loads.
    env
        Extra environment for the process (``CUDA_VISIBLE_DEVICES``).
    log_path
        File its standard error is appended to (kept beside the deployment), or None.
    start_timeout_s
        Seconds to wait for it to load the model and say ``ready`` (TensorFlow's import included).
    batch_timeout_s
        Seconds one batch may take before the worker is deemed stuck and killed.
    """

    def __init__(
        self,
        version_dir: Path,
        *,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        start_timeout_s: float = 120.0,
        batch_timeout_s: float = 60.0,
    ) -> None:
        self.version_dir = Path(version_dir)
        self._env = env or {}
        self._log_path = log_path
        self.start_timeout_s = start_timeout_s
        self.batch_timeout_s = batch_timeout_s
        self._process: asyncio.subprocess.Process | None = None
        self._stderr: deque[str] = deque(maxlen=STDERR_TAIL)
        self._pending: dict[int, asyncio.Future[tuple[dict[str, Any], bytes]]] = {}
        self._next_id = 0
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._ready: asyncio.Future[dict[str, Any]] | None = None
        self._exited: asyncio.Future[str] | None = None
        #: The ``ready`` frame: ``input`` spec and number of ``classes``.
        self.info: dict[str, Any] = {}

    @property
    def pid(self) -> int | None:
        """The process id, once started."""
        return self._process.pid if self._process else None

    async def start(self) -> dict[str, Any]:
        """Start the process and wait until the model is loaded; its ``ready`` frame.

        Raises
        ------
        WorkerDied
            It exited before it was ready (a SavedModel that does not load) or did not get ready
            within ``start_timeout_s`` (then it is killed).
        """
        loop = asyncio.get_running_loop()
        self._ready, self._exited = loop.create_future(), loop.create_future()
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            WORKER_MODULE,
            str(self.version_dir),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={
                **os.environ,
                "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
                # On a GPU it shares with training workers and other models, take memory as needed
                # rather than all of it at start.
                "TF_FORCE_GPU_ALLOW_GROWTH": os.environ.get("TF_FORCE_GPU_ALLOW_GROWTH", "true"),
                **self._env,
            },
            start_new_session=True,  # a Ctrl-C aimed at the server is the server's to handle
        )
        self._tasks = [asyncio.ensure_future(self._read_frames()), asyncio.ensure_future(self._read_stderr())]
        try:
            done, _ = await asyncio.wait(
                {self._ready, cast("asyncio.Future[Any]", self._exited)},
                timeout=self.start_timeout_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        except asyncio.CancelledError:  # stopped while loading: reap it, leave no orphan behind
            self.kill()
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._process.wait(), 10)
            raise
        if self._ready in done:
            self.info = self._ready.result()
            return self.info
        if not done:
            self.kill()
            raise WorkerDied(
                f"the model worker did not load {self.version_dir} within {self.start_timeout_s:g} s"
            )
        raise WorkerDied(self._exited.result())

    async def infer(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(probabilities float32 [n, K], classes int64 [n])`` of one batch.

        Raises
        ------
        WorkerDied
            The worker ended before answering, or did not answer within ``batch_timeout_s``.
        RuntimeError
            The worker answered that this batch failed (it keeps serving).
        """
        if self._exited is None or self._exited.done() or self._process is None:
            raise WorkerDied(self.exit_message or "the model worker is not running")
        self._next_id += 1
        request_id = self._next_id
        answer = asyncio.get_running_loop().create_future()
        self._pending[request_id] = answer
        try:
            # Frames are written whole, one after another; the worker answers them in order, by id,
            # so a second batch may be sent while the first runs (it waits in the pipe, not here).
            async with self._lock:
                assert self._process.stdin is not None
                self._process.stdin.write(
                    encode(
                        {"type": "predict", "id": request_id, "shape": list(images.shape)},
                        batch_payload(images),
                    )
                )
                with contextlib.suppress(ConnectionError):  # a dead worker is reported by the reader
                    await self._process.stdin.drain()
            try:
                header, payload = await asyncio.wait_for(asyncio.shield(answer), self.batch_timeout_s)
            except asyncio.TimeoutError:
                self.kill()
                raise WorkerDied(
                    f"the model worker (pid {self.pid}) did not answer a batch of {len(images)} "
                    f"within {self.batch_timeout_s:g} s and was killed"
                ) from None
        finally:
            self._pending.pop(request_id, None)
        if header["type"] == "error":
            raise RuntimeError(f"the model worker could not run the batch: {header['error']}")
        return decode_result(header, payload)

    async def wait(self) -> str:
        """Wait until the process has ended; how it ended (the message :class:`WorkerDied` carries)."""
        assert self._exited is not None, "start() first"
        return await asyncio.shield(self._exited)

    @property
    def exit_message(self) -> str | None:
        """How the process ended, or None while it runs."""
        return self._exited.result() if self._exited is not None and self._exited.done() else None

    def kill(self) -> None:
        """Kill the process now (its end is then reported as usual)."""
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Close its input (it exits after the batch it runs), killing it if it lingers."""
        if self._process is None:
            return
        if self._process.stdin is not None and not self._process.stdin.is_closing():
            self._process.stdin.close()
        try:
            await asyncio.wait_for(self._process.wait(), timeout_s)
        except asyncio.TimeoutError:
            self.kill()
            await self._process.wait()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _read_frames(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        stdout = self._process.stdout
        try:
            while True:
                prefix = await stdout.readexactly(4)
                header = json.loads(await stdout.readexactly(header_length(prefix)))
                payload = (
                    await stdout.readexactly(int(header.get("nbytes", 0))) if header.get("nbytes") else b""
                )
                if header["type"] == "ready":
                    if self._ready is not None and not self._ready.done():
                        self._ready.set_result(header)
                elif (answer := self._pending.get(header.get("id"))) is not None and not answer.done():
                    answer.set_result((header, payload))
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        await self._ended()

    async def _ended(self) -> None:
        assert self._process is not None
        code = await self._process.wait()
        await asyncio.sleep(0)  # let the stderr reader take the last lines
        for task in self._tasks[1:]:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(task), 2.0)
        message = self._describe_exit(code)
        assert self._exited is not None
        if not self._exited.done():
            self._exited.set_result(message)
        for answer in self._pending.values():
            if not answer.done():
                answer.set_exception(WorkerDied(message))

    def _describe_exit(self, code: int) -> str:
        try:
            how = (
                f"was killed by signal {signal.Signals(-code).name}"
                if code < 0
                else f"exited with code {code}"
            )
        except ValueError:
            how = f"exited with code {code}"
        last = next((line for line in reversed(self._stderr) if line.strip()), None)
        return f"the model worker (pid {self.pid}) {how}" + (
            f": {last.strip()}" if last and code != 0 else ""
        )

    async def _read_stderr(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        log = self._log_path.open("ab") if self._log_path else None
        try:
            async for line in self._process.stderr:
                self._stderr.append(line.decode("utf-8", "replace"))
                if log is not None:
                    log.write(line)
                    log.flush()
        finally:
            if log is not None:
                log.close()
