"""``bench/bench_executors.py --quick --only fake`` runs and returns well-formed rows (no timing asserted)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import bench_executors


def test_quick_fake_run_writes_latency_throughput_and_cpu_rows(tmp_path):
    out = tmp_path / "executors.json"
    results = bench_executors.bench(["--quick", "--only", "fake", "--window", "0.05", "--out", str(out)])

    assert json.loads(out.read_text())["fake_cpu"] == results["fake_cpu"]
    assert "local" not in results and "ray" not in results
    latency, throughput = results["fake"]["latency"], results["fake"]["throughput"]
    assert len(latency["jobs"]) == 1 and latency["jobs"][0]["first_batch_s"] >= 0
    assert throughput["jobs"] == 4 and throughput["slots"] == 2
    assert [row["jobs"] for row in results["fake_cpu"]] == [1, 5, 10, 5, 1]  # up, then down again
    assert all(row["server_cpu_s_per_s"] >= 0 and "marginal_cpu_ms_per_s" in row
               for row in results["fake_cpu"] if row["jobs"] > 1)  # fmt: skip


def test_only_rejects_an_unknown_executor(capsys):
    try:
        bench_executors.parse(["--only", "fake,slurm"])
    except SystemExit as error:
        assert error.code == 2
    else:
        raise AssertionError("--only slurm was accepted")
    assert "unknown slurm" in capsys.readouterr().err
