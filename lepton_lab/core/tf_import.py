"""TensorFlow and Keras, imported once with their start-up log lines kept out of notebook cells.

TensorFlow writes absl log lines straight to file descriptor 2 while it loads: a oneDNN
notice, a CPU-feature notice, and, on a host without a GPU, "failed call to cuInit". They
are written before absl's logging is initialised, so ``TF_CPP_MIN_LOG_LEVEL`` does not reach
them, and ipykernel forwards descriptor 2 into the running cell: every notebook's first
training cell would open with a screen of them. Importing ``tf`` or ``keras`` from here
loads TensorFlow (and probes its GPUs, which is when cuInit runs) with descriptor 2 pointed
at a temporary file, then writes back to ``sys.stderr`` every line that is not one of those
known start-up notices, so real errors still show.

The captured text stays in :data:`startup_log`. Set ``LEPTON_LAB_TF_LOGS=1`` to let
TensorFlow write to descriptor 2 as usual.

Every module of ``lepton_lab`` that needs TensorFlow imports it through this one::

    from lepton_lab.core.tf_import import keras, tf
"""

from __future__ import annotations

import glob
import os
import re
import sys
import tempfile

__all__ = ["keras", "startup_log", "tf"]

#: Everything TensorFlow wrote to descriptor 2 while loading ("" when not captured).
startup_log = ""

_ABSL_INFO_OR_WARNING = re.compile(r"^[IW]\d{4} ")
_NOTICE_PREFIXES = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "To enable the following instructions:",  # second line of the CPU-feature notice
)


def is_startup_notice(line: str, *, has_gpu_device: bool) -> bool:
    """Whether ``line`` is one of TensorFlow's routine start-up notices rather than a real problem.

    Parameters
    ----------
    line : str
        One line TensorFlow wrote to descriptor 2 while loading.
    has_gpu_device : bool
        Whether the host has an NVIDIA device node. Without one, "failed call to cuInit"
        only says that there is no GPU, which ``lepton-lab doctor`` already reports; with
        one, it is a broken driver and is kept.
    """
    if not line.strip() or line.startswith(_NOTICE_PREFIXES) or _ABSL_INFO_OR_WARNING.match(line):
        return True
    return "failed call to cuInit" in line and not has_gpu_device


def _load_quietly() -> str:
    """Import TensorFlow and Keras with descriptor 2 captured; return what was written there."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 at all (a daemon): nothing can reach a cell
        return ""
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import keras  # noqa: F401
            import tensorflow

            tensorflow.config.list_physical_devices("GPU")  # cuInit runs here, not at import
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        capture.seek(0)
        return capture.read().decode("utf-8", "replace")


if not os.environ.get("LEPTON_LAB_TF_LOGS") and "tensorflow" not in sys.modules:
    # (Once TensorFlow is loaded, by the user or by anything else, its notices are already out.)
    startup_log = _load_quietly()
    _has_gpu_device = bool(glob.glob("/dev/nvidia[0-9]*"))
    for _line in startup_log.splitlines():
        if not is_startup_notice(_line, has_gpu_device=_has_gpu_device):
            print(_line, file=sys.stderr)

import keras  # noqa: E402  (after the quiet load above, which is the point of this module)
import tensorflow as tf  # noqa: E402
