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
from lepton_lab.widgets import _plots
from lepton_lab.widgets._pager import PagedBrowser, load_dataset
from lepton_lab.widgets._thumbnails import ThumbnailGrid


def distribution_figure(dataset: Any) -> dict[str, Any]:
    """Bar chart of examples per class in each split."""
    counts = dataset.counts()
    series = {split: counts[split].tolist() for split in counts.columns}
    return _plots.bar([str(name) for name in counts.index], series, "Examples per class", "examples")


class DatasetBrowser(PagedBrowser):
    """Browse a dataset: thumbnails (images) or a table and statistics (tabular).

    Parameters
    ----------
    dataset : Dataset, str or DatasetSpec
        A loaded dataset or something :func:`lepton_lab.core.datasets.load` accepts.
    page_size : int
        Thumbnails per page (rows of the table preview).
    columns : int
        Thumbnails per row.
    split : str
        Split shown first.
    """

    selected = traitlets.Int(
        -1, help="Index (within the split) of the example in the large view; -1 for none."
    )

    def __new__(cls, dataset: Any, *args: Any, **kwargs: Any) -> Any:
        """Build the TextBrowser or AudioBrowser for a text or audio dataset, else a DatasetBrowser.

        The other browser is returned fully built (Python then skips ``__init__``, as the object
        is not a DatasetBrowser); ``columns`` applies to image thumbnails only and is dropped.
        """
        loaded = load_dataset(dataset)
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
        dataset = getattr(self, "_loaded", None) or load_dataset(dataset)
        self.distribution = _plots.FigureView(layout=ipywidgets.Layout(min_height="360px"))
        if dataset.kind == "image":
            self._build_image_views(dataset, columns)
        else:
            self.table = ipywidgets.HTML()
            self.statistics = ipywidgets.HTML()
        super().__init__(dataset, page_size=page_size, split=split, **kwargs)
        self.distribution.show(distribution_figure(dataset), "class distribution")
        self.refilter()

    def _children(self) -> list[ipywidgets.Widget]:
        pickers = [self.split_picker, self.class_picker]
        if self.dataset.kind != "image":  # a table shows its first rows: no pages
            return [self.header, ipywidgets.HBox(pickers), self.table, self.statistics, self.distribution]
        controls = ipywidgets.HBox([*pickers, *self.paging_controls()])
        return [self.header, controls, self.grid, ipywidgets.HBox([self.large, self.info]), self.distribution]

    def _show_page(self) -> int:
        if self.dataset.kind != "image":
            return self._show_table()
        self.current = self.dataset.page(self.page, self.page_size, self.split, self.label_filter)
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
        return len(page)

    # -- images ----------------------------------------------------------------------------------

    def _build_image_views(self, dataset: Any, columns: int) -> None:
        height, width = dataset.input_shape[:2]
        self._thumb_min = images.THUMBNAIL_MIN_SIDE
        size = images.upscale_factor(height, width, self._thumb_min) * max(height, width)
        self.grid = ThumbnailGrid(columns=columns, size=min(size, 96))
        self.grid.on_select(self._select)
        self.large = ipywidgets.Image(format="png", layout=ipywidgets.Layout(width="192px", height="192px"))
        self.large.add_class("lepton-large")
        self.large.layout.display = "none"
        self.info = ipywidgets.HTML("<i style='color:#555'>Click a thumbnail for a larger view.</i>")

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

    def _show_table(self) -> int:
        frame = self.dataset.to_frame(self.split)
        if self.label_filter is not None:
            labels = self.dataset.labels(self.split)
            frame = frame[labels == self.label_filter]
        shown = min(len(frame), self.page_size)
        preview = frame.head(self.page_size).to_html(classes="lepton-table", max_cols=30, border=0)
        self.table.value = (
            f"<div style='max-height:320px;overflow:auto'><b>{len(frame):,} rows</b> "
            f"(first {shown}){preview}</div>"
        )
        statistics = frame.describe(include="all").T
        self.statistics.value = "<b>Per-column statistics</b>" + statistics.to_html(
            classes="lepton-table", float_format=lambda v: f"{v:.4g}", border=0, na_rep=""
        )
        return shown
