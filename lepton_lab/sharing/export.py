"""Export: an executed notebook as one HTML page whose plots and widgets show with the network off.

nbconvert's HTML loads require.js, MathJax and the Jupyter widget manager from CDNs, and
plotly outputs (``application/vnd.plotly.v1+json``) need plotly.js, which is not in the page;
offline, plots are missing and widgets are blank. :func:`export_notebook` makes a page that
needs nothing from the network:

- each plotly output becomes a ``<div>`` drawn by plotly.js, which is inlined once in ``<head>``;
- each widget output becomes a static snapshot rendered from the widget state saved in the
  notebook (``metadata.widgets``; nbclient saves it with ``store_widget_state=True``, JupyterLab
  with "Save Widget State Automatically"): Output widgets show their captured outputs, Image
  widgets their picture, HTML and Label widgets their text, boxes, tabs and accordions their
  children in order, other controls ``description: value``;
- the CDN scripts of the template are left out, and remote ``<script>`` / ``<link>`` tags in
  HTML outputs are removed. Markdown maths stays as its LaTeX source (MathJax is not bundled).

Lives outside :mod:`lepton_lab.core` because it uses nbconvert.

Examples
--------
>>> from lepton_lab.sharing.export import export_notebook
>>> export_notebook("01-quickstart.ipynb", "01-quickstart.html")          # doctest: +SKIP
PosixPath('01-quickstart.html')
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.preprocessors import Preprocessor

from lepton_lab.sharing.embed import plotly_js_script
from lepton_lab.sharing.snapshot import (
    PLOTLY_MIME,
    WIDGET_VIEW_MIME,
    WidgetSnapshot,
    strip_remote_tags,
    text_of,
)

WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"

_STYLE = """<style type="text/css">
.lepton-widget { margin: 2px 0; }
.lepton-widget-hbox { display: flex; flex-flow: row wrap; gap: 8px; align-items: flex-start; }
.lepton-widget-vbox { display: flex; flex-direction: column; gap: 4px; }
.lepton-widget-hbox > .lepton-widget-output { flex: 1 1 auto; }
img.lepton-widget { align-self: flex-start; }
.lepton-widget-title { font-weight: 600; margin-top: 6px; border-bottom: 1px solid #ccc; }
.lepton-widget-control { font-family: var(--jp-ui-font-family, sans-serif); font-size: 13px; }
.lepton-widget-output pre { margin: 0; }
</style>"""

# Extends nbconvert's "lab" page, leaving out what would load from the network.
_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{{ resources.lepton_offline_head }}{%- endblock html_head_js -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""
_TEMPLATE_NAME = "lepton_offline.html.j2"


class OfflineOutputsPreprocessor(Preprocessor):
    """Replace plotly and widget outputs by static HTML; drop the saved widget state.

    Sets ``resources["lepton_figures"]`` to the number of plotly figures drawn.
    """

    def preprocess(self, nb: Any, resources: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """Rewrite every output of every code cell of ``nb`` (in place)."""
        widgets = nb.metadata.get("widgets", {}).get(WIDGET_STATE_MIME, {})
        snapshot = WidgetSnapshot(dict(widgets.get("state") or {}))
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            for output in cell.get("outputs", []):
                if output.get("output_type") in ("display_data", "execute_result"):
                    output["data"] = self._static(output["data"], snapshot)
        # The saved state is no longer needed and can be megabytes (a FigureWidget holds plotly.js).
        nb.metadata.pop("widgets", None)
        resources["lepton_figures"] = snapshot.figures
        return nb, resources

    @staticmethod
    def _static(data: dict[str, Any], snapshot: WidgetSnapshot) -> dict[str, Any]:
        if PLOTLY_MIME in data or WIDGET_VIEW_MIME in data:
            # A widget whose state was not saved falls back to its text/html or text/plain repr.
            return {"text/html": snapshot.bundle(data)}
        if "text/html" in data:
            return {**data, "text/html": strip_remote_tags(text_of(data["text/html"]))}
        return dict(data)


def notebook_to_html(nb: Any, base_dir: str | os.PathLike[str] | None = None) -> tuple[str, int]:
    """Render notebook node ``nb`` (left unchanged) as an offline page; return it and its figure count.

    Parameters
    ----------
    nb
        The notebook (``nbformat`` v4 node).
    base_dir
        Directory that relative image paths in Markdown cells start from; those images are embedded.
    """
    import jinja2
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        exclude_input=False,
        embed_images=True,
        extra_loaders=[jinja2.DictLoader({_TEMPLATE_NAME: _TEMPLATE})],
    )
    exporter.template_file = _TEMPLATE_NAME
    start: dict[str, Any] = {"metadata": {"path": str(base_dir)}} if base_dir is not None else {}
    static, resources = OfflineOutputsPreprocessor().preprocess(copy.deepcopy(nb), start)
    figures = int(resources["lepton_figures"])
    # plotly.js first in <head>: each figure's inline script calls Plotly.newPlot as it is parsed.
    resources["lepton_offline_head"] = (plotly_js_script() if figures else "") + _STYLE
    body, _ = exporter.from_notebook_node(static, resources=resources)
    return body, figures


def execute_notebook(nb: Any, timeout: int = 600, cwd: str | os.PathLike[str] | None = None) -> Any:
    """Run every cell of ``nb`` in a fresh kernel (in place), saving the widget state for snapshots."""
    from nbclient import NotebookClient

    resources = {"metadata": {"path": str(cwd)}} if cwd is not None else {}
    NotebookClient(nb, timeout=timeout, store_widget_state=True, resources=resources).execute()
    return nb


def export_notebook(
    ipynb: str | os.PathLike[str],
    output_html: str | os.PathLike[str],
    *,
    execute: bool = False,
    timeout: int = 600,
) -> Path:
    """Write notebook ``ipynb`` as a self-contained HTML page that shows its plots and widgets offline.

    Parameters
    ----------
    ipynb
        An executed notebook (saved with its widget state for widget snapshots).
    output_html
        The page to write.
    execute
        Run the notebook first (in its own directory, widget state saved); the ``.ipynb`` is not changed.
    timeout
        Seconds each cell may run when ``execute`` is set.

    Returns
    -------
    pathlib.Path
        ``output_html``.
    """
    source = Path(ipynb)
    if not source.is_file():
        raise FileNotFoundError(f"notebook {source} does not exist; pass the path of an .ipynb file")
    nb = nbformat.read(source, as_version=4)
    if execute:
        execute_notebook(nb, timeout=timeout, cwd=source.resolve().parent)
    page, _ = notebook_to_html(nb, base_dir=source.resolve().parent)
    target = Path(output_html)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    return target
