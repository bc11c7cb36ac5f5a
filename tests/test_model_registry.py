"""ModelRegistry with real model-server worker processes serving a real tiny SavedModel.

The SavedModel (tests/model_fixtures.py) is built, and its own outputs computed, by a separate
process, so this process stays TensorFlow-free like the server. One registry and one worker
serve most tests (a module-scoped event loop keeps them alive between tests); batching is
asserted on the batch sizes the metrics see, with the batching window held open by the test
(:class:`Gate`) rather than timed.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from lepton_lab.core.rundir import RunDir
from lepton_lab.core.specs import JobSpec
from lepton_lab.server.model_exports import Exporter, ExportFailed
from lepton_lab.server.model_metrics import ModelMetrics
from lepton_lab.server.model_registry import (
    BadInput,
    DeployError,
    ModelNotFound,
    ModelRegistry,
    ModelUnavailable,
)
from tests.model_fixtures import INPUTS, build_tiny_savedmodel

MAX_BATCH = 16
REPO = Path(__file__).resolve().parent.parent


def loaded_forbidden() -> list[str]:
    """Modules of TensorFlow or Keras this process has imported."""
    return sorted(name for name in sys.modules if name.split(".")[0] in ("tensorflow", "keras", "tf_keras"))


TENSORFLOW_AT_IMPORT = bool(loaded_forbidden())


class Gate:
    """The micro-batching window, opened by the test: batches close when it says so."""

    def __init__(self) -> None:
        self._open = asyncio.Event()
        self._open.set()

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    async def __call__(self) -> None:
        await self._open.wait()


class RecordingMetrics(ModelMetrics):
    """ModelMetrics that also keeps each worker batch's size in order."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.batches: list[int] = []

    def observe_batch(self, batch_size: int) -> None:
        super().observe_batch(batch_size)
        self.batches.append(batch_size)


@pytest.fixture(scope="module")
def loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny SavedModel (``<root>/tiny/1``) and its own outputs on INPUTS."""
    return build_tiny_savedmodel(tmp_path_factory.mktemp("savedmodel"))


@pytest.fixture(scope="module")
def served(loop, tiny, tmp_path_factory):
    """A registry serving ``tiny`` from one worker, with a test-held batching window."""
    runs_dir = tmp_path_factory.mktemp("runs")
    gate = Gate()
    registry = ModelRegistry(runs_dir, None, max_batch=MAX_BATCH, metrics=RecordingMetrics, window=gate)
    loop.run_until_complete(registry.start())
    loop.run_until_complete(registry.deploy(export_dir=tiny["version_dir"].parent))
    yield registry, gate, runs_dir
    loop.run_until_complete(registry.stop())


def queued_rows(registry: ModelRegistry, name: str) -> int:
    return registry._deployments[name].batcher.queued_rows


async def batched(registry: ModelRegistry, gate: Gate, requests: list[np.ndarray]) -> list[dict]:
    """Send ``requests`` concurrently while the window is held; release it once all are queued."""
    gate.hold()
    tasks = [asyncio.ensure_future(registry.predict("tiny", images)) for images in requests]
    while queued_rows(registry, "tiny") < sum(map(len, requests)):  # nothing leaves while held
        await asyncio.sleep(0)
    gate.release()
    return await asyncio.gather(*tasks)


def test_predictions_are_the_savedmodels_own_outputs(loop, served, tiny):
    registry, _, _ = served
    answer = loop.run_until_complete(registry.predict("tiny", INPUTS))

    np.testing.assert_allclose(answer["probabilities"], tiny["probabilities"], rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(answer["classes"], tiny["classes"])
    assert answer["probabilities"].dtype == np.float32 and answer["classes"].dtype == np.int64
    model = registry.get("tiny")
    assert model["state"] == "ready" and model["version"] == 1 and model["pid"] > 0
    assert model["input"] == {"shape": [None, 8, 8, 1], "dtype": "uint8"}
    assert registry.input_spec("tiny") == {"shape": [None, 8, 8, 1], "dtype": "uint8"}
    assert model["classes"] == [str(k) for k in range(10)]
    log = (served[2] / ".models" / "tiny" / "worker.log").read_text()
    line = next(line for line in log.splitlines() if line.startswith(f"model worker {model['pid']}: serving"))
    assert line.endswith(" on CPU")  # no GPU given


def test_concurrent_callers_are_batched_together_within_max_batch(loop, served, tiny):
    registry, gate, _ = served
    metrics = registry.metrics("tiny")
    before = len(metrics.batches)
    # 12 callers of one image each fit one batch: the window closes once all 12 are queued.
    answers = loop.run_until_complete(batched(registry, gate, [INPUTS[i : i + 1] for i in range(12)]))

    assert metrics.batches[before:] == [12]
    for i, answer in enumerate(answers):  # each caller gets its own row back
        assert answer["classes"].tolist() == [tiny["classes"][i]]
        np.testing.assert_allclose(answer["probabilities"][0], tiny["probabilities"][i], rtol=1e-6, atol=1e-7)


def test_no_batch_exceeds_max_batch_and_large_requests_are_split(loop, served, tiny):
    registry, gate, _ = served
    metrics = registry.metrics("tiny")
    before = len(metrics.batches)
    # 30 single-image callers and one 40-image request: 70 rows, never more than 16 per batch.
    requests = [INPUTS[i : i + 1] for i in range(30)] + [INPUTS]
    answers = loop.run_until_complete(batched(registry, gate, requests))

    sizes = metrics.batches[before:]
    assert sum(sizes) == 70 and max(sizes) == MAX_BATCH and all(size <= MAX_BATCH for size in sizes)
    np.testing.assert_array_equal(answers[-1]["classes"], tiny["classes"])
    assert [a["classes"][0] for a in answers[:30]] == tiny["classes"][:30].tolist()


def test_bad_input_is_refused_with_the_expected_shape(loop, served):
    registry, _, _ = served
    with pytest.raises(BadInput, match=r"uint8 images \[n, 8, 8, 1\]; got uint8 \[2, 8, 7, 1\]"):
        loop.run_until_complete(registry.predict("tiny", np.zeros((2, 8, 7, 1), np.uint8)))
    with pytest.raises(BadInput, match="got float32"):
        loop.run_until_complete(registry.predict("tiny", np.zeros((2, 8, 8, 1), np.float32)))
    with pytest.raises(ModelNotFound, match="no model named 'nope' is deployed"):
        loop.run_until_complete(registry.predict("nope", INPUTS))


def test_a_killed_worker_fails_the_request_in_flight_then_restarts(loop, served, tiny):
    registry, _, _ = served
    heard: list[dict] = []
    registry.add_listener(heard.append)
    deployment = registry._deployments["tiny"]
    pid = registry.get("tiny")["pid"]

    async def scenario():
        os.kill(pid, signal.SIGSTOP)  # the worker holds the batch until it is killed
        request = asyncio.ensure_future(registry.predict("tiny", INPUTS[:3]))
        while not deployment.worker._pending:  # the batch has reached the worker
            await asyncio.sleep(0.001)
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(ModelUnavailable, match=r"killed by signal SIGKILL.*restarting"):
            await request
        return await registry.predict("tiny", INPUTS[:3])  # waits (bounded) for the new worker

    answer = loop.run_until_complete(asyncio.wait_for(scenario(), 120))

    np.testing.assert_array_equal(answer["classes"], tiny["classes"][:3])
    model = registry.get("tiny")
    assert model["state"] == "ready" and model["restarts"] == 1 and model["pid"] not in (None, pid)
    states = [m["state"] for m in heard if m["restarts"] == 1]
    assert [s for i, s in enumerate(states) if s not in states[:i]] == ["restarting", "ready"]
    assert "SIGKILL" in next(m["error"] for m in heard if m["state"] == "restarting")
    assert model["summary"]["errors"] >= 1


def test_deploy_a_run_versions_list_undeploy_and_redeploy_after_a_registry_restart(loop, tiny, tmp_path):
    runs_dir = tmp_path / "runs"
    run = RunDir.create(
        runs_dir, JobSpec.model_validate({"name": "Digits MLP", "dataset": {"name": "digits"}})
    )
    shutil.copytree(tiny["version_dir"], run.path / "exports" / "savedmodel" / "digits-mlp" / "1")
    support = [10, 10, 10, 10, 10, 10, 10, 10, 20, 10]  # the stratified test split's class counts
    evaluation = {"class_names": list("abcdefghij"), "per_class": [{"support": n} for n in support]}
    (run.path / "evaluation.json").write_text(json.dumps(evaluation))
    registry = ModelRegistry(runs_dir, None, metrics=RecordingMetrics)
    loop.run_until_complete(registry.start())
    first = loop.run_until_complete(registry.deploy(run.id))
    assert (first["name"], first["run_id"], first["classes"]) == ("digits-mlp", run.id, list("abcdefghij"))
    assert registry.metrics("digits-mlp").training[8] == pytest.approx(20 / 110)
    second = loop.run_until_complete(registry.deploy(run.id))

    assert (first["version"], second["version"], second["versions"]) == (1, 2, [1, 2])
    folder = runs_dir / ".models" / "digits-mlp"
    assert (folder / "1" / "saved_model.pb").is_file() and (folder / "2" / "saved_model.pb").is_file()
    assert [m["name"] for m in registry.list()] == ["digits-mlp"]
    assert registry.get("digits-mlp")["pid"] != first["pid"]  # the new version has its own worker
    with pytest.raises(ModelNotFound):
        registry.get("other")
    with pytest.raises(ModelNotFound, match="no run 'missing'"):
        loop.run_until_complete(registry.deploy("missing"))
    with pytest.raises(DeployError, match="model name 'Bad Name' is not allowed"):
        loop.run_until_complete(registry.deploy(run.id, name="Bad Name"))
    loop.run_until_complete(registry.stop())

    # A new registry on the same runs directory serves what the old one did.
    again = ModelRegistry(runs_dir, None, metrics=RecordingMetrics)
    loop.run_until_complete(again.start())
    assert [(m["name"], m["version"], m["run_id"]) for m in again.list()] == [("digits-mlp", 2, run.id)]
    answer = loop.run_until_complete(again.predict("digits-mlp", INPUTS))
    np.testing.assert_array_equal(answer["classes"], tiny["classes"])
    assert again.get("digits-mlp")["state"] == "ready"
    assert again.metrics("digits-mlp").classes == list("abcdefghij")

    loop.run_until_complete(again.undeploy("digits-mlp"))
    assert again.list() == [] and not folder.exists()
    assert (run.path / "exports" / "savedmodel" / "digits-mlp" / "1").is_dir()  # the run's export is kept
    loop.run_until_complete(again.stop())


def test_a_savedmodel_that_does_not_load_is_refused_and_not_kept(loop, tiny, tmp_path):
    broken = tmp_path / "broken" / "1"
    shutil.copytree(tiny["version_dir"], broken)
    (broken / "saved_model.pb").write_bytes(b"not a SavedModel")
    runs_dir = tmp_path / "runs"
    registry = ModelRegistry(runs_dir, None, metrics=RecordingMetrics)
    try:
        with pytest.raises(
            DeployError, match=r"does not load: the model worker .* exited with code 1: .*Error"
        ):
            loop.run_until_complete(registry.deploy(export_dir=broken))
        assert registry.list() == [] and not (runs_dir / ".models" / "broken").exists()
        (tmp_path / "empty").mkdir()
        with pytest.raises(DeployError, match="is not a SavedModel"):
            loop.run_until_complete(registry.deploy(export_dir=tmp_path / "empty"))
    finally:
        loop.run_until_complete(registry.stop())


def test_a_deployment_whose_worker_never_starts_ends_failed_and_requests_say_so(loop, tiny, tmp_path):
    # A deployment on disk whose SavedModel was damaged since: redeployed at start, it cannot load.
    folder = tmp_path / "runs" / ".models" / "damaged"
    shutil.copytree(tiny["version_dir"], folder / "1")
    (folder / "1" / "saved_model.pb").write_bytes(b"damaged")
    record = {"name": "damaged", "version": 1, "versions": [1], "created": 0.0, "run_id": None, "sources": {}}
    input_spec = {"shape": [None, 8, 8, 1], "dtype": "uint8"}
    (folder / "model.json").write_text(
        json.dumps({**record, "classes": list("0123456789"), "input": input_spec})
    )
    registry = ModelRegistry(
        tmp_path / "runs", None, metrics=RecordingMetrics, max_start_failures=2, restart_backoff_s=(0.0,)
    )
    try:
        loop.run_until_complete(registry.start())
        assert registry.get("damaged")["state"] == "starting"
        with pytest.raises(ModelUnavailable, match=r"failed: .*exited with code 1.*gave up after 2 attempts"):
            loop.run_until_complete(registry.predict("damaged", INPUTS[:1]))  # waits, then is told
        model = registry.get("damaged")
        assert model["state"] == "failed" and "Error" in model["error"] and model["pid"] is None
    finally:
        loop.run_until_complete(registry.stop())


def test_serving_imports_no_tensorflow_in_the_server_process(served):
    # Everything above ran the server side in this process; when another test module already
    # imported TensorFlow here, a fresh interpreter deploys and predicts instead.
    if not TENSORFLOW_AT_IMPORT:
        assert loaded_forbidden() == []
        return
    registry, _, _ = served
    version_dir = registry._deployments["tiny"].version_dir
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        import numpy as np
        from lepton_lab.server.model_registry import ModelRegistry

        async def main():
            registry = ModelRegistry(None, None)
            await registry.deploy(export_dir={str(version_dir)!r})
            answer = await registry.predict("tiny", np.zeros((2, 8, 8, 1), np.uint8))
            await registry.stop()
            return answer["classes"].shape

        print(asyncio.run(main()))
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras")))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines() == ["(2,)", "[]"]


_TRAIN = """
import sys
from lepton_lab.core.runner import train
run = train(dataset={"name": "digits", "subset": 300}, model="mlp", train={"epochs": 1},
            runs_dir=sys.argv[1], name="Digits MLP")
assert run.status["status"] == "completed", run.status
print(run.id)
"""

_REFERENCE = """
import sys
import numpy as np
import tensorflow as tf
from lepton_lab.core import datasets
from lepton_lab.core.export.inputs import raw_examples

images, _ = raw_examples(datasets.load({"name": "digits", "subset": 300}), "test")
out = tf.saved_model.load(sys.argv[1]).signatures["serving_default"](images=tf.constant(images))
outputs = {key: value.numpy() for key, value in out.items()}
np.savez(sys.argv[2], images=images, **outputs)
"""


@pytest.mark.slow
def test_deploying_a_trained_run_without_an_export_exports_it_first(loop, tmp_path):
    runs_dir = tmp_path / "runs"

    def python(script: str, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-c", script, *args], cwd=REPO, capture_output=True, text=True, timeout=600
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""

    run_id = python(_TRAIN, str(runs_dir))
    assert not (runs_dir / run_id / "exports").exists()
    registry = ModelRegistry(runs_dir, None)
    try:
        model = loop.run_until_complete(registry.deploy(run_id))  # the exporter runs in a child process
        assert (model["name"], model["run_id"], model["version"]) == ("digits-mlp", run_id, 1)
        assert model["classes"] == [str(k) for k in range(10)] and model["input"]["dtype"] == "uint8"
        assert list((runs_dir / run_id / "exports" / "savedmodel" / "digits-mlp").iterdir())
        assert registry.metrics("digits-mlp").training is not None  # from the run's evaluation

        python(_REFERENCE, str(runs_dir / ".models" / "digits-mlp" / "1"), str(tmp_path / "reference.npz"))
        with np.load(tmp_path / "reference.npz") as reference:
            answer = loop.run_until_complete(registry.predict("digits-mlp", reference["images"]))
            np.testing.assert_allclose(
                answer["probabilities"], reference["probabilities"], rtol=1e-5, atol=1e-6
            )
            np.testing.assert_array_equal(answer["classes"], reference["classes"])
    finally:
        loop.run_until_complete(registry.stop())


def test_deploying_a_run_that_cannot_be_exported_says_why_and_deploys_nothing(loop, tmp_path):
    runs_dir = tmp_path / "runs"
    run = RunDir.create(runs_dir, JobSpec.model_validate({"dataset": {"name": "digits"}}))
    registry = ModelRegistry(runs_dir, None)  # the run has a spec but was never trained: no model.keras
    try:
        with pytest.raises(DeployError, match=r"exporting one failed: .*no trained model \(model\.keras\)"):
            loop.run_until_complete(registry.deploy(run.id))
        assert registry.list() == [] and not (runs_dir / ".models").exists()
    finally:
        loop.run_until_complete(registry.stop())


def test_the_registry_exports_through_the_servers_shared_exporter(loop, tmp_path):
    calls = []

    class RecordingExporter(Exporter):
        async def export(self, run_dir, format, quantize="none", name=None):
            calls.append((Path(run_dir).name, format, quantize))
            raise ExportFailed("export of run x to savedmodel failed (exit code 1): converter crashed")

    runs_dir = tmp_path / "runs"
    run = RunDir.create(runs_dir, JobSpec.model_validate({"dataset": {"name": "digits"}}))
    registry = ModelRegistry(runs_dir, None, exporter=RecordingExporter())
    try:
        with pytest.raises(DeployError, match="converter crashed"):
            loop.run_until_complete(registry.deploy(run.id))
        assert calls == [(run.id, "savedmodel", "none")]
    finally:
        loop.run_until_complete(registry.stop())
