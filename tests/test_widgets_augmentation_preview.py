"""AugmentationPreview: controls become the AugmentSpec training uses, previewed with its layers."""

from __future__ import annotations

import io
import json
import types

import numpy as np
import pytest
from PIL import Image

from lepton_lab.core import augment, datasets
from lepton_lab.core.specs import AugmentSpec
from lepton_lab.widgets.augmentation_preview import AugmentationPreview


@pytest.fixture(scope="module")
def digits():
    return datasets.load("digits")


def test_spec_follows_the_controls_keeping_the_given_op_order(digits):
    preview = AugmentationPreview(digits, {"ops": [{"op": "noise", "stddev": 0.1}]}, debounce_s=0)
    preview.enabled["flip"].value = True
    preview.parameters["flip"].value = "vertical"
    preview.enabled["rotation"].value = True
    preview.parameters["rotation"].value = 0.25
    expected = AugmentSpec(ops=[{"op": "noise", "stddev": 0.1}, {"op": "flip", "mode": "vertical"},
                                {"op": "rotation", "factor": 0.25}])  # fmt: skip
    assert preview.spec == expected
    assert preview.value == expected.model_dump(mode="json")
    preview.enabled["noise"].value = False
    assert [op.op for op in preview.spec.ops] == ["flip", "rotation"]
    assert preview.parameters["noise"].disabled


def test_preview_shows_exactly_what_training_layers_make_for_the_seed(digits):
    spec = {"ops": [{"op": "rotation", "factor": 0.1}, {"op": "zoom", "factor": 0.2}]}
    preview = AugmentationPreview(digits, spec, n_images=6, n_variants=3, seed=7, debounce_s=0)
    expected = augment.preview(preview.images, preview.spec, n_variants=3, seed=7)
    np.testing.assert_array_equal(preview.variants, expected)
    assert not np.allclose(preview.variants[:, 0], preview.images)  # the images really are augmented
    picture = Image.open(io.BytesIO(preview.image.value))
    # 4 rows (originals + 3 variants) and 6 columns of 48 px tiles with 3 px gaps
    assert picture.size == (6 * 48 + 5 * 3, 4 * 48 + 3 * 3)


def test_reseed_gives_new_variants_and_the_same_seed_gives_the_same(digits):
    preview = AugmentationPreview(digits, {"ops": [{"op": "translation", "factor": 0.3}]}, debounce_s=0)
    first = preview.variants.copy()
    preview.reseed.click()
    assert preview.seed == 1
    assert not np.array_equal(preview.variants, first)
    preview.seed = 0
    np.testing.assert_array_equal(preview.variants, first)


class FakeTimers:
    """Debounce timers the test fires by hand: started ones, in order, with their cancellations."""

    def __init__(self):
        self.started = []

    def __call__(self, delay_s, callback):
        timer = types.SimpleNamespace(delay_s=delay_s, callback=callback, cancelled=False)
        timer.cancel = lambda: setattr(timer, "cancelled", True)
        self.started.append(timer)
        return timer


def test_moving_controls_quickly_refreshes_once_after_they_stop(digits):
    timers = FakeTimers()
    preview = AugmentationPreview(digits, debounce_s=0.3, timer=timers)
    start = preview.refreshes
    preview.enabled["contrast"].value = True
    for value in (0.3, 0.4, 0.5, 0.6):
        preview.parameters["contrast"].value = value
    assert preview.refreshes == start  # nothing yet: still inside the debounce delay
    live = [timer for timer in timers.started if not timer.cancelled]
    assert len(live) == 1 and len(timers.started) == 5  # each change restarted the delay
    assert live[0].delay_s == 0.3
    live[0].callback()  # the delay has passed since the last change
    assert preview.refreshes == start + 1
    assert preview.caption.value.count("contrast") == 1
    assert "0.6" in json.dumps(preview.value)  # the refresh shows the last value set


def test_tabular_datasets_are_refused_with_a_reason():
    frame = datasets.load((np.random.default_rng(0).random((50, 3)), np.arange(50) % 2))
    with pytest.raises(ValueError, match="tabular dataset; augmentation previews need images"):
        AugmentationPreview(frame)
