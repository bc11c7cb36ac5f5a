"""TextBrowser: read a text dataset before training on it.

Pages of examples with their labels, filtered by split, class and a text search; for the chosen
example its full text, its words, and the tokens the vectorizer actually produces (ids, padding
and out-of-vocabulary tokens, or the TF-IDF / multi-hot entries); a histogram of lengths in
words or characters; and the most frequent (or most distinctive) tokens of each class.

Texts are always shown escaped: a review that contains ``<script>`` is shown as those
characters, never run. Words are counted as :func:`lepton_lab.core.datasets.text.tokens` splits
them, the way a default ``TextVectorization`` does. TensorFlow is imported only when the
vectorizer's tokens are asked for (:mod:`._text_vectorizer`).
"""

from __future__ import annotations

import html
import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import ipywidgets
import numpy as np
import traitlets

from lepton_lab.core.datasets.text import tokens as split_words
from lepton_lab.widgets import _plots
from lepton_lab.widgets._pager import PagedBrowser, load_dataset
from lepton_lab.widgets._text_vectorizer import Vectorizer, chip, vectorized_html

#: Characters of a text shown in the page table (the chosen example is shown whole).
PREVIEW_CHARS = 400
#: Tokens listed per class.
TOP_TOKENS = 12
#: Bars of the length histogram (at most; the last one collects the longest 1%).
HISTOGRAM_BINS = 30
#: ipywidgets' HTML widget sets a 28 px line height (one control's height); text needs its own.
_TABLE_STYLE = "font-size:12px;line-height:1.4"
#: A distinctive token occurs at least this often in its class (rarer ones are noise).
MIN_DISTINCTIVE_COUNT = 3


# --- statistics (pure functions, tested alone) ----------------------------------------------------


def class_token_counts(words: list[list[str]], labels: np.ndarray, num_classes: int) -> list[Counter[str]]:
    """Token counts of each class: ``counts[label][token]`` over the texts with that label."""
    counts: list[Counter[str]] = [Counter() for _ in range(num_classes)]
    for text_words, label in zip(words, labels, strict=True):
        counts[int(label)].update(text_words)
    return counts


def top_tokens(
    counts: list[Counter[str]], top: int = TOP_TOKENS, rank: str = "frequency"
) -> list[list[tuple[str, int]]]:
    """Return the ``top`` tokens of each class with their counts.

    ``rank="frequency"``: the most frequent. ``rank="distinctive"``: the tokens most
    over-represented in the class against the whole split (count times the log of the ratio of the
    class's rate to the split's rate), so "the" and "a" give way to what sets a class apart.
    """
    if rank == "frequency":
        return [counter.most_common(top) for counter in counts]
    if rank != "distinctive":
        raise ValueError(f"rank must be 'frequency' or 'distinctive', got {rank!r}")
    total: Counter[str] = Counter()
    for counter in counts:
        total.update(counter)
    grand = max(1, sum(total.values()))
    ranked = []
    for counter in counts:
        size = max(1, sum(counter.values()))
        scores = []
        for token, count in counter.items():
            if count < MIN_DISTINCTIVE_COUNT:
                continue
            lift = (count / size) / (total[token] / grand)
            if lift > 1:
                scores.append((count * math.log(lift), token, count))
        scores.sort(key=lambda entry: (-entry[0], entry[1]))
        ranked.append([(token, count) for _, token, count in scores[:top]])
    return ranked


def length_histogram(lengths: np.ndarray, bins: int = HISTOGRAM_BINS) -> tuple[list[str], np.ndarray]:
    """Integer-width bins over ``lengths``: ``(bin labels, edges)``; the last bin is open-ended.

    The range stops at the 99th percentile so one very long text does not squeeze every bar
    into the first; longer texts land in the last, open-ended bin (``"≥ n"``).
    """
    values = np.asarray(lengths, dtype=np.int64)
    high = int(np.ceil(np.percentile(values, 99))) if len(values) else 1
    width = max(1, math.ceil((high + 1) / bins))
    edges = np.arange(0, high + width + 1, width, dtype=np.int64)
    overflow = len(values) and values.max() >= edges[-1]
    names = [str(start) if width == 1 else f"{start}-{start + width - 1}" for start in edges[:-1]]
    if overflow:
        names.append(f"≥ {edges[-1]}")
        edges = np.append(edges, values.max() + 1)
    return names, edges


def bin_counts(lengths: np.ndarray, edges: np.ndarray) -> list[int]:
    """How many ``lengths`` fall in each ``[edges[i], edges[i + 1])``."""
    counts, _ = np.histogram(np.asarray(lengths), bins=edges)
    return [int(count) for count in counts]


def highlight(text: str, pattern: re.Pattern[str] | None) -> str:
    """``text`` escaped for HTML, with the matches of ``pattern`` in ``<mark>``."""
    if pattern is None:
        return html.escape(text)
    parts, last = [], 0
    for match in pattern.finditer(text):
        parts.append(html.escape(text[last : match.start()]))
        parts.append(f"<mark>{html.escape(match.group(0))}</mark>")
        last = match.end()
    parts.append(html.escape(text[last:]))
    return "".join(parts)


class _SplitTexts:
    """One split's texts, labels, words and lengths, computed once per split."""

    def __init__(self, dataset: Any, split: str) -> None:
        texts, self.labels = dataset.arrays(split)
        self.texts = [str(text) for text in texts]
        self.words = [split_words(text) for text in self.texts]
        self.word_lengths = np.asarray([len(words) for words in self.words], dtype=np.int64)
        self.char_lengths = np.asarray([len(text) for text in self.texts], dtype=np.int64)
        self.counts = class_token_counts(self.words, self.labels, dataset.num_classes)


# --- the widget -------------------------------------------------------------------------------------


class TextBrowser(PagedBrowser):
    """Browse a text dataset: pages of labelled texts, filters, lengths, tokens per class.

    Parameters
    ----------
    dataset : Dataset, str or DatasetSpec
        A text dataset, or something :func:`lepton_lab.core.datasets.load` accepts.
    split : str
        Split shown first.
    page_size : int
        Examples per page.
    vectorizer : optional
        Whose tokens the chosen example shows: None (a default ``TextVectorization`` adapted on
        the train split when asked for), a text preset name (its preprocessing), a
        ``TextVectorizationSpec`` / model spec (or dict), an adapted
        ``keras.layers.TextVectorization``, or a run (``Run`` or run directory). Given one, the
        tokens are shown straight away; otherwise a button computes them (importing TensorFlow).

    Examples
    --------
    >>> import lepton_lab as ll  # doctest: +SKIP
    >>> ll.TextBrowser("fortunes_languages", vectorizer="text_bilstm")  # doctest: +SKIP
    """

    search = traitlets.Unicode("", help="Show only texts containing this (case-insensitive).")
    selected = traitlets.Int(-1, help="Index (within the split) of the example shown in detail; -1 for none.")
    unit = traitlets.Unicode("words", help="Unit of the length histogram: words or characters.")
    rank = traitlets.Unicode("frequency", help="Tokens per class ranked by 'frequency' or 'distinctive'.")
    vectorize = traitlets.Bool(False, help="Show the vectorizer's tokens of the chosen example.")

    def __init__(
        self,
        dataset: Any,
        split: str = "train",
        page_size: int = 10,
        vectorizer: Any = None,
        **kwargs: Any,
    ) -> None:
        dataset = load_dataset(dataset)
        if dataset.kind != "text":
            raise ValueError(
                f"{dataset.name} is a {dataset.kind} dataset; TextBrowser shows text datasets "
                "(use ll.DatasetBrowser, which picks the browser for each kind)"
            )
        self.vectorizer = Vectorizer(vectorizer, dataset)
        self._splits: dict[str, _SplitTexts] = {}
        self._build_controls()
        super().__init__(dataset, page_size=page_size, split=split, **kwargs)
        self.add_class("lepton-text-browser")
        self.search_box.observe(lambda change: setattr(self, "search", change["new"]), "value")
        self.example_picker.observe(self._example_picked, "value")
        self.unit_picker.observe(lambda change: setattr(self, "unit", change["new"]), "value")
        self.rank_picker.observe(lambda change: setattr(self, "rank", change["new"]), "value")
        self.vectorize_button.on_click(lambda _: setattr(self, "vectorize", True))
        self.observe(lambda _: self.refilter(), "search")
        self.observe(lambda _: self._show_statistics(), ["split", "label", "unit", "rank"])
        self.observe(lambda _: self._show_example(), ["selected", "vectorize"])
        self.vectorize = vectorizer is not None
        self.refilter()
        self._show_statistics()

    def _build_controls(self) -> None:
        self.search_box = ipywidgets.Text(
            placeholder="search the texts", description="search", continuous_update=False,
            layout=ipywidgets.Layout(width="260px"),
        )  # fmt: skip
        self.table = ipywidgets.HTML()
        self.table.add_class("lepton-text-page")
        self.example_picker = ipywidgets.Dropdown(
            options=[], description="example", layout=ipywidgets.Layout(width="520px")
        )
        self.detail = ipywidgets.HTML()
        self.detail.add_class("lepton-text-detail")
        self.vectorize_button = ipywidgets.Button(
            description="Show the vectorizer's tokens", icon="list",
            tooltip="adapt a TextVectorization on the train split (imports TensorFlow) and show its tokens",
            layout=ipywidgets.Layout(width="auto"),
        )  # fmt: skip
        self.vectorized = ipywidgets.HTML()
        self.vectorized.add_class("lepton-text-vectorized")
        self.unit_picker = ipywidgets.ToggleButtons(
            options=[("words", "words"), ("characters", "characters")], value="words",
            style={"button_width": "90px"},
        )  # fmt: skip
        self.histogram = _plots.FigureView(layout=ipywidgets.Layout(min_height="300px"))
        self.rank_picker = ipywidgets.ToggleButtons(
            options=[("most frequent", "frequency"), ("most distinctive", "distinctive")], value="frequency",
            style={"button_width": "130px"},
        )  # fmt: skip
        self.token_table = ipywidgets.HTML()
        self.token_table.add_class("lepton-text-tokens")

    def _children(self) -> list[ipywidgets.Widget]:
        heading = "<div style='font-weight:600;margin-top:8px'>{}</div>".format
        controls = ipywidgets.HBox([self.split_picker, self.class_picker, self.search_box])
        return [
            self.header,
            controls,
            ipywidgets.HBox(self.paging_controls()),
            self.table,
            ipywidgets.HTML(heading("Example")),
            self.example_picker,
            self.detail,
            ipywidgets.HBox([self.vectorize_button]),
            self.vectorized,
            ipywidgets.HTML(heading("Length per example")),
            self.unit_picker,
            self.histogram,
            ipywidgets.HTML(heading("Tokens per class")),
            self.rank_picker,
            self.token_table,
        ]

    # -- filtering and pages -----------------------------------------------------------------------

    @property
    def texts(self) -> _SplitTexts:
        """The shown split's texts, words and lengths (computed on first use)."""
        if self.split not in self._splits:
            self._splits[self.split] = _SplitTexts(self.dataset, self.split)
        return self._splits[self.split]

    def _pattern(self) -> re.Pattern[str] | None:
        query = self.search.strip()
        return re.compile(re.escape(query), re.IGNORECASE) if query else None

    def matching(self) -> np.ndarray:
        """Positions (within the split) of the texts that pass the class and search filters."""
        split = self.texts
        keep = np.ones(len(split.texts), dtype=bool)
        if self.label_filter is not None:
            keep &= split.labels == self.label_filter
        pattern = self._pattern()
        if pattern is not None:
            keep &= np.fromiter((pattern.search(text) is not None for text in split.texts), bool, len(keep))
        return np.flatnonzero(keep)

    def _match_count(self) -> int:
        self._matches = self.matching()
        return len(self._matches)

    def _show_page(self) -> int:
        split = self.texts
        positions = self._matches[self.page * self.page_size : (self.page + 1) * self.page_size]
        self.current = positions
        names = self.dataset.class_names
        pattern = self._pattern()
        rows = []
        for position in positions:
            text = split.texts[position]
            text = text.strip()  # fortunes end in a newline; the detail shows the text as stored
            shown = text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "…"
            rows.append(
                f"<tr data-index='{int(position)}'><td>{int(position):,}</td>"
                f"<td>{html.escape(str(names[int(split.labels[position])]))}</td>"
                f"<td>{int(split.word_lengths[position]):,}</td>"
                f"<td class='lepton-text' style='text-align:left;white-space:pre-wrap;font-family:inherit'>"
                f"{highlight(shown, pattern)}</td></tr>"
            )
        self.table.value = (
            f"<table class='lepton-table' style='{_TABLE_STYLE};width:100%'><thead><tr><th>#</th>"
            "<th>class</th><th>words</th><th style='text-align:left'>text</th></tr></thead>"
            f"<tbody style='vertical-align:top'>{''.join(rows)}</tbody></table>"
            if rows
            else "<i style='color:#555'>No texts match these filters.</i>"
        )
        options = [
            (f"#{int(p)} · {names[int(split.labels[p])]} · {_one_line(split.texts[p], 60)}", int(p))
            for p in positions
        ]
        self.example_picker.unobserve(self._example_picked, "value")
        first = options[0][1] if options else -1
        self.example_picker.options = options
        self.example_picker.value = first if options else None
        self.example_picker.observe(self._example_picked, "value")
        if self.selected == first:
            self._show_example()  # same position, but maybe another split's text
        else:
            self.selected = first
        return len(positions)

    def _example_picked(self, change: dict[str, Any]) -> None:
        if change["new"] is not None:
            self.selected = int(change["new"])

    # -- the chosen example ------------------------------------------------------------------------

    def _show_example(self) -> None:
        if self.selected < 0 or self.selected >= len(self.texts.texts):
            self.detail.value = "<i style='color:#555'>No example chosen.</i>"
            self.vectorized.value = ""
            return
        split = self.texts
        text = split.texts[self.selected]
        name = self.dataset.class_names[int(split.labels[self.selected])]
        words = split.words[self.selected]
        chips = "".join(chip(word, "#f1f1f1", "#333") for word in words)
        self.detail.value = (
            "<div style='line-height:1.4'><div style='font-size:12px;color:#555'>"
            f"{self.split} #{self.selected:,} · "
            f"<b>{html.escape(str(name))}</b> · {len(words):,} words · {len(text):,} characters"
            "</div><div class='lepton-text' style='white-space:pre-wrap;border-left:3px solid #90caf9;"
            f"padding:4px 8px;margin:4px 0;max-height:240px;overflow:auto'>{html.escape(text)}</div>"
            "<div style='font-size:12px;color:#555'>words (lower case, punctuation removed, split on "
            f"spaces):</div><div style='line-height:1.9'>{chips}</div></div>"
        )
        self.vectorize_button.layout.display = "none" if self.vectorize else None
        if not self.vectorize:
            self.vectorized.value = ""
            return
        try:
            result = self.vectorizer.vectorize(text)
        except (ValueError, FileNotFoundError, ImportError) as error:
            self.vectorized.value = f"<div style='color:#c62828'>{html.escape(str(error))}</div>"
            return
        self.vectorized.value = vectorized_html(result, self.vectorizer.description)

    # -- statistics --------------------------------------------------------------------------------

    def _show_statistics(self) -> None:
        split = self.texts
        lengths = split.word_lengths if self.unit == "words" else split.char_lengths
        names, edges = length_histogram(lengths)
        series: dict[str, Sequence[float]] = {f"all classes ({self.split})": bin_counts(lengths, edges)}
        if self.label_filter is not None:
            class_name = str(self.dataset.class_names[self.label_filter])
            series[class_name] = bin_counts(lengths[split.labels == self.label_filter], edges)
        figure = _plots.bar(names, series, f"{self.unit.capitalize()} per example", "examples")
        figure["layout"]["xaxis"] = {"title": {"text": self.unit}, "type": "category"}
        figure["layout"]["height"] = 300
        self.histogram.show(figure, f"{self.unit} per example")
        ranked = top_tokens(split.counts, TOP_TOKENS, self.rank)
        rows = []
        for label, tokens in enumerate(ranked):
            chips = "".join(chip(f"{token} {count:,}", title=f"{count:,} times") for token, count in tokens)
            style = " style='background:#fff8e1'" if label == self.label_filter else ""
            name = html.escape(str(self.dataset.class_names[label]))
            rows.append(
                f"<tr{style}><td style='text-align:left'>{name}</td>"
                f"<td>{int(np.count_nonzero(split.labels == label)):,}</td>"
                f"<td style='text-align:left;line-height:1.9'>{chips or '<i>none</i>'}</td></tr>"
            )
        ranking = "most frequent" if self.rank == "frequency" else "most distinctive"
        self.token_table.value = (
            f"<table class='lepton-table' style='{_TABLE_STYLE}'><thead><tr><th>class</th><th>texts</th>"
            f"<th style='text-align:left'>{ranking} "
            f"tokens ({self.split})</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
