"""Executor benchmarks, and the executors for server benchmarks that need jobs without TensorFlow.

Benchmark (run as ``python bench/bench_executors.py [--quick] [--only local,ray,fake]``), each
part on an in-process :class:`~lepton_lab.server.jobs.JobManager` (the server's job side, without
HTTP):

``latency``
    Jobs submitted one at a time: seconds from ``submit`` to the job's first batch event (its
    ``t`` in ``events.jsonl``), and the per-job overhead = submit → outcome seen by the manager,
    less the training time (first batch event → last epoch event).
``throughput``
    ``--jobs`` short jobs submitted at once with 2 slots: total wall time against the sum of
    their training times.
``cpu`` (Fake only)
    1, 5, 10, 25, 50 jobs that never end (a ticker writes a batch and an epoch event per job
    :data:`TICK_HZ` times a second) and the CPU seconds the manager's process spends per running
    job per second over a fixed window, counts going up then down again; the ticker's own CPU
    (standing in for the workers, which are other processes in real life) is measured and left out.

Executors: ``local`` (:class:`~lepton_lab.server.executors.LocalProcessExecutor`, real TensorFlow
workers on a tiny ``digits`` spec), ``ray`` (:class:`~lepton_lab.server.ray_executor.RayExecutor`
on a head + second node started on this machine by ``tests/ray_cluster.py``, one CPU each),
``fake`` (``tests.fakes.InstantExecutor`` for latency/throughput). Results are printed and written
to ``bench/results/executors.json``. On a 2-core machine shared with other work, absolute figures
move a lot; run it with nothing else running.

``StreamingExecutor`` runs each job as a process that writes events like a training worker (one
batch event every ``1 / rate`` seconds through :class:`~lepton_lab.core.events.EventWriter`, an
epoch event every 100 batches) until it is cancelled or ``LEPTON_BENCH_SECONDS`` pass. Select it
with ``--LeptonLabApp.executor_class=bench_executors.StreamingExecutor`` and ``bench/`` on
``PYTHONPATH`` (``bench_get_jobs.py`` does). Run as ``python bench_executors.py RUN_DIR``, this
module is that process.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lepton_lab.core.rundir import RunDir
from lepton_lab.server.executors import Executor, LocalProcessExecutor

#: Batch events per second each streaming job writes.
RATE = float(os.environ.get("LEPTON_BENCH_RATE", "200"))

#: Seconds a streaming job runs unless cancelled first.
SECONDS = float(os.environ.get("LEPTON_BENCH_SECONDS", "600"))

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"

#: A job that trains for a second or two once TensorFlow has loaded.
SPEC = {
    "dataset": {"name": "digits", "subset": 300},
    "model": {"preset": "mlp"},
    "train": {"epochs": 2, "batch_size": 32},
}
#: Times a second the ticker writes one batch and one epoch event for every running fake job.
TICK_HZ = 4.0
#: Manager poll interval (the server's default).
POLL_S = 0.05
CPU_COUNTS = (1, 5, 10, 25, 50)
ACTIVE = ("queued", "running")


class StreamingExecutor(LocalProcessExecutor):
    """Runs this module as each job's worker: events at :data:`RATE` per second, no training."""

    def command(self, run: RunDir) -> list[str]:
        """Return the worker's command line."""
        return [sys.executable, str(Path(__file__).resolve()), str(run.path)]


def stream(run: RunDir) -> None:
    """Write events into ``run`` as a training worker would, then record it completed."""
    from lepton_lab.core.events import EventWriter

    run.write_status(status="running", pid=os.getpid(), epoch=0)
    steps, epochs = int(RATE * SECONDS), max(1, int(RATE * SECONDS) // 100)
    start = time.monotonic()
    with EventWriter(run.events_path) as writer:
        writer.emit("status", status="running", epoch=0, epochs=epochs)
        for step in range(1, steps + 1):
            epoch = (step - 1) // 100 + 1
            writer.emit("batch", step=step, epoch=epoch, total_steps=steps, metrics={"loss": 1 / step})
            if step % 100 == 0:
                writer.emit("epoch", step=step, epoch=epoch, metrics={"loss": 1 / step, "val_loss": 1 / step})
            time.sleep(max(0.0, start + step / RATE - time.monotonic()))
        writer.emit("status", status="completed", epoch=epochs)
    run.write_status(status="completed", epoch=epochs, exit_code=0)


# --- the benchmark -------------------------------------------------------------------------------


def manager_with(runs_dir: Path, executor: Executor, slots: int) -> Any:
    """A started job manager on ``runs_dir`` (imported here: the worker above needs none of it)."""
    from lepton_lab.server.devices import GpuAllocator
    from lepton_lab.server.jobs import JobManager

    manager = JobManager(runs_dir, executor=executor, slots=slots, allocator=GpuAllocator("none"),
                         cwd=ROOT, poll_interval_s=POLL_S)  # fmt: skip
    manager.recover()
    manager.start()
    return manager


def run_events(run_dir: str) -> list[dict[str, Any]]:
    """The events of a run."""
    from lepton_lab.core.events import read_events

    events, _ = read_events(RunDir(run_dir).events_path)
    return events


def training_s(events: list[dict[str, Any]]) -> float | None:
    """First batch event → last epoch event, in seconds (None: it never trained)."""
    batches = [e["t"] for e in events if e["type"] == "batch"]
    epochs = [e["t"] for e in events if e["type"] == "epoch"]
    return epochs[-1] - batches[0] if batches and epochs else None


async def until_ended(manager: Any, ids: list[str], timeout: float) -> dict[str, float]:
    """Wait for every job in ``ids`` to end; the wall time (``time.time``) each end was seen."""
    seen: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(seen) < len(ids):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(ids) - len(seen)} jobs still active after {timeout:g} s")
        for job_id in ids:
            if job_id not in seen and manager.get(job_id)["status"] not in ACTIVE:
                seen[job_id] = time.time()
        await asyncio.sleep(0.02)
    return seen


def check_completed(manager: Any, ids: list[str]) -> None:
    bad = {i: manager.get(i)["status"] for i in ids if manager.get(i)["status"] != "completed"}
    if bad:
        first = manager.get(next(iter(bad)))
        raise RuntimeError(f"jobs did not complete: {bad}; first error: {first.get('error')}")


async def latency(manager: Any, count: int, timeout: float) -> dict[str, Any]:
    """Submit ``count`` jobs one after another (each alone): first-batch latency and overhead."""
    rows = []
    for n in range(count):
        submitted = time.time()
        job_id = manager.submit({**SPEC, "name": f"latency-{n}"})["id"]
        ended = (await until_ended(manager, [job_id], timeout))[job_id]
        check_completed(manager, [job_id])
        events = run_events(manager.get(job_id)["run_dir"])
        first = next(e["t"] for e in events if e["type"] == "batch")
        train = training_s(events) or 0.0
        rows.append({"first_batch_s": first - submitted, "training_s": train,
                     "overhead_s": (ended - submitted) - train})  # fmt: skip
    return {
        "jobs": rows,
        "first_batch_median_s": statistics.median(r["first_batch_s"] for r in rows),
        "overhead_median_s": statistics.median(r["overhead_s"] for r in rows),
    }


async def throughput(manager: Any, count: int, timeout: float) -> dict[str, Any]:
    """Submit ``count`` jobs at once: wall time until all ended against their summed training."""
    start = time.time()
    ids = [manager.submit({**SPEC, "name": f"batch-{n}"})["id"] for n in range(count)]
    ends = await until_ended(manager, ids, timeout)
    check_completed(manager, ids)
    train = sum(training_s(run_events(manager.get(i)["run_dir"])) or 0.0 for i in ids)
    wall = max(ends.values()) - start
    return {"jobs": count, "slots": manager.slots, "wall_s": wall, "training_sum_s": train,
            "wall_per_job_s": wall / count, "training_sum_per_slot_s": train / manager.slots}  # fmt: skip


async def run_executor(name: str, make: Callable[[], Executor], args: argparse.Namespace) -> dict[str, Any]:
    """The latency and throughput parts for one executor."""
    with tempfile.TemporaryDirectory(prefix=f"bench-exec-{name}-") as tmp:
        manager = manager_with(Path(tmp), make(), slots=2)
        try:
            return {
                "latency": await latency(manager, args.latency_jobs, args.timeout),
                "throughput": await throughput(manager, args.jobs, args.timeout),
            }
        finally:
            await manager.stop()


class TickingExecutor:
    """Fake workers that never end, and the ticker that makes each write events (its CPU counted)."""

    def __init__(self) -> None:
        sys.path.insert(0, str(ROOT))
        from tests.fakes import FakeExecutor, Script

        self.executor = FakeExecutor(Script(epochs=10**9, outcome="forever"))
        self.tick_cpu_s = 0.0

    async def tick_forever(self) -> None:
        """Step every live worker :data:`TICK_HZ` times a second (one batch + one epoch event each)."""
        while True:
            began = time.process_time()
            for worker in self.executor.started:
                if worker.exit is None:
                    worker.step()
            self.tick_cpu_s += time.process_time() - began
            await asyncio.sleep(1 / TICK_HZ)


async def cpu_scaling(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Manager CPU per running fake job at each count, going up then down."""
    counts = CPU_COUNTS[:3] if args.quick else CPU_COUNTS
    order = [*counts, *reversed(counts[:-1])]
    ticking = TickingExecutor()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-exec-cpu-") as tmp:
        manager = manager_with(Path(tmp), ticking.executor, slots=max(counts))
        ticker = asyncio.ensure_future(ticking.tick_forever())
        running: list[str] = []
        try:
            for count in order:
                while len(running) < count:
                    running.append(manager.submit({**SPEC, "name": f"cpu-{len(running)}"})["id"])
                while len(running) > count:
                    manager.cancel(running.pop())
                await asyncio.sleep(min(1.0, args.window))  # started / cancelled jobs settle
                live = sum(manager.get(i)["status"] == "running" for i in running)
                cpu0, tick0, wall0 = time.process_time(), ticking.tick_cpu_s, time.monotonic()
                await asyncio.sleep(args.window)
                wall = time.monotonic() - wall0
                server = (time.process_time() - cpu0) - (ticking.tick_cpu_s - tick0)
                rows.append({"jobs": count, "running": live, "window_s": wall,
                             "server_cpu_s_per_s": server / wall,
                             "per_job_cpu_ms_per_s": 1000 * server / wall / count,
                             "ticker_cpu_s_per_s": (ticking.tick_cpu_s - tick0) / wall})  # fmt: skip
                print(f"  fake cpu: {count:3d} jobs  server {server / wall * 100:5.1f}% of a core  "
                      f"{rows[-1]['per_job_cpu_ms_per_s']:.2f} ms/s per job", flush=True)  # fmt: skip
        finally:
            ticker.cancel()
            for job_id in running:
                manager.cancel(job_id)
            await manager.stop()
    # The cost one more job adds, against the 1-job reading (its base: the scanner, the index).
    base = statistics.mean(row["server_cpu_s_per_s"] for row in rows if row["jobs"] == 1)
    for row in rows:
        if row["jobs"] > 1:
            row["marginal_cpu_ms_per_s"] = 1000 * (row["server_cpu_s_per_s"] - base) / (row["jobs"] - 1)
    return rows


@contextmanager
def ray_address() -> Iterator[str]:
    """A head + second node on this machine (``tests/ray_cluster.py``), one CPU each."""
    sys.path.insert(0, str(ROOT))
    from tests.ray_cluster import local_ray_cluster

    with local_ray_cluster() as cluster:
        yield cluster.address


def summarize(name: str, result: dict[str, Any]) -> None:
    lat, thr = result["latency"], result["throughput"]
    print(f"  {name}: submit → first batch median {lat['first_batch_median_s']:.3f} s, "
          f"overhead median {lat['overhead_median_s']:.3f} s; {thr['jobs']} jobs on {thr['slots']} slots: "
          f"wall {thr['wall_s']:.1f} s vs training sum {thr['training_sum_s']:.1f} s "
          f"({thr['training_sum_per_slot_s']:.1f} s per slot)", flush=True)  # fmt: skip


async def main(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"cores": os.cpu_count(), "args": vars(args), "spec": SPEC}
    only = args.only
    if "fake" in only:
        sys.path.insert(0, str(ROOT))
        from tests.fakes import InstantExecutor

        print("fake (InstantExecutor)", flush=True)
        results["fake"] = await run_executor("fake", InstantExecutor, args)
        summarize("fake", results["fake"])
        print("fake CPU per running job", flush=True)
        results["fake_cpu"] = await cpu_scaling(args)
    if "local" in only:
        print("local (LocalProcessExecutor, TensorFlow workers)", flush=True)
        results["local"] = await run_executor("local", LocalProcessExecutor, args)
        summarize("local", results["local"])
    if "ray" in only:
        from lepton_lab.server.ray_executor import RayExecutor

        print("ray (starting a two-node local cluster)", flush=True)
        started = time.monotonic()
        with ray_address() as address:
            results["ray_cluster_start_s"] = time.monotonic() - started
            results["ray"] = await run_executor("ray", lambda: RayExecutor(ray_address=address), args)
        summarize("ray", results["ray"])
    return results


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few jobs and short windows (a smoke run)")
    parser.add_argument("--only", default="local,ray,fake", help="comma-separated: local, ray, fake")
    parser.add_argument("--jobs", type=int, default=None, help="jobs in the throughput part (20)")
    parser.add_argument("--latency-jobs", type=int, default=None, help="jobs timed one by one (3)")
    parser.add_argument("--window", type=float, default=None, help="CPU window per count, s (5)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds a part may take")
    parser.add_argument("--out", type=Path, default=RESULTS / "executors.json")
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - {"local", "ray", "fake"}
    if unknown:
        parser.error(f"--only: unknown {', '.join(sorted(unknown))}; use local, ray, fake")
    args.only = args.only.split(",")
    args.jobs = args.jobs or (4 if args.quick else 20)
    args.latency_jobs = args.latency_jobs or (1 if args.quick else 3)
    args.window = args.window or (1.0 if args.quick else 5.0)
    return args


def bench(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; write and return its results."""
    args = parse(argv)
    results = asyncio.run(main(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str))
    print(f"written to {args.out}")
    return results


if __name__ == "__main__":
    if len(sys.argv) == 2 and not sys.argv[1].startswith("-"):
        stream(RunDir(sys.argv[1]))  # a StreamingExecutor worker
    else:
        bench()
