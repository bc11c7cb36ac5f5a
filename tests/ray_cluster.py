"""A real two-node Ray cluster on this machine, for the RayExecutor tests.

Two nodes on one host: a head (``ray start --head``) and a second node joining it
(``ray start --address HEAD``), each with its own ``--temp-dir`` (its sockets and logs) and a
custom resource naming it (``{"head": 1}``, ``{"node2": 1}``) so a test can place a job on either.
Each ``ray start --block`` runs in a session of its own, so stopping a node signals exactly that
node's processes (``ray stop`` would stop every Ray process on the machine, other people's too):
:meth:`RayCluster.lose_node` SIGKILLs the second node's whole process group, the way a machine
that loses power or its network disappears from a cluster.

Sizes are kept small for a busy 2-core CI machine: one CPU per node, no dashboard, a 100 MB
object store (Ray's minimum is about 75 MB).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Seconds one attempt at starting a node may take (20-35 s measured on 2 busy cores).
START_TIMEOUT_S = 120.0
#: Times a node is started before giving up. ``ray start`` gives its raylet a fixed 30 s to
#: register (``ray/_private/node.py``, not configurable), and each node first starts Python agents
#: that import Ray; on two cores shared with other test runs that can take longer, so a node that
#: timed out is started again rather than failing a test on the machine's load.
START_ATTEMPTS = 3
#: Seconds the processes of a node get to exit after SIGTERM before SIGKILL.
STOP_GRACE_S = 10.0
OBJECT_STORE_BYTES = 100_000_000

#: One CPU per node, no GPU, the smallest object store Ray accepts comfortably.
SIZE = ["--num-cpus", "1", "--num-gpus", "0", "--object-store-memory", str(OBJECT_STORE_BYTES)]
#: The ``ray`` command of the Python running the tests (the ``ray`` extra installs it).
RAY = str(Path(sys.executable).with_name("ray"))


class RayClusterError(RuntimeError):
    """The local Ray cluster could not start; the message says why, with the node's log tail."""


@dataclass
class RayNode:
    """One ``ray start --block`` process and, in its process group, everything it started."""

    name: str
    temp_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    node_id: str = ""

    def alive(self) -> bool:
        """Whether ``ray start --block`` still runs (it exits when a node process dies)."""
        return self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Send ``sig`` to the node's process group, wait, then SIGKILL whatever is left."""
        _signal_group(self.process.pid, sig)
        try:
            self.process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            pass
        _signal_group(self.process.pid, signal.SIGKILL)  # raylet children that outlived the CLI
        self.process.wait(timeout=STOP_GRACE_S)

    def log_tail(self, lines: int = 30) -> str:
        """The end of ``ray start``'s output, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class RayCluster:
    """A running local cluster: its address and its two nodes (with their Ray node ids)."""

    address: str
    head: RayNode
    second: RayNode

    def lose_node(self) -> None:
        """Kill the second node abruptly (SIGKILL to its process group): a node lost mid-job."""
        self.second.stop(signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _start_node(name: str, root: Path, args: list[str], env: dict[str, str]) -> RayNode:
    temp_dir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=root))
    log_path = temp_dir.with_suffix(".log")
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [RAY, "start", "--block", "--disable-usage-stats", "--temp-dir", str(temp_dir), *SIZE, *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group: stopping it stops only this node
        )
    return RayNode(name, temp_dir, process, log_path)


def _start_ready_node(
    name: str,
    root: Path,
    args: list[str],
    env: dict[str, str],
    what: str,
    ready: Callable[[RayNode], bool],
    started: list[RayNode],
) -> RayNode:
    """Start a node until ``ready(node)`` holds, at most :data:`START_ATTEMPTS` times."""
    failures: list[str] = []
    for attempt in range(1, START_ATTEMPTS + 1):
        node = _start_node(name, root, args, env)
        started.append(node)
        deadline = time.monotonic() + START_TIMEOUT_S
        while node.alive() and time.monotonic() < deadline:
            if ready(node):
                return node
            time.sleep(0.2)
        reason = f"exited with code {node.process.returncode}" if not node.alive() else "timed out"
        failures.append(f"attempt {attempt}: ray start {reason} before it could {what}:\n{node.log_tail()}")
        node.stop()
    raise RayClusterError(f"the {name} Ray node could not start on this machine\n" + "\n".join(failures))


def _import_speedup(root: Path) -> Path:
    """A directory that, first on ``PYTHONPATH``, hides ``rfc3987_syntax`` from the Ray processes.

    jsonschema (which Ray's runtime-env code imports) loads ``rfc3987_syntax`` when it is
    installed, as JupyterLab's ``jsonschema[format-nongpl]`` does, and that builds a Lark grammar
    at import: 3.2 s of the 4.7 s ``import ray`` took here. A node starts about five Python
    processes that import Ray at once, and on two busy cores that pushed ``ray start`` past its
    fixed 30 s. Without the module jsonschema only skips checking the ``iri`` format, which
    nothing here uses.
    """
    path = root / "import-speedup"
    path.mkdir()
    (path / "rfc3987_syntax.py").write_text(
        'raise ImportError("hidden from Ray test nodes for start-up speed")\n'
    )
    return path


def _head_address(temp_dir: Path) -> str | None:
    # `ray start` writes the GCS address here once the head is up (ray._private.utils.write_ray_address).
    try:
        return (temp_dir / "ray_current_cluster").read_text().strip() or None
    except FileNotFoundError:
        return None


def _alive_nodes(address: str) -> list[dict[str, Any]]:
    import ray

    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False, logging_level="ERROR")
    return [node for node in ray.nodes() if node["Alive"]]


@contextmanager
def local_ray_cluster() -> Iterator[RayCluster]:
    """Start a head and a second node on this machine; yield the cluster; stop both.

    Raises
    ------
    RayClusterError
        When a node cannot start (the message holds the reason and the end of its log), so a
        test fails with the cause instead of skipping.
    """
    import ray

    # Unix socket paths must stay under 108 bytes: a short root, not pytest's deep tmp_path.
    root = Path(tempfile.mkdtemp(prefix="ll-ray-", dir="/tmp"))
    env = {
        **os.environ,
        "RAY_USAGE_STATS_ENABLED": "0",
        # The raylet waits this long for its agents (15 s by default, too short on 2 busy cores).
        "RAY_agent_register_timeout_ms": str(int(START_TIMEOUT_S * 1000)),
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_import_speedup(root)), env.get("PYTHONPATH")]))
    env.pop("RAY_ADDRESS", None)  # the second node joins the head started here, nothing else
    started: list[RayNode] = []
    try:
        head = _start_ready_node(
            "head",
            root,
            [
                "--head",
                "--port=0",
                # Ray's client server takes port 10001 by default: a free one lets two clusters
                # (two pytest-xdist workers) run side by side.
                f"--ray-client-server-port={_free_port()}",
                "--include-dashboard=false",
                "--resources",
                json.dumps({"head": 1}),
            ],
            env,
            "write its address",
            lambda node: _head_address(node.temp_dir) is not None,
            started,
        )
        address = _head_address(head.temp_dir)
        assert address is not None
        second = _start_ready_node(
            "node2",
            root,
            ["--address", address, "--resources", json.dumps({"node2": 1})],
            env,
            "join the head",
            lambda node: any("node2" in found["Resources"] for found in _alive_nodes(address)),
            started,
        )
        for found in _alive_nodes(address):
            (second if "node2" in found["Resources"] else head).node_id = found["NodeID"]
        ray.shutdown()  # the code under test connects by itself
        yield RayCluster(address, head, second)
    finally:
        if ray.is_initialized():
            ray.shutdown()
        for node in reversed(started):
            node.stop()
        shutil.rmtree(root, ignore_errors=True)
