"""Report: one self-contained HTML file describing a run, viewable with the network off.

:func:`report` reads a run directory (``spec.json``, ``status.json``, ``events.jsonl``,
``evaluation.json``) and writes ``report.html``: the hyperparameters, the model summary and its
Keras code, training curves, the evaluation (confusion matrix, per-class table, worst-classified
examples, a 5x5 grid of test predictions with their images, texts, or audio clips with players and
spectrograms), the environment and the timings. plotly.js is inlined once, and images and audio
are ``data:`` URIs, so the file can be mailed or put on a USB stick and opened anywhere.

The page is the Jinja2 template ``templates/report.html.j2`` (its CSS in ``report.css``); this
module reads the run and hands the template plain values, the figures' HTML and the images'
``data:`` URIs. TensorFlow-free: test images come from :mod:`lepton_lab.core.datasets` (the
dataset named in ``spec.json``, split the same way), summaries from :mod:`lepton_lab.core.models`.

Examples
--------
>>> import lepton_lab as ll
>>> ll.report("lepton-runs/20260101-120000-cnn-1a2b")          # doctest: +SKIP
PosixPath('lepton-runs/20260101-120000-cnn-1a2b/report.html')
"""

from __future__ import annotations

import datetime as _dt
import functools
import html
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lepton_lab.core import runtime_policy
from lepton_lab.core.run_store import DEFAULT_RUNS_DIR, Run, load_run, run_dirs
from lepton_lab.sharing import report_figures
from lepton_lab.sharing.embed import figure_html, plotly_js_script
from lepton_lab.sharing.images import data_uri, png_data_uri
from lepton_lab.sharing.report_media import WORST_CLIPS, test_examples

if TYPE_CHECKING:
    import jinja2

    from lepton_lab.core.datasets import Dataset
    from lepton_lab.core.evaluate import Evaluation

#: Test images are enlarged to at least this many pixels per side (8x8 digits by 8).
IMAGE_MIN_SIDE = 64


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
    dataset: Dataset | None = None,
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
    dataset
        The run's dataset, already loaded (e.g. ``spoken_digits`` loaded with a ``count``, or an
        in-memory dataset, which ``spec.json`` cannot rebuild); by default it is loaded from
        the spec. Test examples are shown only if its test split is the one evaluated.

    Returns
    -------
    pathlib.Path
        The written file (``path``, or ``RUN_DIR/report.html``). It needs no network to view:
        plotly.js is inlined once and images are ``data:`` URIs.
    """
    resolved = resolve_run(run, runs_dir)
    stored = resolved.dir.report_path
    target = Path(path) if path is not None else stored
    text = render(resolved, dataset)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    if target.resolve() != stored.resolve():
        try:
            stored.write_text(text, encoding="utf-8")
        except OSError:
            pass  # a read-only run directory: the report the caller asked for is written all the same
    return target


# --- the template --------------------------------------------------------------------------------


def _format(value: Any) -> str:
    """How a value reads in a report cell: numbers to 4 decimals, None and NaN as a dash."""
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


def _is_numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _escape(value: Any) -> Any:
    """Escape as ``html.escape`` does (``&#x27;``, ``&quot;``): entities match earlier reports."""
    from markupsafe import Markup

    return value if isinstance(value, Markup) else Markup(html.escape(str(value), quote=True))


@functools.lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        finalize=_escape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["fmt"] = _format
    environment.tests["numeric"] = _is_numeric
    return environment.get_template("report.html.j2")


# --- what the page shows ------------------------------------------------------------------------------


class _Page:
    """Everything one report needs, read once from the run directory."""

    def __init__(self, run: Run, dataset: Dataset | None = None) -> None:
        self.run = run
        self.document = run.spec_document
        self.spec = run.spec
        self.status = run.status
        self.summary = run.summary()
        self.evaluation: Evaluation | None = run.evaluation
        self.epochs = run.metrics("epoch")
        self.batches = run.metrics("batch")
        self.dataset, self.dataset_problem = (dataset, None) if dataset is not None else self._load_dataset()
        self.figures: list[str] = []

    def _load_dataset(self) -> tuple[Dataset | None, str | None]:
        from lepton_lab.core import datasets

        try:
            return datasets.load(self.spec.dataset), None
        except (datasets.DatasetUnavailable, ValueError, OSError) as error:
            return None, f"dataset {self.spec.dataset.name!r} could not be loaded here: {error}"

    def figure(self, figure: Any) -> Any:
        """HTML of one plotly figure (nothing for None), counted for ``data-figures``."""
        from markupsafe import Markup

        if figure is None:
            return Markup("")
        self.figures.append(figure_html(figure))
        return Markup(f"<div>{self.figures[-1]}</div>")


def _shape(shape: list[Any]) -> str:
    return "(" + ", ".join(_format(side) for side in shape) + ")"


def _duration_text(seconds: Any) -> str:
    if not isinstance(seconds, (int, float)):
        return "—"
    minutes, rest = divmod(float(seconds), 60)
    return f"{int(minutes)} min {rest:.1f} s" if minutes else f"{rest:.1f} s"


def _facts(page: _Page) -> list[tuple[str, Any]]:
    return [
        ("test accuracy", page.evaluation.accuracy if page.evaluation else None),
        ("test loss", page.evaluation.loss if page.evaluation else None),
        ("best val accuracy", page.summary.get("best_val_accuracy")),
        ("epochs", f"{page.status.get('epoch', '—')} / {page.spec.train.epochs}"),
        ("duration", _duration_text(page.summary.get("duration_s"))),
    ]


def _spec_rows(page: _Page) -> list[tuple[str, Any]]:
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
    return rows


def _model(page: _Page) -> dict[str, Any]:
    from lepton_lab.core import models

    if page.dataset is None:
        return {"problem": page.dataset_problem}
    shape, classes = tuple(page.dataset.input_shape), page.dataset.num_classes
    try:
        rows = models.summary_rows(page.spec.model, shape, classes)
        code = models.to_code(page.spec.model, shape, classes, dropout=page.spec.train.dropout)
    except models.ModelError as error:
        return {"problem": None, "error": str(error)}
    total = sum(row["params"] for row in rows)
    trainable = sum(row["trainable_params"] for row in rows)
    return {
        "problem": None,
        "error": None,
        "total": total,
        "rows": [
            (row["index"], row["layer"], _shape(row["output_shape"]), row["params"], row["description"])
            for row in rows
        ],
        "total_row": ("", "total", f"{trainable:,} trainable", total, f"{total - trainable:,} non-trainable"),
        "code": code,
    }


def _training(page: _Page) -> dict[str, Any]:
    from markupsafe import Markup

    epochs, batches = page.epochs, page.batches
    if epochs.empty and batches.empty:
        return {}
    training: dict[str, Any] = {"epoch_charts": None, "batch_chart": Markup(""), "epoch_rows": []}
    if not epochs.empty:
        training["epoch_charts"] = page.figure(
            report_figures.epoch_figure(epochs, "loss", "Loss per epoch")
        ) + page.figure(report_figures.epoch_figure(epochs, "accuracy", "Accuracy per epoch"))
    if not batches.empty:
        training["batch_chart"] = page.figure(report_figures.batch_figure(batches))
    if not epochs.empty:
        wanted = ["loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "epoch_time_s"]
        columns = [c for c in wanted if c in epochs.columns]
        training["epoch_headers"] = ["epoch", *columns]
        training["epoch_rows"] = [
            [int(row["epoch"]), *(row[c] for c in columns)] for _, row in epochs.iterrows()
        ]
    return training


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
        images[index] = png_data_uri(data.page(index, 1, split="test").images[0], IMAGE_MIN_SIDE)
    return images, None


#: Characters of a text example shown on a report card.
TEXT_CARD_CHARS = 240


def _test_media(page: _Page, evaluation: Evaluation) -> tuple[dict[int, Any], str | None]:
    """Return the HTML (Markup) of the text or audio test examples the report shows, by test index.

    Texts come from ``evaluation.json`` when it kept them, otherwise (like audio clips) from the
    dataset, only when its test split is the one evaluated. Each piece is one line: the
    template's cards stay on one line. Audio is a ``<audio controls>`` player with a
    ``data:audio/wav`` source and a spectrogram thumbnail: the page stays self-contained.
    """
    from markupsafe import Markup

    from lepton_lab.sharing.audio_media import audio_data_url, spectrogram_png

    data = page.dataset
    kind = data.kind if data is not None else ("text" if any("text" in e for e in evaluation.worst) else None)
    if kind not in ("text", "audio"):
        return {}, None
    entries = evaluation.worst[:WORST_CLIPS] if kind == "audio" else evaluation.worst
    media: dict[int, Any] = {}
    for entry, example in test_examples(evaluation, data, [*entries, *evaluation.grid]):
        index = int(entry["index"])
        if kind == "text":
            text = str(example)
            shown = text if len(text) <= TEXT_CARD_CHARS else text[: TEXT_CARD_CHARS - 1].rstrip() + "…"
            title = html.escape(" ".join(text.split()))
            lines = html.escape(shown).replace("\r", "").replace("\n", "<br>")
            media[index] = Markup(f'<div class="text" title="{title}">{lines}</div>')
        else:
            assert data is not None and data.sample_rate is not None  # clips come only from a dataset
            rate = data.sample_rate
            media[index] = Markup(
                f'<audio controls preload="metadata" src="{audio_data_url(example, rate)}"></audio>'
                f'<img class="spectrogram" src="{data_uri(spectrogram_png(example, rate, 176, 64))}" '
                f'alt="spectrogram of test example {index}">'
            )
    if not media:
        reason = page.dataset_problem or "the test split loaded now differs from the one evaluated."
        return {}, f"Examples not shown: {reason}"
    return media, None


def _evaluation(page: _Page) -> dict[str, Any]:
    evaluation = page.evaluation
    if evaluation is None:
        return {}
    macro, names = evaluation.macro, evaluation.class_names
    images, problem = _test_images(page, evaluation)
    media, media_problem = _test_media(page, evaluation)
    if media or media_problem:
        problem = media_problem
    audio = bool(media) and page.dataset is not None and page.dataset.kind == "audio"
    return {
        "summary": [
            evaluation.count,
            evaluation.accuracy,
            evaluation.loss,
            *(macro.get(k) for k in ("precision", "recall", "f1")),
        ],
        "confusion_chart": page.figure(report_figures.confusion_figure(evaluation.confusion, names)),
        "per_class": [
            (row["class"], row["precision"], row["recall"], row["f1"], row["support"])
            for row in evaluation.per_class
        ],
        "macro_row": (
            "macro average",
            *(macro.get(k) for k in ("precision", "recall", "f1")),
            evaluation.count,
        ),
        "problem": problem,
        "names": names,
        "images": images,
        "media": media,
        # Each clip is a whole WAV file inside the page: only the worst few of them.
        "worst": evaluation.worst[:WORST_CLIPS] if audio else evaluation.worst,
        "grid": evaluation.grid,
    }


def _environment(page: _Page) -> dict[str, Any]:
    status = page.status
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
    runtime = page.document.get("runtime") or {}
    probe_s = (runtime.get("policy") or {}).get("probe_s")
    if probe_s:  # the runtime probe's own cost, part of the run's time
        timings.append(("runtime probe", _duration_text(float(probe_s))))
    timings.append(("report written", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")))
    return {
        "versions": sorted((page.document.get("versions") or {}).items()),
        # The lines `lepton-lab show` and the Lab's job view show, not the raw nested block.
        "runtime": runtime_policy.describe(runtime) if isinstance(runtime, dict) else [],
        "timings": timings,
        "error": status.get("error"),
        "traceback": status.get("traceback"),
    }


def render(run: Run, dataset: Dataset | None = None) -> str:
    """Render the report of ``run`` as one HTML document (what :func:`report` writes)."""
    from markupsafe import Markup

    page = _Page(run, dataset)
    # Every section is computed before the page is rendered: <main> states the figure count and
    # plotly.js goes in <head> once, as every figure's inline script calls Plotly.newPlot as it is parsed.
    sections = {
        "spec_rows": _spec_rows(page),
        "model": _model(page),
        "training": _training(page),
        "evaluation": _evaluation(page),
        "environment": _environment(page),
    }
    return (
        _template().render(
            name=page.spec.name,
            run_id=page.run.id,
            status=str(page.status.get("status", "unknown")),
            run_status_repr=repr(page.status.get("status")),
            created=page.status.get("created") or "",
            dataset_name=page.spec.dataset.name,
            facts=_facts(page),
            figure_count=len(page.figures),
            plotly=Markup(plotly_js_script()) if page.figures else "",
            **sections,
        )
        + "\n"
    )
