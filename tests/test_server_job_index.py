"""The SQLite job index: rebuilt from run directories, robust to loss and corruption."""

from __future__ import annotations

import sqlite3

from lepton_lab.core.rundir import RunDir
from lepton_lab.server.job_index import INDEX_FILE, JobStore

SPEC = {"name": "tiny", "tags": ["a"], "dataset": {"name": "digits"}, "train": {"epochs": 3}}


def test_index_is_rebuilt_from_run_directories(tmp_path):
    done = RunDir.create(tmp_path, SPEC)
    done.write_status(status="completed", epoch=3, exit_code=0)
    waiting = RunDir.create(tmp_path, {**SPEC, "name": "waiting"})
    store = JobStore(tmp_path / INDEX_FILE)

    assert store.rebuild(tmp_path) == 2
    record = store.get(done.id)
    assert record["status"] == "completed" and record["epoch"] == 3 and record["exit_code"] == 0
    assert record["name"] == "tiny" and record["tags"] == ["a"] and record["dataset"] == "digits"
    assert [r["id"] for r in store.list(["queued"])] == [waiting.id]
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_rebuild_drops_runs_whose_directory_is_gone_and_keeps_server_fields(tmp_path):
    run = RunDir.create(tmp_path, SPEC)
    gone = RunDir.create(tmp_path, SPEC)
    store = JobStore(tmp_path / INDEX_FILE)
    store.rebuild(tmp_path)
    store.put(run.id, status="running", pid=4242, worker={"kind": "local", "pid": 4242, "create_time": 123.5})
    for path in sorted(gone.path.iterdir()):
        path.unlink()
    gone.path.rmdir()

    store.rebuild(tmp_path)
    assert store.get(gone.id) is None
    record = store.get(run.id)
    # status.json says queued (a worker not yet started writes nothing): the server's pid stays
    assert record["status"] == "queued" and record["pid"] == 4242
    assert record["worker"] == {"kind": "local", "pid": 4242, "create_time": 123.5}


def test_corrupt_index_is_replaced_and_rebuilt(tmp_path):
    run = RunDir.create(tmp_path, SPEC)
    (tmp_path / INDEX_FILE).write_bytes(b"this is not a database" * 100)
    store = JobStore(tmp_path / INDEX_FILE)
    store.rebuild(tmp_path)
    assert store.get(run.id)["status"] == "queued"
    assert list(tmp_path.glob(f"{INDEX_FILE}.corrupt-*"))
    sqlite3.connect(tmp_path / INDEX_FILE).execute("SELECT count(*) FROM jobs").fetchone()


def test_an_older_index_with_pid_columns_is_migrated_to_worker_refs(tmp_path):
    run = RunDir.create(tmp_path, SPEC)
    db = sqlite3.connect(tmp_path / INDEX_FILE)
    db.execute(
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, status TEXT NOT NULL, run_dir TEXT NOT NULL, "
        "pid INTEGER, pid_create_time REAL)"
    )
    db.execute("INSERT INTO jobs VALUES (?, 'running', ?, 4242, 123.5)", (run.id, str(run.path)))
    db.commit()
    db.close()

    record = JobStore(tmp_path / INDEX_FILE).get(run.id)
    assert record["worker"] == {"kind": "local", "pid": 4242, "create_time": 123.5}
    assert "pid_create_time" not in record and record["pid"] == 4242
