"""Deployed models through the Jupyter server: TF Serving's REST API, monitoring, exports, the stream.

The first tests put a small in-memory registry (:class:`FakeRegistry`, the ModelRegistry interface)
behind the real handlers, so every route, answer shape and error is checked without TensorFlow.
The last ones serve a real SavedModel from a real model-server worker process
(``tests.model_fixtures``) through the real registry, and kill it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tornado.httpclient import HTTPClientError

from lepton_lab.core.rundir import RunDir
from lepton_lab.server.model_deployment import ModelNotFound, ModelUnavailable
from lepton_lab.server.model_exports import Exporter
from lepton_lab.server.model_metrics import ModelMetrics

TINY = {"dataset": {"name": "digits", "subset": 300}, "model": {"preset": "mlp"}, "train": {"epochs": 2}}
CLASSES = [str(k) for k in range(10)]


class FakeRegistry:
    """The ModelRegistry interface over one in-memory model, ``tiny`` (8x8x1 uint8 in, 10 classes).

    Its "model" predicts class ``sum(pixels) % 10`` with probability 1, so answers are checkable.
    """

    def __init__(self) -> None:
        self.models: dict[str, dict[str, Any]] = {"tiny": self._model("tiny")}
        self._metrics = {"tiny": ModelMetrics("tiny", CLASSES, [0.1] * 10)}
        self.unavailable: str | None = None
        self.listeners: list[Any] = []
        self.batches: list[np.ndarray] = []

    @staticmethod
    def _model(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "version": 1,
            "versions": [1],
            "run_id": "run-1",
            "state": "ready",
            "input": {"shape": [None, 8, 8, 1], "dtype": "uint8"},
            "classes": CLASSES,
            "created": 1.0,
            "pid": 4321,
            "error": None,
            "restarts": 0,
            "summary": {},
        }

    def list(self) -> list[dict[str, Any]]:
        return [self.models[name] for name in sorted(self.models)]

    def get(self, name: str) -> dict[str, Any]:
        if name not in self.models:
            raise ModelNotFound(f"no model named {name!r} is deployed (deployed: tiny)")
        return self.models[name]

    def input_spec(self, name: str) -> dict[str, Any]:
        return dict(self.get(name)["input"])

    def metrics(self, name: str) -> ModelMetrics:
        self.get(name)
        return self._metrics[name]

    async def predict(self, name: str, images: np.ndarray) -> dict[str, np.ndarray]:
        self.get(name)
        if self.unavailable:
            self._metrics[name].observe(0.001, len(images), [], error=True)
            raise ModelUnavailable(self.unavailable)
        self.batches.append(images)
        classes = images.reshape(len(images), -1).astype(np.int64).sum(axis=1) % 10
        probabilities = np.eye(10, dtype=np.float32)[classes]
        self._metrics[name].observe(0.002, len(images), classes.tolist())
        return {"probabilities": probabilities, "classes": classes}

    async def deploy(self, run_id=None, *, name=None, export_dir=None) -> dict[str, Any]:
        model = {**self._model(name or "tiny2"), "run_id": run_id}
        self.models[model["name"]] = model
        self._metrics[model["name"]] = ModelMetrics(model["name"], CLASSES, None)
        return model

    async def undeploy(self, name: str) -> None:
        self.get(name)
        del self.models[name]

    def add_listener(self, callback) -> None:
        self.listeners.append(callback)

    def changed(self, name: str, **fields: Any) -> None:
        self.models[name].update(fields)
        for callback in self.listeners:
            callback(self.models[name])


@pytest.fixture
def finished_run(runs_dir: Path) -> RunDir:
    """A completed run with a model file, as a worker leaves it."""
    run = RunDir.create(runs_dir, TINY)
    run.write_status(status="completed", epoch=2, exit_code=0)
    run.model_path.write_bytes(b"PK\x03\x04 model bytes")
    return run


@pytest.fixture
def jp_server_config(jp_server_config, finished_run):
    """The shared server config, started after ``finished_run`` exists."""
    return jp_server_config


@pytest.fixture
def lab(jp_serverapp):
    """The Lepton Lab extension app."""
    return jp_serverapp.extension_manager.extension_points["lepton_lab"].app


@pytest.fixture
def fake(lab):
    """The fake registry, put behind the real handlers, snapshot and stream messages."""
    real, registry = lab.model_registry, FakeRegistry()
    lab.model_registry = registry
    lab.job_manager.subscriptions.list_models = registry.list
    registry.add_listener(lab.model_stream.changed)
    yield registry
    lab.model_registry = real  # the server stops its own registry


API = ("lepton-lab", "api")


async def _post(fetch, path: str, body: Any) -> tuple[int, Any]:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    try:
        response = await fetch(*API, path, method="POST", body=data)
    except HTTPClientError as error:
        assert error.response is not None
        return error.code, json.loads(error.response.body)
    return response.code, json.loads(response.body)


async def _get(fetch, path: str) -> tuple[int, Any]:
    try:
        response = await fetch(*API, path)
    except HTTPClientError as error:
        assert error.response is not None
        return error.code, json.loads(error.response.body)
    return response.code, json.loads(response.body)


def _images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 17, size=(n, 8, 8, 1)).astype(np.uint8)


def _expected_class(image: np.ndarray) -> int:
    return int(image.astype(np.int64).sum() % 10)


@pytest.mark.parametrize(
    "path", ["models/tiny:predict", "v1/models/tiny:predict", "v1/models/tiny/versions/1:predict"]
)
async def test_row_and_columnar_requests_get_tf_servings_answers(jp_fetch, fake, path):
    images = _images(3)
    one_hot = [[1.0 if k == _expected_class(im) else 0.0 for k in range(10)] for im in images]

    code, answer = await _post(jp_fetch, path, {"instances": images.tolist()})
    assert code == 200
    assert answer == {
        "predictions": [
            {"probabilities": row, "classes": _expected_class(im)}
            for row, im in zip(one_hot, images, strict=True)
        ]
    }
    code, answer = await _post(
        jp_fetch, path, {"signature_name": "serving_default", "instances": [{"images": images[0].tolist()}]}
    )
    assert (code, answer) == (
        200,
        {"predictions": [{"probabilities": one_hot[0], "classes": _expected_class(images[0])}]},
    )

    for inputs in (images.tolist(), {"images": images.tolist()}):
        code, answer = await _post(jp_fetch, path, {"inputs": inputs})
        assert code == 200
        assert answer == {
            "outputs": {"probabilities": one_hot, "classes": [_expected_class(im) for im in images]}
        }
    np.testing.assert_array_equal(fake.batches[0], images)  # the registry got the uint8 batch as sent
    assert fake.batches[0].dtype == np.uint8


async def test_bad_bodies_are_400s_naming_the_instance_and_the_expected_shape_and_dtype(jp_fetch, fake):
    images = _images(3).tolist()
    images[2] = images[2][:7]
    code, answer = await _post(jp_fetch, "v1/models/tiny:predict", {"instances": images})
    assert code == 400
    assert answer == {
        "error": "instances[2] has shape [7, 8, 1]; expected [8, 8, 1] of uint8 (0-255) per instance"
    }

    code, answer = await _post(jp_fetch, "models/tiny:predict", b'{"instances": [')
    assert code == 400 and answer["error"].startswith("request body is not valid JSON")
    code, answer = await _post(jp_fetch, "models/tiny:predict", {"instances": [], "inputs": []})
    assert code == 400 and "not both" in answer["error"] and "[8, 8, 1] of uint8" in answer["error"]
    code, answer = await _post(
        jp_fetch, "models/tiny:predict", {"inputs": (_images(1).astype(int) + 250).tolist()}
    )
    assert code == 400 and "out of range" in answer["error"]
    assert fake.batches == []  # nothing reached the model
    assert fake.metrics("tiny").snapshot()["errors"] == 4  # refused requests count as errors


async def test_unknown_model_or_version_is_404_and_an_unavailable_worker_503(jp_fetch, fake):
    body = {"instances": _images(1).tolist()}
    code, answer = await _post(jp_fetch, "v1/models/nope:predict", body)
    assert (code, answer) == (404, {"error": "no model named 'nope' is deployed (deployed: tiny)"})
    code, answer = await _post(jp_fetch, "v1/models/tiny/versions/7:predict", body)
    assert code == 404 and "Specific(tiny, 7)" in answer["error"] and "version 1 is served" in answer["error"]
    fake.unavailable = "model 'tiny' is restarting: its worker died (signal SIGKILL); try again shortly"
    code, answer = await _post(jp_fetch, "models/tiny:predict", body)
    assert (code, answer) == (503, {"error": fake.unavailable})


async def test_tf_serving_model_status(jp_fetch, fake):
    code, status = await _get(jp_fetch, "v1/models/tiny")
    assert code == 200
    assert status == {
        "model_version_status": [
            {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
        ]
    }
    assert (await _get(jp_fetch, "v1/models/nope"))[0] == 404


async def test_models_list_get_metrics_prometheus_and_undeploy(jp_fetch, fake):
    await _post(jp_fetch, "models/tiny:predict", {"instances": _images(4).tolist()})
    await _post(jp_fetch, "models/tiny:predict", {"instances": [[[0]]]})  # refused: an error

    assert (await _get(jp_fetch, "models")) == (200, {"models": [fake.models["tiny"]]})
    assert (await _get(jp_fetch, "models/tiny")) == (200, fake.models["tiny"])
    code, error = await _get(jp_fetch, "models/nope")
    assert code == 404 and error["reason"] == "ModelNotFound" and "'nope'" in error["message"]

    code, metrics = await _get(jp_fetch, "models/tiny/metrics")
    assert code == 200 and metrics["requests"] == 2 and metrics["errors"] == 1
    assert sum(metrics["predicted"].values()) == 4

    response = await jp_fetch(*API, "metrics")
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(response.body.decode())}
    requests = families["lepton_lab_model_requests"].samples
    assert [(s.labels["model"], s.value) for s in requests if s.name.endswith("_total")] == [("tiny", 2.0)]

    response = await jp_fetch(*API, "models", "tiny", method="DELETE")
    assert json.loads(response.body) == {"deleted": "tiny"}
    assert (await _get(jp_fetch, "models")) == (200, {"models": []})
    assert (await _get(jp_fetch, "models/tiny"))[0] == 404


async def test_deploy_takes_a_run_and_refuses_bad_bodies(jp_fetch, fake, finished_run):
    code, model = await _post(jp_fetch, "models", {"run": finished_run.id, "name": "digits"})
    assert code == 201 and model["name"] == "digits" and model["run_id"] == finished_run.id
    code, error = await _post(jp_fetch, "models", {"run": "no-such-run"})
    assert code == 404 and "no-such-run" in error["message"]
    code, error = await _post(jp_fetch, "models", {"run": finished_run.id, "export": "nope"})
    assert code == 404 and "no SavedModel export 'nope'" in error["message"]
    for body, fragment in (
        ({"name": "x"}, "run: expected the id"),
        ({"run": finished_run.id, "version": 2}, "unknown field"),
    ):
        code, error = await _post(jp_fetch, "models", body)
        assert code == 400 and fragment in error["message"]


async def test_the_stream_snapshot_holds_the_models_and_changes_follow(jp_fetch, jp_ws_fetch, fake):
    ws = await jp_ws_fetch(*API, "stream")
    snapshot = json.loads(await ws.read_message())
    assert snapshot["models"] == [fake.models["tiny"]]

    fake.changed("tiny", state="restarting", pid=None)
    message = json.loads(await asyncio.wait_for(ws.read_message(), 30))
    assert message == {"type": "model", "model": fake.models["tiny"]}

    await jp_fetch(*API, "models", "tiny", method="DELETE")
    message = json.loads(await asyncio.wait_for(ws.read_message(), 30))
    assert (
        message["type"] == "model"
        and message["model"]["name"] == "tiny"
        and message["model"]["deleted"] is True
    )
    ws.close()


def _fake_exporter(tmp_path: Path, exit_code: int, stdout: str, stderr: str) -> Path:
    """An executable standing in for Python: ignores ``-m lepton_lab.core.export ...``, prints, exits."""
    script = tmp_path / "fake-python"
    script.write_text(
        f"#!{sys.executable}\nimport sys\nsys.stdout.write({stdout!r})\nsys.stderr.write({stderr!r})\n"
        f"open({str(tmp_path / 'argv.json')!r}, 'w').write(__import__('json').dumps(sys.argv[1:]))\n"
        f"sys.exit({exit_code})\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


async def test_exports_run_the_exporter_in_a_child_process_and_list_export_json(
    jp_fetch, lab, finished_run, tmp_path
):
    export = {
        "format": "tflite",
        "quantize": "int8",
        "path": "exports/tflite-int8/model.tflite",
        "created": 2.0,
    }
    lab.model_exporter = Exporter(
        python=str(_fake_exporter(tmp_path, 0, json.dumps(export), "converting..."))
    )
    code, answer = await _post(
        jp_fetch, f"jobs/{finished_run.id}/exports", {"format": "tflite", "quantize": "int8"}
    )
    assert (code, answer) == (201, export)
    argv = json.loads((tmp_path / "argv.json").read_text())
    assert argv == [
        "-m",
        "lepton_lab.core.export",
        str(finished_run.path),
        "--format",
        "tflite",
        "--quantize",
        "int8",
    ]

    lab.model_exporter = Exporter(
        python=str(_fake_exporter(tmp_path, 2, "", "error: the run's dataset is gone\n"))
    )
    code, error = await _post(jp_fetch, f"jobs/{finished_run.id}/exports", {"format": "onnx"})
    assert code == 400 and error["message"] == "the run's dataset is gone"

    code, error = await _post(
        jp_fetch, f"jobs/{finished_run.id}/exports", {"format": "savedmodel", "quantize": "int8"}
    )
    assert code == 400 and "does not offer quantize='int8'" in error["message"]
    code, error = await _post(jp_fetch, f"jobs/{finished_run.id}/exports", {"format": "zip"})
    assert code == 400 and "unknown export format 'zip'" in error["message"]
    assert (await _post(jp_fetch, "jobs/nope/exports", {"format": "onnx"}))[0] == 404

    directory = finished_run.path / "exports" / "tflite-int8"
    directory.mkdir(parents=True)
    (directory / "export.json").write_text(json.dumps(export))
    assert await _get(jp_fetch, f"jobs/{finished_run.id}/exports") == (200, {"exports": [export]})


async def test_a_run_without_a_model_cannot_be_exported(jp_fetch, finished_run):
    finished_run.model_path.unlink()
    code, error = await _post(jp_fetch, f"jobs/{finished_run.id}/exports", {"format": "onnx"})
    assert code == 409 and "no trained model" in error["message"]


# -- the real registry, a real model-server worker ----------------------------------------------


@pytest.fixture(scope="module")
def tiny_savedmodel(tmp_path_factory) -> dict:
    """A real SavedModel (``tiny/1``) with the exporter's signature and its own outputs on fixed inputs."""
    from tests.model_fixtures import build_tiny_savedmodel

    return build_tiny_savedmodel(tmp_path_factory.mktemp("savedmodel"))


@pytest.fixture
def deployed_run(finished_run: RunDir, tiny_savedmodel) -> RunDir:
    """``finished_run`` with the tiny SavedModel as its export (``exports/savedmodel/tiny/1``)."""
    import shutil

    target = finished_run.path / "exports" / "savedmodel" / "tiny" / "1"
    shutil.copytree(tiny_savedmodel["version_dir"], target)
    per_class = [{"support": 10 + k} for k in range(10)]
    finished_run.evaluation_path.write_text(json.dumps({"class_names": CLASSES, "per_class": per_class}))
    return finished_run


async def _wait_for(fetch, name: str, condition, limit_s: float = 120.0) -> dict:
    """Poll ``GET models/{name}`` until ``condition(model)`` (bounded: a broken worker fails the test)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while True:
        model = (await _get(fetch, f"models/{name}"))[1]
        if condition(model) or loop.time() > deadline:
            return model
        await asyncio.sleep(0.1)


@pytest.mark.slow
async def test_a_real_worker_serves_tf_serving_requests_and_a_killed_one_is_replaced(
    jp_fetch, jp_ws_fetch, deployed_run, tiny_savedmodel
):
    from tests.model_fixtures import INPUTS

    code, model = await _post(jp_fetch, "models", {"run": deployed_run.id, "name": "digits"})
    assert code == 201, model
    assert model["name"] == "digits" and model["version"] == 1 and model["state"] == "ready"
    assert model["input"] == {"shape": [None, 8, 8, 1], "dtype": "uint8"}

    code, answer = await _post(jp_fetch, "v1/models/digits:predict", {"instances": INPUTS[:5].tolist()})
    assert code == 200
    np.testing.assert_allclose(
        [p["probabilities"] for p in answer["predictions"]],
        tiny_savedmodel["probabilities"][:5],
        rtol=1e-5,
        atol=1e-6,
    )
    assert [p["classes"] for p in answer["predictions"]] == tiny_savedmodel["classes"][:5].tolist()
    code, answer = await _post(
        jp_fetch, "models/digits:predict", {"inputs": {"images": INPUTS[5:7].tolist()}}
    )
    assert code == 200 and answer["outputs"]["classes"] == tiny_savedmodel["classes"][5:7].tolist()
    code, answer = await _post(jp_fetch, "models/digits:predict", {"instances": INPUTS[:1, :4].tolist()})
    assert code == 400 and "expected [8, 8, 1] of uint8 (0-255) per instance" in answer["error"]

    ws = await jp_ws_fetch(*API, "stream")
    assert [m["name"] for m in json.loads(await ws.read_message())["models"]] == ["digits"]

    os.kill(model["pid"], signal.SIGKILL)
    seen = await _wait_for(jp_fetch, "digits", lambda m: m["restarts"] >= 1 or m["state"] != "ready")
    assert seen["restarts"] >= 1 or seen["state"] in ("restarting", "starting"), seen
    code, answer = await _post(jp_fetch, "v1/models/digits:predict", {"instances": INPUTS[:2].tolist()})
    assert code == 200, answer  # the request after the death waits for the new worker
    assert [p["classes"] for p in answer["predictions"]] == tiny_savedmodel["classes"][:2].tolist()
    restarted = (await _get(jp_fetch, "models/digits"))[1]
    assert restarted["state"] == "ready" and restarted["pid"] not in (None, model["pid"])

    states = set()
    while "restarting" not in states:  # the death reached the stream as a model message
        message = json.loads(await asyncio.wait_for(ws.read_message(), 60))
        if message["type"] == "model":
            states.add(message["model"]["state"])
    ws.close()

    families = {
        f.name: f for f in text_string_to_metric_families((await jp_fetch(*API, "metrics")).body.decode())
    }
    totals = {
        s.labels["model"]: s.value
        for s in families["lepton_lab_model_requests"].samples
        if s.name.endswith("_total")
    }
    assert totals == {"digits": 4.0}

    response = await jp_fetch(*API, "models", "digits", method="DELETE")
    assert json.loads(response.body) == {"deleted": "digits"}
    assert not (deployed_run.path.parent / ".models" / "digits").exists()
    assert (deployed_run.path / "exports" / "savedmodel" / "tiny" / "1" / "saved_model.pb").is_file()


# -- the whole chain: a trained run, exported by the server, deployed, called --------------------


@pytest.fixture
def trained_run(runs_dir: Path, tmp_path: Path) -> RunDir:
    """A digits MLP trained for real, by ``lepton-lab train`` in a process of its own."""
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps({"name": "digits mlp", "dataset": {"name": "digits"}, "model": {"preset": "mlp"}})
    )
    before = set(runs_dir.iterdir())
    subprocess.run(
        [
            sys.executable,
            "-m",
            "lepton_lab.cli",
            "train",
            str(spec),
            "--runs-dir",
            str(runs_dir),
            "--epochs",
            "3",
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (path,) = [p for p in set(runs_dir.iterdir()) - before if (p / "spec.json").is_file()]
    return RunDir(path)


@pytest.mark.slow
async def test_a_trained_run_is_exported_deployed_and_answers_tf_serving_clients(trained_run, jp_fetch):
    from sklearn.datasets import load_digits

    code, model = await _post(jp_fetch, "models", {"run": trained_run.id, "name": "digits"})
    assert code == 201, model  # the run had no SavedModel: the server exported one first
    assert model["state"] == "ready" and model["input"] == {"shape": [None, 8, 8, 1], "dtype": "uint8"}
    code, listing = await _get(jp_fetch, f"jobs/{trained_run.id}/exports")
    assert [e["format"] for e in listing["exports"]] == ["savedmodel"]

    digits = load_digits()  # the images as the dataset stores them: 0..16 counts
    images = digits.images[:200].astype(np.uint8)[..., None]
    code, answer = await _post(jp_fetch, "v1/models/digits:predict", {"instances": images.tolist()})
    assert code == 200
    predicted = np.array([p["classes"] for p in answer["predictions"]])
    assert np.mean(predicted == digits.target[:200]) > 0.6  # trained (chance is 0.1)
    for prediction in answer["predictions"][:5]:
        assert sum(prediction["probabilities"]) == pytest.approx(1.0, abs=1e-4)

    code, export = await _post(
        jp_fetch, f"jobs/{trained_run.id}/exports", {"format": "tflite", "quantize": "int8"}
    )
    assert code == 201, export
    assert (export["format"], export["quantize"], export["run_id"]) == ("tflite", "int8", trained_run.id)
    assert (trained_run.path / export["path"]).is_file() and export["size_bytes"] > 0
    code, listing = await _get(jp_fetch, f"jobs/{trained_run.id}/exports")
    assert sorted(e["format"] for e in listing["exports"]) == ["savedmodel", "tflite"]
    await jp_fetch(*API, "models", "digits", method="DELETE")
