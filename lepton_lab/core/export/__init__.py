"""Export a trained run's model for deployment: SavedModel (TF Serving), TFLite (LiteRT), ONNX.

Every export takes the inputs **as the dataset stores them** (uint8 images; digits' 0..16
counts) and does the scaling and any resizing inside its graph, returning class probabilities
and the top class, so preprocessing cannot drift between training and serving. Each is loaded
back in its own runtime (TensorFlow, the LiteRT interpreter, onnxruntime) and scored on the
run's test split against the Keras model; ``export.json`` records size, accuracy, change,
agreement and latency, and a warning when the accuracy moved beyond the tolerance.

Modules: :mod:`.layout` (directories, names, versions, ``export.json``; TensorFlow-free),
:mod:`.inputs` (the raw input spec), :mod:`.graph` (the serving graph), :mod:`.savedmodel`,
:mod:`.tflite`, :mod:`.onnx` (one format each), :mod:`.verify` (scoring) and :mod:`.exporter`
(:func:`export_model`). Importing this package loads no TensorFlow; exporting does.
``python -m lepton_lab.core.export RUN_DIR --format F --quantize Q`` runs one export in a
process of its own and prints its ``export.json`` (the server's export route uses it).

Examples
--------
>>> from lepton_lab.core.export import export_model          # doctest: +SKIP
>>> export_model("lepton-runs/20261201-digits", "tflite", "int8")["size_bytes"]  # doctest: +SKIP
65032
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lepton_lab.core.export.layout import (
    FORMATS,
    QUANTIZE_BY_FORMAT,
    QUANTIZE_MODES,
    ExportError,
    check_options,
    list_exports,
    savedmodel_dir,
)

if TYPE_CHECKING:
    import os

    from lepton_lab.core.datasets import Dataset
    from lepton_lab.core.run_store import Run

__all__ = [
    "FORMATS",
    "QUANTIZE_BY_FORMAT",
    "QUANTIZE_MODES",
    "ExportError",
    "check_options",
    "export_model",
    "list_exports",
    "savedmodel_dir",
]


def export_model(
    run: Run | str | os.PathLike[str],
    format: str = "savedmodel",
    quantize: str = "none",
    name: str | None = None,
    verify: bool = True,
    *,
    dataset: Dataset | None = None,
) -> dict[str, Any]:
    """Export ``run``'s model; see :func:`lepton_lab.core.export.exporter.export_model`."""
    from lepton_lab.core.export import exporter

    return exporter.export_model(run, format, quantize, name, verify, dataset=dataset)
