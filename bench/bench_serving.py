"""Serving throughput and latency through the real server route against the in-process limit.

Not part of the test suite. Trains one model (Fashion-MNIST ``small_cnn`` on a subset by default),
exports it as a SavedModel, TFLite (float) and TFLite int8, deploys the SavedModel on a real
Jupyter server with Lepton Lab (``POST /lepton-lab/api/models``: a model-server worker process)
and measures, interleaved round by round so machine load hits every figure alike:

- **1 client**: predict latency p50/p99 of one image per request, sequential, through
  ``POST v1/models/{name}:predict`` (TF Serving's body, the token header);
- **32 clients**: 32 concurrent clients, one image per request (``--images-per-request``),
  as fast as answers come: images per second (the server micro-batches the requests; the mean
  batch comes from the model's metrics);
- **in-process limit**: the same SavedModel signature loaded in this process and called directly
  with uint8 tensors, at batch 1 (latency) and at the batch sizes the server formed (images per
  second: the most the 32 clients could get if HTTP, JSON and batching cost nothing).

Then int8 TFLite against float Keras: size (vs ``model.keras`` and vs the float32 weights),
test accuracy change and per-example latency at batch 1 and 32, from each export's
``export.json`` (scored in the export's own runtime, the LiteRT interpreter).

Usage::

    python bench/bench_serving.py [--dataset fashion_mnist] [--subset 12000] [--epochs 3] [--rounds 5]

Results are printed and written to ``bench/results/serving_<dataset>.json``. The 1-client and
32-client figures include the benchmark's own HTTP client, in this process, on the same CPUs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from lab_servers import HEADERS, LabServer, percentile
from tornado.httpclient import AsyncHTTPClient

from lepton_lab.core import datasets
from lepton_lab.core.export import export_model
from lepton_lab.core.export.inputs import raw_examples
from lepton_lab.core.runner import train

RESULTS = Path(__file__).resolve().parent / "results"
CLIENTS = 32
NAME = "bench"


async def _post(url: str, body: bytes) -> float:
    """POST ``body``; return the milliseconds until the whole answer arrived."""
    start = time.perf_counter()
    response = await AsyncHTTPClient().fetch(
        url, method="POST", body=body, headers={**HEADERS, "Content-Type": "application/json"}
    )
    assert response.code == 200, response.body
    return (time.perf_counter() - start) * 1000


async def one_client(url: str, bodies: list[bytes]) -> list[float]:
    """Latencies (ms) of ``bodies`` sent one after another."""
    return [await _post(url, body) for body in bodies]


async def many_clients(url: str, bodies: list[bytes], clients: int, per_client: int) -> float:
    """Requests per second of ``clients`` concurrent clients sending ``per_client`` requests each."""

    async def client(k: int) -> None:
        for i in range(per_client):
            await _post(url, bodies[(k * per_client + i) % len(bodies)])

    start = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    return clients * per_client / (time.perf_counter() - start)


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


async def measure(args: argparse.Namespace, run: Any, saved: Path, raw: np.ndarray) -> dict[str, Any]:
    from lepton_lab.core.tf_import import tf

    # Tornado's client runs at most 10 requests at once by default: let all 32 clients be in flight.
    AsyncHTTPClient.configure(None, max_clients=2 * CLIENTS)
    serve = tf.saved_model.load(str(saved)).signatures["serving_default"]
    one_image = [json.dumps({"instances": [raw[i].tolist()]}).encode() for i in range(256)]
    k = args.images_per_request  # the 32 clients' requests: k images each
    bodies = [
        json.dumps({"instances": raw[np.arange(i, i + k) % len(raw)].tolist()}).encode()
        for i in range(0, 256 * k, k)
    ]
    with tempfile.TemporaryDirectory() as root:
        server = LabServer(Path(root), run.dir.path.parent)
        try:
            await server.wait_up()
            api = server.url + "lepton-lab/api/"
            answer = await AsyncHTTPClient().fetch(
                api + "models",
                method="POST",
                body=json.dumps({"run": run.id, "name": NAME}),
                headers=HEADERS,
                request_timeout=600,
            )
            assert json.loads(answer.body)["state"] == "ready", answer.body
            url = api + f"v1/models/{NAME}:predict"
            await one_client(url, one_image[:20] + bodies[:20])  # warm: the worker's first calls trace
            rounds: dict[str, list[float]] = {k: [] for k in ("p50", "p99", "rps", "mean_batch")}
            direct: dict[str, list[float]] = {"p50": [], "p99": [], "ips_batch": [], "ips_32": []}
            metrics_url = api + f"models/{NAME}/metrics"
            for _ in range(args.rounds):
                latencies = await one_client(url, one_image[: args.requests])
                rounds["p50"].append(percentile(latencies, 50))
                rounds["p99"].append(percentile(latencies, 99))
                before = json.loads((await AsyncHTTPClient().fetch(metrics_url, headers=HEADERS)).body)
                rounds["rps"].append(k * await many_clients(url, bodies, CLIENTS, args.per_client))
                after = json.loads((await AsyncHTTPClient().fetch(metrics_url, headers=HEADERS)).body)
                rounds["mean_batch"].append(_mean_batch(before, after, k))
                batch = max(1, round(rounds["mean_batch"][-1]))
                single = in_process(serve, tf, raw, 1, args.requests)
                direct["p50"].append(percentile(single, 50))
                direct["p99"].append(percentile(single, 99))
                direct["ips_batch"].append(
                    batch * 1000 / statistics.median(in_process(serve, tf, raw, batch, 50))
                )
                direct["ips_32"].append(32 * 1000 / statistics.median(in_process(serve, tf, raw, 32, 50)))
            final = json.loads((await AsyncHTTPClient().fetch(metrics_url, headers=HEADERS)).body)
        finally:
            server.stop()
    registry = await registry_throughput(saved, raw, args)
    median = {k: statistics.median(v) for k, v in rounds.items()}
    limit = {k: statistics.median(v) for k, v in direct.items()}
    return {
        "server": {
            "one_client_ms": {"p50": median["p50"], "p99": median["p99"]},
            "clients": CLIENTS,
            "images_per_request": k,
            "images_per_s": median["rps"],
            "mean_batch": median["mean_batch"],
            "batch_histogram": final["batch_sizes"]["histogram"],
            # Inside the server: from the request's arrival at the registry to its answer (queue,
            # micro-batch wait, worker); the rest of a client's latency is HTTP, auth and JSON.
            "registry_latency_ms": final["latency_ms"],
        },
        "in_process": {
            "batch_1_ms": {"p50": limit["p50"], "p99": limit["p99"]},
            "images_per_s_at_server_batches": limit["ips_batch"],
            "images_per_s_at_batch_32": limit["ips_32"],
        },
        "registry_without_http": registry,
        "throughput_vs_in_process": median["rps"] / limit["ips_batch"],
        "throughput_vs_in_process_batch_32": median["rps"] / limit["ips_32"],
        "rounds": {**rounds, **{f"in_process_{k}": v for k, v in direct.items()}},
    }


async def registry_throughput(saved: Path, raw: np.ndarray, args: argparse.Namespace) -> dict[str, Any]:
    """Images per second of the 32 clients' requests handed to a ModelRegistry directly (no HTTP, no JSON).

    The same micro-batching and model-server worker as behind the server's route, in this
    process: what the route would reach if HTTP, authentication and TF Serving's JSON were free.
    """
    from lepton_lab.server.model_registry import ModelRegistry

    k = args.images_per_request
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
            await asyncio.gather(*(client(c) for c in range(CLIENTS)))
            rates.append(CLIENTS * args.per_client * k / (time.perf_counter() - start))
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--subset", type=int, default=12000)
    parser.add_argument("--model", default="small_cnn")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--images-per-request", type=int, default=1, help="images in each of the 32 clients' requests"
    )
    parser.add_argument("--requests", type=int, default=200, help="1-client requests per round")
    parser.add_argument(
        "--per-client", type=int, default=20, help="requests per client per round (32 clients)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        dataset_spec = {"name": args.dataset, "subset": args.subset}
        run = train(dataset=dataset_spec, model=args.model, train={"epochs": args.epochs}, runs_dir=runs)
        saved = export_model(run, "savedmodel")
        exports = {"tflite": export_model(run, "tflite"), "tflite-int8": export_model(run, "tflite", "int8")}
        raw, _ = raw_examples(datasets.load(run.spec.dataset), "test")
        serving = asyncio.run(measure(args, run, run.dir.path / saved["path"], raw))
        keras_bytes = run.dir.model_path.stat().st_size
        weights_bytes = 4 * int(run.load_model().count_params())
        int8 = exports["tflite-int8"]
        result = {
            "dataset": args.dataset,
            "subset": args.subset,
            "model": args.model,
            "epochs": args.epochs,
            "rounds": args.rounds,
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
    suffix = "" if args.images_per_request == 1 else f"_x{args.images_per_request}"
    out = RESULTS / f"serving_{args.dataset}{suffix}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    s, p, q = result["server"], result["in_process"], result["int8_vs_keras"]
    print(
        f"1 client: p50 {s['one_client_ms']['p50']:.2f} ms, p99 {s['one_client_ms']['p99']:.2f} ms "
        f"(in-process batch 1: p50 {p['batch_1_ms']['p50']:.2f} ms, p99 {p['batch_1_ms']['p99']:.2f} ms)"
    )
    print(
        f"{CLIENTS} clients x {s['images_per_request']} images/request: {s['images_per_s']:.0f} img/s, "
        f"mean batch {s['mean_batch']:.1f}; in-process "
        f"{p['images_per_s_at_server_batches']:.0f} img/s at that batch "
        f"({result['throughput_vs_in_process']:.0%}), {p['images_per_s_at_batch_32']:.0f} img/s at 32 "
        f"({result['throughput_vs_in_process_batch_32']:.0%})"
    )
    print(
        "the same requests straight to a ModelRegistry: "
        f"{result['registry_without_http']['images_per_s']:.0f} img/s"
    )
    print(
        f"int8 TFLite: {q['int8_bytes']} B = {q['size_vs_keras_file']:.1%} of model.keras, "
        f"{q['size_vs_float32_weights']:.1%} of float32 weights; accuracy {q['keras_test_accuracy']:.4f} -> "
        f"{q['int8_test_accuracy']:.4f} ({q['accuracy_change_points']:+.2f} points), "
        f"agreement {q['agreement']:.3f}"
    )
    print(f"latency ms per call (batch_1, batch_32): {json.dumps(q['latency_ms'])}")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
