"""Property-based conformance: schemathesis against a real server finds no 5xx and no schema mismatch.

The server runs in a subprocess (schemathesis' client blocks), with an executor that completes
every job at once, so fuzzing creates, lists, cancels, resumes and deletes real jobs cheaply.
Examples are bounded and the seed fixed, so the run is deterministic and takes well under a minute.
``bench/bench_api_conformance.py`` runs the same with thousands of requests.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.api_server import INSTANT_EXECUTOR, running_server, schemathesis_command

pytest.importorskip("schemathesis")


def test_api_answers_match_openapi_for_generated_requests(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    with running_server(root, (INSTANT_EXECUTOR,)) as server:
        # Stateful sequences depend on the ids the server hands out (time-stamped, random): they
        # run in bench/bench_api_conformance.py, not here, so this test is the same on every run.
        command = schemathesis_command(server, max_examples=6, seed=16, phases="coverage,fuzzing")
        run = subprocess.run(command, capture_output=True, text=True, timeout=240)
        log = server.log.read_text()
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
    assert "Traceback" not in log, log[-4000:]
