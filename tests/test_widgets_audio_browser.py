"""AudioBrowser and the shared audio media helpers (WAV bytes, data URLs, waveform/spectrogram PNGs)."""

from __future__ import annotations

import base64
import io
import re
import wave

import numpy as np
import pytest
from PIL import Image

from lepton_lab.sharing import audio_media as _audio_media

RATE = 16_000


def _tone(frequency: float, seconds: float = 1.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def _read_wav(data: bytes) -> tuple[np.ndarray, int, int, int]:
    with wave.open(io.BytesIO(data), "rb") as reader:
        frames = reader.readframes(reader.getnframes())
        return (
            np.frombuffer(frames, "<i2"),
            reader.getframerate(),
            reader.getnchannels(),
            reader.getsampwidth(),
        )


# -- media helpers -----------------------------------------------------------------------------


def test_wav_bytes_decode_back_to_the_samples_with_wave():
    clip = _tone(440)
    samples, rate, channels, width = _read_wav(_audio_media.wav_bytes(clip, RATE))
    assert (rate, channels, width) == (RATE, 1, 2)
    assert len(samples) == len(clip)
    # 16-bit quantisation: within half a step of the float samples.
    assert np.max(np.abs(samples / 32768 - clip)) <= 0.5 / 32768 + 1e-7


def test_wav_bytes_keep_int16_pcm_exactly_and_clip_loud_floats():
    pcm = np.array([-32768, -1, 0, 1, 32767], np.int16)
    assert np.array_equal(_read_wav(_audio_media.wav_bytes(pcm, 8000))[0], pcm)
    loud = np.array([-3.0, 2.0, np.nan], np.float32)
    assert _read_wav(_audio_media.wav_bytes(loud, 8000))[0].tolist() == [-32768, 32767, 0]


def test_audio_data_url_is_the_base64_wav():
    clip = _tone(200, 0.1)
    url = _audio_media.audio_data_url(clip, RATE)
    prefix = "data:audio/wav;base64,"
    assert url.startswith(prefix)
    assert base64.b64decode(url[len(prefix) :]) == _audio_media.wav_bytes(clip, RATE)


@pytest.mark.parametrize(
    ("bad", "message"),
    [(np.zeros((2, 100)), "1-D waveform"), (np.array(["a"]), "numeric")],
)
def test_bad_clips_are_refused_naming_the_fix(bad, message):
    with pytest.raises(ValueError, match=message):
        _audio_media.wav_bytes(bad, RATE)


def test_bad_sample_rate_and_thumbnail_size_are_refused():
    with pytest.raises(ValueError, match="sample_rate"):
        _audio_media.wav_bytes(_tone(100, 0.01), 0)
    with pytest.raises(ValueError, match="2x2"):
        _audio_media.waveform_png(_tone(100, 0.01), width=1)


def test_pngs_have_the_requested_sizes():
    clip = _tone(440)
    wave_image = Image.open(io.BytesIO(_audio_media.waveform_png(clip)))
    spectrum_image = Image.open(io.BytesIO(_audio_media.spectrogram_png(clip, RATE)))
    assert wave_image.format == spectrum_image.format == "PNG"
    assert wave_image.size == (160, 48)
    assert spectrum_image.size == (160, 64)
    small = Image.open(io.BytesIO(_audio_media.spectrogram_png(clip, RATE, width=40, height=20)))
    assert small.size == (40, 20)


def test_waveform_envelope_follows_the_loudness():
    # Silent first half, full-scale second half: the drawn height is 1 px (axis) vs. the full column.
    clip = np.concatenate([np.zeros(8000, np.float32), _tone(300, 0.5, 0.99)])
    pixels = _audio_media.waveform_pixels(clip, width=100, height=40)
    white = np.all(pixels == 255, axis=-1)
    drawn_per_column = (~white).sum(axis=0)
    assert drawn_per_column[:45].max() == 1  # only the zero line
    assert drawn_per_column[55:].min() >= 38
    silent = _audio_media.waveform_pixels(np.zeros(100), width=30, height=10)
    assert (~np.all(silent == 255, axis=-1)).sum() == 30


def test_spectrogram_peaks_at_the_tone_frequency():
    for frequency in (500.0, 3000.0):
        decibels = _audio_media.log_spectrogram(_tone(frequency), RATE)
        bins = decibels.shape[0]
        peak_hz = np.argmax(decibels.mean(axis=1)) * (RATE / 2) / (bins - 1)
        assert abs(peak_hz - frequency) < RATE / (2 * (bins - 1))
        assert decibels.max() == 0 and decibels.min() >= -_audio_media.DYNAMIC_RANGE_DB
    # Drawn low frequencies at the bottom: a low tone is bright near the bottom rows only.
    pixels = _audio_media.spectrogram_pixels(_tone(300), RATE, width=32, height=32).astype(int).sum(axis=-1)
    assert pixels[-4:].mean() > 2 * pixels[:16].mean()


def test_silence_makes_a_uniform_dark_spectrogram():
    pixels = _audio_media.spectrogram_pixels(np.zeros(RATE, np.float32), RATE, 20, 10)
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) == 1
    assert pixels.max() < 10


def test_media_helpers_do_not_import_tensorflow():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from lepton_lab.sharing import audio_media as m\n"
        "m.spectrogram_png(np.zeros(4000, np.float32), 16000); m.waveform_png(np.zeros(10))\n"
        "print('tensorflow' in sys.modules, 'matplotlib' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


# -- AudioBrowser --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tones():
    """Three classes of pure tones (200, 800, 3000 Hz), 8 clips each, 0.25 s at 16 kHz."""
    from lepton_lab.core import datasets

    clips, labels = [], []
    for label, frequency in enumerate((200.0, 800.0, 3000.0)):
        for i in range(8):
            clips.append(_tone(frequency, 0.25, 0.2 + 0.05 * i))
            labels.append(label)
    return datasets.from_arrays(
        np.stack(clips), np.array(labels), class_names=["low", "mid", "high"], sample_rate=RATE
    )


def _players(markup):
    return [
        base64.b64decode(src)
        for src in re.findall(r'<audio controls[^>]*src="data:audio/wav;base64,([^"]+)"', markup)
    ]


def test_page_shows_a_player_waveform_and_spectrogram_per_clip(tones):
    from lepton_lab.widgets.audio_browser import AudioBrowser

    browser = AudioBrowser(tones, page_size=5)
    page = tones.page(0, 5)
    players = _players(browser.clips.value)
    assert len(players) == 5
    for data, clip in zip(players, page.images, strict=True):
        samples, rate, channels, _ = _read_wav(data)
        assert (rate, channels) == (RATE, 1)
        assert np.max(np.abs(samples / 32768 - clip)) < 1e-4  # the clip itself, not another one
    assert browser.clips.value.count('class="lepton-waveform"') == 5
    assert browser.clips.value.count('class="lepton-spectrogram"') == 5
    for label, index in zip(page.labels, page.indices, strict=True):
        assert f"<b>{tones.class_names[label]}</b> · #{index}" in browser.clips.value
    assert browser.page_count == tones.page_count(5)


def test_class_filter_shows_only_that_class(tones):
    from lepton_lab.widgets.audio_browser import AudioBrowser

    browser = AudioBrowser(tones, page_size=50)
    before = browser.clips.value
    browser.class_picker.value = 2
    assert browser.clips.value != before
    assert set(browser.current.labels.tolist()) == {2}
    assert len(browser.current) == int((tones.labels("train") == 2).sum())
    assert "<b>low</b>" not in browser.clips.value and "<b>high</b>" in browser.clips.value
    # the thumbnails drawn are of high tones: the spectrogram's bright rows sit high up
    spectrum = _audio_media.spectrogram_pixels(browser.current.images[0], RATE, 32, 32).astype(int).sum(-1)
    assert spectrum[:20].mean() > spectrum[-4:].mean()


def test_paging_and_split_filter(tones):
    from lepton_lab.widgets.audio_browser import AudioBrowser

    browser = AudioBrowser(tones, page_size=2)
    browser.go(1)
    assert browser.current.indices.tolist() == [2, 3]
    browser.go(99)
    assert browser.page == browser.page_count - 1 and browser.next.disabled
    browser.split_picker.value = "test"
    assert browser.page == 0
    assert browser.match_count == tones.count("test")
    assert browser.current.indices.tolist() == tones.page(0, 2, "test").indices.tolist()


def test_snapshot_keeps_playable_clips_offline(tones):
    from lepton_lab.widgets.audio_browser import AudioBrowser

    browser = AudioBrowser(tones, page_size=3)
    snapshot = browser._repr_mimebundle_()["text/html"]
    players = _players(snapshot)
    assert len(players) == 3
    assert _read_wav(players[0])[1] == RATE
    assert snapshot.count("data:image/png;base64,") >= 6
    assert "<svg" in snapshot  # the class distribution, drawn without plotly.js


def test_dataset_browser_returns_the_audio_browser_for_spoken_digits():
    from lepton_lab.core import datasets
    from lepton_lab.widgets.audio_browser import AudioBrowser
    from lepton_lab.widgets.dataset_browser import DatasetBrowser

    digits = datasets.load("spoken_digits", count=30, seed=5, validation_split=0.2)
    browser = DatasetBrowser(digits, page_size=4, columns=16)
    assert isinstance(browser, AudioBrowser)
    assert len(_players(browser.clips.value)) == 4
    assert "16,000 Hz" in browser.header.value
    browser.class_picker.value = digits.class_names.index("three")
    assert "<b>three</b>" in browser.clips.value
    assert set(browser.current.labels.tolist()) == {digits.class_names.index("three")}


def test_a_non_audio_dataset_is_refused_naming_the_fix():
    from lepton_lab.core import datasets
    from lepton_lab.widgets.audio_browser import AudioBrowser

    with pytest.raises(ValueError, match="DatasetBrowser"):
        AudioBrowser(datasets.load("digits"))


def test_nbconvert_without_widget_state_shows_both_browsers_offline(tmp_path):
    from tests.sharing import execute_and_nbconvert

    cells = (
        "import numpy as np, pandas as pd\nimport lepton_lab as ll",
        "frame = pd.DataFrame({'text': ['<script>alert(1)</script> hello', 'plain words here'] * 6,\n"
        "                      'label': ['a', 'b'] * 6})\n"
        "ll.DatasetBrowser(ll.datasets.from_dataframe(frame, text='text', target='label'), page_size=20)",
        "t = np.arange(4000) / 16000\n"
        "clips = np.stack([0.3 * np.sin(2 * np.pi * f * t) for f in [300, 900] * 6]).astype(np.float32)\n"
        "tones = ll.datasets.from_arrays(clips, np.array([0, 1] * 6), sample_rate=16000)\n"
        "ll.DatasetBrowser(tones, page_size=3)",
    )
    # Saved as JupyterLab does by default: outputs, but no widget state.
    _, html_path = execute_and_nbconvert(cells, tmp_path, "browsers", store_widget_state=False)
    page = html_path.read_text(encoding="utf-8")
    assert '<script type="application/vnd.jupyter.widget-view+json">' not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; hello" in page and "<script>alert(1)" not in page
    assert "plain words here" in page and "lepton-token" in page
    players = _players(page)
    assert len(players) == 3
    assert len(_read_wav(players[0])[0]) == 4000
    assert page.count('class="lepton-spectrogram"') == 3


def test_a_wav_folder_is_read_only_page_by_page(tmp_path):
    from lepton_lab.core import datasets
    from lepton_lab.widgets.audio_browser import AudioBrowser

    for name, frequency in (("hum", 150.0), ("whistle", 2500.0)):
        (tmp_path / name).mkdir()
        for i in range(12):
            (tmp_path / name / f"{i}.wav").write_bytes(_audio_media.wav_bytes(_tone(frequency, 0.2), RATE))
    folder = datasets.load(f"folder:{tmp_path}")
    assert folder.kind == "audio"
    browser = AudioBrowser(folder, page_size=4)
    decoded = folder._store.ready  # which files the folder store has read so far
    assert decoded.sum() == 4
    browser.go(1)
    assert decoded.sum() == 8
    samples = _read_wav(_players(browser.clips.value)[0])[0]
    # the folder's 0.2 s clip padded with silence to the dataset's clip length
    assert len(samples) == folder.clip_samples and not samples[int(0.21 * RATE) :].any()
