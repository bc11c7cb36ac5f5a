"""One schema source: jobs, events, statuses and layers are pydantic models, and everything else is derived.

openapi.json's components, the SQLite index's columns, the status tuples Python tests against and
labextension/src/types.ts all come from the models, so adding a field means editing one model.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import get_args

import pytest
from pydantic import Field, ValidationError
from tornado.httpclient import HTTPClientError

import lepton_lab.client as client_module
from lepton_lab.core import job_status, rundir
from lepton_lab.core.event_schema import EVENT_TYPES, StatusEvent, validate_event
from lepton_lab.core.events import read_events
from lepton_lab.server import job_index, job_schema, jobs, openapi, ts_schema
from lepton_lab.server.job_index import COLUMNS, JobStore
from lepton_lab.server.job_schema import IndexRow, Job, sqlite_columns
from tests.sharing import trained_run

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "labextension" / "scripts" / "gen-types.mjs"
needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "node_modules" / "json-schema-to-typescript").is_dir(),
    reason="node or node_modules missing (make install)",
)


def test_status_tuples_everywhere_are_the_literal_types_of_the_models():
    assert get_args(Job.model_fields["status"].annotation) == job_status.STATUSES
    assert get_args(StatusEvent.model_fields["status"].annotation) == job_status.STATUSES
    assert set(job_status.ACTIVE_STATUSES) | set(job_status.FINISHED_STATUSES) == set(job_status.STATUSES)
    assert set(job_status.RESUMABLE_STATUSES) < set(job_status.FINISHED_STATUSES)
    # The names importers use are the same objects, not copies that could drift.
    assert rundir.STATUSES is job_status.STATUSES and rundir.ORIGINS is job_status.ORIGINS
    assert rundir.FINISHED_STATUSES is client_module.FINISHED_STATUSES is job_status.FINISHED_STATUSES
    assert jobs.ACTIVE_STATUSES is job_status.ACTIVE_STATUSES
    assert jobs.RESUMABLE_STATUSES is job_status.RESUMABLE_STATUSES
    schemas = openapi.openapi_document()["components"]["schemas"]
    assert schemas["Job"]["properties"]["status"]["enum"] == list(job_status.STATUSES)
    assert [ref["$ref"].rsplit("/", 1)[1] for ref in schemas["Event"]["oneOf"]] == [
        f"{kind.capitalize()}Event" for kind in EVENT_TYPES
    ]


def test_the_index_columns_are_the_index_row_model():
    assert COLUMNS == sqlite_columns(IndexRow)
    assert COLUMNS["id"] == "TEXT PRIMARY KEY" and COLUMNS["run_dir"] == "TEXT NOT NULL"
    assert (COLUMNS["tags"], COLUMNS["archived"], COLUMNS["worker"]) == ("TEXT", "INTEGER", "TEXT")
    assert set(job_schema.INDEX_ONLY) == {"worker", "meta_mtime", "updated"}


def test_a_field_added_to_the_model_becomes_a_column_of_an_existing_index(tmp_path, monkeypatch):
    path = tmp_path / "index.sqlite"
    JobStore(path).close()  # an index written before the field existed

    class Row(IndexRow):
        eta_s: float | None = Field(None, description="Seconds left.")

    monkeypatch.setattr(job_index, "COLUMNS", sqlite_columns(Row))
    store = JobStore(path)
    store.put("a", status="running", run_dir=str(tmp_path), eta_s=12.5)
    assert store.get("a")["eta_s"] == 12.5
    store.close()
    with sqlite3.connect(path) as db:
        assert ("eta_s", "REAL") in [(row[1], row[2]) for row in db.execute("PRAGMA table_info(jobs)")]


@needs_node
def test_a_field_added_to_the_job_model_reaches_openapi_and_the_typescript_types(tmp_path, monkeypatch):
    class ExtendedJob(Job):
        eta_s: float | None = Field(None, description="Seconds left, by the panel's rule.")

    monkeypatch.setattr(openapi, "Job", ExtendedJob)
    document = openapi.openapi_document()
    assert document["components"]["schemas"]["ExtendedJob"]["properties"]["eta_s"]["description"]
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps(ts_schema.typescript_schema()))
    out = tmp_path / "types.ts"
    subprocess.run(
        ["node", str(GENERATOR), "--schema", str(bundle), "--out", str(out)], check=True, capture_output=True
    )
    interface = re.search(r"export interface IExtendedJob \{(.*?)\n\}", out.read_text(), re.S)
    assert interface and re.search(r"eta_s\?: number \| null;", interface.group(1))


@needs_node
def test_the_committed_typescript_types_are_generated_from_the_current_models():
    done = subprocess.run(["node", str(GENERATOR), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@needs_node
def test_stale_typescript_types_fail_the_check_with_the_command_that_fixes_them(tmp_path):
    stale = tmp_path / "types.ts"
    stale.write_text((ROOT / "labextension" / "src" / "types.ts").read_text().replace("IJob ", "IOldJob "))
    done = subprocess.run(
        ["node", str(GENERATOR), "--check", "--out", str(stale)], capture_output=True, text=True
    )
    assert done.returncode == 1 and "jlpm gen:types" in done.stderr


def test_every_event_a_real_run_writes_is_a_member_of_the_event_union(tmp_path_factory):
    pytest.importorskip("keras")
    events, _ = read_events(Path(trained_run(tmp_path_factory)) / "events.jsonl")
    parsed = [validate_event(event) for event in events]
    assert {event.type for event in parsed} == set(EVENT_TYPES)  # all five kinds occur
    assert type(parsed[0]).__name__ == "StatusEvent"


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"t": 1.0, "type": "status", "status": "done"}, "status"),
        ({"t": 1.0, "type": "metric"}, "type"),
        ({"t": 1.0, "type": "log"}, "message"),
        ({"t": 1.0, "type": "batch", "metrics": {"loss": "low"}}, "metrics"),
    ],
)
def test_an_event_outside_the_schema_is_refused_naming_the_field(event, field):
    with pytest.raises(ValidationError) as info:
        validate_event(event)
    assert field in str(info.value)


TINY = {"name": "tiny", "dataset": {"name": "digits"}, "train": {"epochs": 1}}


@pytest.fixture
def finished_run(runs_dir: Path) -> rundir.RunDir:
    run = rundir.RunDir.create(runs_dir, TINY)
    run.write_status(status="completed", epoch=1, exit_code=0)
    return run


@pytest.fixture
def jp_server_config(jp_server_config, finished_run):
    return jp_server_config


async def test_every_job_the_api_returns_is_a_job_of_the_model(jp_fetch, finished_run):
    listed = json.loads((await jp_fetch("lepton-lab", "api", "jobs")).body)["jobs"]
    one = json.loads((await jp_fetch("lepton-lab", "api", "jobs", finished_run.id)).body)
    for view in [*listed, one]:
        Job.model_validate(view)  # extra="forbid": a field the model lacks fails here
    assert one["spec"]["name"] == "tiny" and not set(job_schema.INDEX_ONLY) & set(one)


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        (
            {"type": "Dense", "units": 0},
            "model.layers.0 (Dense): units: input should be greater than or equal to 1",
        ),
        (
            {"type": "Conv2D", "kernel_size": 3},
            "model.layers.0 (Conv2D): missing required argument 'filters'",
        ),
        ({"type": "Lambda"}, "model.layers.0: unknown layer type 'Lambda'; use one of Conv2D"),
    ],
)
async def test_a_job_with_a_bad_layer_argument_is_a_400_naming_it_and_the_fix(jp_fetch, layer, message):
    body = {**TINY, "model": {"layers": [layer]}}
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("lepton-lab", "api", "jobs", method="POST", body=json.dumps(body))
    assert info.value.code == 400
    assert message in json.loads(info.value.response.body)["message"]
