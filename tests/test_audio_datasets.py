"""Audio datasets: spoken digits from espeak-ng, Speech Commands from the Keras cache, WAV folders."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import numpy as np
import pytest

from lepton_lab.core import datasets
from lepton_lab.core.datasets import audio, spoken_digits

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (make system-deps installs it)"
)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEPTON_LAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))


def _write_wav(path: Path, channels: np.ndarray, rate: int, width: int = 2) -> None:
    """Write float samples ``[frames, channels]`` in [-1, 1] as integer PCM."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if width == 1:
        frames = (np.round(channels * 127) + 128).astype(np.uint8).tobytes()
    elif width == 2:
        frames = np.round(channels * 32767).astype("<i2").tobytes()
    else:  # 24-bit: the top three bytes of int32 samples
        as_int32 = np.round(channels * (2**31 - 256)).astype("<i4")
        frames = as_int32.view(np.uint8).reshape(-1, 4)[:, 1:].tobytes()
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(channels.shape[1])
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(frames)


def _tone(frequency: float, seconds: float, rate: int, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return amplitude * np.sin(2 * np.pi * frequency * t)


@needs_espeak
def test_spoken_digits_loads_balanced_clips_with_word_labels() -> None:
    ds = datasets.load("spoken_digits", count=30, seed=5, validation_split=0.2)

    assert ds.kind == "audio"
    assert ds.class_names == ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    assert ds.input_shape == (16_000,) and ds.sample_rate == 16_000 and ds.clip_samples == 16_000
    assert sum(ds.count(split) for split in datasets.SPLITS) == 30
    assert ds.counts().sum(axis=1).tolist() == [3] * 10
    waveforms, labels = ds.arrays("train")
    assert waveforms.dtype == np.float32 and waveforms.shape == (ds.count("train"), 16_000)
    assert waveforms.min() >= -1.0 and waveforms.max() <= 1.0
    # Every clip holds a spoken word, well above its background noise.
    assert (np.abs(waveforms).max(axis=1) > 0.25).all()
    assert set(labels.tolist()) <= set(range(10))


@needs_espeak
def test_spoken_digits_are_reproducible_for_a_seed() -> None:
    first, first_labels = spoken_digits.generate(12, seed=7)
    again, again_labels = spoken_digits.generate(12, seed=7, workers=1)
    other, _ = spoken_digits.generate(12, seed=8)

    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first_labels, again_labels)
    assert not np.array_equal(first, other)


@needs_espeak
def test_subset_caps_the_training_split() -> None:
    ds = datasets.load("spoken_digits", count=40, seed=1, subset=10)
    assert ds.count("train") == 10
    assert ds.count("test") < 8


@needs_espeak
def test_second_load_reads_the_cache_instead_of_running_espeak(tmp_path: Path) -> None:
    calls: list[list[str]] = []

    def counting(command: list[str]) -> bytes:
        calls.append(command)
        return spoken_digits._run(command)

    first = spoken_digits.load(20, seed=3, root=tmp_path, runner=counting)
    assert len(calls) == 20
    assert calls[0][0] == "espeak-ng" and calls[0][-1] == "zero"
    assert spoken_digits.cache_file(20, 3, tmp_path).is_file()

    second = spoken_digits.load(20, seed=3, root=tmp_path, runner=counting)
    assert len(calls) == 20
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


@needs_espeak
def test_an_espeak_failure_names_the_command_and_its_message() -> None:
    with pytest.raises(RuntimeError, match=r"xx-no-such-voice.*does not exist"):
        spoken_digits._run(["espeak-ng", "--stdout", "-v", "xx-no-such-voice", "zero"])


def test_missing_espeak_names_the_package_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))

    with pytest.raises(datasets.DatasetUnavailable, match="apt-get install espeak-ng"):
        datasets.load("spoken_digits", count=10, seed=424_242)
    entry = next(entry for entry in datasets.available() if entry["name"] == "spoken_digits")
    assert entry["offline"] is False and "apt-get install espeak-ng" in entry["hint"]


def test_wav_folder_resamples_to_16_khz_and_downmixes_stereo(tmp_path: Path) -> None:
    root = tmp_path / "sounds"
    _write_wav(root / "low" / "a.wav", _tone(440, 0.5, 8_000)[:, None], 8_000)
    _write_wav(root / "low" / "b.wav", _tone(440, 0.5, 22_050)[:, None], 22_050, width=3)
    left, right = _tone(1_000, 1.5, 44_100, 0.6), _tone(1_000, 1.5, 44_100, 0.2)
    _write_wav(root / "high" / "c.wav", np.stack([left, right], axis=1), 44_100)
    _write_wav(root / "high" / "d.wav", _tone(1_000, 0.25, 16_000)[:, None], 16_000, width=1)

    ds = datasets.load(f"folder:{root}", validation_split=0.0)
    assert ds.kind == "audio" and ds.class_names == ["high", "low"] and ds.input_shape == (16_000,)
    clips = audio.AudioFolderStore(sorted(root.rglob("*.wav"))).get(np.arange(4))
    t = np.arange(16_000) / 16_000
    middle = slice(200, 3_800)  # away from the resampler's edges and the end of the shortest file

    # c.wav: 1.5 s at 44.1 kHz, stereo 0.6/0.2 -> mono amplitude 0.4, trimmed to one second
    np.testing.assert_allclose(clips[0][middle], 0.4 * np.sin(2 * np.pi * 1_000 * t)[middle], atol=0.01)
    # d.wav: 8-bit at 16 kHz, a quarter second, then silence
    np.testing.assert_allclose(clips[1][middle], 0.5 * np.sin(2 * np.pi * 1_000 * t)[middle], atol=0.01)
    assert np.abs(clips[1][4_200:]).max() == 0
    # a.wav (8 kHz) and b.wav (22.05 kHz, 24-bit): half a second of 440 Hz, padded with silence
    for clip in clips[2:]:
        np.testing.assert_allclose(clip[middle], 0.5 * np.sin(2 * np.pi * 440 * t)[middle], atol=0.01)
        assert np.abs(clip[8_200:]).max() == 0


def test_float_wav_is_refused_with_the_conversion(tmp_path: Path) -> None:
    path = tmp_path / "float.wav"
    header = b"RIFF" + (36).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
    header += (3).to_bytes(2, "little") + (1).to_bytes(2, "little") + (16_000).to_bytes(4, "little")
    header += (64_000).to_bytes(4, "little") + (4).to_bytes(2, "little") + (32).to_bytes(2, "little")
    path.write_bytes(header + b"data" + (0).to_bytes(4, "little"))

    with pytest.raises(ValueError, match="pcm_s16le"):
        audio.read_clip(path)


def test_speech_commands_needs_the_keras_cache(tmp_path: Path) -> None:
    with pytest.raises(datasets.DatasetUnavailable, match=r"speech_commands_v0\.02"):
        datasets.load("speech_commands")

    root = tmp_path / "keras" / "datasets" / "mini_speech_commands"
    for word, count in (("yes", 5), ("no", 5)):
        for index in range(count):
            _write_wav(root / word / f"{index}.wav", _tone(300, 1.0, 16_000)[:, None], 16_000)
    _write_wav(root / "_background_noise_" / "noise.wav", _tone(50, 2.0, 16_000)[:, None], 16_000)
    (root / "testing_list.txt").write_text("yes/0.wav\nno/0.wav\n")

    ds = datasets.load("speech_commands", validation_split=0.25)
    assert ds.kind == "audio" and ds.class_names == ["no", "yes"]
    assert ds.count("test") == 2 and sorted(ds.labels("test").tolist()) == [0, 1]
    assert sum(ds.count(split) for split in datasets.SPLITS) == 10
    assert next(e for e in datasets.available() if e["name"] == "speech_commands")["offline"] is True


def test_tf_data_yields_float32_clips(tmp_path: Path) -> None:
    root = tmp_path / "sounds"
    for word, frequency in (("hum", 200), ("beep", 2_000)):
        for index in range(4):
            tone = _tone(frequency, 0.3 + 0.1 * index, 8_000)[:, None]
            _write_wav(root / word / f"{index}.wav", tone, 8_000)
    ds = datasets.load(f"folder:{root}", validation_split=0.0)

    batches = ds.as_tf_data("train", batch_size=3, shuffle=False)
    assert batches.element_spec[0].shape.as_list() == [None, 16_000]
    assert batches.element_spec[0].dtype.name == "float32"
    examples = np.concatenate([x.numpy() for x, _ in batches])
    np.testing.assert_array_equal(examples, ds.arrays("train")[0])


def test_doctor_lists_the_audio_datasets_with_their_availability(capsys: pytest.CaptureFixture[str]) -> None:
    from lepton_lab.cli.doctor import cmd_doctor

    cmd_doctor()
    out = capsys.readouterr().out
    mark = "yes" if shutil.which("espeak-ng") else "no "
    assert f"[{mark}] spoken_digits " in out
    assert "[no ] speech_commands " in out  # KERAS_HOME is an empty folder here
    assert "speech_commands_v0.02.tar.gz" in out


@needs_espeak
def test_clips_cached_by_another_espeak_version_are_generated_again(tmp_path: Path, monkeypatch) -> None:
    calls: list[list[str]] = []

    def counting(command: list[str]) -> bytes:
        calls.append(command)
        return spoken_digits._run(command)

    spoken_digits.load(10, seed=5, root=tmp_path, runner=counting)
    with np.load(spoken_digits.cache_file(10, 5, tmp_path)) as stored:
        assert str(stored["espeak_version"]) == spoken_digits.espeak_version()
    spoken_digits.load(10, seed=5, root=tmp_path, runner=counting)
    assert len(calls) == 10  # the same espeak-ng: read from the cache
    monkeypatch.setattr(spoken_digits, "espeak_version", lambda: "eSpeak NG text-to-speech: 9.99")
    spoken_digits.load(10, seed=5, root=tmp_path, runner=counting)
    assert len(calls) == 20  # another espeak-ng: generated again, and cached under its version
    with np.load(spoken_digits.cache_file(10, 5, tmp_path)) as stored:
        assert str(stored["espeak_version"]) == "eSpeak NG text-to-speech: 9.99"
