"""Embed: figures as HTML fragments for pages that open with the network off.

Two ways to put a plotly figure in a page:

- :func:`figure_html`, for reports and exported notebooks that inline plotly.js once
  (:func:`plotly_js_script`, about 4.8 MB from the installed ``plotly`` package, never a CDN):
  a ``<div>`` plus a small script that calls ``Plotly.newPlot``;
- :func:`static_figure_html`, for a widget's ``text/html`` fallback, where the page may have no
  plotly.js at all (plain ``jupyter nbconvert --to html``): a static SVG drawing
  (:mod:`lepton_lab.sharing.svg`) and a script that swaps in the interactive chart where the
  page has plotly.js.

Images go in as ``data:`` URIs (:mod:`lepton_lab.sharing.images`). TensorFlow-free; plotly is
imported when first used.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from lepton_lab.sharing.svg import figure_to_svg

#: Plotly config for embedded figures: no plotly.com logo link, resize with the page.
FIGURE_CONFIG: dict[str, Any] = {"displaylogo": False, "responsive": True}

_ids = itertools.count(1)

# Swaps the static drawing for the interactive chart where the page has plotly.js (a global or an
# AMD module); otherwise the drawing stays. Tried again on "load" for a plotly.js loaded later.
_FALLBACK_JS = (
    "(function(){var f=%s;var id=%s;"
    "function draw(P){var el=document.getElementById(id);"
    "if(el&&!el.dataset.drawn){el.dataset.drawn='1';el.innerHTML='';P.newPlot(el,f.data,f.layout,f.config||{});}}"
    "function attempt(){if(window.Plotly){draw(window.Plotly);return true;}"
    "var r=window.require;"
    "if(typeof r==='function'&&r.defined&&r.defined('plotly')){r(['plotly'],draw);return true;}"
    "return false;}"
    "if(!attempt()){window.addEventListener('load',attempt);}})();"
)


def plotly_js_script() -> str:
    """``<script>`` holding the whole plotly.js bundle; put it once in a page, before any figure."""
    from plotly.offline import get_plotlyjs

    return f'<script type="text/javascript">{get_plotlyjs()}</script>'


def figure_html(figure: Any, height: int | str = 450) -> str:
    """Render a figure as an HTML fragment that draws itself once plotly.js is loaded (no plotly.js inside).

    Parameters
    ----------
    figure
        A ``plotly.graph_objects.Figure`` or a figure dict (``{"data", "layout", "config"}``, the
        content of an ``application/vnd.plotly.v1+json`` output).
    height
        Height of the figure's box in pixels (or a CSS length) when its layout sets none; a
        percentage would collapse to nothing inside an auto-height page.
    """
    import plotly.io as pio

    config = dict(FIGURE_CONFIG)
    if isinstance(figure, dict):
        config.update(figure.get("config") or {})
        figure = {key: value for key, value in figure.items() if key != "config"}
    return str(
        pio.to_html(
            figure,
            include_plotlyjs=False,
            full_html=False,
            config=config,
            validate=False,
            default_height=height,
        )
    )


def finite(value: Any) -> Any:
    """``value`` with NaN and infinities as None (plotly draws gaps; strict JSON needs it)."""
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value


def _json(value: Any) -> str:
    # "</" would end the <script> element early; JSON allows the escaped form.
    return json.dumps(value, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


def static_figure_html(figure: dict[str, Any]) -> str:
    """Return a figure dict as a static SVG drawing that becomes interactive where plotly.js is.

    The drawing needs neither script nor network; the script after it puts the interactive
    chart in its place when the page has plotly.js (a global or an AMD module).

    Parameters
    ----------
    figure : dict
        ``{"data": [...], "layout": {...}}`` as plotly's JSON schema has it (NaN and infinities
        are drawn as gaps).
    """
    figure = finite(figure)
    div_id = f"lepton-plot-{next(_ids)}"
    height = figure.get("layout", {}).get("height", 360)
    return (
        f'<div id="{div_id}" class="lepton-plot" style="min-height:{height}px">{figure_to_svg(figure)}</div>'
        f"<script>{_FALLBACK_JS % (_json(figure), _json(div_id))}</script>"
    )
