"""Start a real JupyterLab (with Lepton Lab) in a subprocess for browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

TOKEN = "lepton-browser-token"


class LabServer(NamedTuple):
    """A running JupyterLab: where it is and how to get in."""

    url: str  # base URL, ending with "/"
    token: str
    root: Path
    runs_dir: Path
    log: Path

    def lab_url(self, path: str = "lab") -> str:
        """URL of a Lab page with the token, so the browser is logged in."""
        return f"{self.url}{path}?token={self.token}"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, token: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(
        f"{url}lepton-lab/api/status", headers={"Authorization": f"token {token}"}
    )
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"jupyter lab did not answer within {timeout}s:\n{log.read_text()[-3000:]}")


@contextmanager
def running_lab(
    root: Path, base_url: str = "/", extra_args: tuple[str, ...] = (), port: int | None = None
) -> Iterator[LabServer]:
    """Run ``jupyter lab`` on ``root`` until the block ends (on ``port``, or a free one)."""
    port = port or free_port()
    runs_dir = root / "lepton-runs"
    log = root.parent / f"jupyter-lab-{port}.log"
    args = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={root}",
        f"--ServerApp.base_url={base_url}",
        f"--IdentityProvider.token={TOKEN}",
        "--ServerApp.allow_unauthenticated_access=False",
        f"--LeptonLabApp.runs_dir={runs_dir}",
        # A workspace of its own: layouts saved by other test servers (open job views) stay out.
        f"--LabApp.workspaces_dir={root.parent / 'workspaces'}",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        *extra_args,
    ]
    if os.geteuid() == 0:
        args.append("--allow-root")
    env = {**os.environ, "JUPYTER_PLATFORM_DIRS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    with log.open("w") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}{base_url}"
    try:
        _wait_until_up(url, TOKEN, proc, log)
        yield LabServer(url, TOKEN, root, runs_dir, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
