"""Benchmarks of the server extension's streaming (not part of the test suite).

Each benchmark starts a real ``jupyter server`` with Lepton Lab in a subprocess and trains real
(small) jobs in worker processes:

``latency``
    Time from a batch's end in the worker (the event's ``t``) to its receipt by a WebSocket
    subscriber: p50 / p95 / max. Target: p95 <= 250 ms.
``fanout``
    One job followed by N subscribers (default 50): every subscriber must receive every event,
    and training time (sum of ``epoch_time_s``) is compared with the same job and no subscribers.
``list``
    ``GET jobs`` latency (p50 / p99) from 100 concurrent clients while 4 jobs stream.

Usage::

    python bench/bench_server.py latency fanout list

Results are printed and written to ``bench/results/server.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

TOKEN = "bench-token"
HEADERS = {"Authorization": f"token {TOKEN}"}
RESULTS = Path(__file__).resolve().parent / "results"


def job_spec(epochs: int, name: str = "bench") -> dict[str, Any]:
    """Digits MLP with one event per batch (steps_per_execution=1)."""
    return {
        "name": name,
        "dataset": {"name": "digits"},
        "model": {"preset": "mlp"},
        "train": {"epochs": epochs, "batch_size": 32, "steps_per_execution": 1},
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """A ``jupyter server`` subprocess with Lepton Lab."""

    def __init__(self, root: Path, max_jobs: int = 1) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.ws = f"ws://127.0.0.1:{self.port}/"
        args = [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            f"--port={self.port}",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.root_dir={root}",
            f"--IdentityProvider.token={TOKEN}",
            f"--LeptonLabApp.runs_dir={root / 'runs'}",
            f"--LeptonLabApp.max_concurrent_jobs={max_jobs}",
        ]
        if os.geteuid() == 0:
            args.append("--allow-root")
        self.log = open(root / "server.log", "w")  # closed in stop()
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    async def wait_up(self) -> None:
        client = AsyncHTTPClient()
        for _ in range(300):
            try:
                await client.fetch(self.url + "lepton-lab/api/status", headers=HEADERS)
                return
            except Exception:
                await asyncio.sleep(0.2)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()
        # Workers outlive their server by design; a benchmark must not leave any behind.
        for status in (self.root / "runs").glob("*/status.json"):
            pid = json.loads(status.read_text()).get("pid")
            if (
                pid
                and psutil.pid_exists(pid)
                and "lepton_lab.core.worker" in " ".join(psutil.Process(pid).cmdline())
            ):
                os.killpg(pid, signal.SIGKILL)

    async def submit(self, spec: dict[str, Any]) -> str:
        response = await AsyncHTTPClient().fetch(
            self.url + "lepton-lab/api/jobs", method="POST", body=json.dumps(spec), headers=HEADERS
        )
        return str(json.loads(response.body)["id"])

    async def job(self, job_id: str) -> dict[str, Any]:
        response = await AsyncHTTPClient().fetch(self.url + f"lepton-lab/api/jobs/{job_id}", headers=HEADERS)
        result: dict[str, Any] = json.loads(response.body)
        return result

    async def follow(self, job_id: str, received: list[tuple[float, dict[str, Any]]]) -> None:
        """Collect (receipt time, event) until the job's stream closes."""
        request = HTTPRequest(self.ws + f"lepton-lab/api/jobs/{job_id}/stream?after=0", headers=HEADERS)
        ws = await websocket_connect(request, max_message_size=1 << 30)
        while (text := await ws.read_message()) is not None:
            now = time.time()
            message = json.loads(text)
            if message["type"] == "events":
                received.extend((now, event) for event in message["events"])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def training_seconds(events: list[dict[str, Any]]) -> float:
    return sum(e["metrics"].get("epoch_time_s", 0.0) for e in events if e["type"] == "epoch")


async def bench_latency(root: Path) -> dict[str, Any]:
    server = Server(root)
    try:
        await server.wait_up()
        job_id = await server.submit(job_spec(5))
        received: list[tuple[float, dict[str, Any]]] = []
        await server.follow(job_id, received)
        delays = [(now - event["t"]) * 1000 for now, event in received if event["type"] == "batch"]
        return {
            "batch_events": len(delays),
            "p50_ms": round(statistics.median(delays), 1),
            "p95_ms": round(percentile(delays, 95), 1),
            "max_ms": round(max(delays), 1),
        }
    finally:
        server.stop()


async def bench_fanout(root: Path, subscribers: int) -> dict[str, Any]:
    server = Server(root)
    try:
        await server.wait_up()
        cpu = psutil.Process(server.proc.pid)
        before = sum(cpu.cpu_times()[:2])
        alone = await server.submit(job_spec(5, "alone"))
        solo: list[tuple[float, dict[str, Any]]] = []
        await server.follow(alone, solo)
        server_cpu_alone = sum(cpu.cpu_times()[:2]) - before

        before = sum(cpu.cpu_times()[:2])
        crowded = await server.submit(job_spec(5, "crowded"))
        streams: list[list[tuple[float, dict[str, Any]]]] = [[] for _ in range(subscribers)]
        await asyncio.gather(*(server.follow(crowded, stream) for stream in streams))
        server_cpu_crowded = sum(cpu.cpu_times()[:2]) - before
        lines = (root / "runs" / crowded / "events.jsonl").read_bytes().count(b"\n")
        base, loaded = training_seconds([e for _, e in solo]), training_seconds([e for _, e in streams[0]])
        return {
            "subscribers": subscribers,
            "events_in_file": lines,
            "every_subscriber_got_every_event": all(len(s) == lines for s in streams),
            "training_s_without_subscribers": round(base, 3),
            "training_s_with_subscribers": round(loaded, 3),
            "slowdown_percent": round(100 * (loaded - base) / base, 1),
            # CPU the server itself spent per job: what fan-out can take away from a worker.
            "server_cpu_s_without_subscribers": round(server_cpu_alone, 3),
            "server_cpu_s_with_subscribers": round(server_cpu_crowded, 3),
        }
    finally:
        server.stop()


async def bench_list(root: Path, clients: int, seconds: float) -> dict[str, Any]:
    server = Server(root, max_jobs=4)
    try:
        await server.wait_up()
        jobs = [await server.submit(job_spec(30, f"stream-{n}")) for n in range(4)]
        while [(await server.job(j))["status"] for j in jobs] != ["running"] * 4:
            await asyncio.sleep(0.2)
        followers = [asyncio.ensure_future(server.follow(j, [])) for j in jobs]
        AsyncHTTPClient.configure(None, max_clients=clients)
        http = AsyncHTTPClient()
        latencies: list[float] = []
        stop_at = time.monotonic() + seconds

        async def poll() -> None:
            while time.monotonic() < stop_at:
                start = time.perf_counter()
                await http.fetch(server.url + "lepton-lab/api/jobs", headers=HEADERS)
                latencies.append((time.perf_counter() - start) * 1000)

        await asyncio.gather(*(poll() for _ in range(clients)))
        for j in jobs:
            await http.fetch(server.url + f"lepton-lab/api/jobs/{j}", method="DELETE", headers=HEADERS)
        await asyncio.wait(followers, timeout=60)
        return {
            "clients": clients,
            "requests": len(latencies),
            "p50_ms": round(statistics.median(latencies), 1),
            "p99_ms": round(percentile(latencies, 99), 1),
        }
    finally:
        server.stop()


async def main(names: list[str], subscribers: int, clients: int, seconds: float) -> None:
    results: dict[str, Any] = {"cpus": os.cpu_count()}
    for name in names:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            if name == "latency":
                results[name] = await bench_latency(root)
            elif name == "fanout":
                results[name] = await bench_fanout(root, subscribers)
            elif name == "list":
                results[name] = await bench_list(root, clients, seconds)
        print(name, json.dumps(results[name]), flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "server.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("benchmarks", nargs="+", choices=["latency", "fanout", "list"])
    parser.add_argument("--subscribers", type=int, default=50)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    asyncio.run(main(args.benchmarks, args.subscribers, args.clients, args.seconds))
