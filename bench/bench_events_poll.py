"""Cost of ``GET jobs/{id}/events?after=N`` at 10³, 10⁵ and 10⁶ events, before and after the event index.

Two measurements, each interleaving the old and the new read path request by request:

``read``
    In this process, without HTTP: the old read path (the whole file read and split, then the
    page parsed and encoded, as the handler did on the event loop; kept below as
    :func:`old_read_events`) against :class:`~lepton_lab.core.event_index.EventIndex` (seek, read
    the page, parse, encode).
``http``
    Two real Jupyter servers on the same run directories (hard links): one runs ``lepton_lab`` as
    of ``--before-ref`` (exported from git), one this checkout. Per size: a *poll* (``after`` 3
    lines before the end, what a client following a job asks) and a *page* (10 000 events from
    the middle). The first request of the new server builds the index and is reported apart.
    While pages are read, a second client pings jupyter-server's ``GET /api/status`` to show how
    long the event loop was held (``status_during_pages_*``).

Usage::

    python bench/bench_events_poll.py [--sizes 1000 100000 1000000] [--rounds 20]

Results are printed and written to ``bench/results/events_poll.json``. Figures from a shared
machine are noisy; the ratios come from interleaved runs and are what to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from lab_servers import LabServer, export_package, percentile

from lepton_lab.core.event_index import EventIndex
from lepton_lab.core.rundir import RunDir

RESULTS = Path(__file__).resolve().parent / "results"
PAGE = 10_000
POLL_NEW = 3
#: The commit before the event index (GET events read the whole file on the event loop).
BEFORE_REF = "6b85d36"


def old_read_events(path: Path, after: int = 0, limit: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """``core.events.read_events`` as it was before the index: reads and splits the whole file."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return [], after
    complete = data[: data.rfind(b"\n") + 1]
    lines = complete.splitlines()
    if after >= len(lines):
        return [], after
    stop = len(lines) if limit is None else min(len(lines), after + limit)
    events = []
    for line in lines[after:stop]:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events, stop


def write_events(path: Path, count: int) -> None:
    """``count`` batch events as a worker writes them (~110 bytes each)."""
    with open(path, "w") as handle:
        for start in range(0, count, 10_000):
            handle.write(
                "".join(
                    f'{{"t":{1714000000 + step / 100:.3f},"type":"batch","step":{step},'
                    f'"epoch":{step // 1000 + 1},"metrics":{{"loss":{1 / (step + 1):.6f},'
                    f'"accuracy":{step % 1000 / 1000:.4f}}}}}\n'
                    for step in range(start, min(count, start + 10_000))
                )
            )


def make_runs(runs_dir: Path, sizes: list[int]) -> dict[int, RunDir]:
    runs = {}
    for size in sizes:
        run = RunDir.create(runs_dir, {"name": f"events-{size}", "dataset": {"name": "digits"}})
        write_events(run.events_path, size)
        run.write_status(status="completed", epoch=1, exit_code=0)
        runs[size] = run
    return runs


def summary(values: list[float]) -> dict[str, float]:
    return {"p50_ms": round(statistics.median(values), 2), "p90_ms": round(percentile(values, 90), 2)}


def bench_read(runs: dict[int, RunDir], rounds: int) -> dict[str, Any]:
    """Old vs new read path in this process (read + parse + encode), interleaved."""
    results: dict[str, Any] = {}
    for size, run in runs.items():
        path = run.events_path
        index = EventIndex(path)
        start = time.perf_counter()
        index.read(size)  # builds the index
        build_ms = (time.perf_counter() - start) * 1000
        cases = {"poll": (max(0, size - POLL_NEW), PAGE), "page": (max(0, size // 2 - PAGE // 2), PAGE)}
        row: dict[str, Any] = {"index_build_ms": round(build_ms, 1)}
        for case, (after, limit) in cases.items():
            old: list[float] = []
            new: list[float] = []
            for r in range(rounds):
                order = [("old", old_read_events, old), ("new", None, new)]
                for name, _fn, times in order if r % 2 == 0 else reversed(order):
                    start = time.perf_counter()
                    if name == "old":
                        events, offset = old_read_events(path, after, limit)
                    else:
                        events, offset = index.read(after, limit)
                    json.dumps({"events": events, "next": offset}, default=str)
                    times.append((time.perf_counter() - start) * 1000)
            assert old_read_events(path, after, limit) == index.read(after, limit)
            row[case] = {
                "events": len(index.read(after, limit)[0]),
                "before": summary(old),
                "after": summary(new),
                "speedup_p50": round(statistics.median(old) / statistics.median(new), 1),
            }
        results[str(size)] = row
        print("read", size, json.dumps(row), flush=True)
    return results


async def ping_status(server: LabServer, stop: asyncio.Event, latencies: list[float]) -> None:
    while not stop.is_set():
        ms, _ = await server.get("api/status")
        latencies.append(ms)
        await asyncio.sleep(0.005)


async def bench_http(
    root: Path, runs_dir: Path, runs: dict[int, RunDir], rounds: int, ref: str
) -> dict[str, Any]:
    """Old and new servers on the same files, requests interleaved."""
    old_runs = root / "runs-before"
    shutil.copytree(runs_dir, old_runs, copy_function=os.link)  # hard links: the same files
    old_pkg = export_package(ref, root / "before-package")
    servers = {
        "before": LabServer(root, old_runs, package_root=old_pkg),
        "after": LabServer(root, runs_dir),
    }
    try:
        await asyncio.gather(*(s.wait_up() for s in servers.values()))
        results: dict[str, Any] = {"before_ref": ref}
        for size, run in runs.items():
            base = f"lepton-lab/api/jobs/{run.id}/events"
            cases = {
                "poll": f"{base}?after={max(0, size - POLL_NEW)}",
                "page": f"{base}?after={max(0, size // 2 - PAGE // 2)}&limit={PAGE}",
            }
            row: dict[str, Any] = {}
            first_ms, _ = await servers["after"].get(cases["poll"])
            row["after_first_request_ms"] = round(first_ms, 1)  # builds the index
            await servers["before"].get(cases["poll"])
            for case, path in cases.items():
                times: dict[str, list[float]] = {"before": [], "after": []}
                bodies = {}
                for r in range(rounds):
                    names = ["before", "after"] if r % 2 == 0 else ["after", "before"]
                    for name in names:
                        ms, body = await servers[name].get(path)
                        times[name].append(ms)
                        bodies[name] = body
                assert bodies["before"] == bodies["after"], f"{case} at {size}: responses differ"
                row[case] = {
                    "before": summary(times["before"]),
                    "after": summary(times["after"]),
                    "speedup_p50": round(
                        statistics.median(times["before"]) / statistics.median(times["after"]), 1
                    ),
                }
            # How long page reads hold each server's event loop: status pings meanwhile.
            for name in ("before", "after", "before", "after"):
                stop, pings = asyncio.Event(), []
                pinger = asyncio.ensure_future(ping_status(servers[name], stop, pings))
                for _ in range(max(3, rounds // 4)):
                    await servers[name].get(cases["page"])
                stop.set()
                await pinger
                row.setdefault(f"status_during_pages_{name}", []).extend(pings)
            for name in ("before", "after"):
                pings = row.pop(f"status_during_pages_{name}")
                row[f"status_during_pages_{name}"] = {
                    "pings": len(pings),
                    "p99_ms": round(percentile(pings, 99), 1),
                    "max_ms": round(max(pings), 1),
                }
            results[str(size)] = row
            print("http", size, json.dumps(row), flush=True)
        return results
    finally:
        for server in servers.values():
            server.stop()


async def main(sizes: list[int], rounds: int, ref: str, parts: list[str]) -> None:
    results: dict[str, Any] = {"cpus": os.cpu_count(), "sizes": sizes, "rounds": rounds}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        runs_dir = root / "runs"
        runs_dir.mkdir()
        runs = make_runs(runs_dir, sizes)
        if "read" in parts:
            results["read"] = bench_read(runs, rounds)
        if "http" in parts:
            results["http"] = await bench_http(root, runs_dir, runs, rounds, ref)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "events_poll.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--before-ref", default=BEFORE_REF, help="git commit of the code to compare with")
    parser.add_argument("--parts", nargs="+", choices=["read", "http"], default=["read", "http"])
    args = parser.parse_args()
    asyncio.run(main(args.sizes, args.rounds, args.before_ref, args.parts))
