"""DatasetBrowser: paged thumbnails that decode only the visible page, filters, large view, tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from lepton_lab.core import datasets
from lepton_lab.widgets.dataset_browser import DatasetBrowser
from tests.widget_comm import comms_fixture  # noqa: F401 - provides the `comms` fixture


@pytest.fixture(scope="module")
def digits():
    return datasets.load("digits")


def test_first_page_shows_page_size_labelled_thumbnails(digits):
    browser = DatasetBrowser(digits, page_size=32)
    items = browser.grid.items
    assert len(items) == 32
    assert all(item["src"].startswith("data:image/png;base64,") for item in items)
    page = digits.page(0, 32)
    assert [item["caption"] for item in items] == [str(label) for label in page.labels]
    assert browser.page_count == digits.page_count(32)
    assert "of 36" in browser.page_label.value


def test_paging_decodes_only_the_visible_page(tmp_path):
    for label in ("cat", "dog"):
        (tmp_path / label).mkdir()
        for i in range(150):
            Image.fromarray(np.full((12, 12, 3), i, np.uint8)).save(tmp_path / label / f"{i}.png")
    folder = datasets.load(f"folder:{tmp_path}", image_size=12)
    browser = DatasetBrowser(folder, page_size=16)
    decoded = folder._store.ready  # which files the folder store has decoded so far
    assert decoded.sum() == 16
    browser.go(5)
    assert browser.page == 5
    assert decoded.sum() == 32
    assert len(browser.grid.items) == 16


def test_class_and_split_filters_show_only_matching_examples(digits):
    browser = DatasetBrowser(digits, page_size=16)
    browser.class_picker.value = 7
    assert {item["caption"] for item in browser.grid.items} == {"7"}
    assert browser.page_count == digits.page_count(16, "train", 7)
    browser.go(1)
    browser.split_picker.value = "test"
    assert browser.page == 0  # a new filter starts at its first page
    assert {item["caption"] for item in browser.grid.items} == {"7"}
    assert browser.page_count == digits.page_count(16, "test", 7)


def test_next_and_previous_buttons_stay_within_the_pages(digits):
    browser = DatasetBrowser(digits, page_size=500)
    assert browser.previous.disabled
    browser.next.click()
    browser.next.click()
    browser.next.click()
    assert browser.page == browser.page_count - 1
    assert browser.next.disabled
    assert len(browser.grid.items) == digits.count("train") - 500 * (browser.page_count - 1)


def test_clicking_a_thumbnail_opens_a_large_view_with_index_and_label(digits):
    browser = DatasetBrowser(digits, page_size=16)
    browser.go(2)
    browser.grid.selected = 5  # what the front end sets on click
    page = digits.page(2, 16)
    assert browser.selected == int(page.indices[5])
    assert f"index {int(page.indices[5])} in train" in browser.info.value
    assert f"label {int(page.labels[5])}" in browser.info.value
    import io

    assert Image.open(io.BytesIO(browser.large.value)).size == (192, 192)


def test_class_distribution_chart_counts_every_split(digits):
    browser = DatasetBrowser(digits)
    figure = browser.distribution.figure
    counts = digits.counts()
    assert [trace["name"] for trace in figure["data"]] == ["train", "validation", "test"]
    assert figure["data"][0]["y"] == counts["train"].astype(float).tolist()


def test_tabular_dataset_shows_rows_and_column_statistics():
    frame = pd.DataFrame(
        {"size": np.arange(40.0), "colour": ["red", "blue"] * 20, "kind": ["a", "b", "c", "d"] * 10}
    )
    browser = DatasetBrowser(datasets.load(frame, target="kind"), page_size=5)
    assert "colour" in browser.table.value and "<b>" in browser.table.value
    assert "mean" in browser.statistics.value and "unique" in browser.statistics.value
    assert browser.table.value.count("<tr") == 6  # header + 5 rows
    browser.class_picker.value = 1
    assert "b</td>" in browser.table.value and "a</td>" not in browser.table.value


def test_a_page_reaches_the_front_end_as_one_message(digits, comms):
    browser = DatasetBrowser(digits, page_size=64)
    grid_comm = next(c for c in comms if c.opened["data"]["state"].get("_model_name") == "AnyModel")
    before = len(grid_comm.messages)
    browser.go(3)
    assert len(grid_comm.messages) == before + 1  # items and selected in one update (hold_sync)
    assert len(grid_comm.updates("items")[-1]) == 64


def test_header_names_the_input_shape_and_the_page_line_counts_the_matching_examples(digits):
    browser = DatasetBrowser(digits, page_size=32)
    assert f"image {digits.input_shape}" in browser.header.value
    browser.class_picker.value = 3
    matching = int((digits.labels("train") == 3).sum())
    assert f"examples 1-32 of {matching:,}" in browser.page_label.value
    assert browser.page_picker.max == browser.page_count == -(-matching // 32)


def test_a_table_has_no_page_controls():
    frame = pd.DataFrame({"size": np.arange(40.0), "colour": ["red", "blue"] * 20, "kind": ["a", "b"] * 20})
    browser = DatasetBrowser(datasets.load(frame, target="kind"), page_size=5)
    shown = {id(widget) for box in browser.children for widget in getattr(box, "children", ())}
    assert id(browser.split_picker) in shown and id(browser.next) not in shown
