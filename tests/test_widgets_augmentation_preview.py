"""AugmentationPreview: controls become the AugmentSpec training uses, previewed with its layers."""

from __future__ import annotations

import io
import json
import time
import types

import numpy as np
import pytest
from PIL import Image

from lepton_lab.core import augment, datasets
from lepton_lab.core.specs import AugmentSpec
from lepton_lab.sharing.audio_media import PREVIEW_RATE, resample
from lepton_lab.widgets.augmentation_preview import AugmentationPreview
from tests.wav_files import MULAW, mulaw_tolerance, players


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


# --- audio ------------------------------------------------------------------------------------------

AUDIO_SPEC = {"ops": [{"op": "time_shift", "max_fraction": 0.2}, {"op": "audio_noise", "snr_db": [5, 20]}]}


@pytest.fixture(scope="module")
def spoken():
    return datasets.load("spoken_digits", count=30, seed=5)


def _wavs(markup):
    """``(rate, float samples)`` of every ``<audio src="data:audio/wav;base64,...">`` in ``markup``."""
    decoded = []
    for wav in players(markup):
        assert wav.format == MULAW  # a preview player
        decoded.append((wav.rate, wav.samples))
    return decoded


def test_audio_preview_offers_audio_ops_and_plays_originals_and_the_training_variants(spoken):
    preview = AugmentationPreview(spoken, AUDIO_SPEC, seed=3, debounce_s=0)
    assert list(preview.enabled) == ["time_shift", "audio_noise"]
    assert preview.spec == AugmentSpec(**AUDIO_SPEC) and preview.value == preview.spec.model_dump(mode="json")
    expected = augment.preview(preview.images, preview.spec, n_variants=2, seed=3)
    np.testing.assert_array_equal(preview.variants, expected)
    assert preview.images.shape == (3, 16_000) and preview.variants.shape == (3, 2, 16_000)
    markup = preview.clips.value
    clips = _wavs(markup)
    assert len(clips) == 3 * 3 and all(rate == PREVIEW_RATE for rate, _ in clips)
    # Row by row: the original, then its variants, each as played back (mu-law of the waveform
    # band-limited to the preview's 8 kHz).
    shown = [preview.images[0], *expected[0]]
    for (_, played), waveform in zip(clips[:3], shown, strict=True):
        band_limited = resample(waveform, 16_000, PREVIEW_RATE)
        assert np.all(np.abs(played - band_limited) <= mulaw_tolerance(band_limited))
    assert not np.allclose(clips[1][1], clips[0][1], atol=1e-3), "the variant sounds different"
    assert markup.count('class="lepton-waveform"') == 9 and markup.count('class="lepton-spectrogram"') == 9
    assert "each row: an original clip, then 2 variants" in preview.caption.value


def test_audio_preview_controls_build_the_spec_training_gets(spoken):
    preview = AugmentationPreview(spoken, debounce_s=0)
    assert preview.spec.ops == []
    np.testing.assert_array_equal(preview.variants[:, 0], preview.images)
    preview.enabled["audio_noise"].value = True
    preview.parameters["audio_noise"].value = (12.0, 24.0)
    preview.enabled["time_shift"].value = True
    preview.parameters["time_shift"].value = 0.05
    assert preview.spec == AugmentSpec(
        ops=[{"op": "audio_noise", "snr_db": [12, 24]}, {"op": "time_shift", "max_fraction": 0.05}]
    )
    preview.spec = {"ops": [{"op": "time_shift", "max_fraction": 0.3}]}
    assert not preview.enabled["audio_noise"].value and preview.parameters["time_shift"].value == 0.3
    with pytest.raises(ValueError, match=r"flip do not apply to audio data .*use time_shift, audio_noise"):
        preview.spec = {"ops": [{"op": "flip"}]}


def test_image_ops_on_audio_audio_ops_on_images_and_text_are_refused(spoken, digits):
    with pytest.raises(ValueError, match="rotation do not apply to audio data"):
        AugmentationPreview(spoken, {"ops": [{"op": "rotation"}]})
    with pytest.raises(ValueError, match="time_shift do not apply to image data"):
        AugmentationPreview(digits, {"ops": [{"op": "time_shift"}]})
    texts = datasets.from_arrays(np.array(["a cat", "a dog", "the sun", "the moon"] * 5), np.arange(20) % 2)
    with pytest.raises(ValueError, match="text dataset; augmentation previews need images or audio"):
        AugmentationPreview(texts)


def test_audio_preview_snapshot_keeps_playable_clips(spoken):
    from lepton_lab.sharing.snapshot import snapshot_html

    preview = AugmentationPreview(spoken, AUDIO_SPEC, n_images=1, n_variants=1, debounce_s=0)
    clips = _wavs(snapshot_html(preview))
    assert len(clips) == 2 and len(clips[0][1]) == PREVIEW_RATE  # one second each


def test_the_dashboard_trains_with_the_audio_augmentation_its_preview_shows(spoken):
    from lepton_lab.widgets.training_dashboard import TrainingDashboard

    dashboard = TrainingDashboard(
        {"name": "spoken_digits", "subset": 40}, {"dataset": {"name": "spoken_digits"}, "augment": AUDIO_SPEC}
    )
    assert dashboard.tabs.titles[:2] == ("Data", "Augmentation")
    assert list(dashboard.augmentation.enabled) == ["time_shift", "audio_noise"]
    before = dashboard.augmentation.refreshes
    dashboard.augmentation.parameters["time_shift"].value = 0.15
    assert dashboard.job_spec().augment == dashboard.augmentation.spec
    assert dashboard.job_spec().augment.ops[0].max_fraction == 0.15
    # The debounced redraw runs TensorFlow in a timer thread: let it finish before the test ends
    # (a process that exits while it runs aborts in TensorFlow's thread pools).
    deadline = time.monotonic() + 120
    while dashboard.augmentation.refreshes == before:
        assert time.monotonic() < deadline, "the preview never redrew after the change"
        time.sleep(0.05)
    np.testing.assert_array_equal(
        dashboard.augmentation.variants,
        augment.preview(
            dashboard.augmentation.images, dashboard.augmentation.spec, 2, dashboard.augmentation.seed
        ),
    )
