"""export_model(): export a trained run's model, verify it in its own runtime, write ``export.json``.

Each export is written in a hidden temporary directory beside its destination, verified there,
and moved into place with its ``export.json`` already inside, so a reader (the model registry
deploying it, ``list_exports``) never sees half an export. SavedModel versions are never
replaced: a re-export is the next version.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lepton_lab.core.export import layout
from lepton_lab.core.export.inputs import RawInput, raw_examples, raw_input
from lepton_lab.core.export.layout import ExportError
from lepton_lab.core.export.streams import quiet_converters

if TYPE_CHECKING:
    from lepton_lab.core.datasets import Dataset
    from lepton_lab.core.run_store import Run

#: Batch size of the Keras model's own predictions on the test split.
KERAS_BATCH = 256


def export_model(
    run: Run | str | os.PathLike[str],
    format: str = "savedmodel",
    quantize: str = "none",
    name: str | None = None,
    verify: bool = True,
    *,
    dataset: Dataset | None = None,
) -> dict[str, Any]:
    """Export ``run``'s trained model; return its ``export.json`` (also written to disk).

    Parameters
    ----------
    run : Run or path
        A completed run (its ``model.keras``).
    format : str
        ``savedmodel`` (TF Serving layout), ``tflite`` or ``onnx``.
    quantize : str
        ``none``; ``float16``, ``dynamic`` or ``int8`` for tflite; ``dynamic`` for onnx.
    name : str, optional
        Model name (``[a-z0-9_-]``): the SavedModel's ``<name>`` directory. Default: the run's
        name made safe.
    verify : bool
        Load the export back in its runtime and score the test split (the accuracy, agreement
        and latency fields are None without it).
    dataset : Dataset, optional
        The run's dataset, loaded; needed only for data that lives in a notebook
        (``memory:...``), which cannot be loaded again from the run's spec.

    Raises
    ------
    ExportError
        A bad format/quantize/name, a run without a model, or a dataset that cannot be loaded.
    """
    from lepton_lab.core.run_store import Run

    layout.check_options(format, quantize)
    if name is not None:
        layout.check_name(name)
    found = run if isinstance(run, Run) else _open_run(run)
    if not found.dir.model_path.exists():
        raise ExportError(
            f"run {found.id} has no model.keras (status {found.status.get('status')!r}); "
            "only a run that completed training can be exported"
        )
    data = dataset if dataset is not None else _load_dataset(found)
    if data.kind == "text":
        _check_text_options(found.id, format, quantize)
    raw = raw_input(data)
    model_name = name or layout.safe_name(found.name or found.id)
    label = layout.export_dir_name(format, quantize)

    from lepton_lab.core.export.graph import float32_model

    keras_model = found.load_model()
    model = float32_model(keras_model)
    root = layout.exports_root(found.path)
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{label}-", dir=root))
    try:
        with quiet_converters():
            return _export(found, keras_model, model, raw, data, format, quantize, verify, work, model_name)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _check_text_options(run_id: str, format: str, quantize: str) -> None:
    """Refuse the exports a text model (raw strings in) cannot have, naming the one it can."""
    if format == "savedmodel":
        return
    what = f"run {run_id} is a text model (raw strings in)"
    instead = "use format='savedmodel' (TF Serving; its signature takes the raw strings)"
    if format == "onnx":
        # tf2onnx maps TextVectorization's string ops (StringLower, RegexReplace, StringSplit, the
        # vocabulary's hash table) only to onnxruntime-extensions custom ops, which are not installed.
        raise ExportError(f"{what}: ONNX has no standard ops for its TextVectorization; {instead}")
    from lepton_lab.core.export import tflite

    if not tflite.flex_available():
        from lepton_lab.core.tf_import import tf

        raise ExportError(
            f"{what}: its TextVectorization needs TFLite's Select TF ops (the Flex delegate), which this "
            f"interpreter (TensorFlow {tf.__version__}'s tf.lite.Interpreter) cannot run, so the export "
            f"could not be verified; {instead}, or run.load_model() (model.keras takes raw strings)"
        )
    if quantize == "int8":
        raise ExportError(
            f"{what}: full-integer int8 calibrates on numeric inputs and runs only int8 kernels, which "
            "strings have not; use quantize='dynamic' (int8 weights) or 'float16'"
        )


def _export(
    found: Run,
    keras_model: Any,
    model: Any,
    raw: RawInput,
    data: Dataset,
    format: str,
    quantize: str,
    verify: bool,
    work: Path,
    model_name: str,
) -> dict[str, Any]:
    """Write, verify and publish one export from the temporary directory ``work``."""
    artefact = _write(format, quantize, model, raw, data, work)
    manifest: dict[str, Any] = {
        "format": format,
        "quantize": quantize,
        "path": None,  # set once the export has its final place
        "created": time.time(),
        "run_id": found.id,
        "name": model_name,
        "input": raw.to_json(),
        "classes": list(data.class_names),
        # The training split's class shares: what monitoring compares predicted classes with.
        "training_distribution": _distribution(data),
        "size_bytes": _size(artefact),
    }
    manifest.update(_verification(found, keras_model, data, format, quantize, artefact, verify))
    if format == "savedmodel":
        return _publish_savedmodel(found, work, manifest, model_name)
    return _publish(found, work, artefact, manifest, layout.export_dir_name(format, quantize))


def _open_run(path: str | os.PathLike[str]) -> Run:
    from lepton_lab.core.run_store import Run

    try:
        return Run(path)
    except FileNotFoundError as error:
        raise ExportError(str(error)) from None


def _load_dataset(run: Run) -> Dataset:
    from lepton_lab.core import datasets

    spec = run.spec.dataset
    if spec.name.startswith("memory:"):
        raise ExportError(
            f"run {run.id} trained on data from a notebook ({spec.name}); it cannot be loaded again from "
            "the run, so pass it: run.export(..., dataset=ll.datasets.from_arrays(x, y, ...)) with the same "
            "arrays and split settings"
        )
    try:
        return datasets.load(spec)
    except datasets.DatasetUnavailable as error:
        raise ExportError(f"run {run.id}'s dataset is not on this machine: {error}") from None


def _write(format: str, quantize: str, model: Any, raw: RawInput, data: Dataset, work: Path) -> Path:
    """Write the export into ``work``; return the SavedModel directory or the model file."""
    from lepton_lab.core.export import savedmodel

    if format == "savedmodel":
        return savedmodel.write(model, raw, work / "version")
    if format == "onnx":
        from lepton_lab.core.export import onnx

        target = work / layout.MODEL_FILES["onnx"]
        target.write_bytes(onnx.convert(model, raw, quantize))
        return target
    from lepton_lab.core.export import tflite

    source = savedmodel.write(model, raw, work / "savedmodel")
    representative = None
    if quantize == "int8":
        count = data.count("train")
        positions = np.random.default_rng(0).choice(
            count, size=min(count, tflite.REPRESENTATIVE_EXAMPLES), replace=False
        )
        representative, _ = raw_examples(data, "train", np.sort(positions))
    target = work / layout.MODEL_FILES["tflite"]
    target.write_bytes(tflite.convert(source, quantize, representative, select_tf_ops=raw.dtype == "string"))
    shutil.rmtree(source)
    return target


def _distribution(data: Dataset) -> list[float]:
    counts = np.bincount(data.labels("train"), minlength=data.num_classes)
    total = max(int(counts.sum()), 1)
    return [round(int(count) / total, 6) for count in counts]


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def _keras_reference(keras_model: Any, data: Dataset) -> tuple[np.ndarray, np.ndarray, float]:
    """Return the Keras model's test-split classes (float inputs, as trained), the labels, its accuracy."""
    images, labels = data.arrays("test")
    if not len(labels):
        return np.zeros(0, np.int64), labels, 0.0
    probabilities = keras_model.predict(images, batch_size=KERAS_BATCH, verbose=0)
    classes = np.asarray(probabilities).argmax(axis=1)
    return classes, labels, float((classes == labels).mean())


def _verification(
    run: Run, keras_model: Any, data: Dataset, format: str, quantize: str, artefact: Path, verify: bool
) -> dict[str, Any]:
    from lepton_lab.core.export import verify as verification

    tolerance = layout.tolerance(quantize)
    if not verify:
        evaluation = run.evaluation
        return {
            "keras": {"test_accuracy": evaluation.accuracy if evaluation else None},
            "test_accuracy": None,
            "accuracy_change": None,
            "agreement": None,
            "examples": 0,
            "latency_ms": None,
            "latency_ms_per_example": None,
            "tolerance": tolerance,
            "within_tolerance": None,
            "warning": None,
        }
    keras_classes, labels, keras_accuracy = _keras_reference(keras_model, data)
    images, _ = raw_examples(data, "test")
    predict = _load(format, artefact)
    label = layout.export_dir_name(format, quantize)
    scored = verification.score(predict, images, labels, keras_classes, keras_accuracy, tolerance, label)
    return {"keras": {"test_accuracy": round(keras_accuracy, 6)}, **scored}


def _load(format: str, artefact: Path) -> Any:
    if format == "savedmodel":
        from lepton_lab.core.export import savedmodel

        return savedmodel.load(artefact)
    if format == "tflite":
        from lepton_lab.core.export import tflite

        return tflite.load(artefact)
    from lepton_lab.core.export import onnx

    return onnx.load(artefact)


def _publish(run: Run, work: Path, artefact: Path, manifest: dict[str, Any], label: str) -> dict[str, Any]:
    """Move a file export from ``work`` to ``exports/<label>/``, replacing an earlier one."""
    root = layout.exports_root(run.path)
    target = root / label
    manifest["path"] = f"{layout.EXPORTS_DIR}/{label}/{artefact.name}"
    staged = work / "staged"
    staged.mkdir()
    artefact.rename(staged / artefact.name)
    layout.write_json(staged / layout.MANIFEST, manifest)
    if target.exists():
        # Move the old export aside first so the swap is two renames, then drop it.
        old = work / "old"
        target.rename(old)
    staged.rename(target)
    return manifest


def _publish_savedmodel(run: Run, work: Path, manifest: dict[str, Any], name: str) -> dict[str, Any]:
    """Move a SavedModel from ``work`` to ``exports/savedmodel/<name>/<next version>/``."""
    name_dir = layout.exports_root(run.path) / "savedmodel" / name
    name_dir.mkdir(parents=True, exist_ok=True)
    version_dir = work / "version"
    while True:
        version = layout.next_version(name_dir)
        manifest["version"] = version
        manifest["path"] = f"{layout.EXPORTS_DIR}/savedmodel/{name}/{version}"
        layout.write_json(version_dir / layout.MANIFEST, manifest)
        try:
            version_dir.rename(name_dir / str(version))
        except OSError:
            if (name_dir / str(version)).exists():
                continue  # another export took this version number meanwhile: take the next
            raise
        break
    layout.write_json(name_dir.parent / layout.MANIFEST, manifest)
    return manifest
