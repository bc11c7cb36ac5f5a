"""Report: one self-contained HTML file describing a run, viewable with the network off.

:func:`report` reads a run directory (``spec.json``, ``status.json``, ``events.jsonl``,
``evaluation.json``) and writes ``report.html``: the hyperparameters, the model summary and its
Keras code, training curves, the evaluation (confusion matrix, per-class table, worst-classified
examples, a 5x5 grid of test predictions with their images), the environment and the timings.
plotly.js is inlined once and images are ``data:`` URIs, so the file can be mailed or put on a
USB stick and opened anywhere.

TensorFlow-free: test images come from :mod:`lepton_lab.core.datasets` (the dataset named in
``spec.json``, split the same way), summaries from :mod:`lepton_lab.core.models`.

Examples
--------
>>> import lepton_lab as ll
>>> ll.report("lepton-runs/20260101-120000-cnn-1a2b")          # doctest: +SKIP
PosixPath('lepton-runs/20260101-120000-cnn-1a2b/report.html')
"""

from __future__ import annotations

import datetime as _dt
import html
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lepton_lab.core import report_figures
from lepton_lab.core.embed import figure_html, plotly_js_script, png_data_uri
from lepton_lab.core.run_store import DEFAULT_RUNS_DIR, Run, load_run, run_dirs

if TYPE_CHECKING:
    from lepton_lab.core.datasets import Dataset
    from lepton_lab.core.evaluate import Evaluation

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1d2330;
       background: #f6f7f9; }
header { background: #1d2330; color: #fff; padding: 20px 32px; }
header h1 { margin: 0 0 6px; font-size: 24px; }
header .meta { opacity: .8; font-size: 14px; }
nav { padding: 8px 32px; background: #e9ecf2; font-size: 14px; }
nav a { margin-right: 16px; color: #1d4ed8; text-decoration: none; }
main { padding: 8px 32px 40px; max-width: 1280px; }
section { background: #fff; border-radius: 8px; padding: 16px 20px; margin: 16px 0;
          box-shadow: 0 1px 2px rgba(0,0,0,.08); }
h2 { margin-top: 0; font-size: 20px; }
h3 { font-size: 16px; margin: 18px 0 8px; }
table { border-collapse: collapse; font-size: 13px; margin: 4px 0 12px; }
th, td { border-bottom: 1px solid #e3e6ec; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f0f2f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: 600; border-top: 2px solid #c9ced8; }
pre { background: #f3f4f7; padding: 10px 12px; border-radius: 6px; overflow-x: auto; font-size: 12.5px; }
.note { color: #5b6170; font-size: 13px; }
.error { color: #b42318; }
.badge { display: inline-block; padding: 2px 8px; border-radius: 10px; font-size: 12px; font-weight: 600;
         background: #e3e6ec; color: #1d2330; }
.badge.completed { background: #d1fadf; color: #05603a; }
.badge.failed, .badge.interrupted { background: #fee4e2; color: #b42318; }
.badge.running, .badge.queued { background: #dbeafe; color: #1d4ed8; }
.headline { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 12px; }
.headline div { background: rgba(255,255,255,.1); padding: 6px 12px; border-radius: 6px; }
.headline b { display: block; font-size: 18px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 12px; }
.gallery { display: flex; flex-wrap: wrap; gap: 10px; }
.grid { display: grid; grid-template-columns: repeat(5, 132px); gap: 8px; }
figure.example { margin: 0; width: 132px; padding: 6px; border-radius: 6px; border: 3px solid;
                 font-size: 12px; text-align: center; box-sizing: border-box; }
figure.example img { width: 96px; height: 96px; object-fit: contain; image-rendering: pixelated;
                     display: block; margin: 0 auto 4px; background: #000; }
figure.right { border-color: #12b76a; background: #ecfdf3; }
figure.wrong { border-color: #f04438; background: #fef3f2; }
"""


def resolve_run(run: Run | str | os.PathLike[str], runs_dir: str | os.PathLike[str] | None = None) -> Run:
    """Find the :class:`~lepton_lab.core.run_store.Run` that ``run`` names.

    Parameters
    ----------
    run
        A ``Run``, a run directory, or a run id (or a unique part of one) inside ``runs_dir``.
    runs_dir
        Where to look up a run id (default ``lepton-runs``).

    Raises
    ------
    LookupError
        Naming the run and where it was looked for, with the ids of the newest runs there.
    """
    if isinstance(run, Run):
        return run
    path = Path(run)
    if (path / "spec.json").is_file():
        return load_run(path)
    parent = Path(runs_dir if runs_dir is not None else DEFAULT_RUNS_DIR)
    ids = [d.id for d in run_dirs(parent)]
    matches = [i for i in ids if i == str(run)] or [i for i in ids if str(run) in i]
    if len(matches) == 1:
        return load_run(parent / matches[0])
    if matches:
        names = ", ".join(matches[:5])
        raise LookupError(
            f"{str(run)!r} matches {len(matches)} runs in {parent} ({names}); give more of the id"
        )
    hint = f"newest runs there: {', '.join(ids[-5:])}" if ids else f"{parent} holds no runs"
    raise LookupError(
        f"no run {str(run)!r}: not a run directory and no run id in {parent} contains it ({hint}); "
        "pass the run's directory, or its id with --runs-dir DIR / runs_dir=DIR"
    )


def report(
    run: Run | str | os.PathLike[str],
    path: str | os.PathLike[str] | None = None,
    *,
    runs_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Write a self-contained HTML report of ``run`` and return its path.

    Parameters
    ----------
    run
        A :class:`~lepton_lab.core.run_store.Run`, a run directory, or a run id inside ``runs_dir``.
    path
        Where to write the report as well: it is always also stored as ``RUN_DIR/report.html``,
        where the Lab job view's "Open report" and ``GET jobs/{id}/artifacts/report.html`` find
        it (unless the run directory is read-only, e.g. a copied archive).
    runs_dir
        Where to look up a run id (default ``lepton-runs``).

    Returns
    -------
    pathlib.Path
        The written file (``path``, or ``RUN_DIR/report.html``). It needs no network to view:
        plotly.js is inlined once and images are ``data:`` URIs.
    """
    resolved = resolve_run(run, runs_dir)
    stored = resolved.dir.report_path
    target = Path(path) if path is not None else stored
    text = render(resolved)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    if target.resolve() != stored.resolve():
        try:
            stored.write_text(text, encoding="utf-8")
        except OSError:
            pass  # a read-only run directory: the report the caller asked for is written all the same
    return target


# --- HTML helpers ----------------------------------------------------------------------------------


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _format(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:
            return "—"
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:,.1f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_format(item) for item in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{key}={_format(item)}" for key, item in value.items()) or "—"
    return str(value)


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], total: Sequence[Any] | None = None) -> str:
    """Render an HTML table of escaped, formatted cells; numbers are right-aligned."""

    def cells(row: Sequence[Any], tag: str = "td") -> str:
        out = []
        for value in row:
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            css = ' class="num"' if numeric else ""
            out.append(f"<{tag}{css}>{_e(_format(value))}</{tag}>")
        return "".join(out)

    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(f"<tr>{cells(row)}</tr>" for row in rows)
    if total is not None:
        body += f'<tr class="total">{cells(total)}</tr>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{_e(title)}</h2>{body}</section>'


def _note(text: str, css: str = "note") -> str:
    return f'<p class="{css}">{_e(text)}</p>'


# --- sections ---------------------------------------------------------------------------------------


class _Page:
    """Everything one report needs, read once from the run directory."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.document = run.spec_document
        self.spec = run.spec
        self.status = run.status
        self.summary = run.summary()
        self.evaluation: Evaluation | None = run.evaluation
        self.epochs = run.metrics("epoch")
        self.batches = run.metrics("batch")
        self.dataset, self.dataset_problem = self._load_dataset()
        self.figures: list[str] = []

    def _load_dataset(self) -> tuple[Dataset | None, str | None]:
        from lepton_lab.core import datasets

        try:
            return datasets.load(self.spec.dataset), None
        except (datasets.DatasetUnavailable, ValueError, OSError) as error:
            return None, f"dataset {self.spec.dataset.name!r} could not be loaded here: {error}"

    def figure(self, figure: Any) -> str:
        if figure is None:
            return ""
        self.figures.append(figure_html(figure))
        return f"<div>{self.figures[-1]}</div>"


def _header(page: _Page) -> str:
    status = str(page.status.get("status", "unknown"))
    when = page.status.get("created") or ""
    facts = [
        ("test accuracy", page.evaluation.accuracy if page.evaluation else None),
        ("test loss", page.evaluation.loss if page.evaluation else None),
        ("best val accuracy", page.summary.get("best_val_accuracy")),
        ("epochs", f"{page.status.get('epoch', '—')} / {page.spec.train.epochs}"),
        ("duration", _duration_text(page.summary.get("duration_s"))),
    ]
    headline = "".join(f"<div>{_e(label)}<b>{_e(_format(value))}</b></div>" for label, value in facts)
    return (
        f"<header><h1>{_e(page.spec.name)}</h1>"
        f'<div class="meta">run <code>{_e(page.run.id)}</code> · '
        f'<span class="badge {_e(status)}">{_e(status)}</span>'
        f" · created {_e(when)} · dataset {_e(page.spec.dataset.name)}</div>"
        f'<div class="headline">{headline}</div></header>'
        '<nav><a href="#spec">Hyperparameters</a><a href="#model">Model</a><a href="#training">Training</a>'
        '<a href="#evaluation">Evaluation</a><a href="#environment">Environment and timings</a></nav>'
    )


def _shape(shape: list[Any]) -> str:
    return "(" + ", ".join(_format(side) for side in shape) + ")"


def _duration_text(seconds: Any) -> str:
    if not isinstance(seconds, (int, float)):
        return "—"
    minutes, rest = divmod(float(seconds), 60)
    return f"{int(minutes)} min {rest:.1f} s" if minutes else f"{rest:.1f} s"


def _spec_section(page: _Page) -> str:
    spec = page.spec
    rows: list[tuple[str, Any]] = [("name", spec.name), ("tags", spec.tags)]
    rows += [(f"dataset.{key}", value) for key, value in spec.dataset.model_dump(mode="json").items()]
    ops = [
        f"{op['op']}({', '.join(f'{k}={v}' for k, v in op.items() if k != 'op')})"
        for op in spec.augment.model_dump(mode="json")["ops"]
    ]
    rows.append(("augment", ops or "none"))
    if spec.model.preset is not None:
        rows.append(("model.preset", spec.model.preset))
    else:
        rows.append(("model.layers", f"{len(spec.model.layers or [])} layers (see Model)"))
    rows += [(f"train.{key}", value) for key, value in spec.train.model_dump(mode="json").items()]
    return _section("spec", "Hyperparameters", _table(["setting", "value"], rows))


def _model_section(page: _Page) -> str:
    from lepton_lab.core import models

    if page.dataset is None:
        return _section("model", "Model", _note(f"No model summary: {page.dataset_problem}"))
    shape, classes = tuple(page.dataset.input_shape), page.dataset.num_classes
    try:
        rows = models.summary_rows(page.spec.model, shape, classes)
        code = models.to_code(page.spec.model, shape, classes, dropout=page.spec.train.dropout)
    except models.ModelError as error:
        return _section("model", "Model", _note(f"The model spec does not fit the data: {error}", "error"))
    total = sum(row["params"] for row in rows)
    trainable = sum(row["trainable_params"] for row in rows)
    table = _table(
        ["#", "layer", "output shape", "params", "description"],
        [
            (row["index"], row["layer"], _shape(row["output_shape"]), row["params"], row["description"])
            for row in rows
        ],
        total=("", "total", f"{trainable:,} trainable", total, f"{total - trainable:,} non-trainable"),
    )
    body = (
        f"<h3>Summary ({_e(f'{total:,}')} parameters)</h3>{table}"
        f"<h3>Keras code</h3><pre><code>{_e(code)}</code></pre>"
    )
    return _section("model", "Model", body)


def _training_section(page: _Page) -> str:
    epochs, batches = page.epochs, page.batches
    if epochs.empty and batches.empty:
        return _section("training", "Training", _note("No training metrics logged yet."))
    body = ""
    if not epochs.empty:
        charts = page.figure(report_figures.epoch_figure(epochs, "loss", "Loss per epoch")) + page.figure(
            report_figures.epoch_figure(epochs, "accuracy", "Accuracy per epoch")
        )
        body += f'<div class="charts">{charts}</div>'
    if not batches.empty:
        body += page.figure(report_figures.batch_figure(batches))
    if not epochs.empty:
        wanted = ["loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "epoch_time_s"]
        columns = [c for c in wanted if c in epochs.columns]
        rows = [[int(row["epoch"]), *(row[c] for c in columns)] for _, row in epochs.iterrows()]
        body += "<h3>Per epoch</h3>" + _table(["epoch", *columns], rows)
    return _section("training", "Training", body)


def _example_card(item: dict[str, Any], names: list[str], image: str | None, extra: str = "") -> str:
    right = item["true"] == item["predicted"]
    picture = f'<img src="{image}" alt="test example {int(item["index"])}">' if image else ""
    return (
        f'<figure class="example {"right" if right else "wrong"}">{picture}'
        f"<figcaption>true <b>{_e(names[item['true']])}</b><br>"
        f"predicted <b>{_e(names[item['predicted']])}</b><br>"
        f"confidence {item['confidence']:.0%}{extra}</figcaption></figure>"
    )


def _test_images(page: _Page, evaluation: Evaluation) -> tuple[dict[int, str], str | None]:
    """Return data URIs of the test images the report shows, by index in the test split."""
    data = page.dataset
    if data is None:
        return {}, f"Images not shown: {page.dataset_problem}"
    if data.kind != "image":
        return {}, None
    items = evaluation.worst + evaluation.grid
    labels = data.labels("test")
    # The split is recomputed from the spec; show images only if it is the split that was evaluated.
    if len(labels) != evaluation.count or any(labels[item["index"]] != item["true"] for item in items):
        return {}, "Images not shown: the test split loaded now differs from the one evaluated."
    images = {}
    for index in sorted({int(item["index"]) for item in items}):
        images[index] = png_data_uri(data.page(index, 1, split="test").images[0])
    return images, None


def _evaluation_section(page: _Page) -> str:
    evaluation = page.evaluation
    if evaluation is None:
        status = page.status.get("status")
        return _section("evaluation", "Evaluation", _note(f"No evaluation (run status {status!r})."))
    names, macro = evaluation.class_names, evaluation.macro
    images, problem = _test_images(page, evaluation)
    summary = _table(
        ["test examples", "accuracy", "loss", "macro precision", "macro recall", "macro F1"],
        [
            [
                evaluation.count,
                evaluation.accuracy,
                evaluation.loss,
                *(macro.get(k) for k in ("precision", "recall", "f1")),
            ]
        ],
    )
    per_class = _table(
        ["class", "precision", "recall", "F1", "support"],
        [
            (row["class"], row["precision"], row["recall"], row["f1"], row["support"])
            for row in evaluation.per_class
        ],
        total=(
            "macro average",
            macro.get("precision"),
            macro.get("recall"),
            macro.get("f1"),
            evaluation.count,
        ),
    )
    worst = "".join(
        _example_card(item, names, images.get(item["index"]), f"<br>p(true) {item['true_probability']:.2f}")
        for item in evaluation.worst
    )
    grid = "".join(_example_card(item, names, images.get(item["index"])) for item in evaluation.grid)
    body = (
        summary
        + page.figure(report_figures.confusion_figure(evaluation.confusion, names))
        + f'<h3>Per class</h3><div id="per-class">{per_class}</div>'
        + (_note(problem) if problem else "")
        + f"<h3>Worst-classified examples ({len(evaluation.worst)})</h3>"
        + _note("Least probability on the true class first; green: still predicted right.")
        + f'<div class="gallery" id="worst">{worst}</div>'
        + f"<h3>Test predictions (first {len(evaluation.grid)} test examples)</h3>"
        + f'<div class="grid" id="prediction-grid">{grid}</div>'
    )
    return _section("evaluation", "Evaluation", body)


def _environment_section(page: _Page) -> str:
    versions = page.document.get("versions") or {}
    runtime = page.document.get("runtime") or {}
    status = page.status
    body = "<h3>Versions</h3>" + _table(["package", "version"], sorted(versions.items()))
    if runtime:
        body += "<h3>Runtime</h3>" + _table(["setting", "value"], runtime.items())
    epoch_times = page.epochs["epoch_time_s"].dropna() if "epoch_time_s" in page.epochs.columns else None
    timings: list[tuple[str, Any]] = [
        ("status", status.get("status")),
        ("created", status.get("created")),
        ("started", status.get("started")),
        ("finished", status.get("finished")),
        ("duration", _duration_text(page.summary.get("duration_s"))),
        ("epochs completed", status.get("epoch")),
    ]
    if epoch_times is not None and len(epoch_times):
        timings += [
            ("training time (sum of epochs)", _duration_text(float(epoch_times.sum()))),
            ("mean epoch time", _duration_text(float(epoch_times.mean()))),
        ]
    timings.append(("report written", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")))
    body += "<h3>Timings</h3>" + _table(["", ""], timings)
    if status.get("error"):
        body += _note(f"Error: {status['error']}", "error")
    if status.get("traceback"):
        body += f"<pre>{_e(status['traceback'])}</pre>"
    return _section("environment", "Environment and timings", body)


_SECTIONS = (_spec_section, _model_section, _training_section, _evaluation_section, _environment_section)


def render(run: Run) -> str:
    """Render the report of ``run`` as one HTML document (what :func:`report` writes)."""
    page = _Page(run)
    sections = "".join(section(page) for section in _SECTIONS)
    head = _header(page)
    # plotly.js goes in <head> once: every figure's inline script calls Plotly.newPlot as it is parsed.
    plotly = plotly_js_script() if page.figures else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(page.spec.name)} — Lepton Lab report</title>"
        f"<style>{_STYLE}</style>{plotly}</head>"
        f'<body>{head}<main data-figures="{len(page.figures)}">{sections}</main></body></html>\n'
    )
