"""Tests for lepton_lab.core.datasets: loading, splitting, paging and tf.data feeding."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import socket
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lepton_lab.core import dataset_files, datasets
from lepton_lab.core.datasets import builtin
from lepton_lab.core.progress import Progress
from lepton_lab.core.specs import DATASET_NAMES, DatasetSpec, SpecError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
COLOURS = {"blue": (0, 0, 255), "green": (0, 255, 0), "red": (255, 0, 0)}


@pytest.fixture
def offline_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No dataset files anywhere and no network: an empty Keras cache and system dir."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("LEPTON_LAB_SYSTEM_DATASETS", str(tmp_path / "system"))
    monkeypatch.setenv("LEPTON_LAB_OFFLINE", "1")
    return tmp_path


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """Three classes of solid-colour PNGs (odd sizes, so they must be resized) plus clutter."""
    from PIL import Image

    root = tmp_path / "pets"
    for name, colour in COLOURS.items():
        (root / name).mkdir(parents=True)
        for i in range(10):
            Image.new("RGB", (20 + i, 30), colour).save(root / name / f"{i:02d}.png")
    (root / "red" / "notes.txt").write_text("not an image")
    (root / "empty").mkdir()
    return root


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = (0x0800 + array.ndim).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as stream:
        stream.write(header + array.astype(np.uint8).tobytes())


def _fake_mnist_arrays(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (
        rng.integers(0, 256, (40, 28, 28), dtype=np.uint8),
        np.arange(40, dtype=np.uint8) % 10,
        rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        np.arange(20, dtype=np.uint8) % 10,
    )


# --- offline datasets ------------------------------------------------------------------------------


def test_digits_loads_all_1797_images_scaled_to_unit_range_and_split_by_class() -> None:
    ds = datasets.load("digits")
    assert (ds.name, ds.kind, ds.input_shape, ds.num_classes) == ("digits", "image", (8, 8, 1), 10)
    assert ds.class_names == [str(d) for d in range(10)]
    counts = ds.counts()
    assert list(counts.columns) == ["train", "validation", "test"]
    assert list(counts.index) == ds.class_names
    assert counts.to_numpy().sum() == 1797
    assert [ds.count(s) for s in ("train", "validation", "test")] == counts.sum().tolist()
    assert ds.count("test") == round(1797 * 0.2)
    # Stratified: every class is about equally represented in the test split.
    assert counts["test"].max() - counts["test"].min() <= 2
    images, labels = ds.arrays("test")
    assert images.dtype == np.float32 and images.shape == (ds.count("test"), 8, 8, 1)
    assert images.min() == 0.0 and images.max() == 1.0
    assert np.array_equal(labels, ds.labels("test"))


def test_shipped_digits_are_scikit_learns_load_digits_byte_for_byte() -> None:
    # scikit-learn is only a test dependency: the reference the shipped arrays were made from.
    from sklearn.datasets import load_digits

    reference = load_digits()
    with np.load(builtin.DIGITS_FILE) as stored:
        images, target = stored["images"], stored["target"]
    assert images.astype(np.float64).tobytes() == reference.images.tobytes()
    assert target.astype(np.int64).tobytes() == reference.target.tobytes()
    # Stored as the raw uint8 counts; what training sees is the old float32 scaling of
    # scikit-learn's arrays, unchanged, whether paged (numpy) or batched (tf.data's cast * scale).
    raw, labels = builtin._digits()
    assert raw.dtype == np.uint8 and np.array_equal(labels, reference.target)
    scaled = raw.astype(np.float32) * np.float32(builtin.DIGITS_SCALE)
    expected = (np.asarray(reference.images, dtype=np.float32) / 16.0)[..., None]
    assert scaled.tobytes() == expected.tobytes()


def test_splits_partition_the_examples_and_are_deterministic_for_a_seed() -> None:
    # Each image's first pixel encodes its row, so every example can be traced to its split.
    x = np.zeros((500, 4, 4), dtype=np.float32)
    x[:, 0, 0] = np.arange(500) / 500
    y = np.arange(500) % 5

    def rows(ds: datasets.Dataset, split: str) -> list[int]:
        return np.round(ds.arrays(split)[0][:, 0, 0, 0] * 500).astype(int).tolist()

    first = datasets.from_arrays(x, y, seed=0)
    parts = [rows(first, split) for split in datasets.SPLITS]
    assert sorted(parts[0] + parts[1] + parts[2]) == list(range(500))
    assert [len(part) for part in parts] == [320, 80, 100]
    assert rows(datasets.from_arrays(x, y, seed=0), "validation") == parts[1]
    assert rows(datasets.from_arrays(x, y, seed=1), "validation") != parts[1]
    assert np.array_equal(datasets.load("digits").labels("train"), datasets.load("digits").labels("train"))
    assert not np.array_equal(
        datasets.load("digits").labels("train"), datasets.load("digits", seed=7).labels("train")
    )


def test_dataset_spec_validation_split_and_subset_are_honoured() -> None:
    half = datasets.load(DatasetSpec(name="digits", validation_split=0.5))
    pool = half.count("train") + half.count("validation")
    assert half.count("validation") == round(pool * 0.5)

    small = datasets.load({"name": "digits", "validation_split": 0.5, "subset": 300})
    assert small.count("train") == 300
    per_class = small.counts()["train"]
    assert per_class.max() - per_class.min() <= 2  # still stratified
    # Validation and test shrink by the same factor as train.
    assert small.count("validation") == pytest.approx(
        half.count("validation") * 300 / half.count("train"), abs=1
    )
    assert small.count("test") < half.count("test")

    no_validation = datasets.load("digits", validation_split=0.0)
    assert no_validation.count("validation") == 0
    assert no_validation.page(0, 10, split="validation").images.shape == (0, 8, 8, 1)


def test_loaded_dataset_records_the_spec_that_rebuilds_it() -> None:
    ds = datasets.load("digits", subset=120, seed=4, validation_split=0.3)
    assert ds.spec == DatasetSpec(name="digits", subset=120, seed=4, validation_split=0.3)
    rebuilt = datasets.load(ds.spec)
    assert np.array_equal(rebuilt.arrays("train")[0], ds.arrays("train")[0])
    memory = datasets.from_arrays(np.zeros((20, 4, 4), np.uint8), np.arange(20) % 2, name="mine", seed=3)
    assert memory.spec.name == "memory:mine" and memory.spec.seed == 3
    with pytest.raises(ValueError, match="lives only in the kernel"):
        datasets.load(memory.spec)


def test_load_overrides_replace_spec_fields_and_bad_values_name_the_field() -> None:
    spec = DatasetSpec(name="digits", subset=100)
    assert datasets.load(spec, subset=50).count("train") == 50
    with pytest.raises(SpecError, match="validation_split"):
        datasets.load("digits", validation_split=1.5)
    with pytest.raises(SpecError, match="unknown dataset 'imagenet'"):
        datasets.load("imagenet")


def test_shapes_are_identical_for_the_same_seed_and_differ_for_another() -> None:
    first = datasets.load("shapes", image_size=16, count=200)
    again = datasets.load(DatasetSpec(name="shapes", image_size=16), count=200)
    other = datasets.load("shapes", image_size=16, count=200, seed=1)
    assert first.input_shape == (16, 16, 3) and first.num_classes >= 3
    assert sum(first.count(s) for s in datasets.SPLITS) == 200
    assert np.array_equal(first.arrays("train")[0], again.arrays("train")[0])
    assert not np.array_equal(first.arrays("train")[0], other.arrays("train")[0])
    counts = first.counts().sum(axis=1)
    assert counts.max() - counts.min() <= 1  # balanced classes
    images = first.arrays("test")[0]
    assert images.dtype == np.float32 and 0.0 <= images.min() and images.max() <= 1.0
    # Colour is random per image; the shape is drawn in a different colour than the background.
    assert images.std(axis=(1, 2, 3)).min() > 0.05


def test_shapes_default_to_32_pixels_and_3000_images() -> None:
    ds = datasets.load("shapes")
    assert ds.input_shape == (32, 32, 3)
    assert sum(ds.count(s) for s in datasets.SPLITS) == datasets.SHAPES_COUNT


def test_folder_dataset_reads_class_subfolders_and_resizes(image_folder: Path) -> None:
    ds = datasets.load(f"folder:{image_folder}", image_size=16, validation_split=0.25)
    assert ds.class_names == ["blue", "green", "red"]  # the empty folder and the .txt are ignored
    assert ds.input_shape == (16, 16, 3)
    assert sum(ds.count(s) for s in datasets.SPLITS) == 30
    images, labels = ds.arrays("train")
    assert images.shape[1:] == (16, 16, 3)
    for image, label in zip(images, labels, strict=True):
        expected = np.array(COLOURS[ds.class_names[label]], dtype=np.float32) / 255
        assert np.allclose(image, expected), "each pixel shows its class's colour"


def test_folder_page_decodes_only_the_files_of_that_page(
    image_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[Path] = []
    real_decode = dataset_files.decode_image

    def counting_decode(path: Path, size: int, channels: int) -> np.ndarray:
        decoded.append(path)
        return real_decode(path, size, channels)

    monkeypatch.setattr(dataset_files, "decode_image", counting_decode)
    ds = datasets.load(f"folder:{image_folder}", image_size=8)
    page = ds.page(1, 4)
    assert len(decoded) == 4
    assert page.indices.tolist() == [4, 5, 6, 7]
    # The decoded files are exactly the page's examples: their colours match the page's labels.
    page_colours = sorted(tuple(np.round(image[0, 0] * 255).astype(int).tolist()) for image in page.images)
    assert sorted(COLOURS[path.parent.name] for path in decoded) == page_colours
    ds.page(1, 4)
    assert len(decoded) == 4, "a page seen before is not decoded again"


def test_folder_path_that_does_not_exist_is_rejected_with_the_expected_layout(tmp_path: Path) -> None:
    with pytest.raises(datasets.DatasetUnavailable, match=r"does not exist.*one subfolder per class"):
        datasets.load(f"folder:{tmp_path / 'nope'}")
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "a.txt").write_text("x")
    with pytest.raises(datasets.DatasetUnavailable, match="no class subfolders with images"):
        datasets.load(f"folder:{tmp_path / 'flat'}")


def test_greyscale_folder_images_give_one_channel(tmp_path: Path) -> None:
    from PIL import Image

    for name, value in (("dark", 10), ("light", 240)):
        (tmp_path / name).mkdir()
        for i in range(5):
            Image.new("L", (12, 12), value).save(tmp_path / name / f"{i}.png")
    ds = datasets.load(f"folder:{tmp_path}", image_size=12)
    assert ds.input_shape == (12, 12, 1)
    images, labels = ds.arrays("train")
    assert np.allclose(images[labels == 1], 240 / 255)


# --- paging ----------------------------------------------------------------------------------------


def test_page_returns_the_requested_slice_of_the_split() -> None:
    ds = datasets.load("digits")
    images, labels = ds.arrays("train")
    page = ds.page(2, 10)
    assert np.array_equal(page.images, images[20:30])
    assert np.array_equal(page.labels, labels[20:30])
    assert page.indices.tolist() == list(range(20, 30))
    last = ds.page(ds.page_count(10) - 1, 10)
    assert len(last) == ds.count("train") - 10 * (ds.page_count(10) - 1)
    beyond = ds.page(ds.page_count(10), 10)
    assert len(beyond) == 0 and beyond.images.shape == (0, 8, 8, 1)


def test_page_with_a_label_pages_through_that_class_only() -> None:
    ds = datasets.load("digits")
    labels = ds.labels("validation")
    sevens = np.flatnonzero(labels == 7)
    first = ds.page(0, 5, split="validation", label=7)
    second = ds.page(1, 5, split="validation", label=7)
    assert set(first.labels.tolist()) == {7} and set(second.labels.tolist()) == {7}
    assert first.indices.tolist() == sevens[:5].tolist()
    assert second.indices.tolist() == sevens[5:10].tolist()
    assert np.array_equal(first.images, ds.arrays("validation")[0][sevens[:5]])
    assert ds.page_count(5, split="validation", label=7) == -(-len(sevens) // 5)
    with pytest.raises(ValueError, match="label 10 is out of range"):
        ds.page(0, 5, label=10)
    with pytest.raises(ValueError, match="unknown split 'valid'"):
        ds.page(0, 5, split="valid")


def test_page_of_a_large_dataset_converts_only_that_page() -> None:
    pixels = np.zeros((60_000, 28, 28, 1), dtype=np.uint8)
    pixels[:, 0, 0, 0] = np.arange(60_000) % 251
    ds = datasets.from_arrays(pixels, np.arange(60_000) % 10, test_split=0.0, validation_split=0.0)
    tracemalloc.start()
    try:
        page = ds.page(900, 64)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Converting the whole split to float32 would take 188 MB; one page takes 200 kB.
    assert peak < 2_000_000
    assert page.indices.tolist() == list(range(900 * 64, 901 * 64))
    assert np.allclose(page.images[:, 0, 0, 0] * 255, page.indices % 251, atol=1e-3)


def test_sample_draws_distinct_examples_reproducibly() -> None:
    ds = datasets.load("digits")
    images, labels = ds.sample(12, seed=3)
    again, _ = ds.sample(12, seed=3)
    other, _ = ds.sample(12, seed=4)
    assert images.shape == (12, 8, 8, 1) and labels.shape == (12,)
    assert np.array_equal(images, again) and not np.array_equal(images, other)
    assert len(ds.sample(10_000, split="test")[1]) == ds.count("test")


# --- downloadable datasets -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["fashion_mnist", "mnist", "cifar10"])
def test_download_only_dataset_fails_offline_with_instructions(
    offline_machine: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[object] = []

    def no_network(address: object, *args: object, **kwargs: object) -> socket.socket:
        attempts.append(address)
        raise OSError("this test has no network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    with pytest.raises(datasets.DatasetUnavailable) as caught:
        datasets.load(name)
    assert attempts == []  # it said so at once, without trying (and waiting on) the network
    message = str(caught.value)
    assert message.startswith(f"{name} is not available offline.")
    assert str(offline_machine / "keras" / "datasets") in message
    if name == "fashion_mnist":
        assert "sudo apt-get install dataset-fashion-mnist" in message
        assert "train-images-idx3-ubyte.gz" in message
    entry = next(item for item in datasets.available() if item["name"] == name)
    assert entry["offline"] is False and entry["hint"] == message


def test_network_probe_gives_up_quickly_on_an_unreachable_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEPTON_LAB_OFFLINE", raising=False)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    assert dataset_files.is_online("127.0.0.1", closed_port, timeout=1.0) is False
    # A machine without DNS hangs in name resolution, which ignores socket timeouts: the probe
    # must stop waiting anyway (without that, this call would never return).
    hang = threading.Event()

    def unresolvable(*args: object, **kwargs: object) -> socket.socket:
        hang.wait()
        raise socket.gaierror("name resolution gave up")  # what the stuck lookup ends with

    with monkeypatch.context() as patched:
        patched.setattr(socket, "create_connection", unresolvable)
        assert dataset_files.is_online("pypi.org", timeout=0.1) is False
    hang.set()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert dataset_files.is_online("127.0.0.1", server.getsockname()[1]) is True
        monkeypatch.setenv("LEPTON_LAB_OFFLINE", "1")
        assert dataset_files.is_online("127.0.0.1", server.getsockname()[1]) is False


def test_fashion_mnist_is_read_from_idx_files_in_the_keras_cache(offline_machine: Path) -> None:
    x_train, y_train, x_test, y_test = _fake_mnist_arrays(seed=0)
    folder = offline_machine / "keras" / "datasets" / "fashion-mnist"
    folder.mkdir(parents=True)
    for name, array in zip(
        (
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
        ),
        (x_train, y_train, x_test, y_test),
        strict=True,
    ):
        _write_idx(folder / name, array)
    ds = datasets.load("fashion_mnist", validation_split=0.25)
    assert ds.source == str(folder)
    assert ds.class_names[:2] == ["T-shirt/top", "Trouser"] and ds.num_classes == 10
    assert (ds.count("train"), ds.count("validation"), ds.count("test")) == (30, 10, 20)
    test_images, test_labels = ds.arrays("test")  # the official test set, in file order
    assert np.allclose(test_images[..., 0] * 255, x_test, atol=1e-3)
    assert np.array_equal(test_labels, y_test)
    assert next(item for item in datasets.available() if item["name"] == "fashion_mnist")["offline"] is True


def test_mnist_npz_and_cifar_batches_in_the_keras_cache_are_read(offline_machine: Path) -> None:
    cache = offline_machine / "keras" / "datasets"
    cache.mkdir(parents=True)
    x_train, y_train, x_test, y_test = _fake_mnist_arrays(seed=1)
    np.savez(cache / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    mnist = datasets.load("mnist")
    assert mnist.input_shape == (28, 28, 1) and mnist.count("test") == 20
    assert np.allclose(mnist.arrays("test")[0][..., 0] * 255, x_test, atol=1e-3)

    batches = cache / "cifar-10-batches-py"
    batches.mkdir()
    rng = np.random.default_rng(2)
    for name in [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]:
        content = {b"data": rng.integers(0, 256, (10, 3072), dtype=np.uint8), b"labels": list(range(10))}
        (batches / name).write_bytes(pickle.dumps(content))
    test_content = pickle.loads((batches / "test_batch").read_bytes())
    cifar = datasets.load("cifar10")
    assert cifar.input_shape == (32, 32, 3) and cifar.class_names[0] == "airplane"
    assert (cifar.count("train") + cifar.count("validation"), cifar.count("test")) == (50, 10)
    first = cifar.arrays("test")[0][0]
    # CIFAR stores planes (RGB, each 32x32 row-major); we serve NHWC.
    expected = test_content[b"data"][0].reshape(3, 32, 32).transpose(1, 2, 0)
    assert np.allclose(first * 255, expected, atol=1e-3)


@pytest.mark.skipif(
    not (DEBIAN_FASHION / "train-images-idx3-ubyte.gz").exists(),
    reason="Debian package dataset-fashion-mnist is not installed (CI installs it)",
)
def test_fashion_mnist_loads_from_the_debian_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # ignore any copy in the real Keras cache
    monkeypatch.delenv("LEPTON_LAB_SYSTEM_DATASETS", raising=False)
    ds = datasets.load("fashion_mnist")
    assert ds.source == str(DEBIAN_FASHION)
    assert ds.input_shape == (28, 28, 1)
    assert ds.class_names == [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ]
    assert sum(ds.count(s) for s in datasets.SPLITS) == 70_000 and ds.count("test") == 10_000
    with gzip.open(DEBIAN_FASHION / "t10k-images-idx3-ubyte.gz") as stream:
        first_test_image = np.frombuffer(stream.read(), np.uint8, offset=16)[:784].reshape(28, 28)
    page = ds.page(0, 8, split="test")
    assert np.allclose(page.images[0, ..., 0] * 255, first_test_image, atol=1e-3)
    assert ds.counts()["test"].tolist() == [1000] * 10


# --- in-memory data --------------------------------------------------------------------------------


def test_load_accepts_an_array_pair_with_string_labels() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (50, 6, 6), dtype=np.uint8)
    y = np.array(["cat", "dog"] * 25)
    ds = datasets.load((x, y), seed=1)
    assert ds.kind == "image" and ds.input_shape == (6, 6, 1)
    assert ds.class_names == ["cat", "dog"] and ds.name == "memory:arrays"
    assert sum(ds.count(s) for s in datasets.SPLITS) == 50
    images, labels = ds.arrays("train")
    rows = [int(np.flatnonzero((x == np.round(image[..., 0] * 255)).all(axis=(1, 2)))[0]) for image in images]
    assert [y[row] for row in rows] == [ds.class_names[label] for label in labels]


def test_float_images_outside_unit_range_are_rejected_with_the_fix() -> None:
    with pytest.raises(ValueError, match=r"floats in \[0, 1\], e.g. x / 255"):
        datasets.from_arrays(np.full((10, 4, 4), 200.0), np.zeros(10, int))
    with pytest.raises(ValueError, match="x has 10 examples but y has 9 labels"):
        datasets.from_arrays(np.zeros((10, 4, 4)), np.zeros(9, int))


def test_dataframe_becomes_a_tabular_dataset_standardised_on_train_rows() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "length": rng.normal(50, 10, 120),
            "width": rng.normal(5, 1, 120),
            "colour": rng.choice(["red", "blue"], 120),
            "species": np.repeat(["a", "b", "c"], 40),
        }
    )
    ds = datasets.load(df, target="species")
    assert ds.kind == "tabular" and ds.class_names == ["a", "b", "c"]
    assert ds.input_shape == (4,)  # two numeric columns + one-hot colour
    assert ds.feature_names == ["length", "width", "colour_blue", "colour_red"]
    train, _ = ds.arrays("train")
    assert np.allclose(train[:, :2].mean(axis=0), 0, atol=1e-5)
    assert np.allclose(train[:, :2].std(axis=0), 1, atol=1e-4)
    frame = ds.to_frame("test")
    assert list(frame.columns) == list(df.columns) and len(frame) == ds.count("test")
    assert frame["species"].map({"a": 0, "b": 1, "c": 2}).tolist() == ds.labels("test").tolist()
    with pytest.raises(ValueError, match="target="):
        datasets.load(df)
    with pytest.raises(ValueError, match="target column 'kind' is not in the DataFrame"):
        datasets.load(df, target="kind")


def test_dataframe_of_only_numeric_features_loads_and_leaves_the_frame_unchanged() -> None:
    # Every feature a float column: pandas may hand out a read-only view of the frame's own block,
    # which standardising in place once refused ("assignment destination is read-only").
    df = pd.DataFrame({"size": np.arange(40.0), "weight": np.arange(40.0) ** 2, "kind": ["a", "b"] * 20})
    before = df.copy()
    ds = datasets.load(df, target="kind")
    train, _ = ds.arrays("train")
    assert np.allclose(train.mean(axis=0), 0, atol=1e-5)
    pd.testing.assert_frame_equal(df, before)


# --- tf.data -------------------------------------------------------------------------------------


def test_as_tf_data_yields_float_batches_with_int_labels_covering_the_split() -> None:
    ds = datasets.load("digits")
    batches = list(ds.as_tf_data("train", batch_size=32))
    assert batches[0][0].shape == (32, 8, 8, 1) and batches[0][0].dtype.name == "float32"
    assert batches[0][1].dtype.name == "int32"
    assert sum(len(labels) for _, labels in batches) == ds.count("train")
    seen = np.concatenate([labels.numpy() for _, labels in batches])
    assert not np.array_equal(seen, ds.labels("train")), "train batches are shuffled"
    assert np.array_equal(np.sort(seen), np.sort(ds.labels("train")))
    images = np.concatenate([x.numpy() for x, _ in ds.as_tf_data("validation", batch_size=50)])
    assert np.array_equal(images, ds.arrays("validation")[0]), "validation is neither shuffled nor changed"


def test_resized_batches_match_resized_pages() -> None:
    ds = datasets.load("digits", image_size=20)
    batch = next(iter(ds.as_tf_data("test", batch_size=16)))[0].numpy()
    assert batch.shape == (16, 20, 20, 1)
    assert np.allclose(batch, ds.page(0, 16, split="test").images, atol=1e-5)


def test_augment_is_applied_to_train_batches_only() -> None:
    ds = datasets.load("digits", subset=200)
    spec = {"ops": [{"op": "noise", "stddev": 0.2}]}

    def first_batch(split: str, augment: dict | None) -> np.ndarray:
        data = ds.as_tf_data(split, batch_size=64, augment=augment, shuffle=False)
        return next(iter(data))[0].numpy()

    plain, augmented = first_batch("train", None), first_batch("train", spec)
    assert np.abs(plain - augmented).mean() > 0.05
    assert augmented.min() >= 0.0 and augmented.max() <= 1.0
    assert np.array_equal(first_batch("validation", None), first_batch("validation", spec))
    assert np.array_equal(first_batch("test", None), first_batch("test", spec))


def test_augmented_training_data_is_reproducible_and_changes_every_epoch() -> None:
    ds = datasets.load("digits", subset=300)
    spec = {"ops": [{"op": "rotation", "factor": 0.2}, {"op": "crop", "fraction": 0.8}, {"op": "noise"}]}

    def two_epochs(seed: int) -> list[np.ndarray]:
        data = ds.as_tf_data("train", batch_size=16, augment=spec, seed=seed)
        return [np.concatenate([x.numpy() for x, _ in data]) for _ in range(2)]

    first, again, other = two_epochs(3), two_epochs(3), two_epochs(4)
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert not np.array_equal(first[0], first[1])
    assert not np.array_equal(first[0], other[0])


def test_folder_batches_show_the_same_pixels_as_pages(image_folder: Path) -> None:
    ds = datasets.load(f"folder:{image_folder}", image_size=10)
    batch = next(iter(ds.as_tf_data("validation", batch_size=64)))[0].numpy()
    assert batch.shape == (ds.count("validation"), 10, 10, 3)
    assert np.array_equal(batch, ds.page(0, 64, split="validation").images)


def test_a_model_trains_on_augmented_batches() -> None:
    import keras

    ds = datasets.load("digits", subset=256)
    spec = {"ops": [{"op": "rotation", "factor": 0.05}, {"op": "crop"}, {"op": "noise", "stddev": 0.02}]}
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input(ds.input_shape), keras.layers.Flatten(), keras.layers.Dense(10, "softmax")]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(
        ds.as_tf_data("train", 32, augment=spec, seed=1),
        validation_data=ds.as_tf_data("validation", 32),
        epochs=3,
        verbose=0,
        shuffle=False,  # as_tf_data shuffles, seeded
    )
    assert np.isfinite(history.history["loss"]).all()
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_tabular_batches_are_feature_rows_and_reject_image_augmentation() -> None:
    x = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    ds = datasets.from_arrays(x, np.arange(40) % 2)
    features, labels = next(iter(ds.as_tf_data("train", batch_size=8)))
    assert features.shape == (8, 3) and labels.shape == (8,)
    with pytest.raises(ValueError, match="flip do not apply to tabular data"):
        ds.as_tf_data("train", batch_size=8, augment={"ops": [{"op": "flip"}]})


# --- registry, caching, progress, imports ------------------------------------------------------------


def test_available_lists_every_registry_dataset_without_loading_any() -> None:
    entries = {entry["name"]: entry for entry in datasets.available()}
    assert list(entries) == list(DATASET_NAMES)
    assert entries["digits"]["offline"] and entries["shapes"]["offline"]
    assert all(
        set(entry) == {"name", "offline", "description", "source", "hint"} for entry in entries.values()
    )
    assert entries["digits"]["hint"] is None


def test_repeated_loads_reuse_the_raw_data_of_the_process() -> None:
    datasets.load("digits")
    hits = builtin._digits.cache_info().hits
    datasets.load("digits", seed=5)
    assert builtin._digits.cache_info().hits == hits + 1


def test_progress_line_appears_only_for_slow_work() -> None:
    quiet, shown = io.StringIO(), io.StringIO()
    with Progress("fast", total=3, stream=quiet) as progress:
        progress.update(3)
    with Progress("slow", total=4, delay=0.0, stream=shown) as progress:
        progress.update(2)
    assert quiet.getvalue() == ""
    assert shown.getvalue().startswith("slow: 2/4 (50%") and shown.getvalue().endswith("\n")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_is_a_rich_bar_and_elsewhere_a_plain_line() -> None:
    terminal, log = _Terminal(), io.StringIO()
    for stream in (terminal, log):
        with Progress("decoding", total=4, delay=0.0, stream=stream) as progress:
            progress.update(2)
    assert "━" in terminal.getvalue() and "50%" in terminal.getvalue()  # rich's bar and percentage
    assert log.getvalue().startswith("decoding: 2/4 (50%") and "━" not in log.getvalue()


def test_progress_in_a_jupyter_kernel_goes_to_stdout_not_the_red_stderr(monkeypatch) -> None:
    kernel_stderr = type("OutStream", (io.StringIO,), {"__module__": "ipykernel.iostream"})()
    stdout = io.StringIO()
    monkeypatch.setattr(sys, "stderr", kernel_stderr)
    monkeypatch.setattr(sys, "stdout", stdout)
    with Progress("generating 40 spoken digits", total=40, delay=0.0) as progress:
        progress.update(20)
    assert stdout.getvalue().startswith("generating 40 spoken digits: 20/40 (50%")
    assert kernel_stderr.getvalue() == ""


def test_progress_outside_a_kernel_stays_on_stderr(monkeypatch) -> None:
    stderr, stdout = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.setattr(sys, "stdout", stdout)
    with Progress("decoding", total=2, delay=0.0) as progress:
        progress.update(1)
    assert stderr.getvalue().startswith("decoding: 1/2") and stdout.getvalue() == ""


def test_importing_datasets_and_augment_and_listing_does_not_load_tensorflow() -> None:
    code = (
        "import sys; from lepton_lab.core import datasets, augment; datasets.available(); "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TF imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_digits_load_from_package_data_without_scikit_learn() -> None:
    # A blocked import stands in for an environment without scikit-learn (a runtime dependency no more).
    code = (
        "import sys; sys.modules['sklearn'] = None; from lepton_lab.core import datasets; "
        "ds = datasets.load('digits'); "
        "assert sum(ds.count(split) for split in ('train', 'validation', 'test')) == 1797"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_a_generated_datasets_count_is_part_of_its_spec_so_reloading_makes_the_same_data() -> None:
    shapes = datasets.load("shapes", count=40, image_size=16)
    assert shapes.spec.count == 40
    assert sum(shapes.count(split) for split in ("train", "validation", "test")) == 40
    again = datasets.load(shapes.spec)  # what a run's spec.json reloads
    test = again.count("test")
    first, second = (d.page(0, test, split="test").images for d in (shapes, again))
    np.testing.assert_array_equal(first, second)
    assert datasets.load(DatasetSpec.model_validate_json(shapes.spec.model_dump_json())).spec.count == 40


def test_count_on_a_dataset_that_is_not_generated_names_subset_instead() -> None:
    with pytest.raises(SpecError, match=r"count: 'digits' is not generated.*use subset"):
        datasets.load("digits", count=100)
