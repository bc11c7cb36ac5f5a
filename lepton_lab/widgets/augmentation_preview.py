"""AugmentationPreview: see (and hear) what the augmentation does before training with it.

One control per op that fits the data, refreshed a short while after the controls stop moving:

- images: flip, rotation, zoom, translation, crop, contrast, brightness, noise; a grid of sample
  images (top row) and augmented variants of each (rows below);
- audio: time_shift and audio_noise; one row per sample clip, the original then its variants,
  each a card with a player and waveform/spectrogram thumbnails (inline ``data:`` URLs, so a
  saved notebook still plays them).

The variants come from :func:`lepton_lab.core.augment.preview`, which runs the very layers
training compiles from :attr:`AugmentationPreview.spec`, so the same spec and seed give the same
examples here and in training. Text has no standard augmentation: a text dataset is refused.
"""

from __future__ import annotations

import html
import threading
from typing import Any

import ipywidgets
import numpy as np
import traitlets

from lepton_lab.core.specs import AUGMENT_KINDS, AugmentOp, AugmentSpec, SpecError, parse
from lepton_lab.sharing import images
from lepton_lab.sharing.report_media import audio_card
from lepton_lab.sharing.snapshot import StaticSnapshot
from lepton_lab.widgets._controls import FloatSlider
from lepton_lab.widgets._redraw_throttle import Cancellable, TimerFactory, thread_timer

#: Slider of each op's parameter: (name, low, high, step, default).
_PARAMETERS: dict[str, tuple[str, float, float, float, float]] = {
    "rotation": ("factor", 0.01, 0.5, 0.01, 0.1),
    "zoom": ("factor", 0.01, 0.9, 0.01, 0.1),
    "translation": ("factor", 0.01, 0.9, 0.01, 0.1),
    "crop": ("fraction", 0.5, 0.99, 0.01, 0.9),
    "contrast": ("factor", 0.01, 1.0, 0.01, 0.2),
    "brightness": ("factor", 0.01, 1.0, 0.01, 0.2),
    "noise": ("stddev", 0.01, 1.0, 0.01, 0.05),
    "time_shift": ("max_fraction", 0.01, 0.5, 0.01, 0.1),
}
#: The audio_noise op's SNR range slider: (low, high, step, default range), in dB.
_SNR_RANGE: tuple[float, float, float, tuple[float, float]] = (-10.0, 80.0, 1.0, (10.0, 30.0))
#: Sample examples and variants of each shown by default, per kind of data.
_DEFAULT_SIZES = {"image": (8, 4), "audio": (3, 2)}
_FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


class _Debouncer:
    """Call ``function`` once, ``delay`` seconds after the last :meth:`trigger` (now if delay is 0).

    ``timer(delay, function)`` starts the one-shot timer (a ``threading.Timer`` by default; tests
    pass fake timers they fire by hand).
    """

    def __init__(self, delay: float, function: Any, timer: TimerFactory = thread_timer) -> None:
        self.delay = delay
        self.function = function
        self._start_timer = timer
        self._timer: Cancellable | None = None
        self._lock = threading.Lock()

    def trigger(self) -> None:
        if self.delay <= 0:
            self.function()
            return
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._start_timer(self.delay, self.function)

    def cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None


class AugmentationPreview(StaticSnapshot, ipywidgets.VBox):
    """Controls for an :class:`~lepton_lab.core.specs.AugmentSpec` with a live preview.

    Parameters
    ----------
    dataset : Dataset or str
        An image or audio dataset (or its name) to take samples from.
    spec : AugmentSpec or dict, optional
        Starting augmentation; its op order is kept. Its ops must fit the data.
    n_images : int, optional
        Sample examples (columns of an image grid, rows of clips); default 8 images or 3 clips.
    n_variants : int, optional
        Augmented variants of each; default 4 for images, 2 for clips.
    seed : int
        Seed of the augmentation pipeline (the reseed button changes it).
    debounce_s : float
        Wait this long after the last control change before refreshing; 0 refreshes at once.
    timer : callable
        ``timer(delay_s, callback)`` starts the debounce timer (default: a ``threading.Timer``).
    """

    value = traitlets.Dict(help="The AugmentSpec as JSON (updated on every change).")
    seed = traitlets.Int(0, help="Seed of the previewed augmentation pipeline.")
    error = traitlets.Unicode("", help="Why the last preview failed; empty when it worked.")
    refreshes = traitlets.Int(0, help="Number of preview refreshes so far.")

    def __init__(
        self,
        dataset: Any,
        spec: AugmentSpec | dict[str, Any] | None = None,
        *,
        n_images: int | None = None,
        n_variants: int | None = None,
        seed: int = 0,
        debounce_s: float = 0.25,
        timer: TimerFactory = thread_timer,
        **kwargs: Any,
    ) -> None:
        if isinstance(dataset, str):
            from lepton_lab.core import datasets

            dataset = datasets.load(dataset)
        if dataset.kind not in _DEFAULT_SIZES:
            raise ValueError(
                f"{dataset.name} is a {dataset.kind} dataset; augmentation previews need images or audio "
                f"({dataset.kind} data has no standard augmentation in Lepton Lab)"
            )
        from lepton_lab.core import augment

        self.dataset = dataset
        self.kind: str = dataset.kind
        self.ops_offered: tuple[str, ...] = AUGMENT_KINDS[dataset.kind]
        default_images, default_variants = _DEFAULT_SIZES[dataset.kind]
        n_images = default_images if n_images is None else n_images
        self.n_variants = default_variants if n_variants is None else n_variants
        start: AugmentSpec = parse(AugmentSpec, spec or {})
        augment.check(start, dataset.kind, dataset.name)
        self._order: list[str] = [op.op for op in start.ops]
        given: dict[str, AugmentOp] = {op.op: op for op in start.ops}
        self.enabled: dict[str, ipywidgets.Checkbox] = {}
        self.parameters: dict[str, ipywidgets.Widget] = {}
        rows = []
        for name in self.ops_offered:
            op = given.get(name)
            self.enabled[name] = ipywidgets.Checkbox(
                value=op is not None, description=name, indent=False, layout=ipywidgets.Layout(width="110px")
            )
            if name == "flip":
                control: ipywidgets.Widget = ipywidgets.Dropdown(
                    options=_FLIP_MODES, value=op.mode if op is not None else "horizontal",  # type: ignore[union-attr]
                    description="mode", layout=ipywidgets.Layout(width="300px"),
                )  # fmt: skip
            elif name == "audio_noise":
                low, high, step, snr_range = _SNR_RANGE
                control = ipywidgets.FloatRangeSlider(
                    value=tuple(op.snr_db) if op is not None else snr_range, min=low, max=high, step=step,  # type: ignore[union-attr]
                    description="snr_db", continuous_update=False, readout_format=".0f",
                    layout=ipywidgets.Layout(width="340px"), style={"description_width": "90px"},
                )  # fmt: skip
            else:
                parameter, low, high, step, default = _PARAMETERS[name]
                # Audio parameter names are longer than the images' "factor": a wider label.
                size: dict[str, Any] = {"layout": ipywidgets.Layout(width="300px")}
                if self.kind == "audio":
                    wide = ipywidgets.Layout(width="340px")
                    size = {"layout": wide, "style": {"description_width": "90px"}}
                control = FloatSlider(
                    value=getattr(op, parameter) if op is not None else default, min=low, max=high, step=step,
                    description=parameter, **size,
                )  # fmt: skip
            self.parameters[name] = control
            rows.append(ipywidgets.HBox([self.enabled[name], control]))
        self.reseed = ipywidgets.Button(description="Reseed", icon="refresh", tooltip="new random variants")
        self.reseed.on_click(lambda _: setattr(self, "seed", self.seed + 1))
        self.caption = ipywidgets.HTML()
        self.image = ipywidgets.Image(format="png")
        self.clips = ipywidgets.HTML()
        self.message = ipywidgets.HTML()
        self.images, _ = dataset.sample(n_images, seed=seed)
        self.variants: np.ndarray | None = None
        self._generation = 0
        self._lock = threading.Lock()
        self._debouncer = _Debouncer(debounce_s, self.refresh, timer)
        super().__init__(
            [
                ipywidgets.HTML("<b>Augmentation</b>"),
                ipywidgets.HBox([ipywidgets.VBox(rows), ipywidgets.VBox([self.reseed, self.caption])]),
                self.message, self.clips if self.kind == "audio" else self.image,
            ],
            **kwargs,
        )  # fmt: skip
        self.seed = seed
        for widget in (*self.enabled.values(), *self.parameters.values()):
            widget.observe(self._changed, "value")
        self.observe(lambda _: self._debouncer.trigger(), "seed")
        self._update_value()
        self.refresh()

    # -- spec ------------------------------------------------------------------------------------

    def _ops(self) -> list[dict[str, Any]]:
        order = self._order + [name for name in self.ops_offered if name not in self._order]
        ops: list[dict[str, Any]] = []
        for name in order:
            if not self.enabled[name].value:
                continue
            if name == "flip":
                ops.append({"op": "flip", "mode": self.parameters[name].value})
            elif name == "audio_noise":
                ops.append({"op": name, "snr_db": [round(float(v), 2) for v in self.parameters[name].value]})
            else:
                ops.append({"op": name, _PARAMETERS[name][0]: round(float(self.parameters[name].value), 4)})
        return ops

    @property
    def spec(self) -> AugmentSpec:
        """The AugmentSpec the controls describe: what training will apply."""
        result: AugmentSpec = parse(AugmentSpec, {"ops": self._ops()})
        return result

    @spec.setter
    def spec(self, spec: AugmentSpec | dict[str, Any]) -> None:
        from lepton_lab.core import augment

        new: AugmentSpec = parse(AugmentSpec, spec)
        augment.check(new, self.kind, self.dataset.name)
        given: dict[str, AugmentOp] = {op.op: op for op in new.ops}
        widgets = (*self.enabled.values(), *self.parameters.values())
        for widget in widgets:
            widget.unobserve(self._changed, "value")
        try:
            self._order = [op.op for op in new.ops]
            for name in self.ops_offered:
                op = given.get(name)
                self.enabled[name].value = op is not None
                if op is not None:
                    attribute = {"flip": "mode", "audio_noise": "snr_db"}.get(name) or _PARAMETERS[name][0]
                    value = getattr(op, attribute)
                    self.parameters[name].value = tuple(value) if name == "audio_noise" else value
        finally:
            for widget in widgets:
                widget.observe(self._changed, "value")
        self._changed()

    def _changed(self, change: dict[str, Any] | None = None) -> None:
        for name, checkbox in self.enabled.items():
            self.parameters[name].disabled = not checkbox.value
            if checkbox.value and name not in self._order:
                self._order.append(name)
        self._update_value()
        self._debouncer.trigger()

    def _update_value(self) -> None:
        try:
            self.value = self.spec.model_dump(mode="json")
        except SpecError as error:
            self.error = str(error)

    # -- preview ---------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Recompute the preview now (control changes call this after the debounce delay)."""
        from lepton_lab.core import augment

        with self._lock:
            self._generation += 1
            generation = self._generation
        spec, seed = self.spec, self.seed
        try:
            variants = augment.preview(self.images, spec, self.n_variants, seed)
        except Exception as error:
            self.error = f"{type(error).__name__}: {error}"
            self.message.value = (
                f'<div class="lepton-error" style="color:#c62828">{html.escape(self.error)}</div>'
            )
            return
        with self._lock:
            if generation != self._generation:
                return  # a newer refresh started meanwhile; its result wins
            self.variants = variants
            names = ", ".join(op.op for op in spec.ops) or "no ops"
            self.error = ""
            self.message.value = ""
            if self.kind == "audio":
                self.clips.value = self._clip_rows(variants)
                layout = f"each row: an original clip, then {self.n_variants} variants"
            else:
                rows = [list(self.images)] + [list(variants[:, k]) for k in range(self.n_variants)]
                height, width = self.images.shape[1:3]
                picture = images.grid(rows, scale=images.upscale_factor(height, width, 48), gap=3)
                self.image.value = images.png(picture)
                self.image.width = str(picture.shape[1])  # natural size: no blurry stretching
                layout = f"top row: originals<br>below: {self.n_variants} variants"
            self.caption.value = (
                f"<div style='font-size:12px;color:#555'>{layout} ({html.escape(names)}), seed {seed}</div>"
            )
            self.refreshes += 1

    def _clip_rows(self, variants: np.ndarray) -> str:
        """HTML: per sample clip, a row of cards (original, then each variant) with players."""
        rate = int(self.dataset.sample_rate)
        rows = []
        for clip, clip_variants in zip(self.images, variants, strict=True):
            cards = [audio_card(clip, rate, "<b>original</b>")]
            cards += [audio_card(v, rate, f"variant {k + 1}") for k, v in enumerate(clip_variants)]
            rows.append(f'<div class="lepton-augment-row" style="white-space:nowrap">{"".join(cards)}</div>')
        return f'<div class="lepton-augment-clips">{"".join(rows)}</div>'
