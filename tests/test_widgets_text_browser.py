"""TextBrowser: escaped text pages, class and search filters, lengths, tokens per class, vectorizer tokens."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from lepton_lab.core import datasets
from lepton_lab.widgets.dataset_browser import DatasetBrowser
from lepton_lab.widgets.text_browser import TextBrowser, length_histogram, top_tokens

SCRIPT = "<script>alert('owned')</script> spam spam offer"


@pytest.fixture(scope="module")
def tiny():
    """30 texts in three classes with known words; one holds a <script> tag."""
    rows = []
    for i in range(10):
        rows.append({"text": f"spam offer number {i} buy now spam", "label": "spam"})
        rows.append({"text": f"meeting at noon {i} see agenda", "label": "ham"})
        rows.append({"text": f"eggs and bacon {i} with toast and eggs", "label": "eggs"})
    rows[0]["text"] = SCRIPT
    return datasets.from_dataframe(pd.DataFrame(rows), text="text", target="label", test_split=0.2)


@pytest.fixture(scope="module")
def topics():
    return datasets.load("fortunes_topics", subset=300)


def _shown_positions(browser):
    return [int(index) for index in re.findall(r"<tr data-index='(\d+)'>", browser.table.value)]


def _words(text):
    # An independent tokenizer for the tiny corpus (ASCII words and digits only).
    return re.findall(r"[a-z0-9]+", re.sub(r"<[^>]*>|'[^']*'", " ", text.lower()))


def test_first_page_lists_the_split_in_order_with_labels(tiny):
    browser = TextBrowser(tiny, page_size=4)
    labels = tiny.labels("train")
    assert _shown_positions(browser) == [0, 1, 2, 3]
    assert browser.match_count == tiny.count("train")
    assert browser.page_count == -(-tiny.count("train") // 4)
    for position in range(4):
        name = tiny.class_names[labels[position]]
        assert f"<td>{name}</td>" in browser.table.value
    browser.go(1)
    assert _shown_positions(browser) == [4, 5, 6, 7]


def test_texts_are_escaped_never_html(tiny):
    (split,) = [name for name in ("train", "validation", "test") if SCRIPT in list(tiny.arrays(name)[0])]
    browser = TextBrowser(tiny, split=split, page_size=50)
    assert "<script>" not in browser.table.value
    assert "&lt;script&gt;alert(&#x27;owned&#x27;)&lt;/script&gt;" in browser.table.value
    browser.search = "alert"
    (position,) = _shown_positions(browser)
    assert browser.selected == position
    assert "<script>" not in browser.detail.value and "&lt;script&gt;" in browser.detail.value
    snapshot = browser._repr_mimebundle_()["text/html"]
    assert "<script>alert" not in snapshot and "&lt;script&gt;alert" in snapshot


def test_class_filter_shows_only_that_class(tiny):
    browser = TextBrowser(tiny, page_size=50)
    before = _shown_positions(browser)
    labels = tiny.labels("train")
    eggs = tiny.class_names.index("eggs")
    browser.class_picker.value = eggs
    shown = _shown_positions(browser)
    assert shown != before
    assert shown == np.flatnonzero(labels == eggs).tolist()
    assert browser.selected == shown[0]


def test_search_filters_case_insensitively_and_marks_matches(topics):
    texts, labels = topics.arrays("train")
    browser = TextBrowser(topics, page_size=500)
    browser.search_box.value = "LOVE"
    expected = [i for i, text in enumerate(texts) if "love" in str(text).lower()]
    assert 0 < len(expected) < len(texts)
    assert _shown_positions(browser) == expected
    assert browser.match_count == len(expected)
    assert browser.table.value.lower().count("<mark>love</mark>") >= len(expected)
    # Search and class filter together; a search nothing matches says so.
    browser.class_picker.value = int(labels[expected[0]])
    assert _shown_positions(browser) == [i for i in expected if labels[i] == labels[expected[0]]]
    browser.search_box.value = "zzqqxx-no-such-text"
    assert _shown_positions(browser) == [] and browser.match_count == 0
    assert "No texts match" in browser.table.value and "no examples match" in browser.page_label.value


def test_split_filter_starts_on_the_first_page_of_that_split(topics):
    browser = TextBrowser(topics, page_size=5)
    browser.go(3)
    browser.split_picker.value = "test"
    assert browser.page == 0
    test_texts, _ = topics.arrays("test")
    assert browser.match_count == topics.count("test")
    assert browser.selected == 0
    assert html.escape(str(test_texts[0])) in browser.detail.value


def test_tokens_per_class_equal_an_independent_count(tiny):
    browser = TextBrowser(tiny)
    texts, labels = tiny.arrays("train")
    for label, name in enumerate(tiny.class_names):
        expected = Counter(
            word for text, y in zip(texts, labels, strict=True) if y == label for word in _words(str(text))
        )
        counted = browser.texts.counts[label]
        assert counted == expected, name
        shown = top_tokens(browser.texts.counts, 3)[label]
        assert [count for _, count in shown] == sorted(expected.values(), reverse=True)[:3]
        token, count = shown[0]
        assert f"{token} {count:,}" in browser.token_table.value


def test_distinctive_tokens_drop_words_every_class_uses():
    frame = pd.DataFrame(
        {"text": ["the cat purrs"] * 6 + ["the dog barks"] * 6, "label": ["cat"] * 6 + ["dog"] * 6}
    )
    ds = datasets.from_dataframe(frame, text="text", target="label", validation_split=0.0, test_split=0.2)
    browser = TextBrowser(ds)
    frequent = top_tokens(browser.texts.counts, 3, "frequency")
    distinctive = top_tokens(browser.texts.counts, 3, "distinctive")
    assert "the" in [token for token, _ in frequent[0]]
    assert {token for token, _ in distinctive[0]} == {"cat", "purrs"}
    assert {token for token, _ in distinctive[1]} == {"dog", "barks"}
    browser.rank_picker.value = "distinctive"
    assert "most distinctive" in browser.token_table.value and ">the " not in browser.token_table.value


def test_length_histogram_counts_every_text_in_words_and_characters(topics):
    browser = TextBrowser(topics)
    texts, _ = topics.arrays("train")
    figure = browser.histogram.figure
    assert figure["data"][0]["type"] == "bar"
    assert sum(figure["data"][0]["y"]) == len(texts)
    browser.unit_picker.value = "characters"
    figure = browser.histogram.figure
    names, _ = length_histogram(np.array([len(str(t)) for t in texts]))
    assert figure["data"][0]["x"] == names and sum(figure["data"][0]["y"]) == len(texts)
    assert "Characters per example" in figure["layout"]["title"]["text"]
    # a class filter adds that class's own bars
    browser.class_picker.value = 1
    assert sum(browser.histogram.figure["data"][1]["y"]) == int((topics.labels("train") == 1).sum())


def test_length_histogram_bins_cover_outliers_in_an_open_last_bin():
    names, edges = length_histogram(np.array([1] * 200 + [5000]))
    assert names[-1].startswith("≥")
    counts, _ = np.histogram([1] * 200 + [5000], bins=edges)
    assert counts.sum() == 201 and counts[-1] == 1


def test_snapshot_html_holds_the_page_and_the_token_table(tiny):
    browser = TextBrowser(tiny, page_size=3)
    texts, _ = tiny.arrays("train")
    snapshot = browser._repr_mimebundle_()["text/html"]
    for text in texts[:3]:
        assert str(text).split()[0].replace("<", "&lt;") in snapshot
    assert "lepton-token" in snapshot and "<svg" in snapshot  # token chips and the histogram drawing


def test_dataset_browser_returns_the_text_browser(tiny):
    browser = DatasetBrowser(tiny, page_size=7, columns=16, split="test")
    assert isinstance(browser, TextBrowser)
    assert (browser.split, browser.page_size) == ("test", 7)
    assert len(_shown_positions(browser)) == min(7, tiny.count("test"))


def test_an_audio_or_image_dataset_is_refused_naming_the_fix():
    with pytest.raises(ValueError, match="DatasetBrowser"):
        TextBrowser(datasets.load("digits"))


def test_a_bad_vectorizer_is_refused_naming_what_is_accepted(tiny):
    with pytest.raises(ValueError, match="text preset"):
        TextBrowser(tiny, vectorizer="small_cnn")
    with pytest.raises(ValueError, match="TextVectorization"):
        TextBrowser(tiny, vectorizer={"type": "MelSpectrogram"})


def test_browsing_imports_no_tensorflow():
    code = (
        "import sys\n"
        "import lepton_lab as ll\n"
        "b = ll.TextBrowser('fortunes_topics', page_size=3)\n"
        "b.search = 'the'; b.rank = 'distinctive'; b._repr_mimebundle_()\n"
        "print('tensorflow' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split()[-1] == "False"


# -- the vectorizer's tokens (TensorFlow) ------------------------------------------------------------


def test_given_layer_shows_its_ids_padding_and_out_of_vocabulary_tokens(tiny):
    from lepton_lab.core.tf_import import keras

    layer = keras.layers.TextVectorization(output_sequence_length=12, vocabulary=["spam", "offer", "eggs"])
    browser = TextBrowser(tiny, page_size=50, vectorizer=layer)
    browser.search = "offer number 3"
    result = browser.vectorizer.vectorize("spam offer number 3 buy now spam")
    assert result.ids == [2, 3, 1, 1, 1, 1, 2]  # 0 pads, 1 is [UNK], vocabulary from 2
    assert result.tokens == ["spam", "offer", "[UNK]", "[UNK]", "[UNK]", "[UNK]", "spam"]
    assert (result.padding, result.oov) == (5, 4)
    assert "7 token ids, 4 out of vocabulary, then 5 padding ids" in browser.vectorized.value
    assert browser.vectorize_button.layout.display == "none"


def test_default_vectorizer_is_adapted_on_train_only_and_shown_on_request(tiny):
    browser = TextBrowser(tiny, page_size=50)
    assert browser.vectorized.value == "" and not browser.vectorizer.ready
    browser.vectorize_button.click()
    assert browser.vectorizer.ready
    train_words = {word for text in tiny.arrays("train")[0] for word in _words(str(text))}
    vocabulary = set(browser.vectorizer.vocabulary) - {"", "[UNK]"}
    assert vocabulary == {word for word in train_words if word}  # train split only: no leakage
    test_only = "zebra " + str(tiny.arrays("train")[0][0])
    assert browser.vectorizer.vectorize(test_only).tokens[0] == "[UNK]"
    assert "token ids" in browser.vectorized.value


def test_preset_vectorizer_shows_tf_idf_entries_largest_first(tiny):
    browser = TextBrowser(tiny, page_size=5, vectorizer="bag_of_words")
    result = browser.vectorizer.vectorize("eggs and bacon with toast and eggs")
    assert result.mode == "tf_idf"
    assert "eggs" in result.tokens and "and eggs" in result.tokens  # bigrams from the preset
    assert result.values == sorted(result.values, reverse=True)
    assert "non-zero tf_idf entries" in browser.vectorized.value


@pytest.mark.slow
def test_a_runs_vectorizer_shows_the_tokens_its_model_receives(tmp_path):
    from lepton_lab.core.runner import train
    from lepton_lab.core.tf_import import tf

    dataset = {"name": "fortunes_languages", "subset": 120}
    run = train(
        dataset=dataset,
        model="text_cnn",
        train={"epochs": 1, "batch_size": 16, "runtime": {"probe": "never"}},
        runs_dir=tmp_path,
    )
    assert run.status["status"] == "completed", run.status.get("error")
    browser = TextBrowser(dataset, page_size=3, vectorizer=str(run.path))
    assert f"run {run.id}" in browser.vectorizer.description
    model = run.load_model()
    (layer,) = [layer for layer in model.layers if type(layer).__name__ == "TextVectorization"]
    text = browser.texts.texts[browser.selected]
    expected = [int(i) for i in np.asarray(layer(tf.constant([text])))[0]]
    result = browser.vectorizer.vectorize(text)
    assert result.ids == [i for i in expected if i != 0]
    assert result.padding == expected.count(0) and result.length == len(expected) == 200
    assert result.tokens == [layer.get_vocabulary()[i] for i in result.ids]
    assert f"{len(result.ids)} token ids" in browser.vectorized.value
