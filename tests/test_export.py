"""Tests of the offline notebook export (``lepton_lab.sharing.export``, ``lepton-lab export``).

The browser half (the exported page drawn with networking disabled) is
tests/browser/test_export_offline.py.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import nbformat
import pytest

from lepton_lab.cli import build_parser
from lepton_lab.sharing.export import (
    PLOTLY_MIME,
    WIDGET_STATE_MIME,
    WIDGET_VIEW_MIME,
    export_notebook,
    notebook_to_html,
    strip_remote_tags,
)
from tests.sharing import TRACE_NAME, executed_notebook, network_urls, red_png

PLOTLY_JS_BANNER = "* plotly.js v"


@pytest.fixture(scope="module")
def notebook_path(tmp_path_factory) -> Path:
    return executed_notebook(tmp_path_factory)


@pytest.fixture(scope="module")
def exported(notebook_path, tmp_path_factory) -> str:
    target = tmp_path_factory.mktemp("exported") / "page.html"
    assert export_notebook(notebook_path, target) == target
    return target.read_text(encoding="utf-8")


def test_fixture_notebook_really_has_plotly_and_widget_outputs(notebook_path):
    # Guards the tests below: nbclient saved widget state and plotly used its mimetype.
    nb = nbformat.read(notebook_path, as_version=4)
    mimes = {mime for cell in nb.cells for out in cell.get("outputs", []) for mime in out.get("data", {})}
    assert PLOTLY_MIME in mimes and WIDGET_VIEW_MIME in mimes
    models = {m["model_name"] for m in nb.metadata.widgets[WIDGET_STATE_MIME]["state"].values()}
    assert {"OutputModel", "ImageModel", "HTMLModel", "VBoxModel", "TabModel"} <= models


@pytest.mark.filterwarnings("ignore:Your element with mimetype")
def test_plain_nbconvert_output_would_need_the_network(notebook_path):
    # The problem being solved: the stock "lab" page fetches scripts from CDNs.
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nbformat.read(notebook_path, as_version=4))
    assert network_urls(body)


def test_export_has_no_network_references(exported):
    assert network_urls(exported) == []
    assert not re.search(r"<script[^>]*\bsrc=", exported)
    assert "unpkg.com" not in exported and "cdnjs.cloudflare.com" not in exported
    assert WIDGET_STATE_MIME not in exported  # the (possibly huge) saved state is not copied in


def test_export_inlines_plotly_once_and_draws_every_plotly_output(exported):
    assert exported.count(PLOTLY_JS_BANNER) == 1
    # fig.show() in a cell, and again inside the Output widget.
    assert exported.count('class="plotly-graph-div"') == 2
    assert exported.count(f'"name":"{TRACE_NAME}"') == 2
    # plotly.js is defined before the first figure calls it.
    assert exported.index(PLOTLY_JS_BANNER) < exported.index("Plotly.newPlot(")


def test_export_snapshots_the_saved_widget_state(exported):
    for text in (
        "<i>snapshot of an HTML widget</i>",  # HTML widget: its value, as HTML
        "printed inside the output widget",  # Output widget: captured stream
        "<b>bold inside the output widget</b>",  # Output widget: captured rich output
        "label text",  # Label
        "first tab text",  # Text inside a Tab
        ">One<",  # Tab titles
        ">Two<",
        "epochs</span> 7",  # IntSlider: description and value
    ):
        assert text in exported, text
    png = base64.b64encode(red_png()).decode("ascii")
    assert f'src="data:image/png;base64,{png}" width="60"' in exported
    # Children keep their order: HTML widget, image, output widget, then the HBox (the last
    # occurrence of each text: the first is in the cell's source code).
    positions = [
        exported.rindex(s) for s in ("snapshot of an HTML widget", png, "printed inside", "label text")
    ]
    assert positions == sorted(positions)


def test_export_keeps_the_notebook_file_unchanged(notebook_path, tmp_path):
    before = notebook_path.read_bytes()
    export_notebook(notebook_path, tmp_path / "again.html")
    assert notebook_path.read_bytes() == before


def _output(data: dict) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("display_data", data=data)


def test_widget_without_saved_state_falls_back_to_its_text_repr():
    nb = nbformat.v4.new_notebook()
    view = {"model_id": "0123abcd", "version_major": 2, "version_minor": 0}
    cell = nbformat.v4.new_code_cell("slider")
    cell.outputs = [_output({WIDGET_VIEW_MIME: view, "text/plain": "IntSlider(value=3)"})]
    nb.cells = [cell]
    page, figures = notebook_to_html(nb)
    assert figures == 0
    assert "IntSlider(value=3)" in page
    assert PLOTLY_JS_BANNER not in page  # no figure, no plotly.js


def test_remote_scripts_in_html_outputs_are_removed():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("display(HTML(...))")
    remote = (
        '<script src="https://cdn.example.org/lib.js"></script>'
        '<link rel="stylesheet" href="//cdn.example.org/x.css">'
        "<p>kept paragraph</p><script>var local = 1;</script>"
    )
    cell.outputs = [_output({"text/html": remote})]
    nb.cells = [cell]
    page, _ = notebook_to_html(nb)
    assert "kept paragraph" in page and "var local = 1;" in page
    assert "cdn.example.org" not in page
    assert network_urls(page) == []


def test_images_in_markdown_cells_are_embedded(tmp_path):
    (tmp_path / "diagram.png").write_bytes(red_png())
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("A diagram:\n\n![diagram](diagram.png)")]
    source = tmp_path / "prose.ipynb"
    nbformat.write(nb, source)
    page = export_notebook(source, tmp_path / "out" / "prose.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," + base64.b64encode(red_png()).decode("ascii") in page
    assert 'src="diagram.png"' not in page


def test_strip_remote_tags_keeps_local_and_inline_tags():
    text = '<script src="./local.js"></script><img src="https://x.org/a.png"><script src=https://x.org/b.js></script>'
    # Only scripts and stylesheets are fetched as code; an <img> is left for the author to see.
    assert strip_remote_tags(text) == '<script src="./local.js"></script><img src="https://x.org/a.png">'


def test_cli_export_executes_and_writes_the_page(tmp_path, capsys):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import plotly.express as px\npx.bar(x=['a', 'b'], y=[1, 2])")]
    source = tmp_path / "bar.ipynb"
    nbformat.write(nb, source)
    target = tmp_path / "bar.html"
    args = build_parser().parse_args(["export", str(source), "-o", str(target), "--execute"])
    assert args.handler(args) == 0
    assert str(target) in capsys.readouterr().out
    page = target.read_text(encoding="utf-8")
    assert page.count('class="plotly-graph-div"') == 1 and page.count(PLOTLY_JS_BANNER) == 1
    assert nbformat.read(source, as_version=4).cells[0].outputs == []  # the source stays unexecuted


def test_cli_export_of_a_missing_notebook_exits_2(tmp_path, capsys):
    args = build_parser().parse_args(["export", str(tmp_path / "nope.ipynb"), "-o", str(tmp_path / "x.html")])
    assert args.handler(args) == 2
    assert "nope.ipynb" in capsys.readouterr().err
