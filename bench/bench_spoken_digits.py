"""Time to generate spoken_digits with espeak-ng, and to load it again from the cache.

Generates ``--count`` clips (default: the dataset's default size) into a fresh temporary cache
directory once, then loads them ``--rounds`` times from that cache (the on-disk cache only: the
per-process cache of :mod:`lepton_lab.core.datasets.audio_sources` is not involved), and
reports the generation time, the median cached load and the number of CPUs espeak-ng ran on.

Usage::

    python bench/bench_spoken_digits.py [--count 2000] [--rounds 3]

Results are printed and written to ``bench/results/spoken_digits.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lepton_lab.core.datasets import spoken_digits

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    """Generate once, load from the cache ``--rounds`` times, print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=spoken_digits.DEFAULT_COUNT)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        start = time.perf_counter()
        spoken_digits.load(args.count, 0, root=Path(root))
        generation = time.perf_counter() - start
        loads = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            spoken_digits.load(args.count, 0, root=Path(root))
            loads.append(time.perf_counter() - start)
        size = spoken_digits.cache_file(args.count, 0, Path(root)).stat().st_size
    result = {
        "count": args.count,
        "cpus": os.cpu_count(),
        "generation_s": round(generation, 2),
        "clips_per_s": round(args.count / generation, 1),
        "cached_load_s_median": round(statistics.median(loads), 4),
        "cache_file_mb": round(size / 1e6, 1),
    }
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "spoken_digits.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
