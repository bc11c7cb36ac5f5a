"""TensorFlow's start-up notices are kept out of cells; real errors are not."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lepton_lab.core.tf_import import is_startup_notice

NOTICES = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1795371004.640660   30208 port.cc:153] oneDNN custom operations are on.",
    "W0000 00:00:1795371004.640660   30208 cuda_dnn.cc:8310] Unable to register cuDNN factory",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow",
]
CUINIT = "E0000 00:00:1795371007.398973   30208 cuda_platform.cc:52] failed call to cuInit: UNKNOWN ERROR"


@pytest.mark.parametrize("line", NOTICES)
def test_routine_notices_are_recognised(line):
    assert is_startup_notice(line, has_gpu_device=False)
    assert is_startup_notice(line, has_gpu_device=True)


def test_cuinit_failure_is_noise_without_a_gpu_but_kept_with_one():
    assert is_startup_notice(CUINIT, has_gpu_device=False)
    assert not is_startup_notice(CUINIT, has_gpu_device=True)


def test_real_errors_are_kept():
    oom = "E0000 00:00:1.0 1 op_kernel.cc:1] OOM when allocating tensor"
    assert not is_startup_notice(oom, has_gpu_device=False)
    assert not is_startup_notice("Traceback (most recent call last):", has_gpu_device=False)


def _stderr_of(code: str, **env: str) -> str:
    import os

    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env}, check=True
    )
    return completed.stderr


# Lines written to descriptor 2 while TensorFlow loads. Which notices TensorFlow itself prints
# depends on the CPU (oneDNN on some, nothing on others), so the test writes its own: a routine
# notice and a real error, from an import hook that runs inside the quiet load.
_NOISY_LOAD = """
import importlib.abc, os, sys

class Noisy(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "keras":
            os.write(2, b"I0000 00:00:1.0 1 port.cc:153] oneDNN custom operations are on.\\n")
            os.write(2, b"E0000 00:00:1.0 1 op_kernel.cc:1] the real trouble\\n")
        return None

sys.meta_path.insert(0, Noisy())
from lepton_lab.core.tf_import import keras, startup_log
assert "the real trouble" in startup_log or os.environ.get("LEPTON_LAB_TF_LOGS")
"""


@pytest.mark.slow
def test_importing_through_lepton_lab_hides_notices_keeps_errors_and_the_switch_shows_all():
    quiet = _stderr_of(_NOISY_LOAD)
    loud = _stderr_of(_NOISY_LOAD, LEPTON_LAB_TF_LOGS="1")
    assert "oneDNN" not in quiet and "absl::InitializeLog" not in quiet
    assert "the real trouble" in quiet  # real errors get through
    assert "oneDNN" in loud and "the real trouble" in loud  # the switch lets everything through
