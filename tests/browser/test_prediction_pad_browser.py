"""The PredictionPad in JupyterLab: a stroke drawn with the mouse reaches the model and the bars.

A small Keras model is trained on digits in the kernel; the pad opens on the first test
example. The test clears the canvas, draws a 7 with Playwright's mouse, and waits (for
conditions, never for a time) until the kernel has answered the drawing: its probabilities
changed, and the bars in the page are the kernel's new top-k. Then it uploads a PNG through the
pad's file input (the model sees the stored digit) and one too small for the model (the widget
says so and keeps the last bars).
"""

from __future__ import annotations

import numpy as np
import pytest

from lepton_lab.core import datasets
from lepton_lab.sharing import images
from tests.browser.lab_api import wait_for
from tests.browser.notebook_ui import (
    LAB_ARGS,
    kernel_value,
    open_notebook,
    run_cell,
    wait_for_kernel_value,
    write_notebook,
)
from tests.lab_server import running_lab

pytestmark = pytest.mark.slow

CELL = """\
import os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import lepton_lab as ll
from lepton_lab.core.tf_import import keras

digits = ll.datasets.load("digits")
keras.utils.set_random_seed(0)
model = keras.Sequential([
    keras.Input((8, 8, 1)), keras.layers.Flatten(),
    keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10, activation="softmax"),
])
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(*digits.arrays("train"), epochs=15, verbose=0)
pad = ll.PredictionPad(model, dataset=digits, top_k=5)
pad
"""

# The bars the page shows: (class, probability) from their data attributes, in page order.
_BARS = """
() => [...document.querySelectorAll('.lepton-prediction-pad .lepton-pad-bar')].map(
  bar => [bar.dataset.class, Number(bar.dataset.probability)])
"""

# Share of canvas pixels that are not the paper colour (black): the strokes drawn.
_INK = """
() => {
  const canvas = document.querySelector('.lepton-prediction-pad canvas.lepton-pad-canvas');
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let ink = 0;
  for (let i = 0; i < pixels.length; i += 4) { if (pixels[i] > 128) { ink += 1; } }
  return ink / (canvas.width * canvas.height);
}
"""


#: A 4x4 black PNG: smaller than the digits model's 8x8 input.
_TINY_PNG = images.png(np.zeros((4, 4), np.uint8))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("pad") / "root"
    root.mkdir()
    with running_lab(root, extra_args=LAB_ARGS) as server:
        yield server


def test_a_stroke_drawn_with_the_mouse_updates_the_kernel_and_the_bars(lab, page, artifacts):
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    write_notebook(lab.root, "pad.ipynb", [CELL])
    open_notebook(page, lab, "pad.ipynb")
    run_cell(page, 0)
    pad = page.locator(".lepton-prediction-pad")
    canvas = pad.locator("canvas.lepton-pad-canvas")
    canvas.wait_for(timeout=60_000)
    # the pad opens on test example #0, its bars the kernel's top 5
    wait_for(lambda: len(page.evaluate(_BARS)) == 5, 30, "the first example's five bars")
    first = kernel_value(page, "[[n, round(p, 6)] for n, p in pad.top]")
    assert [name for name, _ in page.evaluate(_BARS)] == [name for name, _ in first]
    before = kernel_value(page, "pad.probabilities.tolist()")

    pad.locator("button.lepton-pad-clear").click()
    wait_for_kernel_value(page, "pad.canvas.background", "")
    assert page.evaluate(_INK) == 0

    box = canvas.bounding_box()
    assert box is not None

    def at(x: float, y: float) -> tuple[float, float]:  # canvas fraction -> page pixels
        return box["x"] + x * box["width"], box["y"] + y * box["height"]

    page.mouse.move(*at(0.2, 0.18))
    page.mouse.down()
    page.mouse.move(*at(0.8, 0.18), steps=15)  # a 7: the bar, then the stem
    page.mouse.move(*at(0.45, 0.85), steps=20)
    page.mouse.up()

    assert page.evaluate(_INK) > 0.02
    wait_for_kernel_value(page, "pad.source", "drawing")
    # the final drawing (sent at stroke end) is answered after any live one sent while drawing
    sent = int(canvas.evaluate("c => c.parentElement.dataset.sent"))
    assert sent >= 1
    wait_for_kernel_value(page, "pad.canvas.drawings", sent)
    after = kernel_value(page, "pad.probabilities.tolist()")
    assert after != before
    top = kernel_value(page, "[[n, round(p, 6)] for n, p in pad.top]")
    assert top != first
    wait_for(
        lambda: [[n, round(p, 6)] for n, p in page.evaluate(_BARS)] == top, 30, "the bars show the new top 5"
    )
    # the model saw the stroke downscaled to 8x8 on the digits' 0..16 levels
    seen = kernel_value(page, "(pad.seen[..., 0] * 16).round().astype(int).tolist()")
    assert len(seen) == 8 and all(len(row) == 8 for row in seen) and max(map(max, seen)) > 8
    assert not [error for error in errors if "pad" in error.lower() or "anywidget" in error.lower()]
    pad.screenshot(path=str(artifacts / "prediction-pad.png"))

    # an uploaded PNG (a stored test digit, enlarged) is what the model sees next
    nine = images.png(datasets.load("digits").page(9, 1, split="test").images[0], 6)
    upload = pad.locator("input.lepton-pad-file")
    upload.set_input_files(files=[{"name": "nine.png", "mimeType": "image/png", "buffer": nine}])
    wait_for_kernel_value(page, "pad.source", "nine.png")
    assert kernel_value(page, "bool((pad.seen == digits.page(9, 1, split='test').images[0]).all())")
    top = kernel_value(page, "[[n, round(p, 6)] for n, p in pad.top]")
    wait_for(lambda: [[n, round(p, 6)] for n, p in page.evaluate(_BARS)] == top, 30, "the upload's bars")
    # a file too small for the model is explained in the widget, the last bars kept
    upload.set_input_files(files=[{"name": "tiny.png", "mimeType": "image/png", "buffer": _TINY_PNG}])
    error = pad.locator(".lepton-pad-error")
    error.wait_for(timeout=30_000)
    assert "smaller than the model's 8x8 input" in error.inner_text()
    assert [[n, round(p, 6)] for n, p in page.evaluate(_BARS)] == top
