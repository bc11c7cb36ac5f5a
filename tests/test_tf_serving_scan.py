"""The numeric fast path for predict bodies answers exactly as the general reader does.

:func:`~lepton_lab.server.tf_serving.parse_predict_bytes` reads common bodies straight from their
bytes (:func:`~lepton_lab.server.tf_serving_scan.scan_batch`) and hands everything else to
``parse_json_body`` + ``parse_predict_body``. Each body here is read both ways and must give the same
array (values, dtype, shape), the same ``columnar`` flag, or the same error (type, HTTP status and
message). Tests also say which bodies the fast path itself must take, so a fast path that quietly
declined everything would fail them.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

import numpy as np
import pytest

from lepton_lab.server.bodies import BodyError, parse_json_body
from lepton_lab.server.tf_serving import PredictRequestError, parse_predict_body, parse_predict_bytes
from lepton_lab.server.tf_serving_scan import scan_batch

SPEC = {"shape": [None, 3, 2, 1], "dtype": "uint8"}
LIMIT = 1 << 20


def _images(n: int, shape=(3, 2, 1), seed: int = 0, high: int = 256) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, high, size=(n, *shape))


def _general(body: bytes, spec: dict[str, Any], limit: int = LIMIT) -> Any:
    """What the general reader answers: (images, columnar) or (error type, status, message)."""
    try:
        request = parse_predict_body(parse_json_body(body, limit), spec)
    except (BodyError, PredictRequestError) as error:
        return type(error), error.http_status, str(error)
    return request.images, request.columnar


def _fast(body: bytes, spec: dict[str, Any], limit: int = LIMIT) -> Any:
    try:
        request = parse_predict_bytes(body, spec, limit=limit)
    except (BodyError, PredictRequestError) as error:
        return type(error), error.http_status, str(error)
    return request.images, request.columnar


def _assert_same(body: bytes, spec: dict[str, Any] = SPEC, limit: int = LIMIT) -> Any:
    general, fast = _general(body, spec, limit), _fast(body, spec, limit)
    if isinstance(general[0], np.ndarray):
        assert isinstance(fast[0], np.ndarray), (body, fast)
        assert fast[0].dtype == general[0].dtype
        assert fast[0].shape == general[0].shape
        np.testing.assert_array_equal(fast[0], general[0])
        assert fast[1] is general[1]
    else:
        assert fast == general, body
    return general


def _scanned(body: bytes, spec: dict[str, Any] = SPEC) -> tuple[np.ndarray, bool] | None:
    shape = tuple(int(d) for d in spec["shape"][1:])
    return scan_batch(body, shape, spec["dtype"])


@pytest.mark.parametrize("n", [1, 2, 7])
@pytest.mark.parametrize(
    "form",
    [
        lambda b: {"instances": b},
        lambda b: {"inputs": b},
        lambda b: {"inputs": {"images": b}},
        lambda b: {"signature_name": "serving_default", "instances": b},
        lambda b: {"inputs": {"images": b}, "signature_name": "serving_default"},
    ],
    ids=["instances", "inputs", "named inputs", "signature first", "signature last"],
)
@pytest.mark.parametrize(
    "dumps",
    [
        json.dumps,
        lambda v: json.dumps(v, separators=(",", ":")),
        lambda v: json.dumps(v, indent=2),
        lambda v: json.dumps(v, indent="\t").replace("\n", "\r\n"),
    ],
    ids=["default", "compact", "indented", "tabs and CRLF"],
)
def test_the_documented_forms_are_read_by_the_fast_path_as_the_general_reader_reads_them(n, form, dumps):
    batch = _images(n, seed=n)
    body = dumps(form(batch.tolist())).encode()
    images, columnar = _assert_same(body)
    assert _scanned(body) is not None  # the fast path took it
    np.testing.assert_array_equal(images, batch)
    assert images.dtype == np.uint8
    assert columnar is ("inputs" in body.decode())


@pytest.mark.parametrize(
    ("spec", "values"),
    [
        ({"shape": [None, 2, 3], "dtype": "uint8"}, [[[0, 255, 9], [10, 99, 100]]]),
        ({"shape": [None, 4], "dtype": "int8"}, [[0, 127, 5, 12], [1, 2, 3, 4]]),
        ({"shape": [None, 3], "dtype": "int32"}, [[2147483647, 0, 1000000000]]),
        ({"shape": [None, 2], "dtype": "float32"}, [[0, 16777217], [123456789012345, 7]]),
        ({"shape": [None, 1, 1, 1, 2], "dtype": "uint8"}, [[[[[1, 2]]]], [[[[3, 4]]]]]),
        ({"shape": [None, 5], "dtype": "uint8"}, [[0, 0, 0, 0, 0]]),
    ],
    ids=["uint8 bounds", "int8", "int32 bound", "float input of ints", "deep shape", "zeros"],
)
def test_other_dtypes_and_shapes_give_the_same_array_on_the_fast_path(spec, values):
    body = json.dumps({"instances": values}).encode()
    images, _ = _assert_same(body, spec)
    assert _scanned(body, spec) is not None
    assert images.dtype == np.dtype(spec["dtype"])


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        ({"shape": [None, 2], "dtype": "float32"}, '{"instances": [[0.5, -1], [2e1, -3.25]]}'),
        ({"shape": [None, 2], "dtype": "int8"}, '{"instances": [[-128, -0], [5, 6]]}'),
        (SPEC, '{"instances": [{"images": [[[1], [2]], [[3], [4]], [[5], [6]]]}]}'),
        (SPEC, '{"instances": [[[[1], [2]], [[3], [4]], [[5], [6]]]], "signature_name": "serving_default"}'),
        ({"shape": [None, 2], "dtype": "float32"}, '{"inputs": [[1, 2]], "inputs": [[3, 4]]}'),
        (SPEC, '{"instances": [[[[1], [2]], [[3], [4]], [[5], [6]]]], "extra": {"a": [1]}}'),
    ],
    ids=[
        "floats for a float input",
        "negative int8",
        "named instances",
        "signature",
        "repeated key",
        "extra key",
    ],
)
def test_bodies_the_fast_path_leaves_to_the_general_reader_are_still_accepted(spec, text):
    images, _ = _assert_same(text.encode(), spec)
    assert isinstance(images, np.ndarray)


# Each wrong body: the general reader's error, through either path, word for word.
_ONE = [[[1], [2]], [[3], [4]], [[5], [6]]]
_WRONG = {
    "out of range": json.dumps({"instances": [[[[1], [2]], [[3], [256]], [[5], [6]]]]}),
    "four digits": '{"instances": [[[[1], [2]], [[3], [1000]], [[5], [6]]]]}',
    "negative": json.dumps({"inputs": [[[[1], [2]], [[-3], [4]], [[5], [6]]]]}),
    "float": json.dumps({"instances": [[[[1], [2.0]], [[3], [4]], [[5], [6]]]]}),
    "exponent": '{"instances": [[[[1], [2e0]], [[3], [4]], [[5], [6]]]]}',
    "leading zero": '{"instances": [[[[1], [02]], [[3], [4]], [[5], [6]]]]}',
    "zero then digits": '{"instances": [[[[1], [2]], [[3], [4]], [[5], [007]]]]}',
    "space inside a number": '{"instances": [[[[1], [2 5]], [[3], [4]], [[5], [6]]]]}',
    "missing comma": '{"instances": [[[[1] [2]], [[3], [4]], [[5], [6]]]]}',
    "doubled comma": '{"instances": [[[[1],, [2]], [[3], [4]], [[5], [6]]]]}',
    "trailing comma": '{"instances": [[[[1], [2]], [[3], [4]], [[5], [6]],]]}',
    "leading comma": '{"instances": [,[[[1], [2]], [[3], [4]], [[5], [6]]]]}',
    "unbalanced": '{"instances": [[[[1], [2]], [[3], [4]], [[5], [6]]]}',
    "extra closing": '{"instances": [[[[1], [2]], [[3], [4]], [[5], [6]]]]]}',
    "wrong shape": json.dumps({"instances": [[[[1], [2]], [[3], [4]]]]}),
    "missing channel": json.dumps({"instances": [[[1, 2], [3, 4], [5, 6]]]}),
    "two numbers a pixel": json.dumps(
        {"instances": [[[[1, 1], [2, 2]], [[3, 3], [4, 4]], [[5, 5], [6, 6]]]]}
    ),
    "ragged": json.dumps({"inputs": [[[[1], [2]], [[3]], [[5], [6]]]]}),
    "no batch axis": json.dumps({"inputs": _ONE}),
    "instance without nesting": json.dumps({"instances": [1, 2, 3, 4, 5, 6]}),
    "empty": json.dumps({"instances": []}),
    "nested empty": json.dumps({"instances": [[]]}),
    "both keys": json.dumps({"instances": [_ONE], "inputs": [_ONE]}),
    "other signature": json.dumps({"signature_name": "predict", "instances": [_ONE]}),
    "named instances object": json.dumps({"instances": {"images": [_ONE]}}),
    "wrong input name": json.dumps({"inputs": {"image": [_ONE]}}),
    "false alone": '{"instances": [[[[false], [false]], [[false], [false]], [[false], [false]]]]}',
    "null": '{"instances": [[[[1], [null]], [[3], [4]], [[5], [6]]]]}',
    "string": '{"instances": [[[[1], ["2"]], [[3], [4]], [[5], [6]]]]}',
    "trailing garbage": json.dumps({"instances": [_ONE]}) + " x",
    "two objects": json.dumps({"instances": [_ONE]}) * 2,
    "not an object": json.dumps([_ONE]),
    "bare number": "7",
    "empty body": "",
    "truncated": json.dumps({"instances": [_ONE]})[:-3],
    "no closing brace": json.dumps({"instances": [_ONE]})[:-1],
    "vertical tab": json.dumps({"instances": [_ONE]}).replace(", ", ",\v"),
    "BOM": "\ufeff" + json.dumps({"instances": [_ONE]}),
}


@pytest.mark.parametrize("text", list(_WRONG.values()), ids=list(_WRONG))
def test_wrong_bodies_get_the_general_readers_error_word_for_word(text):
    general = _assert_same(text.encode())
    assert general[0] in (BodyError, PredictRequestError), general
    assert _scanned(text.encode()) is None


def test_a_body_over_the_limit_is_413_on_either_path():
    body = json.dumps({"instances": _images(4).tolist()}).encode()
    general = _assert_same(body, limit=len(body) - 1)
    assert general[1] == 413
    assert _fast(body, SPEC, limit=len(body))[0].shape == (4, 3, 2, 1)


def test_invalid_utf8_is_the_general_readers_400():
    body = b'{"instances": [[[[1], [2]], [[3], [4]], [[5], [\xff]]]]}'
    assert _assert_same(body)[1] == 400


def test_a_string_input_is_never_scanned():
    spec = {"shape": [None], "dtype": "string"}
    assert scan_batch(b'{"instances": [1, 2]}', (), "string") is None
    texts, columnar = _assert_same(b'{"instances": ["a", "b"]}', spec)
    assert texts.tolist() == ["a", "b"] and columnar is False
    assert _assert_same(b'{"instances": [1, 2]}', spec)[0] is PredictRequestError  # a number: the 400


def test_mutated_bodies_are_read_or_refused_exactly_as_the_general_reader_does():
    """Random one-byte edits of valid bodies (seeded): every mutant gets the same answer both ways."""
    rng = random.Random(11)
    alphabet = '0123456789[], -.e\n\t"{}:2'
    bodies = [
        json.dumps({"instances": _images(2, seed=1).tolist()}),
        json.dumps({"inputs": {"images": _images(3, seed=2).tolist()}}, separators=(",", ":")),
        json.dumps({"signature_name": "serving_default", "inputs": _images(1, seed=3).tolist()}),
    ]
    scanned = 0
    for _ in range(400):
        text = list(rng.choice(bodies))
        for _ in range(rng.choice([1, 1, 2])):
            at = rng.randrange(len(text))
            edit = rng.choice(["replace", "insert", "delete"])
            if edit == "replace":
                text[at] = rng.choice(alphabet)
            elif edit == "insert":
                text.insert(at, rng.choice(alphabet))
            else:
                del text[at]
        body = "".join(text).encode()
        _assert_same(body)
        scanned += _scanned(body) is not None
    assert scanned > 0  # some mutants (digit changes within range) stay on the fast path


# The fast path reads a body laid out as json.dumps writes it (", " or no whitespace) as it is, drops
# any other whitespace first, finds numbers as digit runs and checks the bytes between consecutive
# numbers by their length and comma offset: the cases below are what that makes delicate.


@pytest.mark.parametrize(
    "text",
    [
        '{"instances": [[[[1], [2]], [[3], [4]], [[5], [6]]]]}',  # json.dumps: the spaced layout
        '{"instances":[[[[1],[2]],[[3],[4]],[[5],[6]]]]}',  # no whitespace
        '{"instances": [[[[1],[2]], [[3], [4]],[[5], [6]]]]}',  # a space after some commas only
        '{"instances": [ [[[1], [2]], [[3], [4]], [[5], [6]]] ]}',  # spaces inside brackets
        '{"instances": [[[[1] , [2]], [[3], [4]], [[5], [6]]]]}',  # a space before a comma
        '{"instances": [[[[1],  [2]], [[3], [4]], [[5], [6]]]]}',  # two spaces after a comma
        '{"instances": [[[[1],\t[2]], [[3], [4]], [[5], [6]]]]}',  # a tab after a comma
        '{"instances": [[[[ 1 ], [2]], [[3], [4]], [[5], [6 ]]]]}',  # spaces around numbers
        '{"instances": [[[[1],\n[2]],\r\n[[3], [4]], [[5], [6]]]\n]}',  # line breaks
    ],
    ids=[
        "spaced",
        "tight",
        "mixed",
        "inside brackets",
        "before comma",
        "two spaces",
        "tab",
        "around",
        "lines",
    ],
)
def test_whitespace_between_tokens_is_read_wherever_it_is(text):
    images, _ = _assert_same(text.encode())
    assert _scanned(text.encode()) is not None
    np.testing.assert_array_equal(images.ravel(), [1, 2, 3, 4, 5, 6])


@pytest.mark.parametrize(
    "text",
    [
        '{"instances": [[[[1], [2 5]], [[3], [4]], [[5], [6]]]]}',
        '{"instances": [[[[1], [2\t5]], [[3], [4]], [[5], [6]]]]}',
        '{"instances": [[[[1], [2\n5]], [[3], [4]], [[5], [6]]]]}',
        '{"instances":[[[[1],[2 5]],[[3],[4]],[[5],[6]]]]}',
        '{"instances": [[[[1], [2]], [[3], [4]], [[5], [6 0]]]]}',
        '{"instances": [[[[1 2], [2]], [[3], [4]], [[5], [6]]]]}',
    ],
    ids=["space", "tab", "newline", "space in a tight body", "last number", "first number"],
)
def test_whitespace_inside_a_number_is_never_read_as_one_number(text):
    general = _assert_same(text.encode())
    assert general[0] is BodyError  # not JSON: two values in a row
    assert _scanned(text.encode()) is None


@pytest.mark.parametrize(
    ("dtype", "good", "bad"),
    [
        ("uint8", [0, 7, 10, 99, 100, 255], [256, 999, 1000, 65535]),
        ("int8", [0, 9, 10, 99, 100, 127], [128, 999, 1000]),
        ("int32", [0, 1, 10**8, 999999999, 10**9, 2**31 - 1], [2**31, 9999999999, 10**10]),
        ("float32", [0, 5, 10**9, 10**14, 10**15 - 1], [10**15, 10**16, 10**20]),
        ("float64", [0, 123456789012345, 999999999999999], [1000000000000000]),
    ],
)
def test_every_digit_count_up_to_the_dtypes_is_read_and_longer_numbers_are_left_to_the_general_reader(
    dtype, good, bad
):
    spec = {"shape": [None, len(good)], "dtype": dtype}
    for dumps in (json.dumps, lambda v: json.dumps(v, separators=(",", ":"))):
        body = dumps({"instances": [good, good[::-1]]}).encode()
        images, _ = _assert_same(body, spec)
        assert _scanned(body, spec) is not None
        np.testing.assert_array_equal(images, np.array([good, good[::-1]]).astype(dtype))
        for value in bad:  # out of range or more digits than the dtype takes, first, inside and last
            for at in (0, len(good) // 2, len(good) - 1):
                row = list(good)
                row[at] = value
                body = dumps({"instances": [good, row]}).encode()
                _assert_same(body, spec)
                assert _scanned(body, spec) is None, body


@pytest.mark.parametrize("number", ["00", "01", "007", "010", "0255", "0000000001"])
@pytest.mark.parametrize("at", [0, 3, 5])
def test_leading_zeros_anywhere_are_the_general_readers_400(number, at):
    values = ["1", "2", "3", "4", "5", "6"]
    values[at] = number
    numbers = iter(values)
    text = re.sub(r"\d", lambda _: next(numbers), '{"instances": [[[[1], [2]], [[3], [4]], [[5], [6]]]]}')
    assert _assert_same(text.encode())[0] is BodyError
    assert _scanned(text.encode()) is None


def test_the_first_number_right_after_a_short_head_is_read_whole():
    """``{"inputs":[`` is 11 bytes, fewer than a float's 15 digits that are read back from a number's end."""
    spec = {"shape": [None, 2], "dtype": "float64"}
    for first in ("123456789012345", "7", "1000000000000000"):
        body = ('{"inputs":[[' + first + ",2]]}").encode()
        answer = _assert_same(body, spec)
        assert (_scanned(body, spec) is not None) is (len(first) <= 15)
        if len(first) <= 15:
            assert answer[0].tolist() == [[float(first), 2.0]]


@pytest.mark.parametrize(
    "text",
    [
        '{"instances": [[[[1], [2]], [[3], [4]]], [[[5], [6]]], [[7], [8]]]]}',  # a ] moved over a comma
        '{"instances": [[[[1], [2]], [[3], [4]], [[5], [6]], [[[7], [8]], [[9], [1]], [[2], [3]]]]}',
        '{"instances": [[[[1], [2]], [[3], [4]], [[5], [6]]]], [[[7], [8]], [[9], [1]], [[2], [3]]]]}',
        '{"instances": [[[[1], [2]], [[3], [4]], [[5], [6]]]], [[[[7], [8]], [[9], [1]], [[2], [3]]]]}',
        '{"instances": [[[[1], [2]]], [[[3], [4]], [[5], [6]]]]}',
        '{"instances": [[[[1], [2]], [[3], [4]], [[5]], [[6]]]]}',
        '{"instances": [[[[1], [2]], [[3], [4]], [[5], [6]]]][[[[1], [2]], [[3], [4]], [[5], [6]]]]}',
    ],
    ids=[
        "moved bracket",
        "one closing too few",
        "one too many",
        "two batches",
        "split",
        "regrouped",
        "glued",
    ],
)
def test_brackets_moved_between_numbers_are_refused(text):
    assert _assert_same(text.encode())[0] in (BodyError, PredictRequestError)
    assert _scanned(text.encode()) is None


# Each is the one-image body of SPEC with the bytes between two numbers changed so that most of the
# fast path's checks pass (same byte counts, same comma offsets, ...), each refused by one or two.
_ONE_CHECK = {
    "] moved over the comma": '{"instances": [[[[1], [2]]], [[3], [4]], [[5], [6]]]]}',
    "[ moved over the comma": '{"instances": [[[[1], [2], [[[3], [4]], [[5], [6]]]]}',
    "[ for a ]": '{"instances": [[[[1], [2]], [[3], [4]], [[5][, [6]]]]}',
    "] for a [": '{"instances": [[[[1], [2]], [[3], [4]], [[5], ]6]]]]}',
    "} for a ]": '{"instances": [[[[1],[2]],[[3],[4]],[[5},[6]]]]}',
    ", for a ]": '{"instances": [[[[1],[2]],[[3],[4]],[[5,,[6]]]]}',
    "an extra [": '{"instances": [[[[1], [[2]], [[3], [4]], [[5], [6]]]]}',
    "a [ too few": '{"instances": [[[[1], 2]], [[3], [4]], [[5], [6]]]]}',
    "an extra ]": '{"instances": [[[[1]], [2]], [[3], [4]], [[5], [6]]]]}',
    "a 4-digit number for a [": '{"instances": [[[[1], [2]], [[3], 4123]], [[5], [6]]]]}',
}


@pytest.mark.parametrize("text", list(_ONE_CHECK.values()), ids=list(_ONE_CHECK))
def test_bytes_between_numbers_must_be_the_canonical_ones(text):
    assert _assert_same(text.encode())[0] in (BodyError, PredictRequestError)
    assert _scanned(text.encode()) is None


@pytest.mark.parametrize(
    ("shape", "n"),
    [((), 5), ((1,), 3), ((4,), 2), ((2, 1, 2, 1, 1, 2), 2), ((1,) * 28, 2), ((3, 1, 1), 1)],
    ids=["scalars", "one", "row", "rank 6", "rank 28", "rank 3"],
)
def test_shapes_of_any_rank_up_to_the_nesting_limit_are_read(shape, n):
    spec = {"shape": [None, *shape], "dtype": "uint8"}
    batch = _images(n, shape=shape, seed=len(shape))
    for dumps in (
        json.dumps,
        lambda v: json.dumps(v, separators=(",", ":")),
        lambda v: json.dumps(v, indent=1),
    ):
        body = dumps({"instances": batch.tolist()}).encode()
        images, _ = _assert_same(body, spec)
        assert _scanned(body, spec) is not None
        np.testing.assert_array_equal(images, batch)


def test_a_shape_deeper_than_the_nesting_limit_is_left_to_the_general_reader():
    spec = {"shape": [None, *(1,) * 29], "dtype": "uint8"}
    body = json.dumps({"instances": np.zeros((1, *(1,) * 29), dtype=int).tolist()}).encode()
    assert _scanned(body, spec) is None
    _assert_same(body, spec)


@pytest.mark.parametrize("text", ['{"instances": []}', '{"instances": [ ]}', '{"inputs": [[]]}'])
def test_an_empty_batch_is_the_general_readers_400(text):
    assert _assert_same(text.encode())[0] is PredictRequestError
    assert _scanned(text.encode()) is None


@pytest.mark.parametrize("separators", [(", ", ": "), (",", ":")], ids=["default", "compact"])
def test_a_batch_of_full_size_images_is_read_as_the_general_reader_reads_it(separators):
    """64 28x28x1 images, as the served model takes them (digit counts 1 to 3 everywhere)."""
    spec = {"shape": [None, 28, 28, 1], "dtype": "uint8"}
    batch = _images(64, shape=(28, 28, 1), seed=64)
    batch[:, :10] //= 40  # background: runs of one-digit numbers, as in Fashion-MNIST
    body = json.dumps({"instances": batch.tolist()}, separators=separators).encode()
    images, _ = _assert_same(body, spec)
    assert _scanned(body, spec) is not None
    np.testing.assert_array_equal(images, batch)


def test_whitespace_inserted_anywhere_gets_the_general_readers_answer():
    """Seeded: runs of JSON whitespace put at random places, between tokens and inside numbers."""
    rng = random.Random(12)
    bodies = [
        json.dumps({"instances": _images(2, seed=4).tolist()}),
        json.dumps({"inputs": _images(2, seed=5).tolist()}, separators=(",", ":")),
    ]
    scanned = 0
    for _ in range(200):
        text = list(rng.choice(bodies))
        for _ in range(rng.choice([1, 2, 3])):
            text.insert(rng.randrange(len(text)), "".join(rng.choices(" \t\n\r", k=rng.choice([1, 1, 2]))))
        body = "".join(text).encode()
        _assert_same(body)
        scanned += _scanned(body) is not None
    assert scanned > 50  # most insertions fall between tokens, which the fast path reads
