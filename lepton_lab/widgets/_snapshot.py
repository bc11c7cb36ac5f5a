"""Static HTML snapshots of widgets, for pages that cannot run them.

nbconvert's HTML shows a widget only through a widget manager fetched from a CDN, and only when
the notebook saved its widget state (JupyterLab does not by default). Without that state it
falls back to a widget output's next mimetype. :class:`StaticSnapshot` puts a ``text/html``
snapshot there: the widget's tables, images and plot drawings (SVG, see
:mod:`lepton_lab.widgets._svg`) as they were when the widget was displayed, so a shared
notebook still shows them with the network off.
"""

from __future__ import annotations

import logging
from typing import Any

from lepton_lab.widgets._plots import bundle

log = logging.getLogger(__name__)


def snapshot_html(widget: Any) -> str:
    """Render ``widget`` and every widget it contains as static HTML."""
    from ipywidgets.embed import dependency_state

    from lepton_lab.snapshot import WidgetSnapshot

    class _SvgSnapshot(WidgetSnapshot):
        # Plots as their static drawing (plus the script that upgrades it when plotly.js exists),
        # not as plotly.js-only HTML: this page may have no plotly.js.
        def figure(self, spec: dict[str, Any]) -> str:
            self.figures += 1
            return str(bundle(spec)["text/html"])

    state = dependency_state([widget], drop_defaults=False)
    return _SvgSnapshot(state).widget(widget.model_id) or ""


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
