"""The deployed-model client: raw inputs, deploy, predict, monitoring, exports, undeploy.

The first tests check what the client sends without a server. The last one deploys a digits run
trained for real on a real Jupyter server (its model-server worker a real process) and uses every
method of :class:`~lepton_lab.model_client.DeployedModel` and the job's exports through it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lepton_lab
from lepton_lab.client import ApiError, LabClient
from lepton_lab.core.rundir import RunDir
from lepton_lab.model_client import DeployedModel, deploy_body, raw_images
from tests.conftest import TOKEN

SHAPE = [None, 8, 8, 1]


def test_raw_images_batches_single_images_and_adds_the_channel_axis():
    image = np.arange(64, dtype=np.uint8).reshape(8, 8) % 17
    assert raw_images(image, SHAPE).shape == (1, 8, 8, 1)
    assert raw_images(image[..., None], SHAPE).shape == (1, 8, 8, 1)
    assert raw_images(np.stack([image] * 3), SHAPE).shape == (3, 8, 8, 1)
    batch = raw_images(np.stack([image] * 3).astype(np.int64)[..., None], SHAPE)
    assert batch.dtype == np.uint8 and np.array_equal(batch[1, ..., 0], image)
    assert raw_images([[[0.0] * 1] * 8] * 8, SHAPE).dtype == np.uint8  # whole-valued floats pass


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (np.zeros((2, 8, 7, 1), np.uint8), r"shape \[2, 8, 7, 1\]; the model expects \[n, 8, 8, 1\]"),
        (np.full((8, 8), 0.5), "send the raw uint8 values"),
        (np.full((8, 8), 300), "values span 300..300; uint8 holds 0..255"),
        (np.array([["a"] * 8] * 8), "dtype <U1; send uint8"),
    ],
)
def test_raw_images_refuses_what_the_model_would_misread(images, message):
    with pytest.raises(ValueError, match=message):
        raw_images(images, SHAPE)


def test_deploy_body_takes_a_run_a_job_or_an_id():
    class Run:
        id = "20261201-digits"

    assert deploy_body(Run(), "digits") == {"run": "20261201-digits", "name": "digits"}
    assert deploy_body("run-1", export="savedmodel") == {"run": "run-1", "export": "savedmodel"}
    with pytest.raises(TypeError, match="a run, a job or a run id"):
        deploy_body(3)


def test_the_predict_url_and_headers_are_tf_servings():
    model = DeployedModel(LabClient("http://h:1/base", "tok"), {"name": "my digits"})
    assert model.predict_url == "http://h:1/base/lepton-lab/api/v1/models/my%20digits:predict"
    assert model.headers == {"Authorization": "token tok"}
    assert DeployedModel(LabClient("http://h:1/"), {"name": "d"}).headers == {}


# -- a real server, a real trained run ----------------------------------------------------------


@pytest.fixture
def trained_run(runs_dir: Path, tmp_path: Path) -> RunDir:
    """A digits MLP trained for real, by ``lepton-lab train`` in a process of its own."""
    spec = tmp_path / "spec.json"
    body = {"name": "digits mlp", "dataset": {"name": "digits"}, "model": {"preset": "mlp"}}
    spec.write_text(json.dumps(body))
    command = [sys.executable, "-m", "lepton_lab.cli", "train", str(spec), "--runs-dir", str(runs_dir)]
    subprocess.run([*command, "--epochs", "3"], check=True, capture_output=True, timeout=600)
    (path,) = [p for p in runs_dir.iterdir() if not p.name.startswith(".")]
    return RunDir(path)


@pytest.fixture
def jp_server_config(jp_server_config, trained_run):
    """The shared server config, started after ``trained_run`` exists."""
    return jp_server_config


@pytest.mark.slow
async def test_deploy_predict_monitor_export_and_undeploy_a_trained_run(
    trained_run, http_server_client, jp_http_port, jp_base_url
):
    import requests
    from prometheus_client.parser import text_string_to_metric_families
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images[:100].astype(np.uint8)[..., None]  # as the dataset stores them: 0..16
    client = LabClient(f"http://127.0.0.1:{jp_http_port}{jp_base_url}", TOKEN)

    def scenario() -> dict[str, Any]:
        found: dict[str, Any] = {}
        model = client.deploy(client.job(trained_run.id), name="digits")  # exported first, on the server
        found["deployed"] = dict(model.info)
        found["listed"] = [m.name for m in client.models()]
        found["state"] = client.model("digits").state
        found["batch"] = model.predict(images)
        found["single"] = model.predict(digits.images[0].astype(np.uint8))  # [8, 8]: one image
        # What a TF Serving client sends, with the URL and header the handle gives it.
        body = {"instances": images[:5].tolist()}
        answer = requests.post(model.predict_url, json=body, headers=model.headers)
        found["tf_serving"] = answer.status_code, answer.json()
        with pytest.raises(ApiError) as refused:
            client.request("POST", "models/digits:predict", {"instances": [[[0]] * 8]})
        found["refused"] = refused.value
        found["metrics"] = model.metrics()
        found["prometheus"] = model.prometheus()
        job = client.job(trained_run.id)
        found["export"] = job.export(format="tflite", quantize="int8")
        found["exports"] = sorted((e["format"], e["quantize"]) for e in job.exports())
        model.undeploy()
        found["after"] = client.models()
        with pytest.raises(ApiError) as gone:
            client.model("digits")
        found["gone"] = gone.value
        return found

    found = await asyncio.to_thread(scenario)

    assert found["deployed"]["name"] == "digits" and found["deployed"]["run_id"] == trained_run.id
    assert found["deployed"]["input"] == {"shape": [None, 8, 8, 1], "dtype": "uint8"}
    assert found["listed"] == ["digits"] and found["state"] == "ready"
    batch = found["batch"]
    assert batch["probabilities"].shape == (100, 10) and batch["probabilities"].dtype == np.float32
    assert np.allclose(batch["probabilities"].sum(axis=1), 1.0, atol=1e-4)
    assert np.array_equal(batch["classes"], batch["probabilities"].argmax(axis=1))
    assert np.mean(batch["classes"] == digits.target[:100]) > 0.6  # trained (chance is 0.1)
    assert found["single"]["classes"].tolist() == batch["classes"][:1].tolist()
    status, answer = found["tf_serving"]
    assert status == 200 and [p["classes"] for p in answer["predictions"]] == batch["classes"][:5].tolist()
    assert found["refused"].status == 400 and "expected [8, 8, 1]" in found["refused"].message

    metrics = found["metrics"]
    assert metrics["requests"] == 4 and metrics["errors"] == 1  # batch, single, TF Serving client, the 400
    assert sum(metrics["predicted"].values()) == 106 and set(metrics["latency_ms"]) >= {"p50", "p95", "p99"}
    families = {f.name: f for f in text_string_to_metric_families(found["prometheus"])}
    samples = families["lepton_lab_model_requests"].samples
    (requests_total,) = [s for s in samples if s.name.endswith("_total")]
    assert requests_total.labels["model"] == "digits" and requests_total.value == 4

    export = found["export"]
    assert (export["format"], export["quantize"], export["run_id"]) == ("tflite", "int8", trained_run.id)
    assert (trained_run.path / export["path"]).is_file() and export["size_bytes"] > 0
    assert found["exports"] == [("savedmodel", "none"), ("tflite", "int8")]
    assert found["after"] == [] and found["gone"].status == 404 and "digits" in found["gone"].message


def test_the_notebook_names_reach_the_client(monkeypatch):
    calls: list[tuple[str, Any]] = []

    class Client:
        def deploy(self, run, name=None, export=None):
            calls.append(("deploy", (run, name, export)))

        def models(self):
            calls.append(("models", None))

        def model(self, name):
            calls.append(("model", name))

    monkeypatch.setattr(lepton_lab.client, "_default", Client())
    lepton_lab.deploy("run-1", name="d")
    lepton_lab.deployed_models()
    lepton_lab.model("d")
    assert calls == [("deploy", ("run-1", "d", None)), ("models", None), ("model", "d")]
