"""Exporting a run's model (``lepton_lab.core.export``, ``run.export``, ``lepton-lab export-model``).

Each format is loaded back in its own runtime (TensorFlow, the TFLite interpreter, onnxruntime)
and scored on the run's test split. Models are tiny and trained for one epoch, once per module:
the assertions are about the exports agreeing with their Keras model, not about accuracy.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lepton_lab.cli import export_model as cli_export_model
from lepton_lab.cli import main as cli_main
from lepton_lab.core import dataset_files, datasets
from lepton_lab.core.export import (
    ExportError,
    check_options,
    export_model,
    list_exports,
    savedmodel_dir,
    verify,
)
from lepton_lab.core.export.layout import QUANTIZE_BY_FORMAT, safe_name
from lepton_lab.core.run_store import Run

REPO = Path(__file__).resolve().parent.parent

#: Every (format, quantize) combination an export offers.
COMBINATIONS = [(fmt, q) for fmt, modes in QUANTIZE_BY_FORMAT.items() for q in modes]
#: Quantizations that keep float weights: these must agree with the Keras model on >= 99 %.
FLOAT = ("none", "float16")

#: The keys of export.json (docs: /work/helpers/DEPLOY.md section 1).
MANIFEST_KEYS = {
    "format", "quantize", "path", "created", "run_id", "name", "input", "classes", "training_distribution",
    "size_bytes", "keras",
    "test_accuracy", "accuracy_change", "agreement", "examples", "latency_ms", "latency_ms_per_example",
    "tolerance", "within_tolerance", "warning",
}  # fmt: skip

#: Tests that train a model (one epoch, small; shared through module fixtures where they can be).
slow = pytest.mark.slow

fashion_available = pytest.mark.skipif(
    dataset_files.find("fashion_mnist") is None,
    reason="Fashion-MNIST is not on this machine (CI installs Debian's dataset-fashion-mnist)",
)


def _train(runs_dir: Path, name: str, dataset: dict[str, Any], train: dict[str, Any]) -> Run:
    from lepton_lab.core.runner import train as train_run

    run = train_run(dataset=dataset, model="small_cnn", train=train, runs_dir=runs_dir, name=name)
    assert run.status["status"] == "completed", run.status
    return run


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    # The runner's own precision choice (mixed_bfloat16 on CPUs with it): exports rebuild in float32.
    return _train(
        tmp_path_factory.mktemp("runs"),
        "Digits CNN!",
        {"name": "digits"},
        {"epochs": 1, "learning_rate": 0.003},
    )


@pytest.fixture(scope="module")
def fashion_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _train(
        tmp_path_factory.mktemp("runs"),
        "fashion",
        {"name": "fashion_mnist", "subset": 1000},
        {"epochs": 1, "learning_rate": 0.003, "mixed_precision": False},
    )


def _check_round_trip(run: Run, result: dict[str, Any], fmt: str, quantize: str) -> None:
    assert set(result) == MANIFEST_KEYS | ({"version"} if fmt == "savedmodel" else set())
    assert (result["format"], result["quantize"], result["run_id"]) == (fmt, quantize, run.id)
    artefact = run.path / result["path"]
    assert artefact.exists()
    size = (
        sum(p.stat().st_size for p in artefact.rglob("*") if p.is_file() and p.name != "export.json")
        if artefact.is_dir()
        else (artefact.stat().st_size)
    )
    assert result["size_bytes"] == size > 0
    dataset = datasets.load(run.spec.dataset)
    assert result["classes"] == dataset.class_names
    counts = np.bincount(dataset.labels("train"), minlength=10)
    assert result["training_distribution"] == pytest.approx((counts / counts.sum()).tolist(), abs=1e-6)
    assert result["examples"] == dataset.count("test") > 0
    assert result["input"]["dtype"] == "uint8" and result["input"]["shape"] == [None, *dataset.input_shape]
    assert result["keras"]["test_accuracy"] == pytest.approx(run.evaluation.accuracy, abs=1e-6)
    assert result["accuracy_change"] == pytest.approx(
        result["test_accuracy"] - result["keras"]["test_accuracy"], abs=1e-5
    )
    assert result["tolerance"] == (0.03 if quantize == "int8" else 0.01)
    assert result["within_tolerance"] == (abs(result["accuracy_change"]) <= result["tolerance"])
    assert (result["warning"] is None) == result["within_tolerance"]
    assert set(result["latency_ms"]) == {"batch_1", "batch_32"} and min(result["latency_ms"].values()) > 0
    if quantize in FLOAT:
        assert result["agreement"] >= 0.99, result
    else:  # quantized: the change is what the export reports; it must still mostly agree
        assert result["agreement"] >= 0.8, result
    on_disk = json.loads(
        (artefact if artefact.is_dir() else artefact.parent).joinpath("export.json").read_text()
    )
    assert on_disk == result


@slow
@pytest.mark.parametrize(("fmt", "quantize"), COMBINATIONS)
def test_every_format_round_trips_on_digits(digits_run: Run, fmt: str, quantize: str) -> None:
    result = digits_run.export(format=fmt, quantize=quantize)
    _check_round_trip(digits_run, result, fmt, quantize)
    # Digits are stored as 0..16 counts: the export takes them raw and scales by 1/16 inside.
    assert result["input"] == {"shape": [None, 8, 8, 1], "dtype": "uint8", "scale": 0.0625}
    print(f"digits {fmt}-{quantize}: {json.dumps({k: result[k] for k in ('size_bytes', 'accuracy_change')})}")


@slow
@fashion_available
@pytest.mark.parametrize(("fmt", "quantize"), COMBINATIONS)
def test_every_format_round_trips_on_a_fashion_mnist_subset(
    fashion_run: Run, fmt: str, quantize: str
) -> None:
    result = export_model(fashion_run, fmt, quantize)
    _check_round_trip(fashion_run, result, fmt, quantize)
    assert result["input"] == {"shape": [None, 28, 28, 1], "dtype": "uint8", "scale": pytest.approx(1 / 255)}


@slow
def test_savedmodel_signature_takes_raw_uint8_and_refuses_floats(digits_run: Run) -> None:
    from lepton_lab.core.export.graph import float32_model
    from lepton_lab.core.export.inputs import raw_examples
    from lepton_lab.core.tf_import import tf

    result = export_model(digits_run, "savedmodel", name="raw-check")
    signature = tf.saved_model.load(str(digits_run.path / result["path"])).signatures["serving_default"]
    (spec,) = signature.structured_input_signature[1].values()
    assert (spec.name, spec.dtype, spec.shape.as_list()) == ("images", tf.uint8, [None, 8, 8, 1])
    assert set(signature.structured_outputs) == {"probabilities", "classes"}

    dataset = datasets.load(digits_run.spec.dataset)
    raw, scale = raw_examples(dataset, "test")
    assert raw.dtype == np.uint8 and raw.max() == 16 and scale == 1 / 16
    out = signature(images=tf.constant(raw))
    scaled, _ = dataset.arrays("test")
    expected = float32_model(digits_run.load_model()).predict(scaled, verbose=0)
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, atol=1e-5)
    assert out["classes"].dtype == tf.int64
    np.testing.assert_array_equal(out["classes"].numpy(), expected.argmax(axis=1))

    with pytest.raises(tf.errors.InvalidArgumentError, match="uint8"):
        signature(images=tf.constant(scaled))  # already-scaled floats are refused, not rescaled


@slow
def test_savedmodel_versions_names_and_listing(digits_run: Run) -> None:
    first = export_model(digits_run, "savedmodel", name="versioned", verify=False)
    second = export_model(digits_run, "savedmodel", name="versioned", verify=False)
    assert (first["version"], second["version"]) == (1, 2)
    assert second["path"] == "exports/savedmodel/versioned/2"
    assert savedmodel_dir(digits_run, "versioned") == digits_run.path / "exports" / "savedmodel" / "versioned"
    assert sorted(p.name for p in savedmodel_dir(digits_run, "versioned").iterdir()) == ["1", "2"]
    # The latest SavedModel export names the default directory.
    assert savedmodel_dir(digits_run) == savedmodel_dir(digits_run, "versioned")
    assert json.loads((digits_run.path / "exports" / "savedmodel" / "export.json").read_text()) == second
    listed = [(e["format"], e["path"]) for e in list_exports(digits_run)]
    assert ("savedmodel", first["path"]) in listed and ("savedmodel", second["path"]) in listed
    assert list_exports(digits_run) == digits_run.exports()
    # Without verification the scoring fields are empty and say so.
    assert second["test_accuracy"] is None and second["within_tolerance"] is None and second["examples"] == 0
    assert safe_name("Digits CNN!") == "digits-cnn"

    with pytest.raises(FileNotFoundError, match="--format savedmodel"):
        savedmodel_dir(digits_run, "never-exported")
    with pytest.raises(ExportError, match="a-z, 0-9"):
        export_model(digits_run, "savedmodel", name="Bad Name")


@pytest.mark.parametrize(
    ("fmt", "quantize", "message"),
    [
        ("savedmodel", "int8", "--format tflite"),
        ("savedmodel", "float16", "--format tflite"),
        ("onnx", "int8", "--format tflite"),
        ("onnx", "float16", "--format tflite"),
        ("tensorrt", "none", "use one of savedmodel, tflite, onnx"),
        ("tflite", "int4", "use one of none, float16, dynamic, int8"),
    ],
)
def test_bad_format_and_quantize_combinations_get_clear_errors(fmt: str, quantize: str, message: str) -> None:
    with pytest.raises(ExportError, match=message):
        check_options(fmt, quantize)


@pytest.fixture
def untrained_run(tmp_path: Path) -> Run:
    from lepton_lab.core.rundir import RunDir
    from lepton_lab.core.specs import JobSpec

    return Run(RunDir.create(tmp_path, JobSpec.model_validate({"dataset": {"name": "digits"}})).path)


def test_cli_refuses_a_bad_combination_an_unknown_run_and_a_run_without_a_model(untrained_run: Run) -> None:
    errors = io.StringIO()
    code = cli_export_model.cmd_export_model(str(untrained_run.path), "savedmodel", "int8", errors=errors)
    assert code == 2
    assert "does not offer quantize='int8'" in errors.getvalue() and "--format tflite" in errors.getvalue()
    assert (
        cli_main(["export-model", "no-such-run", "--format", "tflite", "--runs-dir", str(untrained_run.path)])
        == 2
    )
    errors = io.StringIO()
    assert cli_export_model.cmd_export_model(str(untrained_run.path), "tflite", errors=errors) == 2
    assert "has no model.keras" in errors.getvalue() and "completed training" in errors.getvalue()


def test_an_export_beyond_tolerance_warns_loudly(monkeypatch: pytest.MonkeyPatch, untrained_run: Run) -> None:
    # The scoring: an export that always answers class 0 is far off the Keras model.
    labels = np.arange(100) % 10
    ticks = iter(np.arange(0, 1000, 0.002))  # each clock read 2 ms after the last: 2 ms per call

    def always_zero(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.eye(10, dtype=np.float32)[np.zeros(len(batch), int)], np.zeros(len(batch), np.int64)

    scored = verify.score(
        always_zero, np.zeros((100, 8, 8, 1), np.uint8), labels, labels, 1.0, 0.03, "tflite-int8",
        clock=lambda: float(next(ticks)),
    )  # fmt: skip
    assert scored["test_accuracy"] == 0.1 and scored["agreement"] == 0.1
    assert scored["within_tolerance"] is False
    assert "tflite-int8 dropped test accuracy by 90.0 points" in scored["warning"]
    assert scored["latency_ms"] == {"batch_1": 2.0, "batch_32": 2.0}
    assert scored["latency_ms_per_example"] == {"batch_1": 2.0, "batch_32": 0.0625}

    # The CLI prints it on standard error, the table on standard output, and still succeeds.
    fake = {
        "path": "exports/tflite-int8/model.tflite",
        "input": {"shape": [None, 8, 8, 1], "dtype": "uint8", "scale": 0.0625},
        "size_bytes": 65_000,
        "keras": {"test_accuracy": 1.0},
        **scored,
    }
    monkeypatch.setattr("lepton_lab.core.export.export_model", lambda *args, **kwargs: fake)
    out, err = io.StringIO(), io.StringIO()
    assert (
        cli_export_model.cmd_export_model(str(untrained_run.path), "tflite", "int8", stream=out, errors=err)
        == 0
    )
    assert f"WARNING: {scored['warning']}" in err.getvalue()
    assert "agreement with keras" in out.getvalue() and "10.00 %" in out.getvalue()


@slow
def test_cli_and_module_end_to_end_in_their_own_processes(digits_run: Run) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cli = subprocess.run(
        [sys.executable, "-m", "lepton_lab.cli", "export-model", digits_run.id, "--format", "onnx",
         "--quantize", "dynamic", "--runs-dir", str(digits_run.path.parent)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr[-3000:]
    assert cli.stdout.lstrip().startswith("path") and "exports/onnx-dynamic/model.onnx" in cli.stdout
    assert "agreement with keras" in cli.stdout
    written = json.loads((digits_run.path / "exports" / "onnx-dynamic" / "export.json").read_text())
    assert written["quantize"] == "dynamic"

    # What the server's export route runs: standard output is the export.json and nothing else, even
    # while the int8 calibrator and the LiteRT interpreter print from C++.
    module = subprocess.run(
        [sys.executable, "-m", "lepton_lab.core.export", str(digits_run.path), "--format", "tflite",
         "--quantize", "int8"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert module.returncode == 0, module.stderr[-3000:]
    printed = json.loads(module.stdout)
    assert printed == json.loads((digits_run.path / "exports" / "tflite-int8" / "export.json").read_text())
    bad = subprocess.run(
        [sys.executable, "-m", "lepton_lab.core.export", str(digits_run.path), "--format", "onnx",
         "--quantize", "int8"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and bad.stdout == "" and "--format tflite" in bad.stderr


def test_importing_the_exporter_and_starting_the_cli_load_no_tensorflow() -> None:
    code = (
        "import sys, lepton_lab, lepton_lab.core.export, lepton_lab.cli\n"
        "lepton_lab.cli.build_parser()\n"
        "from lepton_lab.core.export import list_exports, savedmodel_dir\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf2onnx')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.strip() == "[]"


@slow
def test_a_dataset_loaded_at_another_size_is_resized_inside_the_export(tmp_path: Path) -> None:
    from lepton_lab.core.runner import train as train_run

    run = train_run(
        dataset={"name": "digits", "image_size": 12, "subset": 400},
        model="mlp",
        train={"epochs": 1, "mixed_precision": False},
        runs_dir=tmp_path,
    )
    result = run.export("tflite")
    # The export takes the stored 8x8 counts; scaling and the bilinear resize to 12x12 are inside.
    assert result["input"] == {
        "shape": [None, 8, 8, 1],
        "dtype": "uint8",
        "scale": 0.0625,
        "resize": [12, 12],
    }
    assert result["agreement"] >= 0.99 and result["within_tolerance"]


@slow
def test_a_run_on_notebook_arrays_exports_with_its_dataset_passed_in(tmp_path: Path) -> None:
    from lepton_lab.core.runner import train as train_run

    digits = datasets.load("digits")
    images, labels = digits.arrays("train")  # float32 in [0, 1]: stored as floats, taken as floats
    data = datasets.from_arrays(images[:600], labels[:600], class_names=digits.class_names)
    run = train_run(
        dataset=data, model="mlp", train={"epochs": 1, "mixed_precision": False}, runs_dir=tmp_path
    )
    with pytest.raises(ExportError, match=r"dataset=ll\.datasets\.from_arrays"):
        run.export("onnx")
    result = run.export("onnx", dataset=data)
    assert result["input"] == {"shape": [None, 8, 8, 1], "dtype": "float32", "scale": 1.0}
    assert result["agreement"] >= 0.99 and result["examples"] == data.count("test")


# -- text runs: raw strings in ------------------------------------------------------------------


@pytest.fixture(scope="module")
def text_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    from lepton_lab.core.datasets import fortunes
    from lepton_lab.core.runner import train as train_run

    if fortunes.missing_packages("fortunes_languages"):
        pytest.skip("the fortunes packages are not installed (make system-deps)")
    run = train_run(
        dataset={"name": "fortunes_languages", "subset": 400},
        model="text_cnn",
        train={"epochs": 1, "batch_size": 16, "runtime": {"probe": "never"}},
        runs_dir=tmp_path_factory.mktemp("runs"),
        name="languages",
    )
    assert run.status["status"] == "completed", run.status
    return run


@slow
def test_a_text_savedmodel_takes_raw_strings_and_returns_probabilities_and_classes(text_run: Run) -> None:
    from lepton_lab.core.tf_import import tf

    result = text_run.export("savedmodel")
    assert result["input"] == {"shape": [None], "dtype": "string", "scale": 1.0}
    dataset = datasets.load(text_run.spec.dataset)
    assert result["examples"] == dataset.count("test") > 0 and result["classes"] == dataset.class_names
    assert result["agreement"] >= 0.99 and result["within_tolerance"], result
    assert result["keras"]["test_accuracy"] == pytest.approx(text_run.evaluation.accuracy, abs=1e-6)

    signature = tf.saved_model.load(str(text_run.path / result["path"])).signatures["serving_default"]
    (spec,) = signature.structured_input_signature[1].values()
    assert (spec.name, spec.dtype, spec.shape.as_list()) == ("text", tf.string, [None])
    texts, _ = dataset.arrays("test")
    out = signature(text=tf.constant(texts[:16]))
    expected = text_run.load_model().predict(texts[:16], verbose=0)
    assert out["probabilities"].shape == (16, dataset.num_classes)
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, atol=1e-4)
    np.testing.assert_array_equal(out["classes"].numpy(), out["probabilities"].numpy().argmax(axis=1))


@slow
def test_text_onnx_and_tflite_exports_are_refused_or_verified(text_run: Run) -> None:
    from lepton_lab.core.export import tflite

    with pytest.raises(ExportError, match=r"ONNX has no standard ops .* format='savedmodel'"):
        text_run.export("onnx")
    if not tflite.flex_available():  # TensorFlow >= 2.20's interpreter has no Flex delegate
        with pytest.raises(ExportError, match=r"Select TF ops \(the Flex delegate\).*format='savedmodel'"):
            text_run.export("tflite", quantize="dynamic")
    else:
        assert text_run.export("tflite")["agreement"] >= 0.99
        with pytest.raises(ExportError, match="use quantize='dynamic'"):
            text_run.export("tflite", quantize="int8")
    exports = text_run.path / "exports"
    assert not exports.exists() or all(p.name.startswith(("savedmodel", "tflite")) for p in exports.iterdir())


# -- what exporting prints --------------------------------------------------------------------------


def test_quiet_converters_drops_routine_native_lines_and_keeps_the_rest(
    capfd: pytest.CaptureFixture[str],
) -> None:
    import logging

    from lepton_lab.core.export.streams import quiet_converters

    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.INFO)  # as in a notebook kernel, where these lines were shown
    handler = logging.StreamHandler(sys.stderr)
    logger.addHandler(handler)
    try:
        with quiet_converters():
            os.write(1, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
            os.write(2, b"fully_quantize: 0, inference_type: 6\nW0000 00:00:1 helpers.cc:364] Ignored\n")
            os.write(2, b"E0000 00:00:1 kernel.cc:42] a real failure\n")
            logger.info("Assets written to: somewhere/assets")
        assert logger.level == logging.INFO
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    out, err = capfd.readouterr()
    assert out == ""
    assert err == "E0000 00:00:1 kernel.cc:42] a real failure\n"


@slow
def test_an_export_in_a_verbose_session_prints_nothing(
    digits_run: Run, capfd: pytest.CaptureFixture[str]
) -> None:
    import logging

    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        capfd.readouterr()
        digits_run.export("tflite", quantize="int8")
    finally:
        logger.setLevel(level)
    out, err = capfd.readouterr()
    assert "Assets written" not in err and "XNNPACK" not in err and "fully_quantize" not in err
    assert out == ""


@slow
def test_a_deployed_text_model_answers_tf_serving_instances_of_raw_strings(
    text_run: Run, tmp_path: Path
) -> None:
    import asyncio

    from lepton_lab.server import tf_serving
    from lepton_lab.server.model_registry import ModelRegistry

    exported = text_run.export("savedmodel", name="languages")
    texts = [
        "Der frühe Vogel fängt den Wurm.",
        "The early bird catches the worm.",
        "Chi dorme non piglia pesci.",
    ]
    expected = text_run.load_model().predict(np.array(texts, dtype=object), verbose=0)

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], str, str]:
        registry = ModelRegistry(tmp_path, None)
        await registry.start()
        try:
            await registry.deploy(export_dir=(text_run.path / exported["path"]).parent)
            spec = registry.input_spec("languages")
            rows = tf_serving.parse_predict_body({"instances": texts}, spec)
            named = tf_serving.parse_predict_body({"inputs": {"text": texts[:1]}}, spec)
            answer = tf_serving.format_predictions(
                await registry.predict("languages", rows.images), columnar=False
            )
            columns = tf_serving.format_predictions(
                await registry.predict("languages", named.images), columnar=True
            )
            with pytest.raises(tf_serving.PredictRequestError) as bad:
                tf_serving.parse_predict_body({"instances": ["ok", 7]}, spec)
            with pytest.raises(tf_serving.PredictRequestError) as unnamed:
                tf_serving.parse_predict_body({"instances": [{"images": "text"}]}, spec)
            return answer, columns, str(bad.value), str(unnamed.value)
        finally:
            await registry.stop()

    answer, columns, bad, unnamed = asyncio.run(scenario())
    assert [p["classes"] for p in answer["predictions"]] == expected.argmax(axis=1).tolist()
    np.testing.assert_allclose([p["probabilities"] for p in answer["predictions"]], expected, atol=1e-4)
    assert columns["outputs"]["classes"] == expected[:1].argmax(axis=1).tolist()
    assert bad == "instances[1] is number 7; expected a string per instance"
    assert "the model has one named input, 'text'" in unnamed
