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
>>> from lepton_lab.export import export_notebook
>>> export_notebook("01-quickstart.ipynb", "01-quickstart.html")          # doctest: +SKIP
PosixPath('01-quickstart.html')
"""

from __future__ import annotations

import copy
import html
import os
import re
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.preprocessors import Preprocessor

from lepton_lab.core.embed import figure_html, plotly_js_script

PLOTLY_MIME = "application/vnd.plotly.v1+json"
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"

#: Nested widgets deeper than this are not drawn (guards against reference cycles in bad state).
MAX_WIDGET_DEPTH = 32

_REMOTE_TAG = re.compile(
    r"""<script\b[^>]*\bsrc\s*=\s*["']?\s*(?:https?:)?//[^>]*>.*?</script\s*>"""
    r"""|<(?:link|script)\b[^>]*\b(?:href|src)\s*=\s*["']?\s*(?:https?:)?//[^>]*/?>""",
    re.IGNORECASE | re.DOTALL,
)
_CONTROL = "lepton-widget-control"
_TEXT_INPUTS = ("TextModel", "TextareaModel", "PasswordModel", "ComboboxModel")

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


def strip_remote_tags(text: str) -> str:
    """``text`` without ``<script src>`` / ``<link href>`` tags that point at another host."""
    return _REMOTE_TAG.sub("", text)


def _text(value: Any) -> str:
    # nbformat stores multi-line strings either whole or as a list of lines.
    return "".join(value) if isinstance(value, list) else str(value)


class WidgetSnapshot:
    """Static HTML for widgets and rich outputs, from a notebook's saved widget state."""

    def __init__(self, widget_state: dict[str, Any]) -> None:
        self.state = widget_state
        self.figures = 0

    def figure(self, spec: dict[str, Any]) -> str:
        """HTML drawing plotly figure ``spec`` with the page's plotly.js."""
        self.figures += 1
        return figure_html(spec)

    # -- output bundles -------------------------------------------------------------------------

    def bundle(self, data: dict[str, Any], seen: frozenset[str] = frozenset()) -> str:
        """HTML for one display_data / execute_result mime bundle."""
        if PLOTLY_MIME in data:
            return self.figure(data[PLOTLY_MIME])
        if WIDGET_VIEW_MIME in data:
            snapshot = self.widget(str(data[WIDGET_VIEW_MIME].get("model_id", "")), seen)
            if snapshot is not None:
                return snapshot
        if "text/html" in data:
            return strip_remote_tags(_text(data["text/html"]))
        if "image/svg+xml" in data:
            return strip_remote_tags(_text(data["image/svg+xml"]))
        for mime in ("image/png", "image/jpeg", "image/gif"):
            if mime in data:
                return f'<img src="data:{mime};base64,{_text(data[mime]).strip()}" alt="">'
        if "text/markdown" in data:
            from nbconvert.filters import markdown2html

            return str(markdown2html(_text(data["text/markdown"])))
        for mime in ("text/latex", "text/plain"):
            if mime in data:
                return f"<pre>{html.escape(_text(data[mime]))}</pre>"
        return ""

    def outputs(self, outputs: list[dict[str, Any]], seen: frozenset[str]) -> str:
        """HTML for a list of nbformat outputs (what an Output widget captured)."""
        from nbconvert.filters import strip_ansi

        parts = []
        for output in outputs:
            kind = output.get("output_type")
            if kind == "stream":
                parts.append(f'<pre class="lepton-stream-{html.escape(str(output.get("name", "")))}">'
                             f"{html.escape(_text(output.get('text', '')))}</pre>")  # fmt: skip
            elif kind in ("display_data", "execute_result"):
                parts.append(self.bundle(output.get("data", {}), seen))
            elif kind == "error":
                traceback = strip_ansi("\n".join(output.get("traceback", [])))
                parts.append(f"<pre>{html.escape(traceback)}</pre>")
        return "".join(parts)

    # -- widgets ---------------------------------------------------------------------------------

    def widget(self, reference: str, seen: frozenset[str] = frozenset()) -> str | None:
        """Snapshot of widget ``reference`` (a model id or ``IPY_MODEL_<id>``), None if not saved."""
        model_id = reference.removeprefix("IPY_MODEL_")
        entry = self.state.get(model_id)
        if entry is None:
            return None
        if model_id in seen or len(seen) >= MAX_WIDGET_DEPTH:
            return ""
        seen = seen | {model_id}
        name = str(entry.get("model_name", ""))
        state: dict[str, Any] = entry.get("state") or {}
        description = str(state.get("description") or "")
        label = f'<span class="{_CONTROL}">{html.escape(description)}</span> ' if description else ""

        if name == "OutputModel":
            body = self.outputs(state.get("outputs") or [], seen)
            return f'<div class="lepton-widget lepton-widget-output">{body}</div>'
        if name == "ImageModel":
            return self._image(entry, state)
        if name in ("HTMLModel", "HTMLMathModel"):
            return f'<div class="lepton-widget">{label}{strip_remote_tags(str(state.get("value", "")))}</div>'
        if name == "LabelModel" or name in _TEXT_INPUTS:
            text = html.escape(str(state.get("value", "")))
            return f'<span class="lepton-widget {_CONTROL}">{label}{text}</span>'
        if "_widget_data" in state:  # plotly FigureWidget
            return self.figure({"data": state["_widget_data"], "layout": state.get("_widget_layout") or {}})
        if isinstance(state.get("children"), list):
            return self._container(name, state, seen)
        return self._control(name, state, label)

    def _container(self, name: str, state: dict[str, Any], seen: frozenset[str]) -> str:
        children = [self.widget(str(child), seen) or "" for child in state["children"]]
        if name in ("TabModel", "AccordionModel", "StackModel"):
            titles = state.get("titles") or state.get("_titles") or []
            if isinstance(titles, dict):  # ipywidgets 7 saved {"0": "title"}
                titles = [titles.get(str(i), "") for i in range(len(children))]
            parts = []
            for i, child in enumerate(children):
                title = titles[i] if i < len(titles) and titles[i] else f"{i + 1}"
                parts.append(f'<div class="lepton-widget-title">{html.escape(str(title))}</div>{child}')
            return f'<div class="lepton-widget lepton-widget-vbox">{"".join(parts)}</div>'
        direction = "hbox" if name in ("HBoxModel", "GridBoxModel") else "vbox"
        return f'<div class="lepton-widget lepton-widget-{direction}">{"".join(children)}</div>'

    @staticmethod
    def _image(entry: dict[str, Any], state: dict[str, Any]) -> str:
        raw = None
        for buffer in entry.get("buffers") or []:
            if buffer.get("path") == ["value"] and buffer.get("encoding", "base64") == "base64":
                raw = str(buffer.get("data", ""))
        image_format = str(state.get("format") or "png")
        if raw is None or image_format == "url":
            return '<span class="lepton-widget lepton-widget-control">[image]</span>'
        mime = "image/svg+xml" if image_format == "svg" else f"image/{image_format}"
        size = "".join(
            f' {key}="{html.escape(str(state[key]))}"' for key in ("width", "height") if state.get(key)
        )
        return f'<img class="lepton-widget" src="data:{mime};base64,{raw}"{size} alt="">'

    @staticmethod
    def _control(name: str, state: dict[str, Any], label: str) -> str:
        value = state.get("value")
        labels = state.get("_options_labels")
        index = state.get("index")
        if isinstance(labels, (list, tuple)) and isinstance(index, int) and 0 <= index < len(labels):
            value = labels[index]
        if value is None and not label:
            return ""
        if isinstance(value, list):
            value = " to ".join(str(v) for v in value)  # range sliders
        shown = html.escape(str(value)) if value is not None else ""
        return f'<span class="lepton-widget {_CONTROL}" title="{html.escape(name)}">{label}{shown}</span>'


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
            return {**data, "text/html": strip_remote_tags(_text(data["text/html"]))}
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
