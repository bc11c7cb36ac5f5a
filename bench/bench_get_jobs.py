"""``GET jobs`` against jupyter-server's own ``GET /api/status``: p50 / p99 under 100 concurrent clients.

Target: ``GET jobs`` p99 within 1.25x of ``GET /api/status`` on the same server under the same load.
Each client alternates between the routes, so both are measured interleaved, request by request.
Two scenarios, each on a real Jupyter server with Lepton Lab and no TensorFlow:

``finished``
    4 jobs completed at once by ``tests.fakes.InstantExecutor``.
``streaming``
    4 jobs whose workers write 200 events/s each (``bench_executors.StreamingExecutor``), each
    followed over its ``jobs/{id}/stream`` WebSocket, as an open Lab panel does.
``many`` (only when asked for)
    300 finished jobs: where answering from memory shows (the old code queried SQLite and encoded
    every job on every request).

``one_client`` repeats the measurement with a single client: with 100, both routes mostly wait in
the same queue, so it shows what each request itself costs. ``jobs_etag`` is ``GET jobs`` sent
with the ``If-None-Match`` of the client's last answer (what a polling client that keeps the
ETag pays). With ``--before-ref`` the same scenarios also run on
the code of that commit (phases alternate before/after, twice).

Usage::

    python bench/bench_get_jobs.py [--clients 100] [--seconds 8] [--before-ref 6b85d36]

Results are printed and written to ``bench/results/get_jobs.json``. On a machine shared with
other work the absolute figures move a lot; the jobs/status ratio, measured interleaved, is the
figure to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lab_servers import HEADERS, LabServer, export_package, percentile

RESULTS = Path(__file__).resolve().parent / "results"
JOBS = 4
SPEC = {"dataset": {"name": "digits"}, "model": {"preset": "mlp"}, "train": {"epochs": 1}}
EXECUTORS = {
    "finished": "tests.fakes.InstantExecutor",
    "streaming": "bench_executors.StreamingExecutor",
    "many": "tests.fakes.InstantExecutor",
}
#: Jobs per scenario (``many``: a runs directory a class has used for a term).
JOB_COUNTS = {"finished": JOBS, "streaming": JOBS, "many": 300}


async def start(root: Path, scenario: str, package_root: Path | None) -> tuple[LabServer, list[Any]]:
    """A server with :data:`JOBS` jobs in ``scenario``'s state, and the WebSocket followers."""
    runs_dir = root / f"runs-{scenario}-{time.monotonic_ns()}"
    args = (
        f"--LeptonLabApp.executor_class={EXECUTORS[scenario]}",
        f"--LeptonLabApp.max_concurrent_jobs={JOBS}",
    )
    server = LabServer(root, runs_dir, package_root=package_root, args=args)
    await server.wait_up()
    client = AsyncHTTPClient()
    ids = []
    count = JOB_COUNTS[scenario]
    for n in range(count):
        body = json.dumps({**SPEC, "name": f"{scenario}-{n}"})
        response = await client.fetch(
            server.url + "lepton-lab/api/jobs", method="POST", body=body, headers=HEADERS
        )
        ids.append(json.loads(response.body)["id"])
    wanted = "running" if scenario == "streaming" else "completed"
    while True:
        _, body = await server.get("lepton-lab/api/jobs")
        if [job["status"] for job in json.loads(body)["jobs"]] == [wanted] * count:
            break
        await asyncio.sleep(0.2)
    followers = []
    if scenario == "streaming":
        for job_id in ids:
            request = HTTPRequest(server.ws + f"lepton-lab/api/jobs/{job_id}/stream", headers=HEADERS)
            followers.append(await websocket_connect(request, max_message_size=1 << 30))
    return server, followers


async def drain(ws: Any) -> None:
    while await ws.read_message() is not None:
        pass


async def load(server: LabServer, clients: int, seconds: float) -> dict[str, list[float]]:
    """``clients`` concurrent clients cycling through status, jobs and jobs-with-ETag for ``seconds``."""
    http = AsyncHTTPClient()
    latencies: dict[str, list[float]] = {"status": [], "jobs": [], "jobs_etag": []}
    routes = {"status": "api/status", "jobs": "lepton-lab/api/jobs", "jobs_etag": "lepton-lab/api/jobs"}
    stop_at = time.monotonic() + seconds

    async def client(number: int) -> None:
        etag = None
        names = list(routes)
        turn = number
        while time.monotonic() < stop_at:
            name = names[turn % len(names)]
            turn += 1
            headers = dict(HEADERS)
            if name == "jobs_etag" and etag:
                headers["If-None-Match"] = etag
            start = time.perf_counter()
            try:
                response = await http.fetch(server.url + routes[name], headers=headers)
                if name == "jobs":
                    etag = response.headers.get("Etag")
            except HTTPClientError as error:
                if error.code != 304:
                    raise
            latencies[name].append((time.perf_counter() - start) * 1000)

    await asyncio.gather(*(client(n) for n in range(clients)))
    return latencies


def summarize(latencies: dict[str, list[float]]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name, values in latencies.items():
        row[name] = {
            "requests": len(values),
            "p50_ms": round(statistics.median(values), 1),
            "p99_ms": round(percentile(values, 99), 1),
        }
    row["jobs_p99_over_status_p99"] = round(row["jobs"]["p99_ms"] / row["status"]["p99_ms"], 2)
    row["jobs_etag_p99_over_status_p99"] = round(row["jobs_etag"]["p99_ms"] / row["status"]["p99_ms"], 2)
    return row


async def run_phase(
    root: Path, scenario: str, package_root: Path | None, clients: int, seconds: float
) -> dict:
    server, followers = await start(root, scenario, package_root)
    drains = [asyncio.ensure_future(drain(ws)) for ws in followers]
    try:
        await load(server, max(1, clients // 10), 1.0)  # warm up connections and caches
        row = summarize(await load(server, clients, seconds))
        # One client: each route's own cost, without the queueing that 100 clients add to both.
        row["one_client"] = summarize(await load(server, 1, seconds / 2))
        return row
    finally:
        for ws in followers:
            ws.close()
        for task in drains:
            task.cancel()
        server.stop()


async def main(clients: int, seconds: float, ref: str | None, scenarios: list[str]) -> None:
    AsyncHTTPClient.configure(None, max_clients=clients)
    results: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "clients": clients,
        "seconds": seconds,
        "before_ref": ref,
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        versions: dict[str, Path | None] = {"after": None}
        if ref:
            versions = {"before": export_package(ref, root / "before-package"), "after": None}
        for scenario in scenarios:
            phases: dict[str, list[dict[str, Any]]] = {name: [] for name in versions}
            for _ in range(2 if ref else 1):
                for name, package_root in versions.items():
                    row = await run_phase(root, scenario, package_root, clients, seconds)
                    phases[name].append(row)
                    print(scenario, name, json.dumps(row), flush=True)
            results[scenario] = phases
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "get_jobs.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--before-ref", default=None, help="also measure the code of this git commit")
    parser.add_argument("--scenarios", nargs="+", choices=list(EXECUTORS), default=["finished", "streaming"])
    args = parser.parse_args()
    asyncio.run(main(args.clients, args.seconds, args.before_ref, args.scenarios))
