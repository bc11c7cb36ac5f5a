"""Cost of the TF Serving REST layer per predict request: JSON body → validated uint8 batch → answer JSON.

Every predict request pays ``json.loads`` of its body, :func:`parse_predict_body` (nested lists to a
checked uint8 array) and :func:`format_predictions` + ``json.dumps`` of the answer, on the server's
event loop. For scale, the same body is also just decoded by ``json.loads`` + ``np.asarray`` with no
checks (the least any JSON server must do); the two are interleaved round by round in this process
so machine load hits both alike, and medians are printed per request and per example.

Usage: python bench/bench_tf_serving.py [--rounds 7] [--repeat 50] [--batch 1 32] [--shape 28 28 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from lepton_lab.server.tf_serving import format_predictions, parse_predict_body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=50, help="requests per round")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 32], help="instances per request")
    parser.add_argument("--shape", type=int, nargs=3, default=[28, 28, 1], help="H W C of an instance")
    parser.add_argument("--classes", type=int, default=10)
    args = parser.parse_args()

    spec = {"shape": [None, *args.shape], "dtype": "uint8"}
    rng = np.random.default_rng(0)
    print(f"instance {args.shape} uint8, {args.classes} classes; medians of {args.rounds} rounds")
    for batch in args.batch:
        images = rng.integers(0, 256, size=(batch, *args.shape), dtype=np.uint8)
        body = json.dumps({"instances": images.tolist()}).encode()
        probabilities = rng.dirichlet(np.ones(args.classes), size=batch).astype(np.float32)
        result = {"probabilities": probabilities, "classes": probabilities.argmax(axis=1)}

        def ours(body: bytes = body, result: dict = result) -> float:
            start = time.perf_counter()
            for _ in range(args.repeat):
                request = parse_predict_body(json.loads(body), spec)
                json.dumps(format_predictions(result, columnar=request.columnar))
            return (time.perf_counter() - start) / args.repeat

        def bare(
            body: bytes = body, probabilities: np.ndarray = probabilities, result: dict = result
        ) -> float:
            start = time.perf_counter()
            for _ in range(args.repeat):
                np.asarray(json.loads(body)["instances"], dtype=np.uint8)
                json.dumps({"probabilities": probabilities.tolist(), "classes": result["classes"].tolist()})
            return (time.perf_counter() - start) / args.repeat

        timings: dict[str, list[float]] = {"ours": [], "bare": []}
        for _ in range(args.rounds):
            timings["ours"].append(ours())
            timings["bare"].append(bare())
        ours_s, bare_s = (statistics.median(timings[k]) for k in ("ours", "bare"))
        print(
            f"batch {batch:3d}: {ours_s * 1e3:7.3f} ms/request ({ours_s / batch * 1e6:6.1f} us/example), "
            f"unchecked json+asarray {bare_s * 1e3:7.3f} ms; ratio {ours_s / bare_s:.2f}; "
            f"body {len(body) / 1024:.1f} KiB"
        )


if __name__ == "__main__":
    main()
