"""RayExecutor: each job's worker runs on a node of a Ray cluster.

Select it with ``c.LeptonLabApp.executor_class = "lepton_lab.server.ray_executor.RayExecutor"``
and point it at the cluster with ``c.RayExecutor.ray_address`` (default ``"auto"``: the
``RAY_ADDRESS`` environment variable, else the cluster started on this machine with
``ray start``). ``pip install "lepton-lab[ray]"`` installs Ray; every node needs the same Python
environment (lepton-lab and TensorFlow), as for any Ray workload.

Each job runs as a detached, named Ray actor (:class:`JobActor`, name ``lepton-lab-<run id>`` in
the namespace ``lepton-lab``) that asks Ray for the job's CPUs and GPUs, lands on whichever node
has them, and runs ``python -m lepton_lab.core.worker RUN_DIR`` there as a subprocess in a session
of its own, exactly as the local executor does. The actor only supervises: it signals the
subprocess's process group on cancel and reports its exit code. Because it is detached and named,
it outlives the Jupyter server, and a restarted server finds it again with ``ray.get_actor``;
the job index stores the actor's name, namespace and node (:meth:`RayWorker.ref`).

Requirement: a shared filesystem. The worker reports only through the run directory (events,
status, checkpoints, worker.log), and the server reads it, so the runs directory must be on a
filesystem every node mounts **at the same path** (NFS, CephFS, Lustre, an EFS/Filestore mount...),
for example ``c.LeptonLabApp.runs_dir = "/shared/lepton-runs"`` with ``/shared`` mounted on the
Jupyter host and every Ray node. A node that cannot see the run directory fails the job with a
message naming the node and the path. On a single machine (several nodes of a local cluster, as
the tests use) this holds by itself.

A node lost mid-job kills the actor, and with it the training subprocess (it dies with its
parent, ``PR_SET_PDEATHSIG``), so nothing keeps writing into the run directory; :meth:`RayWorker.poll`
then answers ``WorkerExit(code=None, interrupted=True)`` and Resume continues the run from its
last checkpoint on another node.

Ray is imported only when this executor first talks to the cluster, so selecting another executor
costs nothing, and nothing here imports TensorFlow (the worker subprocess does).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from traitlets import Dict, Float, Int, Unicode

from lepton_lab.core.rundir import RunDir
from lepton_lab.server.executors import WORKER_MODULE, Executor, WorkerExit, WorkerHandle

if TYPE_CHECKING:
    from lepton_lab.server.lifecycle import Job

#: Namespace the job actors live in, so their names cannot clash with other Ray applications'.
DEFAULT_NAMESPACE = "lepton-lab"
#: ``kind`` of the refs this executor's handles give (:meth:`RayWorker.ref`).
REF_KIND = "ray"
#: Prefix of each job actor's name; the rest is the run id.
ACTOR_PREFIX = "lepton-lab-"
#: Statuses a worker records when it ends by itself (see :mod:`lepton_lab.core.worker`).
_FINAL_STATUSES = ("completed", "failed", "cancelled")
#: ``prctl`` option: the signal a process receives when the thread that started it dies.
_PR_SET_PDEATHSIG = 1
#: How the server's environment for the worker places it on a GPU; on a cluster Ray decides that.
_GPU_PLACEMENT_VARS = ("CUDA_VISIBLE_DEVICES",)


class WorkerStartError(RuntimeError):
    """The job's actor could not start its worker (the message says where and why)."""


def actor_name(run: RunDir) -> str:
    """Return the name of the actor running ``run``: ``lepton-lab-<run id>``."""
    return f"{ACTOR_PREFIX}{run.id}"


# -- the actor (runs on a cluster node) -----------------------------------------------------------


def _package_parent() -> str:
    import lepton_lab

    return str(Path(lepton_lab.__file__).resolve().parent.parent)


class JobActor:
    """Supervises one worker subprocess on the node Ray placed this actor on.

    Created by :class:`RayExecutor` as ``ray.remote(JobActor)`` with ``lifetime="detached"``
    and ``max_concurrency`` > 1, so :meth:`wait` can block while :meth:`signal` and
    :meth:`info` are answered.

    Parameters
    ----------
    run_dir
        The run directory (on the shared filesystem).
    env
        Extra environment variables for the worker.
    cwd
        Working directory for the worker; the run directory when it does not exist on this node.
    linger_s
        Seconds the actor stays after its worker exited, so the server can read the exit code;
        then it ends itself and frees the job's CPUs and GPUs even if no server is running.
    """

    def __init__(self, run_dir: str, env: dict[str, str], cwd: str, linger_s: float) -> None:
        import ray

        self.node_id: str = ray.get_runtime_context().get_node_id()
        self.node_ip: str = ray.util.get_node_ip_address()
        self.pid: int | None = None
        self.error: str | None = None
        self.code: int | None = None
        self._exited = threading.Event()
        self._linger_s = linger_s
        started = threading.Event()
        threading.Thread(
            target=self._supervise, args=(run_dir, env, cwd, started), name="lepton-lab-worker", daemon=True
        ).start()
        started.wait()

    def _supervise(self, run_dir: str, env: dict[str, str], cwd: str, started: threading.Event) -> None:
        # The worker is started from this thread, which lives until the worker exits: the
        # worker's parent-death signal fires when the thread that forked it ends (prctl(2)).
        try:
            popen = self._spawn(RunDir(run_dir), env, cwd)
        except Exception as error:
            self.error = f"{type(error).__name__}: {error}"
            self._exited.set()
            started.set()
            self._linger()
            return
        self.pid = popen.pid
        started.set()
        self.code = popen.wait()
        self._exited.set()
        self._linger()

    def _spawn(self, run: RunDir, env: dict[str, str], cwd: str) -> subprocess.Popen[bytes]:
        if not run.spec_path.is_file():
            raise WorkerStartError(
                f"the run directory {run.path} is not visible on Ray node {self.node_ip} "
                f"({self.node_id[:12]}); the runs directory must be on a filesystem every node "
                "mounts at the same path (see lepton_lab.server.ray_executor)"
            )
        full_env = {**os.environ, **env}
        parent = _package_parent()  # the worker imports the lepton_lab this actor imported
        paths = [parent, *[p for p in full_env.get("PYTHONPATH", "").split(os.pathsep) if p and p != parent]]
        full_env["PYTHONPATH"] = os.pathsep.join(paths)
        full_env["PYTHONUNBUFFERED"] = "1"
        with open(run.worker_log_path, "ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", WORKER_MODULE, str(run.path)],
                cwd=cwd if os.path.isdir(cwd) else str(run.path),
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: a cancel reaches all it started
                preexec_fn=_die_with_parent(),
            )

    def _linger(self) -> None:
        import ray

        time.sleep(self._linger_s)
        # Nobody collected the outcome in time (no server is running): free the job's resources.
        ray.kill(ray.get_runtime_context().current_actor, no_restart=True)

    def info(self) -> dict[str, Any]:
        """Where the worker runs: ``{"node_id", "node_ip", "pid", "actor_pid", "error"}``."""
        return {
            "node_id": self.node_id,
            "node_ip": self.node_ip,
            "pid": self.pid,
            "actor_pid": os.getpid(),
            "error": self.error,
        }

    def wait(self) -> dict[str, Any]:
        """Block until the worker has exited; return ``{"code", "error"}``."""
        self._exited.wait()
        return {"code": self.code, "error": self.error}

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the worker's process group (nothing once it has exited)."""
        if self.pid is not None and not self._exited.is_set():
            try:
                os.killpg(self.pid, signum)
            except (ProcessLookupError, PermissionError):
                pass


def _die_with_parent() -> Any:
    """Return a ``preexec_fn`` that makes the child get SIGKILL when its parent thread dies (Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)  # loaded before fork: the child only calls into it
    parent = os.getpid()

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


# -- the server side ------------------------------------------------------------------------------

#: Seconds to wait for the head's GCS port to accept a connection before giving up.
CONNECT_TIMEOUT_S = 5.0


def _check_reachable(address: str) -> None:
    """Fail fast when a ``host:port`` address does not accept connections.

    ``ray.init`` retries an unreachable GCS for minutes (over 5 min measured with Ray 2.60),
    which would hang the job that triggered the connection. ``auto``, ``local`` and
    ``ray://`` addresses are left to Ray.
    """
    address = os.environ.get("RAY_ADDRESS", "") if address == "auto" else address
    if not address or "://" in address or ":" not in address:
        return
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except (OSError, ValueError) as error:
        raise ConnectionError(
            f"cannot reach the Ray cluster at {address} ({error}); start its head with "
            "`ray start --head` or set c.RayExecutor.ray_address to the head's host:port"
        ) from error


class RayWorker(WorkerHandle):
    """A job's actor on the cluster, as the server sees it.

    The outcome is followed through one pending ``wait`` call, so :meth:`poll` is a local check
    (``ray.wait`` with no timeout), not a round trip to the node, however many jobs run.
    """

    def __init__(self, run: RunDir, actor: Any, name: str, namespace: str, node: str | None = None) -> None:
        self.run = run
        self.name = name
        self.namespace = namespace
        self._actor = actor
        self._info_ref = actor.info.remote()
        self._wait_ref = actor.wait.remote()
        self._info: dict[str, Any] = {"node_id": node}
        self._exit: WorkerExit | None = None
        self._withdrawn = False  # removed by terminate() or kill() before Ray placed it

    # -- identity

    def where(self) -> dict[str, Any]:
        """Return where the worker runs once Ray has placed it: node id and IP, worker and actor pids."""
        import ray

        if "node_ip" not in self._info:
            ready, _ = ray.wait([self._info_ref], timeout=0)
            if ready:
                try:
                    self._info = ray.get(ready[0])
                except ray.exceptions.RayError:
                    pass  # the actor died; poll() says how
        return self._info

    @property
    def node(self) -> str | None:  # type: ignore[override]  # a plain attribute on the base class
        """The Ray node id the worker runs on; None while Ray has not placed it yet."""
        node = self.where().get("node_id")
        return str(node) if node else None

    def ref(self) -> dict[str, Any]:
        """Return what the job index stores to find this worker again: actor name, namespace, node."""
        return {"kind": REF_KIND, "actor": self.name, "namespace": self.namespace, "node": self.node}

    def describe(self) -> str:
        """For messages: ``Ray actor lepton-lab-<run> on node 10.0.0.2 (3f2a9c1b0d4e)``."""
        where = self.where()
        if where.get("node_ip"):
            pid = f", pid {where['pid']}" if where.get("pid") else ""
            return f"Ray actor {self.name} on node {where['node_ip']} ({str(where['node_id'])[:12]}{pid})"
        if where.get("node_id"):
            return f"Ray actor {self.name} on node {str(where['node_id'])[:12]}"
        return f"Ray actor {self.name} (waiting for Ray to place it)"

    # -- lifecycle

    @property
    def finished(self) -> bool:
        """Whether :meth:`poll` has seen the worker end."""
        return self._exit is not None

    def poll(self) -> WorkerExit | None:
        """None while the worker runs (or waits for resources); how it ended once it has.

        Raises
        ------
        WorkerStartError
            The actor could not start the worker (the run directory is not visible on its node,
            or Python could not be started); the job failed before training.
        """
        import ray

        if self._exit is not None:
            return self._exit
        ready, _ = ray.wait([self._wait_ref], timeout=0)
        if not ready:
            return None
        try:
            result = ray.get(ready[0])
        except ray.exceptions.ActorUnavailableError:
            self._wait_ref = self._actor.wait.remote()  # unreachable for now, not dead: ask again
            return None
        except ray.exceptions.RayActorError:
            self._exit = self._lost()
            return self._exit
        self.where()
        self._release()
        if result["error"]:
            self._exit = WorkerExit(None)
            raise WorkerStartError(f"{self.describe()} could not start the worker: {result['error']}")
        self._exit = WorkerExit(result["code"])
        return self._exit

    def _lost(self) -> WorkerExit:
        """Say how the worker ended now that its actor is gone (node lost, or it lingered and left)."""
        if self._withdrawn:
            return WorkerExit(None)  # cancelled while waiting for resources: it never started
        recorded = self.run.read_status()
        if recorded.get("status") in _FINAL_STATUSES:
            code = recorded.get("exit_code")
            return WorkerExit(code if isinstance(code, int) else None)
        return WorkerExit(None, interrupted=True)

    def _release(self) -> None:
        import ray

        try:
            ray.kill(self._actor, no_restart=True)  # frees the job's CPUs and GPUs at once
        except ray.exceptions.RayError:
            pass

    def terminate(self) -> None:
        """SIGTERM to the worker's process group: it finishes the batch, saves and exits.

        A job Ray has not placed yet (no node has its resources free, or none ever will) has no
        worker to signal: its actor is removed from Ray's queue instead.
        """
        if not self._withdraw_unplaced():
            self._actor.signal.remote(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL to the worker's process group (or withdraw the actor if not placed yet)."""
        if not self._withdraw_unplaced():
            self._actor.signal.remote(signal.SIGKILL)

    def _withdraw_unplaced(self) -> bool:
        # Not known to be placed: no node reported yet, nor in the ref it was attached from. An
        # actor Ray placed a moment ago is still starting its worker; removing it stops that too.
        if self.node is not None:
            return False
        self._withdrawn = True
        self._release()
        return True


class RayExecutor(Executor):
    """Runs each job as a detached named Ray actor on a node of a Ray cluster (see the module)."""

    #: Ray places GPUs (``num_gpus``); the server's allocator for its own host stays out of it.
    server_places_gpus: ClassVar[bool] = False

    ray_address = Unicode(
        "auto",
        config=True,
        help=(
            "Address of the Ray cluster, as for ray.init(): 'auto' (the RAY_ADDRESS environment "
            "variable, else the cluster `ray start` started on this machine), 'host:port' of the "
            "head node's GCS, or 'ray://host:10001' for Ray Client."
        ),
    )
    namespace = Unicode(DEFAULT_NAMESPACE, config=True, help="Ray namespace of the job actors.")
    linger_seconds = Float(
        600.0,
        config=True,
        help=(
            "Seconds a job's actor keeps its resources after the worker exited while no server "
            "collects the outcome (the server releases it at once when it does)."
        ),
    )
    cpus_per_job = Float(1.0, config=True, help="CPUs each job's actor asks Ray for (num_cpus).")
    default_gpus = Int(
        0,
        config=True,
        help="GPUs a job asks Ray for when its spec leaves resources.gpus unset (num_gpus).",
    )
    runtime_env = Dict(
        default_value=None,
        allow_none=True,
        config=True,
        help="Ray runtime_env for the job actors (e.g. env_vars); None for the cluster's own environment.",
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: Handles this executor started or re-attached, by run id, for :meth:`nodes`.
        self._workers: dict[str, RayWorker] = {}

    def connect(self) -> None:
        """Connect this process to the cluster (once); raises ConnectionError naming the address."""
        import ray

        if ray.is_initialized():
            return
        _check_reachable(self.ray_address)
        # ray.init replaces the SIGTERM handler with sys.exit; the Jupyter server keeps its own.
        handler = (
            signal.getsignal(signal.SIGTERM)
            if threading.current_thread() is threading.main_thread()
            else None
        )
        try:
            ray.init(
                address=self.ray_address,
                namespace=self.namespace,
                log_to_driver=False,  # the workers' output goes to each run's worker.log
                logging_level=logging.WARNING,
            )
        except (ConnectionError, RuntimeError) as error:
            raise ConnectionError(
                f"cannot connect to the Ray cluster at {self.ray_address!r}: {error}; start it with "
                "`ray start --head` or set c.RayExecutor.ray_address to its head's address"
            ) from error
        finally:
            if handler is not None:
                signal.signal(signal.SIGTERM, handler)

    def resources(self, job: Job) -> dict[str, Any]:
        """Return what the job's actor asks Ray for: :attr:`cpus_per_job` and the spec's GPUs."""
        try:
            asked = job.run.read_spec_document().get("resources") or {}
        except (OSError, ValueError):
            asked = {}  # start() fails the job with the reason (the worker cannot read it either)
        gpus = asked.get("gpus")
        return {"cpus": self.cpus_per_job, "gpus": self.default_gpus if gpus is None else int(gpus)}

    def actor_options(self, run: RunDir, resources: dict[str, Any]) -> dict[str, Any]:
        """Ray options of the actor for ``run``: name, namespace, CPUs, GPUs, custom resources.

        ``resources`` holds ``cpus`` and ``gpus``; any other key is a Ray custom resource the
        node must offer (``{"cpus": 1, "gpus": 0, "a100": 1}``).
        """
        custom = {key: float(value) for key, value in resources.items() if key not in ("cpus", "gpus")}
        options: dict[str, Any] = {
            "name": actor_name(run),
            "namespace": self.namespace,
            "lifetime": "detached",  # outlives the server: a restarted server re-attaches
            "max_restarts": 0,  # a restarted actor would start training again behind the server's back
            "max_concurrency": 4,  # wait() blocks while signal() and info() answer
            "num_cpus": float(resources.get("cpus", 1)),
            "num_gpus": int(resources.get("gpus", 0)),
        }
        if custom:
            options["resources"] = custom
        if self.runtime_env is not None:
            options["runtime_env"] = self.runtime_env
        return options

    def start(
        self,
        run: RunDir,
        env: dict[str, str],
        cwd: str | os.PathLike[str],
        resources: dict[str, Any] | None = None,
    ) -> RayWorker:
        """Create the job's actor; Ray places it on a node with the resources and it starts the worker.

        Returns at once: while no node has the resources free, the job waits in Ray's queue and
        :meth:`RayWorker.poll` answers None.
        """
        import ray

        self.connect()
        options = self.actor_options(run, resources or {"cpus": 1, "gpus": 0})
        self._clear_finished(options["name"])
        # On a cluster Ray assigns the GPUs (CUDA_VISIBLE_DEVICES in the actor); the server's
        # choice, made for its own host, would be wrong there.
        worker_env = {key: value for key, value in env.items() if key not in _GPU_PLACEMENT_VARS}
        actor_class = ray.remote(JobActor)
        actor = actor_class.options(**options).remote(
            str(run.path), worker_env, os.fspath(cwd), self.linger_seconds
        )
        self.log.info("Lepton Lab: started Ray actor %s for run %s", options["name"], run.id)
        worker = self._workers[run.id] = RayWorker(run, actor, options["name"], self.namespace)
        return worker

    def _clear_finished(self, name: str) -> None:
        """Make way for a resumed run: remove an earlier actor of the same run whose worker ended."""
        import ray

        try:
            previous = ray.get_actor(name, namespace=self.namespace)
        except ValueError:
            return
        done, _ = ray.wait([previous.wait.remote()], timeout=5.0)
        if not done:
            raise RuntimeError(f"Ray actor {name} still runs a worker for this run; cancel it first")
        ray.kill(previous, no_restart=True)
        for _ in range(50):  # the name is free once the GCS has recorded the kill
            try:
                ray.get_actor(name, namespace=self.namespace)
            except ValueError:
                return
            time.sleep(0.1)

    def attach(self, run: RunDir, ref: dict[str, Any]) -> RayWorker | None:
        """Find the job's actor again from its stored ``ref``; None when it is gone or not a Ray ref."""
        import ray

        if ref.get("kind") != REF_KIND:
            return None
        self.connect()
        name = ref.get("actor") or actor_name(run)
        namespace = ref.get("namespace") or self.namespace
        try:
            actor = ray.get_actor(name, namespace=namespace)
        except ValueError:
            return None
        worker = self._workers[run.id] = RayWorker(run, actor, name, namespace, node=ref.get("node"))
        return worker

    def nodes(self) -> list[dict[str, Any]]:
        """List the cluster's nodes: address, CPUs, GPUs, and the runs whose workers run there."""
        import ray

        self.connect()
        placed: dict[str, list[str]] = {}
        for run_id, worker in list(self._workers.items()):
            if worker.finished:
                del self._workers[run_id]
            elif worker.node:
                placed.setdefault(worker.node, []).append(run_id)
        listed = []
        for node in ray.nodes():
            total = node.get("Resources") or {}
            listed.append(
                {
                    "id": node["NodeID"],
                    "address": node.get("NodeManagerAddress"),
                    "alive": bool(node.get("Alive")),
                    "head": "node:__internal_head__" in total,
                    "cpus": float(total.get("CPU", 0)),
                    "gpus": float(total.get("GPU", 0)),
                    "jobs": sorted(placed.get(node["NodeID"], [])),
                }
            )
        return listed

    def describe(self) -> dict[str, Any]:
        """Describe this executor for ``GET status`` (without connecting if not connected yet)."""
        described: dict[str, Any] = {
            "executor": type(self).__name__,
            "ray_address": self.ray_address,
            "namespace": self.namespace,
        }
        if "ray" in sys.modules and sys.modules["ray"].is_initialized():
            ray = sys.modules["ray"]
            described["ray_version"] = ray.__version__
            alive = [node for node in ray.nodes() if node.get("Alive")]
            described["nodes"] = len(alive)
        return described
