"""REST/WebSocket surface of the server extension: auth, validation, artifacts, OpenAPI.

These tests train nothing: the run they read is a finished run directory written before the
server starts (which also checks that the job index is rebuilt from the run directories).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from lepton_lab.core.rundir import RunDir
from lepton_lab.server.handlers import encode_events_page
from lepton_lab.server.job_index import INDEX_FILE, JobStore
from lepton_lab.server.routes import API_PREFIX, handler_methods, template_of

TINY = {"dataset": {"name": "digits", "subset": 300}, "model": {"preset": "mlp"}, "train": {"epochs": 2}}


@pytest.fixture
def finished_run(runs_dir: Path) -> RunDir:
    """A completed run with a model, a log and an evaluation, as a worker leaves it."""
    run = RunDir.create(runs_dir, TINY)
    run.write_status(status="completed", epoch=2, exit_code=0)
    run.model_path.write_bytes(b"PK\x03\x04 model bytes")
    run.worker_log_path.write_text("epoch 1\nepoch 2\n")
    run.evaluation_path.write_text(json.dumps({"accuracy": 0.9}))
    run.events_path.write_text(
        "".join(
            json.dumps({"t": 1.0, "type": "epoch", "step": s, "epoch": s, "metrics": {"loss": 1 / s}}) + "\n"
            for s in (1, 2)
        )
    )
    return run


@pytest.fixture
def jp_server_config(jp_server_config, finished_run):
    """The shared server config, started after ``finished_run`` exists."""
    return jp_server_config


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file outside every run directory that no route may serve."""
    path = tmp_path / "secret.txt"
    path.write_text("do not serve me")
    return path


def _rules(router):
    for rule in router.rules:
        if hasattr(rule.target, "rules"):  # a host's router: look inside
            yield from _rules(rule.target)
        else:
            yield rule


def _lab_routes(jp_serverapp) -> list[tuple[str, type]]:
    """(template, handler) of every Lepton Lab route the running server actually serves."""
    routes = []
    for rule in _rules(jp_serverapp.web_app.default_router):
        pattern = getattr(rule.matcher, "regex", None)
        if pattern is not None and f"{API_PREFIX}/" in pattern.pattern:
            routes.append((template_of(pattern.pattern), rule.target))
    return routes


async def _code(fetch, *parts, **kwargs) -> int:
    try:
        response = await fetch(*parts, **kwargs)
    except HTTPClientError as error:
        return error.code
    return response.code


async def test_every_route_refuses_requests_without_token(jp_serverapp, jp_fetch, jp_ws_fetch, finished_run):
    routes = _lab_routes(jp_serverapp)
    assert len(routes) >= 13
    refused = {}
    for template, handler in routes:
        path = template.replace("{job_id}", finished_run.id).replace("{name}", "model")
        for method in handler_methods(handler):
            no_token = {"Authorization": ""}
            if path.endswith("stream"):
                code = await _code(jp_ws_fetch, *API_PREFIX.strip("/").split("/"), path, headers=no_token)
            else:
                body = "{}" if method in ("post", "put", "patch") else None
                code = await _code(
                    jp_fetch, "lepton-lab/api", path, method=method.upper(), body=body, headers=no_token
                )
            refused[f"{method.upper()} {template}"] = code
    assert set(refused.values()) == {403}, refused


async def test_every_route_is_documented_in_openapi(jp_serverapp, jp_fetch):
    document = json.loads((await jp_fetch("lepton-lab", "api", "openapi.json")).body)
    paths = document["paths"]
    for template, handler in _lab_routes(jp_serverapp):
        documented = paths.get(f"{API_PREFIX}/{template}")
        assert documented is not None, f"route {template} is missing from openapi.json"
        for method in handler_methods(handler):
            assert method in documented, f"{method.upper()} {template} is missing from openapi.json"
            assert documented[method]["responses"]
    assert "JobSpec" in document["components"]["schemas"]
    assert "DatasetSpec" in document["components"]["schemas"]


async def test_index_is_rebuilt_from_run_directories_at_startup(jp_fetch, finished_run):
    body = json.loads((await jp_fetch("lepton-lab", "api", "jobs")).body)
    assert [job["id"] for job in body["jobs"]] == [finished_run.id]
    job = json.loads((await jp_fetch("lepton-lab", "api", "jobs", finished_run.id)).body)
    assert job["status"] == "completed" and job["epoch"] == 2 and job["epochs"] == 2
    assert job["spec"]["dataset"]["subset"] == 300
    only_running = json.loads(
        (await jp_fetch("lepton-lab", "api", "jobs", params={"status": "running"})).body
    )
    assert only_running["jobs"] == []


async def test_malformed_json_body_is_400_with_position(jp_fetch):
    with pytest.raises(HTTPClientError) as excinfo:
        await jp_fetch("lepton-lab", "api", "jobs", method="POST", body='{"dataset": ')
    assert excinfo.value.code == 400
    message = json.loads(excinfo.value.response.body)["message"]
    assert "not valid JSON" in message and "line 1" in message


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"dataset": {"name": "digits"}, "train": {"epochs": 0}}, "train.epochs"),
        ({"dataset": {"name": "imagenet"}}, "dataset.name"),
        ({"train": {"epochs": 1}}, "dataset"),
        ({"dataset": {"name": "digits"}, "model": {"layers": [{"type": "Lambda"}]}}, "model.layers.0"),
    ],
)
async def test_invalid_spec_is_400_naming_the_field(jp_fetch, runs_dir, spec, field):
    with pytest.raises(HTTPClientError) as excinfo:
        await jp_fetch("lepton-lab", "api", "jobs", method="POST", body=json.dumps(spec))
    assert excinfo.value.code == 400
    assert field in json.loads(excinfo.value.response.body)["message"]
    assert len([p for p in runs_dir.iterdir() if p.is_dir()]) == 1  # only the finished run: nothing created


async def test_folder_dataset_outside_allowed_roots_is_400(jp_fetch, tmp_path):
    outside = tmp_path.parent / "elsewhere"
    spec = {"dataset": {"name": f"folder:{outside}"}}
    with pytest.raises(HTTPClientError) as excinfo:
        await jp_fetch("lepton-lab", "api", "jobs", method="POST", body=json.dumps(spec))
    assert excinfo.value.code == 400
    message = json.loads(excinfo.value.response.body)["message"]
    assert "dataset.name" in message and "outside the allowed dataset roots" in message


async def test_bad_query_arguments_are_400_naming_them(jp_fetch, finished_run):
    for params, name in (({"after": "x"}, "after"), ({"after": "-1"}, "after"), ({"limit": "0"}, "limit")):
        with pytest.raises(HTTPClientError) as excinfo:
            await jp_fetch("lepton-lab", "api", "jobs", finished_run.id, "events", params=params)
        assert excinfo.value.code == 400
        assert name in json.loads(excinfo.value.response.body)["message"]
    with pytest.raises(HTTPClientError) as excinfo:
        await jp_fetch("lepton-lab", "api", "jobs", params={"status": "sleeping"})
    assert excinfo.value.code == 400


async def test_unknown_job_is_404_and_finished_job_cannot_be_cancelled(jp_fetch, finished_run):
    assert await _code(jp_fetch, "lepton-lab", "api", "jobs", "no-such-job") == 404
    with pytest.raises(HTTPClientError) as excinfo:
        await jp_fetch("lepton-lab", "api", "jobs", finished_run.id, method="DELETE")
    assert excinfo.value.code == 409
    assert "already completed" in json.loads(excinfo.value.response.body)["message"]
    resume = await _code(
        jp_fetch, "lepton-lab", "api", "jobs", finished_run.id, "resume", method="POST", body=""
    )
    assert resume == 409


async def test_events_page_with_offsets(jp_fetch, finished_run):
    body = json.loads((await jp_fetch("lepton-lab", "api", "jobs", finished_run.id, "events")).body)
    assert [e["epoch"] for e in body["events"]] == [1, 2] and body["next"] == 2
    body = json.loads(
        (await jp_fetch("lepton-lab", "api", "jobs", finished_run.id, "events", params={"after": 1})).body
    )
    assert [e["epoch"] for e in body["events"]] == [2] and body["next"] == 2


async def test_artifacts_serve_files_of_the_run_directory(jp_fetch, finished_run):
    model = await jp_fetch("lepton-lab", "api", "jobs", finished_run.id, "artifacts", "model")
    assert model.body == finished_run.model_path.read_bytes()
    assert model.headers["Content-Type"] == "application/zip"
    log = await jp_fetch("lepton-lab", "api", "jobs", finished_run.id, "artifacts", "worker.log")
    assert log.body == b"epoch 1\nepoch 2\n"
    listing = json.loads((await jp_fetch("lepton-lab", "api", "jobs", finished_run.id, "artifacts")).body)
    assert {"model.keras", "worker.log", "spec.json"} <= {a["name"] for a in listing["artifacts"]}
    evaluation = json.loads((await jp_fetch("lepton-lab", "api", "jobs", finished_run.id, "evaluation")).body)
    assert evaluation == {"accuracy": 0.9}


async def test_artifact_names_leading_out_of_the_run_directory_are_refused(
    http_server_client, jp_base_url, jp_auth_header, finished_run, secret
):
    os.symlink(secret, finished_run.path / "escape.txt")
    os.symlink(secret.parent, finished_run.path / "escape-dir")
    relative = os.path.relpath(secret, finished_run.path)
    names = [
        "../" + finished_run.id + "/spec.json",
        "..%2Fsecret.txt",
        relative,
        relative.replace("/", "%2F"),
        "%2F" + str(secret).lstrip("/").replace("/", "%2F"),
        "escape.txt",
        "escape-dir/secret.txt",
    ]
    for name in names:
        # Sent exactly as written: percent-escapes reach the server undecoded.
        url = f"{jp_base_url.rstrip('/')}{API_PREFIX}/jobs/{finished_run.id}/artifacts/{name}"
        try:
            response = await http_server_client.fetch(url, headers=jp_auth_header)
        except HTTPClientError as error:
            assert error.code == 403, (name, error.code)
            assert b"do not serve me" not in (error.response.body or b"")
        else:
            raise AssertionError(f"artifact {name!r} was served: {response.body[:40]!r}")


async def test_devices_always_include_the_cpu(jp_fetch):
    body = json.loads((await jp_fetch("lepton-lab", "api", "devices")).body)
    cpu = body["devices"][0]
    assert cpu["kind"] == "cpu" and cpu["cores"] >= 1 and cpu["memory_total"] > 0
    assert body["slots"] >= 1 and body["gpu_policy"] == "exclusive"
    assert all(d["kind"] == "gpu" for d in body["devices"][1:])


async def test_datasets_lists_the_registry(jp_fetch, jp_root_dir):
    body = json.loads((await jp_fetch("lepton-lab", "api", "datasets")).body)
    names = {d["name"] for d in body["datasets"]}
    assert {"digits", "shapes"} <= names
    assert body["folder_roots"] == [str(Path(jp_root_dir).resolve())]


async def test_stream_of_a_finished_job_replays_from_the_offset_then_closes(jp_ws_fetch, finished_run):
    ws = await jp_ws_fetch("lepton-lab", "api", "jobs", finished_run.id, "stream", params={"after": "1"})
    messages = []
    while (text := await ws.read_message()) is not None:
        messages.append(json.loads(text))
    assert messages[0]["type"] == "status" and messages[0]["job"]["status"] == "completed"
    assert [(m["type"], [e["epoch"] for e in m["events"]], m["next"]) for m in messages[1:]] == [
        ("events", [2], 2)
    ]
    assert ws.close_code == 1000


async def test_stream_of_unknown_job_or_bad_offset_is_refused_before_upgrade(jp_ws_fetch, finished_run):
    with pytest.raises(HTTPClientError) as missing:
        await jp_ws_fetch("lepton-lab", "api", "jobs", "no-such-job", "stream")
    assert missing.value.code == 404
    with pytest.raises(HTTPClientError) as bad:
        await jp_ws_fetch("lepton-lab", "api", "jobs", finished_run.id, "stream", params={"after": "x"})
    assert bad.value.code == 400


def _manager(jp_serverapp):
    return jp_serverapp.extension_manager.extension_points["lepton_lab"].app.job_manager


async def test_job_list_carries_an_etag_and_is_304_until_a_job_changes(jp_fetch, jp_serverapp, finished_run):
    first = await jp_fetch("lepton-lab", "api", "jobs")
    etag = first.headers["Etag"]
    assert json.loads(first.body) == {"jobs": _manager(jp_serverapp).list_jobs()}
    unchanged = await _code(jp_fetch, "lepton-lab", "api", "jobs", headers={"If-None-Match": etag})
    assert unchanged == 304
    await jp_fetch(
        "lepton-lab", "api", "jobs", finished_run.id, method="PATCH", body=json.dumps({"note": "best so far"})
    )
    changed = await jp_fetch("lepton-lab", "api", "jobs", headers={"If-None-Match": etag})
    assert changed.code == 200 and changed.headers["Etag"] != etag
    assert json.loads(changed.body)["jobs"][0]["note"] == "best so far"
    filtered = await jp_fetch("lepton-lab", "api", "jobs", params={"status": "completed,failed"})
    assert json.loads(filtered.body) == json.loads(changed.body)
    assert json.loads((await jp_fetch("lepton-lab", "api", "jobs", params={"status": "failed"})).body) == {
        "jobs": []
    }
    # openapi.json says so, so generated clients know the header and the 304.
    document = json.loads((await jp_fetch("lepton-lab", "api", "openapi.json")).body)
    listing = document["paths"]["/lepton-lab/api/jobs"]["get"]
    assert "304" in listing["responses"] and "ETag" in listing["responses"]["200"]["headers"]
    assert {"name": "If-None-Match", "in": "header"}.items() <= next(
        p for p in listing["parameters"] if p["name"] == "If-None-Match"
    ).items()


async def test_job_list_follows_a_job_index_written_by_another_process(jp_fetch, runs_dir, finished_run):
    before = await jp_fetch("lepton-lab", "api", "jobs")
    other = JobStore(runs_dir / INDEX_FILE)  # as a second server sharing the runs directory writes it
    try:
        other.put(finished_run.id, error="noted by the other server")
    finally:
        other.close()
    after = await jp_fetch("lepton-lab", "api", "jobs", headers={"If-None-Match": before.headers["Etag"]})
    assert after.code == 200
    assert json.loads(after.body)["jobs"][0]["error"] == "noted by the other server"


def _append_from_another_process(path: Path, epochs: range, torn: bool = False) -> None:
    """Append epoch events to ``path`` from a separate Python process (as a worker does)."""
    lines = "".join(
        json.dumps({"t": 2.0, "type": "epoch", "step": e, "epoch": e, "metrics": {}}) + "\n" for e in epochs
    )
    if torn:
        lines += '{"t": 2.0, "type": "epo'
    code = f"open({str(path)!r}, 'a').write({lines!r})"
    subprocess.run([sys.executable, "-c", code], check=True)


async def _events(jp_fetch, job_id: str, **params: int) -> tuple[list[int], int]:
    response = await jp_fetch("lepton-lab", "api", "jobs", job_id, "events", params=params)
    body = json.loads(response.body)
    return [e["epoch"] for e in body["events"]], body["next"]


async def test_events_after_n_follow_a_file_another_process_appends_to(jp_fetch, finished_run):
    assert await _events(jp_fetch, finished_run.id) == ([1, 2], 2)
    _append_from_another_process(finished_run.events_path, range(3, 300), torn=True)
    assert await _events(jp_fetch, finished_run.id, after=2, limit=3) == ([3, 4, 5], 5)
    assert await _events(jp_fetch, finished_run.id, after=296) == ([297, 298, 299], 299)
    assert await _events(jp_fetch, finished_run.id, after=299) == ([], 299)  # the torn line waits
    with open(finished_run.events_path, "a") as handle:  # the writer finishes its line
        handle.write('ch", "step": 300, "epoch": 300, "metrics": {}}\n')
    assert await _events(jp_fetch, finished_run.id, after=299) == ([300], 300)


async def test_events_after_n_read_a_truncated_or_replaced_file_afresh(jp_fetch, finished_run):
    _append_from_another_process(finished_run.events_path, range(3, 500))
    assert await _events(jp_fetch, finished_run.id, after=496) == ([497, 498, 499], 499)
    finished_run.events_path.write_text("")  # truncated (a run restarted from nothing)
    _append_from_another_process(finished_run.events_path, range(1000, 1010))
    assert await _events(jp_fetch, finished_run.id, after=8) == ([1008, 1009], 10)
    replacement = finished_run.path / "events.new"
    replacement.write_text(
        "".join(
            json.dumps({"t": 3.0, "type": "epoch", "epoch": e, "metrics": {}}) + "\n" for e in range(40, 60)
        )
    )
    os.replace(replacement, finished_run.events_path)
    assert await _events(jp_fetch, finished_run.id, after=18) == ([58, 59], 20)


@pytest.mark.parametrize("count", [0, 1, 499, 500, 1201])
def test_events_page_is_encoded_in_slices_exactly_as_one_json_dumps(count):
    events = [
        {"t": 1.5, "type": "batch", "step": step, "metrics": {"loss": float("nan") if step == 3 else 0.25}}
        for step in range(count)
    ]
    assert encode_events_page(events, count + 7) == json.dumps(
        {"events": events, "next": count + 7}, default=str
    )
