"""ModelMetrics: quantiles, rate and history on a fake clock, drift, bounded memory, threads, Prometheus."""

from __future__ import annotations

import json
import sys
import threading
import tracemalloc

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from lepton_lab.server.model_metrics import ModelMetrics, jensen_shannon, prometheus_text

DIGITS = [str(i) for i in range(10)]


class FakeClock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def make(clock: FakeClock | None = None, **kwargs) -> ModelMetrics:
    clock = clock or FakeClock()
    kwargs.setdefault("training_distribution", [0.1] * 10)
    kwargs.setdefault("classes", DIGITS)
    return ModelMetrics("digits", clock=clock, wall_clock=clock, **kwargs)


def families(text: bytes) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text.decode())}


def test_latency_quantiles_match_numpy_over_the_sliding_window():
    metrics = make(latency_window=1000)
    latencies = np.random.default_rng(0).lognormal(mean=-6, sigma=1, size=2500)
    for latency in latencies:
        metrics.observe(float(latency), 1, [3])
    expected = np.percentile(latencies[-1000:], [50, 95, 99]) * 1000
    got = metrics.snapshot()["latency_ms"]
    assert [got["p50"], got["p95"], got["p99"]] == pytest.approx(list(expected), rel=1e-12)
    # The oldest 1500 are out of the window: including them would give other figures.
    assert got["p50"] != pytest.approx(np.percentile(latencies, 50) * 1000, rel=1e-6)
    summary = metrics.summary()
    assert summary["latency_ms_p95"] == got["p95"] and summary["requests"] == 2500


def test_failed_requests_count_as_errors_and_stay_out_of_latency():
    metrics = make()
    metrics.observe(0.010, 2, [1, 2])
    metrics.observe(0.001, 4, [], error=True)
    snap = metrics.snapshot()
    assert (snap["requests"], snap["errors"]) == (2, 1)
    assert snap["latency_ms"] == {"p50": 10.0, "p95": 10.0, "p99": 10.0}
    assert snap["request_sizes"]["histogram"]["2-4"] == 2


def test_empty_metrics_say_none_rather_than_zero():
    snap = make().snapshot()
    assert snap["requests"] == 0 and snap["request_rate"] == 0
    assert snap["latency_ms"] == {"p50": None, "p95": None, "p99": None}
    assert snap["drift"]["score"] is None and snap["drift"]["drifting"] is False
    assert snap["batch_sizes"]["mean"] is None
    json.dumps(snap)  # JSON-ready as it is


def test_request_rate_and_history_follow_the_fake_clock():
    clock = FakeClock(0.0)
    metrics = make(clock)
    for i in range(120):  # 2 requests per second for 60 s
        clock.t = i * 0.5
        metrics.observe(0.002 if i % 2 else 0.004, 1, [i % 10], error=(i == 13))
    clock.t = 60.0
    # Whole 5-s buckets 1..11 (5 s .. 60 s): 110 requests over 55 s.
    assert metrics.snapshot()["request_rate"] == pytest.approx(2.0)
    history = metrics.snapshot()["history"]
    assert [p["t"] for p in history] == [5.0 * i for i in range(13)]
    assert [p["requests"] for p in history] == [10] * 12 + [0]
    assert history[1]["errors"] == 1 and sum(p["errors"] for p in history) == 1
    # Per-bucket p95 is approximate (log bins within 2.5 %).
    assert history[0]["latency_ms_p95"] == pytest.approx(4.0, rel=0.03)
    assert history[0]["latency_ms_p50"] == pytest.approx(2.0, rel=0.03)  # 5 at 2 ms, 5 at 4 ms
    assert history[-1]["latency_ms_p95"] is None

    clock.t = 100.0  # quiet for 40 s: the rate falls, the empty buckets show as zeros
    assert metrics.summary()["request_rate"] == pytest.approx(30 / 55)  # buckets 9..11 (45 s .. 60 s) hold 30
    assert [p["requests"] for p in metrics.snapshot()["history"][-8:]] == [0] * 8


def test_history_keeps_ten_minutes_and_starts_at_deployment():
    clock = FakeClock(0.0)
    metrics = make(clock)
    assert len(metrics.snapshot()["history"]) == 1
    for second in range(0, 1200, 5):
        clock.t = float(second)
        metrics.observe(0.001, 1, [0])
    history = metrics.snapshot()["history"]
    assert len(history) == 120  # 10 minutes of 5-s points
    assert history[0]["t"] == 1200.0 - 600 + 5 - 5 and history[-1]["t"] == 1195.0
    assert all(p["requests"] == 1 for p in history)


def test_history_times_are_wall_clock_epoch_seconds():
    clock = FakeClock(50.0)
    metrics = ModelMetrics("m", DIGITS, None, clock=clock, wall_clock=lambda: 1_764_550_000.0)
    metrics.observe(0.001, 1, [0])
    assert metrics.snapshot()["history"][0]["t"] == 1_764_550_000.0


def test_batch_sizes_histogram_mean_and_max():
    metrics = make()
    for size in (1, 1, 3, 8, 64, 300):
        metrics.observe_batch(size)
    batches = metrics.snapshot()["batch_sizes"]
    assert batches["max"] == 300 and batches["mean"] == pytest.approx(377 / 6) and batches["count"] == 6
    assert batches["histogram"] == {
        "1": 2,
        "2-4": 1,
        "5-8": 1,
        "9-16": 0,
        "17-32": 0,
        "33-64": 1,
        "65-128": 0,
        "129-256": 0,
        "257+": 1,
    }


def test_drift_is_zero_for_the_training_distribution():
    metrics = make(training_distribution=[30, 10, 10, 10, 10, 10, 5, 5, 5, 5])  # counts are normalised
    pattern = [0, 0, 0, 1, 2, 3, 4, 5] * 2 + [6, 7, 8, 9]  # exactly 30/10/.../5 %
    for _ in range(25):
        metrics.observe(0.001, len(pattern), pattern)
    drift = metrics.snapshot()["drift"]
    assert drift["predictions"] == 500 and drift["score"] == pytest.approx(0.0, abs=1e-12)
    assert drift["drifting"] is False
    assert drift["distribution"]["0"] == pytest.approx(0.3)
    assert metrics.snapshot()["training"]["0"] == pytest.approx(0.3)


def test_drift_flags_a_shift_only_after_the_minimum_number_of_predictions():
    metrics = make(drift_window=500)
    assert metrics.min_predictions == 100  # max(100, 5 x 10 classes)
    for _ in range(99):  # every example predicted as class 7: a blatant shift
        metrics.observe(0.001, 1, [7])
    early = metrics.snapshot()["drift"]
    assert early["score"] > 0.5 and early["drifting"] is False  # not enough evidence yet
    metrics.observe(0.001, 1, [7])
    late = metrics.summary()
    assert late["drifting"] is True
    assert late["drift"] == pytest.approx(jensen_shannon([0] * 7 + [1, 0, 0], [0.1] * 10))


def test_drift_window_forgets_old_predictions():
    metrics = make(drift_window=200)
    for _ in range(200):
        metrics.observe(0.001, 1, [7])
    assert metrics.summary()["drifting"] is True
    for _ in range(20):
        metrics.observe(0.001, 10, list(range(10)))  # 200 predictions back on the training mix
    assert metrics.summary()["drift"] == pytest.approx(0.0, abs=1e-12)
    assert metrics.snapshot()["predicted"]["7"] == 220  # totals still count everything


def test_jensen_shannon_matches_scipy():
    distance = pytest.importorskip("scipy.spatial.distance")
    p, q = [0.5, 0.3, 0.2, 0.0], [0.1, 0.2, 0.3, 0.4]
    assert jensen_shannon(p, q) == pytest.approx(distance.jensenshannon(p, q, base=2) ** 2)
    assert jensen_shannon([1, 0], [0, 1]) == pytest.approx(1.0)


def test_memory_stays_bounded_after_many_observations():
    clock = FakeClock(0.0)
    metrics = make(clock)
    rng = np.random.default_rng(1)
    latencies = rng.lognormal(-6, 1, size=60_000).tolist()
    predicted = rng.integers(0, 10, size=(60_000, 4)).tolist()

    def run(start: int, stop: int) -> None:
        for i in range(start, stop):
            clock.t = i * 0.05  # 20 requests/s: 10 minutes of history every 12 000 requests
            metrics.observe(latencies[i], 4, predicted[i])
            metrics.observe_batch(8)

    tracemalloc.start()
    run(0, 20_000)  # fills every window and the 10-minute history
    before = tracemalloc.get_traced_memory()[0]
    run(20_000, 60_000)
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert grown < 64 * 1024, f"40 000 more requests grew memory by {grown} bytes"
    snap = metrics.snapshot()
    assert snap["requests"] == 60_000 and sum(snap["predicted"].values()) == 240_000
    assert len(snap["history"]) == 120 and snap["drift"]["predictions"] == 500


class TickingClock:
    """Advances 10 ms at every reading, so threads keep opening new history buckets."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 0.01
        return self.t


def test_observations_from_many_threads_are_counted_exactly():
    clock = TickingClock()
    metrics = ModelMetrics("digits", DIGITS, [0.1] * 10, clock=clock, wall_clock=clock)
    threads, per_thread = 8, 2000
    barrier = threading.Barrier(threads)

    def worker(k: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            metrics.observe(0.001, 2, [k, (k + i) % 10], error=(i % 100 == 0))
            metrics.observe_batch(2)
            if i % 500 == 0:
                metrics.snapshot()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads constantly so a missing lock loses updates
    try:
        pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    snap = metrics.snapshot()
    assert snap["requests"] == threads * per_thread
    assert snap["errors"] == threads * per_thread // 100
    assert sum(snap["predicted"].values()) == 2 * threads * per_thread
    assert snap["predicted"]["0"] == per_thread + threads * per_thread // 10
    assert snap["batch_sizes"]["count"] == threads * per_thread
    assert sum(p["requests"] for p in snap["history"]) == threads * per_thread


def test_bad_input_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="has 3 entries but there are 10 classes"):
        make(training_distribution=[1, 2, 3])
    metrics = make()
    with pytest.raises(ValueError, match=r"predicted class 10 is outside 0\.\.9"):
        metrics.observe(0.001, 1, [10])
    with pytest.raises(ValueError, match="latency_s must be >= 0"):
        metrics.observe(-1.0, 1, [0])
    with pytest.raises(ValueError, match="at least 1 example"):
        metrics.observe_batch(0)
    assert metrics.snapshot()["requests"] == 0  # a refused observation changes nothing


def test_prometheus_text_parses_and_carries_every_models_values():
    digits = make()
    fashion = ModelMetrics("fashion", ["T-shirt/top", "Trouser"], [0.5, 0.5], clock=FakeClock())
    for latency in (0.0004, 0.003, 0.003, 0.2):
        digits.observe(latency, 2, [1, 1])
    digits.observe(0.0, 1, [], error=True)
    digits.observe_batch(6)
    fashion.observe(0.02, 1, [0])
    parsed = families(prometheus_text([digits, fashion]))

    def value(family: str, sample: str, **labels: str) -> float:
        return next(s.value for s in parsed[family].samples if s.name == sample and s.labels == labels)

    assert parsed["lepton_lab_model_requests"].type == "counter"
    assert value("lepton_lab_model_requests", "lepton_lab_model_requests_total", model="digits") == 5
    assert value("lepton_lab_model_requests", "lepton_lab_model_requests_total", model="fashion") == 1
    assert value("lepton_lab_model_errors", "lepton_lab_model_errors_total", model="digits") == 1
    assert parsed["lepton_lab_model_latency_seconds"].type == "histogram"
    latency = "lepton_lab_model_latency_seconds"
    assert value(latency, latency + "_bucket", model="digits", le="0.0005") == 1
    assert value(latency, latency + "_bucket", model="digits", le="0.005") == 3
    assert value(latency, latency + "_bucket", model="digits", le="+Inf") == 4
    assert value(latency, latency + "_count", model="digits") == 4
    assert value(latency, latency + "_sum", model="digits") == pytest.approx(0.2064)
    batch = "lepton_lab_model_batch_size"
    assert value(batch, batch + "_bucket", model="digits", le="4.0") == 0
    assert value(batch, batch + "_bucket", model="digits", le="8.0") == 1
    assert value(batch, batch + "_sum", model="digits") == 6
    predictions = "lepton_lab_model_predictions"
    assert value(predictions, predictions + "_total", model="digits", **{"class": "1"}) == 8
    assert value(predictions, predictions + "_total", model="fashion", **{"class": "T-shirt/top"}) == 1
    drift = digits.summary()["drift"]
    assert value("lepton_lab_model_drift_score", "lepton_lab_model_drift_score", model="digits") == drift
    assert value("lepton_lab_model_drifting", "lepton_lab_model_drifting", model="digits") == 0


def test_prometheus_escapes_odd_model_and_class_names():
    odd_model = 'dig"its\\v2\nnew'
    odd_classes = ['say "hi"', "back\\slash", "new\nline", "ünïcode ✓"]
    metrics = ModelMetrics(odd_model, odd_classes, [1, 1, 1, 1], clock=FakeClock())
    metrics.observe(0.001, 4, [0, 1, 2, 3])
    parsed = families(prometheus_text([metrics]))
    samples = parsed["lepton_lab_model_predictions"].samples
    assert {(s.labels["model"], s.labels["class"], s.value) for s in samples} == {
        (odd_model, name, 1.0) for name in odd_classes
    }


def test_prometheus_text_without_models_or_data_is_valid():
    assert list(text_string_to_metric_families(prometheus_text([]).decode())) == []
    parsed = families(prometheus_text([make()]))
    assert not parsed["lepton_lab_model_drift_score"].samples  # no score yet: no made-up 0
    assert parsed["lepton_lab_model_requests"].samples[0].value == 0


def test_history_latency_quantiles_are_within_their_bin_width():
    clock = FakeClock(0.0)
    metrics = make(clock)
    latencies = np.random.default_rng(2).lognormal(-5, 1.5, size=3000)
    for latency in latencies:  # all in the first 5-s point
        metrics.observe(float(latency), 1, [0])
    point = metrics.snapshot()["history"][0]
    expected = np.percentile(latencies, [50, 95, 99], method="lower") * 1000
    got = [point["latency_ms_p50"], point["latency_ms_p95"], point["latency_ms_p99"]]
    assert got == pytest.approx(list(expected), rel=0.025)  # log bins 5 % wide


@pytest.mark.parametrize("classes", [2, 10, 100])
def test_sampling_noise_alone_never_flags_drift_at_the_minimum(classes):
    rng = np.random.default_rng(classes)
    training = np.geomspace(1, 20, classes)  # imbalanced: rare classes are the noisy ones
    training /= training.sum()
    names = [f"c{i}" for i in range(classes)]
    flagged = 0
    for _ in range(200):
        metrics = ModelMetrics("m", names, training.tolist(), clock=FakeClock())
        n = metrics.min_predictions
        metrics.observe(0.001, n, rng.choice(classes, n, p=training))
        flagged += metrics.summary()["drifting"]
    assert flagged == 0
