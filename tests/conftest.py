"""Shared fixtures: an authenticated Jupyter server with Lepton Lab, isolated runs dirs."""

from __future__ import annotations

import os
import tempfile

import pytest

pytest_plugins = ["pytest_jupyter.jupyter_server"]

#: Token every test server requires; requests without it must be refused.
TOKEN = "lepton-test-token"

# Keep TensorFlow quiet and deterministic in every process the tests start.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PYTHONHASHSEED", "0")
# Measured runtime choices are cached per machine (core/runtime_policy): tests neither read a
# developer's cache nor leave entries in it.
os.environ["LEPTON_LAB_CACHE_DIR"] = tempfile.mkdtemp(prefix="lepton-lab-test-cache-")


@pytest.fixture
def runs_dir(tmp_path):
    """An empty runs directory for one test."""
    path = tmp_path / "runs"
    path.mkdir()
    return path


@pytest.fixture
def jp_server_config(runs_dir):
    """Server with only token auth and Lepton Lab enabled, writing runs under tmp."""
    return {
        "ServerApp": {
            "jpserver_extensions": {"lepton_lab": True},
            "allow_unauthenticated_access": False,
        },
        "IdentityProvider": {"token": TOKEN},
        "LeptonLabApp": {"runs_dir": str(runs_dir)},
    }


@pytest.fixture
def reap_workers():
    """Kill the worker processes a test leaves running (jobs outlive the server by design)."""
    yield
    import signal

    from lepton_lab.server.executors import LocalProcessExecutor

    for pid, popen in list(LocalProcessExecutor.children.items()):
        if popen.poll() is None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            popen.wait(timeout=30)
        LocalProcessExecutor.children.pop(pid, None)


def pytest_sessionfinish(session, exitstatus):
    """Close widgets while ipywidgets can still do it cleanly.

    Widgets left open until interpreter shutdown print a traceback each from
    ``Widget.__del__``, burying the test summary.
    """
    import sys

    if "ipywidgets" in sys.modules:
        sys.modules["ipywidgets"].Widget.close_all()
