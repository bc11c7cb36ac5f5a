"""Shared material for the report and notebook-export tests (Python and browser).

Training a run and executing a notebook take seconds, so each is done once per test session
(under pytest's base temp directory) and reused by tests/test_report.py, tests/test_export.py
and the browser tests in tests/browser/.
"""

from __future__ import annotations

import base64
import io
import os
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

#: A run name with markup characters: the report must show it as text, not as HTML.
RUN_NAME = "digits <b>report</b> & co"
#: Name of the trace in the notebook's plotly figure, searched for in the export.
TRACE_NAME = "offline-trace"

_CACHE: dict[str, Any] = {}


def trained_run(tmp_path_factory) -> Path:
    """Directory of a real run: the small CNN trained 2 epochs on digits (once per session)."""
    key = f"run:{tmp_path_factory.getbasetemp()}"
    if key not in _CACHE:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        from lepton_lab.core.runner import train

        runs_dir = tmp_path_factory.mktemp("report-runs")
        run = train(
            dataset="digits",
            model="small_cnn",
            train={"epochs": 2, "batch_size": 64, "seed": 3},
            name=RUN_NAME,
            runs_dir=runs_dir,
        )
        assert run.status["status"] == "completed", run.status
        _CACHE[key] = run.path
    return _CACHE[key]


def red_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (12, 6), (220, 20, 20)).save(buffer, "PNG")
    return buffer.getvalue()


def _notebook_cells():
    import nbformat

    png = base64.b64encode(red_png()).decode("ascii")
    return [
        nbformat.v4.new_markdown_cell("# Offline export\nA figure and some widgets."),
        nbformat.v4.new_code_cell(
            "import plotly.graph_objects as go\n"
            f"fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2], name={TRACE_NAME!r}))\n"
            "fig.update_layout(showlegend=True)\n"
            "fig.show()"
        ),
        nbformat.v4.new_code_cell(
            "import base64\n"
            "import ipywidgets as widgets\n"
            "from IPython.display import HTML, display\n"
            "out = widgets.Output()\n"
            "with out:\n"
            "    print('printed inside the output widget')\n"
            "    display(HTML('<b>bold inside the output widget</b>'))\n"
            "    fig.show()\n"
            f"image = widgets.Image(value=base64.b64decode({png!r}), format='png', width='60')\n"
            "note = widgets.HTML('<i>snapshot of an HTML widget</i>')\n"
            "label = widgets.Label('label text')\n"
            "slider = widgets.IntSlider(value=7, description='epochs')\n"
            "tabs = widgets.Tab([widgets.Text('first tab text'), slider])\n"
            "tabs.titles = ('One', 'Two')\n"
            "widgets.VBox([note, image, out, widgets.HBox([label, tabs])])"
        ),
    ]


def executed_notebook(tmp_path_factory) -> Path:
    """A notebook with a plotly figure and Output/Image/HTML widgets, run by nbclient (once per session)."""
    key = f"notebook:{tmp_path_factory.getbasetemp()}"
    if key not in _CACHE:
        import nbformat
        from nbclient import NotebookClient

        nb = nbformat.v4.new_notebook()
        nb.cells = _notebook_cells()
        NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=True).execute()
        path = tmp_path_factory.mktemp("export") / "widgets-and-plots.ipynb"
        nbformat.write(nb, path)
        _CACHE[key] = path
    return _CACHE[key]


#: Cells of the notebook that plain ``jupyter nbconvert --to html`` converts: a live training plot
#: and a confusion matrix shown through the same mimebundle as EvaluationView's.
LIVE_NOTEBOOK_CELLS = (
    'import os\nos.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"\nimport lepton_lab as ll',
    'run = ll.train(dataset="digits", model="mlp", train={"epochs": 1}, runs_dir="runs", live=True)\n'
    'print(run.status["status"])',
    "from IPython.display import display\n"
    "from lepton_lab.widgets import _plots\n"
    "evaluation = run.evaluation\n"
    "figure = _plots.heatmap(evaluation.confusion, evaluation.class_names, 'Confusion matrix')\n"
    "display(_plots.bundle(figure, 'confusion matrix'), raw=True)",
)


def execute_and_nbconvert(cells, folder: Path, name: str, store_widget_state=True) -> tuple[Path, Path]:
    """Run ``cells`` with nbclient in ``folder``, save as ``name``.ipynb, then convert it with plain
    ``jupyter nbconvert --to html``. Returns ``(ipynb, html)``.

    ``store_widget_state=False`` saves the notebook as JupyterLab does by default: outputs, no
    widget state.
    """
    import subprocess
    import sys

    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(
        nb, timeout=300, kernel_name="python3", store_widget_state=store_widget_state,
        resources={"metadata": {"path": str(folder)}},
    ).execute()  # fmt: skip
    ipynb = folder / f"{name}.ipynb"
    nbformat.write(nb, ipynb)
    jupyter = Path(sys.executable).parent / "jupyter"
    subprocess.run(
        [str(jupyter), "nbconvert", "--to", "html", str(ipynb)],
        check=True, capture_output=True, timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )  # fmt: skip
    return ipynb, ipynb.with_suffix(".html")


def nbconverted_notebook(tmp_path_factory) -> tuple[Path, Path]:
    """A notebook that trains digits with ``live=True``, run by nbclient, saved, then converted by plain
    ``jupyter nbconvert --to html`` (once per session). Returns ``(ipynb, html)``.
    """
    key = f"nbconvert:{tmp_path_factory.getbasetemp()}"
    if key not in _CACHE:
        folder = tmp_path_factory.mktemp("nbconvert")
        _CACHE[key] = execute_and_nbconvert(LIVE_NOTEBOOK_CELLS, folder, "live-training")
    return _CACHE[key]


class _References(HTMLParser):
    """Collect URL attributes of real elements (script bodies, such as plotly.js, are not markup)."""

    URL_ATTRIBUTES = ("src", "href", "data", "action", "poster", "srcset", "background")

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in self.URL_ATTRIBUTES and value:
                self.urls.append((tag, name, value))


def element_urls(text: str) -> list[tuple[str, str, str]]:
    """``(tag, attribute, url)`` of every URL attribute of the page's elements."""
    parser = _References()
    parser.feed(text)
    return parser.urls


def network_urls(text: str) -> list[tuple[str, str, str]]:
    """Element URLs that would reach the network (http, https or protocol-relative)."""
    return [ref for ref in element_urls(text) if ref[2].strip().lower().startswith(("http:", "https:", "//"))]


def open_offline(browser, path: Path):
    """Open ``path`` in a fresh context that aborts every request that is not file:// or data:.

    Returns ``(context, page, blocked, errors)``: the URLs the page tried to fetch and its
    JavaScript errors.
    """
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    blocked: list[str] = []

    def route(request_route):
        url = request_route.request.url
        if url.startswith(("file://", "data:")):
            request_route.continue_()
        else:
            blocked.append(url)
            request_route.abort()

    context.route("**/*", route)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    return context, page, blocked, errors


def rendered_plot_count(page) -> int:
    """Plotly charts that finished drawing: ``.js-plotly-plot`` elements holding an SVG ``.main-svg``."""
    return page.evaluate(
        "() => [...document.querySelectorAll('.js-plotly-plot')]"
        ".filter(plot => plot.querySelector('svg.main-svg')).length"
    )
