"""Hostile request bodies and error answers: 400/413 naming the problem, never 500; one error shape."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

from lepton_lab.server.bodies import MAX_DEPTH, BodyError, BodyTooLarge, parse_json_body

DIGITS = {"dataset": {"name": "digits"}}


@pytest.fixture
def jp_server_config(jp_server_config):
    config = json.loads(json.dumps(jp_server_config))
    config["LeptonLabApp"]["max_body_bytes"] = 256 * 1024
    return config


async def _refusal(jp_fetch, body: bytes, method: str = "POST", *path: str) -> tuple[int, dict]:
    with pytest.raises(HTTPClientError) as excinfo:
        await jp_fetch("lepton-lab", "api", *(path or ("jobs",)), method=method, body=body)
    response = excinfo.value.response
    assert response.headers["Content-Type"].startswith("application/json")
    return excinfo.value.code, json.loads(response.body)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"dataset": {"name": "\xff"}}', "not valid UTF-8"),
        (b'{"dataset": {"name": "digits", "seed": ' + b"9" * 5000 + b"}}", "more than 4300 digits"),
        (b"[" * 50_000 + b"]" * 50_000, "levels deep"),
        (b'{"a":' * 20_000 + b"1" + b"}" * 20_000, "levels deep"),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "levels deep"),
        (json.dumps({"dataset": {"name": "folder:/tmp/a\u0000b"}}).encode(), "NUL"),
        (json.dumps({"dataset": {"name": "digits", "seed": -1}}).encode(), "dataset.seed"),
    ],
    ids=["utf8", "long-int", "deep-array", "deep-object", "just-too-deep", "nul-in-folder", "negative-seed"],
)
async def test_hostile_bodies_are_400_naming_the_problem(jp_fetch, runs_dir, body, words):
    code, error = await _refusal(jp_fetch, body)
    assert code == 400 and words in error["message"], error
    assert isinstance(error["reason"], str)
    assert [p for p in runs_dir.iterdir() if p.is_dir()] == []  # no run created


async def test_a_body_over_the_configured_limit_is_413(jp_fetch, runs_dir):
    spec = {**DIGITS, "name": "x" * 300_000}
    code, error = await _refusal(jp_fetch, json.dumps(spec).encode())
    assert (
        code == 413 and "limit is 262144 bytes" in error["message"] and "max_body_bytes" in error["message"]
    )
    code, error = await _refusal(jp_fetch, b"\xff" * 300_000, "PATCH", "jobs", "any")
    assert code == 413


async def test_errors_outside_handlers_have_a_string_reason_and_405_lists_methods(jp_fetch):
    with pytest.raises(HTTPClientError) as excinfo:
        await jp_fetch("lepton-lab", "api", "jobs", headers={"Authorization": ""})
    assert excinfo.value.code == 403
    assert json.loads(excinfo.value.response.body) == {"message": "Forbidden", "reason": "Forbidden"}
    with pytest.raises(HTTPClientError) as excinfo:
        await jp_fetch("lepton-lab", "api", "devices", method="PUT", body="{}")
    assert excinfo.value.code == 405
    assert excinfo.value.response.headers["Allow"] == "GET"
    assert isinstance(json.loads(excinfo.value.response.body)["reason"], str)


async def test_plain_http_to_a_websocket_route_is_a_json_400(jp_fetch):
    with pytest.raises(HTTPClientError) as excinfo:
        await jp_fetch("lepton-lab", "api", "stream")
    assert excinfo.value.code == 400
    assert excinfo.value.response.headers["Content-Type"].startswith("application/json")
    assert "is a WebSocket" in json.loads(excinfo.value.response.body)["message"]


def test_parse_json_body_limits_without_recursion():
    assert parse_json_body(b"") is None
    assert parse_json_body(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None
    with pytest.raises(BodyTooLarge):
        parse_json_body(b"{}", limit=1)
    with pytest.raises(BodyError, match="line 1 column 2"):
        parse_json_body(b"{")


async def test_an_empty_integer_query_argument_is_400(jp_fetch, runs_dir):
    from lepton_lab.core.rundir import RunDir

    run = RunDir.create(runs_dir, DIGITS)
    run.write_status(status="completed", epoch=0, exit_code=0)
    with pytest.raises(HTTPClientError) as excinfo:
        await jp_fetch("lepton-lab", "api", "jobs", run.id, "events", params={"limit": ""})
    assert excinfo.value.code == 400 and "limit" in json.loads(excinfo.value.response.body)["message"]
