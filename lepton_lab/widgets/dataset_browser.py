"""DatasetBrowser: look at a dataset before training on it.

Image datasets: a paged grid of labelled thumbnails, filtered by split and class, a larger
view of the clicked example with its index and label, and the class distribution per split.
Each page asks :meth:`Dataset.page <lepton_lab.core.datasets.Dataset.page>` for just its
examples, so page 900 of 60 000 images decodes 64 images, not 60 000.

Tabular datasets: a pandas preview of the rows and per-column statistics instead.

Text and audio datasets: ``DatasetBrowser(ds)`` returns a :class:`~.text_browser.TextBrowser`
or an :class:`~.audio_browser.AudioBrowser`, so one name browses every kind.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets
import traitlets

from lepton_lab.sharing import images
from lepton_lab.sharing.snapshot import StaticSnapshot
from lepton_lab.widgets import _plots
from lepton_lab.widgets._thumbnails import ThumbnailGrid

_SPLITS = ("train", "validation", "test")


def _load(dataset: Any) -> Any:
    if isinstance(dataset, (str, dict)) or type(dataset).__name__ == "DatasetSpec":
        from lepton_lab.core import datasets

        return datasets.load(dataset)
    return dataset


def distribution_figure(dataset: Any) -> dict[str, Any]:
    """Bar chart of examples per class in each split."""
    counts = dataset.counts()
    series = {split: counts[split].tolist() for split in counts.columns}
    return _plots.bar([str(name) for name in counts.index], series, "Examples per class", "examples")


class DatasetBrowser(StaticSnapshot, ipywidgets.VBox):
    """Browse a dataset: thumbnails (images) or a table and statistics (tabular).

    Parameters
    ----------
    dataset : Dataset, str or DatasetSpec
        A loaded dataset or something :func:`lepton_lab.core.datasets.load` accepts.
    page_size : int
        Thumbnails per page.
    columns : int
        Thumbnails per row.
    split : str
        Split shown first.
    """

    page = traitlets.Int(0, help="Page shown (from 0).")
    split = traitlets.Unicode("train", help="Split shown: train, validation or test.")
    label = traitlets.Int(-1, help="Class shown, -1 for all classes.")
    selected = traitlets.Int(
        -1, help="Index (within the split) of the example in the large view; -1 for none."
    )

    def __new__(cls, dataset: Any, *args: Any, **kwargs: Any) -> Any:
        """Build the TextBrowser or AudioBrowser for a text or audio dataset, else a DatasetBrowser.

        The other browser is returned fully built (Python then skips ``__init__``, as the object
        is not a DatasetBrowser); ``columns`` applies to image thumbnails only and is dropped.
        """
        loaded = _load(dataset)
        if cls is DatasetBrowser and loaded.kind in ("text", "audio"):
            kwargs.pop("columns", None)
            if loaded.kind == "text":
                from lepton_lab.widgets.text_browser import TextBrowser

                return TextBrowser(loaded, *args, **kwargs)
            from lepton_lab.widgets.audio_browser import AudioBrowser

            return AudioBrowser(loaded, *args, **kwargs)
        browser = super().__new__(cls)
        browser._loaded = loaded  # __init__ uses it rather than loading the dataset twice
        return browser

    def __init__(
        self, dataset: Any, *, page_size: int = 64, columns: int = 16, split: str = "train", **kwargs: Any
    ) -> None:
        self.dataset = getattr(self, "_loaded", None) or _load(dataset)
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size}")
        self.page_size = page_size
        ds = self.dataset
        counts = ", ".join(f"{name} {ds.count(name):,}" for name in _SPLITS)
        self.header = ipywidgets.HTML(
            f"<b>{html.escape(ds.name)}</b> · {html.escape(ds.kind)} {ds.input_shape} · "
            f"{ds.num_classes} classes · {counts}"
            + (
                f"<div style='color:#555;font-size:12px'>{html.escape(ds.description)}</div>"
                if ds.description
                else ""
            )
        )
        self.distribution = _plots.FigureView(layout=ipywidgets.Layout(min_height="360px"))
        self.distribution.show(distribution_figure(ds), "class distribution")
        self.split_picker = ipywidgets.Dropdown(options=_SPLITS, value=split, description="split")
        self.class_picker = ipywidgets.Dropdown(
            options=[("all classes", -1), *((str(name), i) for i, name in enumerate(ds.class_names))],
            value=-1, description="class",
        )  # fmt: skip
        self.page_count = 0
        if ds.kind == "image":
            children = self._image_controls(columns)
        else:
            children = self._tabular_controls()
        super().__init__([self.header, *children, self.distribution], **kwargs)
        self.split = split
        self.split_picker.observe(lambda change: setattr(self, "split", change["new"]), "value")
        self.class_picker.observe(lambda change: setattr(self, "label", change["new"]), "value")
        self.observe(self._filters_changed, ["split", "label"])
        self.observe(lambda _: self._show_page(), "page")
        self._filters_changed()

    # -- images ----------------------------------------------------------------------------------

    def _image_controls(self, columns: int) -> list[ipywidgets.Widget]:
        height, width = self.dataset.input_shape[:2]
        self._thumb_min = images.THUMBNAIL_MIN_SIDE
        size = images.upscale_factor(height, width, self._thumb_min) * max(height, width)
        self.grid = ThumbnailGrid(columns=columns, size=min(size, 96))
        self.grid.on_select(self._select)
        self.previous = ipywidgets.Button(
            icon="chevron-left", tooltip="previous page", layout=ipywidgets.Layout(width="40px")
        )
        self.next = ipywidgets.Button(
            icon="chevron-right", tooltip="next page", layout=ipywidgets.Layout(width="40px")
        )
        self.page_picker = ipywidgets.BoundedIntText(
            value=1, min=1, max=1, description="page", layout=ipywidgets.Layout(width="150px")
        )
        self.page_label = ipywidgets.HTML(layout=ipywidgets.Layout(min_width="220px"))
        self.previous.on_click(lambda _: self.go(self.page - 1))
        self.next.on_click(lambda _: self.go(self.page + 1))
        self.page_picker.observe(lambda change: self.go(change["new"] - 1), "value")
        self.large = ipywidgets.Image(format="png", layout=ipywidgets.Layout(width="192px", height="192px"))
        self.large.add_class("lepton-large")
        self.info = ipywidgets.HTML("<i style='color:#555'>Click a thumbnail for a larger view.</i>")
        controls = ipywidgets.HBox(
            [
                self.split_picker,
                self.class_picker,
                self.previous,
                self.page_picker,
                self.next,
                self.page_label,
            ]
        )
        detail = ipywidgets.HBox([self.large, self.info])
        self.large.layout.display = "none"
        return [controls, self.grid, detail]

    def go(self, page: int) -> None:
        """Show page ``page`` (from 0), clamped to the pages there are."""
        self.page = min(max(0, page), max(0, self.page_count - 1))

    def _filters_changed(self, change: dict[str, Any] | None = None) -> None:
        label = None if self.label < 0 else self.label
        self.page_count = self.dataset.page_count(self.page_size, self.split, label)
        if self.dataset.kind != "image":
            self._show_table()
            return
        self.page_picker.max = max(1, self.page_count)
        if self.page != 0:
            self.page = 0  # the page observer redraws
        else:
            self._show_page()

    def _show_page(self) -> None:
        if self.dataset.kind != "image":
            return
        label = None if self.label < 0 else self.label
        self.current = self.dataset.page(self.page, self.page_size, self.split, label)
        names = self.dataset.class_names
        page = self.current
        items = [
            {"src": images.png_data_uri(image, self._thumb_min), "caption": str(names[int(y)]),
             "title": f"{self.split} #{int(index)} · label {int(y)} ({names[int(y)]})"}
            for image, y, index in zip(page.images, page.labels, page.indices, strict=True)
        ]  # fmt: skip
        with self.grid.hold_sync():
            self.grid.items = items
            self.grid.selected = -1
        self.page_picker.value = self.page + 1
        self.previous.disabled = self.page <= 0
        self.next.disabled = self.page >= self.page_count - 1
        shown = len(self.current)
        first = self.page * self.page_size
        self.page_label.value = (
            f"<span style='color:#555'>of {self.page_count:,} · examples "
            f"{first + 1:,}-{first + shown:,}</span>"
            if shown else "<span style='color:#555'>no examples</span>"
        )  # fmt: skip

    def _select(self, position: int) -> None:
        image = self.current.images[position]
        label = int(self.current.labels[position])
        index = int(self.current.indices[position])
        height, width = image.shape[:2]
        self.large.value = images.png(image, images.upscale_factor(height, width, 192))
        self.large.layout.display = None
        self.info.value = (
            f"<div style='padding:8px'><b>{html.escape(str(self.dataset.class_names[label]))}</b><br>"
            f"label {label}<br>index {index:,} in {self.split}<br>{height}x{width}</div>"
        )
        self.selected = index

    # -- tables ----------------------------------------------------------------------------------

    def _tabular_controls(self) -> list[ipywidgets.Widget]:
        self.table = ipywidgets.HTML()
        self.statistics = ipywidgets.HTML()
        return [ipywidgets.HBox([self.split_picker, self.class_picker]), self.table, self.statistics]

    def _show_table(self) -> None:
        frame = self.dataset.to_frame(self.split)
        if self.label >= 0:
            labels = self.dataset.labels(self.split)
            frame = frame[labels == self.label]
        preview = frame.head(self.page_size).to_html(classes="lepton-table", max_cols=30, border=0)
        self.table.value = (
            f"<div style='max-height:320px;overflow:auto'><b>{len(frame):,} rows</b> "
            f"(first {min(len(frame), self.page_size)}){preview}</div>"
        )
        statistics = frame.describe(include="all").T
        self.statistics.value = "<b>Per-column statistics</b>" + statistics.to_html(
            classes="lepton-table", float_format=lambda v: f"{v:.4g}", border=0, na_rep=""
        )
