"""AudioBrowser and the shared audio media helpers (WAV bytes, data URLs, waveform/spectrogram PNGs)."""

from __future__ import annotations

import base64
import io
import wave

import numpy as np
import pytest
from PIL import Image

from lepton_lab.sharing import audio_media as _audio_media
from tests.wav_files import MULAW, PCM, mulaw_decode, mulaw_tolerance, read_wav
from tests.wav_files import players as _preview_players

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


def test_mulaw_codes_are_g711s_and_decode_within_three_percent():
    # Known G.711 codes: silence is 0xFF, full scale 0x80 (positive) and 0x00 (negative).
    known = np.array([0, 32767, -32768], np.int16)
    assert _audio_media.mulaw(known).tolist() == [255, 128, 0]
    every = np.arange(-32124, 32125, dtype=np.int16)  # below G.711's clip level
    decoded = mulaw_decode(_audio_media.mulaw(every))
    assert np.all(np.abs(decoded - every) / 32768 <= mulaw_tolerance(every / 32768))
    audible = np.abs(every.astype(np.int32)) >= 8
    assert np.array_equal(np.sign(decoded[audible]), np.sign(every[audible]))
    assert np.array_equal(_audio_media.mulaw(every / 32768), _audio_media.mulaw(every))  # floats as int16


def test_resample_keeps_what_the_slower_rate_can_carry_and_removes_the_rest():
    t8 = np.arange(8000) / 8000
    kept = _audio_media.resample(_tone(3000), RATE, 8000)
    assert len(kept) == 8000
    # A 3 kHz tone is the same tone at 8 kHz (away from the clip's abrupt start and end).
    np.testing.assert_allclose(kept[400:-400], 0.5 * np.sin(2 * np.pi * 3000 * t8)[400:-400], atol=1e-3)
    removed = _audio_media.resample(_tone(6000), RATE, 8000)
    assert np.abs(removed[400:-400]).max() < 0.02  # above 4 kHz: filtered out, not aliased to 2 kHz
    assert len(_audio_media.resample(np.zeros(22050), 22050, 8000)) == 8000  # any ratio, same duration
    slow = _tone(440, 0.1)
    np.testing.assert_array_equal(_audio_media.resample(slow, RATE, 44_100), slow.astype(np.float64))


def test_preview_wav_is_an_8khz_mulaw_file_of_the_clip():
    clip = _tone(440)
    data = _audio_media.preview_wav_bytes(clip, RATE)
    preview = read_wav(data)
    assert (preview.format, preview.rate, preview.bits) == (MULAW, 8000, 8)
    assert len(data) < len(_audio_media.wav_bytes(clip, RATE)) / 3.9  # a quarter of the 16-bit file
    expected = clip[::2].astype(np.float64)  # 440 Hz is below 4 kHz: the even samples are the tone
    inner = slice(400, -400)
    assert np.all(np.abs(preview.samples - expected)[inner] <= mulaw_tolerance(expected[inner]) + 1e-3)
    odd = read_wav(_audio_media.preview_wav_bytes(_tone(440, 0.7), 11_025))  # odd length, padded
    assert (odd.rate, len(odd.samples)) == (8000, round(0.7 * RATE * 8000 / 11_025))
    slow = read_wav(_audio_media.preview_wav_bytes(_tone(440, 0.5), 4000))
    assert (slow.rate, len(slow.samples)) == (4000, 8000)  # a slower clip keeps its rate
    url = _audio_media.preview_data_url(clip, RATE)
    assert base64.b64decode(url.removeprefix("data:audio/wav;base64,")) == data


def test_spectrogram_png_is_a_small_palette_image_of_the_same_colours():
    # noise under a swelling tone: a busy picture, as speech makes
    noise = np.random.default_rng(0).normal(0, 0.05, RATE) * np.linspace(0, 1, RATE)
    clip = _tone(440) * np.linspace(1, 0, RATE) + noise
    image = Image.open(io.BytesIO(_audio_media.spectrogram_png(clip, RATE)))
    assert image.mode == "P" and len(image.getpalette()) // 3 <= _audio_media.SPECTROGRAM_LEVELS
    drawn = np.asarray(image.convert("RGB")).astype(int)
    exact = _audio_media.spectrogram_pixels(clip, RATE).astype(int)
    assert np.abs(drawn - exact).max() <= 3  # half a level of the ramp
    rgb = _audio_media.images.png(exact.astype(np.uint8))
    assert len(_audio_media.spectrogram_png(clip, RATE)) < len(rgb) / 2


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


def _preview_of(clip: np.ndarray) -> np.ndarray:
    """What a preview player of ``clip`` should play: the clip band-limited to 8 kHz."""
    return _audio_media.resample(clip, RATE, _audio_media.PREVIEW_RATE)


def test_page_shows_a_player_waveform_and_spectrogram_per_clip(tones):
    from lepton_lab.widgets.audio_browser import AudioBrowser

    browser = AudioBrowser(tones, page_size=5)
    page = tones.page(0, 5)
    players = _preview_players(browser.clips.value)
    assert len(players) == 5
    for played, clip in zip(players, page.images, strict=True):
        assert (played.format, played.rate) == (MULAW, _audio_media.PREVIEW_RATE)
        expected = _preview_of(clip)
        # the clip itself (mu-law of its 8 kHz version), not another one
        assert np.all(np.abs(played.samples - expected) <= mulaw_tolerance(expected))
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


def test_the_clip_chosen_to_listen_to_closely_plays_at_full_quality(tones):
    from lepton_lab.widgets.audio_browser import AudioBrowser

    browser = AudioBrowser(tones, page_size=4)
    assert browser.selected == -1 and "<audio" not in browser.detail.value
    chosen = int(browser.current.indices[2])
    assert [value for _, value in browser.clip_picker.options] == [-1, *browser.current.indices.tolist()]
    browser.clip_picker.value = chosen
    assert browser.selected == chosen
    (played,) = _preview_players(browser.detail.value)
    assert (played.format, played.rate) == (PCM, RATE)  # the clip as it is, 16-bit
    assert np.max(np.abs(played.samples - browser.current.images[2])) <= 0.5 / 32768 + 1e-7
    browser.go(1)  # another page: its clips, none chosen
    assert browser.selected == -1 and "<audio" not in browser.detail.value
    assert chosen not in [value for _, value in browser.clip_picker.options]


def test_snapshot_keeps_playable_clips_offline(tones):
    from lepton_lab.widgets.audio_browser import AudioBrowser

    browser = AudioBrowser(tones, page_size=3)
    snapshot = browser._repr_mimebundle_()["text/html"]
    players = _preview_players(snapshot)
    assert len(players) == 3
    assert players[0].rate == _audio_media.PREVIEW_RATE and players[0].format == MULAW
    assert snapshot.count("data:image/png;base64,") >= 6
    assert "<svg" in snapshot  # the class distribution, drawn without plotly.js


def test_dataset_browser_returns_the_audio_browser_for_spoken_digits():
    from lepton_lab.core import datasets
    from lepton_lab.widgets.audio_browser import AudioBrowser
    from lepton_lab.widgets.dataset_browser import DatasetBrowser

    digits = datasets.load("spoken_digits", count=30, seed=5, validation_split=0.2)
    browser = DatasetBrowser(digits, page_size=4, columns=16)
    assert isinstance(browser, AudioBrowser)
    assert len(_preview_players(browser.clips.value)) == 4
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
    players = _preview_players(page)
    assert len(players) == 3
    assert len(players[0].samples) == 2000  # 0.25 s at the preview's 8 kHz
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
    samples = _preview_players(browser.clips.value)[0].samples
    # the folder's 0.2 s clip padded with silence to the dataset's clip length
    rate = _audio_media.PREVIEW_RATE
    assert len(samples) == folder.clip_samples * rate // RATE
    assert np.abs(samples[int(0.21 * rate) :]).max() < 0.01  # silence (the cut-off rings a little)
