"""PredictionPad: draw, upload or pick an image and watch a model's top-k probabilities, live.

The canvas (an anywidget whose front end, ``labextension/src/predictionpadwidget.ts``, is
bundled into ``static/prediction_pad.js``) sends its pixels as a PNG while a stroke is drawn
(at most every ``live_interval_ms``) and when it ends, and an uploaded file as it is. The
kernel turns each into the model's input (:mod:`~lepton_lab.widgets._pad_image`: cropped to
the strokes, area-averaged down to e.g. 8x8 for digits, rounded to the dataset's stored
levels), asks the model, and draws the input as the model sees it and the top-k probabilities
as bars in an HTML output, which is also the pad's static snapshot in a shared notebook.

The model is a Keras model in this kernel, a :class:`~lepton_lab.core.run_store.Run` (its
``model.keras``) or a deployed model's name, asked over the server's TF Serving-style REST
API with the raw uint8 values the dataset stores (see :mod:`~lepton_lab.widgets._pad_predictors`).
"""

from __future__ import annotations

import html
import random
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anywidget
import ipywidgets
import numpy as np
import traitlets

from lepton_lab.model_client import DeployedModel
from lepton_lab.sharing import images
from lepton_lab.sharing.snapshot import StaticSnapshot
from lepton_lab.widgets import _pad_image
from lepton_lab.widgets._pad_image import ImageInputError
from lepton_lab.widgets._pad_predictors import KerasPredictor, Predictor, ServedPredictor
from lepton_lab.widgets._pad_view import result_html

_STATIC = Path(__file__).parent / "static"

_NOT_BUILT_ESM = """
export default { render({ el }) {
  el.textContent = "Lepton Lab's prediction pad front end is not built (lepton_lab/widgets/static/"
    + "prediction_pad.js is missing): run `make build` (or reinstall with `pip install .`) "
    + "and run the cell again.";
  el.style.color = "#c62828";
} };
"""

#: Side of the drawing, in canvas pixels: a multiple of 8 and 28, so digits and MNIST-sized
#: examples shown on it map back to their own pixels exactly.
CANVAS_SIDE = 224


def _read(name: str, fallback: str) -> str:
    path = _STATIC / name
    return path.read_text(encoding="utf-8") if path.is_file() else fallback


class PadCanvas(anywidget.AnyWidget):
    """The drawing surface of a :class:`PredictionPad`: canvas, brush size, clear and upload.

    The front end sends custom messages ``{"type": "drawing", "data": <PNG data URL>, "final":
    bool}`` while and after drawing and ``{"type": "upload", "name", "data": <data URL>}`` for
    a chosen file; the pad answers by updating its result view.
    """

    _esm = _read("prediction_pad.js", _NOT_BUILT_ESM)
    _css = _read("prediction_pad.css", "")

    side = traitlets.Int(CANVAS_SIDE, help="Width and height of the drawing in canvas pixels.").tag(sync=True)
    brush = traitlets.Int(18, help="Stroke width in canvas pixels.").tag(sync=True)
    ink = traitlets.Unicode("#ffffff", help="Stroke colour (CSS).").tag(sync=True)
    paper = traitlets.Unicode("#000000", help="Canvas colour (CSS).").tag(sync=True)
    background = traitlets.Unicode(
        "", help="A data URL drawn under the strokes (a test example or an upload); empty for none."
    ).tag(sync=True)
    live_interval_ms = traitlets.Int(
        150, help="While drawing, the canvas is sent at most this often (and once more at stroke end)."
    ).tag(sync=True)
    drawings = traitlets.Int(0, help="Drawings the kernel has answered (the view shows it for tests).").tag(
        sync=True
    )

    @traitlets.validate("brush", "side", "live_interval_ms")
    def _positive(self, proposal: Any) -> int:
        value = int(proposal["value"])
        if value < 1:
            raise traitlets.TraitError(f"{proposal['trait'].name} must be at least 1, got {value}")
        return value


def _stored_scale(dataset: Any) -> float | None:
    """Factor from the dataset's stored values to [0, 1] (1/16 for digits), None if unknown."""
    store = getattr(dataset, "_store", None)
    scale = getattr(store, "scale", None)
    if scale is None and store is not None and hasattr(store, "raw"):
        scale = 1 / 255  # folder images: decoded 8-bit pixels
    return float(scale) if scale else None


def _light_on_dark(dataset: Any) -> bool:
    """Whether the dataset's images are light shapes on a dark ground (digits, MNIST) or not."""
    try:
        page = dataset.page(0, 64, split="test")
        return bool(len(page) == 0 or float(np.mean(page.images)) < 0.5)
    except Exception:  # no test split or no images: light strokes on black, MNIST's look
        return True


class PredictionPad(StaticSnapshot, ipywidgets.VBox):
    """Draw, upload or pick a test image; see the input as the model sees it and its top-k classes.

    Parameters
    ----------
    model : keras.Model, Run, str or DeployedModel
        A Keras model in this kernel, a run (its ``model.keras`` is loaded), or a model deployed
        on the Lepton Lab server (its name, or ``ll.model(name)``), asked over REST.
    dataset : Dataset, optional
        Test images to pick from, the class names, the stored scale (1/16 for digits) and the
        look (light strokes on dark for digits and MNIST); a run's own dataset by default.
    top_k : int
        How many classes the bars show.
    client : LabClient, optional
        For a deployed model: the server's client (``LabClient.discover()`` by default).
    fit_drawings : bool
        Crop a drawing to its strokes and centre it, as the datasets' digits are (default True).

    Attributes
    ----------
    probabilities : np.ndarray or None
        The model's probabilities for the current input, one per class.
    top : list of (str, float)
        The ``top_k`` most probable classes, most probable first.
    seen : np.ndarray or None
        The current input as the model sees it: float32 ``[H, W, C]`` in [0, 1].
    error : str or None
        Why the last upload or drawing could not be predicted (also shown in the widget).
    """

    def __init__(
        self,
        model: Any,
        *,
        dataset: Any = None,
        top_k: int = 5,
        client: Any = None,
        fit_drawings: bool = True,
        **kwargs: Any,
    ) -> None:
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        self.top_k = top_k
        self.fit_drawings = fit_drawings
        self.dataset = dataset
        self.predictor = self._predictor(model, client)
        scale = _stored_scale(self.dataset)
        self.scale = scale or float(getattr(self.predictor, "scale", None) or 1 / 255)
        if isinstance(self.predictor, ServedPredictor):
            self.predictor.scale = self.scale
        self.probabilities: np.ndarray | None = None
        self.top: list[tuple[str, float]] = []
        self.seen: np.ndarray | None = None
        self.error: str | None = None
        self.source = ""
        self.example: int | None = None

        light = _light_on_dark(self.dataset) if self.dataset is not None else True
        white, black = "#ffffff", "#000000"
        self.canvas = PadCanvas(ink=white if light else black, paper=black if light else white)
        self.canvas.on_msg(self._on_message)
        height, width, channels = self.predictor.input_shape
        self.header = ipywidgets.HTML(
            f"<b>{html.escape(self.predictor.label)}</b> · input {height}x{width}x{channels} · "
            f"{len(self.predictor.classes)} classes · draw, upload or pick a test image"
        )
        self.result = ipywidgets.HTML(result_html(None, "", [], None))
        self.result.add_class("lepton-pad-result")
        children: list[ipywidgets.Widget] = [self.result]
        self._examples = self._test_count()
        if self._examples:
            self.example_label = ipywidgets.HTML("")
            buttons: list[ipywidgets.Widget] = []
            for text, step in (("◀ prev", -1), ("next ▶", 1), ("random", 0)):
                button = ipywidgets.Button(description=text, layout=ipywidgets.Layout(width="72px"))
                button.on_click(lambda _, step=step: self._step_example(step))
                buttons.append(button)
            children.append(ipywidgets.HBox([*buttons, self.example_label]))
        row = ipywidgets.HBox(
            [self.canvas, ipywidgets.VBox(children)],
            layout=ipywidgets.Layout(flex_flow="row wrap", align_items="flex-start"),
        )
        super().__init__([self.header, row], **kwargs)
        self.add_class("lepton-prediction-pad")
        if self._examples:
            self._step_example(None)

    # -- model and data ---------------------------------------------------------------------------

    def _predictor(self, model: Any, client: Any) -> Predictor:
        if isinstance(model, (str, DeployedModel)):
            return self._served(model, client)
        if hasattr(model, "load_model") and hasattr(model, "spec"):  # a Run
            run = model
            if self.dataset is None:
                self.dataset = _load_dataset(run.spec.dataset)
            evaluation = getattr(run, "evaluation", None)
            classes = getattr(evaluation, "class_names", None) or getattr(self.dataset, "class_names", None)
            return KerasPredictor(run.load_model(), classes, label=f"run {run.name or run.id}")
        if hasattr(model, "input_shape") and callable(model):
            return KerasPredictor(model, getattr(self.dataset, "class_names", None))
        raise TypeError(
            "PredictionPad takes a Keras model, a Run or a deployed model (its name or ll.model(name)), "
            f"not {type(model).__name__}"
        )

    def _served(self, model: str | DeployedModel, client: Any) -> ServedPredictor:
        if isinstance(model, DeployedModel):
            deployed = model
        else:
            if client is None:
                from lepton_lab.client import LabClient

                client = LabClient.discover()
            deployed = DeployedModel(client, client.request("GET", f"models/{quote(model, safe='')}"))
        info = deployed.info
        if self.dataset is None and info.get("run_id"):
            try:  # the run's dataset gives test images, the stored scale and the look
                job = deployed.client.request("GET", f"jobs/{quote(str(info['run_id']), safe='')}")
                self.dataset = _load_dataset((job.get("spec") or {}).get("dataset"))
            except Exception:
                self.dataset = None
        scale = (info.get("input") or {}).get("scale") or _stored_scale(self.dataset) or 1 / 255
        predictor = ServedPredictor(deployed, float(scale))
        if not predictor.classes and self.dataset is not None:
            predictor.classes = list(self.dataset.class_names)
        return predictor

    def _test_count(self) -> int:
        if self.dataset is None or getattr(self.dataset, "kind", "image") != "image":
            return 0
        try:
            return int(self.dataset.count("test"))
        except Exception:
            return 0

    # -- inputs -----------------------------------------------------------------------------------

    def predict_image(self, image: Any, *, source: str = "image") -> list[tuple[str, float]]:
        """Show ``image`` to the model and return the top-k ``(class, probability)`` pairs.

        ``image`` is any picture ``[h, w]`` or ``[h, w, 1|3|4]`` at least as large as the model's
        input (uint8 0-255 or float 0-1): it is matched to the model's channels, area-averaged
        down to its height and width and rounded to the dataset's stored levels (:attr:`seen`).

        Raises
        ------
        ImageInputError
            When ``image`` is not an image or is smaller than the model's input.
        """
        seen = _pad_image.model_input(image, self.predictor.input_shape, self.scale, name=source)
        probabilities = np.asarray(self.predictor.predict(seen[None]), np.float64)[0]
        self.seen, self.probabilities, self.source, self.error = seen, probabilities, source, None
        if hasattr(self, "example_label"):  # show_example names the example again
            self.example_label.value = ""
        order = np.argsort(-probabilities, kind="stable")[: self.top_k]
        names = self.predictor.classes
        self.top = [(names[i] if i < len(names) else str(i), float(probabilities[i])) for i in order]
        self._render()
        return self.top

    def show_example(self, i: int, split: str = "test") -> list[tuple[str, float]]:
        """Predict example ``i`` of the dataset's ``split`` and show it on the canvas."""
        if self.dataset is None:
            raise ValueError("this PredictionPad has no dataset; pass dataset=ll.datasets.load(...)")
        page = self.dataset.page(int(i), 1, split=split)
        if not len(page):
            raise IndexError(f"the {split} split has {self.dataset.count(split)} examples; there is no #{i}")
        image = page.images[0]
        self.example = int(i)
        self.canvas.background = self._canvas_picture(image)
        truth = self.dataset.class_names[int(page.labels[0])]
        top = self.predict_image(image, source=f"{split} #{i} (true: {truth})")
        if hasattr(self, "example_label"):
            self.example_label.value = (
                f"<span class='lepton-pad-example'>{split} #{i} · true: {html.escape(truth)}</span>"
            )
        return top

    def _step_example(self, step: int | None) -> None:
        """Show the next (1), previous (-1), a random (0) or the first (None) test example.

        A button's or the first prediction's failure (a deployed model restarting) is shown in the
        widget rather than raised where no one sees it.
        """
        if step is None:
            i = 0
        elif step == 0:
            i = random.randrange(self._examples)
        else:
            i = ((self.example or 0) + step) % self._examples
        try:
            self.show_example(i)
        except (ImageInputError, RuntimeError) as error:
            self._show_error(str(error))

    def upload(self, data: bytes, name: str = "upload") -> list[tuple[str, float]] | None:
        """Predict an uploaded file's image (PNG, JPEG, ... or ``.npy``); errors show in the widget."""
        try:
            image = _pad_image.read_image(data, name)
            top = self.predict_image(image, source=name)
        except (ImageInputError, RuntimeError) as error:  # RuntimeError: the server's answer (LabClientError)
            self._show_error(str(error))
            return None
        self.example = None
        self.canvas.background = self._canvas_picture(image)
        return top

    def predict_drawing(self, png: bytes | str, fit: bool | None = None) -> list[tuple[str, float]] | None:
        """Predict the canvas's picture (PNG bytes or a data URL); strokes alone are cropped and centred."""
        try:
            data = _pad_image.decode_data_url(png) if isinstance(png, str) else png
            picture = _pad_image.as_float(_pad_image.read_image(data, "drawing"), "drawing")
            fit = self.fit_drawings and not self.canvas.background if fit is None else fit
            if fit:
                paper = 0.0 if self.canvas.paper == "#000000" else 1.0
                picture = _pad_image.fit_strokes(picture, paper)
            return self.predict_image(picture, source="drawing")
        except (ImageInputError, RuntimeError) as error:
            self._show_error(str(error))
            return None
        finally:
            self.canvas.drawings += 1

    def _on_message(self, _widget: Any, content: Any, buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "drawing":
            self.predict_drawing(str(content.get("data", "")))
        elif kind == "upload":
            try:
                data = _pad_image.decode_data_url(str(content.get("data", "")))
            except ImageInputError as error:
                self._show_error(str(error))
                return
            self.upload(data, str(content.get("name") or "upload"))
        elif kind == "clear":
            self.canvas.background = ""
            self.example = None

    def _show_error(self, message: str) -> None:
        self.error = message
        self._render()

    def _canvas_picture(self, image: np.ndarray) -> str:
        """Return ``image`` as a data URL at the canvas's size (whole-pixel enlargement, sharp)."""
        pixels = _pad_image.as_float(image)
        height, width = pixels.shape[:2]
        factor = max(1, CANVAS_SIDE // max(height, width))
        return images.data_uri(images.png(pixels, factor))

    def _render(self) -> None:
        self.result.value = result_html(self.seen, self.source, self.top, self.error)


def _load_dataset(spec: Any) -> Any:
    """Return the dataset a run trained on, or None when it cannot be loaded here."""
    if spec is None:
        return None
    try:
        from lepton_lab.core import datasets

        return datasets.load(spec)
    except Exception:
        return None
