"""Dataset files: finding, reading and (when online) downloading dataset files.

Lepton Lab must work without internet, so the downloadable datasets are looked
for, in order, in

1. the Keras cache (``$KERAS_HOME/datasets``, default ``~/.keras/datasets``),
   where ``keras.datasets.*.load_data()`` leaves them;
2. Debian's dataset packages under ``/usr/share/datasets`` (``dataset-fashion-mnist``
   installs the four IDX ``.gz`` files in ``/usr/share/datasets/fashion-mnist/``).

Only when neither has them and the download host answers within a second or two
do we call Keras's downloader. ``LEPTON_LAB_OFFLINE=1`` skips the network
check entirely (tests, air-gapped machines); ``LEPTON_LAB_SYSTEM_DATASETS``
points at another system dataset directory.

Nothing here imports TensorFlow except :func:`download`.
"""

from __future__ import annotations

import gzip
import os
import pickle
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lepton_lab.core.progress import Progress

#: Image file suffixes a ``folder:`` dataset picks up (what Pillow decodes everywhere).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")

_IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

#: Four uint8 arrays: train images, train labels, test images, test labels.
Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class RemoteDataset:
    """A dataset that ships as files outside Lepton Lab.

    Attributes
    ----------
    name : str
        Registry name.
    description : str
        One line for dataset pickers.
    class_names : tuple of str
        Label names in label order.
    host : str
        Host Keras downloads from (probed to decide whether we are online).
    layouts : tuple of str
        Relative paths that hold the data, tried in order under each search root.
    how_to_get : str
        What a user can do offline, quoted in :func:`unavailable_message`.
    """

    name: str
    description: str
    class_names: tuple[str, ...]
    host: str
    layouts: tuple[str, ...]
    how_to_get: str


REMOTE: dict[str, RemoteDataset] = {
    "fashion_mnist": RemoteDataset(
        name="fashion_mnist",
        description="Zalando Fashion-MNIST: 70 000 28x28 grey images of clothing, 10 classes.",
        class_names=(
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
        ),
        host="storage.googleapis.com",
        layouts=("fashion-mnist",),
        how_to_get=(
            "Install it with `sudo apt-get install dataset-fashion-mnist` or place the four IDX .gz files "
            f"({', '.join(_IDX_FILES)}) in {{keras}}/fashion-mnist/"
        ),
    ),
    "mnist": RemoteDataset(
        name="mnist",
        description="MNIST: 70 000 28x28 grey images of handwritten digits, 10 classes.",
        class_names=tuple(str(digit) for digit in range(10)),
        host="storage.googleapis.com",
        layouts=("mnist.npz", "mnist"),
        how_to_get=(
            "Run `python -c 'import keras; keras.datasets.mnist.load_data()'` on a machine with internet and "
            "copy mnist.npz to {keras}/mnist.npz (or the four IDX .gz files to {keras}/mnist/)"
        ),
    ),
    "cifar10": RemoteDataset(
        name="cifar10",
        description="CIFAR-10: 60 000 32x32 colour images, 10 classes.",
        class_names=(
            "airplane",
            "automobile",
            "bird",
            "cat",
            "deer",
            "dog",
            "frog",
            "horse",
            "ship",
            "truck",
        ),
        host="www.cs.toronto.edu",
        layouts=("cifar-10-batches-py", "cifar-10-batches-py-target/cifar-10-batches-py"),
        how_to_get=(
            "Download https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz on a machine with internet and "
            "extract it so that {keras}/cifar-10-batches-py/data_batch_1 exists"
        ),
    ),
}


def keras_datasets_dir() -> Path:
    """Return the Keras download cache: ``$KERAS_HOME/datasets`` or ``~/.keras/datasets``."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets"


def system_datasets_dir() -> Path:
    """Where Debian's ``dataset-*`` packages install data (``LEPTON_LAB_SYSTEM_DATASETS`` overrides)."""
    return Path(os.environ.get("LEPTON_LAB_SYSTEM_DATASETS", "/usr/share/datasets"))


def _complete(path: Path) -> bool:
    if path.suffix == ".npz":
        return path.is_file()
    if path.name.startswith("cifar-10-batches-py"):
        return (path / "data_batch_1").is_file() and (path / "test_batch").is_file()
    return all((path / name).is_file() for name in _IDX_FILES)


def find(name: str) -> Path | None:
    """Return the local file or directory holding dataset ``name``, or None. Touches no data."""
    remote = REMOTE[name]
    for root in (keras_datasets_dir(), system_datasets_dir()):
        for layout in remote.layouts:
            if _complete(root / layout):
                return root / layout
    return None


def unavailable_message(name: str) -> str:
    """Return the error text for a dataset that is neither on disk nor downloadable right now."""
    remote = REMOTE[name]
    how = remote.how_to_get.format(keras=keras_datasets_dir())
    return f"{name} is not available offline. {how}."


def is_online(host: str, port: int = 443, timeout: float = 2.0) -> bool:
    """Whether ``host:port`` accepts a TCP connection within ``timeout`` seconds.

    Name resolution ignores socket timeouts and can hang for many seconds on a
    machine without DNS, so the probe runs in a daemon thread we stop waiting for.
    """
    if os.environ.get("LEPTON_LAB_OFFLINE", "").strip().lower() in ("1", "true", "yes"):
        return False
    answer: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                answer.append(True)
        except OSError:
            answer.append(False)

    thread = threading.Thread(target=probe, daemon=True, name=f"lepton-lab-probe-{host}")
    thread.start()
    thread.join(timeout)
    return bool(answer and answer[0])


def download(name: str) -> Path:
    """Fetch dataset ``name`` into the Keras cache with Keras's own downloader."""
    import keras  # lazy: TensorFlow loads only when we really download

    loaders = {
        "fashion_mnist": keras.datasets.fashion_mnist.load_data,
        "mnist": keras.datasets.mnist.load_data,
        "cifar10": keras.datasets.cifar10.load_data,
    }
    loaders[name]()
    found = find(name)
    if found is None:  # pragma: no cover - Keras changed where it caches
        raise RuntimeError(f"Keras downloaded {name} but it is not under {keras_datasets_dir()}")
    return found


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as stream:
        data = stream.read()
    magic = int.from_bytes(data[:4], "big")
    dims = magic & 0xFF
    if magic >> 8 != 0x08:  # 0x08 = unsigned byte elements
        raise ValueError(f"{path} is not an IDX file of unsigned bytes (magic number {magic:#x})")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def _read_idx_dir(path: Path, name: str) -> Arrays:
    arrays = []
    with Progress(f"reading {name} from {path}", total=len(_IDX_FILES)) as progress:
        for step, file_name in enumerate(_IDX_FILES):
            arrays.append(_read_idx(path / file_name))
            progress.update(step + 1)
    x_train, y_train, x_test, y_test = arrays
    return x_train[..., None], y_train, x_test[..., None], y_test


def _read_cifar_dir(path: Path, name: str) -> Arrays:
    batches = [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]
    images, labels = [], []
    with Progress(f"reading {name} from {path}", total=len(batches)) as progress:
        for step, batch in enumerate(batches):
            # The official CIFAR files are Python pickles; we only read them from the
            # Keras cache or a directory the user put them in.
            with open(path / batch, "rb") as stream:
                content = pickle.load(stream, encoding="bytes")
            images.append(
                np.asarray(content[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
            )
            labels.append(np.asarray(content[b"labels"], dtype=np.uint8))
            progress.update(step + 1)
    return np.concatenate(images[:5]), np.concatenate(labels[:5]), images[5], labels[5]


def read(name: str, path: Path) -> Arrays:
    """Read dataset ``name`` from ``path`` (as returned by :func:`find`) as uint8 NHWC arrays."""
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            x_train, y_train = archive["x_train"], archive["y_train"]
            x_test, y_test = archive["x_test"], archive["y_test"]
        if x_train.ndim == 3:
            x_train, x_test = x_train[..., None], x_test[..., None]
        return x_train, y_train, x_test, y_test
    if path.name.startswith("cifar-10-batches-py"):
        return _read_cifar_dir(path, name)
    return _read_idx_dir(path, name)


def list_folder(root: Path) -> tuple[list[Path], np.ndarray, list[str]]:
    """List a class-per-subfolder image directory.

    Returns
    -------
    paths : list of Path
        Every image file, grouped by class, sorted by name within a class.
    labels : np.ndarray
        Class index of each path.
    class_names : list of str
        Sorted names of the subfolders that hold at least one image.
    """
    if not root.exists():
        raise FileNotFoundError(
            f"folder dataset {str(root)!r} does not exist; give a directory with one subfolder per class, "
            f"e.g. {root / 'cats'}/*.png and {root / 'dogs'}/*.png"
        )
    if not root.is_dir():
        raise NotADirectoryError(f"folder dataset {str(root)!r} is a file; give the directory that holds it")
    paths: list[Path] = []
    labels: list[int] = []
    class_names: list[str] = []
    for folder in sorted(
        entry for entry in root.iterdir() if entry.is_dir() and not entry.name.startswith(".")
    ):
        files = sorted(
            entry for entry in folder.rglob("*") if entry.suffix.lower() in IMAGE_SUFFIXES and entry.is_file()
        )
        if files:
            labels.extend([len(class_names)] * len(files))
            class_names.append(folder.name)
            paths.extend(files)
    if not class_names:
        suffixes = ", ".join(IMAGE_SUFFIXES)
        raise FileNotFoundError(
            f"folder dataset {str(root)!r} has no class subfolders with images ({suffixes}); "
            f"put each class's images in its own subfolder, e.g. {root / 'cats'}/1.png"
        )
    return paths, np.asarray(labels, dtype=np.int64), class_names


def image_channels(path: Path) -> int:
    """1 for a greyscale image file, 3 otherwise (reads only the header)."""
    from PIL import Image

    with Image.open(path) as image:
        return 1 if image.mode in ("1", "L", "LA", "I", "I;16", "F") else 3


def decode_image(path: Path, size: int, channels: int) -> np.ndarray:
    """Decode one image file to ``uint8 [size, size, channels]`` (bilinear resize, alpha dropped)."""
    from PIL import Image

    with Image.open(path) as image:
        converted = image.convert("L" if channels == 1 else "RGB")
        if converted.size != (size, size):
            converted = converted.resize((size, size), Image.Resampling.BILINEAR)
        pixels = np.asarray(converted, dtype=np.uint8)
    return pixels[..., None] if channels == 1 else pixels
