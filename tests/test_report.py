"""Tests of the self-contained run report (``lepton_lab.sharing.report``, ``lepton-lab report``).

The browser half (charts drawn with networking disabled) is tests/browser/test_report_offline.py.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from lepton_lab.cli import build_parser
from lepton_lab.core.run_store import load_run
from lepton_lab.core.rundir import RunDir
from lepton_lab.sharing import report_figures
from lepton_lab.sharing.report import report, resolve_run
from tests.sharing import RUN_NAME, element_urls, network_urls, trained_run

ROOT = Path(__file__).resolve().parents[1]
PLOTLY_JS_BANNER = "* plotly.js v"


@pytest.fixture(scope="module")
def run_path(tmp_path_factory) -> Path:
    return trained_run(tmp_path_factory)


@pytest.fixture(scope="module")
def written(run_path) -> tuple[Path, list[str]]:
    """The report written to its default place, and the run directory's files before writing it."""
    before = sorted(p.name for p in run_path.iterdir())
    return report(run_path), before


@pytest.fixture(scope="module")
def page_text(written) -> str:
    return written[0].read_text(encoding="utf-8")


def _between(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end, text.index(start))]


def test_report_is_one_file_in_the_run_directory(written, run_path):
    path, before = written
    assert path == RunDir(run_path).report_path
    # Nothing beside it: no image folder, no plotly.min.js next to the page.
    assert sorted(p.name for p in run_path.iterdir()) == sorted([*before, "report.html"])
    assert path.stat().st_size > 1_000_000  # plotly.js is in it


def test_report_inlines_plotly_js_exactly_once_and_references_nothing_remote(page_text):
    from plotly.offline import get_plotlyjs

    assert page_text.count(PLOTLY_JS_BANNER) == 1
    assert page_text.count(get_plotlyjs()[:2000]) == 1
    assert network_urls(page_text) == []
    # Every element URL is an in-page anchor or an embedded image.
    assert {url[:22] for _tag, _attr, url in element_urls(page_text) if not url.startswith("#")} == {
        "data:image/png;base64,"
    }
    assert not re.search(r"<script[^>]*\bsrc=", page_text)
    assert not re.search(r"<link[^>]*\bhref=", page_text)


def test_report_has_one_figure_per_chart_drawn_by_plotly(page_text):
    # Loss per epoch, accuracy per epoch, per-batch curves, confusion matrix.
    assert page_text.count('class="plotly-graph-div"') == 4
    assert page_text.count("Plotly.newPlot(") == 4
    assert 'data-figures="4"' in page_text


def test_report_per_class_table_matches_the_evaluation(page_text, run_path):
    evaluation = load_run(run_path).evaluation
    table = _between(page_text, 'id="per-class"', "</table>")
    rows = re.findall(r"<tr>(.*?)</tr>", table)
    assert len(rows) == 1 + len(evaluation.class_names)  # header + one row per class
    for row, expected in zip(rows[1:], evaluation.per_class, strict=True):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        assert cells == [
            expected["class"],
            f"{expected['precision']:.4f}",
            f"{expected['recall']:.4f}",
            f"{expected['f1']:.4f}",
            str(expected["support"]),
        ]
    assert "macro average" in table and f"{evaluation.macro['f1']:.4f}" in table


def test_report_prediction_grid_shows_25_test_images_coloured_by_correctness(page_text, run_path):
    evaluation = load_run(run_path).evaluation
    grid = _between(page_text, 'id="prediction-grid"', "</section>")
    cards = re.findall(r'<figure class="example (right|wrong)"><img src="data:image/png;base64,[^"]+"', grid)
    assert len(cards) == 25
    expected = ["right" if item["true"] == item["predicted"] else "wrong" for item in evaluation.grid]
    assert cards == expected
    worst = _between(page_text, 'id="worst"', 'id="prediction-grid"')
    assert worst.count("<img ") == len(evaluation.worst) > 0


def test_report_grid_images_are_the_evaluated_test_examples(page_text, run_path):
    import base64
    import io

    import numpy as np
    from PIL import Image

    from lepton_lab.core import datasets

    grid = _between(page_text, 'id="prediction-grid"', "</section>")
    first = re.search(r'src="data:image/png;base64,([^"]+)"', grid).group(1)
    shown = np.asarray(Image.open(io.BytesIO(base64.b64decode(first))), dtype=np.float64) / 255
    expected = datasets.load(load_run(run_path).spec.dataset).page(0, 1, split="test").images[0, ..., 0]
    scale = shown.shape[0] // expected.shape[0]
    assert scale >= 8  # 8x8 digits are enlarged to stay visible
    assert np.allclose(shown[::scale, ::scale], expected, atol=1 / 255)


def test_report_lists_spec_model_code_environment_and_timings(page_text, run_path):
    run = load_run(run_path)
    versions = run.spec_document["versions"]
    for text in (
        "train.learning_rate",
        'train.batch_size</td><td class="num">64',
        "keras.Sequential(",
        "keras.layers.Conv2D(",
        "53,002",  # the small CNN's parameter count on 8x8 digits
        f"<td>tensorflow</td><td>{versions['tensorflow']}</td>",
        f"<td>keras</td><td>{versions['keras']}</td>",
        "mean epoch time",
        "Confusion matrix",
        run.status["started"],
        run.status["finished"],
    ):
        assert text in page_text, text


def test_report_escapes_user_text(page_text):
    assert RUN_NAME not in page_text
    assert html.escape(RUN_NAME) in page_text


def test_building_a_report_does_not_import_tensorflow(run_path, tmp_path):
    code = (
        "import sys\n"
        "import lepton_lab.cli\n"
        "from lepton_lab.sharing.report import report\n"
        f"report({str(run_path)!r}, {str(tmp_path / 'r.html')!r})\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.stdout.split() == ["False", "False"]
    assert (tmp_path / "r.html").stat().st_size > 1_000_000


def test_cli_report_finds_a_run_by_id_and_writes_where_asked(run_path, tmp_path, capsys):
    target = tmp_path / "shared" / "digits.html"
    parser = build_parser()
    args = parser.parse_args(
        ["report", run_path.name[-4:], "-o", str(target), "--runs-dir", str(run_path.parent)]
    )
    assert args.handler(args) == 0
    assert str(target) in capsys.readouterr().out
    assert target.read_text(encoding="utf-8").count(PLOTLY_JS_BANNER) == 1


def test_cli_report_of_an_unknown_run_names_it_and_exits_2(run_path, capsys):
    parser = build_parser()
    args = parser.parse_args(["report", "no-such-run", "--runs-dir", str(run_path.parent)])
    assert args.handler(args) == 2
    error = capsys.readouterr().err
    assert "no-such-run" in error and run_path.name in error  # it lists the runs that do exist


def test_resolve_run_accepts_run_objects_directories_and_ids(run_path):
    run = load_run(run_path)
    assert resolve_run(run) is run
    assert resolve_run(str(run_path)).path == run_path
    assert resolve_run(run_path.name, runs_dir=run_path.parent).path == run_path


def test_report_of_a_queued_run_says_what_is_missing(tmp_path):
    run_dir = RunDir.create(tmp_path / "runs", {"name": "waiting", "dataset": {"name": "digits"}})
    text = report(run_dir.path).read_text(encoding="utf-8")
    assert "No training metrics logged yet." in text
    assert "No evaluation (run status &#x27;queued&#x27;)." in text
    assert "Keras code" in text  # the model is known from the spec before training
    assert PLOTLY_JS_BANNER not in text  # no charts, so no 4.8 MB of plotly.js


def test_batch_chart_draws_the_lab_panels_bounded_curve():
    from lepton_lab.core.job_progress import BoundedSeries

    batches = pd.DataFrame({"step": range(1, 2001), "loss": [1 / s for s in range(1, 2001)]})
    figure = report_figures.batch_figure(batches)
    (trace,) = figure.data
    panel = BoundedSeries(600)  # what the panel and the notebook plot keep of the same batches
    for step in range(1, 2001):
        panel.push(step, 1 / step)
    assert list(trace.x) == panel.xs and list(trace.y) == panel.ys
    assert 300 <= len(trace.x) <= report_figures.MAX_BATCH_POINTS
    assert trace.x[-1] > 1990  # the newest bucket reaches the last step
    assert f"{len(trace.x)} means of 2000 logged batches" in figure.layout.title.text


def test_a_report_written_elsewhere_is_also_stored_in_its_run_directory(tmp_path):
    run_dir = RunDir.create(tmp_path / "runs", {"name": "shared", "dataset": {"name": "digits"}})
    target = report(run_dir.path, tmp_path / "to-share" / "shared.html")
    assert target == tmp_path / "to-share" / "shared.html"
    # What the Lab job view's "Open report" reads (GET jobs/{id}/artifacts/report.html).
    assert run_dir.report_path.read_text(encoding="utf-8") == target.read_text(encoding="utf-8")


def test_report_shows_the_runtime_choice_as_the_job_view_does_and_the_probe_in_the_timings(tmp_path):
    run_dir = RunDir.create(tmp_path / "runs", {"name": "probed", "dataset": {"name": "digits"}})
    document = json.loads(run_dir.spec_path.read_text(encoding="utf-8"))
    document["runtime"] = {
        "device": "CPU",
        "steps_per_execution": 16,
        "jit_compile": False,
        "precision": "float32",
        "policy": {
            "source": "measured",
            "reason": "fastest of 2 candidates",
            "pinned": [],
            "probe_s": 4.5,
            "budget_s": 30.0,
            "candidates": [
                {"settings": {"steps_per_execution": 1}, "step_ms": 2.0},
                {"settings": {"steps_per_execution": 16}, "step_ms": 1.0, "chosen": True},
            ],
        },
    }
    run_dir.spec_path.write_text(json.dumps(document), encoding="utf-8")
    text = report(run_dir.path).read_text(encoding="utf-8")

    assert "<td>runtime probe</td>" in text  # its cost is part of the run's timings
    assert "measured: fastest of 2 candidates; probe 4.50 s (budget 30.00 s)" in text
    assert "steps/execution 16: 1.000 ms/step  &lt;- chosen" in text
    assert "&#x27;candidates&#x27;" not in text  # not the raw nested block
