"""TF Serving's REST predict bodies and answers (https://www.tensorflow.org/tfx/serving/api_rest).

Every documented form: row format (``instances``: bare values or objects naming the input),
columnar (``inputs``: the value or an object naming it), single and batched, ``signature_name``;
answers ``predictions`` (a list of objects: the signature has two named outputs) and ``outputs``
(an object of named outputs); errors name the instance, what is wrong and what the model takes.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from lepton_lab.server.tf_serving import (
    PredictRequestError,
    error_body,
    format_predictions,
    model_status,
    parse_predict_body,
    parse_predict_bytes,
    predictions_json,
)

SPEC = {"shape": [None, 3, 2, 1], "dtype": "uint8"}


def _image(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(3, 2, 1), dtype=np.uint8)


def _result(n: int) -> dict:
    probabilities = np.full((n, 4), 0.1, dtype=np.float32)
    probabilities[:, 0] = 0.7
    return {"probabilities": probabilities, "classes": np.zeros(n, dtype=np.int64)}


@pytest.mark.parametrize("n", [1, 3])
def test_row_format_bare_instances_single_and_batched(n):
    images = [_image(i) for i in range(n)]
    request = parse_predict_body({"instances": [im.tolist() for im in images]}, SPEC)
    assert request.images.dtype == np.uint8
    assert request.images.shape == (n, 3, 2, 1)
    np.testing.assert_array_equal(request.images, np.stack(images))
    assert request.columnar is False


@pytest.mark.parametrize("n", [1, 2])
def test_row_format_objects_naming_the_input(n):
    images = [_image(i) for i in range(n)]
    body = {"signature_name": "serving_default", "instances": [{"images": im.tolist()} for im in images]}
    request = parse_predict_body(body, SPEC)
    np.testing.assert_array_equal(request.images, np.stack(images))
    assert not request.columnar


@pytest.mark.parametrize("named", [False, True])
@pytest.mark.parametrize("n", [1, 4])
def test_columnar_format_list_or_object(named, n):
    batch = np.stack([_image(i) for i in range(n)])
    inputs = {"images": batch.tolist()} if named else batch.tolist()
    request = parse_predict_body({"inputs": inputs}, SPEC)
    np.testing.assert_array_equal(request.images, batch)
    assert request.columnar is True


def test_row_answer_is_a_list_of_objects_one_per_instance():
    answer = format_predictions(_result(2), columnar=False)
    assert answer == {
        "predictions": [
            {"probabilities": [0.7, 0.1, 0.1, 0.1], "classes": 0},
            {"probabilities": [0.7, 0.1, 0.1, 0.1], "classes": 0},
        ]
    }
    json.dumps(answer)  # plain JSON types only


def test_columnar_answer_is_an_object_of_named_outputs():
    answer = format_predictions(_result(1), columnar=True)
    assert answer == {"outputs": {"probabilities": [[0.7, 0.1, 0.1, 0.1]], "classes": [0]}}
    assert type(answer["outputs"]["classes"][0]) is int


@pytest.mark.parametrize("columnar", [False, True], ids=["predictions", "outputs"])
@pytest.mark.parametrize("kind", ["probabilities", "any float32", "notation edges"])
def test_answer_text_is_json_dumps_of_the_answer_exactly(columnar, kind):
    # The predict route writes the answer's JSON text directly; it must be the very text json.dumps
    # writes for format_predictions, value by value, wherever numpy and Python write numbers apart.
    rng = np.random.default_rng(len(kind) + columnar)
    if kind == "probabilities":
        values = rng.dirichlet(np.ones(10), size=64).astype(np.float32)
    elif kind == "any float32":
        values = (rng.standard_normal((40, 7)) * 10.0 ** rng.integers(-45, 38, (40, 7))).astype(np.float32)
    else:
        edges = [
            1e-4,
            9.9999e-5,
            1.0001e-4,
            1e6,
            999999.94,
            1e16,
            1e-45,
            -0.0,
            0.0,
            1.0,
            np.nan,
            np.inf,
            -np.inf,
        ]
        values = np.array([edges, edges[::-1]], dtype=np.float32)
    result = {"probabilities": values, "classes": values.argmax(axis=1)}
    text = predictions_json(result, columnar=columnar)
    assert text == json.dumps(format_predictions(result, columnar=columnar))


def test_answer_text_of_an_empty_batch():
    result = {"probabilities": np.zeros((0, 3), dtype=np.float32), "classes": np.zeros(0, dtype=np.int64)}
    assert json.loads(predictions_json(result, columnar=False)) == {"predictions": []}
    assert json.loads(predictions_json(result, columnar=True)) == {
        "outputs": {"probabilities": [], "classes": []}
    }


def _error(body, spec=SPEC) -> str:
    with pytest.raises(PredictRequestError) as info:
        parse_predict_body(body, spec)
    return str(info.value)


def test_wrong_shape_names_the_instance_and_the_expected_shape_and_dtype():
    instances = [_image(0).tolist(), _image(1).tolist(), _image(2)[:, :1].tolist()]
    message = _error({"instances": instances})
    assert message == "instances[2] has shape [3, 1, 1]; expected [3, 2, 1] of uint8 (0-255) per instance"


def test_missing_channel_axis_is_named_with_the_fix():
    message = _error({"instances": [_image(0)[..., 0].tolist()]})
    assert message.startswith("instances[0] has shape [3, 2]; expected [3, 2, 1] of uint8 (0-255)")
    assert "add the channel axis" in message


def test_out_of_range_float_string_and_null_values_are_named_with_their_position():
    image = _image(0).tolist()
    image[1][0][0] = 300
    assert _error({"instances": [_image(1).tolist(), image]}) == (
        "instances[1] holds 300 at [1, 0, 0], out of range; expected [3, 2, 1] of uint8 (0-255) per instance"
    )
    image[1][0][0] = 0.5
    assert "instances[0] holds 0.5 at [1, 0, 0], not an integer" in _error({"instances": [image]})
    image[1][0][0] = "7"
    assert "holds string '7' at [1, 0, 0]" in _error({"instances": [image]})
    image[1][0][0] = None
    assert "holds null at [1, 0, 0]" in _error({"instances": [image]})
    image[1][0][0] = -1
    assert "holds -1 at [1, 0, 0], out of range" in _error({"inputs": [image]})


def test_ragged_instance_is_named():
    image = _image(0).tolist()
    image[2] = image[2][:1]
    message = _error({"inputs": [image]})
    assert message.startswith("inputs[0] is not a regular nested list")
    assert "[3, 2, 1] of uint8" in message


def test_columnar_batch_without_its_batch_axis_says_so():
    message = _error({"inputs": _image(0).tolist()})
    assert message.startswith('"inputs" has shape [3, 2, 1]; expected [n, 3, 2, 1] of uint8 (0-255)')


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ([1, 2], "must be a JSON object"),
        ({}, 'neither "instances" nor "inputs" (it has no keys)'),
        ({"instance": []}, "(it has 'instance')"),
        ({"instances": [], "inputs": []}, 'either "instances" or "inputs", not both'),
        ({"instances": []}, '"instances" is an empty list'),
        ({"instances": {"images": []}}, '"instances" is a object'),
        ({"inputs": []}, '"inputs" is an empty list'),
        ({"inputs": 3}, '"inputs" is a number'),
        ({"instances": [{"image": []}]}, "instances[0] names 'image'; the model has one named input"),
        ({"inputs": {"images": [], "x": 1}}, "inputs names 'x'"),
        ({"signature_name": "predict", "instances": [[]]}, "signature_name 'predict' is not served"),
    ],
)
def test_bodies_that_are_not_predict_requests_are_refused_naming_the_problem(body, fragment):
    message = _error(body)
    assert fragment in message
    assert "3, 2, 1" in message or "signature_name" in message or "named input" in message


def test_a_float_input_accepts_any_number():
    spec = {"shape": [None, 2], "dtype": "float32"}
    request = parse_predict_body({"instances": [[0.5, 1], [2, -3.25]]}, spec)
    assert request.images.dtype == np.float32
    np.testing.assert_array_equal(request.images, [[0.5, 1], [2, -3.25]])


def test_error_body_uses_tf_servings_error_key():
    assert error_body("x") == {"error": "x"}


def test_model_status_follows_get_model_status_response():
    ready = model_status({"name": "digits", "version": 2, "state": "ready", "error": None})
    assert ready == {
        "model_version_status": [
            {"version": "2", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
        ]
    }
    failed = model_status({"version": 1, "state": "failed", "error": "worker exited with code 1"})
    status = failed["model_version_status"][0]
    assert status["state"] == "END"
    assert status["status"] == {"error_code": "UNKNOWN", "error_message": "worker exited with code 1"}
    restarting = model_status({"version": 1, "state": "restarting"})
    assert restarting["model_version_status"][0]["state"] == "LOADING"


@pytest.mark.parametrize("form", ["instances", "inputs"])
def test_a_json_boolean_among_the_pixels_is_refused_not_read_as_one(form):
    image = _image(7).tolist()
    image[1][0][0] = True  # numpy alone would read [true, 3] as [1, 3]
    body = json.dumps({form: [_image(6).tolist(), image]}).encode()
    with pytest.raises(PredictRequestError, match=r"\[1\] holds boolean true at \[1, 0, 0\]"):
        parse_predict_bytes(body, SPEC, limit=1 << 20)


def test_a_boolean_word_inside_a_string_still_reads_the_batch():
    images = [_image(1).tolist(), _image(2).tolist()]
    for form in ("instances", "inputs"):
        body = json.dumps({form: images, "comment": "true or false"}).encode()
        read = parse_predict_bytes(body, SPEC, limit=1 << 20)
        np.testing.assert_array_equal(read.images, np.array(images, np.uint8))
