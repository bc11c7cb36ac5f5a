"""native_stdout_to_stderr(): keep converters' C++ output off standard output while exporting.

The TFLite converter and its calibrator, the LiteRT interpreter and tf2onnx print from C++
straight to file descriptor 1 ("fully_quantize: 0, ...", "Created TensorFlow Lite XNNPACK
delegate"). Whatever reads an export's result from standard output (the server's export route
reading ``python -m lepton_lab.core.export``, a user piping ``lepton-lab export-model``) must
get the result alone, so descriptor 1 points at descriptor 2 for the duration.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def native_stdout_to_stderr() -> Iterator[None]:
    """Send everything written to descriptor 1 (Python's and C++'s) to descriptor 2 meanwhile."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no descriptor 1 (a daemon): nothing to protect
        yield
        return
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
