"""Static SVG drawings in each plot's text/html fallback (``lepton_lab.sharing.svg``).

Pages that cannot render the plotly mimetype (plain ``jupyter nbconvert --to html`` opened
offline) show these drawings. The browser half (the converted page drawn with networking
disabled) is tests/browser/test_nbconvert_offline.py.
"""

from __future__ import annotations

import base64
import json
import re
import struct
import xml.etree.ElementTree as ET

import nbformat
import pytest

from lepton_lab.sharing.svg import figure_to_svg
from lepton_lab.sharing.svg.cartesian import MAX_CELL_RECTS
from lepton_lab.sharing.svg.elements import MAX_POINTS
from lepton_lab.widgets import _plots
from lepton_lab.widgets.live_plot import LivePlot
from tests.sharing import nbconverted_notebook

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # raises if the drawing is not well-formed XML
    assert root.tag == f"{SVG}svg"
    return root


def elements(root: ET.Element, tag: str, cls: str | None = None) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}{tag}") if cls is None or e.get("class") == cls]


def texts(root: ET.Element) -> list[str]:
    return [e.text or "" for e in elements(root, "text")]


def points(path: ET.Element) -> list[list[tuple[float, float]]]:
    """The runs of points of a path ``d`` made of ``M x y x y ...`` subpaths."""
    runs = []
    for run in path.get("d", "").split("M")[1:]:
        numbers = [float(n) for n in run.split()]
        runs.append(list(zip(numbers[::2], numbers[1::2], strict=True)))
    return runs


# --- chart kinds ----------------------------------------------------------------------------------


def test_line_chart_draws_a_line_and_markers_per_series_with_titles_and_legend():
    figure = _plots.lines(
        {"adam": ([1, 2, 3], [0.9, 0.5, 0.3]), "sgd": ([1, 2, 3], [1.0, 0.8, 0.7])},
        "val_loss per epoch", "epoch", "val_loss",
    )  # fmt: skip
    root = parse(figure_to_svg(figure))
    lines = elements(root, "path", "line")
    assert [line.get("data-name") for line in lines] == ["adam", "sgd"]
    assert [len(points(line)[0]) for line in lines] == [3, 3]
    assert len(elements(root, "path", "markers")) == 2
    assert {"val_loss per epoch", "epoch", "val_loss", "adam", "sgd"} <= set(texts(root))
    # Lower loss is drawn higher up (SVG y grows downwards): adam ends below sgd in value, above on screen.
    assert points(lines[0])[0][-1][1] > points(lines[1])[0][-1][1]
    # Each series keeps its palette colour.
    assert [line.get("stroke") for line in lines] == list(_plots.PALETTE[:2])


def test_a_none_value_splits_the_line_into_separate_runs():
    figure = _plots.lines({"loss": ([1, 2, 3, 4, 5], [1.0, 0.8, None, 0.5, 0.4])}, "t", "epoch", "loss")
    (line,) = elements(parse(figure_to_svg(figure)), "path", "line")
    runs = points(line)
    assert [len(run) for run in runs] == [2, 2]
    assert runs[0][-1][0] < runs[1][0][0]  # the gap is where x = 3 would be


def test_titles_and_names_are_escaped_text_never_markup():
    title = "a <b> & c"
    name = 'run "x" <script>alert(1)</script>'
    svg = figure_to_svg(_plots.lines({name: ([1, 2], [1, 2]), "b": ([1, 2], [2, 1])}, title, "x", "y"))
    root = parse(svg)
    assert title in texts(root) and name in texts(root)
    assert "a &lt;b&gt; &amp; c" in svg
    assert "<script" not in svg and not elements(root, "script") and not elements(root, "b")
    assert root.get("aria-label") == title


def test_whole_bold_markup_is_drawn_bold_as_plotly_does():
    figure = {"data": [], "layout": {"annotations": [
        {"text": "<b>loss</b>", "x": 0.5, "y": 1, "xref": "paper", "yref": "paper", "showarrow": False}
    ]}}  # fmt: skip
    (text,) = elements(parse(figure_to_svg(figure)), "text")
    assert text.text == "loss" and text.get("font-weight") == "bold"


def test_bar_chart_draws_one_rect_per_category_and_series_from_a_common_baseline():
    figure = _plots.bar(
        ["cat", "dog", "<fox>"], {"train": [10, 20, 40], "test": [5, 5, 5]}, "Counts", "examples"
    )
    root = parse(figure_to_svg(figure))
    bars = elements(root, "rect", "bar")
    assert len(bars) == 6
    train = [b for b in bars if b.get("fill") == _plots.PALETTE[0]]
    heights = [float(b.get("height")) for b in train]
    assert heights[2] == pytest.approx(2 * heights[1], rel=0.02) == pytest.approx(4 * heights[0], rel=0.02)
    bottoms = {round(float(b.get("y")) + float(b.get("height"))) for b in bars}
    assert len(bottoms) == 1
    assert "<fox>" in texts(root) and {"train", "test"} <= set(texts(root))
    assert len(elements(root, "rect", "legend")) == 2


def test_heatmap_draws_a_cell_and_its_count_per_entry_with_a_colour_scale():
    matrix = [[9, 1, 0], [2, 7, 1], [0, 0, 10]]
    root = parse(figure_to_svg(_plots.heatmap(matrix, ["zero", "one", "two"], "Confusion matrix")))
    cells = elements(root, "rect", "cell")
    assert len(cells) == 9
    fills = [cell.get("fill") for cell in cells]
    assert fills[8] == "#08306b"  # the largest count is the darkest
    assert fills[2] == fills[6] == "#f7fbff"  # zeros the lightest
    counts = [t for t in texts(root) if t.isdigit()]
    assert sorted(map(int, counts[:9])) == sorted(v for row in matrix for v in row)
    assert {"zero", "one", "two", "predicted", "true", "Confusion matrix"} <= set(texts(root))
    assert len(elements(root, "linearGradient")) == 1 and len(elements(root, "rect", "scale")) == 1
    # Rows read top to bottom in label order (y axis reversed, as a confusion matrix reads).
    tops = [float(cells[i].get("y")) for i in (0, 3, 6)]
    assert tops == sorted(tops)


def test_large_heatmap_is_one_png_with_a_pixel_per_cell():
    size = 40
    matrix = [[50 if i == j else (i * j) % 3 for j in range(size)] for i in range(size)]
    svg = figure_to_svg(_plots.heatmap(matrix, [f"class {i}" for i in range(size)], "Confusion matrix"))
    root = parse(svg)
    assert size * size > MAX_CELL_RECTS and not elements(root, "rect", "cell")
    (image,) = elements(root, "image", "cells")
    png = base64.b64decode(image.get("href").removeprefix("data:image/png;base64,"))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (size, size)
    assert len(svg) < 20_000


def test_parallel_coordinates_draw_one_polyline_per_run_across_vertical_axes():
    columns = {
        "learning_rate": [0.1, 0.01, 0.001, 0.003],
        "optimizer": ["adam", "sgd", "adam", "rmsprop"],
        "val_accuracy": [0.80, 0.90, 0.95, 0.85],
    }
    root = parse(figure_to_svg(_plots.parallel_coordinates(columns, "val_accuracy", "Hyperparameters")))
    lines = elements(root, "path", "line")
    assert len(lines) == 4
    assert all(len(points(line)[0]) == 3 for line in lines)
    xs = {tuple(x for x, _ in points(line)[0]) for line in lines}
    assert len(xs) == 1  # every run crosses the same three axes
    (axis,) = elements(root, "path", "axis")
    assert axis.get("d").count("V") == 3
    assert {"learning_rate", "optimizer", "val_accuracy", "adam", "rmsprop", "sgd"} <= set(texts(root))
    # Coloured by val_accuracy: the best run gets the top of the Viridis scale.
    best = lines[columns["val_accuracy"].index(0.95)]
    assert best.get("stroke") == "#fde725"


def live_plot(steps_per_epoch=30, epochs=2):
    plot = LivePlot(title="run <7>", clock=lambda: 0.0, trailing=False)
    for epoch in range(1, epochs + 1):
        for step in range((epoch - 1) * steps_per_epoch + 1, epoch * steps_per_epoch + 1):
            plot.on_event({"type": "batch", "step": step, "epoch": epoch, "epochs": epochs,
                           "total_steps": steps_per_epoch * epochs,
                           "metrics": {"loss": 2.0 / step, "accuracy": 1 - 1.0 / step}})  # fmt: skip
        plot.on_event({"type": "epoch", "epoch": epoch, "step": epoch * steps_per_epoch,
                       "metrics": {"loss": 1.0 / epoch, "accuracy": 0.5 + epoch / 10,
                                   "val_loss": 1.2 / epoch, "val_accuracy": 0.4 + epoch / 10}})  # fmt: skip
    return plot


def test_live_plot_draws_loss_and_accuracy_side_by_side():
    root = parse(figure_to_svg(live_plot().figure()))
    lines = elements(root, "path", "line")
    names = [line.get("data-name") for line in lines]
    assert names == ["train (batch)", "train (epoch)", "validation"] * 2
    loss_batch, accuracy_batch = lines[0], lines[3]
    assert len(points(loss_batch)[0]) == 60
    # The loss panel is left of the accuracy panel.
    assert max(x for x, _ in points(loss_batch)[0]) < min(x for x, _ in points(accuracy_batch)[0])
    assert float(loss_batch.get("opacity")) < 1  # batch curves are faint, as in the interactive plot
    assert {"loss", "accuracy", "run <7>", "train (batch)", "validation"} <= set(texts(root))


def test_empty_live_plot_still_draws_its_two_panels():
    root = parse(figure_to_svg(LivePlot().figure()))
    assert len(elements(root, "path", "grid")) == 2
    assert {"loss", "accuracy"} <= set(texts(root))
    assert not elements(root, "path", "line")


def test_long_traces_are_thinned_and_coordinates_rounded():
    xs = list(range(10 * MAX_POINTS))
    ys = [None if i == 5000 else (i % 97) / 97 for i in xs]
    svg = figure_to_svg(_plots.lines({"noise": (xs, ys)}, "t", "x", "y"))
    (line,) = elements(parse(svg), "path", "line")
    runs = points(line)
    assert len(runs) == 2  # the gap survives thinning
    assert MAX_POINTS <= sum(len(run) for run in runs) <= MAX_POINTS + 3
    assert runs[-1][-1][0] == max(x for run in runs for x, _ in run)  # the newest point is kept
    assert not re.search(r"\d\.\d\d", line.get("d"))  # at most one decimal
    assert len(svg) < 50_000


def test_unknown_trace_types_are_named_instead_of_drawn():
    root = parse(figure_to_svg({"data": [{"type": "pie", "values": [1, 2]}], "layout": {}}))
    assert any("pie" in text for text in texts(root))


def test_non_finite_values_and_odd_input_do_not_break_the_drawing():
    figure = {"data": [{"y": [float("nan"), 1, float("inf"), 2, "x\x00y"]}, {"type": "bar", "y": []}],
              "layout": {"title": "t\x01itle", "height": 10}}  # fmt: skip
    root = parse(figure_to_svg(figure))
    assert "title" in texts(root)


# --- the mimebundle -------------------------------------------------------------------------------


def test_bundle_keeps_plotly_first_and_puts_the_drawing_in_the_fallback_div():
    figure = live_plot().figure()
    data = _plots.bundle(figure, "training plot")
    assert list(data) == [_plots.PLOTLY_MIME, "text/html", "text/plain"]  # JupyterLab still picks plotly
    html = data["text/html"]
    div = re.match(
        r'<div id="(lepton-plot-\d+)" class="lepton-plot"[^>]*>(<svg .*</svg>)</div><script>', html
    )
    assert div, html[:200]
    parse(div.group(2))
    # The script draws into that div (replacing the drawing) only with the page's plotly.js.
    script = html[div.end() :]
    assert json.dumps(div.group(1)) in script and "newPlot" in script and "innerHTML=''" in script
    assert "<script src" not in html
    assert len(html) < 60_000


# --- a notebook executed headless, saved and converted with plain nbconvert -------------------------


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    return nbconverted_notebook(tmp_path_factory)


def plot_outputs(nb):
    return [
        out
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if _plots.PLOTLY_MIME in out.get("data", {})
    ]


@pytest.mark.slow
def test_each_saved_plot_stays_far_below_a_megabyte(converted):
    ipynb, _ = converted
    outputs = plot_outputs(nbformat.read(ipynb, as_version=4))
    assert len(outputs) == 2  # the live training plot and the confusion matrix
    sizes = [len(json.dumps(output)) for output in outputs]
    assert max(sizes) < 150_000, sizes
    for output in outputs:
        assert '<svg xmlns="http://www.w3.org/2000/svg" class="lepton-svg"' in output["data"]["text/html"]


@pytest.mark.slow
def test_plain_nbconvert_html_carries_the_drawings_of_both_plots(converted):
    ipynb, html_path = converted
    page = html_path.read_text(encoding="utf-8")
    # nbconvert re-serialises the page (BeautifulSoup): attribute order and case change, XML stays valid.
    svgs = re.findall(r'<svg[^>]*class="lepton-svg".*?</svg>', page, re.DOTALL)
    assert len(svgs) == 2
    live, confusion = (parse(svg) for svg in svgs)
    saved = plot_outputs(nbformat.read(ipynb, as_version=4))[0]["data"][_plots.PLOTLY_MIME]
    batch = next(t for t in saved["data"] if t["name"] == "train (batch)")
    loss = next(p for p in elements(live, "path", "line") if p.get("data-name") == "train (batch)")
    assert len(points(loss)[0]) == len(batch["x"]) >= 2  # every batch point the plot kept is drawn
    assert len(elements(confusion, "rect", "cell")) == 100  # 10 digit classes
    assert "plotly.js v" not in page  # no plotly.js in a plain nbconvert page: the drawings are what shows
