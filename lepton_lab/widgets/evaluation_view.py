"""EvaluationView: how a trained model does on the test split.

Confusion-matrix heatmap, per-class precision / recall / F1 table, the worst-classified
examples with true and predicted labels, and a 5x5 grid of test predictions (green when right,
red when wrong). Everything is read from the run's ``evaluation.json``; the examples come from
the run's dataset (loaded from its spec unless given), shown by kind:

- images: thumbnail galleries (a click on the grid opens the example in a PredictionPad);
- text: the worst examples as a table of their texts, the grid as text cards;
- audio: the worst clips as cards with a player, waveform and spectrogram, the grid as players
  with spectrogram thumbnails (inline ``data:`` URLs: a saved notebook still plays them).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import ipywidgets

from lepton_lab.core.evaluate import Evaluation
from lepton_lab.sharing import images
from lepton_lab.sharing.report_media import (
    WORST_CLIPS,
    clip_grid_html,
    text_grid_html,
    worst_clips_html,
    worst_texts_html,
)
from lepton_lab.sharing.snapshot import StaticSnapshot
from lepton_lab.widgets import _plots
from lepton_lab.widgets._thumbnails import ThumbnailGrid


def _evaluation_of(run: Any) -> tuple[Evaluation | None, Any]:
    """Return ``(evaluation, run)`` for a Run, a run directory path or an Evaluation."""
    if isinstance(run, Evaluation):
        return run, None
    if isinstance(run, (str, Path)):
        from lepton_lab.core.run_store import load_run

        run = load_run(run)
    return run.evaluation, run


def per_class_html(evaluation: Evaluation) -> str:
    """Per-class precision, recall, F1 and support as an HTML table with a macro-average row."""
    frame = evaluation.per_class_frame()
    rows = "".join(
        f"<tr><td>{html.escape(str(name))}</td><td>{row.precision:.3f}</td><td>{row.recall:.3f}</td>"
        f"<td>{row.f1:.3f}</td><td>{int(row.support)}</td></tr>"
        for name, row in frame.iterrows()
    )
    macro = evaluation.macro
    rows += (
        "<tr style='font-weight:600;border-top:1px solid #999'><td>macro avg</td>"
        f"<td>{macro['precision']:.3f}</td>"
        f"<td>{macro['recall']:.3f}</td><td>{macro['f1']:.3f}</td><td>{evaluation.count}</td></tr>"
    )
    return (
        '<table class="lepton-table lepton-per-class" style="font-size:12px">'
        "<thead><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


class EvaluationView(StaticSnapshot, ipywidgets.VBox):
    """Test-set results of a run.

    Parameters
    ----------
    run : Run, str, path or Evaluation
        A run (``lepton_lab.load_run(...)``, ``train(...)``'s result), its directory, or an Evaluation.
    dataset : Dataset, optional
        Where the example images come from; by default the run's dataset is loaded from its spec.
        Without images (an in-memory dataset not given here) the galleries are left out.
    """

    def __init__(self, run: Any, dataset: Any = None, **kwargs: Any) -> None:
        evaluation, self.run = _evaluation_of(run)
        self.evaluation = evaluation
        if evaluation is None:
            status = self.run.status.get("status") if self.run is not None else "unknown"
            super().__init__(
                [ipywidgets.HTML(f"<i>No evaluation yet: the run is {html.escape(str(status))}. "
                                 "It is written when training completes.</i>")],
                **kwargs,
            )  # fmt: skip
            return
        self.dataset = dataset if dataset is not None else self._load_dataset()
        loss = f" · loss {evaluation.loss:.4f}" if evaluation.loss is not None else ""
        self.header = ipywidgets.HTML(
            f"<b>Test accuracy {evaluation.accuracy:.2%}</b> on {evaluation.count:,} examples{loss}"
            f" · macro F1 {evaluation.macro['f1']:.3f}"
        )
        self.confusion = _plots.FigureView()
        self.confusion.show(
            _plots.heatmap(evaluation.confusion, evaluation.class_names, "Confusion matrix"),
            "confusion matrix",
        )
        self.per_class = ipywidgets.HTML(per_class_html(evaluation))
        children: list[ipywidgets.Widget] = [
            self.header,
            # The per-class table goes under the matrix when the notebook is too narrow for both.
            ipywidgets.HBox(
                [self.confusion, ipywidgets.VBox([ipywidgets.HTML("<b>Per class</b>"), self.per_class])],
                layout=ipywidgets.Layout(flex_flow="row wrap", align_items="flex-start"),
            ),
        ]
        # The image galleries exist only when shown: an anywidget model that no view renders can
        # fail its front-end initialisation (a 2 s limit) and raise an error in the page.
        self.worst: ThumbnailGrid | None = None
        self.predictions: ThumbnailGrid | None = None
        #: The PredictionPad a click on the prediction grid opens (None until then).
        self.pad: Any = None
        if self.dataset is not None and getattr(self.dataset, "kind", "image") == "image":
            self.worst = ThumbnailGrid(columns=10, size=64)
            self.predictions = ThumbnailGrid(columns=5, size=72)
            self.worst.items = self._items(evaluation.worst, with_confidence=True)
            self.predictions.items = self._items(evaluation.grid, with_confidence=False)
            hint = " · click one to try it in a prediction pad" if self.run is not None else ""
            children += [
                ipywidgets.HTML("<b>Worst-classified test examples</b> (true → predicted, confidence)"),
                self.worst,
                ipywidgets.HTML(
                    f"<b>Predictions on the first 25 test examples</b> (green right, red wrong){hint}"
                ),
                self.predictions,
            ]
            if self.run is not None:
                self.predictions.on_select(self.open_in_pad)
        elif self._kind(evaluation) == "text":
            # 25 texts make a long table: it scrolls in its own box, the grid stays in sight below.
            table = worst_texts_html(evaluation, self.dataset)
            self.worst_texts = ipywidgets.HTML(f'<div style="max-height:420px;overflow-y:auto">{table}</div>')
            self.text_grid = ipywidgets.HTML(text_grid_html(evaluation, self.dataset))
            children += [
                ipywidgets.HTML("<b>Worst-classified test examples</b> (true → predicted, confidence)"),
                self.worst_texts,
                ipywidgets.HTML("<b>Predictions on the first 25 test examples</b> (green right, red wrong)"),
                self.text_grid,
            ]
        elif self.dataset is not None and getattr(self.dataset, "kind", None) == "audio":
            self.worst_clips = ipywidgets.HTML(worst_clips_html(evaluation, self.dataset))
            self.clip_grid = ipywidgets.HTML(clip_grid_html(evaluation, self.dataset))
            children += [
                ipywidgets.HTML(
                    f"<b>{WORST_CLIPS} worst-classified test clips</b> (true → predicted, confidence)"
                ),
                self.worst_clips,
                ipywidgets.HTML("<b>Predictions on the first 25 test clips</b> (green right, red wrong)"),
                self.clip_grid,
            ]
        super().__init__(children, **kwargs)

    def _kind(self, evaluation: Evaluation) -> str | None:
        """Return the kind of the examples: the dataset's, or "text" when the evaluation kept texts."""
        if self.dataset is not None:
            return str(getattr(self.dataset, "kind", "image"))
        return "text" if any("text" in entry for entry in evaluation.worst) else None

    def open_in_pad(self, position: int) -> Any:
        """Open the prediction grid's example at ``position`` in a PredictionPad below the grid.

        The pad (the run's model, loaded on the first click) stays open; later clicks show their
        example in it, to be drawn over, compared with uploads or stepped through.
        """
        from lepton_lab.widgets.prediction_pad import PredictionPad

        index = int(self.evaluation.grid[position]["index"]) if self.evaluation else position
        if self.pad is None:
            try:
                self.pad = PredictionPad(self.run, dataset=self.dataset)
            except (OSError, ValueError) as error:  # no model.keras yet, or not an image model
                self._append(ipywidgets.HTML(f"<i>{html.escape(str(error))}</i>"))
                return None
            self._append(ipywidgets.HTML("<b>Prediction pad</b>"), self.pad)
        self.pad.show_example(index)
        return self.pad

    def _append(self, *widgets: ipywidgets.Widget) -> None:
        box: ipywidgets.Box = self
        box.children = (*box.children, *widgets)

    def _load_dataset(self) -> Any:
        if self.run is None:
            return None
        try:
            from lepton_lab.core import datasets

            return datasets.load(self.run.spec.dataset)
        except Exception:
            return None

    def _items(self, examples: list[dict[str, Any]], with_confidence: bool) -> list[dict[str, Any]]:
        names = self.evaluation.class_names if self.evaluation else []
        items = []
        for example in examples:
            page = self.dataset.page(int(example["index"]), 1, split="test")
            if not len(page):
                continue
            true, predicted = names[example["true"]], names[example["predicted"]]
            right = example["true"] == example["predicted"]
            caption = f"{true} → {predicted}"
            if with_confidence:
                caption += f" {example['confidence']:.2f}"
            items.append({
                "src": images.png_data_uri(page.images[0]),
                "caption": caption if not right or with_confidence else str(predicted),
                "title": f"test #{example['index']} · true {true} · predicted {predicted} "
                         f"({example['confidence']:.1%})",
                "tone": "good" if right else "bad",
            })  # fmt: skip
        return items
