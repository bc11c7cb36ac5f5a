"""``lepton-lab serve``: a standalone TF Serving-compatible server, called the way TF Serving clients call it.

The server runs as ``python -m lepton_lab.cli serve`` in a process of its own on a real SavedModel
(``tests.model_fixtures``); the requests are plain ``requests`` calls written for TF Serving.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from lepton_lab.cli import build_parser

pytestmark = pytest.mark.slow


def test_serve_is_a_lepton_lab_command_and_its_start_up_imports_no_tensorflow():
    args = build_parser().parse_args(["serve", "runs/x", "--port", "0", "--token", "t"])
    assert (args.target, args.port, args.token, args.host) == ("runs/x", 0, "t", "127.0.0.1")
    code = "import sys, lepton_lab.cli.serve, lepton_lab.cli; print('tensorflow' in sys.modules)"
    assert (
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        == "False"
    )


def test_a_missing_target_is_told_with_exit_status_2(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lepton_lab.cli",
            "serve",
            str(tmp_path / "nope"),
            "--runs-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("lepton-lab serve: error:")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``lepton-lab serve <savedmodel>/tiny --port 0 --name digits --token secret``; yields its base URL."""
    from tests.model_fixtures import build_tiny_savedmodel

    root = tmp_path_factory.mktemp("serve")
    built = build_tiny_savedmodel(root)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lepton_lab.cli",
            "serve",
            str(Path(built["version_dir"]).parent),
            "--port",
            "0",
            "--name",
            "digits",
            "--token",
            "secret",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = process.stdout.readline()  # printed once the model's worker is ready
        match = re.search(r"at (http://[^/]+)/v1/models/digits:predict", line)
        assert match, f"no serving line: {line!r} (exit {process.poll()})"
        yield {"url": match.group(1), **built}
    finally:
        process.terminate()
        assert process.wait(timeout=60) == 0  # SIGTERM stops the worker and exits cleanly


AUTH = {"Authorization": "Bearer secret"}


def test_tf_serving_client_requests_are_answered_as_tf_serving_does(server):
    from tests.model_fixtures import INPUTS

    url = f"{server['url']}/v1/models/digits:predict"
    response = requests.post(url, json={"instances": INPUTS[:3].tolist()}, headers=AUTH, timeout=60)
    assert response.status_code == 200
    predictions = response.json()["predictions"]
    assert [p["classes"] for p in predictions] == server["classes"][:3].tolist()
    for prediction, expected in zip(predictions, server["probabilities"][:3], strict=True):
        assert prediction["probabilities"] == pytest.approx(expected.tolist(), rel=1e-5, abs=1e-6)

    response = requests.post(url, json={"inputs": {"images": INPUTS[3:5].tolist()}}, headers=AUTH, timeout=60)
    assert response.status_code == 200
    assert response.json()["outputs"]["classes"] == server["classes"][3:5].tolist()

    versioned = f"{server['url']}/v1/models/digits/versions/1:predict"
    assert requests.post(versioned, json={"instances": INPUTS[:1].tolist()}, headers=AUTH, timeout=60).ok

    bad = requests.post(url, json={"instances": [INPUTS[0, :, :5].tolist()]}, headers=AUTH, timeout=60)
    assert bad.status_code == 400
    assert bad.json() == {
        "error": "instances[0] has shape [8, 5, 1]; expected [8, 8, 1] of uint8 (0-255) per instance"
    }
    missing = requests.post(f"{server['url']}/v1/models/other:predict", json={}, headers=AUTH, timeout=60)
    assert missing.status_code == 404 and "Servable not found" in missing.json()["error"]


def test_model_status_metrics_and_token(server):
    status = requests.get(f"{server['url']}/v1/models/digits", headers=AUTH, timeout=60).json()
    assert status["model_version_status"][0]["state"] == "AVAILABLE"
    assert status["model_version_status"][0]["status"] == {"error_code": "OK", "error_message": ""}

    text = requests.get(f"{server['url']}/metrics", headers=AUTH, timeout=60).text
    names = {family.name for family in text_string_to_metric_families(text)}
    assert "lepton_lab_model_requests" in names and "lepton_lab_model_latency_seconds" in names

    refused = requests.get(f"{server['url']}/v1/models/digits", timeout=60)
    assert refused.status_code == 401 and "token" in refused.json()["error"]
    wrong = requests.post(f"{server['url']}/v1/models/digits:predict", data=json.dumps({}), timeout=60)
    assert wrong.status_code == 401
