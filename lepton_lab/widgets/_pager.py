"""PagedBrowser: split and class pickers, page buttons and a redraw hook for the dataset browsers.

DatasetBrowser (images, tables), TextBrowser and AudioBrowser share these controls and differ
in which examples match (a text search as well as the class, for texts) and how a page is
drawn, so those two are the methods a subclass writes: :meth:`PagedBrowser._match_count` (by
default the split's examples of the chosen class) and :meth:`PagedBrowser._show_page`.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets
import numpy as np
import traitlets

from lepton_lab.sharing.snapshot import StaticSnapshot

SPLITS = ("train", "validation", "test")


def load_dataset(dataset: Any) -> Any:
    """Return a loaded :class:`Dataset` for a dataset, a registry name, a spec dict or a DatasetSpec."""
    if isinstance(dataset, (str, dict)) or type(dataset).__name__ == "DatasetSpec":
        from lepton_lab.core import datasets

        return datasets.load(dataset)
    return dataset


def header_html(dataset: Any) -> str:
    """Name, kind, input shape (or audio rate), classes and split sizes of ``dataset``; its description."""
    counts = ", ".join(f"{name} {dataset.count(name):,}" for name in SPLITS)
    if dataset.sample_rate:
        detail = f" · {dataset.sample_rate:,} Hz, {dataset.clip_samples:,} samples"
    elif dataset.kind in ("image", "tabular"):
        detail = f" {dataset.input_shape}"
    else:
        detail = ""  # a text's shape, (), says nothing
    description = (
        f"<div style='color:#555;font-size:12px'>{html.escape(dataset.description)}</div>"
        if dataset.description
        else ""
    )
    return (
        f"<b>{html.escape(dataset.name)}</b> · {html.escape(dataset.kind)}{detail} · "
        f"{dataset.num_classes} classes · {counts}{description}"
    )


class PagedBrowser(StaticSnapshot, ipywidgets.VBox):
    """Pages of one split's examples, filtered by class; subclasses draw the page.

    Parameters
    ----------
    dataset : Dataset
        A loaded dataset of the kind the subclass shows.
    page_size : int
        Examples per page.
    split : str
        Split shown first.
    """

    page = traitlets.Int(0, help="Page shown (from 0).")
    split = traitlets.Unicode("train", help="Split shown: train, validation or test.")
    label = traitlets.Int(-1, help="Class shown, -1 for all classes.")

    def __init__(self, dataset: Any, *, page_size: int, split: str = "train", **kwargs: Any) -> None:
        self.dataset = dataset
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size}")
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; use 'train', 'validation' or 'test'")
        self.page_size = page_size
        self.page_count = 0
        self.match_count = 0
        self.header = ipywidgets.HTML(header_html(dataset))
        self.split_picker = ipywidgets.Dropdown(
            options=SPLITS, value=split, description="split", layout=ipywidgets.Layout(width="180px")
        )
        self.class_picker = ipywidgets.Dropdown(
            options=[("all classes", -1), *((str(name), i) for i, name in enumerate(dataset.class_names))],
            value=-1,
            description="class",
            layout=ipywidgets.Layout(width="240px"),
        )
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
        super().__init__(self._children(), **kwargs)
        self.split = split
        self.split_picker.observe(lambda change: setattr(self, "split", change["new"]), "value")
        self.class_picker.observe(lambda change: setattr(self, "label", change["new"]), "value")
        self.observe(lambda _: self.refilter(), ["split", "label"])
        self.observe(lambda _: self._redraw(), "page")

    def _children(self) -> list[ipywidgets.Widget]:
        raise NotImplementedError

    def paging_controls(self) -> list[ipywidgets.Widget]:
        """Return the previous / page / next controls and the page line, in display order."""
        return [self.previous, self.page_picker, self.next, self.page_label]

    @property
    def label_filter(self) -> int | None:
        """The class filter as :meth:`Dataset.page` takes it (None for all classes)."""
        return None if self.label < 0 else self.label

    def go(self, page: int) -> None:
        """Show page ``page`` (from 0), clamped to the pages there are."""
        self.page = min(max(0, page), max(0, self.page_count - 1))

    def refilter(self) -> None:
        """Recount the matching examples after a filter changed and show their first page."""
        self.match_count = self._match_count()
        self.page_count = -(-self.match_count // self.page_size)
        self.page_picker.max = max(1, self.page_count)
        if self.page != 0:
            self.page = 0  # the page observer redraws
        else:
            self._redraw()

    def _redraw(self) -> None:
        shown = self._show_page()
        self.page_picker.value = self.page + 1
        self.previous.disabled = self.page <= 0
        self.next.disabled = self.page >= self.page_count - 1
        first = self.page * self.page_size
        self.page_label.value = (
            f"<span style='color:#555'>of {self.page_count:,} · examples {first + 1:,}-{first + shown:,}"
            f" of {self.match_count:,}</span>"
            if shown
            else "<span style='color:#555'>no examples match</span>"
        )

    def _match_count(self) -> int:
        """Examples of the split that pass the filters: by default, those of the chosen class."""
        if self.label_filter is None:
            return int(self.dataset.count(self.split))
        return int(np.count_nonzero(self.dataset.labels(self.split) == self.label_filter))

    def _show_page(self) -> int:
        """Draw page :attr:`page`; return how many examples it shows."""
        raise NotImplementedError
