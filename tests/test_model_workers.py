"""ModelWorker's pipe protocol with a stand-in worker process (no TensorFlow): batches in flight.

The stand-in speaks :mod:`lepton_lab.serving.protocol` like the real worker, but reads two
``predict`` frames before it answers either, so a ModelWorker that waited for each answer before
sending the next batch would never get one (the test's time limit fails it).
"""

from __future__ import annotations

import asyncio
import os
import textwrap
from pathlib import Path

import numpy as np

from lepton_lab.server import model_workers
from lepton_lab.server.model_workers import ModelWorker

STAND_IN = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    from lepton_lab.serving.protocol import encode, read_frame, result_payload

    out = os.fdopen(os.dup(1), "wb")
    out.write(encode({"type": "ready", "input": {"shape": [None, 2], "dtype": "uint8"}, "classes": 4}))
    out.flush()
    while True:
        frames = [read_frame(sys.stdin.buffer) for _ in range(2)]  # two batches before any answer
        if None in frames:
            break
        for header, payload in frames:
            images = np.frombuffer(payload, dtype=np.uint8).reshape(header["shape"])
            classes = images[:, 0].astype(np.int64)
            out.write(encode(
                {"type": "result", "id": header["id"], "n": len(classes), "classes": 4},
                result_payload(np.eye(4, dtype=np.float32)[classes], classes),
            ))
        out.flush()
    """
)


def test_a_second_batch_is_sent_while_the_first_runs_and_each_gets_its_own_answer(
    tmp_path: Path, monkeypatch
):
    (tmp_path / "stand_in_worker.py").write_text(STAND_IN)
    monkeypatch.setattr(model_workers, "WORKER_MODULE", "stand_in_worker")

    async def scenario():
        path = os.pathsep.join([str(tmp_path), str(Path(__file__).resolve().parent.parent)])
        worker = ModelWorker(tmp_path, env={"PYTHONPATH": path}, batch_timeout_s=20)
        await worker.start()
        try:
            first = np.array([[1, 0], [2, 0]], dtype=np.uint8)
            second = np.array([[3, 0]], dtype=np.uint8)
            answers = await asyncio.wait_for(asyncio.gather(worker.infer(first), worker.infer(second)), 20)
        finally:
            await worker.stop()
        return [classes.tolist() for _, classes in answers]

    assert asyncio.run(scenario()) == [[1, 2], [3]]
