"""LRFinderControl: a "Find learning rate" button, the finder's plot and a one-click "Use" button.

The control runs :func:`lepton_lab.core.lr_finder.lr_find` in a background thread of this
kernel, so the notebook (and the rest of the widget) stays usable while the ramp trains; it shows
the ramp's progress, then the smoothed-loss plot, and a button that hands the suggestion to
whoever owns the learning rate (:class:`~lepton_lab.widgets.hyperparameter_panel.HyperparameterPanel`
sets its slider). Anything that goes wrong (an invalid spec, a dataset that cannot load, a
training error) is shown as text in the control, never lost in a thread.
"""

from __future__ import annotations

import dataclasses
import html
import math
import threading
from collections.abc import Callable
from typing import Any

import ipywidgets
import traitlets

from lepton_lab.core import lr_finder
from lepton_lab.core.specs import JobSpec, SpecError
from lepton_lab.sharing.embed import static_figure_html
from lepton_lab.widgets._plots import FigureView, bundle

#: Redraw the progress line every this many batches (a message per batch is wasted traffic).
_PROGRESS_EVERY = 5


def rounded(learning_rate: float) -> float:
    """``learning_rate`` to two significant digits: what a person would type (3.7e-3, not 3.7276e-3)."""
    return float(f"{learning_rate:.2g}")


class LRFinderResult(lr_finder.LRFinderResult):
    """:class:`lepton_lab.core.lr_finder.LRFinderResult` shown as the notebook's other plots are.

    Its output carries plotly's JSON (drawn by JupyterLab) and a static drawing as ``text/html``
    for pages without plotly.js (plain nbconvert HTML, opened offline).
    """

    def _repr_html_(self) -> str:
        # The static drawing knows no log axis: it is drawn over log10 of the learning rate.
        return str(static_figure_html(_log10_figure(self.figure())))

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display({**bundle(self.figure(), "LR finder plot"), "text/html": self._repr_html_()}, raw=True)


def shown(result: lr_finder.LRFinderResult) -> LRFinderResult:
    """Return ``result`` as the notebook's :class:`LRFinderResult` (the same fields)."""
    fields = {field.name: getattr(result, field.name) for field in dataclasses.fields(result)}
    return LRFinderResult(**fields)


def _log10_figure(figure: dict[str, Any]) -> dict[str, Any]:
    """``figure`` over log10 of every x value, on a linear x axis (for the static drawing)."""
    data = [{**trace, "x": [math.log10(x) for x in trace["x"]]} for trace in figure["data"]]
    return {"data": data, "layout": {**figure["layout"], "xaxis": {"title": {"text": "log10 learning rate"}}}}


class LRFinderControl(ipywidgets.VBox):
    """Find a learning rate for a job and apply it in one click.

    Parameters
    ----------
    job : callable
        Returns the JobSpec to ramp, as it stands when the button is pressed (its dataset,
        model, augmentation and training settings). May raise :class:`SpecError` (shown).
    apply : callable
        Called with the suggested learning rate (rounded to two significant digits) when
        the "Use" button is pressed.
    dataset : Dataset, optional
        A loaded dataset to ramp on instead of loading the job's (in-memory datasets).
    options : dict, optional
        Further keyword arguments of :func:`~lepton_lab.core.lr_finder.lr_find`
        (``steps``, ``start_lr``, ``end_lr`` ...); :attr:`options` may be changed later.

    Attributes
    ----------
    result : LRFinderResult or None
        The last finished ramp.
    thread : threading.Thread or None
        The thread of the last ramp started (join it to wait for the result).
    """

    state = traitlets.Unicode("idle", help="idle, running, done (a suggestion is shown) or failed.")
    suggestion = traitlets.Float(None, allow_none=True, help="The last suggestion, rounded; None before.")
    error = traitlets.Unicode("", help="Why the last ramp failed; empty otherwise.")

    def __init__(
        self,
        job: Callable[[], JobSpec],
        apply: Callable[[float], None],
        *,
        dataset: Any = None,
        options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._job = job
        self._apply = apply
        self.dataset = dataset
        self.options: dict[str, Any] = dict(options or {})
        self.result: Any = None
        self.thread: threading.Thread | None = None
        self.find_button = ipywidgets.Button(
            description="Find learning rate", icon="search", layout=ipywidgets.Layout(width="auto"),
            tooltip="train a fresh copy of the model for a short exponential learning-rate ramp "
            "and suggest a rate (the weights are thrown away)",
        )  # fmt: skip
        self.use_button = ipywidgets.Button(
            description="Use", icon="check", button_style="success",
            tooltip="set the learning rate to the suggestion", layout=ipywidgets.Layout(display="none"),
        )  # fmt: skip
        self.status = ipywidgets.HTML()
        self.plot = FigureView(layout=ipywidgets.Layout(display="none"))
        self.find_button.on_click(lambda _: self.find())
        self.use_button.on_click(lambda _: self.use())
        super().__init__(
            [ipywidgets.HBox([self.find_button, self.use_button]), self.status, self.plot], **kwargs
        )
        self.add_class("lepton-lr-finder")

    def find(self, background: bool = True) -> threading.Thread | None:
        """Start a ramp on the job as it stands now; returns its thread (None when run here).

        With ``background=False`` the ramp runs in the calling thread (scripts, tests).
        """
        if self.state == "running":
            self._show_error("the learning-rate finder is already running; wait for its plot")
            return None
        try:
            job = self._job()
        except SpecError as error:
            self._fail("fix the settings first: " + "; ".join(error.problems))
            return None
        except Exception as error:  # whatever the job's owner raised: shown, not lost in a log
            self._fail(f"{type(error).__name__}: {error}")
            return None
        self.state = "running"
        self.error = ""
        self.find_button.disabled = True
        self.use_button.layout.display = "none"
        self.status.value = "Finding a learning rate: building the model…"
        if not background:
            self._run(job)
            return None
        self.thread = threading.Thread(target=self._run, args=(job,), name="lepton-lr-finder", daemon=True)
        self.thread.start()
        return self.thread

    def _run(self, job: JobSpec) -> None:
        from lepton_lab.core.lr_finder import lr_find

        steps = int(self.options.get("steps", 100))

        def progress(index: int, rate: float, loss: float) -> None:
            if index % _PROGRESS_EVERY == 0:
                self.status.value = (
                    f"Finding a learning rate: batch {index + 1}/{steps}, rate {rate:.1e}, "
                    f"smoothed loss {loss:.3g}…"
                )

        try:
            result = lr_find(job, dataset=self.dataset, progress=progress, **self.options)
        except Exception as error:
            self._fail(f"{type(error).__name__}: {error}")
            return
        self.result = shown(result)
        self.suggestion = rounded(result.suggestion)
        self.plot.show(result.figure(), "LR finder plot")
        self.plot.layout.display = None
        self.use_button.description = f"Use {self.suggestion:.1e}"
        self.use_button.layout.display = None
        ended = f"; stopped at {result.learning_rates[-1]:.1e} (diverged)" if result.stopped_early else ""
        self.status.value = (
            f"Suggested learning rate <b>{self.suggestion:.1e}</b> (steepest descent of the smoothed "
            f"loss; minimum ÷ 10 is {result.minimum_over_10:.1e}){html.escape(ended)}"
        )
        self.find_button.disabled = False
        self.state = "done"

    def use(self) -> None:
        """Apply the suggestion (the "Use" button)."""
        if self.suggestion is None:
            self._show_error("no suggestion yet: press Find learning rate first")
            return
        try:
            self._apply(self.suggestion)
        except Exception as error:
            self._show_error(f"could not use {self.suggestion:g}: {error}")

    def _fail(self, message: str) -> None:
        self.find_button.disabled = False
        self.state = "failed"
        self._show_error(message)

    def _show_error(self, message: str) -> None:
        self.error = message
        lines = "<br>".join(html.escape(line) for line in message.splitlines())
        self.status.value = f'<div class="lepton-error" style="color:#c62828">{lines}</div>'
