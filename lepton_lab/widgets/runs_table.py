"""RunsTable: every run in a runs directory, sortable, with a compare view.

The table is :func:`lepton_lab.core.run_store.runs` (one row per run: hyperparameters, status,
metrics). Selecting runs and pressing Compare overlays their epoch curves of one metric and
draws parallel coordinates of the hyperparameters that differ between them against the best
value of that metric.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from typing import Any

import ipywidgets
import pandas as pd
import traitlets

from lepton_lab.sharing.snapshot import StaticSnapshot
from lepton_lab.widgets import _plots

#: Columns shown first when present; the rest are hidden to keep the table readable.
_SHOWN = (
    "id", "name", "status", "created", "duration_s", "epoch", "dataset.name", "model.preset", "model.layers",
    "augment", "train.optimizer", "train.learning_rate", "train.batch_size", "train.epochs",
    "best_val_accuracy", "final_val_loss", "best_accuracy", "final_loss", "test_accuracy",
)  # fmt: skip
_METRICS = ("val_accuracy", "val_loss", "accuracy", "loss")
_MAX_COMPARED = 12
#: About fifteen one-line rows before the table scrolls.
_TABLE_HEIGHT = "420px"
_TABLE_CSS = (
    # ipywidgets' HTML content does not shrink (flex-shrink 0): let it, so the box scrolls.
    "<style>.lepton-runs-html{min-width:0;max-width:100%}"
    ".lepton-runs-html .widget-html-content{flex-shrink:1;min-width:0;width:100%}"
    ".lepton-runs td,.lepton-runs th{white-space:nowrap;padding:2px 8px;text-align:left}"
    ".lepton-runs thead th{position:sticky;top:0;background:var(--jp-layout-color1,#fff)}</style>"
)


def _cell(column: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if column == "created" and isinstance(value, str):
        # "2026-11-30T19:41:24.964+00:00" -> "2026-11-30 19:41:24" (the full time as a tooltip)
        return f'<span title="{html.escape(value)}">{html.escape(value[:19].replace("T", " "))}</span>'
    return html.escape(str(value))


def run_labels(frame: pd.DataFrame) -> dict[str, str]:
    """Name each run by its name; runs sharing a name get their id's last part added."""
    if frame.empty or "id" not in frame:
        return {}
    names = frame["name"].fillna("") if "name" in frame else pd.Series([""] * len(frame), index=frame.index)
    counts = names.value_counts()
    labels = {}
    for run_id, name in zip(frame["id"], names, strict=True):
        if not name:
            labels[run_id] = run_id
        elif counts[name] > 1:
            labels[run_id] = f"{name} ({str(run_id).rsplit('-', 1)[-1]})"
        else:
            labels[run_id] = name
    return labels


def _pad_ranges(figure: dict[str, Any]) -> dict[str, Any]:
    """Give every parallel-coordinates axis room around its values.

    plotly fits each axis to exactly [min, max] of its values; with two runs that puts one
    line along the top edge of every axis and the other along the bottom edge, where the
    frame hides them, so the chart looked empty.
    """
    for trace in figure["data"]:
        for dimension in trace.get("dimensions", []):
            values = [value for value in dimension["values"] if value is not None]
            if not values:
                continue
            if "tickvals" in dimension:
                dimension["range"] = [-0.5, len(dimension["tickvals"]) - 0.5]
                continue
            low, high = min(values), max(values)
            pad = (high - low) * 0.15 or abs(low) * 0.15 or 1.0
            dimension["range"] = [low - pad, high + pad]
    return figure


class RunsTable(StaticSnapshot, ipywidgets.VBox):
    """Runs of ``runs_dir`` as a sortable table, with overlaid curves and parallel coordinates.

    Parameters
    ----------
    runs_dir : str or path
        The runs directory (``lepton-runs`` by default, as ``lepton_lab.train`` uses).
    """

    sort_by = traitlets.Unicode("created", help="Column the table is sorted by.")
    ascending = traitlets.Bool(False, help="Sort order.")
    selected = traitlets.Tuple(help="Ids of the runs to compare.")
    metric = traitlets.Unicode("val_accuracy", help="Epoch metric compared.")

    def __init__(self, runs_dir: str | os.PathLike[str] = "lepton-runs", **kwargs: Any) -> None:
        self.runs_dir = runs_dir
        self.frame = pd.DataFrame()
        self.sort_picker = ipywidgets.Dropdown(description="sort by", options=["created"])
        self.order = ipywidgets.ToggleButton(description="ascending", icon="sort", value=False)
        self.refresh_button = ipywidgets.Button(description="Refresh", icon="refresh")
        self.run_picker = ipywidgets.SelectMultiple(
            description="runs", rows=6, layout=ipywidgets.Layout(width="420px", max_width="100%")
        )
        self.metric_picker = ipywidgets.Dropdown(
            description="metric", options=list(_METRICS), value="val_accuracy"
        )
        self.compare_button = ipywidgets.Button(
            description="Compare", icon="line-chart", button_style="primary"
        )
        self.table = ipywidgets.HTML(layout=ipywidgets.Layout(width="100%"))
        self.table.add_class("lepton-runs-html")
        self.curves = _plots.FigureView()
        self.parallel = _plots.FigureView()
        self.sort_picker.observe(lambda change: setattr(self, "sort_by", change["new"]), "value")
        self.order.observe(lambda change: setattr(self, "ascending", change["new"]), "value")
        self.run_picker.observe(lambda change: setattr(self, "selected", tuple(change["new"])), "value")
        self.metric_picker.observe(lambda change: setattr(self, "metric", change["new"]), "value")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.compare_button.on_click(lambda _: self.compare())
        self.observe(lambda _: self._show_table(), ["sort_by", "ascending"])
        super().__init__(
            [
                ipywidgets.HTML(f"<b>Runs</b> in {html.escape(str(runs_dir))}"),
                ipywidgets.HBox([self.sort_picker, self.order, self.refresh_button]),
                self.table,
                ipywidgets.HBox(
                    [self.run_picker, ipywidgets.VBox([self.metric_picker, self.compare_button])]
                ),
                self.curves,
                self.parallel,
            ],
            **kwargs,
        )
        self.refresh()

    def refresh(self) -> None:
        """Re-read the runs directory."""
        from lepton_lab.core.run_store import runs

        self.frame = runs(self.runs_dir)
        columns = list(self.frame.columns) or ["created"]
        wanted = (
            self.sort_by if self.sort_by in columns else ("created" if "created" in columns else columns[0])
        )
        self.sort_picker.options = columns  # resets the picker's value (and so sort_by) to the first column
        self.sort_picker.value = wanted
        self.sort_by = wanted
        labels = run_labels(self.frame)
        self.run_picker.options = [(labels[run_id], run_id) for run_id in list(labels)[::-1]]
        self._show_table()

    def sorted_frame(self) -> pd.DataFrame:
        """Return the runs DataFrame in the table's order."""
        if self.frame.empty or self.sort_by not in self.frame.columns:
            return self.frame
        return self.frame.sort_values(
            self.sort_by, ascending=self.ascending, na_position="last", kind="stable"
        )

    def _show_table(self) -> None:
        frame = self.sorted_frame()
        if frame.empty:
            self.table.value = f"<i>No runs in {html.escape(str(self.runs_dir))} yet.</i>"
            return
        columns = [column for column in _SHOWN if column in frame.columns]
        head = "".join(
            f"<th>{html.escape(column)}{' ▲' if column == self.sort_by and self.ascending else ''}"
            f"{' ▼' if column == self.sort_by and not self.ascending else ''}</th>"
            for column in columns
        )
        body = "".join(
            "<tr>" + "".join(f"<td>{_cell(column, row[column])}</td>" for column in columns) + "</tr>"
            for _, row in frame.iterrows()
        )
        # One line per run; the box scrolls both ways inside the notebook's width.
        self.table.value = (
            f"{_TABLE_CSS}<div class='lepton-runs-box' style='max-height:{_TABLE_HEIGHT};max-width:100%;"
            "overflow:auto'>"
            f'<table class="lepton-table lepton-runs" style="font-size:12px;border-collapse:collapse">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
        )

    def compare(self, ids: list[str] | None = None, metric: str | None = None) -> None:
        """Overlay the epoch curves of ``metric`` for the runs ``ids`` (the selected ones by default).

        Also draws parallel coordinates of the hyperparameters that differ between them, coloured
        by each run's best ``metric``.
        """
        from lepton_lab.core.run_store import load_run

        metric = metric or self.metric
        chosen = list(ids or self.selected or list(self.frame.get("id", []))[-_MAX_COMPARED:])[:_MAX_COMPARED]
        if not chosen:
            self.curves.show_html("<i>Select runs to compare.</i>")
            return
        rows = self.frame[self.frame["id"].isin(chosen)]
        labels = run_labels(self.frame)
        series = {}
        for path, run_id in zip(rows["path"], rows["id"], strict=True):
            history = load_run(path).metrics("epoch")
            if metric in history.columns:
                series[labels[run_id]] = (history["epoch"].tolist(), history[metric].tolist())
        self.curves.show(_plots.lines(series, f"{metric} per epoch", "epoch", metric), "run comparison")
        best = f"best_{metric}"
        hyper = [
            column for column in rows.columns
            if column.startswith(("train.", "model.", "dataset.")) or column == "augment"
        ]  # fmt: skip
        # dropna=False: runs with and without a setting (augment None vs "flip") differ too.
        varying = [column for column in hyper if rows[column].astype(str).nunique(dropna=False) > 1]
        if best not in rows.columns or not varying:
            self.parallel.show_html(
                "<i>Parallel coordinates need runs that differ in some hyperparameter and report "
                f"{html.escape(metric)}.</i>"
            )
            return
        columns: dict[str, Sequence[Any]] = {
            column.split(".", 1)[-1]: [None if pd.isna(value) else value for value in rows[column]]
            for column in varying
        }
        columns[best] = rows[best].tolist()
        self.parallel.show(
            _pad_ranges(_plots.parallel_coordinates(columns, best, f"Hyperparameters against {best}")),
            "parallel coordinates",
        )
