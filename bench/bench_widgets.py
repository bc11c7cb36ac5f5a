"""Widget benchmarks (issue 5): browser page, augmentation refresh, live-plot overhead on training.

Run: ``.venv/bin/python bench/bench_widgets.py``. Targets: a DatasetBrowser page of 64
Fashion-MNIST thumbnails <= 100 ms; an AugmentationPreview refresh of 16 images <= 150 ms;
LivePlot's cost on training <= 2 %.
"""

from __future__ import annotations

import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def median_ms(function, repeat=7):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_browser_page():
    from lepton_lab.core import datasets
    from lepton_lab.widgets.dataset_browser import DatasetBrowser

    try:
        data = datasets.load("fashion_mnist")
    except datasets.DatasetUnavailable:
        data = datasets.load("digits")
    browser = DatasetBrowser(data, page_size=64)
    pages = iter(range(100, 10_000, 37))
    return data.name, median_ms(lambda: browser.go(next(pages)))


def bench_augmentation_refresh():
    from lepton_lab.widgets.augmentation_preview import AugmentationPreview

    spec = {"ops": [{"op": "flip"}, {"op": "rotation", "factor": 0.1}, {"op": "zoom", "factor": 0.1},
                    {"op": "contrast", "factor": 0.2}]}  # fmt: skip
    preview = AugmentationPreview("digits", spec, n_images=4, n_variants=3, debounce_s=0)  # 16 images
    preview.refresh()
    return median_ms(preview.refresh)


def bench_live_plot_overhead(epochs=3):
    """Share of fit's wall time spent in the LivePlot callback (timing both fits is too noisy here)."""
    import keras
    import numpy as np

    from lepton_lab.widgets.live_plot import LivePlot

    rng = np.random.default_rng(0)
    x, y = rng.random((20_000, 32)).astype("float32"), rng.integers(0, 10, 20_000)
    plot = LivePlot()
    plot.widget  # noqa: B018 - render into a widget, as in a dashboard
    callback = plot.callback()
    spent = 0.0
    for hook in ("on_train_batch_end", "on_epoch_end", "on_epoch_begin"):
        original = getattr(callback, hook)

        def timed(*args, _original=original, **kwargs):
            nonlocal spent
            start = time.perf_counter()
            _original(*args, **kwargs)
            spent += time.perf_counter() - start

        setattr(callback, hook, timed)
    model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])  # fmt: skip
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x, y, batch_size=32, epochs=epochs, validation_split=0.1, verbose=0, callbacks=[callback])
    total = time.perf_counter() - start
    return spent, total, plot.redraws, plot.events


if __name__ == "__main__":
    name, page_ms = bench_browser_page()
    print(f"DatasetBrowser page of 64 {name} thumbnails: {page_ms:.1f} ms (target <= 100)")
    print(f"AugmentationPreview refresh of 16 images: {bench_augmentation_refresh():.1f} ms (target <= 150)")
    spent, total, redraws, events = bench_live_plot_overhead()
    print(f"LivePlot in fit: {spent:.3f} s of {total:.2f} s = {100 * spent / total:.2f} % "
          f"({events} events, {redraws} redraws; target <= 2 %)")  # fmt: skip
