"""Start a real ``jupyter server`` with Lepton Lab in a subprocess, for tests that call it synchronously.

pytest-jupyter's server runs in the test's own event loop, so a blocking client (requests,
schemathesis) would deadlock it; this one runs in its own process on a free port.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.lab_server import LabServer, _wait_until_up, free_port

TOKEN = "lepton-api-token"
REPO = Path(__file__).resolve().parent.parent


@contextmanager
def running_server(root: Path, extra_args: tuple[str, ...] = ()) -> Iterator[LabServer]:
    """Run ``jupyter server`` on ``root`` (runs in ``root/lepton-runs``) until the block ends."""
    port = free_port()
    runs_dir = root / "lepton-runs"
    log = root.parent / f"jupyter-server-{port}.log"
    args = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--no-browser",
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={TOKEN}",
        "--ServerApp.allow_unauthenticated_access=False",
        "--ServerApp.jpserver_extensions={'lepton_lab': True}",
        f"--LeptonLabApp.runs_dir={runs_dir}",
        *extra_args,
    ]
    if os.geteuid() == 0:
        args.append("--allow-root")
    env = {
        **os.environ,
        "JUPYTER_PLATFORM_DIRS": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        # Test doubles (tests.fakes) are importable from the repository root.
        "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    with log.open("w") as out:
        proc = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_up(url, TOKEN, proc, log)
        yield LabServer(url, TOKEN, root, runs_dir, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


#: Executor that completes every job at once (tests.fakes), so fuzzing creates jobs cheaply.
INSTANT_EXECUTOR = "--LeptonLabApp.executor_class=tests.fakes.InstantExecutor"

#: Checks the conformance run leaves out: Jupyter answers a missing token with 403 (documented),
#: where ``missing_required_header`` wants 401; ``positive_data_acceptance`` cannot hold for
#: ``folder:`` datasets, which must exist under an allowed root (no schema can say which).
EXCLUDED_CHECKS = ("missing_required_header", "positive_data_acceptance")


def schemathesis_command(
    server: LabServer, max_examples: int, seed: int, phases: str, report_dir: Path | None = None
) -> list[str]:
    """``st run`` against ``server``'s openapi.json: every check but :data:`EXCLUDED_CHECKS`."""
    command = [
        str(Path(sys.executable).with_name("st")),
        "run",
        f"{server.url}lepton-lab/api/openapi.json",
        f"--url={server.url}",
        f"--header=Authorization: token {server.token}",
        f"--max-examples={max_examples}",
        f"--seed={seed}",
        f"--phases={phases}",
        "--checks=all",
        f"--exclude-checks={','.join(EXCLUDED_CHECKS)}",
        # WebSocket routes are documented as GET with 101; an HTTP fuzzer cannot upgrade.
        "--exclude-path-regex=stream$",
        "--workers=1",
        "--no-shrink",
        "--suppress-health-check=all",
    ]
    if report_dir is not None:
        command += ["--report=har", f"--report-har-path={report_dir / 'requests.har'}"]
    return command
