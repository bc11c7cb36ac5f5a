"""A run report opened in Chromium with networking disabled draws all of its charts."""

from __future__ import annotations

from lepton_lab.core.run_store import load_run
from lepton_lab.sharing.report import report
from tests.sharing import open_offline, rendered_plot_count, trained_run


def test_report_draws_every_chart_and_image_with_the_network_off(browser, artifacts, tmp_path_factory):
    path = report(trained_run(tmp_path_factory))
    figures = path.read_text(encoding="utf-8").count('class="plotly-graph-div"')
    assert figures == 4

    context, page, blocked, errors = open_offline(browser, path)
    try:
        page.wait_for_function(
            "n => document.querySelectorAll('.js-plotly-plot svg.main-svg').length > 0 && "
            "[...document.querySelectorAll('.js-plotly-plot')].filter(p => p.querySelector('svg.main-svg'))"
            ".length === n",
            arg=figures,
            timeout=30_000,
        )
        assert rendered_plot_count(page) == figures
        # The confusion matrix is a real heatmap with one count label per cell (10 x 10 digits).
        counts = page.eval_on_selector_all(
            ".heatmaplayer text", "cells => cells.map(c => Number(c.textContent))"
        )
        evaluation = load_run(path.parent).evaluation
        assert counts == [n for row in evaluation.confusion for n in row]
        # Every embedded picture decoded (25 in the grid, the worst examples beside).
        assert page.evaluate("() => [...document.images].every(img => img.complete && img.naturalWidth > 0)")
        assert page.locator("#prediction-grid img").count() == 25
        assert blocked == []
        assert errors == []
        page.screenshot(path=str(artifacts / "report.png"), full_page=True)
    finally:
        context.close()
