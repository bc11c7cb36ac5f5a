"""TextBrowser and AudioBrowser in a real JupyterLab: pages render, class filters change them, clips play.

A notebook shows ``ll.TextBrowser`` on a subset of the language fortunes and ``ll.DatasetBrowser``
on a few spoken digits (which returns an AudioBrowser). The test picks a class in each browser's
class dropdown as a person would and waits until the page holds only that class, searches the
texts, and loads one clip's WAV in Chromium's own audio element: it must decode to a 1 s clip,
as must the full-quality player of the clip chosen to listen to closely.
Screenshots go to tests/artifacts.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.lab_api import wait_for
from tests.browser.notebook_ui import LAB_ARGS, kernel_value, open_notebook, run_cell, write_notebook
from tests.lab_server import running_lab

TEXT_CELL = """\
import lepton_lab as ll
fortunes = ll.datasets.load("fortunes_languages", subset=300)
text = ll.TextBrowser(fortunes, page_size=5)
text
"""

AUDIO_CELL = """\
digits = ll.datasets.load("spoken_digits", count=30, seed=5)
audio = ll.DatasetBrowser(digits, page_size=6)
audio
"""

# Class column of every row on the text page.
_TEXT_CLASSES = """
() => [...document.querySelectorAll('.lepton-text-browser .lepton-text-page tr[data-index]')]
  .map(row => row.children[1].textContent)
"""

# Caption class name of every clip on the audio page.
_CLIP_CLASSES = """
() => [...document.querySelectorAll('.lepton-audio-browser figure.lepton-clip figcaption b')]
  .map(b => b.textContent)
"""

# Load the first clip's WAV in its <audio> element (under a selector) and report what Chromium decoded.
_LOAD_FIRST_CLIP = """
async (selector) => {
  const audio = document.querySelector(selector + ' audio');
  const loaded = new Promise((resolve, reject) => {
    audio.addEventListener('loadedmetadata', resolve, {once: true});
    audio.addEventListener('error', () => reject(new Error('audio error ' + audio.error.code)), {once: true});
  });
  audio.preload = 'auto';
  audio.load();
  await loaded;
  return {duration: audio.duration, canPlay: audio.canPlayType('audio/wav'), src: audio.src.slice(0, 22)};
}
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("browsers") / "root"
    root.mkdir()
    with running_lab(root, extra_args=LAB_ARGS) as server:
        yield server


def _class_select(page, browser_class):
    dropdown = page.locator(f".{browser_class} .widget-dropdown").filter(
        has=page.locator("label", has_text=re.compile(r"^class$"))
    )
    return dropdown.locator("select")


def test_text_and_audio_browsers_render_filter_by_class_and_play(lab, page, artifacts):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size({"width": 1400, "height": 2600})  # each browser whole in its screenshot
    write_notebook(lab.root, "browsers.ipynb", [TEXT_CELL, AUDIO_CELL])
    open_notebook(page, lab, "browsers.ipynb")
    news = page.locator(".jp-toast-buttonBar button, .jp-Notification-Toast-button", has_text="No")

    # -- text -------------------------------------------------------------------------------------
    run_cell(page, 0)
    text = page.locator(".lepton-text-browser")
    text.wait_for(timeout=60_000)
    wait_for(lambda: len(page.evaluate(_TEXT_CLASSES)) == 5, 30, "five texts on the first page")
    first_page = page.evaluate(_TEXT_CLASSES)
    assert first_page == kernel_value(page, "[fortunes.class_names[y] for y in fortunes.labels('train')[:5]]")
    assert text.locator(".js-plotly-plot, svg").first.is_visible()  # the length histogram
    assert text.locator(".lepton-text-tokens .lepton-token").count() >= 10

    _class_select(page, "lepton-text-browser").select_option(label="de")
    wait_for(lambda: page.evaluate(_TEXT_CLASSES) == ["de"] * 5, 30, "a page of German texts only")
    assert kernel_value(page, "text.label") == fortunes_class(page, "de")
    # the chosen example's detail follows the page
    assert kernel_value(page, "int(text.current[0]) == text.selected") is True

    search = text.locator(".widget-text input").first
    search.fill("und")
    search.press("Enter")
    wait_for(lambda: text.locator(".lepton-text-page mark").count() > 0, 30, "search matches marked")
    assert kernel_value(page, "text.search") == "und"
    # the vectorizer's tokens of the chosen example: adapted in the kernel on the train split
    text.locator("button", has_text="Show the vectorizer's tokens").click()
    vectorized = text.locator(".lepton-vectorized")
    vectorized.wait_for(timeout=120_000)
    assert "token ids" in vectorized.inner_text()
    assert vectorized.locator(".lepton-token").count() == kernel_value(
        page, "len(text.vectorizer.vectorize(text.texts.texts[text.selected]).tokens)"
    )
    if news.count():
        news.first.click()  # the "Jupyter news?" toast would cover the screenshots
    text.screenshot(path=str(artifacts / "text-browser.png"))

    # -- audio ------------------------------------------------------------------------------------
    run_cell(page, 1)
    audio = page.locator(".lepton-audio-browser")
    audio.wait_for(timeout=60_000)
    assert kernel_value(page, "type(audio).__name__") == "AudioBrowser"
    wait_for(lambda: audio.locator("audio").count() == 6, 30, "six players")
    assert audio.locator("img.lepton-waveform").count() == 6
    assert audio.locator("img.lepton-spectrogram").count() == 6
    assert audio.locator("img.lepton-spectrogram").first.evaluate("img => img.naturalWidth") == 160
    played = page.evaluate(_LOAD_FIRST_CLIP, ".lepton-audio-browser .lepton-audio-page")
    assert played["src"] == "data:audio/wav;base64,"
    assert played["canPlay"] in ("maybe", "probably")
    assert abs(played["duration"] - 1.0) < 0.01  # the preview of the 1 s clip, decoded by Chromium

    # listen closely: the chosen clip's full-quality player
    closely = audio.locator(".widget-dropdown").filter(has=page.locator("label", has_text="full quality"))
    chosen = kernel_value(page, "int(audio.current.indices[1])")
    closely.locator("select").select_option(index=2)  # "none", then the page's clips in order
    audio.locator(".lepton-audio-detail audio").wait_for(timeout=30_000)
    assert kernel_value(page, "audio.selected") == chosen
    full = page.evaluate(_LOAD_FIRST_CLIP, ".lepton-audio-browser .lepton-audio-detail")
    assert abs(full["duration"] - 1.0) < 0.01

    before = page.evaluate(_CLIP_CLASSES)
    _class_select(page, "lepton-audio-browser").select_option(label="three")
    wait_for(lambda: set(page.evaluate(_CLIP_CLASSES)) == {"three"}, 30, "only clips of 'three' on the page")
    assert page.evaluate(_CLIP_CLASSES) != before
    assert len(page.evaluate(_CLIP_CLASSES)) == kernel_value(
        page, "int((digits.labels('train') == digits.class_names.index('three')).sum())"
    )
    audio.scroll_into_view_if_needed()
    audio.screenshot(path=str(artifacts / "audio-browser.png"))
    assert not errors, errors


def fortunes_class(page, name):
    return kernel_value(page, f"fortunes.class_names.index({name!r})")
