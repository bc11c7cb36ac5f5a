"""Jupyter servers with Lepton Lab for the benchmarks: this checkout's code, or an earlier commit's.

``export_package(ref)`` writes ``lepton_lab`` as it was at a git commit into a temporary
directory; a server started with that directory first on ``PYTHONPATH`` runs the old code, so a
benchmark can run the code before and after a change side by side, interleaving its requests.
"""

from __future__ import annotations

import asyncio
import io
import os
import socket
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

from tornado.httpclient import AsyncHTTPClient

TOKEN = "bench-token"
HEADERS = {"Authorization": f"token {TOKEN}"}
REPO = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def export_package(ref: str, into: Path) -> Path:
    """Write ``lepton_lab/`` as of git commit ``ref`` under ``into``; return ``into``."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", ref, "lepton_lab"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class LabServer:
    """A ``jupyter server`` subprocess with Lepton Lab on ``runs_dir``.

    Parameters
    ----------
    root
        Server root (its log goes there too).
    runs_dir
        Lepton Lab's runs directory.
    package_root
        Directory holding the ``lepton_lab`` to run (an :func:`export_package`); None: this checkout.
    args
        Extra command-line arguments (an executor class, job slots).
    """

    def __init__(
        self, root: Path, runs_dir: Path, package_root: Path | None = None, args: tuple[str, ...] = ()
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.ws = f"ws://127.0.0.1:{self.port}/"
        self.runs_dir = runs_dir
        command = [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            f"--port={self.port}",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.root_dir={root}",
            f"--IdentityProvider.token={TOKEN}",
            "--ServerApp.log_level=WARN",
            "--ServerApp.jpserver_extensions={'lepton_lab': True}",
            f"--LeptonLabApp.runs_dir={runs_dir}",
            *args,
        ]
        if os.geteuid() == 0:
            command.append("--allow-root")
        paths = [str(package_root)] if package_root else []
        paths += [str(REPO), str(BENCH), *filter(None, [os.environ.get("PYTHONPATH")])]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": os.pathsep.join(paths)}
        self.log = open(root / f"server-{self.port}.log", "w")  # closed in stop()
        # Not started in the checkout: ``python -m`` puts its working directory first on sys.path,
        # which would shadow package_root's lepton_lab with this checkout's.
        self.proc = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=root)
        # Which lepton_lab that environment imports (checks that package_root really is the one run).
        where = [sys.executable, "-c", "import lepton_lab; print(lepton_lab.__file__)"]
        self.package = Path(
            subprocess.run(where, env=env, cwd=root, capture_output=True, text=True).stdout.strip()
        )
        if package_root is not None and package_root not in self.package.parents:
            raise RuntimeError(f"the server would import {self.package}, not the one in {package_root}")

    async def wait_up(self) -> None:
        client = AsyncHTTPClient()
        for _ in range(600):
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log.name}")
            try:
                await client.fetch(self.url + "lepton-lab/api/status", headers=HEADERS)
                return
            except Exception:
                await asyncio.sleep(0.2)
        raise RuntimeError(f"server did not start; see {self.log.name}")

    async def get(self, path: str, **kwargs: Any) -> tuple[float, bytes]:
        """GET ``path`` (relative to the server); return (milliseconds, body)."""
        start = asyncio.get_running_loop().time()
        response = await AsyncHTTPClient().fetch(self.url + path, headers=HEADERS, **kwargs)
        return (asyncio.get_running_loop().time() - start) * 1000, response.body

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
