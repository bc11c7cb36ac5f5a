"""Keep the converters' chatter out of what exporting shows, and their C++ output off stdout.

The TFLite converter and its calibrator, the LiteRT interpreter and tf2onnx print from C++
straight to file descriptors 1 and 2 ("fully_quantize: 0, ...", "INFO: Created TensorFlow Lite
XNNPACK delegate for CPU", absl ``I0000``/``W0000`` lines), and TensorFlow's Python logger says
"INFO:tensorflow:Assets written to: ..." for every SavedModel. In a notebook all of it lands in
the export cell as red standard-error text although nothing is wrong.

- :func:`quiet_converters` (what :func:`~lepton_lab.core.export.exporter.export_model` runs
  under) holds TensorFlow's logger at ERROR (its warnings while exporting are about tracing, e.g.
  "5 out of the last 5 calls ... triggered tf.function retracing" when a notebook has predicted
  with several models, not about the export) and collects descriptors 1 and 2 meanwhile; what
  is not one of the routine notices is written back to ``sys.stderr``, so real errors still show.
- :func:`native_stdout_to_stderr`: whatever reads an export's result from standard output (the
  server's export route reading ``python -m lepton_lab.core.export``, a user piping
  ``lepton-lab export-model``) must get the result alone, so descriptor 1 points at descriptor 2
  for the duration.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator

#: Lines the converters and runtimes print on every export: absl info/warning lines, LiteRT's
#: "INFO: ..." notices, the int8 calibrator's settings line, absl's pre-initialisation notice.
_ROUTINE = re.compile(
    r"^(?:[IW]\d{4} |INFO: |fully_quantize: |WARNING: All log messages before absl::InitializeLog)"
)


def is_routine(line: str) -> bool:
    """Whether ``line`` is one of the converters' routine notices rather than a problem.

    Examples
    --------
    >>> is_routine("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.")
    True
    >>> is_routine("E0000 00:00:1 op_kernel.cc:42] OP_REQUIRES failed")
    False
    """
    return not line.strip() or bool(_ROUTINE.match(line))


@contextlib.contextmanager
def quiet_converters(echo: bool = True) -> Iterator[None]:
    """Hold TensorFlow's logger at ERROR and keep routine native output off descriptors 1 and 2.

    Everything written to the descriptors meanwhile (by C++ or by Python in a plain process) is
    collected in a temporary file; afterwards the lines that are not :func:`is_routine` go to
    ``sys.stderr`` (none with ``echo=False``: for a probe whose failure is its answer).
    """
    logger = logging.getLogger("tensorflow")  # tf.get_logger(), without importing TensorFlow
    level = logger.level
    logger.setLevel(max(level, logging.ERROR))
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        saved = (os.dup(1), os.dup(2))
    except OSError:  # no descriptors (a daemon): nothing reaches a reader anyway
        try:
            yield
        finally:
            logger.setLevel(level)
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for descriptor in saved:
                os.close(descriptor)
            logger.setLevel(level)
            sink.seek(0)
            lines = sink.read().decode(errors="replace").splitlines()
            kept = [line for line in lines if not is_routine(line)]
            if kept and echo:
                sys.stderr.write("\n".join(kept) + "\n")
                sys.stderr.flush()


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
