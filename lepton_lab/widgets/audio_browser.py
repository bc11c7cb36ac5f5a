"""AudioBrowser: listen to an audio dataset and look at its clips before training on it.

A page of clips, each with a player, a waveform and a spectrogram thumbnail and its label,
filtered by split and class; the clip chosen to listen to closely, at full quality; the class
distribution per split. Each page asks
:meth:`Dataset.page <lepton_lab.core.datasets.Dataset.page>` for its clips only, so a folder
of 100 000 WAV files reads the dozen on screen.

The page is one HTML widget whose players carry their WAV as a ``data:`` URL: the widget's
static snapshot, a saved notebook and nbconvert's HTML keep playable clips with no kernel and no
network. The page's players are previews (:func:`~lepton_lab.sharing.audio_media.preview_data_url`:
mu-law at 8 kHz, a quarter of the bytes), so a saved notebook that shows a few pages stays small;
the clip chosen in the "full quality" picker plays as it is (16-bit PCM at the dataset's rate).
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets
import numpy as np
import traitlets

from lepton_lab.sharing.audio_media import audio_data_url, preview_data_url, spectrogram_png, waveform_png
from lepton_lab.sharing.images import data_uri
from lepton_lab.widgets import _plots
from lepton_lab.widgets._pager import PagedBrowser, load_dataset
from lepton_lab.widgets.dataset_browser import distribution_figure

#: Thumbnail size of a clip's waveform and spectrogram, in pixels.
THUMB_WIDTH = 160
WAVE_HEIGHT = 48
SPECTROGRAM_HEIGHT = 64


def clip_card(waveform: np.ndarray, sample_rate: int, caption: str, title: str) -> str:
    """One clip as HTML: caption, waveform and spectrogram thumbnails and an offline preview player."""
    seconds = len(waveform) / sample_rate
    wave_src = data_uri(waveform_png(waveform, THUMB_WIDTH, WAVE_HEIGHT))
    spectrum_src = data_uri(spectrogram_png(waveform, sample_rate, THUMB_WIDTH, SPECTROGRAM_HEIGHT))
    return (
        f'<figure class="lepton-clip" title="{html.escape(title)}" style="margin:0;padding:4px;'
        f'border:1px solid #ddd;border-radius:4px;width:{THUMB_WIDTH + 8}px;background:#fff">'
        f'<figcaption style="font-size:12px;line-height:1.3;overflow:hidden;white-space:nowrap;'
        f'text-overflow:ellipsis;color:#222">{caption}</figcaption>'
        f'<img class="lepton-waveform" src="{wave_src}" width="{THUMB_WIDTH}" height="{WAVE_HEIGHT}" '
        f'alt="waveform" style="display:block">'
        f'<img class="lepton-spectrogram" src="{spectrum_src}" width="{THUMB_WIDTH}" '
        f'height="{SPECTROGRAM_HEIGHT}" alt="spectrogram" style="display:block;margin-top:2px">'
        f'<audio controls preload="none" src="{preview_data_url(waveform, sample_rate)}" '
        f'style="width:{THUMB_WIDTH}px;height:32px;margin-top:2px"></audio>'
        f'<div style="font-size:11px;color:#777">{seconds:.2f} s</div></figure>'
    )


class AudioBrowser(PagedBrowser):
    """Browse an audio dataset: clips with players, waveforms, spectrograms and labels.

    Parameters
    ----------
    dataset : Dataset, str or DatasetSpec
        An audio dataset, or something :func:`lepton_lab.core.datasets.load` accepts.
    split : str
        Split shown first.
    page_size : int
        Clips per page.

    Attributes
    ----------
    current : Page
        The clips on screen (waveforms, labels, positions in the split).
    clip_picker : ipywidgets.Dropdown
        Chooses the clip of the page played at full quality (sets :attr:`selected`).

    Examples
    --------
    >>> import lepton_lab as ll  # doctest: +SKIP
    >>> ll.AudioBrowser("spoken_digits")  # doctest: +SKIP
    """

    selected = traitlets.Int(
        -1, help="Index (within the split) of the clip on the page played at full quality; -1 for none."
    )

    def __init__(self, dataset: Any, split: str = "train", page_size: int = 12, **kwargs: Any) -> None:
        dataset = load_dataset(dataset)
        if dataset.kind != "audio" or not dataset.sample_rate:
            raise ValueError(
                f"{dataset.name} is a {dataset.kind} dataset; AudioBrowser shows audio datasets "
                "(use ll.DatasetBrowser, which picks the browser for each kind)"
            )
        self.clips = ipywidgets.HTML()
        self.clips.add_class("lepton-audio-page")
        self.clip_picker = ipywidgets.Dropdown(
            options=[("none", -1)], value=-1, description="full quality",
            style={"description_width": "initial"}, layout=ipywidgets.Layout(width="320px"),
        )  # fmt: skip
        self.detail = ipywidgets.HTML()
        self.detail.add_class("lepton-audio-detail")
        self.distribution = _plots.FigureView(layout=ipywidgets.Layout(min_height="360px"))
        super().__init__(dataset, page_size=page_size, split=split, **kwargs)
        self.add_class("lepton-audio-browser")
        self.distribution.show(distribution_figure(dataset), "class distribution")
        self.clip_picker.observe(lambda change: setattr(self, "selected", change["new"]), "value")
        self.observe(lambda _: self._show_detail(), "selected")
        self.refilter()

    def _children(self) -> list[ipywidgets.Widget]:
        controls = ipywidgets.HBox([self.split_picker, self.class_picker, *self.paging_controls()])
        closely = ipywidgets.HBox([self.clip_picker, self.detail])
        return [self.header, controls, self.clips, closely, self.distribution]

    def _show_page(self) -> int:
        self.current = self.dataset.page(self.page, self.page_size, self.split, self.label_filter)
        names = self.dataset.class_names
        rate = int(self.dataset.sample_rate)
        cards = []
        for waveform, label, index in zip(
            self.current.images, self.current.labels, self.current.indices, strict=True
        ):
            name = str(names[int(label)])
            caption = f"<b>{html.escape(name)}</b> · #{int(index):,}"
            title = f"{self.split} #{int(index)} · label {int(label)} ({name})"
            cards.append(clip_card(waveform, rate, caption, title))
        self.clips.value = (
            '<div class="lepton-clips" style="display:flex;flex-wrap:wrap;gap:6px;line-height:1.3">'
            + "".join(cards)
            + "</div>"
            if cards
            else "<i style='color:#555'>No clips match these filters.</i>"
        )
        # Another page holds other clips: none is chosen until the user picks one of these.
        options = [("none", -1)] + [
            (f"#{int(index):,} · {names[int(label)]}", int(index))
            for label, index in zip(self.current.labels, self.current.indices, strict=True)
        ]
        self.clip_picker.options = options
        self.clip_picker.value = -1
        self._show_detail()
        return len(self.current)

    def _show_detail(self) -> None:
        """Show the chosen clip's full-quality player, or how to choose one."""
        rate = int(self.dataset.sample_rate)
        positions = np.flatnonzero(self.current.indices == self.selected)
        if self.selected < 0 or len(positions) == 0:
            self.detail.value = (
                f"<span style='color:#555'>choose a clip to hear it as it is ({rate:,} Hz, 16-bit); "
                "the page plays 8 kHz previews</span>"
            )
            return
        waveform = self.current.images[int(positions[0])]
        self.detail.value = (
            f'<audio controls preload="metadata" src="{audio_data_url(waveform, rate)}" '
            f'style="height:32px;vertical-align:middle"></audio> '
            f"<span style='color:#555'>{self.split} #{self.selected:,} · {rate:,} Hz, 16-bit</span>"
        )
