"""Managing runs through the REST API: PATCH jobs/{id} (name, note, archived), DELETE jobs/{id}/run.

Nothing trains: finished run directories are written before the server starts, and the one
"running" job runs in an executor whose workers only wait (cheap and deterministic).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

import lepton_lab.client as client_module
from lepton_lab.core.deletion import ActiveRunError, delete_run
from lepton_lab.core.run_store import load_run
from lepton_lab.core.rundir import RunDir
from lepton_lab.server.executors import Executor, WorkerExit, WorkerHandle
from tests.conftest import TOKEN

TINY = {"name": "tiny", "tags": ["sweep"], "dataset": {"name": "digits"}, "train": {"epochs": 2}}


class WaitingWorker(WorkerHandle):
    """A worker that runs until it is told to stop."""

    def __init__(self) -> None:
        self.code: int | None = None

    def poll(self) -> WorkerExit | None:
        return None if self.code is None else WorkerExit(self.code)

    def terminate(self) -> None:
        self.code = -15

    def kill(self) -> None:
        self.code = -9

    def ref(self) -> dict[str, Any]:
        return {"kind": "waiting"}


class WaitingExecutor(Executor):
    """Starts :class:`WaitingWorker` s instead of processes."""

    def start(self, run: RunDir, env: dict[str, str], cwd: Any, resources: Any = None) -> WorkerHandle:
        run.write_status(status="running")
        return WaitingWorker()

    def attach(self, run: RunDir, ref: dict[str, Any]) -> WorkerHandle | None:
        return None


@pytest.fixture
def finished(runs_dir: Path) -> RunDir:
    run = RunDir.create(runs_dir, TINY)
    run.write_status(status="completed", epoch=2, exit_code=0)
    run.model_path.write_bytes(b"PK model")
    return run


@pytest.fixture
def active(runs_dir: Path) -> RunDir:
    """Queued when the server starts: the waiting executor keeps it running."""
    return RunDir.create(runs_dir, {**TINY, "name": "busy"})


@pytest.fixture
def jp_server_config(jp_server_config, finished, active):
    config = json.loads(json.dumps(jp_server_config))
    config["LeptonLabApp"]["executor_class"] = f"{__name__}.WaitingExecutor"
    return config


async def _json(fetch, *path: str, **kwargs: Any) -> Any:
    response = await fetch("lepton-lab", "api", *path, **kwargs)
    return json.loads(response.body) if response.body else None


async def _error(fetch, *path: str, **kwargs: Any) -> tuple[int, str]:
    with pytest.raises(HTTPClientError) as excinfo:
        await fetch("lepton-lab", "api", *path, **kwargs)
    body = excinfo.value.response.body if excinfo.value.response else b""
    return excinfo.value.code, json.loads(body or b"{}").get("message", "")


def _patch(body: Any) -> dict[str, Any]:
    return {"method": "PATCH", "body": json.dumps(body)}


async def test_patch_renames_notes_and_archives_and_the_list_and_disk_agree(jp_fetch, finished):
    job = await _json(jp_fetch, "jobs", finished.id, **_patch({"name": "Lesson 1", "note": "good\nrun"}))
    assert (job["id"], job["name"], job["note"], job["archived"]) == (
        finished.id,
        "Lesson 1",
        "good\nrun",
        False,
    )
    job = await _json(jp_fetch, "jobs", finished.id, **_patch({"archived": True}))
    assert job["name"] == "Lesson 1" and job["archived"] is True

    listed = {j["id"]: j for j in (await _json(jp_fetch, "jobs"))["jobs"]}
    assert listed[finished.id]["note"] == "good\nrun" and listed[finished.id]["archived"] is True
    stored = json.loads((finished.path / "meta.json").read_text())
    assert stored["name"] == "Lesson 1" and stored["archived"] is True
    assert json.loads(finished.spec_path.read_text())["name"] == "tiny"  # as trained

    job = await _json(jp_fetch, "jobs", finished.id, **_patch({"name": None, "note": "", "archived": False}))
    assert (job["name"], job["note"], job["archived"]) == ("tiny", None, False)


async def test_an_active_job_can_be_renamed(jp_fetch, active):
    job = await _json(jp_fetch, "jobs", active.id, **_patch({"name": "still training"}))
    assert job["name"] == "still training" and job["status"] in ("queued", "running")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"name": "x" * 201}, ["name", "200"]),
        ({"note": "x" * 10_001}, ["note", "10,000"]),
        ({"archived": "yes"}, ["archived"]),
        ({"status": "completed"}, ["status", "only name, note, archived"]),
        ({}, ["nothing to change"]),
        (["name"], ["expected a JSON object"]),
    ],
)
async def test_bad_patches_are_400_naming_the_problem(jp_fetch, finished, body, words):
    code, message = await _error(jp_fetch, "jobs", finished.id, **_patch(body))
    assert code == 400
    assert all(word in message for word in words), message
    assert not (finished.path / "meta.json").exists()


async def test_patch_and_delete_of_an_unknown_job_are_404(jp_fetch):
    assert (await _error(jp_fetch, "jobs", "no-such-job", **_patch({"name": "x"})))[0] == 404
    assert (await _error(jp_fetch, "jobs", "no-such-job", "run", method="DELETE"))[0] == 404
    assert (await _error(jp_fetch, "jobs", "..", "run", method="DELETE"))[0] == 404


async def test_delete_run_removes_the_directory_and_the_job(jp_fetch, runs_dir, finished, active):
    response = await jp_fetch("lepton-lab", "api", "jobs", finished.id, "run", method="DELETE")
    assert response.code == 204 and not response.body
    assert not finished.path.exists()
    assert active.path.is_dir()
    assert sorted(p.name for p in runs_dir.iterdir() if not p.name.startswith(".")) == [active.id]
    assert [j["id"] for j in (await _json(jp_fetch, "jobs"))["jobs"]] == [active.id]
    assert (await _error(jp_fetch, "jobs", finished.id))[0] == 404


async def test_delete_of_an_active_job_is_409_cancel_it_first(jp_fetch, active):
    code, message = await _error(jp_fetch, "jobs", active.id, "run", method="DELETE")
    assert code == 409 and "cancel it first" in message
    assert active.path.is_dir()


async def test_delete_jobs_id_still_means_cancel(jp_fetch, active):
    job = await _json(jp_fetch, "jobs", active.id, method="DELETE")
    assert job["cancel_requested"] is True and active.path.is_dir()


async def test_patch_and_delete_refuse_requests_without_token(jp_fetch, finished):
    no_token = {"Authorization": ""}
    assert (await _error(jp_fetch, "jobs", finished.id, headers=no_token, **_patch({"name": "x"})))[0] == 403
    assert (await _error(jp_fetch, "jobs", finished.id, "run", method="DELETE", headers=no_token))[0] == 403
    assert finished.path.is_dir() and not (finished.path / "meta.json").exists()


async def test_stream_tells_clients_about_renames_and_deletions(jp_fetch, jp_ws_fetch, finished):
    ws = await jp_ws_fetch("lepton-lab", "api", "stream")
    snapshot = json.loads(await ws.read_message())
    assert snapshot["type"] == "snapshot"
    await _json(jp_fetch, "jobs", finished.id, **_patch({"name": "renamed elsewhere"}))
    await jp_fetch("lepton-lab", "api", "jobs", finished.id, "run", method="DELETE")
    seen = []
    while not any(m.get("type") == "deleted" for m in seen):
        seen.append(json.loads(await ws.read_message()))
    renamed = [m["job"] for m in seen if m["type"] == "status" and m["job"]["id"] == finished.id]
    assert renamed and renamed[0]["name"] == "renamed elsewhere"
    assert seen[-1] == {"type": "deleted", "id": finished.id}
    ws.close()


async def test_changes_made_on_disk_by_another_process_reach_the_index(jp_serverapp, jp_fetch, finished):
    load_run(finished.path).rename("renamed in a kernel")
    manager = _manager(jp_serverapp)
    manager._full_scan_at = 0.0  # the next scan is a full one, as every 15 s
    manager.scan()
    assert (await _json(jp_fetch, "jobs", finished.id))["name"] == "renamed in a kernel"
    delete_run(finished.id, confirm=False, runs_dir=finished.path.parent)
    manager.scan()  # the runs directory changed: a full scan at once
    assert (await _error(jp_fetch, "jobs", finished.id))[0] == 404


def _manager(jp_serverapp):
    return jp_serverapp.extension_manager.extension_points["lepton_lab"].app.job_manager


async def test_python_client_renames_archives_and_deletes_with_confirmation(
    http_server_client, jp_http_port, jp_base_url, finished, active, monkeypatch
):
    client = client_module.LabClient(f"http://127.0.0.1:{jp_http_port}{jp_base_url}", token=TOKEN)
    job = await asyncio.to_thread(client.job, finished.id)
    await asyncio.to_thread(job.rename, "from python")
    await asyncio.to_thread(job.set_note, "a note")
    await asyncio.to_thread(job.archive)
    assert (job.info["name"], job.info["note"], job.info["archived"]) == ("from python", "a note", True)
    await asyncio.to_thread(job.unarchive)
    assert job.info["archived"] is False

    prompts: list[str] = []
    monkeypatch.setattr("builtins.input", lambda prompt: prompts.append(prompt) or "n")
    assert await asyncio.to_thread(job.delete) is False and finished.path.is_dir()
    assert prompts == [f"Delete run {finished.id} (from python, 0.00 MB)? [y/N] "]
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    assert await asyncio.to_thread(job.delete) is True and not finished.path.exists()

    busy = await asyncio.to_thread(client.job, active.id)
    with pytest.raises(ActiveRunError, match="cancel it first"):
        await asyncio.to_thread(busy.delete, confirm=False)
    assert active.path.is_dir()
