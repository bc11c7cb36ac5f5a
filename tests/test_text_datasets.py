"""Tests for text datasets: fortunes, IMDB from the Keras cache, .txt folders, DataFrames and CSV."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lepton_lab.core import datasets
from lepton_lab.core.datasets import fortunes
from lepton_lab.core.specs import DatasetSpec

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

FORTUNES = Path("/usr/share/games/fortunes")
needs_fortunes = pytest.mark.skipif(
    not all((FORTUNES / name).exists() for name in ("sports", "de", "es", "it", "pl", "cs", "ru", "eo")),
    reason="the Debian fortunes packages are not installed: run `make system-deps`",
)
TOPICS = ["art", "computers", "food", "law", "love", "politics", "science", "sports"]


def entries_of(path: Path) -> list[str]:
    """A fortune file's entries, read line by line (not with the module's regex)."""
    found: list[str] = []
    current: list[str] = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line.rstrip() == "%":
            found.append("\n".join(current))
            current = []
        else:
            current.append(line)
    found.append("\n".join(current))
    return [entry.strip("\n").rstrip() for entry in found if entry.strip()]


# --- fortunes --------------------------------------------------------------------------------------


@needs_fortunes
def test_fortunes_topics_has_each_topic_file_capped_at_200_with_the_right_labels() -> None:
    per_topic = {topic: list(dict.fromkeys(entries_of(FORTUNES / topic))) for topic in TOPICS}
    everywhere = [entry for entries in per_topic.values() for entry in entries]
    shared = {entry for entry in everywhere if everywhere.count(entry) > 1}
    expected = {
        topic: min(200, len([e for e in entries if e not in shared])) for topic, entries in per_topic.items()
    }
    # The Debian files as of fortunes 1:1.99.1: sports has 147 entries and love 150, the others more.
    assert expected["sports"] == 147 and expected["love"] == 150 and expected["computers"] == 200

    ds = datasets.load("fortunes_topics")
    assert ds.kind == "text" and ds.input_shape == () and ds.class_names == TOPICS
    assert ds.counts().sum(axis=1).to_dict() == expected
    assert sum(ds.count(split) for split in datasets.SPLITS) == sum(expected.values())
    for split in datasets.SPLITS:
        texts, labels = ds.arrays(split)
        for text, label in zip(texts, labels, strict=True):
            assert text in per_topic[TOPICS[label]], f"{text[:40]!r} is not a {TOPICS[label]} fortune"


@needs_fortunes
def test_fortunes_languages_has_1000_examples_of_each_language_in_its_script() -> None:
    ds = datasets.load("fortunes_languages", validation_split=0.25)
    names = ["cs", "de", "en", "eo", "es", "it", "pl", "pt", "ru", "zh"]
    assert ds.class_names == names
    # Every language ships well over 1000 fortunes (e.g. brasil alone holds about 2500).
    assert (
        len(entries_of(FORTUNES / "brasil")) > 1000 and len(entries_of(FORTUNES / "eo" / "proverbaro")) > 1000
    )
    assert ds.counts().sum(axis=1).tolist() == [1000] * 10
    texts, labels = ds.arrays("test")
    english = {
        entry for name in [*TOPICS, "work", "wisdom", "people"] for entry in entries_of(FORTUNES / name)
    }
    portuguese = set(entries_of(FORTUNES / "brasil"))
    for text, label in zip(texts, labels, strict=True):
        assert "\x1b" not in text  # fortunes-zh's terminal colour codes are removed
        language = names[label]
        if language == "zh":
            assert re.search("[\u4e00-\u9fff]", text), text
        elif language == "ru":
            assert re.search("[\u0400-\u04ff]", text), text
        elif language == "pt":
            assert text in portuguese
        else:
            assert not re.search("[\u4e00-\u9fff\u0400-\u04ff]", text), (language, text)
    english_seen = [text for text, label in zip(texts, labels, strict=True) if names[label] == "en"]
    assert sum(text in english for text in english_seen) > 0


@needs_fortunes
def test_fortune_splits_are_disjoint_stratified_and_seeded_and_the_corpus_does_not_depend_on_the_seed() -> (
    None
):
    first = datasets.load("fortunes_topics", seed=3, validation_split=0.2)
    again = datasets.load("fortunes_topics", seed=3, validation_split=0.2)
    other = datasets.load("fortunes_topics", seed=4, validation_split=0.2)
    rows = {split: first._rows(split) for split in datasets.SPLITS}
    assert not set(rows["train"]) & set(rows["test"]) and not set(rows["train"]) & set(rows["validation"])
    assert not set(rows["validation"]) & set(rows["test"])
    total = sum(len(r) for r in rows.values())
    assert total == len(first._labels)
    counts = first.counts()
    for topic, row in counts.iterrows():
        size = row.sum()
        assert abs(row["test"] - 0.2 * size) <= 1, topic  # 20% test per class
        assert abs(row["validation"] - 0.2 * (size - row["test"])) <= 1, topic
    for split in datasets.SPLITS:
        assert first.arrays(split)[0].tolist() == again.arrays(split)[0].tolist()
    assert first.arrays("train")[0].tolist() != other.arrays("train")[0].tolist()
    everything = {t for split in datasets.SPLITS for t in first.arrays(split)[0]}
    assert everything == {t for split in datasets.SPLITS for t in other.arrays(split)[0]}
    assert len(everything) == total  # no text twice: nothing leaks across splits


@needs_fortunes
def test_fortune_subset_caps_train_and_keeps_every_class() -> None:
    ds = datasets.load("fortunes_languages", subset=200)
    assert ds.count("train") == 200
    assert (ds.counts()["train"] == 20).all()
    assert 0 < ds.count("test") < 100


@needs_fortunes
def test_pages_are_str_arrays_filtered_by_label_and_empty_past_the_end() -> None:
    ds = datasets.load("fortunes_topics")
    page = ds.page(0, 16)
    assert page.images.dtype == object and page.images.shape == (16,)
    assert all(isinstance(text, str) and text for text in page.images)
    assert len(set(page.labels.tolist())) > 1  # classes interleaved, not one class per page
    sports = ds.page(1, 10, split="test", label=TOPICS.index("sports"))
    assert set(sports.labels.tolist()) == {TOPICS.index("sports")}
    end = ds.page(ds.page_count(16), 16)
    assert len(end) == 0 and end.images.dtype == object
    frame = ds.to_frame("validation")
    assert list(frame.columns) == ["index", "label", "class", "text"]
    assert frame["text"].tolist() == ds.arrays("validation")[0].tolist()


def test_a_missing_fortunes_package_names_the_apt_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    partial = tmp_path / "fortunes"
    partial.mkdir()
    (partial / "sports").write_text("Baseball is ninety percent mental.\n%\nThe other half is physical.\n")
    monkeypatch.setattr(fortunes, "FORTUNES_DIR", partial)
    with pytest.raises(
        datasets.DatasetUnavailable, match=r"apt-get install fortunes-br fortunes-cs .*fortunes-zh"
    ):
        datasets.load("fortunes_languages")
    with pytest.raises(datasets.DatasetUnavailable, match=r"apt-get install fortunes\b"):
        datasets.load("fortunes_topics")
    entries = {entry["name"]: entry for entry in datasets.available()}
    assert entries["fortunes_topics"]["offline"] is False
    assert "apt-get install fortunes" in entries["fortunes_topics"]["hint"]


@needs_fortunes
def test_available_and_doctor_list_the_text_datasets(capsys: pytest.CaptureFixture[str]) -> None:
    from lepton_lab.cli.doctor import cmd_doctor

    entries = {entry["name"]: entry for entry in datasets.available()}
    assert entries["fortunes_topics"]["offline"] and entries["fortunes_languages"]["offline"]
    assert "imdb" in entries
    assert DatasetSpec(name="fortunes_languages").name == "fortunes_languages"
    cmd_doctor()
    out = capsys.readouterr().out
    assert "fortunes_topics" in out and "fortunes_languages" in out and "imdb" in out


# --- IMDB ------------------------------------------------------------------------------------------


def test_imdb_offline_without_a_cache_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(datasets.DatasetUnavailable, match=r"Keras cache .*aclImdb.*imdb.load_data"):
        datasets.load("imdb")
    entry = next(entry for entry in datasets.available() if entry["name"] == "imdb")
    assert entry["offline"] is False and "aclImdb" in entry["hint"]


def test_imdb_reads_the_unpacked_aclimdb_folder_with_its_official_test_split(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    root = tmp_path / "keras" / "datasets" / "aclImdb"
    reviews = {}
    for split, n in (("train", 10), ("test", 6)):
        for label in ("neg", "pos"):
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in range(n):
                text = f"{label} {split} review {i}, <br />really."
                (folder / f"{i}_7.txt").write_text(text)
                reviews[text] = (split, label)
    (root / "train" / "unsup").mkdir()  # unlabelled reviews are not a class
    (root / "train" / "unsup" / "0_0.txt").write_text("no label")
    ds = datasets.load("imdb", validation_split=0.2)
    assert ds.class_names == ["neg", "pos"] and ds.kind == "text"
    assert ds.count("test") == 12 and ds.count("train") + ds.count("validation") == 20
    for split in datasets.SPLITS:
        texts, labels = ds.arrays(split)
        for text, label in zip(texts, labels, strict=True):
            origin, name = reviews[text]
            assert name == ds.class_names[label]
            assert (origin == "test") == (split == "test")


def test_imdb_decodes_the_keras_npz_with_its_word_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    cache = tmp_path / "keras" / "datasets"
    cache.mkdir(parents=True)
    index = {"the": 1, "film": 2, "great": 3, "awful": 4}
    (cache / "imdb_word_index.json").write_text(json.dumps(index))
    # Keras's layout: 1 starts a review, word ids are index + 3.
    good, bad = [1, 4, 5, 6], [1, 4, 5, 7]
    sequences = np.empty(4, dtype=object)
    sequences[:] = [good, bad, good, bad]
    np.savez(
        cache / "imdb.npz",
        x_train=sequences[:2],
        y_train=np.array([1, 0]),
        x_test=sequences[2:],
        y_test=np.array([1, 0]),
    )
    ds = datasets.load("imdb", validation_split=0.0)
    assert ds.count("test") == 2 and ds.count("train") == 2
    texts, labels = ds.arrays("test")
    assert dict(zip(texts.tolist(), labels.tolist(), strict=True)) == {
        "the film great": 1,
        "the film awful": 0,
    }


# --- folders ----------------------------------------------------------------------------------------


def _text_folder(root: Path, per_class: dict[str, int]) -> dict[str, str]:
    written = {}
    for name, n in per_class.items():
        (root / name).mkdir(parents=True)
        for i in range(n):
            text = f"{name} document number {i}\nsecond line é"
            (root / name / f"{i:03d}.txt").write_text(text, encoding="utf-8")
            written[text] = name
    (root / "README.md").write_text("not a class")
    return written


def test_a_folder_of_txt_files_is_a_text_dataset_with_one_class_per_subfolder(tmp_path: Path) -> None:
    written = _text_folder(tmp_path / "docs", {"ham": 30, "spam": 20})
    ds = datasets.load(f"folder:{tmp_path / 'docs'}", validation_split=0.25, seed=1)
    assert ds.kind == "text" and ds.class_names == ["ham", "spam"] and ds.input_shape == ()
    assert ds.counts().sum(axis=1).to_dict() == {"ham": 30, "spam": 20}
    assert ds.counts()["test"].to_dict() == {"ham": 6, "spam": 4}
    seen: list[str] = []
    for split in datasets.SPLITS:
        texts, labels = ds.arrays(split)
        for text, label in zip(texts, labels, strict=True):
            assert written[text] == ds.class_names[label]
        seen.extend(texts)
    assert sorted(seen) == sorted(written)
    reloaded = datasets.load(ds.spec)
    assert reloaded.arrays("train")[0].tolist() == ds.arrays("train")[0].tolist()


def test_a_folder_mixing_text_and_images_is_refused_naming_both(tmp_path: Path) -> None:
    _text_folder(tmp_path / "mixed", {"a": 2, "b": 2})
    (tmp_path / "mixed" / "photos").mkdir()
    (tmp_path / "mixed" / "photos" / "photo.png").write_bytes(b"\x89PNG")
    with pytest.raises(ValueError, match="mixes kinds of examples") as error:
        datasets.load(f"folder:{tmp_path / 'mixed'}")
    assert "1 image files such as" in str(error.value) and "photo.png" in str(error.value)
    assert "4 text files such as" in str(error.value) and "000.txt" in str(error.value)
    # Half images, half text inside the same class folders is a mix too.
    _text_folder(tmp_path / "halves", {"a": 2, "b": 2})
    for name in ("a", "b"):
        for i in range(2):
            (tmp_path / "halves" / name / f"{i}.png").write_bytes(b"\x89PNG")
    with pytest.raises(ValueError, match="mixes kinds of examples"):
        datasets.load(f"folder:{tmp_path / 'halves'}")


def test_a_stray_image_in_a_text_folder_is_ignored(tmp_path: Path) -> None:
    written = _text_folder(tmp_path / "docs", {"a": 5, "b": 5})
    (tmp_path / "docs" / "b" / "scan.png").write_bytes(b"\x89PNG")
    ds = datasets.load(f"folder:{tmp_path / 'docs'}")
    assert ds.kind == "text" and sum(ds.count(split) for split in datasets.SPLITS) == len(written) == 10


def test_a_text_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    _text_folder(tmp_path / "docs", {"a": 2, "b": 2})
    (tmp_path / "docs" / "b" / "latin.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin\.txt is not UTF-8 text.*iconv"):
        datasets.load(f"folder:{tmp_path / 'docs'}")


# --- DataFrames and CSV --------------------------------------------------------------------------------


def _reviews(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "review": [f'review {i}: {"great" if i % 4 else "bad"}, "quoted"\nnext line' for i in range(n)],
            "label": ["pos" if i % 4 else "neg" for i in range(n)],
            "stars": rng.integers(1, 6, size=n),
        }
    )


def test_from_dataframe_with_a_text_column_is_a_text_dataset() -> None:
    df = _reviews()
    ds = datasets.from_dataframe(df, text="review", target="label", seed=2)
    assert ds.kind == "text" and ds.class_names == ["neg", "pos"] and ds.input_shape == ()
    assert ds.counts().sum(axis=1).to_dict() == {"neg": 10, "pos": 30}
    truth = dict(zip(df["review"], df["label"], strict=True))
    for split in datasets.SPLITS:
        texts, labels = ds.arrays(split)
        assert [truth[text] for text in texts] == [ds.class_names[label] for label in labels]
        assert ds.to_frame(split)["review"].tolist() == texts.tolist()
    assert (
        datasets.load(df, text="review", target="label", seed=2).arrays("test")[0].tolist()
        == ds.arrays("test")[0].tolist()
    )


def test_from_dataframe_text_errors_name_the_fix() -> None:
    df = _reviews()
    with pytest.raises(ValueError, match="text column 'body' is not in the DataFrame"):
        datasets.from_dataframe(df, text="body", target="label")
    with pytest.raises(ValueError, match=r"non-text values .*astype\(str\)"):
        datasets.from_dataframe(df, text="stars", target="label")
    holes = df.assign(review=df["review"].where(df.index != 3))
    with pytest.raises(ValueError, match=r"1 missing values.*dropna"):
        datasets.from_dataframe(holes, text="review", target="label")


def test_a_csv_file_loads_as_text_keeping_empty_texts_and_embedded_newlines(tmp_path: Path) -> None:
    df = _reviews()
    df.loc[5, "review"] = ""
    path = tmp_path / "reviews.csv"
    df.to_csv(path, index=False)
    ds = datasets.load(str(path), text="review", target="label")
    assert ds.kind == "text" and ds.name == "memory:reviews.csv"
    texts = {t for split in datasets.SPLITS for t in ds.arrays(split)[0]}
    assert texts == set(df["review"])
    assert datasets.from_csv(path, text="review", target="label").counts().equals(ds.counts())
    with pytest.raises(FileNotFoundError, match="does not exist"):
        datasets.from_csv(tmp_path / "nope.csv", text="review", target="label")


# --- tf.data ---------------------------------------------------------------------------------------


def test_as_tf_data_yields_string_batches_with_their_labels() -> None:
    import tensorflow as tf

    df = _reviews(50)
    ds = datasets.from_dataframe(df, text="review", target="label")
    batches = list(ds.as_tf_data("test", batch_size=4))
    assert batches[0][0].dtype == tf.string and batches[0][0].shape == (4,)
    assert batches[0][1].dtype == tf.int32
    texts = [t.decode("utf-8") for x, _ in batches for t in x.numpy()]
    labels = [int(v) for _, y in batches for v in y.numpy()]
    expected_texts, expected_labels = ds.arrays("test")
    assert texts == expected_texts.tolist() and labels == expected_labels.tolist()
    train = [t for x, _ in ds.as_tf_data("train", batch_size=8, seed=1) for t in x.numpy()]
    assert sorted(train) == sorted(t.encode("utf-8") for t in ds.arrays("train")[0])
    assert train != [t.encode("utf-8") for t in ds.arrays("train")[0]]  # shuffled


def test_text_stats_counts_words_and_frequent_tokens_per_class() -> None:
    df = pd.DataFrame(
        {
            "text": ["The cat sat.", "A cat, a CAT!", "dogs bark", "Dogs bark loudly, dogs run", "dogs"],
            "label": ["cat", "cat", "dog", "dog", "dog"],
        }
    )
    ds = datasets.from_dataframe(df, text="text", target="label", validation_split=0.0, test_split=0.0)
    stats = ds.text_stats(top=2)
    assert stats.loc["cat", "examples"] == 2 and stats.loc["dog", "examples"] == 3
    assert stats.loc["cat", "top_tokens"] == ["cat", "a"]  # lower-cased, punctuation stripped
    assert stats.loc["dog", "top_tokens"] == ["dogs", "bark"]
    assert stats.loc["dog", "max_words"] == 5 and stats.loc["cat", "mean_words"] == 3.5
    with pytest.raises(ValueError, match="text_stats\\(\\) is for text datasets"):
        datasets.load("digits").text_stats()
