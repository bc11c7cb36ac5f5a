"""Fan-out of job events to WebSocket subscribers: replay, follow, slow clients."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from lepton_lab.server.streams import CLOSE_GOING_AWAY, CLOSE_TOO_SLOW, Broadcaster, JobStream, Subscriber


class Client:
    """A subscriber's far end: records messages; a stalled one never finishes a send."""

    def __init__(self, stalled: bool = False) -> None:
        self.messages: list[dict] = []
        self.closed: tuple[int, str] | None = None
        self.stalled = stalled
        self.subscriber = Subscriber(self.send, self.close, limit=8)
        self.task = asyncio.ensure_future(self.subscriber.run())

    async def send(self, text: str) -> None:
        if self.stalled:
            await asyncio.Event().wait()  # a client that stopped reading
        self.messages.append(json.loads(text))

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    def events(self) -> list[dict]:
        return [e for m in self.messages if m["type"] == "events" for e in m["events"]]


def append(path: Path, first: int, count: int) -> None:
    with open(path, "a") as handle:
        for step in range(first, first + count):
            handle.write(
                json.dumps({"t": 0.0, "type": "batch", "step": step, "epoch": 1, "metrics": {}}) + "\n"
            )


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_subscriber_gets_history_then_live_events_without_gaps_or_repeats(tmp_path):
    path = tmp_path / "events.jsonl"
    append(path, 1, 5)
    stream = JobStream(path)
    stream.poll()  # the tailer is at line 5
    late = Client()
    stream.subscribe(late.subscriber, after=2)  # saw 2 events over REST before connecting
    append(path, 6, 3)
    stream.poll()
    stream.close()
    await asyncio.wait_for(late.task, 5)

    assert [e["step"] for e in late.events()] == [3, 4, 5, 6, 7, 8]
    assert late.messages[-1]["next"] == 8
    assert late.closed == (1000, "job finished")


async def test_slow_subscriber_is_closed_and_never_holds_back_the_others(tmp_path):
    path = tmp_path / "events.jsonl"
    stream = JobStream(path)
    fast, slow = Client(), Client(stalled=True)
    stream.subscribe(fast.subscriber)
    stream.subscribe(slow.subscriber)
    for batch in range(40):  # far more messages than the outbox limit of 8
        append(path, batch * 10 + 1, 10)
        stream.poll()
        await settle()
    stream.close()
    await asyncio.wait_for(fast.task, 5)

    assert [e["step"] for e in fast.events()] == list(range(1, 401))
    assert slow.closed is not None and slow.closed[0] == CLOSE_TOO_SLOW
    assert "after=" in slow.closed[1]
    assert slow.subscriber not in stream.subscribers
    slow.task.cancel()


async def test_broadcast_encodes_once_and_reaches_every_subscriber():
    hub = Broadcaster()
    clients = [Client() for _ in range(3)]
    for number, client in enumerate(clients):
        hub.subscribe(client.subscriber, {"type": "snapshot", "jobs": [number]})
    hub.publish({"type": "status", "job": {"id": "a", "status": "running"}})
    hub.close()
    await asyncio.wait_for(asyncio.gather(*(c.task for c in clients)), 5)
    for number, client in enumerate(clients):
        assert client.messages == [
            {"type": "snapshot", "jobs": [number]},
            {"type": "status", "job": {"id": "a", "status": "running"}},
        ]
        assert client.closed == (CLOSE_GOING_AWAY, "server stopping")


async def test_server_stopping_closes_a_live_job_stream_with_going_away_not_finished(tmp_path):
    # 1000 would tell the Lab panel the job is over; 1001 makes it reconnect and resume.
    path = tmp_path / "events.jsonl"
    append(path, 1, 3)
    stream = JobStream(path)
    client = Client()
    stream.subscribe(client.subscriber)
    stream.poll()
    stream.going_away()
    await asyncio.wait_for(client.task, 5)
    assert [e["step"] for e in client.events()] == [1, 2, 3]
    assert client.closed is not None and client.closed[0] == CLOSE_GOING_AWAY
    assert not stream.finished


async def test_long_history_is_read_off_the_event_loop(tmp_path):
    path = tmp_path / "events.jsonl"
    append(path, 1, 20_000)
    stream = JobStream(path)
    stream.poll()
    ticks = []

    async def ticker():
        while True:
            ticks.append(len(client.events()))
            await asyncio.sleep(0)

    client = Client()
    ticking = asyncio.ensure_future(ticker())
    stream.subscribe(client.subscriber)  # returns at once: the replay is read in a thread
    stream.close()
    await asyncio.wait_for(client.task, 30)
    ticking.cancel()
    assert [e["step"] for e in client.events()] == list(range(1, 20_001))
    assert ticks.count(0) > 1  # the loop kept running other tasks while the history was read
