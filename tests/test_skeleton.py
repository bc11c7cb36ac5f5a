"""The frame every later feature relies on: packaging, status route, CLI, cheap import."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

import lepton_lab

ROOT = Path(__file__).resolve().parents[1]


async def test_status_route_reports_versions_with_token(jp_fetch, runs_dir):
    response = await jp_fetch("lepton-lab", "api", "status")
    assert response.code == 200
    body = json.loads(response.body)
    assert body["lepton_lab"] == lepton_lab.__version__
    assert body["tensorflow"] == metadata.version("tensorflow")
    assert body["keras"] == metadata.version("keras")
    assert Path(body["runs_dir"]) == runs_dir


async def test_status_route_refuses_request_without_token(jp_fetch):
    with pytest.raises(HTTPClientError) as excinfo:
        await jp_fetch("lepton-lab", "api", "status", headers={"Authorization": ""})
    assert excinfo.value.code == 403


def test_import_is_tensorflow_free():
    code = (
        "import sys\n"
        "import lepton_lab, lepton_lab.core.specs\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    tf_loaded, keras_loaded = out.split()
    assert tf_loaded == "False" and keras_loaded == "False"


def test_server_extension_app_loads_without_tensorflow():
    code = (
        "import sys\n"
        "from lepton_lab import _jupyter_server_extension_points\n"
        "[point] = _jupyter_server_extension_points()\n"
        "point['app']()\n"
        "print('tensorflow' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_installed_environment_contains_built_labextension():
    labext = Path(sys.prefix, "share", "jupyter", "labextensions", "lepton-lab")
    manifest = json.loads((labext / "package.json").read_text())
    assert manifest["name"] == "lepton-lab"
    assert list((labext / "static").glob("remoteEntry.*.js")), "labextension was not built"


def _jupyter(*args: str) -> str:
    jupyter = Path(sys.executable).with_name("jupyter")
    result = subprocess.run([str(jupyter), *args], capture_output=True, text=True, check=True)
    return result.stdout + result.stderr


def _plain(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_jupyter_lists_both_extensions_enabled_without_warnings():
    labext = _plain(_jupyter("labextension", "list"))
    assert any(
        line.split()[:1] == ["lepton-lab"] and "enabled" in line and "OK" in line
        for line in labext.splitlines()
    ), labext
    server = _plain(_jupyter("server", "extension", "list"))
    assert "lepton_lab enabled" in server
    assert "lepton_lab 0" in server and "OK" in server
    lepton_lines = [line for line in (labext + server).splitlines() if "lepton" in line.lower()]
    assert not [line for line in lepton_lines if "warn" in line.lower() or "error" in line.lower()]


def test_python_and_npm_versions_agree():
    package = json.loads((ROOT / "package.json").read_text())
    assert package["version"] == lepton_lab.__version__ == metadata.version("lepton_lab")


def test_cli_version():
    out = subprocess.run(
        [sys.executable, "-m", "lepton_lab.cli", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == f"lepton-lab {lepton_lab.__version__}"


def test_cli_doctor_reports_versions_gpus_and_offline_datasets_without_tensorflow():
    code = (
        "import sys\n"
        "from lepton_lab.cli import main\n"
        "main(['doctor'])\n"
        "print('TF-LOADED' if 'tensorflow' in sys.modules else 'TF-FREE')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert f"lepton_lab    {lepton_lab.__version__}" in out
    assert f"TensorFlow    {metadata.version('tensorflow')}" in out
    assert "GPUs" in out
    from lepton_lab.core.hardware import cpu_has_native_bfloat16  # its parsing: tests/test_runtime_policy.py

    bfloat16 = "native:" if cpu_has_native_bfloat16() else "not native:"
    assert f"CPU bfloat16  {bfloat16}" in out
    assert "[yes] digits" in out
    if Path("/usr/share/datasets/fashion-mnist").is_dir():
        assert "[yes] fashion_mnist" in out
    else:
        assert "fashion_mnist" in out
    assert out.strip().endswith("TF-FREE")
