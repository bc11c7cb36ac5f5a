"""Plain ``jupyter nbconvert --to html`` output, opened in Chromium with networking disabled, shows its plots.

The notebook trains digits with ``live=True`` and shows a confusion matrix; nbclient executes and
saves it, and the stock nbconvert converts it (no plotly.js in the page, CDN scripts blocked). The
Python half (sizes, SVG structure) is tests/test_svg_fallback.py.
"""

from __future__ import annotations

from lepton_lab.sharing.embed import plotly_js_script
from lepton_lab.widgets import _plots
from tests.sharing import nbconverted_notebook, open_offline, rendered_plot_count

SVGS = ".lepton-plot > svg.lepton-svg"


def test_nbconvert_page_shows_the_static_plots_with_the_network_off(browser, artifacts, tmp_path_factory):
    _, page_path = nbconverted_notebook(tmp_path_factory)
    context, page, blocked, errors = open_offline(browser, page_path)
    try:
        assert blocked, "the stock nbconvert page asks CDNs for scripts: this test must run it offline"
        charts = page.locator(SVGS)
        assert charts.count() == 2
        for i in range(2):
            assert charts.nth(i).is_visible()
            box = charts.nth(i).bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 250, box
        # The loss curve of the live plot: a drawn path through the batch points, not empty axes.
        loss = page.locator(f'{SVGS} path.line[data-name="train (batch)"]').first
        assert loss.is_visible()
        assert len(loss.get_attribute("d").split()) >= 2 * 2
        assert loss.evaluate("p => p.getTotalLength()") > 100
        assert loss.evaluate("p => p.getBBox().width") > 100
        # The confusion matrix: 100 cells and their counts, drawn (not hidden by the page's CSS).
        assert page.locator(f"{SVGS} rect.cell").count() == 100
        assert page.locator(f"{SVGS} rect.cell").first.bounding_box()["width"] > 10
        # Nothing pretended to be plotly: the drawings stay, and no "needs plotly.js" message replaced them.
        assert rendered_plot_count(page) == 0
        assert "needs plotly.js" not in page.inner_text("body")
        assert not [e for e in errors if "lepton" in e.lower() or "newPlot" in e]
        page.screenshot(path=str(artifacts / "nbconvert-offline.png"), full_page=True)
    finally:
        context.close()


def test_fallback_swaps_in_the_interactive_chart_where_the_page_has_plotly(browser, tmp_path):
    figure = _plots.lines({"loss": ([1, 2, 3], [0.9, 0.5, None])}, "loss per epoch", "epoch", "loss")
    html = _plots.bundle(figure)["text/html"]
    target = tmp_path / "with-plotly.html"
    target.write_text(f"<!DOCTYPE html><html><head>{plotly_js_script()}</head><body>{html}</body></html>")
    context, page, blocked, errors = open_offline(browser, target)
    try:
        page.wait_for_function("() => document.querySelector('.js-plotly-plot svg.main-svg')", timeout=30_000)
        assert rendered_plot_count(page) == 1
        assert page.locator("svg.lepton-svg").count() == 0  # the static drawing made way
        assert page.locator(".js-plotly-plot .scatterlayer .trace path.js-line").count() == 1
        assert blocked == [] and errors == []
    finally:
        context.close()
