"""Streams: fan a job's events and every job's status out to WebSocket subscribers.

One :class:`JobStream` per active job tails its ``events.jsonl`` and encodes each batch of new
events once; every subscriber gets the same message through its own bounded outbox drained by its
own task. A subscriber that falls :data:`OUTBOX_LIMIT` messages behind is closed (code 1013, "try
again later") with the offset to reconnect from, so a slow or dead client never holds back the
others, the tailer or the worker, and never silently misses events.

Messages (JSON text frames)::

    {"type": "events", "events": [...], "next": 120}   # events up to line offset 120
    {"type": "status", "job": {...}}                   # a job changed status
    {"type": "progress", "id": "...", "epoch": 2, ...} # a running job made progress
    {"type": "snapshot", "jobs": [...]}                # first message of the all-jobs stream

``next`` is a resume point: reconnecting with ``?after=<next>`` continues without a gap.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from lepton_lab.core.event_index import EventIndex
from lepton_lab.core.events import EventTail

#: Messages a subscriber may have waiting before it counts as too slow and is closed.
OUTBOX_LIMIT = 256

#: Events per message when replaying history.
REPLAY_CHUNK = 1000

#: WebSocket close code for a client that could not keep up (RFC 6455 "Try Again Later").
CLOSE_TOO_SLOW = 1013

#: WebSocket close code for "the server is stopping" while the job goes on (RFC 6455 "Going Away").
CLOSE_GOING_AWAY = 1001


def encode(message: dict[str, Any]) -> str:
    """JSON text of a stream message (NaN metrics stay NaN, as in ``events.jsonl``)."""
    return json.dumps(message, separators=(",", ":"), default=str)


class Subscriber:
    """One client's outbox: a bounded queue of encoded messages drained by :meth:`run`.

    Parameters
    ----------
    send
        Coroutine function writing one message to the client (a WebSocket ``write_message``).
    close
        Closes the client connection with a code and a reason.
    limit
        Outbox size beyond which the client is closed as too slow.
    """

    def __init__(
        self,
        send: Callable[[str], Awaitable[Any]],
        close: Callable[[int, str], None],
        limit: int = OUTBOX_LIMIT,
    ) -> None:
        self._send = send
        self._close = close
        self.limit = limit
        self.after = 0  # line offset this subscriber has been given events up to
        self.closed = False
        self._prelude: list[str] = []
        self._replays: list[tuple[EventIndex, int, int | None]] = []
        self._outbox: deque[tuple[str, int | None]] = deque()
        self._wakeup = asyncio.Event()
        self._finishing = False
        self._finish_reason = ""
        self._finish_code = 1000
        self._sent_offset: int | None = None

    def prepend(self, messages: Iterable[str]) -> None:
        """Messages to send before anything offered (a status, a snapshot)."""
        self._prelude.extend(messages)
        self._wakeup.set()

    def prepend_replay(self, index: EventIndex, after: int, stop: int | None = None) -> None:
        """Replay lines ``after`` to ``stop`` of an indexed events file after the prelude, before live ones.

        The lines are read (from line ``after`` on, not from the start: ``index`` seeks there) and
        encoded in a worker thread when :meth:`run` starts: a long history (100 000 events take
        ~0.5 s) must not stall the server's event loop, and live events offered meanwhile wait in
        the outbox behind it.
        """
        self._replays.append((index, after, stop))
        self._wakeup.set()

    def offer(self, message: str, offset: int | None = None) -> bool:
        """Queue ``message`` (ending at line ``offset``, if it carries events); False if dropped."""
        if self.closed or self._finishing:
            return False
        if len(self._outbox) >= self.limit:
            self._too_slow()
            return False
        self._outbox.append((message, offset))
        self._wakeup.set()
        return True

    def finish(self, reason: str = "stream ended", code: int = 1000) -> None:
        """Send what is queued, then close with ``code`` and ``reason``.

        1000 says the stream is complete; :data:`CLOSE_GOING_AWAY` says the server is stopping
        while there is more to come, so clients reconnect and resume.
        """
        self._finishing = True
        self._finish_reason = reason
        self._finish_code = code
        self._wakeup.set()

    def disconnect(self) -> None:
        """Stop sending: the client went away."""
        self.closed = True
        self._outbox.clear()
        self._wakeup.set()

    def _too_slow(self) -> None:
        resume = self._sent_offset if self._sent_offset is not None else self.after
        self.disconnect()
        self._close(CLOSE_TOO_SLOW, f"client too slow; reconnect with after={resume}")

    async def run(self) -> None:
        """Send queued messages until finished or disconnected."""
        try:
            while self._prelude and not self.closed:
                await self._send(self._prelude.pop(0))
            while self._replays and not self.closed:
                messages, _end = await asyncio.to_thread(replay, *self._replays.pop(0))
                for message in messages:
                    if self.closed:
                        break
                    await self._send(message)
            while not self.closed:
                while self._outbox and not self.closed:
                    message, offset = self._outbox.popleft()
                    await self._send(message)
                    if offset is not None:
                        self._sent_offset = offset
                if self._finishing and not self.closed:
                    self.closed = True
                    self._close(self._finish_code, self._finish_reason)
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
        except Exception:  # the connection broke (WebSocketClosedError, StreamClosedError)
            self.disconnect()


def replay(index: EventIndex, after: int, stop: int | None = None) -> tuple[list[str], int]:
    """Encode ``events`` messages for lines ``after`` to ``stop`` (None: end) of an indexed events file.

    Returns the messages and the offset after the last one. Intermediate messages carry a
    conservative ``next`` (never past the events they hold), so resuming from one of them may
    repeat events but never skips any.
    """
    limit = None if stop is None else max(0, stop - after)
    if limit == 0:
        return [], after
    events, end = index.read(after, limit)
    messages = []
    for start in range(0, len(events), REPLAY_CHUNK):
        chunk = events[start : start + REPLAY_CHUNK]
        last = start + REPLAY_CHUNK >= len(events)
        offset = end if last else after + start + len(chunk)
        messages.append(encode({"type": "events", "events": chunk, "next": offset}))
    return messages, end


class JobStream:
    """Tails one job's ``events.jsonl`` and fans new events out to its subscribers.

    Parameters
    ----------
    events_path
        The job's events file (it may not exist until the worker starts).
    index
        The file's index, shared with ``GET jobs/{id}/events`` (a new one if not given): replays
        to late subscribers seek with it.
    """

    def __init__(self, events_path: str | Path, index: EventIndex | None = None) -> None:
        self.path = Path(events_path)
        self.index = index if index is not None else EventIndex(self.path)
        self.tail = EventTail(self.path)
        self.subscribers: set[Subscriber] = set()
        self.finished = False

    @property
    def offset(self) -> int:
        """Lines of the events file read so far."""
        return self.tail.offset

    def poll(self) -> list[dict[str, Any]]:
        """Read newly appended events and send them to every subscriber; return them."""
        before = self.tail.offset
        events = self.tail.read()
        if self.tail.offset == before:
            return events
        offset = self.tail.offset
        if events:
            message = encode({"type": "events", "events": events, "next": offset})
            for subscriber in list(self.subscribers):
                if subscriber.after >= offset:
                    continue  # it was given these already
                if not subscriber.offer(message, offset):
                    self.subscribers.discard(subscriber)
                else:
                    subscriber.after = offset
        return events

    def subscribe(self, subscriber: Subscriber, after: int = 0) -> None:
        """Replay lines from ``after`` to the tail's position to ``subscriber``, then follow live."""
        if after > self.tail.offset:
            self.poll()  # the client read the file directly and is ahead of the tail: catch up
        subscriber.prepend_replay(self.index, after, self.tail.offset)
        subscriber.after = max(after, self.tail.offset)
        if self.finished:
            subscriber.finish("job finished")
        else:
            self.subscribers.add(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Stop sending to ``subscriber``."""
        self.subscribers.discard(subscriber)

    def publish(self, message: dict[str, Any]) -> None:
        """Send a non-event message (a status change) to every subscriber."""
        text = encode(message)
        for subscriber in list(self.subscribers):
            if not subscriber.offer(text):
                self.subscribers.discard(subscriber)

    def close(self) -> None:
        """Flush subscribers and close them normally: the job has ended."""
        self.finished = True
        for subscriber in self.subscribers:
            subscriber.finish("job finished")
        self.subscribers.clear()

    def going_away(self) -> None:
        """Flush subscribers and close them with 1001: the server stops, the job goes on."""
        for subscriber in self.subscribers:
            subscriber.finish("server stopping; reconnect to resume", CLOSE_GOING_AWAY)
        self.subscribers.clear()


class Broadcaster:
    """Fan-out of messages to every subscriber of the all-jobs stream."""

    def __init__(self) -> None:
        self.subscribers: set[Subscriber] = set()

    def subscribe(self, subscriber: Subscriber, first: dict[str, Any] | None = None) -> None:
        """Add ``subscriber``; ``first`` (a snapshot) is sent to it before anything else."""
        if first is not None:
            subscriber.prepend([encode(first)])
        self.subscribers.add(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Stop sending to ``subscriber``."""
        self.subscribers.discard(subscriber)

    def publish(self, message: dict[str, Any]) -> None:
        """Send ``message`` to every subscriber (encoded once)."""
        if not self.subscribers:
            return
        text = encode(message)
        for subscriber in list(self.subscribers):
            if not subscriber.offer(text):
                self.subscribers.discard(subscriber)

    def close(self) -> None:
        """Close every subscriber with 1001: the server is stopping."""
        for subscriber in self.subscribers:
            subscriber.finish("server stopping", CLOSE_GOING_AWAY)
        self.subscribers.clear()
