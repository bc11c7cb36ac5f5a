"""Micro-batching: requests from many callers, run together in bounded batches.

Callers :meth:`MicroBatcher.submit` their images and await their own rows of the answer. One
loop per model collects what is waiting: when the first request arrives it waits a short
window (``max_wait_s``, default 5 ms) for others, or less once ``max_batch`` rows are queued
or no one else arrived for a fifth of the window, then runs the whole batch with ``run_batch``
and hands each caller its slice. While a batch runs the next one gathers, so under load batches
fill up without any waiting; and once a full batch (``max_batch`` rows) is queued it goes to
``run_batch`` at once, while the batch before it still runs (at most ``pipeline`` batches out at a
time), so a worker that answers in order finds its next batch waiting instead of idling for the
round trip back to this process. When the last few windows caught no second request (one caller at
a time), a lone request runs at once instead of paying the window for nothing; requests queued
together bring the window back. A request larger than ``max_batch`` is split into parts of at
most ``max_batch`` rows; no batch is ever larger.

The window is injectable (``window``): tests close it when they choose, so the batch sizes they
assert do not depend on timing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["MicroBatcher"]

Result = tuple[np.ndarray, np.ndarray]

#: Fraction of ``max_wait_s`` without a new request after which the timed window closes early.
IDLE_GAP = 0.2
#: Timed windows in a row catching no second request after which a lone request runs at once.
LONELY_WINDOWS = 3


@dataclass
class _Request:
    images: np.ndarray
    answer: asyncio.Future[Result] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class MicroBatcher:
    """Gathers concurrent requests into batches of at most ``max_batch`` rows.

    Parameters
    ----------
    run_batch
        Coroutine function running one batch: images ``[n, ...]`` to ``(probabilities [n, K],
        classes [n])``. What it raises, every caller in that batch gets.
    max_batch
        Most rows in one batch.
    max_wait_s
        Longest a request waits for others before its batch runs.
    window
        Replaces the timed wait: awaited once per batch after the first request arrived (tests
        pass a coroutine that returns when they have queued what they want batched).
    on_batch
        Called with each batch's size before it runs (``ModelMetrics.observe_batch``).
    pipeline
        Most batches out at once: a full batch is handed on while up to ``pipeline - 1`` others
        still run (1: one batch at a time).
    """

    def __init__(
        self,
        run_batch: Callable[[np.ndarray], Awaitable[Result]],
        *,
        max_batch: int = 64,
        max_wait_s: float = 0.005,
        window: Callable[[], Awaitable[None]] | None = None,
        on_batch: Callable[[int], None] | None = None,
        pipeline: int = 2,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}")
        if pipeline < 1:
            raise ValueError(f"pipeline must be at least 1, not {pipeline}")
        self.pipeline = pipeline
        self._run_batch = run_batch
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self._window = window
        self._on_batch = on_batch
        self._queue: deque[_Request] = deque()
        self._arrived: asyncio.Event | None = None
        self._loop_task: asyncio.Task[None] | None = None
        #: Batches handed to ``run_batch`` and not yet answered.
        self._running: set[asyncio.Task[None]] = set()
        #: Rows in the queue (kept, not summed: the loop reads it on every wake-up).
        self._rows = 0
        #: Wakes the loop: a request came while it may act on it, or a running batch ended.
        self._wake: asyncio.Event | None = None
        self._closed: Exception | None = None
        #: Timed windows in a row that caught no other request (the traffic is one caller at a time).
        self._lonely = 0
        #: Requests in the last batch: callers that come back together close the window at once.
        self._last_requests = 0

    @property
    def queued_rows(self) -> int:
        """Rows waiting for a batch (not counting the batches that run)."""
        return self._rows

    async def submit(self, images: np.ndarray) -> Result:
        """Run ``images`` in the next batches; this request's ``(probabilities, classes)``."""
        if self._closed is not None:
            raise self._closed
        if self._loop_task is None:
            self._arrived, self._wake = asyncio.Event(), asyncio.Event()
            self._loop_task = asyncio.ensure_future(self._loop())
        assert self._arrived is not None and self._wake is not None
        parts = [
            _Request(images[start : start + self.max_batch])
            for start in range(0, max(len(images), 1), self.max_batch)
        ]
        self._queue.extend(parts)
        self._rows += len(images)
        self._arrived.set()
        if not self._running or self._rows >= self.max_batch:  # else only a batch's end matters
            self._wake.set()
        try:
            if len(parts) == 1:  # the common case, without gather's extra future
                return await parts[0].answer
            results = await asyncio.gather(*(part.answer for part in parts))
        except BaseException:
            for part in parts:
                part.answer.cancel()  # the batch loop skips parts nobody waits for
            raise
        return np.concatenate([r[0] for r in results]), np.concatenate([r[1] for r in results])

    async def close(self, error: Exception) -> None:
        """Stop batching: queued and later requests get ``error``; the batch running finishes."""
        self._closed = error
        self._rows = 0
        while self._queue:
            request = self._queue.popleft()
            if not request.answer.done():
                request.answer.set_exception(error)
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        for task in list(self._running):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _gather(self) -> None:
        """Wait for the batch's window: the injected one, or the timed one.

        The timed window ends when the batch is full, ``max_wait_s`` after it opened, as soon as
        no request arrived for a fifth of that (callers that are coming arrive in a burst, and
        waiting on after the burst only delays the batch), or once as many requests wait as the
        last batch held (the same callers are back: waiting for more is a guess that lost last
        time; more than that arrive while the batch runs and make the next one bigger).
        """
        if self._window is not None:
            await self._window()
            return
        assert self._arrived is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait_s
        gap = self.max_wait_s * IDLE_GAP
        enough = max(2, self._last_requests)
        while (
            self.queued_rows < self.max_batch
            and len(self._queue) < enough
            and (left := deadline - loop.time()) > 0
        ):
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), min(left, gap))
            except asyncio.TimeoutError:
                return

    def _skip_window(self) -> bool:
        """Whether to run a lone request at once: recent windows caught nobody else to batch with.

        A single caller at a time would otherwise pay ``max_wait_s`` on every request for nothing.
        Concurrency shows again without waiting: requests that arrive while a batch runs are
        queued together at the next dispatch, which runs the window (and resets the count).
        An injected window always runs (tests decide).
        """
        return self._window is None and self._lonely >= LONELY_WINDOWS and len(self._queue) == 1

    def _take(self) -> list[_Request]:
        """Pop queued requests (cancelled ones dropped) up to ``max_batch`` rows."""
        batch: list[_Request] = []
        rows = 0
        while self._queue and rows + len(self._queue[0].images) <= self.max_batch:
            request = self._queue.popleft()
            self._rows -= len(request.images)
            if not request.answer.done():
                batch.append(request)
                rows += len(request.images)
        return batch

    async def _loop(self) -> None:
        assert self._wake is not None
        while True:
            # While a batch runs the next goes out early only when full (a partial one keeps
            # gathering until the running batch is answered), and never beyond ``pipeline``.
            if not self._queue or (
                self._running and (len(self._running) >= self.pipeline or self._rows < self.max_batch)
            ):
                self._wake.clear()
                await self._wake.wait()
                continue
            if not self._running and self.queued_rows < self.max_batch and not self._skip_window():
                waiting = len(self._queue)
                await self._gather()
                self._lonely = self._lonely + 1 if len(self._queue) == waiting else 0
            batch = self._take()
            if not batch:
                continue
            self._last_requests = len(batch)
            images = batch[0].images if len(batch) == 1 else np.concatenate([r.images for r in batch])
            if self._on_batch is not None:
                self._on_batch(len(images))
            task = asyncio.ensure_future(self._run(batch, images))
            self._running.add(task)
            task.add_done_callback(self._batch_ended)

    def _batch_ended(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if self._wake is not None:
            self._wake.set()

    async def _run(self, batch: list[_Request], images: np.ndarray) -> None:
        """Run one batch and answer its callers (each its own rows, or the batch's error)."""
        try:
            probabilities, classes = await self._run_batch(images)
        except asyncio.CancelledError:
            for request in batch:
                if not request.answer.done():
                    request.answer.set_exception(self._closed or RuntimeError("batching stopped"))
            raise
        except Exception as error:
            for request in batch:
                if not request.answer.done():
                    request.answer.set_exception(error)
            return
        start = 0
        for request in batch:
            stop = start + len(request.images)
            if not request.answer.done():
                request.answer.set_result((probabilities[start:stop], classes[start:stop]))
            start = stop
