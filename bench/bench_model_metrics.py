"""Cost of model monitoring: ModelMetrics.observe() per request, snapshot()/summary() at 10k requests.

observe() runs on every predict request (in the server's event loop or an executor thread), so it
must stay a few microseconds; snapshot() answers ``GET models/{name}/metrics`` and summary() is in
every ``Model`` payload (~1/s per model on the stream). For scale, the same requests are also fed
to prometheus_client's own Counter + Histogram (what a hand-instrumented server would pay), the
two interleaved round by round in this process so machine load hits both alike; medians printed.

Usage: python bench/bench_model_metrics.py [--rounds 7] [--requests 10000] [--batch 8]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Histogram

from lepton_lab.server.model_metrics import ModelMetrics, prometheus_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=8, help="examples per request (predicted classes)")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    latencies = rng.lognormal(-6, 1, size=args.requests).tolist()
    predicted = rng.integers(0, 10, size=(args.requests, args.batch)).tolist()
    classes = [str(i) for i in range(10)]

    def observe_ours() -> tuple[float, ModelMetrics]:
        metrics = ModelMetrics("digits", classes, [0.1] * 10)  # the real clock, as served
        start = time.perf_counter()
        for latency, pred in zip(latencies, predicted, strict=True):
            metrics.observe(latency, args.batch, pred)
        return (time.perf_counter() - start) / args.requests, metrics

    def observe_prometheus_client() -> float:
        registry = CollectorRegistry()
        requests = Counter("requests", "", ["model"], registry=registry).labels("digits")
        latency = Histogram("latency_seconds", "", ["model"], registry=registry).labels("digits")
        predictions = Counter("predictions", "", ["model", "class"], registry=registry)
        children = [predictions.labels("digits", c) for c in classes]
        start = time.perf_counter()
        for value, pred in zip(latencies, predicted, strict=True):
            requests.inc()
            latency.observe(value)
            for k in pred:
                children[k].inc()
        return (time.perf_counter() - start) / args.requests

    def spread_over_history() -> ModelMetrics:
        # The same requests spread over 10 minutes: every 5-s history point holds latencies.
        clock = _StepClock(600.0 / args.requests)
        metrics = ModelMetrics("digits", classes, [0.1] * 10, clock=clock)
        for latency, pred in zip(latencies, predicted, strict=True):
            metrics.observe(latency, args.batch, pred)
        return metrics

    ours, reference, snapshots, summaries, exposition, full_history = [], [], [], [], [], []
    for _ in range(args.rounds):
        per_request, metrics = observe_ours()
        ours.append(per_request)
        reference.append(observe_prometheus_client())
        snapshots.append(_timed(metrics.snapshot))
        summaries.append(_timed(metrics.summary))
        exposition.append(_timed(lambda m=metrics: prometheus_text([m])))
        full_history.append(_timed(spread_over_history().snapshot))

    def us(values: list[float]) -> str:
        return f"{statistics.median(values) * 1e6:8.1f} µs"

    print(f"{args.requests} requests of {args.batch} examples, {args.rounds} interleaved rounds, medians:")
    print(f"  ModelMetrics.observe() per request     {us(ours)}")
    print(
        f"  prometheus_client Counter+Histogram    {us(reference)}"
        f"   (ratio {statistics.median(ours) / statistics.median(reference):.2f})"
    )
    print(f"  snapshot() at {args.requests} requests        {us(snapshots)}")
    print(f"  snapshot(), 10-minute history full     {us(full_history)}")
    print(f"  summary()  at {args.requests} requests        {us(summaries)}")
    print(f"  prometheus_text() for 1 model          {us(exposition)}")


class _StepClock:
    """Advances a fixed step at every reading (one reading per observe)."""

    def __init__(self, step: float) -> None:
        self.t, self.step = 0.0, step

    def __call__(self) -> float:
        self.t += self.step
        return self.t


def _timed(call: object, repeats: int = 20) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        call()  # type: ignore[operator]
    return (time.perf_counter() - start) / repeats


if __name__ == "__main__":
    main()
