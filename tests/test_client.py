"""The Python client: discovery, errors, and a real job on a real server."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import types

import pytest

import lepton_lab
from lepton_lab import client, notebook
from lepton_lab.client import ApiError, Job, JobStateNotice, LabClient, ServerNotFound
from tests.conftest import TOKEN

TINY = {
    "dataset": {"name": "digits", "subset": 300},
    "model": {"preset": "mlp"},
    "train": {"epochs": 2, "batch_size": 32},
}


@pytest.fixture
def no_server_env(monkeypatch, tmp_path):
    """No LEPTON_LAB_* variables, an empty runtime directory and no cached client."""
    monkeypatch.delenv("LEPTON_LAB_URL", raising=False)
    monkeypatch.delenv("LEPTON_LAB_TOKEN", raising=False)
    runtime = tmp_path / "client-runtime"
    runtime.mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    monkeypatch.setattr(client, "_default", None)
    return runtime


def test_discover_without_any_server_explains_how_to_fix(no_server_env):
    with pytest.raises(ServerNotFound) as excinfo:
        LabClient.discover()
    message = str(excinfo.value)
    assert "LEPTON_LAB_URL" in message and "LEPTON_LAB_TOKEN" in message
    assert "jpserver-<pid>.json" in message and str(no_server_env) in message


def test_discover_reads_the_runtime_file_of_the_parent_process(no_server_env, monkeypatch):
    info = {
        "hostname": "0.0.0.0",
        "port": 8899,
        "base_url": "/lab/",
        "token": "abc",
        "secure": False,
        "sock": "",
    }
    (no_server_env / f"jpserver-{os.getppid()}.json").write_text(json.dumps(info))
    monkeypatch.setenv("LEPTON_LAB_URL", "http://elsewhere:1/")  # the kernel's own server wins
    found = LabClient.discover()
    assert found.url == "http://127.0.0.1:8899/lab/" and found.token == "abc"


def test_discover_falls_back_to_environment(no_server_env, monkeypatch):
    monkeypatch.setenv("LEPTON_LAB_URL", "http://lab.example:8888/base")
    monkeypatch.setenv("LEPTON_LAB_TOKEN", "t0k")
    found = LabClient.discover()
    assert found.url == "http://lab.example:8888/base/" and found.token == "t0k"


def test_unreachable_server_is_one_clear_error():
    dead = LabClient("http://127.0.0.1:9/", "x", timeout=5)
    with pytest.raises(ServerNotFound, match=r"cannot reach the Lepton Lab server at http://127\.0\.0\.1:9/"):
        dead.jobs()


class _FinishedJobServer(LabClient):
    """Answers like the server for a job that has already completed."""

    def __init__(self, status="completed"):
        super().__init__("http://127.0.0.1:9/")
        self.job_status = status

    def request(self, method, path, body=None, params=None):
        if method == "GET":
            return {"id": "j1", "status": self.job_status}
        raise ApiError(409, f"job j1 is {self.job_status}; nope")


def test_cancel_of_a_finished_job_says_so_instead_of_raising():
    job = Job(_FinishedJobServer("completed"), {"id": "j1", "status": "running"})
    with pytest.warns(JobStateNotice, match="job j1 had already completed; there was nothing to cancel"):
        assert job.cancel() is job
    assert job.info["status"] == "completed"


def test_resume_of_a_completed_or_running_job_says_so_instead_of_raising():
    for status in ("completed", "running"):
        job = Job(_FinishedJobServer(status), {"id": "j1", "status": "cancelled"})
        with pytest.warns(JobStateNotice, match=f"job j1 is {status}; there is nothing to resume"):
            assert job.resume() is job


def test_cancel_still_raises_when_the_job_is_not_finished():
    server = _FinishedJobServer("running")
    with pytest.raises(ApiError):
        Job(server, {"id": "j1", "status": "running"}).cancel()


def test_watch_without_live_plot_module_raises_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "lepton_lab.widgets.live_plot", None)
    job = notebook.Job(LabClient("http://127.0.0.1:9/"), {"id": "x", "status": "running"})
    with pytest.raises(ImportError, match=r"job\.follow\(\)"):
        job.watch()


def test_watch_hands_the_job_to_live_plot(monkeypatch):
    module = types.ModuleType("lepton_lab.widgets.live_plot")
    module.LivePlot = type("LivePlot", (), {"follow_job": staticmethod(lambda job: ("plot", job.id))})
    monkeypatch.setitem(sys.modules, "lepton_lab.widgets.live_plot", module)
    job = notebook.Job(LabClient("http://127.0.0.1:9/"), {"id": "j1", "status": "running"})
    assert job.watch() == ("plot", "j1")


def test_the_jobs_users_get_can_be_watched_while_the_client_knows_no_widgets():
    assert lepton_lab.submit is notebook.submit and lepton_lab.job is notebook.job
    assert notebook.LabClient.job_type is notebook.Job and issubclass(notebook.Job, Job)
    assert not hasattr(Job, "watch")  # the client layer stays free of widgets


class _StreamServer:
    """A real WebSocket server (tornado, in a thread) playing ``jobs/{id}/stream``.

    The first connection gets events 1-2 and is closed as too slow (1013); the next ones get
    the events after the offset they ask for, a final status, and a normal close (1000).
    """

    EVENTS = [{"type": "batch", "step": step} for step in range(1, 6)]

    def __init__(self):
        import tornado.ioloop
        import tornado.web
        import tornado.websocket

        self.requests = []
        server = self

        class Socket(tornado.websocket.WebSocketHandler):
            def open(self, job_id):
                after = int(self.get_query_argument("after", "0"))
                server.requests.append((job_id, after, self.request.headers.get("Authorization")))
                if len(server.requests) == 1:
                    self.write_message(json.dumps({"type": "events", "events": server.EVENTS[:2], "next": 2}))
                    self.close(1013, "client too slow; reconnect with after=2")
                    return
                done = {"id": job_id, "status": "completed"}
                self.write_message(json.dumps({"type": "status", "job": {"id": job_id, "status": "running"}}))
                self.write_message(json.dumps({"type": "events", "events": server.EVENTS[after:], "next": 5}))
                self.write_message(json.dumps({"type": "status", "job": done}))
                self.close(1000, "job finished")

        self.ready = threading.Event()

        def serve():
            asyncio.set_event_loop(asyncio.new_event_loop())
            app = tornado.web.Application([(r"/lepton-lab/api/jobs/([^/]+)/stream", Socket)])
            self.http = app.listen(0, "127.0.0.1")
            self.port = next(iter(self.http._sockets.values())).getsockname()[1]
            self.loop = tornado.ioloop.IOLoop.current()
            self.ready.set()
            self.loop.start()

        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()
        self.ready.wait(10)

    def stop(self):
        self.loop.add_callback(self.loop.stop)
        self.thread.join(10)


def test_follow_reads_the_websocket_and_resumes_after_the_last_offset(monkeypatch):
    monkeypatch.setattr(client, "_BACKOFF_S", (0.01, 0.01))
    server = _StreamServer()
    try:
        job = Job(LabClient(f"http://127.0.0.1:{server.port}/", "sekrit"), {"id": "j1", "status": "running"})
        followed = list(job.follow(timeout=30))
    finally:
        server.stop()
    assert [event["step"] for event in followed] == [1, 2, 3, 4, 5]  # nothing lost, nothing twice
    assert [after for _, after, _ in server.requests] == [0, 2]
    assert {auth for _, _, auth in server.requests} == {"token sekrit"}
    assert job.info["status"] == "completed"  # the stream's last status message


@pytest.mark.slow
@pytest.mark.usefixtures("reap_workers")
async def test_client_submits_follows_and_waits_on_a_real_server(
    http_server_client, jp_http_port, jp_base_url, no_server_env, monkeypatch
):
    monkeypatch.setenv("LEPTON_LAB_URL", f"http://127.0.0.1:{jp_http_port}{jp_base_url}")
    monkeypatch.setenv("LEPTON_LAB_TOKEN", TOKEN)

    def scenario():
        job = lepton_lab.submit(TINY)
        queued = lepton_lab.submit({**TINY, "name": "never runs"})
        assert queued.cancel(timeout=30).info["status"] == "cancelled"
        followed = list(job.follow(poll=0.1, timeout=300))
        job.wait(timeout=60)
        with pytest.warns(JobStateNotice, match="completed; there is nothing to resume"):
            assert job.resume().info["status"] == "completed"
        with pytest.warns(JobStateNotice, match="already completed; there was nothing to cancel"):
            assert job.cancel().info["status"] == "completed"
        with pytest.raises(ApiError) as refused:
            lepton_lab.job("no-such-job").resume()
        wrong_token = LabClient(os.environ["LEPTON_LAB_URL"], "wrong")
        with pytest.raises(ApiError) as forbidden:
            wrong_token.jobs()
        return job, followed, lepton_lab.jobs(), lepton_lab.job(job.id), refused.value, forbidden.value

    job, followed, listed, again, refused, forbidden = await asyncio.to_thread(scenario)

    assert job.info["status"] == "completed" and again.info["exit_code"] == 0
    assert [e["epoch"] for e in followed if e["type"] == "epoch"] == [1, 2]
    assert followed[-1]["type"] == "status" and followed[-1]["status"] == "completed"
    assert await asyncio.to_thread(job.events) == followed
    assert {j.id for j in listed} == {job.id, listed[0].id} and len(listed) == 2
    assert (await asyncio.to_thread(job.artifact, "model"))[:2] == b"PK"
    assert refused.status == 404
    assert forbidden.status == 403 and "LEPTON_LAB_TOKEN" in str(forbidden)
