"""Text and audio test examples in the EvaluationView and the HTML report.

The EvaluationView shows a text run's worst examples as a table of texts and its 5x5 grid as
text cards; an audio run's worst clips and grid as cards with players (WAV ``data:`` URLs) and
spectrograms. Reports carry the same examples, self-contained. Real datasets (tones through
``from_arrays``, topic texts through ``from_dataframe``, fortunes and spoken digits) and, for
the reports, real short training runs.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from lepton_lab.core import datasets
from lepton_lab.core.evaluate import Evaluation, evaluate_predictions
from lepton_lab.sharing import audio_media, report_media
from lepton_lab.widgets.evaluation_view import EvaluationView
from tests.sharing import element_urls, network_urls
from tests.wav_files import MULAW, PCM, mulaw_tolerance, players

TOPICS = {
    "food": ["pizza", "soup", "bread", "cheese", "salad", "noodles"],
    "space": ["rocket", "moon", "orbit", "planet", "comet", "galaxy"],
    "sport": ["goal", "match", "runner", "tennis", "score", "league"],
}


def _topic_texts(per_class: int = 30) -> datasets.Dataset:
    rng = np.random.default_rng(0)
    rows = []
    for label, words in TOPICS.items():
        for _ in range(per_class):
            rows.append({"text": " ".join(rng.choice(words, 5)) + " & <i>more</i>", "label": label})
    return datasets.from_dataframe(pd.DataFrame(rows), text="text", target="label", seed=0)


def _tones(n: int = 150, samples: int = 4000) -> datasets.Dataset:
    labels = np.arange(n) % 3
    t = np.arange(samples) / 16_000
    pitch = np.array([300.0, 900.0, 2500.0])[labels, None]
    waves = 0.5 * np.sin(2 * np.pi * pitch * t) * np.linspace(1, 0.2, samples)
    return datasets.from_arrays(waves.astype(np.float32), labels, ["low", "mid", "high"], sample_rate=16_000)


def _evaluation(dataset: datasets.Dataset, texts: bool = False) -> Evaluation:
    """Predictions right for two thirds of the test split, surely wrong for the rest."""
    labels = dataset.labels("test")
    classes = dataset.num_classes
    probabilities = np.full((len(labels), classes), 0.1 / (classes - 1))
    predicted = np.where(np.arange(len(labels)) % 3 == 0, (labels + 1) % classes, labels)
    probabilities[np.arange(len(labels)), predicted] = 0.9
    examples = dataset.arrays("test")[0] if texts else None
    return evaluate_predictions(labels, probabilities, dataset.class_names, texts=examples)


def _wavs(markup: str, preview: bool = True) -> list[np.ndarray]:
    """Every ``<audio ... src="data:audio/wav;base64,...">`` in ``markup``, decoded to float samples.

    Widget players are previews (mu-law at 8 kHz); a report's players are 16-bit PCM at 16 kHz.
    """
    expected = (MULAW, audio_media.PREVIEW_RATE) if preview else (PCM, 16_000)
    clips = []
    for wav in players(markup):
        assert (wav.format, wav.rate) == expected
        clips.append(wav.samples)
    return clips


def _assert_preview_of(played: np.ndarray, clip: np.ndarray) -> None:
    """``played`` is the preview of ``clip``: mu-law of the clip band-limited to 8 kHz."""
    expected = audio_media.resample(clip, 16_000, audio_media.PREVIEW_RATE)
    assert len(played) == len(expected)
    assert np.all(np.abs(played - expected) <= mulaw_tolerance(expected))


# -- evaluation.json ---------------------------------------------------------------------------------


def test_a_text_evaluation_keeps_the_texts_of_its_worst_and_grid_examples_and_old_ones_load(tmp_path):
    dataset = _topic_texts()
    evaluation = _evaluation(dataset, texts=True)
    test_texts = dataset.arrays("test")[0]
    for entry in (*evaluation.worst, *evaluation.grid):
        assert entry["text"] == test_texts[entry["index"]]
    evaluation.save(tmp_path / "evaluation.json")
    assert Evaluation.load(tmp_path / "evaluation.json") == evaluation
    old = evaluation.to_dict()
    for entry in (*old["worst"], *old["grid"]):
        del entry["text"]  # an evaluation.json written before text runs
    (tmp_path / "old.json").write_text(json.dumps(old))
    assert Evaluation.load(tmp_path / "old.json").worst_frame()["index"].tolist() == [
        entry["index"] for entry in old["worst"]
    ]
    with pytest.raises(ValueError, match="3 texts for 18 labels"):
        evaluate_predictions(dataset.labels("test"), np.eye(3)[dataset.labels("test")], dataset.class_names,
                             texts=["a", "b", "c"])  # fmt: skip


# -- EvaluationView ----------------------------------------------------------------------------------


def test_text_view_shows_worst_texts_and_a_5x5_grid_of_escaped_text_cards_even_without_the_dataset():
    dataset = _topic_texts(per_class=50)
    evaluation = _evaluation(dataset, texts=True)
    for view in (EvaluationView(evaluation, dataset=dataset), EvaluationView(evaluation)):
        rows = view.worst_texts.value.split("<tbody>")[1].split("</tr>")[:-1]
        assert len(rows) == len(evaluation.worst)
        worst = evaluation.worst[0]
        assert f"<td>{evaluation.class_names[worst['predicted']]}</td>" in rows[0]
        assert "&amp; &lt;i&gt;more&lt;/i&gt;" in rows[0] and "<i>more</i>" not in view.worst_texts.value
        grid = view.text_grid.value
        cards = re.findall(r'<div class="lepton-card lepton-text-card".*?</div></div>', grid)
        assert len(cards) == 25 and "grid-template-columns:repeat(5," in grid
        for card, entry in zip(cards, evaluation.grid, strict=True):
            names = evaluation.class_names
            assert f"<b>{names[entry['true']]}</b>" in card and f"→ {names[entry['predicted']]}" in card
            assert f"{entry['confidence']:.0%}" in card
            assert ("#c62828" in card) == (entry["true"] != entry["predicted"])  # red when wrong
            assert re.sub(r"<[^>]+>", "", card).endswith(
                entry["text"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            )
        assert view.worst is None  # no image gallery for text


def test_audio_view_plays_the_worst_clips_and_a_5x5_grid_of_players_with_spectrograms():
    dataset = _tones()
    evaluation = _evaluation(dataset)
    view = EvaluationView(evaluation, dataset=dataset)
    test_clips = dataset.arrays("test")[0]
    worst = _wavs(view.worst_clips.value)
    assert len(worst) == report_media.WORST_CLIPS
    for played, entry in zip(worst, evaluation.worst, strict=False):
        _assert_preview_of(played, test_clips[entry["index"]])
    assert view.worst_clips.value.count('class="lepton-spectrogram"') == 10
    assert view.worst_clips.value.count('class="lepton-waveform"') == 10
    grid = view.clip_grid.value
    played = _wavs(grid)
    assert len(played) == 25 and "grid-template-columns:repeat(5," in grid
    for clip, entry in zip(played, evaluation.grid, strict=True):
        _assert_preview_of(clip, test_clips[entry["index"]])
    assert grid.count('class="lepton-spectrogram"') == 25 and 'class="lepton-waveform"' not in grid
    wrong = sum(entry["true"] != entry["predicted"] for entry in evaluation.grid)
    assert grid.count("color:#c62828") == wrong > 0


def test_examples_are_not_shown_beside_a_test_split_other_than_the_one_evaluated():
    evaluation = _evaluation(_tones(n=150))
    view = EvaluationView(evaluation, dataset=_tones(n=120))  # another split: other clips at the indices
    assert not _wavs(view.worst_clips.value) and "differs from the one evaluated" in view.clip_grid.value


def test_spoken_digit_evaluation_view_plays_one_second_clips():
    dataset = datasets.load("spoken_digits", count=60, seed=5)
    view = EvaluationView(_evaluation(dataset), dataset=dataset)
    clips = _wavs(view.clip_grid.value)
    assert len(clips) == min(25, dataset.count("test")) and all(len(clip) == 8000 for clip in clips)
    assert np.abs(clips[0]).max() > 0.05  # a spoken digit, not silence


# -- reports -----------------------------------------------------------------------------------------


def _train(tmp_path: Path, dataset, model: str, epochs: int = 1):
    from lepton_lab.core.runner import train

    run = train(dataset=dataset, model=model, train={"epochs": epochs, "batch_size": 16, "seed": 0},
                runs_dir=tmp_path, name=f"{model} <run>")  # fmt: skip
    assert run.status["status"] == "completed", run.status.get("error")
    return run


def _cards(page: str, section_id: str) -> list[str]:
    block = page.split(f'id="{section_id}">')[1].split("</div>\n")[0]
    return re.findall(r"<figure class=\"example.*?</figure>", block)


@pytest.mark.slow
def test_report_of_a_text_run_shows_escaped_texts_offline(tmp_path):
    from lepton_lab.sharing.report import report

    run = _train(tmp_path, {"name": "fortunes_languages", "subset": 120}, "bag_of_words")
    page = report(run).read_text(encoding="utf-8")
    evaluation = run.evaluation
    assert evaluation is not None and all("text" in entry for entry in evaluation.grid)
    grid = _cards(page, "prediction-grid")
    assert len(grid) == 25 and 'class="grid media"' in page
    for card, entry in zip(grid, evaluation.grid, strict=True):
        text = " ".join(entry["text"].split())
        assert f'title="{_escape(text)}"' in card
    worst = _cards(page, "worst")
    assert len(worst) == 25 and all('<div class="text"' in card for card in worst)
    assert network_urls(page) == []
    assert all(url.startswith("data:") for tag, _, url in element_urls(page) if tag in ("audio", "img"))


@pytest.mark.slow
def test_report_of_an_in_memory_text_run_shows_the_texts_kept_in_its_evaluation(tmp_path):
    from lepton_lab.sharing.report import report

    run = _train(tmp_path, _topic_texts(per_class=30), "bag_of_words")
    page = report(run).read_text(encoding="utf-8")
    grid = _cards(page, "prediction-grid")
    assert len(grid) == 18  # the whole test split of 90 texts
    assert all("&amp; &lt;i&gt;more&lt;/i&gt;</div>" in card for card in grid), "escaped, not markup"
    assert "<i>more</i>" not in page


@pytest.mark.slow
def test_report_of_an_audio_run_holds_decodable_wav_players_of_the_test_clips(tmp_path):
    from lepton_lab.sharing.report import report

    dataset = datasets.load("spoken_digits", count=30, seed=5)  # a count spec.json does not keep
    run = _train(tmp_path, dataset, "audio_cnn")
    evaluation = run.evaluation
    test_clips = dataset.arrays("test")[0]
    page = report(run, tmp_path / "report.html", dataset=dataset).read_text(encoding="utf-8")
    worst, grid = _cards(page, "worst"), _cards(page, "prediction-grid")
    assert len(worst) == min(report_media.WORST_CLIPS, len(test_clips)) and len(grid) == len(test_clips)
    for cards, entries in ((worst, evaluation.worst), (grid, evaluation.grid)):
        for card, entry in zip(cards, entries, strict=False):
            (clip,) = _wavs(card, preview=False)  # a report keeps the clips as they are
            np.testing.assert_allclose(clip, test_clips[entry["index"]], atol=1 / 16_000)
            assert 'class="spectrogram" src="data:image/png;base64,' in card
    assert network_urls(page) == []
    assert all(url.startswith("data:") for tag, _, url in element_urls(page) if tag in ("audio", "img"))


def _escape(text: str) -> str:
    import html

    return html.escape(text)
