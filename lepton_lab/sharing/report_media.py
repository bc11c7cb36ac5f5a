"""Report media: text and audio examples as self-contained HTML cards.

Reports, the EvaluationView and the AugmentationPreview show non-image examples the same way:

- a **text card** holds the (escaped, shortened) text under a caption;
- an **audio card** holds an ``<audio controls>`` player whose source is a ``data:audio/wav``
  URL of a preview (:func:`~lepton_lab.sharing.audio_media.preview_data_url`: mu-law at 8 kHz,
  a quarter of a 16 kHz clip's bytes), a waveform and a spectrogram thumbnail (PNG ``data:``
  URLs), under a caption.

Everything is inline, so a saved notebook, a static snapshot or a report file plays and shows
offline. Numpy and Pillow only (through :mod:`lepton_lab.sharing.audio_media`): no TensorFlow.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import numpy as np

from lepton_lab.sharing.audio_media import preview_data_url, spectrogram_png, waveform_png
from lepton_lab.sharing.images import data_uri

if TYPE_CHECKING:
    from lepton_lab.core.evaluate import Evaluation

#: Texts longer than this are cut (with an ellipsis) in a card; the full text is its tooltip.
TEXT_CARD_CHARS = 280
#: Card styles, inline so the cards look the same in a notebook, a snapshot and a report.
_CARD_STYLE = (
    "display:inline-block;vertical-align:top;box-sizing:border-box;margin:3px;padding:6px;"
    "border:1px solid #ddd;border-radius:4px;background:#fff;font-size:12px;line-height:1.35"
)


def caption_html(true: str | None, predicted: str | None = None, confidence: float | None = None) -> str:
    """Return ``true → predicted (confidence)`` as HTML, red when wrong; parts may be None."""
    parts = []
    if true is not None:
        parts.append(f"<b>{html.escape(true)}</b>")
    if predicted is not None:
        colour = "#2e7d32" if predicted == true else "#c62828"
        parts.append(f'<span style="color:{colour}">→ {html.escape(predicted)}</span>')
    if confidence is not None:
        parts.append(f'<span style="color:#666">{confidence:.0%}</span>')
    return " ".join(parts)


def text_card(text: str, caption: str = "", width: int = 220, max_chars: int = TEXT_CARD_CHARS) -> str:
    """One text example as an HTML card: ``caption`` (HTML) over the escaped text.

    Parameters
    ----------
    text : str
        The example; escaped, cut to ``max_chars`` characters (the full text is the tooltip).
    caption : str
        HTML above the text (e.g. :func:`caption_html`).
    width : int
        Card width in pixels.
    max_chars : int
        Longest text shown in full.
    """
    shown = text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…"
    return (
        f'<div class="lepton-card lepton-text-card" style="{_CARD_STYLE};width:{width}px">'
        f'<div class="lepton-card-caption">{caption}</div>'
        f'<div class="lepton-text" title="{html.escape(text)}" '
        f'style="white-space:pre-wrap;word-break:break-word;margin-top:3px;color:#222">{html.escape(shown)}</div>'
        "</div>"
    )


def audio_card(
    waveform: np.ndarray,
    sample_rate: int,
    caption: str = "",
    *,
    waveform_thumbnail: bool = True,
    spectrogram: bool = True,
    width: int = 160,
) -> str:
    """One clip as an HTML card: ``caption`` (HTML), a player, and waveform/spectrogram thumbnails.

    Parameters
    ----------
    waveform : np.ndarray
        One mono clip ``[samples]``, float in [-1, 1] or int16.
    sample_rate : int
        Its samples per second.
    caption : str
        HTML above the player.
    waveform_thumbnail, spectrogram : bool
        Which thumbnails to show under the player.
    width : int
        Thumbnail (and player) width in pixels.
    """
    pictures = []
    if waveform_thumbnail:
        source = data_uri(waveform_png(waveform, width=width, height=40))
        pictures.append(
            f'<img class="lepton-waveform" src="{source}" width="{width}" height="40" alt="waveform">'
        )
    if spectrogram:
        source = data_uri(spectrogram_png(waveform, sample_rate, width=width, height=56))
        pictures.append(
            f'<img class="lepton-spectrogram" src="{source}" width="{width}" height="56" alt="spectrogram">'
        )
    thumbnails = "".join(f'<div style="margin-top:2px;line-height:0">{picture}</div>' for picture in pictures)
    return (
        f'<div class="lepton-card lepton-audio-card" style="{_CARD_STYLE};width:{width + 14}px">'
        f'<div class="lepton-card-caption">{caption}</div>'
        f'<audio controls preload="metadata" src="{preview_data_url(waveform, sample_rate)}" '
        f'style="width:{width}px;height:28px;margin-top:3px"></audio>{thumbnails}</div>'
    )


# -- a run's test examples (EvaluationView and reports) ----------------------------------------------

#: Worst-classified clips shown with players (each is a preview WAV inside the page).
WORST_CLIPS = 10
#: Shown instead of examples that cannot be matched to the test split loaded now.
SPLIT_CHANGED = (
    "<i>The test split loaded now differs from the one evaluated (another count, seed or subset); "
    "its examples are not shown.</i>"
)


def test_examples(
    evaluation: Evaluation, dataset: Any, entries: list[dict[str, Any]]
) -> list[tuple[dict, Any]]:
    """Pair each of ``entries`` (``evaluation.worst`` or ``.grid``) with its test example.

    A text entry carries its text; other examples are read from ``dataset``'s test split by
    ``index``, and only when that split is the one evaluated (same size, same label at the
    index): entries that cannot be matched are left out rather than shown beside the wrong
    example. Without ``dataset``, only entries with a text are paired.
    """
    labels = None
    if dataset is not None and dataset.count("test") == evaluation.count:
        labels = dataset.labels("test")
    pairs = []
    for entry in entries:
        if "text" in entry:
            pairs.append((entry, entry["text"]))
            continue
        index = int(entry["index"])
        if labels is None or index >= len(labels) or labels[index] != entry["true"]:
            continue
        pairs.append((entry, dataset.page(index, 1, split="test").images[0]))
    return pairs


def _caption(evaluation: Evaluation, entry: dict[str, Any]) -> str:
    names = evaluation.class_names
    return caption_html(names[entry["true"]], names[entry["predicted"]], float(entry["confidence"]))


def _grid(cards: list[str], role: str, columns: int = 5) -> str:
    """Cards in a grid of ``columns``; ``role`` (``worst`` or ``predictions``) names it for the page."""
    return (
        f'<div class="lepton-example-grid lepton-{role}-grid" style="display:grid;'
        f'grid-template-columns:repeat({columns},max-content);gap:2px">{"".join(cards)}</div>'
    )


def worst_texts_html(evaluation: Evaluation, dataset: Any = None) -> str:
    """Return the worst-classified texts as an HTML table: #, true, predicted, confidence, text."""
    names = evaluation.class_names
    rows = []
    for entry, text in test_examples(evaluation, dataset, evaluation.worst):
        text = str(text)
        shown = text if len(text) <= TEXT_CARD_CHARS else text[: TEXT_CARD_CHARS - 1].rstrip() + "…"
        rows.append(
            f"<tr><td>{int(entry['index'])}</td><td>{html.escape(names[entry['true']])}</td>"
            f"<td>{html.escape(names[entry['predicted']])}</td><td>{entry['confidence']:.2f}</td>"
            f"<td style='text-align:left;white-space:pre-wrap'>{html.escape(shown)}</td></tr>"
        )
    if not rows:
        return SPLIT_CHANGED
    return (
        # The notebook's HTML widget sets a 28 px line height: a text would be double-spaced.
        '<table class="lepton-table lepton-worst-texts" style="font-size:12px;line-height:1.35">'
        "<thead><tr><th>#</th><th>true</th><th>predicted</th><th>confidence</th><th>text</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def text_grid_html(evaluation: Evaluation, dataset: Any = None) -> str:
    """Return the first 25 test texts as a 5x5 grid of cards: true → predicted (red if wrong), confidence."""
    cards = [
        text_card(str(text), _caption(evaluation, entry), width=172, max_chars=150)
        for entry, text in test_examples(evaluation, dataset, evaluation.grid)
    ]
    return _grid(cards, "predictions") if cards else SPLIT_CHANGED


def worst_clips_html(evaluation: Evaluation, dataset: Any, limit: int = WORST_CLIPS) -> str:
    """Return the ``limit`` worst-classified test clips as cards: player, waveform and spectrogram."""
    rate = int(dataset.sample_rate) if dataset is not None else 0
    cards = [
        audio_card(clip, rate, _caption(evaluation, entry))
        for entry, clip in test_examples(evaluation, dataset, evaluation.worst[:limit])
    ]
    return _grid(cards, "worst") if cards else SPLIT_CHANGED


def clip_grid_html(evaluation: Evaluation, dataset: Any) -> str:
    """Return the first 25 test clips as a 5x5 grid of players with spectrogram thumbnails."""
    rate = int(dataset.sample_rate) if dataset is not None else 0
    cards = [
        audio_card(clip, rate, _caption(evaluation, entry), waveform_thumbnail=False)
        for entry, clip in test_examples(evaluation, dataset, evaluation.grid)
    ]
    return _grid(cards, "predictions") if cards else SPLIT_CHANGED
