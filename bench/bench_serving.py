"""Serving throughput and latency through the real server route against the in-process limit.

Not part of the test suite. Trains one model (Fashion-MNIST ``small_cnn`` on a subset by default;
``--run DIR`` reuses a trained run), exports it as a SavedModel, TFLite (float) and TFLite int8,
deploys the SavedModel on a real Jupyter server with Lepton Lab (``POST /lepton-lab/api/models``:
a model-server worker process) and measures, interleaved round by round so that the load of a
shared machine hits every figure alike:

- **1 client**: latency p50/p99 of one image per request, sequential, through
  ``POST v1/models/{name}:predict`` (TF Serving's body, the token header);
- **8 and 32 clients**: that many concurrent clients, ``k`` images per request for each ``k`` of
  ``--images-per-request`` (default 1, 16 and 64; ``--per-client`` requests each, scaled down by
  16/k above 16 images), each sending as soon as its last answer came:
  images per second (the server micro-batches the requests; the mean worker batch comes from the
  model's metrics);
- **in-process limit**: the same SavedModel signature loaded in this process and called directly
  with uint8 tensors, one call after another, at batch 1 (latency) and at the mean batch the server
  formed in that configuration (images per second: the most those clients could get if HTTP, JSON
  and batching cost nothing);
- **the route's own ceiling**: 32 clients posting a one-pixel body to a model that is not
  deployed (a 404 through the same Jupyter handler, authentication included, no model, no array):
  the most requests per second Jupyter's HTTP stack answers on this machine;
- **the registry without HTTP**: the 32 clients' arrays handed straight to a ``ModelRegistry`` in
  this process (same micro-batching and worker, no HTTP or JSON).

The load generator (``bench/http_load.py``) is a process of its own that costs the server little:
bodies are JSON-encoded once before timing, each client holds one keep-alive HTTP/1.1 connection,
answers are read by ``Content-Length`` and only their status is checked (each connection's first
answer is checked in full). It still runs on the same CPUs as the server and the worker.

``--baseline REF`` also starts a server running ``lepton_lab`` as of git commit ``REF`` (on its own
copy of the run) and measures it the same way in the same rounds: before and after a change.

Usage::

    python bench/bench_serving.py [--run RUN_DIR] [--rounds 5] [--images-per-request 1 16] [--baseline REF]

Results are printed and written to ``bench/results/serving_<dataset>.json``, with the machine's
1-minute load average at each round (the machine may be shared: trust the ratios more than the
absolute figures).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from lab_servers import HEADERS, TOKEN, LabServer, export_package, percentile
from tornado.httpclient import AsyncHTTPClient

from lepton_lab.core import datasets
from lepton_lab.core.export import export_model, list_exports
from lepton_lab.core.export.inputs import raw_examples
from lepton_lab.core.run_store import load_run
from lepton_lab.core.runner import train

RESULTS = Path(__file__).resolve().parent / "results"
LOAD = Path(__file__).resolve().parent / "http_load.py"
NAME = "bench"
PREDICT = f"/lepton-lab/api/v1/models/{NAME}:predict"


async def http_load(
    port: int, bodies: Path, clients: int, requests: int, *, path: str = PREDICT, expect: int = 200
) -> dict[str, Any]:
    """Run the load generator process; its result (seconds, requests, errors, latencies)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(LOAD),
        f"--port={port}",
        f"--path={path}",
        f"--token={TOKEN}",
        f"--bodies={bodies}",
        f"--clients={clients}",
        f"--requests={requests}",
        f"--expect={expect}",
        stdout=subprocess.PIPE,
    )
    out, _ = await process.communicate()
    if process.returncode:
        raise RuntimeError(f"the load generator failed ({process.returncode})")
    result: dict[str, Any] = json.loads(out)
    if result["errors"]:
        raise RuntimeError(f"{result['errors']} of {result['requests']} requests were not answered {expect}")
    return result


def in_process(serve: Any, tf: Any, images: np.ndarray, batch: int, calls: int) -> list[float]:
    """Milliseconds per direct call of the serving signature on ``batch`` images."""
    tensor = tf.constant(np.resize(images, (batch, *images.shape[1:])).astype(np.uint8))
    serve(images=tensor)  # traced and warm
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        out = serve(images=tensor)
        out["classes"].numpy()
        times.append((time.perf_counter() - start) * 1000)
    return times


class Target:
    """One server under test (this checkout, or a baseline commit) with the model deployed."""

    def __init__(self, label: str, root: Path, run_dir: Path, package_root: Path | None) -> None:
        self.label = label
        runs = root / f"runs-{label}"
        runs.mkdir()
        shutil.copytree(run_dir, runs / run_dir.name, ignore=shutil.ignore_patterns("exports"))
        shutil.copytree(run_dir / "exports" / "savedmodel", runs / run_dir.name / "exports" / "savedmodel")
        self.run_id = run_dir.name
        self.server = LabServer(root, runs, package_root)
        self.api = self.server.url + "lepton-lab/api/"

    async def start(self) -> None:
        await self.server.wait_up()
        answer = await AsyncHTTPClient().fetch(
            self.api + "models",
            method="POST",
            body=json.dumps({"run": self.run_id, "name": NAME}),
            headers=HEADERS,
            request_timeout=600,
        )
        assert json.loads(answer.body)["state"] == "ready", answer.body

    async def metrics(self) -> dict[str, Any]:
        answer = await AsyncHTTPClient().fetch(self.api + f"models/{NAME}/metrics", headers=HEADERS)
        result: dict[str, Any] = json.loads(answer.body)
        return result

    async def throughput(self, bodies: Path, clients: int, per_client: int, k: int) -> tuple[float, float]:
        """Images per second of ``clients`` clients sending ``k`` images a request, and the mean batch."""
        before = await self.metrics()
        result = await http_load(self.server.port, bodies, clients, per_client)
        after = await self.metrics()
        return k * result["requests"] / result["seconds"], _mean_batch(before, after, k)

    async def latency(self, bodies: Path, requests: int) -> list[float]:
        result = await http_load(self.server.port, bodies, 1, requests)
        latencies: list[float] = result["latencies_ms"]
        return latencies

    async def ceiling(self, bodies: Path, requests: int) -> float:
        """Requests per second of 32 clients' 404s: Jupyter's HTTP stack and authentication alone."""
        path = "/lepton-lab/api/v1/models/not-deployed:predict"
        result = await http_load(self.server.port, bodies, 32, requests, path=path, expect=404)
        return float(result["requests"] / result["seconds"])


def _bodies(root: Path, raw: np.ndarray, k: int) -> Path:
    """A file of 256 pre-encoded ``instances`` bodies of ``k`` images each (one per line)."""
    path = root / f"bodies-{k}.txt"
    lines = [
        json.dumps({"instances": raw[np.arange(i, i + k) % len(raw)].tolist()}) for i in range(0, 256 * k, k)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


async def measure(args: argparse.Namespace, run_dir: Path, saved: Path, raw: np.ndarray) -> dict[str, Any]:
    from lepton_lab.core.tf_import import tf

    serve = tf.saved_model.load(str(saved)).signatures["serving_default"]
    ks, client_counts = args.images_per_request, (8, 32)
    series: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        series.setdefault(key, []).append(value)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bodies = {k: _bodies(root, raw, k) for k in {1, *ks}}
        tiny = root / "tiny.txt"
        tiny.write_text(json.dumps({"instances": [[[[0]]]]}) + "\n")
        targets = [Target("new", root, run_dir, None)]
        if args.baseline:
            package = export_package(args.baseline, root / "baseline")
            targets.append(Target("baseline", root, run_dir, package))
        try:
            for target in targets:
                await target.start()
                await target.latency(bodies[1], 40)  # warm: the worker's first calls trace
            for _ in range(args.rounds):
                add("load_average_1m", os.getloadavg()[0])
                for target in targets:
                    latencies = await target.latency(bodies[1], args.requests)
                    add(f"{target.label}.one_client.p50_ms", percentile(latencies, 50))
                    add(f"{target.label}.one_client.p99_ms", percentile(latencies, 99))
                single = in_process(serve, tf, raw, 1, args.requests)
                add("in_process.batch_1.p50_ms", percentile(single, 50))
                add("in_process.batch_1.p99_ms", percentile(single, 99))
                for k in ks:
                    for clients in client_counts:
                        for target in targets:
                            per_client = max(4, args.per_client * 16 // max(k, 16))
                            rate, batch = await target.throughput(bodies[k], clients, per_client, k)
                            add(f"{target.label}.x{k}.c{clients}.images_per_s", rate)
                            add(f"{target.label}.x{k}.c{clients}.mean_batch", batch)
                            limit = _limit(serve, tf, raw, batch)
                            add(f"{target.label}.x{k}.c{clients}.in_process_images_per_s", limit)
                            add(f"{target.label}.x{k}.c{clients}.vs_in_process", rate / limit)
                for target in targets:
                    add(
                        f"{target.label}.route_ceiling_requests_per_s",
                        await target.ceiling(tiny, args.per_client),
                    )
            final = {target.label: await target.metrics() for target in targets}
        finally:
            for target in targets:
                target.server.stop()
    registry = {k: await registry_throughput(saved, raw, args, k) for k in ks}
    medians = {key: statistics.median(values) for key, values in series.items()}
    return {
        "medians": medians,
        "rounds": series,
        "registry_without_http": registry,
        "final_metrics": {
            label: {"batch_sizes": m["batch_sizes"], "latency_ms": m["latency_ms"]}
            for label, m in final.items()
        },
    }


def _limit(serve: Any, tf: Any, raw: np.ndarray, batch: float) -> float:
    """In-process images per second at the (rounded) batch size ``batch``."""
    size = max(1, round(batch))
    return size * 1000 / statistics.median(in_process(serve, tf, raw, size, 30))


async def registry_throughput(
    saved: Path, raw: np.ndarray, args: argparse.Namespace, k: int
) -> dict[str, Any]:
    """Images per second of 32 clients' requests handed to a ModelRegistry directly (no HTTP, no JSON).

    The same micro-batching and model-server worker as behind the server's route, in this
    process: what the route would reach if HTTP, authentication and TF Serving's JSON were free.
    """
    from lepton_lab.server.model_registry import ModelRegistry

    registry = ModelRegistry(None, logging.getLogger("bench"))
    await registry.start()
    try:
        await registry.deploy(name=NAME, export_dir=saved)
        batches = [raw[np.arange(i, i + k) % len(raw)] for i in range(0, 256 * k, k)]

        async def client(c: int) -> None:
            for i in range(args.per_client):
                await registry.predict(NAME, batches[(c * args.per_client + i) % len(batches)])

        await client(0)  # warm
        rates = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            await asyncio.gather(*(client(c) for c in range(32)))
            rates.append(32 * args.per_client * k / (time.perf_counter() - start))
        return {"images_per_s": statistics.median(rates), "rounds": rates}
    finally:
        await registry.stop()


def _mean_batch(before: dict[str, Any], after: dict[str, Any], per_request: int) -> float:
    """Mean worker batch between two metrics snapshots (from the histograms' counts)."""
    buckets = {}
    for key, count in after["batch_sizes"]["histogram"].items():
        buckets[key] = count - before["batch_sizes"]["histogram"].get(key, 0)
    batches = sum(buckets.values())
    images = (after["requests"] - before["requests"]) * per_request
    return images / batches if batches else 1.0


def _exports(run: Any) -> dict[str, dict[str, Any]]:
    """The run's SavedModel, TFLite and TFLite int8 export.json, exporting those it lacks."""
    have = {(e["format"], e.get("quantize", "none")): e for e in list_exports(run.dir.path)}
    wanted = {
        "savedmodel": ("savedmodel", "none"),
        "tflite": ("tflite", "none"),
        "tflite-int8": ("tflite", "int8"),
    }
    return {key: have.get(fq) or export_model(run, fq[0], fq[1]) for key, fq in wanted.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--subset", type=int, default=12000)
    parser.add_argument("--model", default="small_cnn")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--run", type=Path, help="a trained run directory to reuse instead of training one")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--images-per-request",
        type=int,
        nargs="+",
        default=[1, 16, 64],
        help="images in each concurrent request",
    )
    parser.add_argument("--requests", type=int, default=200, help="1-client requests per round")
    parser.add_argument(
        "--per-client", type=int, default=20, help="requests per client per round (fewer above 16 images)"
    )
    parser.add_argument(
        "--baseline", help="also measure lepton_lab as of this git commit, in the same rounds"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        if args.run is not None:
            run = load_run(args.run)
        else:
            dataset_spec = {"name": args.dataset, "subset": args.subset}
            runs = Path(tmp) / "runs"
            run = train(dataset=dataset_spec, model=args.model, train={"epochs": args.epochs}, runs_dir=runs)
        exports = _exports(run)
        saved = exports["savedmodel"]
        raw, _ = raw_examples(datasets.load(run.spec.dataset), "test")
        serving = asyncio.run(measure(args, run.dir.path, run.dir.path / saved["path"], raw))
        keras_bytes = run.dir.model_path.stat().st_size
        weights_bytes = 4 * int(run.load_model().count_params())
        int8 = exports["tflite-int8"]
        result = {
            "dataset": run.spec.dataset.name,
            "model": args.model,
            "rounds": args.rounds,
            "baseline": args.baseline,
            "load_generator": "bench/http_load.py: own process, keep-alive HTTP/1.1, pre-encoded bodies",
            **serving,
            "int8_vs_keras": {
                "keras_bytes": keras_bytes,
                "float32_weights_bytes": weights_bytes,
                "int8_bytes": int8["size_bytes"],
                "size_vs_keras_file": int8["size_bytes"] / keras_bytes,
                "size_vs_float32_weights": int8["size_bytes"] / weights_bytes,
                "keras_test_accuracy": int8["keras"]["test_accuracy"],
                "int8_test_accuracy": int8["test_accuracy"],
                "accuracy_change_points": 100 * int8["accuracy_change"],
                "agreement": int8["agreement"],
                "latency_ms": {
                    "savedmodel": saved["latency_ms"],
                    "tflite_float": exports["tflite"]["latency_ms"],
                    "tflite_int8": int8["latency_ms"],
                },
            },
        }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"serving_{result['dataset']}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    _print(result, args)
    print(f"written to {out}")
    return 0


def _print(result: dict[str, Any], args: argparse.Namespace) -> None:
    m = result["medians"]
    labels = ["new", "baseline"] if args.baseline else ["new"]
    print(f"medians of {args.rounds} rounds; load average (1 min) {m['load_average_1m']:.1f}")
    one = f"p50 {m['in_process.batch_1.p50_ms']:.2f} ms, p99 {m['in_process.batch_1.p99_ms']:.2f} ms"
    print(f"in-process batch 1: {one}")
    for label in labels:
        print(
            f"[{label}] 1 client: p50 {m[f'{label}.one_client.p50_ms']:.2f} ms, "
            f"p99 {m[f'{label}.one_client.p99_ms']:.2f} ms; route ceiling (404s, 32 clients) "
            f"{m[f'{label}.route_ceiling_requests_per_s']:.0f} requests/s"
        )
        for k in args.images_per_request:
            for clients in (8, 32):
                key = f"{label}.x{k}.c{clients}"
                print(
                    f"[{label}] {clients:2d} clients x {k:2d} images/request: "
                    f"{m[key + '.images_per_s']:6.0f} img/s, "
                    f"mean batch {m[key + '.mean_batch']:5.1f}, in-process at that batch "
                    f"{m[key + '.in_process_images_per_s']:6.0f} img/s: {m[key + '.vs_in_process']:.0%}"
                )
    for k, registry in result["registry_without_http"].items():
        print(f"32 clients x {k} images straight to a ModelRegistry: {registry['images_per_s']:.0f} img/s")
    q = result["int8_vs_keras"]
    print(
        f"int8 TFLite: {q['int8_bytes']} B = {q['size_vs_keras_file']:.1%} of model.keras, "
        f"{q['size_vs_float32_weights']:.1%} of float32 weights; accuracy {q['keras_test_accuracy']:.4f} -> "
        f"{q['int8_test_accuracy']:.4f} ({q['accuracy_change_points']:+.2f} points), "
        f"agreement {q['agreement']:.3f}"
    )
    print(f"latency ms per call (batch_1, batch_32): {json.dumps(q['latency_ms'])}")


if __name__ == "__main__":
    raise SystemExit(main())
