"""Tests of the training input pipeline: folder images decoded by tf.data, input wait, runtime record.

Real TensorFlow on tiny data; nothing here depends on timing.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lepton_lab.cli.runs import cmd_show
from lepton_lab.core import datasets
from lepton_lab.core.datasets import pipeline
from lepton_lab.core.datasets.pipeline import InputOptions
from lepton_lab.core.run_store import load_run
from lepton_lab.core.rundir import RunDir
from lepton_lab.core.specs import JobSpec

keras = pytest.importorskip("keras")

from lepton_lab.core import runner  # noqa: E402  (after the keras skip)
from lepton_lab.core.callbacks.input_wait import FIELD, InputWaitCallback, InputWaitMeter  # noqa: E402


@pytest.fixture(scope="module")
def digit_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray]:
    """The first 300 digits as 8x8 greyscale PNG files, one folder per class."""
    from PIL import Image

    digits = datasets.load("digits")
    x = np.concatenate([digits.arrays(split)[0] for split in datasets.SPLITS])[:300]
    y = np.concatenate([digits.arrays(split)[1] for split in datasets.SPLITS])[:300]
    pixels = np.round(x[..., 0] * 255).astype(np.uint8)
    root = tmp_path_factory.mktemp("digits-folder")
    for index, (image, label) in enumerate(zip(pixels, y, strict=True)):
        folder = root / f"class_{label}"
        folder.mkdir(exist_ok=True)
        Image.fromarray(image, mode="L").save(folder / f"{index:04d}.png")
    return root, pixels, y


def _collect(data: Any) -> tuple[np.ndarray, np.ndarray]:
    images, labels = zip(*((x.numpy(), y.numpy()) for x, y in data), strict=True)
    return np.concatenate(images), np.concatenate(labels)


@pytest.mark.parametrize(
    "options",
    [
        InputOptions(),
        InputOptions(parallel_map=False, prefetch=0),
        InputOptions(cache="memory"),
        InputOptions(cache="disk"),
    ],
    ids=["parallel", "sequential", "memory-cache", "disk-cache"],
)
def test_folder_pipeline_yields_the_images_and_labels_of_the_in_memory_path(
    digit_folder: tuple[Path, np.ndarray, np.ndarray], options: InputOptions, tmp_path: Path
) -> None:
    root, _, _ = digit_folder
    data = datasets.load(f"folder:{root}", image_size=8)
    if options.cache == "disk":
        options = InputOptions(cache="disk", cache_dir=tmp_path / "cache")
    for split in datasets.SPLITS:
        expected_images, expected_labels = data.arrays(split)  # Pillow, page by page
        for _ in range(2):  # the second pass reads the cache, if any
            images, labels = _collect(pipeline.batches(data, split, 32, shuffle=False, options=options))
            np.testing.assert_array_equal(images, expected_images)
            np.testing.assert_array_equal(labels, expected_labels)
    if options.cache == "disk":
        assert any((tmp_path / "cache").iterdir())


def test_folder_training_batches_are_a_seeded_shuffle_of_the_split(
    digit_folder: tuple[Path, np.ndarray, np.ndarray],
) -> None:
    root, _, _ = digit_folder
    data = datasets.load(f"folder:{root}", image_size=8)
    expected_images, expected_labels = data.arrays("train")
    first = _collect(pipeline.batches(data, "train", 16, shuffle=True, seed=3))
    again = _collect(pipeline.batches(data, "train", 16, shuffle=True, seed=3))
    np.testing.assert_array_equal(first[0], again[0])
    assert not np.array_equal(first[1], expected_labels)  # shuffled
    order = np.lexsort(first[0].reshape(len(first[0]), -1).T)
    expected_order = np.lexsort(expected_images.reshape(len(expected_images), -1).T)
    np.testing.assert_array_equal(first[0][order], expected_images[expected_order])


@pytest.mark.parametrize("cache", ["memory", "disk", "none"])
def test_folder_training_batches_match_the_in_memory_path_epoch_by_epoch(
    digit_folder: tuple[Path, np.ndarray, np.ndarray], cache: str, tmp_path: Path
) -> None:
    # The memory cache gathers by shuffled index like the in-memory path: the same seed gives the
    # very same batches, every epoch (the first decodes files, later ones read the cache), and
    # each epoch is a new order. The disk cache and no cache shuffle otherwise: same examples.
    root, _, _ = digit_folder
    data = datasets.load(f"folder:{root}", image_size=8)
    rows = data._rows("train")
    pixels, scale = data._store.raw(rows)  # Pillow's pixels, as the in-memory path holds them
    labels = data._labels[rows].astype(np.int32)
    options = InputOptions(cache=cache, cache_dir=tmp_path / "cache")
    folder = pipeline.batches(data, "train", 16, shuffle=True, seed=7, options=options)
    memory = pipeline._gathered_batches(pixels, labels, 16, True, 7)
    orders = []
    for _epoch in range(3):
        images, got_labels = _collect(folder)
        expected_pixels, expected_labels = _collect(memory)
        expected_images = expected_pixels.astype(np.float32) * np.float32(scale)
        if cache != "memory":  # compare as multisets of (image, label)
            images, got_labels = _sorted_examples(images, got_labels)
            expected_images, expected_labels = _sorted_examples(expected_images, expected_labels)
        else:
            orders.append(got_labels.tolist())
        np.testing.assert_allclose(images, expected_images, rtol=0, atol=1e-7)
        np.testing.assert_array_equal(got_labels, expected_labels)
    if cache == "memory":
        assert orders[0] != orders[1] and orders[1] != orders[2]  # reshuffled every epoch


def test_the_memory_cache_decodes_each_file_once_before_training(tmp_path: Path) -> None:
    # Decoded into the dataset's store when the pipeline is built: epochs read no files (they may
    # vanish), and a second pipeline (the probe's, then the run's) decodes nothing again.
    from PIL import Image

    root = tmp_path / "folder"
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (40, 8, 8), dtype=np.uint8)
    for index, image in enumerate(pixels):
        (root / f"c{index % 2}").mkdir(parents=True, exist_ok=True)
        Image.fromarray(image, mode="L").save(root / f"c{index % 2}" / f"{index:02d}.png")
    data = datasets.load(f"folder:{root}", image_size=8, validation_split=0.0)
    rows, store = data._rows("train"), data._store
    assert isinstance(store, pipeline.FolderStore)
    pillow = np.stack([np.asarray(Image.open(store.paths[row])) for row in rows])
    assert not store.ready.any()
    first = pipeline.batches(data, "train", 8, seed=1, options=InputOptions(cache="memory"))
    assert store.ready[rows].all()
    for path in root.rglob("*.png"):
        path.unlink()
    second = pipeline.batches(data, "train", 8, seed=1, options=InputOptions(cache="memory"))
    for _epoch in range(2):
        images, labels = _collect(first)
        again = _collect(second)
        np.testing.assert_array_equal(images, again[0])
        np.testing.assert_array_equal(labels, again[1])
    expected = _sorted_examples(
        pillow[..., None].astype(np.float32) / 255, data._labels[rows].astype(np.int32)
    )
    np.testing.assert_allclose(_sorted_examples(images, labels)[0], expected[0], atol=1e-6)
    np.testing.assert_array_equal(_sorted_examples(images, labels)[1], expected[1])


def _sorted_examples(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.lexsort((*images.reshape(len(images), -1).T, labels))
    return images[order], labels[order]


def test_in_memory_pipeline_gathers_the_same_examples_as_the_arrays() -> None:
    data = datasets.load("digits", subset=200)
    for split in datasets.SPLITS:
        images, labels = _collect(data.as_tf_data(split, 17, shuffle=False))
        expected_images, expected_labels = data.arrays(split)
        np.testing.assert_allclose(images, expected_images, rtol=0, atol=1e-7)
        np.testing.assert_array_equal(labels, expected_labels)
    shuffled = _collect(data.as_tf_data("train", 17, shuffle=True, seed=5))
    assert sorted(shuffled[1].tolist()) == sorted(data.labels("train").tolist())


@pytest.mark.parametrize(
    "converted_bytes", [pipeline.CONVERTED_BYTES, 0], ids=["converted-once", "per-batch"]
)
def test_training_batches_are_the_gathered_batches_epoch_by_epoch(
    converted_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Converting once and shuffling the examples must give the very batches of the per-batch
    # gather (the same seeded order, the same float32 values), and a new order every epoch.
    monkeypatch.setattr(pipeline, "CONVERTED_BYTES", converted_bytes)
    data = datasets.load("digits", subset=300)
    rows = data._rows("train")
    pixels, scale = data._store.raw(rows)
    labels = data._labels[rows].astype(np.int32)
    batches = pipeline.batches(data, "train", 17, shuffle=True, seed=5)
    gathered = pipeline._gathered_batches(pixels, labels, 17, True, 5)
    orders = []
    for _epoch in range(3):
        got = [(x.numpy(), y.numpy()) for x, y in batches]
        expected = [(x.numpy(), y.numpy()) for x, y in gathered]
        assert [len(y) for _, y in got] == [len(y) for _, y in expected]
        for (images, got_labels), (expected_pixels, expected_labels) in zip(got, expected, strict=True):
            assert images.dtype == np.float32
            np.testing.assert_array_equal(images, expected_pixels.astype(np.float32) * np.float32(scale))
            np.testing.assert_array_equal(got_labels, expected_labels)
        orders.append(np.concatenate([y for _, y in got]).tolist())
    assert orders[0] != orders[1] and orders[1] != orders[2]  # reshuffled every epoch


def test_instrumented_pipeline_yields_the_same_batches_and_counts_waits() -> None:
    data = datasets.load("digits", subset=100)
    plain = _collect(data.as_tf_data("validation", 8, shuffle=False))
    meter = InputWaitMeter()
    counted = _collect(meter.instrument(data.as_tf_data("validation", 8, shuffle=False)))
    np.testing.assert_array_equal(plain[0], counted[0])
    np.testing.assert_array_equal(plain[1], counted[1])
    assert meter.seconds() >= 0.0


def test_input_wait_callback_adds_the_epochs_wait_to_its_logs() -> None:
    class FakeMeter:
        value = 1.5

        def seconds(self) -> float:
            return self.value

    meter = FakeMeter()
    callback = InputWaitCallback(meter)  # type: ignore[arg-type]
    callback.on_epoch_begin(0)
    meter.value = 2.25
    logs: dict[str, float] = {"loss": 0.5}
    callback.on_epoch_end(0, logs)
    assert logs == {"loss": 0.5, FIELD: 0.75}


def _spec(**runtime: Any) -> JobSpec:
    return JobSpec.model_validate(
        {
            "name": "probe",
            "dataset": {"name": "digits", "subset": 300},
            "model": {"preset": "mlp"},
            "train": {"epochs": 1, "batch_size": 32, "runtime": runtime},
        }
    )


def test_a_probed_run_records_candidates_and_the_next_run_reuses_the_choice(tmp_path: Path) -> None:
    # Pins keep the probe short (two dimensions left to measure) and show pins hold in a real run.
    pinned = {"precision": "float32", "jit_compile": False, "prefetch": "auto"}
    first_dir = RunDir.create(tmp_path, _spec(probe="always", **pinned))
    assert runner.run(first_dir.read_spec(), first_dir)["status"] == "completed"
    document = json.loads(first_dir.spec_path.read_text(), parse_constant=lambda name: pytest.fail(name))
    runtime = document["runtime"]  # strict JSON: no Infinity or NaN for a browser to choke on
    policy = runtime["policy"]
    assert policy["source"] == "measured" and policy["probe_s"] > 0
    assert {"jit_compile", "precision", "prefetch"} <= set(policy["pinned"])
    measured = [c for c in policy["candidates"] if c["step_ms"] is not None]
    settings = [c["settings"] for c in measured]
    keras_defaults = {"precision": "float32", "steps_per_execution": 1, "jit_compile": False}
    assert {**keras_defaults, "parallel_map": False, "prefetch": "auto"} in settings  # as the pins allow
    assert len({json.dumps(s, sort_keys=True) for s in settings}) == len(settings) >= 4
    assert all(
        c["settings"]["precision"] == "float32" and c["settings"]["jit_compile"] is False for c in measured
    )
    (chosen,) = [c for c in policy["candidates"] if c["chosen"]]
    assert chosen["settings"]["steps_per_execution"] == runtime["steps_per_execution"]
    assert runtime["precision"] == "float32" and runtime["jit_compile"] is False
    assert load_run(first_dir.path).spec_document["runtime"] == runtime  # the block round-trips
    assert "runtime (measured)" in first_dir.worker_log_path.read_text()
    shown = io.StringIO()
    assert cmd_show(str(first_dir.path), str(tmp_path), stream=shown) == 0
    text = shown.getvalue()
    assert "runtime   cpu · steps/execution" in text and "chosen    measured" in text
    assert text.count("ms/step") == len(measured) and "<- chosen" in text and "input_wait_s" in text

    second_dir = RunDir.create(tmp_path, _spec(**pinned))
    assert runner.run(second_dir.read_spec(), second_dir)["status"] == "completed"
    second = second_dir.read_spec_document()["runtime"]
    assert second["policy"]["source"] == "cache"
    assert second["steps_per_execution"] == runtime["steps_per_execution"]
    assert second["tf_data"] == runtime["tf_data"]


def test_a_folder_run_decodes_into_memory_once_says_so_and_reports_its_input_wait(
    digit_folder: tuple[Path, np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    from lepton_lab.core.events import read_events

    root, _, _ = digit_folder
    spec = JobSpec.model_validate(
        {
            "name": "folder",
            "dataset": {"name": f"folder:{root}", "image_size": 8},
            "model": {"preset": "mlp"},
            "train": {"epochs": 2, "batch_size": 32, "runtime": {"probe": "never"}},
        }
    )
    run_dir = RunDir.create(tmp_path, spec)
    assert runner.run(spec, run_dir)["status"] == "completed"
    assert run_dir.read_spec_document()["runtime"]["tf_data"]["cache"] == "memory"
    events = read_events(run_dir.events_path)[0]
    train_count = run_dir.read_spec_document()["runtime"]["examples"]["train"]
    logs = [e["message"] for e in events if e["type"] == "log"]
    assert any(f"decoded the {train_count} training images into memory in" in m for m in logs), logs
    epochs = [e for e in events if e["type"] == "epoch"]
    assert len(epochs) == 2 and all(e["metrics"][FIELD] >= 0 for e in epochs)
