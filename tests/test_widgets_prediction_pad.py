"""PredictionPad: what the model is shown (downscaled, on the stored levels) and what it answers."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest

from lepton_lab.core import datasets
from lepton_lab.sharing import images
from lepton_lab.widgets import _pad_image
from lepton_lab.widgets._pad_image import ImageInputError
from lepton_lab.widgets.prediction_pad import CANVAS_SIDE, PredictionPad

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="module")
def digits():
    return datasets.load("digits")


@pytest.fixture(scope="module")
def model():
    from lepton_lab.core.tf_import import keras

    keras.utils.set_random_seed(3)
    return keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Flatten(),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])  # fmt: skip


def keras_probabilities(model, seen):
    return model.predict(seen[None], verbose=0)[0]


def png_bytes(pixels: np.ndarray) -> bytes:
    return images.png(pixels)


def test_prediction_of_an_image_is_model_predict_on_the_area_averaged_quantized_input(model, digits):
    pad = PredictionPad(model, dataset=digits)
    picture = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)
    pad.predict_image(picture)
    # what the model sees: each of the 8x8 pixels is the mean of an 8x8 block, rounded to 1/16
    blocks = picture.reshape(8, 8, 8, 8).mean(axis=(1, 3)) / 255.0
    expected_seen = (np.round(blocks * 16) / 16)[..., None].astype(np.float32)
    np.testing.assert_allclose(pad.seen, expected_seen, atol=1e-6)
    np.testing.assert_allclose(pad.probabilities, keras_probabilities(model, expected_seen), atol=1e-5)
    assert pad.probabilities.shape == (10,)


def test_drawing_is_downscaled_to_the_model_input_block_by_block(model, digits):
    pad = PredictionPad(model, dataset=digits)
    pad.canvas.background = ""
    drawing = np.zeros((CANVAS_SIDE, CANVAS_SIDE), np.uint8)
    block = CANVAS_SIDE // 8  # 28 canvas pixels per model pixel
    drawing[2 * block : 3 * block, 3 * block : 4 * block] = 255  # all of pixel (2, 3)
    drawing[5 * block : 6 * block, 1 * block : 1 * block + block // 2] = 255  # half of pixel (5, 1)
    pad.predict_drawing(png_bytes(drawing), fit=False)
    seen = pad.seen[..., 0]
    assert seen[2, 3] == 1.0 and seen[5, 1] == 0.5
    assert np.count_nonzero(seen) == 2
    assert pad.source == "drawing"
    np.testing.assert_allclose(pad.probabilities, keras_probabilities(model, pad.seen), atol=1e-5)


def test_strokes_alone_are_cropped_and_centred_like_the_datasets_digits(model, digits):
    pad = PredictionPad(model, dataset=digits)
    pad.canvas.background = ""
    drawing = np.zeros((CANVAS_SIDE, CANVAS_SIDE), np.uint8)
    drawing[10:40, 180:190] = 255  # a short bar in the top right corner
    pad.predict_drawing(png_bytes(drawing))
    seen = pad.seen[..., 0]
    rows, cols = np.nonzero(seen)
    # enlarged to fill the frame (80 %) and centred: it spans rows 1..6, around the middle columns
    assert rows.min() <= 1 and rows.max() >= 6
    assert 2 <= cols.min() and cols.max() <= 5


def test_top_k_is_the_most_probable_classes_in_order_with_the_dataset_names(model, digits):
    pad = PredictionPad(model, dataset=digits, top_k=3)
    top = pad.show_example(7)
    order = np.argsort(-pad.probabilities)[:3]
    assert top == pad.top
    assert [name for name, _ in top] == [digits.class_names[i] for i in order]
    assert [p for _, p in top] == sorted((p for _, p in top), reverse=True)
    assert [p for _, p in top] == pytest.approx(list(pad.probabilities[order]))
    # shown in that order as labelled bars
    html = pad.result.value
    shown = [html.index(f'data-class="{name}"') for name, _ in top]
    assert shown == sorted(shown) and html.count('lepton-pad-bar"') == 3


def test_a_test_example_is_shown_as_stored_and_predicted_on_it(model, digits):
    pad = PredictionPad(model, dataset=digits)
    pad.show_example(12)
    page = digits.page(12, 1, split="test")
    np.testing.assert_array_equal(pad.seen, page.images[0])
    np.testing.assert_allclose(pad.probabilities, keras_probabilities(model, page.images[0]), atol=1e-5)
    assert pad.canvas.background.startswith("data:image/png;base64,")
    assert f"true: {digits.class_names[int(page.labels[0])]}" in pad.source


def test_upload_of_png_bytes_gives_the_model_the_image(model, digits):
    pad = PredictionPad(model, dataset=digits)
    example = digits.page(30, 1, split="test").images[0]
    enlarged = images.png(example, 6)  # a 48x48 PNG of a stored digit, 8-bit
    top = pad.upload(enlarged, "digit.png")
    assert top is not None and pad.error is None
    np.testing.assert_array_equal(pad.seen, example)  # averaging and rounding recover the counts
    np.testing.assert_allclose(pad.probabilities, keras_probabilities(model, example), atol=1e-5)
    assert pad.source == "digit.png"


def test_upload_through_the_canvas_message(model, digits):
    pad = PredictionPad(model, dataset=digits)
    picture = np.zeros((16, 16), np.uint8)
    picture[4:12, 6:10] = 255
    message = {"type": "upload", "name": "bar.png", "data": images.data_uri(png_bytes(picture))}
    pad._on_message(pad.canvas, message, [])
    assert pad.source == "bar.png" and pad.error is None
    assert pad.seen[..., 0][2:6, 3:5].min() == 1.0


@pytest.mark.parametrize(
    ("data", "name", "says"),
    [
        (png_bytes(np.zeros((4, 4), np.uint8)), "tiny.png", "4x4, smaller than the model's 8x8"),
        (b"not an image at all", "notes.txt", "not a PNG, JPEG"),
        (None, "stack.npy", "shape [2, 8, 8, 1, 1], which is not an image"),
    ],
)
def test_an_upload_that_cannot_be_the_input_is_explained_in_the_widget(model, digits, data, name, says):
    if data is None:
        buffer = io.BytesIO()
        np.save(buffer, np.zeros((2, 8, 8, 1, 1), np.uint8))
        data = buffer.getvalue()
    pad = PredictionPad(model, dataset=digits)
    before = pad.probabilities.copy()
    assert pad.upload(data, name) is None
    assert says in pad.error
    assert "lepton-pad-error" in pad.result.value and says.split(",")[0] in pad.result.value
    np.testing.assert_array_equal(pad.probabilities, before)  # the last good prediction stays
    with pytest.raises(ImageInputError, match="expected"):
        pad.predict_image(np.zeros((8, 8, 2)))


def test_canvas_drawings_are_answered_and_counted(model, digits):
    pad = PredictionPad(model, dataset=digits)
    pad._on_message(pad.canvas, {"type": "clear"}, [])
    assert pad.canvas.background == ""
    drawing = np.zeros((CANVAS_SIDE, CANVAS_SIDE), np.uint8)
    drawing[40:180, 100:124] = 255
    pad._on_message(pad.canvas, {"type": "drawing", "data": images.data_uri(png_bytes(drawing))}, [])
    assert pad.canvas.drawings == 1 and pad.source == "drawing"
    pad._on_message(pad.canvas, {"type": "drawing", "data": "garbage"}, [])
    assert pad.canvas.drawings == 2 and "data URL" in pad.error


def test_dark_strokes_on_white_for_light_datasets(model):
    bright = datasets.from_arrays(
        np.full((40, 8, 8, 1), 0.9, np.float32), np.arange(40) % 10, class_names=[str(i) for i in range(10)]
    )
    assert PredictionPad(model, dataset=bright).canvas.paper == "#ffffff"
    assert PredictionPad(model).canvas.paper == "#000000"  # no dataset: MNIST's look


def test_colour_images_become_grey_for_a_grey_model_and_grey_repeats_for_a_colour_one():
    rgb = np.zeros((8, 8, 3), np.float32)
    rgb[..., 1] = 1.0
    np.testing.assert_allclose(_pad_image.match_channels(rgb, 1), 0.587, atol=1e-6)
    grey = np.full((8, 8, 1), 0.25, np.float32)
    assert _pad_image.match_channels(grey, 3).shape == (8, 8, 3)


class FakeClient:
    """A LabClient answering GET models/{name} and predict with a Keras model on the raw counts."""

    def __init__(self, model, scale):
        self.model = model
        self.scale = scale
        self.requests = []

    def request(self, method, path, body=None, params=None, raw=False):
        self.requests.append((method, path, body))
        if method == "GET" and path == "models/digits":
            return {
                "name": "digits", "version": 2, "state": "ready", "run_id": None,
                "input": {"shape": [None, 8, 8, 1], "dtype": "uint8"}, "classes": list("0123456789"),
            }  # fmt: skip
        if method == "POST" and path == "models/digits:predict":
            raw_images = np.asarray(body["instances"], np.uint8)
            probabilities = self.model.predict(raw_images.astype(np.float32) * self.scale, verbose=0)
            predictions = [{"probabilities": p.tolist(), "classes": int(p.argmax())} for p in probabilities]
            return {"predictions": predictions}
        raise AssertionError(f"unexpected request {method} {path}")


def test_a_deployed_model_is_sent_the_raw_uint8_counts(model, digits):
    client = FakeClient(model, 1 / 16)
    pad = PredictionPad("digits", dataset=digits, client=client)
    example = digits.page(3, 1, split="test").images[0]
    pad.show_example(3)
    method, path, body = client.requests[-1]
    assert (method, path) == ("POST", "models/digits:predict")
    sent = np.asarray(body["instances"])
    assert sent.shape == (1, 8, 8, 1) and sent.max() <= 16
    np.testing.assert_array_equal(sent[0], np.round(example * 16))
    np.testing.assert_allclose(pad.probabilities, keras_probabilities(model, example), atol=1e-5)
    assert "deployed model digits v2" in pad.header.value


def test_a_deployed_model_that_fails_is_explained_in_the_widget(model, digits):
    from lepton_lab.client import ApiError

    class Failing(FakeClient):
        def request(self, method, path, body=None, params=None, raw=False):
            if method == "POST":
                raise ApiError(503, "model digits is restarting (worker exited); retry in a moment")
            return super().request(method, path, body, params, raw)

    pad = PredictionPad("digits", dataset=digits, client=Failing(model, 1 / 16))
    assert pad.probabilities is None
    assert pad.upload(png_bytes(np.zeros((8, 8), np.uint8)), "zero.png") is None
    assert "restarting" in pad.error and "restarting" in pad.result.value


def test_the_static_snapshot_shows_input_and_bars_offline(model, digits):
    pad = PredictionPad(model, dataset=digits, top_k=4)
    pad.show_example(5)
    snapshot = pad._repr_mimebundle_()["text/html"]
    assert snapshot.count('lepton-pad-bar"') == 4
    assert 'class="lepton-pad-seen" src="data:image/png;base64,' in snapshot
    assert "<script" not in snapshot


def test_errors_name_the_problem_for_models_it_cannot_use():
    with pytest.raises(TypeError, match="Keras model, a Run or a deployed model"):
        PredictionPad(42)
    from lepton_lab.core.tf_import import keras

    tabular = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="softmax")])
    with pytest.raises(ValueError, match=r"needs an image model with inputs \[batch, height, width, chan"):
        PredictionPad(tabular)


@pytest.mark.slow
def test_a_model_deployed_on_a_real_server_answers_the_pad_as_the_keras_model_does(tmp_path):
    """Train a run, deploy it through the REST API (export + model-server worker), ask it by name."""
    import lepton_lab as ll
    from lepton_lab.client import LabClient
    from tests.api_server import running_server

    root = tmp_path / "root"
    root.mkdir()
    run = ll.train(
        dataset="digits", model={"preset": "mlp"}, train={"epochs": 3}, runs_dir=root / "lepton-runs"
    )
    with running_server(root) as server:
        client = LabClient(server.url, server.token, timeout=300)
        deployed = client.request("POST", "models", {"run": run.id, "name": "digits"})
        assert deployed["state"] == "ready", deployed
        pad = PredictionPad("digits", client=client, top_k=3)  # its dataset from the run's spec
        assert pad.dataset is not None and pad.scale == 1 / 16
        keras_model = run.load_model()
        # The run trains under mixed bfloat16 where the CPU has it: the SavedModel and the loaded
        # Keras model round differently, by a few 1e-4 (a wrong input would be off by far more).
        for i in (0, 1, 2):
            pad.show_example(i)
            expected = keras_model.predict(pad.seen[None], verbose=0)[0]
            np.testing.assert_allclose(pad.probabilities, expected, atol=3e-3)
            assert pad.top[0][0] == str(int(np.argmax(expected)))
        picture = np.zeros((CANVAS_SIDE, CANVAS_SIDE), np.uint8)
        picture[30:200, 100:125] = 255
        pad.canvas.background = ""
        pad.predict_drawing(png_bytes(picture))
        np.testing.assert_allclose(
            pad.probabilities, keras_model.predict(pad.seen[None], verbose=0)[0], atol=3e-3
        )
        assert pad.error is None and len(pad.top) == 3
        by_handle = PredictionPad(client.model("digits"), top_k=3)  # what ll.model("digits") returns
        by_handle.show_example(2)
        np.testing.assert_allclose(
            by_handle.probabilities, keras_model.predict(by_handle.seen[None], verbose=0)[0], atol=3e-3
        )


@pytest.mark.slow
def test_a_click_on_the_evaluation_grid_opens_that_example_in_a_pad(tmp_path):
    import lepton_lab as ll
    from lepton_lab.widgets.evaluation_view import EvaluationView

    run = ll.train(dataset="digits", model={"preset": "mlp"}, train={"epochs": 1}, runs_dir=tmp_path)
    view = EvaluationView(run)
    assert view.pad is None
    view.predictions.selected = 3  # what a click on the fourth thumbnail sends
    pad = view.pad
    assert isinstance(pad, PredictionPad) and pad in view.children
    example = int(run.evaluation.grid[3]["index"])
    assert pad.example == example
    np.testing.assert_array_equal(pad.seen, view.dataset.page(example, 1, split="test").images[0])
    expected = run.load_model().predict(pad.seen[None], verbose=0)[0]
    np.testing.assert_allclose(pad.probabilities, expected, atol=1e-5)
    view.predictions.selected = 7
    assert view.pad is pad and pad.example == int(run.evaluation.grid[7]["index"])


def test_a_28x28_model_on_8_bit_images_sees_the_canvas_in_8x8_blocks_on_1_255_levels():
    from lepton_lab.core.tf_import import keras

    rng = np.random.default_rng(1)
    dark = datasets.from_arrays(
        rng.integers(0, 60, (50, 28, 28), dtype=np.uint8), np.arange(50) % 10, class_names=list("abcdefghij")
    )
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, "softmax")]
    )
    pad = PredictionPad(model, dataset=dark, top_k=10)
    assert pad.scale == pytest.approx(1 / 255) and pad.canvas.paper == "#000000"
    drawing = rng.integers(0, 256, (CANVAS_SIDE, CANVAS_SIDE), dtype=np.uint8)
    pad.predict_drawing(png_bytes(drawing), fit=False)
    blocks = drawing.reshape(28, 8, 28, 8).mean(axis=(1, 3))
    # a block mean exactly halfway between two levels may round either way in float32
    np.testing.assert_allclose(pad.seen[..., 0], np.round(blocks) / 255, atol=1 / 255 + 1e-6)
    assert np.mean(np.abs(pad.seen[..., 0] - np.round(blocks) / 255) < 1e-6) > 0.98
    assert sorted(name for name, _ in pad.top) == list("abcdefghij")


def test_pads_over_many_models_in_one_kernel_print_no_retracing_warning(digits, caplog):
    # Tutorial 06 showed a red "5 out of the last 5 calls ... triggered tf.function retracing"
    # under its pad: each model traces its predict function once, and TensorFlow counts them together.
    from lepton_lab.core.tf_import import keras

    def small_model():
        return keras.Sequential([
            keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")
        ])  # fmt: skip

    with caplog.at_level("WARNING", logger="tensorflow"):
        pads = [PredictionPad(small_model(), dataset=digits) for _ in range(7)]
        for pad in pads:
            pad.show_example(0)
    assert all(pad.probabilities is not None and len(pad.top) > 0 for pad in pads)
    assert [r.getMessage() for r in caplog.records if "retracing" in r.getMessage()] == []
