"""Static HTML snapshots of widgets and rich outputs, from widget state (saved or live).

Two users: :mod:`lepton_lab.sharing.export` draws an executed notebook's saved widget state
into the page; :class:`StaticSnapshot`, a mixin of the notebook widgets, adds a ``text/html``
snapshot to a widget's mimebundle. nbconvert's HTML shows a widget only through a widget
manager fetched from a CDN, and only when the notebook saved its widget state (JupyterLab does
not by default); without that state it falls back to the output's next mimetype, where the
snapshot is: the widget's tables, images and plot drawings as they were when it was displayed,
so a shared notebook still shows them with the network off. Kept apart from the exporter so
widgets need not import nbconvert to draw one.
"""

from __future__ import annotations

import html
import logging
import re
from typing import Any

from lepton_lab.sharing.embed import figure_html, static_figure_html
from lepton_lab.sharing.images import data_uri

log = logging.getLogger(__name__)

PLOTLY_MIME = "application/vnd.plotly.v1+json"
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"

#: Nested widgets deeper than this are not drawn (guards against reference cycles in bad state).
MAX_WIDGET_DEPTH = 32

_REMOTE_TAG = re.compile(
    r"""<script\b[^>]*\bsrc\s*=\s*["']?\s*(?:https?:)?//[^>]*>.*?</script\s*>"""
    r"""|<(?:link|script)\b[^>]*\b(?:href|src)\s*=\s*["']?\s*(?:https?:)?//[^>]*/?>""",
    re.IGNORECASE | re.DOTALL,
)
_CONTROL = "lepton-widget-control"
_TEXT_INPUTS = ("TextModel", "TextareaModel", "PasswordModel", "ComboboxModel")


#: Terminal colour codes in tracebacks.
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_remote_tags(text: str) -> str:
    """``text`` without ``<script src>`` / ``<link href>`` tags that point at another host."""
    return _REMOTE_TAG.sub("", text)


def text_of(value: Any) -> str:
    """Return an nbformat text field as one string (it may be stored as a list of lines)."""
    return "".join(value) if isinstance(value, list) else str(value)


class WidgetSnapshot:
    """Static HTML for widgets and rich outputs, from a notebook's saved widget state.

    Parameters
    ----------
    widget_state
        ``{model_id: {"model_name", "state", "buffers"}}`` as nbformat saves it.
    static
        Draw plots as static SVG (for a page that may have no plotly.js) instead of with the
        page's plotly.js.
    """

    def __init__(self, widget_state: dict[str, Any], static: bool = False) -> None:
        self.state = widget_state
        self.static = static
        self.figures = 0

    def figure(self, spec: dict[str, Any]) -> str:
        """HTML drawing plotly figure ``spec``: with the page's plotly.js, or as a static drawing."""
        self.figures += 1
        return static_figure_html(spec) if self.static else figure_html(spec)

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
            return strip_remote_tags(text_of(data["text/html"]))
        if "image/svg+xml" in data:
            return strip_remote_tags(text_of(data["image/svg+xml"]))
        for mime in ("image/png", "image/jpeg", "image/gif"):
            if mime in data:
                return f'<img src="{data_uri(text_of(data[mime]), mime)}" alt="">'
        if "text/markdown" in data:
            from nbconvert.filters import markdown2html

            return str(markdown2html(text_of(data["text/markdown"])))
        for mime in ("text/latex", "text/plain"):
            if mime in data:
                return f"<pre>{html.escape(text_of(data[mime]))}</pre>"
        return ""

    def outputs(self, outputs: list[dict[str, Any]], seen: frozenset[str]) -> str:
        """HTML for a list of nbformat outputs (what an Output widget captured)."""
        parts = []
        for output in outputs:
            kind = output.get("output_type")
            if kind == "stream":
                parts.append(f'<pre class="lepton-stream-{html.escape(str(output.get("name", "")))}">'
                             f"{html.escape(text_of(output.get('text', '')))}</pre>")  # fmt: skip
            elif kind in ("display_data", "execute_result"):
                parts.append(self.bundle(output.get("data", {}), seen))
            elif kind == "error":
                traceback = _ANSI.sub("", "\n".join(output.get("traceback", [])))
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
        return f'<img class="lepton-widget" src="{data_uri(raw, mime)}"{size} alt="">'

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


def snapshot_html(widget: Any) -> str:
    """Render live ``widget`` and every widget it contains as static HTML (plots as SVG)."""
    from ipywidgets.embed import dependency_state

    state = dependency_state([widget], drop_defaults=False)
    return WidgetSnapshot(state, static=True).widget(widget.model_id) or ""


class StaticSnapshot:
    """Mixin for ``ipywidgets`` widgets: add a static ``text/html`` snapshot to their mimebundle."""

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        data = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        if isinstance(data, dict):
            try:
                data["text/html"] = snapshot_html(self)
            except Exception:  # a snapshot must never keep the live widget from showing
                log.warning("could not render a static snapshot of %s", type(self).__name__, exc_info=True)
        return data
