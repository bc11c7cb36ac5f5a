"""Audio augmentation preview and a text run's EvaluationView in a real JupyterLab.

A notebook shows ``ll.AugmentationPreview`` on a few spoken digits with time_shift and
audio_noise: each row is an original clip and its augmented variants as players with waveform
and spectrogram thumbnails. Chromium must decode every variant's WAV as a 1 s clip, and moving
the time-shift slider in the page must change the spec the kernel would train with. Then a
tiny bag-of-words run on language fortunes is trained in the kernel and ``ll.EvaluationView``
shows its worst texts and a 5x5 grid of text cards; a tiny audio_cnn run's view plays its
worst clips and grid. Screenshots go to tests/artifacts.
"""

from __future__ import annotations

import pytest

from tests.browser.lab_api import wait_for
from tests.browser.notebook_ui import LAB_ARGS, kernel_value, open_notebook, run_cell, write_notebook
from tests.lab_server import running_lab

PREVIEW_CELL = """\
import os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import lepton_lab as ll
digits = ll.datasets.load("spoken_digits", count=30, seed=5)
preview = ll.AugmentationPreview(
    digits, {"ops": [{"op": "time_shift", "max_fraction": 0.2}, {"op": "audio_noise", "snr_db": [5, 20]}]},
    debounce_s=0,
)
preview
"""

EVALUATION_CELL = """\
from lepton_lab.core.runner import train
run = train(dataset={"name": "fortunes_languages", "subset": 120}, model="bag_of_words",
            train={"epochs": 2, "batch_size": 16, "seed": 0}, runs_dir="runs", name="tiny text")
view = ll.EvaluationView(run)
view
"""

AUDIO_EVALUATION_CELL = """\
audio_run = train(dataset={"name": "spoken_digits", "subset": 40}, model="audio_cnn",
                  train={"epochs": 1, "batch_size": 16, "seed": 0}, runs_dir="runs", name="tiny audio")
audio_view = ll.EvaluationView(audio_run)
audio_view
"""

# Load every <audio> of the audio run's evaluation grid and report the durations Chromium decoded.

# Load every <audio> under a selector and report the durations Chromium decoded.
_DECODE_CLIPS = """
async (selector) => {
  const players = [...document.querySelectorAll(selector + ' audio')];
  return Promise.all(players.map(audio => new Promise((resolve, reject) => {
    audio.addEventListener('loadedmetadata', () => resolve(audio.duration), {once: true});
    audio.addEventListener('error', () => reject(new Error('audio error ' + audio.error.code)), {once: true});
    audio.preload = 'auto';
    audio.load();
  })));
}
"""

# Caption parts of every text card of the evaluation grid: [true, predicted, confidence].
_GRID_CARDS = """
() => [...document.querySelectorAll('.lepton-predictions-grid .lepton-text-card')].map(card => ({
  caption: card.querySelector('.lepton-card-caption').textContent,
  text: card.querySelector('.lepton-text').textContent,
  width: card.getBoundingClientRect().width,
  top: Math.round(card.getBoundingClientRect().top),
}))
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluation") / "root"
    root.mkdir()
    with running_lab(root, extra_args=LAB_ARGS) as server:
        yield server


def test_audio_augmentation_preview_plays_variants_and_a_text_run_shows_its_examples(lab, page, artifacts):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size({"width": 1400, "height": 2400})
    write_notebook(lab.root, "text_audio_eval.ipynb", [PREVIEW_CELL, EVALUATION_CELL, AUDIO_EVALUATION_CELL])
    open_notebook(page, lab, "text_audio_eval.ipynb")
    news = page.locator(".jp-toast-buttonBar button, .jp-Notification-Toast-button", has_text="No")

    # -- audio augmentation preview ----------------------------------------------------------------
    run_cell(page, 0)
    clips = page.locator(".lepton-augment-clips")
    clips.wait_for(timeout=60_000)
    rows = clips.locator(".lepton-augment-row")
    assert rows.count() == 3  # three sample clips, each: original + 2 variants
    assert clips.locator("audio").count() == 9
    assert clips.locator("img.lepton-waveform").count() == 9
    assert clips.locator("img.lepton-spectrogram").count() == 9
    assert clips.locator("img.lepton-spectrogram").first.evaluate("img => img.naturalWidth") == 160
    durations = page.evaluate(_DECODE_CLIPS, ".lepton-augment-clips")
    assert len(durations) == 9 and all(abs(d - 1.0) < 0.01 for d in durations), durations
    assert rows.first.locator(".lepton-card-caption").first.inner_text() == "original"

    # The time-shift slider in the page changes the spec training gets, and the preview redraws.
    refreshes = kernel_value(page, "preview.refreshes")
    slider = page.locator(".widget-slider", has=page.locator("label", has_text="max_fraction"))
    handle = slider.locator(".noUi-handle, .ui-slider-handle").first
    handle.focus()
    for _ in range(5):
        handle.press("ArrowRight")
    wait_for(lambda: kernel_value(page, "preview.refreshes") > refreshes, 30, "the preview redrew")
    shifted = kernel_value(page, "preview.spec.ops[0].max_fraction")
    assert shifted > 0.2
    assert kernel_value(page, "preview.value['ops'][0]['max_fraction']") == shifted
    if news.count():
        news.first.click()  # the "Jupyter news?" toast would cover the screenshots
    preview = page.locator(".widget-vbox", has=clips).last
    preview.scroll_into_view_if_needed()
    preview.screenshot(path=str(artifacts / "audio-augmentation-preview.png"))

    # -- a text run's evaluation -------------------------------------------------------------------
    run_cell(page, 1)
    grid = page.locator(".lepton-predictions-grid", has=page.locator(".lepton-text-card"))
    grid.wait_for(timeout=120_000)
    wait_for(lambda: len(page.evaluate(_GRID_CARDS)) == 25, 30, "25 text cards")
    cards = page.evaluate(_GRID_CARDS)
    expected = kernel_value(
        page,
        "[(run.evaluation.class_names[e['true']], run.evaluation.class_names[e['predicted']], e['text'])"
        " for e in run.evaluation.grid]",
    )
    for card, (true, predicted, text) in zip(cards, expected, strict=True):
        assert card["caption"].startswith(f"{true} → {predicted}")
        assert card["caption"].rstrip().endswith("%")
        assert " ".join(card["text"].split())[:40] == " ".join(text.split())[:40]
    assert len({card["top"] for card in cards}) == 5, "five rows of five cards"
    worst = page.locator(".lepton-worst-texts tbody tr")
    assert worst.count() == 25
    view = page.locator(".widget-vbox", has=grid).last
    view.scroll_into_view_if_needed()
    view.screenshot(path=str(artifacts / "text-evaluation-view.png"))
    grid.scroll_into_view_if_needed()
    grid.screenshot(path=str(artifacts / "text-evaluation-grid.png"))

    # -- an audio run's evaluation -----------------------------------------------------------------
    run_cell(page, 2)
    clip_grid = page.locator(".lepton-predictions-grid", has=page.locator(".lepton-audio-card"))
    clip_grid.wait_for(timeout=180_000)
    test_count = kernel_value(page, "len(audio_run.evaluation.grid)")
    assert clip_grid.locator("audio").count() == test_count
    assert clip_grid.locator("img.lepton-spectrogram").count() == test_count
    durations = page.evaluate(_DECODE_CLIPS, ".lepton-predictions-grid:has(.lepton-audio-card)")
    assert len(durations) == test_count and all(abs(d - 1.0) < 0.01 for d in durations), durations
    worst_clips = kernel_value(page, "min(10, len(audio_run.evaluation.worst))")
    assert page.locator(".lepton-worst-grid .lepton-audio-card audio").count() == worst_clips
    assert page.locator(".lepton-worst-grid img.lepton-waveform").count() == worst_clips
    audio_view = page.locator(".widget-vbox", has=clip_grid).last
    audio_view.scroll_into_view_if_needed()
    audio_view.screenshot(path=str(artifacts / "audio-evaluation-view.png"))
    assert not errors, errors
