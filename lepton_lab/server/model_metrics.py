"""Per-model serving metrics: counts, latency quantiles, batch sizes, class drift, Prometheus text.

One :class:`ModelMetrics` per deployed model. The registry calls :meth:`ModelMetrics.observe` once
per predict request and :meth:`ModelMetrics.observe_batch` once per batch the worker ran;
``GET models/{name}/metrics`` answers :meth:`ModelMetrics.snapshot`, the ``Model`` payload carries
:meth:`ModelMetrics.summary`, and ``GET metrics`` answers :func:`prometheus_text`.

Every observation costs O(1) amortised (plus one step per predicted example) and memory is bounded
whatever the traffic: latencies live in a fixed-size window, the history in at most ``history_s /
bucket_s`` time buckets, the drift window in a fixed-size deque, and every other figure is a counter.
Nothing here imports TensorFlow (the server process never does).
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import generate_latest

#: Upper bounds (seconds) of the Prometheus latency histogram: 0.5 ms .. 10 s covers a small CPU
#: model answering one example up to a large batch queued behind a restarting worker.
LATENCY_BUCKETS_S: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
#: Upper bounds of the batch-size histogram (JSON and Prometheus alike); the last bin is open.
BATCH_BUCKETS: tuple[int, ...] = (1, 4, 8, 16, 32, 64, 128, 256)
#: Relative width of the latency bins each history bucket keeps: its quantiles are within ~2.5 %.
_HISTORY_BIN_RATIO = 1.05
_LOG_BIN_RATIO = math.log(_HISTORY_BIN_RATIO)
_QUANTILES = (0.5, 0.95, 0.99)
#: The request rate is averaged over about this many seconds (whole history buckets).
RATE_WINDOW_S = 60.0


def _batch_labels() -> list[str]:
    """JSON keys of the batch-size histogram: ``"1"``, ``"2-4"``, ``"5-8"``, ..., ``"257+"``."""
    labels, low = [], 1
    for high in BATCH_BUCKETS:
        labels.append(str(high) if high == low else f"{low}-{high}")
        low = high + 1
    labels.append(f"{low}+")
    return labels


_BATCH_LABELS = _batch_labels()


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """Return the ``q`` quantile (0..1) of ascending ``sorted_values``, interpolated linearly.

    Same definition as ``numpy.percentile(values, 100 * q)`` (its default ``"linear"`` method),
    so figures agree with what a user computes from the raw latencies.
    """
    position = q * (len(sorted_values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    fraction = position - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * fraction


def jensen_shannon(p: Sequence[float], q: Sequence[float]) -> float:
    """Jensen-Shannon divergence of two probability vectors, in bits (0 = identical, 1 = disjoint).

    The divergence, not the distance (``scipy.spatial.distance.jensenshannon(p, q, base=2) ** 2``).
    Unlike Kullback-Leibler it is finite when a class is absent from one side, which is the usual
    case for a window of predictions.
    """
    total = 0.0
    for a, b in zip(p, q, strict=True):
        m = (a + b) / 2
        if a > 0:
            total += a * math.log2(a / m)
        if b > 0:
            total += b * math.log2(b / m)
    return max(0.0, total / 2)


def default_min_predictions(classes: int, window: int) -> int:
    """Predictions needed in the drift window before ``drifting`` may be set.

    A window of ``n`` predictions drawn from exactly the training distribution still scores about
    ``(classes - 1) / (8 n ln 2)`` bits by sampling noise alone (the chi-square approximation of the
    divergence), with a tail that grows with the number of classes. ``max(100, 5 * classes)``
    keeps that noise several standard deviations below the default threshold of 0.1 (10 classes:
    noise ~0.016 bits at 100 predictions; 100 classes: ~0.036 at 500) so an unchanged input stream
    does not raise a false alarm, while a real shift is flagged within a few hundred requests.
    Capped at ``window``, which could otherwise never fill.
    """
    return min(window, max(100, 5 * classes))


class _Bucket:
    """Traffic of one ``bucket_s`` interval, for the history chart and the request rate."""

    __slots__ = ("errors", "index", "latency_bins", "latency_count", "requests")

    def __init__(self, index: int) -> None:
        self.index = index
        self.requests = 0
        self.errors = 0
        self.latency_count = 0
        # Sparse log-spaced histogram of latencies: a bucket's quantiles without keeping every value.
        self.latency_bins: dict[int, int] = {}

    def add_latency(self, latency_s: float) -> None:
        key = math.floor(math.log(max(latency_s, 1e-9)) / _LOG_BIN_RATIO)
        self.latency_bins[key] = self.latency_bins.get(key, 0) + 1
        self.latency_count += 1

    def copy(self) -> tuple[int, int, int, int, dict[int, int]]:
        """Copy what a history point needs, so it is computed outside the lock."""
        return self.index, self.requests, self.errors, self.latency_count, dict(self.latency_bins)


def _binned_quantiles_ms(bins: dict[int, int], count: int) -> list[float | None]:
    """Approximate p50/p95/p99 (ms) of a bucket: the geometric middle of the bin holding each."""
    if not count:
        return [None, None, None]
    ranks = [q * (count - 1) for q in _QUANTILES]
    found: list[float | None] = []
    seen = 0
    for key in sorted(bins):
        seen += bins[key]
        while seen > ranks[len(found)]:
            found.append(1000 * math.exp((key + 0.5) * _LOG_BIN_RATIO))
            if len(found) == len(ranks):
                return found
    raise AssertionError("unreachable: the bins hold `count` latencies")


class ModelMetrics:
    """Monitoring of one served model; thread-safe, O(1) per request, bounded memory.

    Parameters
    ----------
    name : str
        The deployed model's name (the ``model`` label in Prometheus).
    classes : list of str
        Class names in output order; ``predicted`` indices point into it.
    training_distribution : sequence of float or None
        Fraction (or count) of each class in the training split, aligned with ``classes``;
        normalised here. ``None`` when unknown: no drift score is computed.
    clock : callable
        Monotonic seconds; inject a fake one in tests.
    wall_clock : callable
        Epoch seconds, read once to stamp history points with wall time for charts.
    latency_window : int
        Latency quantiles are over the last this-many successful requests.
    drift_window : int
        Drift compares the last this-many predicted examples with the training distribution.
    drift_threshold : float
        Jensen-Shannon divergence (bits, 0..1) above which the model is ``drifting``. The default
        0.1 is, for ten balanced classes, one class rising from 10 % to about 42 % of predictions
        (or half the classes vanishing scores 0.31): a shift worth a look, far above the sampling
        noise of a full window (~0.003 for 10 classes and 500 predictions).
    min_predictions : int or None
        Predictions the drift window needs before ``drifting`` may be set; default
        :func:`default_min_predictions`.
    bucket_s, history_s : float
        Resolution and length of the ``history`` series (default 5 s over 10 minutes).

    Notes
    -----
    Latency quantiles cover successful requests only: a request refused in a millisecond because
    the worker is restarting says nothing about how fast the model answers, and is counted in
    ``errors`` instead. Counts (requests, errors, predicted classes, batch sizes) are totals since
    the model was deployed, as Prometheus counters are.
    """

    def __init__(
        self,
        name: str,
        classes: Sequence[str],
        training_distribution: Sequence[float] | None,
        clock: Callable[[], float] = time.monotonic,
        *,
        wall_clock: Callable[[], float] = time.time,
        latency_window: int = 1000,
        drift_window: int = 500,
        drift_threshold: float = 0.1,
        min_predictions: int | None = None,
        bucket_s: float = 5.0,
        history_s: float = 600.0,
    ) -> None:
        if not classes:
            raise ValueError(
                f"model {name!r}: classes is empty; pass the model's class names in output order"
            )
        if latency_window < 1 or drift_window < 1:
            raise ValueError(
                f"model {name!r}: latency_window and drift_window must be at least 1, "
                f"got {latency_window} and {drift_window}"
            )
        if bucket_s <= 0 or history_s < bucket_s:
            raise ValueError(
                f"model {name!r}: need 0 < bucket_s <= history_s, got {bucket_s} and {history_s}"
            )
        self.name = name
        self.classes = [str(c) for c in classes]
        self.training = _normalise(name, self.classes, training_distribution)
        self.drift_window = drift_window
        self.drift_threshold = drift_threshold
        if min_predictions is None:
            min_predictions = default_min_predictions(len(self.classes), drift_window)
        self.min_predictions = min_predictions
        self.bucket_s = bucket_s
        self._history_buckets = max(1, round(history_s / bucket_s))
        self._rate_buckets = max(1, round(RATE_WINDOW_S / bucket_s))
        self._clock = clock
        self._lock = threading.Lock()
        self._created = clock()
        # Monotonic time -> epoch time, fixed once so history points never jump with NTP.
        self._wall_offset = wall_clock() - self._created

        self._requests = 0
        self._errors = 0
        self._latencies: deque[float] = deque(maxlen=latency_window)
        self._latency_sum = 0.0
        self._latency_count = 0
        self._latency_buckets = [0] * (len(LATENCY_BUCKETS_S) + 1)  # Prometheus, non-cumulative
        self._batches = _SizeHistogram()
        self._request_sizes = _SizeHistogram()
        self._predicted = [0] * len(self.classes)
        self._window: deque[int] = deque()
        self._window_counts = [0] * len(self.classes)
        self._history: deque[_Bucket] = deque()

    # ------------------------------------------------------------------ recording

    def observe(
        self, latency_s: float, batch_size: int, predicted: Sequence[int], error: bool = False
    ) -> None:
        """Record one predict request.

        Parameters
        ----------
        latency_s : float
            Seconds from receiving the request to having its answer (queueing included).
        batch_size : int
            Examples in this request.
        predicted : sequence of int
            Predicted class index of each example (empty for a failed request).
        error : bool
            The request failed (worker unavailable, ...); its latency is not in the quantiles.
        """
        if not latency_s >= 0:  # also rejects NaN
            raise ValueError(f"model {self.name!r}: latency_s must be >= 0 seconds, got {latency_s}")
        if batch_size < 0:
            raise ValueError(f"model {self.name!r}: batch_size must be >= 0, got {batch_size}")
        n_classes = len(self.classes)
        for k in predicted:
            if not 0 <= k < n_classes:
                raise ValueError(
                    f"model {self.name!r}: predicted class {k} is outside 0..{n_classes - 1} "
                    f"({n_classes} classes); pass indices into `classes`"
                )
        with self._lock:
            bucket = self._current_bucket()
            self._requests += 1
            bucket.requests += 1
            if batch_size:
                self._request_sizes.add(batch_size)
            if error:
                self._errors += 1
                bucket.errors += 1
            else:
                self._latencies.append(latency_s)
                self._latency_sum += latency_s
                self._latency_count += 1
                self._latency_buckets[bisect.bisect_left(LATENCY_BUCKETS_S, latency_s)] += 1
                bucket.add_latency(latency_s)
            window, counts, totals = self._window, self._window_counts, self._predicted
            for k in predicted:
                totals[k] += 1
                counts[k] += 1
                window.append(k)
                if len(window) > self.drift_window:
                    counts[window.popleft()] -= 1

    def observe_batch(self, batch_size: int) -> None:
        """Record one batch the model worker ran (several requests after micro-batching)."""
        if batch_size < 1:
            raise ValueError(
                f"model {self.name!r}: a worker batch holds at least 1 example, got {batch_size}"
            )
        with self._lock:
            self._batches.add(batch_size)

    def _current_bucket(self) -> _Bucket:
        """Return the history bucket for now, dropping those older than the history (lock held)."""
        index = math.floor(self._clock() / self.bucket_s)
        history = self._history
        if history and history[-1].index >= index:
            # A clock that steps back a little (a fake one) still lands in the newest bucket.
            return history[-1]
        bucket = _Bucket(index)
        history.append(bucket)
        oldest = index - self._history_buckets + 1
        while history[0].index < oldest:
            history.popleft()
        return bucket

    # ------------------------------------------------------------------ reading

    def snapshot(self) -> dict[str, Any]:
        """Return everything ``GET models/{name}/metrics`` answers (JSON-ready).

        ``latency_ms`` quantiles and the drift ``score`` are ``None`` until there is data.
        ``history`` holds one point per ``bucket_s`` from deployment (at most ``history_s``
        back), gaps filled with zero requests; a point's ``t`` is the epoch second its interval
        starts, and the last point is the interval still in progress. ``predicted`` counts every
        prediction since deployment; ``drift.distribution`` is the share of each class in the
        drift window, the figure compared with ``training``.
        """
        with self._lock:
            now = self._clock()
            latencies = list(self._latencies)
            state = self._counters()
            history = [b.copy() for b in self._history]
        latencies.sort()
        drift = self._drift(state["window_counts"])
        return {
            "name": self.name,
            "requests": state["requests"],
            "errors": state["errors"],
            "request_rate": state["request_rate"],
            "latency_ms": _quantiles_ms(latencies),
            "batch_sizes": state["batches"],
            "request_sizes": state["request_sizes"],
            "predicted": dict(zip(self.classes, state["predicted"], strict=True)),
            "training": self._by_class(self.training),
            "drift": drift,
            "history": self._history_points(now, history),
        }

    def summary(self) -> dict[str, Any]:
        """Return the ``summary`` of the ``Model`` payload: the figures a list of models shows."""
        with self._lock:
            latencies = list(self._latencies)
            state = self._counters()
        latencies.sort()
        quantiles = _quantiles_ms(latencies)
        drift = self._drift(state["window_counts"])
        return {
            "requests": state["requests"],
            "errors": state["errors"],
            "request_rate": state["request_rate"],
            "latency_ms_p50": quantiles["p50"],
            "latency_ms_p95": quantiles["p95"],
            "latency_ms_p99": quantiles["p99"],
            "drift": drift["score"],
            "drifting": drift["drifting"],
        }

    def _counters(self) -> dict[str, Any]:
        """Copy the counters and the request rate (lock held)."""
        return {
            "requests": self._requests,
            "errors": self._errors,
            "request_rate": self._request_rate(self._clock()),
            "batches": self._batches.as_json(),
            "request_sizes": self._request_sizes.as_json(),
            "predicted": list(self._predicted),
            "window_counts": list(self._window_counts),
            "latency_sum": self._latency_sum,
            "latency_count": self._latency_count,
            "latency_buckets": list(self._latency_buckets),
            "batch_buckets": list(self._batches.counts),
            "batch_sum": self._batches.total,
        }

    def _request_rate(self, now: float) -> float:
        """Return requests per second over the last ~60 s (whole buckets), or since deployment if sooner."""
        first = math.floor(now / self.bucket_s) - self._rate_buckets + 1
        count = sum(b.requests for b in self._history if b.index >= first)
        span = now - max(first * self.bucket_s, self._created)
        # Under a second of data: per second of that second, not a huge ratio to a tiny span.
        return count / max(span, 1.0)

    def _drift(self, window_counts: list[int]) -> dict[str, Any]:
        n = sum(window_counts)
        score = None
        distribution = None
        if n and self.training is not None:
            distribution = [c / n for c in window_counts]
            score = jensen_shannon(distribution, self.training)
        return {
            "score": score,
            "method": "jensen_shannon",
            "threshold": self.drift_threshold,
            "drifting": score is not None and n >= self.min_predictions and score > self.drift_threshold,
            "window": self.drift_window,
            "predictions": n,
            "min_predictions": self.min_predictions,
            "distribution": self._by_class(distribution),
        }

    def _by_class(self, values: list[float] | None) -> dict[str, float] | None:
        return None if values is None else dict(zip(self.classes, values, strict=True))

    def _history_points(
        self, now: float, buckets: list[tuple[int, int, int, int, dict[int, int]]]
    ) -> list[dict[str, Any]]:
        last = math.floor(now / self.bucket_s)
        first = max(last - self._history_buckets + 1, math.floor(self._created / self.bucket_s))
        by_index = {b[0]: b for b in buckets}
        points = []
        for index in range(first, last + 1):
            _, requests, errors, count, bins = by_index.get(index, (index, 0, 0, 0, {}))
            p50, p95, p99 = _binned_quantiles_ms(bins, count)
            points.append(
                {
                    "t": self._wall_offset + index * self.bucket_s,
                    "requests": requests,
                    "errors": errors,
                    "latency_ms_p50": p50,
                    "latency_ms_p95": p95,
                    "latency_ms_p99": p99,
                }
            )
        return points

    def _prometheus(self) -> Iterator[Metric]:
        """Yield this model's metric families (the collector merges them across models)."""
        with self._lock:
            state = self._counters()
        drift = self._drift(state["window_counts"])
        yield from _families(self.name, self.classes, state, drift)


class _SizeHistogram:
    """Counts of sizes in :data:`BATCH_BUCKETS` bins, with their sum and maximum."""

    __slots__ = ("counts", "maximum", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(BATCH_BUCKETS) + 1)
        self.total = 0
        self.maximum = 0

    def add(self, size: int) -> None:
        self.counts[bisect.bisect_left(BATCH_BUCKETS, size)] += 1
        self.total += size
        self.maximum = max(self.maximum, size)

    def as_json(self) -> dict[str, Any]:
        n = sum(self.counts)
        return {
            "count": n,
            "mean": self.total / n if n else None,
            "max": self.maximum if n else None,
            "histogram": dict(zip(_BATCH_LABELS, self.counts, strict=True)),
        }


def _normalise(name: str, classes: list[str], distribution: Sequence[float] | None) -> list[float] | None:
    if distribution is None:
        return None
    values = [float(v) for v in distribution]
    if len(values) != len(classes):
        raise ValueError(
            f"model {name!r}: training_distribution has {len(values)} entries but there are "
            f"{len(classes)} classes; give one fraction (or count) per class, in class order"
        )
    if any(not v >= 0 for v in values) or sum(values) <= 0:
        raise ValueError(
            f"model {name!r}: training_distribution {values} must be non-negative with a positive sum"
        )
    total = sum(values)
    return [v / total for v in values]


def _quantiles_ms(sorted_latencies: list[float]) -> dict[str, float | None]:
    if not sorted_latencies:
        return {"p50": None, "p95": None, "p99": None}
    return {f"p{round(q * 100)}": 1000 * quantile(sorted_latencies, q) for q in _QUANTILES}


# ---------------------------------------------------------------------- Prometheus


def _families(
    name: str, classes: list[str], state: dict[str, Any], drift: dict[str, Any]
) -> Iterator[Metric]:
    labels = [name]
    requests = CounterMetricFamily(
        "lepton_lab_model_requests", "Predict requests received.", labels=["model"]
    )
    requests.add_metric(labels, state["requests"])
    yield requests
    errors = CounterMetricFamily("lepton_lab_model_errors", "Predict requests that failed.", labels=["model"])
    errors.add_metric(labels, state["errors"])
    yield errors
    latency = HistogramMetricFamily(
        "lepton_lab_model_latency_seconds", "Latency of successful predict requests.", labels=["model"]
    )
    latency.add_metric(labels, _cumulative(LATENCY_BUCKETS_S, state["latency_buckets"]), state["latency_sum"])
    yield latency
    batch = HistogramMetricFamily(
        "lepton_lab_model_batch_size",
        "Examples per batch the model worker ran (after micro-batching).",
        labels=["model"],
    )
    batch.add_metric(labels, _cumulative(BATCH_BUCKETS, state["batch_buckets"]), state["batch_sum"])
    yield batch
    predictions = CounterMetricFamily(
        "lepton_lab_model_predictions", "Examples predicted as each class.", labels=["model", "class"]
    )
    for class_name, count in zip(classes, state["predicted"], strict=True):
        predictions.add_metric([name, class_name], count)
    yield predictions
    score = GaugeMetricFamily(
        "lepton_lab_model_drift_score",
        "Jensen-Shannon divergence (bits) of recent predicted classes from the training distribution.",
        labels=["model"],
    )
    drifting = GaugeMetricFamily(
        "lepton_lab_model_drifting", "1 when the drift score is above its threshold.", labels=["model"]
    )
    if drift["score"] is not None:  # no sample rather than a made-up 0 before the first prediction
        score.add_metric(labels, drift["score"])
    drifting.add_metric(labels, 1.0 if drift["drifting"] else 0.0)
    yield score
    yield drifting


def _cumulative(bounds: Sequence[float], counts: list[int]) -> list[tuple[str, float]]:
    """Prometheus ``le`` buckets from per-bin counts (the last bin is ``+Inf``)."""
    running = 0
    buckets: list[tuple[str, float]] = []
    for bound, count in zip([*bounds, math.inf], counts, strict=True):
        running += count
        buckets.append(("+Inf" if bound == math.inf else _le(bound), running))
    return buckets


def _le(bound: float) -> str:
    return repr(float(bound))


class _ModelsCollector:
    """A prometheus_client collector over ModelMetrics, merging each metric's samples across models."""

    def __init__(self, models: Iterable[ModelMetrics]) -> None:
        self._models = list(models)

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        for model in self._models:
            for family in model._prometheus():
                if family.name in families:
                    families[family.name].samples.extend(family.samples)
                else:
                    families[family.name] = family
        yield from families.values()


def prometheus_text(models: Iterable[ModelMetrics]) -> bytes:
    """Every model's metrics in the Prometheus text exposition format (version 0.0.4).

    Uses a private registry so nothing leaks into prometheus_client's process-global one.
    Latency is a histogram, not a summary: Prometheus users aggregate histograms across servers
    and compute any quantile over any range with ``histogram_quantile()``, which a summary's
    precomputed per-process quantiles cannot do. The sliding-window p50/p95/p99 stay in the JSON.
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ModelsCollector(models))
    return generate_latest(registry)
