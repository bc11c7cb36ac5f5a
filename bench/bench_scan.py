"""Cost of the predict-body fast path (``tf_serving_scan.scan_batch``): an older version against this one.

The predict route reads every body of plain integers with :func:`scan_batch`, on the server's event
loop, so its microseconds per image are taken from the model worker on a small machine. This loads
the module as it was at ``--old`` (``git show REV:lepton_lab/server/tf_serving_scan.py``) beside
the working tree's, checks that both read each body to the same array, and times them interleaved
round by round in this process (machine load hits both alike). Bodies are Fashion-MNIST test images
(random images when the dataset is not installed) as ``json.dumps`` writes them, with its default
separators (``", "``) and with compact ones (``","``); medians of the rounds, per image.

Usage: python bench/bench_scan.py [--old REV] [--rounds 9] [--repeat 30] [--batch 1 16 64]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np

from lepton_lab.server import tf_serving_scan

#: The last version before the rewrite that brief S asked for (issue 11, serving throughput).
DEFAULT_OLD = "f6d31c1132c25ee6557cd49a8cabe109c5b6adc3"
MODULE_PATH = "lepton_lab/server/tf_serving_scan.py"
SHAPE = (28, 28, 1)


def load_old(rev: str) -> ModuleType:
    """The scan module as it was at git revision ``rev``, imported under another name."""
    root = Path(__file__).resolve().parent.parent
    source = subprocess.run(
        ["git", "show", f"{rev}:{MODULE_PATH}"], cwd=root, check=True, capture_output=True, text=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "tf_serving_scan_old.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("tf_serving_scan_old", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def images(count: int) -> tuple[np.ndarray, str]:
    """``count`` Fashion-MNIST test images, or random ones where the dataset is not installed."""
    from lepton_lab.core import dataset_files

    found = dataset_files.find("fashion_mnist")
    if found is not None:
        x_test = dataset_files.read("fashion_mnist", found)[2]
        return x_test[:count], "Fashion-MNIST test images"
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(count, *SHAPE), dtype=np.uint8), "random images (no Fashion-MNIST)"


def per_call(scan: Callable, body: bytes, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        scan(body, SHAPE, "uint8")
    return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default=DEFAULT_OLD, help="git revision of the version to compare with")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--repeat", type=int, default=30, help="calls per body per round")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 16, 64], help="images per body")
    args = parser.parse_args()

    old = load_old(args.old)
    pool, source = images(max(args.batch))
    print(f"{source}, {SHAPE} uint8; old = {args.old[:12]}; medians of {args.rounds} rounds x {args.repeat}")
    separators = {"default": (", ", ": "), "compact": (",", ":")}
    for batch in args.batch:
        for name, pair in separators.items():
            body = json.dumps({"instances": pool[:batch].tolist()}, separators=pair).encode()
            expected = pool[:batch]
            for scan in (old.scan_batch, tf_serving_scan.scan_batch):
                read = scan(body, SHAPE, "uint8")
                if read is None or not np.array_equal(read[0], expected):
                    sys.exit(f"{scan.__module__} did not read the {batch}-image {name} body back")
            timings: dict[str, list[float]] = {"old": [], "new": []}
            for _ in range(args.rounds):
                timings["old"].append(per_call(old.scan_batch, body, args.repeat))
                timings["new"].append(per_call(tf_serving_scan.scan_batch, body, args.repeat))
            old_s, new_s = (statistics.median(timings[k]) for k in ("old", "new"))
            print(
                f"{batch:3d} images, {name:7s} ({len(body) / 1024:6.1f} KiB): "
                f"old {old_s / batch * 1e6:6.2f} us/image, new {new_s / batch * 1e6:6.2f} us/image, "
                f"{old_s / new_s:.2f}x faster"
            )


if __name__ == "__main__":
    main()
