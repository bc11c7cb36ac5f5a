"""MicroBatcher on a fake batch function: the policy alone, no worker process, no timing."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from lepton_lab.server.microbatch import LONELY_WINDOWS, MicroBatcher


class FakeModel:
    """Records batch sizes; class = first pixel; fails the batches containing a 255 pixel."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    async def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.batches.append(len(images))
        if (images == 255).any():
            raise RuntimeError("bad batch")
        classes = images.reshape(len(images), -1)[:, 0].astype(np.int64)
        return np.eye(10, dtype=np.float32)[classes], classes


def image(k: int) -> np.ndarray:
    return np.full((1, 2, 2, 1), k, np.uint8)


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 30))


def test_a_lone_caller_stops_paying_the_window_once_windows_catch_nobody():
    async def scenario():
        model = FakeModel()
        batcher = MicroBatcher(model, max_batch=8, max_wait_s=0.0)
        for k in range(LONELY_WINDOWS):  # zero-length windows that catch no second request
            await batcher.submit(image(k))
        batcher.max_wait_s = 3600.0  # a window now would outlast the test's 30 s limit
        _, classes = await batcher.submit(image(7))
        await batcher.close(RuntimeError("closed"))
        return model.batches, classes

    batches, classes = run(scenario())
    assert batches == [1] * (LONELY_WINDOWS + 1) and classes.tolist() == [7]


def test_the_window_closes_once_the_last_batchs_callers_are_back():
    async def scenario():
        model = FakeModel()
        batcher = MicroBatcher(model, max_batch=8, max_wait_s=3600.0)  # a full window outlasts the test
        for _ in range(2):  # four callers at a time, as a closed loop of clients sends them
            answers = await asyncio.gather(*(batcher.submit(image(k)) for k in range(4)))
        await batcher.close(RuntimeError("closed"))
        return model.batches, [classes.tolist() for _, classes in answers]

    batches, classes = run(scenario())
    assert batches == [4, 4] and classes == [[0], [1], [2], [3]]


def test_a_failed_batch_fails_its_callers_only_and_closing_fails_the_queue():
    async def scenario():
        model = FakeModel()
        gate = asyncio.Event()

        async def window():
            await gate.wait()

        batcher = MicroBatcher(model, max_batch=4, window=window)
        bad = [asyncio.ensure_future(batcher.submit(image(k))) for k in (1, 255)]
        good = [asyncio.ensure_future(batcher.submit(image(k))) for k in (2, 3, 4)]
        while batcher.queued_rows < 5:
            await asyncio.sleep(0)
        gate.set()
        outcomes = await asyncio.gather(*bad, *good, return_exceptions=True)
        gate.clear()
        late = asyncio.ensure_future(batcher.submit(image(5)))
        while batcher.queued_rows < 1:
            await asyncio.sleep(0)
        await batcher.close(RuntimeError("model undeployed"))
        with pytest.raises(RuntimeError, match="model undeployed"):
            await late
        with pytest.raises(RuntimeError, match="model undeployed"):
            await batcher.submit(image(6))
        return model.batches, outcomes

    batches, outcomes = run(scenario())
    assert batches == [4, 1]  # (1, 255, 2, 3) failed together; 4 ran on its own
    assert [str(o) for o in outcomes[:3]] == ["bad batch"] * 3
    assert outcomes[4][1].tolist() == [4]


def test_max_batch_must_be_positive():
    with pytest.raises(ValueError, match="max_batch must be at least 1"):
        MicroBatcher(FakeModel(), max_batch=0)


class GatedModel(FakeModel):
    """A FakeModel whose batches each wait for the test to release them."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.batches.append(len(images))
        await self.release.wait()
        classes = images.reshape(len(images), -1)[:, 0].astype(np.int64)
        return np.eye(10, dtype=np.float32)[classes], classes


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


@pytest.mark.parametrize("pipeline", [1, 2])
def test_a_full_batch_goes_out_while_one_runs_and_a_partial_one_waits_for_it(pipeline):
    async def scenario():
        model = GatedModel()

        async def window():  # the window closes at once: batch sizes depend on the queue alone
            return

        batcher = MicroBatcher(model, max_batch=4, window=window, pipeline=pipeline)
        first = [asyncio.ensure_future(batcher.submit(image(k))) for k in range(4)]
        await _settle()
        second = [asyncio.ensure_future(batcher.submit(image(k))) for k in range(4, 8)]
        await _settle()
        full_while_running = list(model.batches)
        third = [asyncio.ensure_future(batcher.submit(image(k))) for k in (8, 9)]
        await _settle()
        partial_while_running = list(model.batches)
        model.release.set()
        answers = await asyncio.gather(*first, *second, *third)
        await batcher.close(RuntimeError("closed"))
        return full_while_running, partial_while_running, model.batches, [c.tolist() for _, c in answers]

    full, partial, batches, classes = run(scenario())
    assert full == ([4, 4] if pipeline == 2 else [4])
    assert partial == full  # two rows wait for a running batch's end (and never a third batch out)
    assert batches == [4, 4, 2]
    assert classes == [[k] for k in range(10)]


def test_closing_fails_the_batches_out_and_pipeline_must_be_positive():
    async def scenario():
        model = GatedModel()
        batcher = MicroBatcher(model, max_batch=1, max_wait_s=0.0)
        out = [asyncio.ensure_future(batcher.submit(image(k))) for k in range(2)]
        await _settle()
        running = list(model.batches)
        await batcher.close(RuntimeError("model undeployed"))
        return running, await asyncio.gather(*out, return_exceptions=True)

    running, outcomes = run(scenario())
    assert running == [1, 1]
    assert [str(o) for o in outcomes] == ["model undeployed"] * 2
    with pytest.raises(ValueError, match="pipeline must be at least 1"):
        MicroBatcher(FakeModel(), pipeline=0)
