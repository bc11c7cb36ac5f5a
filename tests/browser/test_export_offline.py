"""An exported notebook opened in Chromium with networking disabled shows its plots and widgets."""

from __future__ import annotations

from lepton_lab.sharing.export import export_notebook
from tests.sharing import executed_notebook, open_offline, rendered_plot_count


def test_exported_notebook_draws_plots_and_widget_snapshots_offline(browser, artifacts, tmp_path_factory):
    target = tmp_path_factory.mktemp("exported-browser") / "notebook.html"
    export_notebook(executed_notebook(tmp_path_factory), target)
    figures = target.read_text(encoding="utf-8").count('class="plotly-graph-div"')
    assert figures == 2

    context, page, blocked, errors = open_offline(browser, target)
    try:
        page.wait_for_function(
            "n => [...document.querySelectorAll('.js-plotly-plot')]"
            ".filter(p => p.querySelector('svg.main-svg')).length === n",
            arg=figures,
            timeout=30_000,
        )
        assert rendered_plot_count(page) == figures
        # Full-width charts, also the one inside the Output widget (not squeezed by the widget boxes).
        widths = page.eval_on_selector_all(
            ".js-plotly-plot", "plots => plots.map(p => p.getBoundingClientRect().width)"
        )
        assert min(widths) > 600, widths
        # The scatter trace was drawn (one line path per figure), not just empty axes.
        assert page.locator(".js-plotly-plot .scatterlayer .trace path.js-line").count() == figures
        # Widget snapshots: the Image widget's picture decoded, the HTML widget's markup rendered.
        image = page.locator("img.lepton-widget")
        assert image.count() == 1
        assert image.evaluate("img => img.complete && img.naturalWidth") == 12
        assert page.locator(".lepton-widget i", has_text="snapshot of an HTML widget").is_visible()
        assert page.locator(
            ".lepton-widget-output pre", has_text="printed inside the output widget"
        ).is_visible()
        assert blocked == []
        assert errors == []
        page.screenshot(path=str(artifacts / "exported-notebook.png"), full_page=True)
    finally:
        context.close()
