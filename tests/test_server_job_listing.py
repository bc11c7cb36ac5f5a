"""GET jobs from memory: the kept answer is rebuilt exactly when a job's listed state changes."""

from __future__ import annotations

import json

from lepton_lab.server.job_listing import encode_listing
from lepton_lab.server.jobs import JobManager
from tests.fakes import InstantExecutor

SPEC = {"name": "listed", "dataset": {"name": "digits"}, "train": {"epochs": 3}}


def test_listing_changes_with_queue_progress_and_cancel_and_matches_list_jobs(runs_dir):
    manager = JobManager(runs_dir, executor=InstantExecutor())
    manager.recover()
    first = manager.submit(SPEC)["id"]
    queued = manager.listing()
    assert manager.listing() is queued  # nothing changed: the kept answer
    assert queued == encode_listing(manager.list_jobs())

    second = manager.submit(SPEC)["id"]
    two = manager.listing()
    assert [job["id"] for job in json.loads(two.body)["jobs"]] == [second, first]
    assert two.etag != queued.etag

    job = manager._jobs[first]
    job.status = "running"  # as the scheduler marks it before its worker starts
    with open(job.run.events_path, "a") as handle:
        handle.write(json.dumps({"t": 5.0, "type": "batch", "step": 7, "epoch": 1, "metrics": {}}) + "\n")
    running = manager.listing()
    assert running != two
    manager.context.pump(job)  # its worker reported progress
    progressed = manager.listing()
    assert progressed != running and progressed == encode_listing(manager.list_jobs())
    assert json.loads(progressed.body)["jobs"][1]["progress"]["step"] == 7

    manager.cancel(second)  # queued: cancelled at once, written to the index
    cancelled = manager.listing(["cancelled"])
    assert [job["id"] for job in json.loads(cancelled.body)["jobs"]] == [second]
    assert manager.listing() == encode_listing(manager.list_jobs())
    assert manager.listing(["failed"]) == encode_listing([])
