"""Python client of the Lepton Lab server API, for notebooks, widgets and scripts.

Inside a kernel started by JupyterLab, :meth:`LabClient.discover` finds the server that started
the kernel (its runtime file ``jpserver-<pid>.json``); elsewhere set ``LEPTON_LAB_URL`` and
``LEPTON_LAB_TOKEN``. Requests go over HTTP (``urllib``); a job is followed over its
``jobs/{id}/stream`` WebSocket (``websocket-client``) as the Lab panel follows it, reconnecting
with ``?after=<last offset>`` so no event is lost or repeated. No server code, no TensorFlow, no
widgets (``job.watch()`` is added by :mod:`lepton_lab.notebook`, the layer above both);
``Job.delete`` borrows the confirmation prompt of :mod:`lepton_lab.core.deletion` when called.
Sweeps (``LabClient.sweep``) are :class:`~lepton_lab.sweep_client.Sweep` objects, from
:mod:`lepton_lab.sweep_client`; deployed models (``LabClient.deploy``) are
:class:`~lepton_lab.model_client.DeployedModel` objects, from :mod:`lepton_lab.model_client`.

Examples
--------
>>> import lepton_lab as ll
>>> job = ll.submit({"dataset": {"name": "digits"}, "train": {"epochs": 3}})   # doctest: +SKIP
>>> for event in job.follow():                                                # doctest: +SKIP
...     print(event["type"], event.get("metrics"))
>>> job.wait().status                                                         # doctest: +SKIP
'completed'
"""

from __future__ import annotations

import json
import os
import select
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lepton_lab.core.job_status import FINISHED_STATUSES
from lepton_lab.model_client import EXPORT_TIMEOUT_S, DeployedModel, deploy_body
from lepton_lab.sweep_client import Sweep, sweep_body

API_PATH = "lepton-lab/api/"

_WILDCARD_HOSTS = ("", "0.0.0.0", "::", "*")

#: How many ancestors of this process to look at for a Jupyter server (kernel → nanny → server).
_ANCESTOR_DEPTH = 4

#: WebSocket close code of a stream that is complete (the job has ended).
_CLOSE_NORMAL = 1000

#: Seconds before reconnecting a dropped stream: doubling from the first, capped at the second
#: (the Lab panel's ``backoffDelay``).
_BACKOFF_S = (0.5, 10.0)

#: Seconds between checks of ``stop`` and the deadline while a stream is quiet.
_WAKE_S = 0.5


class LabClientError(RuntimeError):
    """Something went wrong talking to the Lepton Lab server."""


class ServerNotFound(LabClientError):
    """No Lepton Lab server could be found or reached."""


class ApiError(LabClientError):
    """The server answered with an error status.

    Attributes
    ----------
    status
        The HTTP status code.
    message
        The server's explanation.
    """

    def __init__(self, status: int, message: str, reason: str | None = None) -> None:
        super().__init__(f"{message} (HTTP {status})")
        self.status = status
        self.message = message
        self.reason = reason


class JobStateNotice(UserWarning):
    """A cancel or resume had nothing to do: the job had already finished, or was still running.

    A notebook cell that cancels a job may run after the job has finished (a fast machine
    trains a small job before the cell is reached); that is not an error worth a traceback.
    """


def _ancestors(pid: int, depth: int) -> list[int]:
    """``pid`` and up to ``depth - 1`` of its ancestors (through /proc where available)."""
    found = [pid]
    while len(found) < depth:
        try:
            stat = Path(f"/proc/{found[-1]}/stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])  # field 4, after the (command) field
        except (OSError, ValueError, IndexError):
            break
        if parent <= 1:
            break
        found.append(parent)
    return found


def _runtime_dir() -> Path:
    try:
        from jupyter_core.paths import jupyter_runtime_dir

        return Path(jupyter_runtime_dir())
    except ImportError:  # no jupyter_core: its default location
        base = os.environ.get("JUPYTER_RUNTIME_DIR")
        return Path(base) if base else Path.home() / ".local" / "share" / "jupyter" / "runtime"


def _server_url(info: dict[str, Any]) -> str:
    scheme = "https" if info.get("secure") else "http"
    host = str(info.get("hostname") or "")
    if host in _WILDCARD_HOSTS:
        host = "127.0.0.1"  # the server listens everywhere, including here
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    base = str(info.get("base_url") or "/")
    return f"{scheme}://{host}:{info['port']}{base}"


def _check_deadline(deadline: float | None, wait: float = 0.0) -> None:
    if deadline is not None and time.monotonic() + wait > deadline:
        raise TimeoutError("no end of the stream before the timeout")


def _readable(socket: Any, timeout: float) -> bool:
    """Whether a frame can be read from ``socket`` within ``timeout`` seconds."""
    raw = socket.sock
    if raw is None:
        return True  # closed: recv raises, which ends the stream
    pending = getattr(raw, "pending", None)  # TLS may hold decrypted bytes select cannot see
    if pending is not None and pending():
        return True
    return bool(select.select([raw], [], [], timeout)[0])


def _frames(
    socket: Any, stop: threading.Event | None, deadline: float | None, closed: list[int]
) -> Iterator[dict[str, Any]]:
    """Yield the JSON objects ``socket`` receives until it closes (its code appended to ``closed``)."""
    import websocket

    while stop is None or not stop.is_set():
        _check_deadline(deadline)
        if not _readable(socket, _WAKE_S):
            continue
        try:
            opcode, data = socket.recv_data(control_frame=True)
        except (OSError, websocket.WebSocketException):
            return  # dropped without a close frame: the caller reconnects
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            closed.append(int.from_bytes(data[:2], "big") if len(data) >= 2 else 1005)
            return
        if opcode not in (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY):
            continue  # ping / pong: answered by websocket-client
        try:
            message = json.loads(data)
        except ValueError:
            continue
        if isinstance(message, dict):
            yield message


class LabClient:
    """Talks to one Lepton Lab server.

    Parameters
    ----------
    url
        The Jupyter server's URL including its base URL, e.g. ``http://127.0.0.1:8888/``.
    token
        The server's token (``Authorization: token ...``).
    timeout
        Seconds to wait for each request.
    """

    #: The class of the jobs this client returns (:mod:`lepton_lab.notebook` adds ``watch()``).
    job_type: type[Job]
    #: The class of the sweeps this client returns (:mod:`lepton_lab.notebook` adds ``watch()``).
    sweep_type: type[Sweep] = Sweep

    def __init__(self, url: str, token: str | None = None, timeout: float = 30.0) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self.token = token
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"LabClient({self.url!r})"

    @classmethod
    def discover(cls) -> LabClient:
        """Find the server that started this kernel, else use ``LEPTON_LAB_URL`` / ``LEPTON_LAB_TOKEN``.

        Raises
        ------
        ServerNotFound
            Saying what was looked for and how to point the client at a server.
        """
        runtime = _runtime_dir()
        for pid in _ancestors(os.getppid(), _ANCESTOR_DEPTH):
            info_file = runtime / f"jpserver-{pid}.json"
            try:
                info = json.loads(info_file.read_text())
            except (OSError, ValueError):
                continue
            if info.get("sock"):
                break  # a Unix-socket server: urllib cannot reach it, use the environment
            return cls(_server_url(info), info.get("token") or None)
        url = os.environ.get("LEPTON_LAB_URL")
        if url:
            return cls(url, os.environ.get("LEPTON_LAB_TOKEN") or None)
        raise ServerNotFound(
            "no Lepton Lab server found: this process was not started by a Jupyter server (no "
            f"jpserver-<pid>.json of its parent processes in {runtime}) and LEPTON_LAB_URL is not set. "
            "Run this in a notebook of JupyterLab with the lepton_lab extension, or set "
            "LEPTON_LAB_URL=http://host:port/ and LEPTON_LAB_TOKEN=<token> (`jupyter server list` "
            "shows both)."
        )

    # -- HTTP ------------------------------------------------------------------------------------

    def _url(self, path: str, params: dict[str, Any] | None = None) -> str:
        url = urllib.parse.urljoin(self.url, API_PATH + path)
        query = {k: v for k, v in (params or {}).items() if v is not None}
        return url + ("?" + urllib.parse.urlencode(query) if query else "")

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, Any] | None = None,
        raw: bool = False,
        timeout: float | None = None,
    ) -> Any:
        """Call ``method`` on ``/lepton-lab/api/<path>`` and return the decoded JSON (or bytes if ``raw``).

        ``timeout`` overrides the client's own for this request (an export takes minutes).
        """
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self._url(path, params), data=data, method=method)
        if self.token:
            request.add_header("Authorization", f"token {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            raise self._api_error(error) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ServerNotFound(
                f"cannot reach the Lepton Lab server at {self.url}: {reason}; is it running? "
                "(`jupyter server list` shows running servers)"
            ) from None
        return payload if raw else json.loads(payload or b"null")

    def _api_error(self, error: urllib.error.HTTPError) -> ApiError:
        try:
            body = json.loads(error.read() or b"{}")
        except ValueError:
            body = {}
        # TF Serving's predict routes answer {"error": ...}; the others {"message": ...}.
        message = body.get("message") or body.get("error") or error.reason or "request failed"
        reason = body.get("reason")
        # Jupyter's own refusals carry the HTTP phrase (or null) as reason; ours an error class name.
        if error.code == 403 and reason in (None, "Forbidden"):
            message = (
                f"the server at {self.url} refused the request: set LEPTON_LAB_TOKEN to its token "
                "(`jupyter server list` shows it)"
            )
        elif error.code == 404 and reason in (None, "Not Found") and "error" not in body:
            message = (
                f"the server at {self.url} does not serve the Lepton Lab API; enable it with "
                "`jupyter server extension enable lepton_lab` and restart the server"
            )
        return ApiError(error.code, str(message), reason)

    # -- WebSocket -------------------------------------------------------------------------------

    def _socket_url(self, path: str, params: dict[str, Any] | None = None) -> str:
        url = self._url(path, params)
        return "ws" + url[len("http") :] if url.startswith("http") else url

    def messages(
        self,
        path: str,
        params: Any = None,
        stop: threading.Event | None = None,
        deadline: float | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield the JSON messages of the WebSocket ``/lepton-lab/api/<path>`` until it closes normally.

        A connection that drops (server restart, a client too slow, a network hiccup) is opened
        again after a backoff; ``params`` is called before each attempt, so a stream can resume
        from the offset it has reached. Returns when the server closes with 1000 (the stream is
        complete) or ``stop`` is set.

        Parameters
        ----------
        path
            ``jobs/{id}/stream`` or ``stream``.
        params
            Query arguments, or a callable returning them (called before each connection).
        stop
            Set from another thread to end the iteration.
        deadline
            ``time.monotonic()`` value after which ``TimeoutError`` is raised.

        Raises
        ------
        ApiError, ServerNotFound
            The server refused the connection, or cannot be reached at the first attempt.
        """
        import websocket  # websocket-client: imported here, so `import lepton_lab` stays cheap

        attempt = 0
        connected_once = False
        while stop is None or not stop.is_set():
            query = params() if callable(params) else params
            header = [f"Authorization: token {self.token}"] if self.token else []
            try:
                socket = websocket.create_connection(
                    self._socket_url(path, query), header=header, timeout=self.timeout
                )
            except websocket.WebSocketBadStatusException as error:
                raise self._socket_refused(path, error) from None
            except (OSError, websocket.WebSocketException) as error:
                if not connected_once:
                    raise ServerNotFound(
                        f"cannot reach the Lepton Lab server at {self.url}: {error}; is it running? "
                        "(`jupyter server list` shows running servers)"
                    ) from None
                socket = None
            if socket is not None:
                connected_once = True
                closed: list[int] = []
                try:
                    for message in _frames(socket, stop, deadline, closed):
                        attempt = 0  # a message proves the server is back
                        yield message
                finally:
                    socket.close()
                code = closed[0] if closed else None
                if code == _CLOSE_NORMAL or (stop is not None and stop.is_set()):
                    return
            delay = min(_BACKOFF_S[1], _BACKOFF_S[0] * 2**attempt)
            attempt += 1
            _check_deadline(deadline, delay)
            if stop is not None:
                stop.wait(delay)
            else:
                time.sleep(delay)

    def _socket_refused(self, path: str, error: Any) -> ApiError:
        """Return the error a refused WebSocket handshake stands for (403: token, 404: no job/extension)."""
        status = int(getattr(error, "status_code", 0) or 0)
        try:
            body = json.loads(getattr(error, "resp_body", None) or b"{}")
        except ValueError:
            body = {}
        reason = body.get("reason") if isinstance(body, dict) else None
        message = (body.get("message") if isinstance(body, dict) else None) or f"{path}: refused"
        if status == 403 and reason in (None, "Forbidden"):
            message = (
                f"the server at {self.url} refused the request: set LEPTON_LAB_TOKEN to its token "
                "(`jupyter server list` shows it)"
            )
        return ApiError(status, str(message), reason)

    # -- API -------------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Server status: versions, runs directory, job counts."""
        result: dict[str, Any] = self.request("GET", "status")
        return result

    def submit(self, spec: Any) -> Job:
        """Queue a training job.

        Parameters
        ----------
        spec
            A :class:`~lepton_lab.core.specs.JobSpec`, a dict in its shape, or its JSON text.
        """
        if hasattr(spec, "model_dump"):
            body = spec.model_dump(mode="json")
        elif isinstance(spec, (str, bytes)):
            body = json.loads(spec)
        else:
            body = dict(spec)
        return self.job_type(self, self.request("POST", "jobs", body))

    def jobs(self, status: str | list[str] | None = None) -> list[Job]:
        """Jobs on the server, newest first; ``status`` keeps only those statuses."""
        if isinstance(status, (list, tuple)):
            status = ",".join(status)
        jobs = self.request("GET", "jobs", params={"status": status})["jobs"]
        return [self.job_type(self, info) for info in jobs]

    def job(self, job_id: str) -> Job:
        """Fetch the job ``job_id``."""
        return self.job_type(self, self.request("GET", f"jobs/{urllib.parse.quote(job_id, safe='')}"))

    def devices(self) -> dict[str, Any]:
        """CPU and GPUs with the jobs on each."""
        result: dict[str, Any] = self.request("GET", "devices")
        return result

    def datasets(self) -> list[dict[str, Any]]:
        """List the dataset registry."""
        result: list[dict[str, Any]] = self.request("GET", "datasets")["datasets"]
        return result

    def sweep(self, spec: Any) -> Sweep:
        """Start a hyperparameter sweep (:mod:`lepton_lab.sweep_client`).

        Parameters
        ----------
        spec
            A :class:`~lepton_lab.core.sweep_spec.SweepSpec`, a dict in its shape, or its JSON
            text. An invalid one raises :class:`ApiError` (400) naming the path and the reason,
            before any trial starts.
        """
        return self.sweep_type(self, self.request("POST", "sweeps", sweep_body(spec)))

    def sweeps(self) -> list[Sweep]:
        """Sweeps on the server, newest first."""
        return [self.sweep_type(self, info) for info in self.request("GET", "sweeps")["sweeps"]]

    def get_sweep(self, sweep_id: str) -> Sweep:
        """Fetch the sweep ``sweep_id``."""
        info = self.request("GET", f"sweeps/{urllib.parse.quote(sweep_id, safe='')}")
        return self.sweep_type(self, info)

    def deploy(self, run: Any, name: str | None = None, export: str | None = None) -> DeployedModel:
        """Deploy a run's SavedModel behind TF Serving's REST API (:mod:`lepton_lab.model_client`).

        Parameters
        ----------
        run
            A :class:`~lepton_lab.core.run_store.Run`, a :class:`Job` or a run id. A run without
            a SavedModel export is exported first (on the server, in a child process).
        name
            The model's name in the URLs (default: the export's name, from the run's name);
            deploying again under a name serves a new version.
        export
            Which of the run's SavedModel exports to serve (its directory name), default the newest.
        """
        info = self.request("POST", "models", deploy_body(run, name, export), timeout=EXPORT_TIMEOUT_S)
        return DeployedModel(self, info)

    def models(self) -> list[DeployedModel]:
        """Models deployed on the server."""
        return [DeployedModel(self, info) for info in self.request("GET", "models")["models"]]

    def model(self, name: str) -> DeployedModel:
        """Fetch the deployed model ``name``."""
        return DeployedModel(self, self.request("GET", f"models/{urllib.parse.quote(name, safe='')}"))


class Job:
    """A job on the server; attributes reflect the last fetch (``status`` always fetches)."""

    def __init__(self, client: LabClient, info: dict[str, Any]) -> None:
        self.client = client
        self.info = info
        self.id: str = info["id"]
        self._plots: list[Any] = []  # plots of watch(), which wait() lets finish drawing

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.info.get('status')}>"

    def _path(self, *parts: str) -> str:
        return "/".join(["jobs", urllib.parse.quote(self.id, safe=""), *parts])

    def refresh(self) -> Job:
        """Fetch the job's current state into :attr:`info`."""
        self.info = self.client.request("GET", self._path())
        return self

    @property
    def status(self) -> str:
        """Current status (queued, running, completed, failed, cancelled, interrupted); fetched."""
        return str(self.refresh().info["status"])

    @property
    def done(self) -> bool:
        """Whether the job has finished (fetched)."""
        return self.status in FINISHED_STATUSES

    @property
    def error(self) -> str | None:
        """Why the job failed, as last fetched."""
        return self.info.get("error")

    def cancel(self, wait: bool = True, timeout: float | None = 60.0) -> Job:
        """Cancel the job; with ``wait``, return once its worker has stopped.

        A job that has already finished is left as it is: a :class:`JobStateNotice` says so
        and the job is returned with its final state (``job.status`` tells which).
        """
        try:
            self.info = self.client.request("DELETE", self._path())
        except ApiError as error:
            if error.status != 409 or not self.done:  # `done` fetches the job
                raise
            warnings.warn(
                f"job {self.id} had already {self.info['status']}; there was nothing to cancel",
                JobStateNotice, stacklevel=2,
            )  # fmt: skip
            return self
        return self.wait(timeout) if wait else self

    def _annotate(self, **changes: Any) -> Job:
        self.info = self.client.request("PATCH", self._path(), changes)
        return self

    def rename(self, name: str | None) -> Job:
        """Show the job as ``name`` in the panel and ``runs()`` (None: its trained name again)."""
        return self._annotate(name=name)

    def set_note(self, text: str | None) -> Job:
        """Attach a note to the job's run (at most 10 000 characters; None or '' removes it)."""
        return self._annotate(note=text)

    def archive(self) -> Job:
        """Hide the job from the panel and ``runs()`` unless archived runs are asked for."""
        return self._annotate(archived=True)

    def unarchive(self) -> Job:
        """Show an archived job again."""
        return self._annotate(archived=False)

    def delete(self, confirm: bool = True) -> bool:
        """Delete the job's run directory on the server, after asking ``Delete run <id> (<name>, N MB)?``.

        A queued or running job is refused: cancel it first. Returns True if it was deleted,
        False if the answer was no.
        """
        from lepton_lab.core.deletion import ActiveRunError, confirm_delete

        status = self.status  # fetched: ask about the job as it is now
        if status in ("queued", "running"):
            raise ActiveRunError(
                f"job {self.id} is {status}; cancel it first with job.cancel(), then delete it"
            )
        if confirm:
            size = sum(int(item.get("size") or 0) for item in self.artifacts())
            if not confirm_delete(self.id, self.info.get("name"), size):
                return False
        self.client.request("DELETE", self._path("run"))
        return True

    def artifacts(self) -> list[dict[str, Any]]:
        """Files of the run directory: ``[{"name": "model.keras", "size": 123}, ...]``."""
        result: list[dict[str, Any]] = self.client.request("GET", self._path("artifacts"))["artifacts"]
        return result

    def resume(self) -> Job:
        """Continue an interrupted, failed or cancelled job from its checkpoints.

        A completed, queued or running job has nothing to resume: a :class:`JobStateNotice`
        says so and the job is returned as it is.
        """
        try:
            self.info = self.client.request("POST", self._path("resume"))
        except ApiError as error:
            status = self.status if error.status == 409 else None  # fetched
            if status not in ("completed", "queued", "running"):
                raise
            warnings.warn(
                f"job {self.id} is {status}; there is nothing to resume", JobStateNotice, stacklevel=2
            )
        return self

    def events_page(self, after: int = 0, limit: int | None = None) -> tuple[list[dict[str, Any]], int]:
        """Events after line ``after`` (one page) and the offset to continue from."""
        page = self.client.request("GET", self._path("events"), params={"after": after, "limit": limit})
        return page["events"], int(page["next"])

    def events(self, after: int = 0) -> list[dict[str, Any]]:
        """Every event written so far after line ``after``."""
        found: list[dict[str, Any]] = []
        while True:
            events, offset = self.events_page(after)
            found.extend(events)
            if offset == after:
                return found
            after = offset

    def follow_batches(
        self, after: int = 0, timeout: float | None = None, stop: threading.Event | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield the job's events in the batches the server sends them, until the job has finished.

        Reads the job's ``jobs/{id}/stream`` WebSocket: the events from line ``after`` first,
        then new ones as the worker writes them. A dropped connection is reopened with
        ``?after=`` the offset reached, so no event is lost or repeated. Ends when the server
        closes the stream because the job has ended (or ``stop`` is set).

        Parameters
        ----------
        after
            Line offset to start after (0: from the beginning).
        timeout
            Give up (``TimeoutError``) after this many seconds.
        stop
            Set from another thread to stop following.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        resume = {"after": after}  # each reconnection asks from the offset reached
        try:
            for message in self.client.messages(self._path("stream"), resume.copy, stop, deadline):
                kind = message.get("type")
                if kind == "status" and isinstance(message.get("job"), dict):
                    self.info = message["job"]
                elif kind == "events":
                    events = list(message.get("events") or [])
                    resume["after"] = int(message.get("next", resume["after"] + len(events)))
                    if events:
                        yield events
        except TimeoutError:
            raise TimeoutError(f"job {self.id} still {self.info.get('status')} after {timeout} s") from None

    def follow(
        self, after: int = 0, poll: float | None = None, timeout: float | None = None
    ) -> Iterator[dict[str, Any]]:
        """Yield events as the worker writes them, until the job finishes and all are read.

        Parameters
        ----------
        after
            Line offset to start after (0: from the beginning).
        poll
            Ignored: events are pushed over the job's WebSocket (see :meth:`follow_batches`).
        timeout
            Give up (``TimeoutError``) after this many seconds.
        """
        for events in self.follow_batches(after, timeout):
            yield from events

    def wait(self, timeout: float | None = None, poll: float | None = None) -> Job:
        """Block until the job finishes; raise ``TimeoutError`` after ``timeout`` seconds.

        Listens to the server's ``stream`` WebSocket (every job's status changes) instead of
        polling. Plots of ``job.watch()`` have drawn the end of the job too when it returns, so
        a cell ending with ``job.wait()`` leaves them final (a saved notebook keeps the final plot).
        ``poll`` is ignored.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self.done:  # fetched: a job that ended before the stream opened is not missed
            try:
                for message in self.client.messages("stream", None, None, deadline):
                    jobs = message.get("jobs") if message.get("type") == "snapshot" else [message.get("job")]
                    mine = [
                        info for info in jobs or [] if isinstance(info, dict) and info.get("id") == self.id
                    ]
                    if mine:
                        self.info = mine[-1]
                        if self.info.get("status") in FINISHED_STATUSES:
                            break
            except TimeoutError:
                raise TimeoutError(f"job {self.id} still {self.info['status']} after {timeout} s") from None
        for plot in self._plots:
            plot.wait_following(timeout=10)
        return self

    def evaluation(self) -> dict[str, Any]:
        """Fetch the job's evaluation (test metrics, confusion matrix ...)."""
        result: dict[str, Any] = self.client.request("GET", self._path("evaluation"))
        return result

    def export(
        self, format: str = "savedmodel", quantize: str = "none", name: str | None = None
    ) -> dict[str, Any]:
        """Export the job's model on the server (``lepton-lab export-model`` in a child process).

        Parameters
        ----------
        format
            ``savedmodel``, ``tflite`` or ``onnx``.
        quantize
            ``none``, ``float16``, ``dynamic`` or ``int8`` (TFLite; ONNX: none or dynamic).
        name
            The SavedModel's name in TF Serving's ``<name>/<version>/`` layout.

        Returns
        -------
        dict
            The export's ``export.json``: path, size, test accuracy and its change, agreement
            with the Keras model, latency, and a ``warning`` when beyond tolerance.
        """
        body: dict[str, Any] = {"format": format, "quantize": quantize}
        if name is not None:
            body["name"] = name
        result: dict[str, Any] = self.client.request(
            "POST", self._path("exports"), body, timeout=EXPORT_TIMEOUT_S
        )
        return result

    def exports(self) -> list[dict[str, Any]]:
        """Return the ``export.json`` of each of the run's exports."""
        result: list[dict[str, Any]] = self.client.request("GET", self._path("exports"))["exports"]
        return result

    def artifact(self, name: str) -> bytes:
        """Bytes of a file of the run directory (``model``, ``report``, ``log`` or a relative path)."""
        data: bytes = self.client.request("GET", self._path("artifacts", urllib.parse.quote(name)), raw=True)
        return data


LabClient.job_type = Job

_default: LabClient | None = None


def _client() -> LabClient:
    global _default
    if _default is None:
        _default = LabClient.discover()
    return _default


def submit(spec: Any) -> Job:
    """Queue a training job on the server this kernel belongs to (see :meth:`LabClient.submit`)."""
    return _client().submit(spec)


def jobs(status: str | list[str] | None = None) -> list[Job]:
    """Jobs on the server this kernel belongs to, newest first."""
    return _client().jobs(status)


def job(job_id: str) -> Job:
    """Fetch the job ``job_id`` from the server this kernel belongs to."""
    return _client().job(job_id)


def sweep(spec: Any) -> Sweep:
    """Start a sweep on the server this kernel belongs to (see :meth:`LabClient.sweep`)."""
    return _client().sweep(spec)


def sweeps() -> list[Sweep]:
    """Sweeps on the server this kernel belongs to, newest first."""
    return _client().sweeps()


def get_sweep(sweep_id: str) -> Sweep:
    """Fetch the sweep ``sweep_id`` from the server this kernel belongs to."""
    return _client().get_sweep(sweep_id)


def deploy(run: Any, name: str | None = None, export: str | None = None) -> DeployedModel:
    """Deploy a run on the server this kernel belongs to (see :meth:`LabClient.deploy`)."""
    return _client().deploy(run, name, export)


def deployed_models() -> list[DeployedModel]:
    """Models deployed on the server this kernel belongs to."""
    return _client().models()


def model(name: str) -> DeployedModel:
    """Fetch the deployed model ``name`` from the server this kernel belongs to."""
    return _client().model(name)
