"""train.distribute='mirrored': one job on several devices, tested on CPU with logical devices.

The training tests run real workers (``python -m lepton_lab.core.worker``) in fresh processes:
splitting the CPU into logical devices must happen before TensorFlow starts, which this test
process may already have done. ``LEPTON_LAB_LOGICAL_CPUS`` (testing only) asks the worker for
the split. GPUs are not tested here: no GPU on the machines this suite runs on.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lepton_lab.core import distribution, runtime_policy
from lepton_lab.core.distribution import LOGICAL_CPUS_ENV, place
from lepton_lab.core.events import read_events
from lepton_lab.core.rundir import RunDir
from lepton_lab.core.specs import JobSpec, SpecError, parse_job

ROOT = Path(__file__).resolve().parents[1]
PER_REPLICA = 16


def _spec(distribute: str = "mirrored", **train: Any) -> JobSpec:
    return JobSpec.model_validate(
        {
            "name": "mirrored",
            "dataset": {"name": "digits", "subset": 600},
            "model": {"preset": "mlp"},
            "train": {"epochs": 3, "batch_size": PER_REPLICA, "distribute": distribute, **train},
        }
    )


def _text_spec() -> JobSpec:
    document = _spec().model_dump()
    document["dataset"] = {"name": "fortunes_languages", "subset": 300}
    document["model"] = {"preset": "bag_of_words"}
    return JobSpec.model_validate(document)


# -- the spec ------------------------------------------------------------------------------------


def test_distribute_defaults_to_one_device_and_refuses_unknown_strategies_with_the_choices():
    assert parse_job({"dataset": {"name": "digits"}}).train.distribute == "none"
    assert _spec().train.distribute == "mirrored"
    with pytest.raises(SpecError) as caught:
        parse_job({"dataset": {"name": "digits"}, "train": {"distribute": "horovod"}}, strict=True)
    assert "train.distribute: unknown distribute 'horovod'; use 'none' (one device) or 'mirrored'" in str(
        caught.value
    )


# -- placement (no TensorFlow: the devices are given) ----------------------------------------------


def test_mirrored_over_two_devices_has_two_replicas_and_a_doubled_global_batch():
    placement = place("mirrored", ["/cpu:0", "/cpu:1"])
    assert placement.replicas == 2 and placement.note is None
    assert placement.record(PER_REPLICA) == {
        "distribute": "mirrored",
        "replicas": 2,
        "devices": ["/cpu:0", "/cpu:1"],
        "global_batch_size": 2 * PER_REPLICA,
    }


def test_mirrored_with_one_device_trains_on_one_replica_and_says_why():
    placement = place("mirrored", ["/cpu:0"])
    assert placement.replicas == 1 and placement.strategy is None
    record = placement.record(PER_REPLICA)
    assert record["replicas"] == 1 and record["global_batch_size"] == PER_REPLICA
    assert "sees one CPU device (/cpu:0): trained on one replica" in record["note"]


def test_a_ready_made_model_falls_back_to_one_replica_with_the_reason():
    placement = place("mirrored", ["/cpu:0", "/cpu:1"]).single("built outside the strategy's scope")
    assert placement.replicas == 1 and placement.devices == ["/cpu:0"]
    assert placement.record(PER_REPLICA)["note"] == "built outside the strategy's scope"


def test_none_uses_the_first_device_even_when_there_are_several():
    placement = place("none", ["/gpu:0", "/gpu:1"])
    assert placement.replicas == 1 and placement.devices == ["/gpu:0"] and placement.note is None


def test_logical_cpu_count_comes_from_the_environment_and_bad_values_name_the_variable():
    assert distribution.logical_cpus_requested({}) is None
    assert distribution.logical_cpus_requested({LOGICAL_CPUS_ENV: " 2 "}) == 2
    for bad in ("two", "0", "65"):
        with pytest.raises(ValueError, match=f"{LOGICAL_CPUS_ENV}='{bad}' is not a device count"):
            distribution.logical_cpus_requested({LOGICAL_CPUS_ENV: bad})


# -- the runtime policy with several replicas ------------------------------------------------------


def test_distributed_runs_skip_the_probe_even_when_asked_and_run_one_step_per_execution():
    probe, why = runtime_policy.should_probe("always", 10**6, replicas=2)
    assert probe is False and why == "probe skipped: it times one device and this run has 2 replicas"
    assert runtime_policy.should_probe("always", 10, replicas=1)[0] is True
    space = runtime_policy.search_space({}, False, [], None, replicas=2)
    assert space["steps_per_execution"] == [1]
    with pytest.raises(
        ValueError, match=r"steps_per_execution 16 cannot run with 2 mirrored replicas.*set 1"
    ):
        runtime_policy.search_space({"steps_per_execution": 16}, False, [], None, replicas=2)


def test_distributed_runs_never_share_a_one_device_cache_entry():
    spec = _spec()
    one = runtime_policy.signature(spec, (8, 8, 1), 10, "memory")
    assert runtime_policy.signature(spec, (8, 8, 1), 10, "memory", replicas=1) == one
    assert runtime_policy.signature(spec, (8, 8, 1), 10, "memory", replicas=2) != one


# -- real workers --------------------------------------------------------------------------------


def _start_worker(run_dir: RunDir, logical_cpus: str | None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": "-1"}
    env.pop(LOGICAL_CPUS_ENV, None)
    if logical_cpus is not None:
        env[LOGICAL_CPUS_ENV] = logical_cpus
    return subprocess.Popen(
        [sys.executable, "-m", "lepton_lab.core.worker", str(run_dir.path)], env=env, cwd=ROOT
    )


@pytest.fixture(scope="module")
def worker_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[RunDir, int]]:
    """Three workers run side by side: two logical CPUs, one CPU, and a bad device count."""
    root = tmp_path_factory.mktemp("distribute")
    cases = {"two_cpus": "2", "one_cpu": None, "bad_count": "two", "text_two_cpus": "2"}
    started = {}
    for name, logical_cpus in cases.items():
        run_dir = RunDir.create(root / name, _text_spec() if name.startswith("text") else _spec())
        started[name] = (run_dir, _start_worker(run_dir, logical_cpus))
    return {name: (run_dir, worker.wait(timeout=600)) for name, (run_dir, worker) in started.items()}


def _epoch_losses(run_dir: RunDir) -> list[float]:
    events, _ = read_events(run_dir.events_path)
    return [event["metrics"]["loss"] for event in events if event["type"] == "epoch"]


def test_mirrored_run_on_two_logical_cpus_trains_two_replicas_on_global_batches(worker_runs):
    run_dir, code = worker_runs["two_cpus"]
    status = run_dir.read_status()
    assert code == 0 and status["status"] == "completed", status.get("traceback")
    runtime = run_dir.read_spec_document()["runtime"]
    assert runtime["distribute"] == "mirrored"
    assert runtime["replicas"] == 2  # counted on the trained model's strategy
    assert runtime["devices"] == ["/cpu:0", "/cpu:1"]
    assert runtime["global_batch_size"] == 2 * PER_REPLICA
    # An epoch is one pass over the data in global batches: half the steps of one device.
    assert runtime["steps_per_epoch"] == math.ceil(runtime["examples"]["train"] / (2 * PER_REPLICA))
    assert runtime["steps_per_execution"] == 1
    assert runtime["policy"]["reason"] == "probe skipped: it times one device and this run has 2 replicas"
    losses = _epoch_losses(run_dir)
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert run_dir.model_path.is_file() and run_dir.evaluation_path.is_file()


def test_mirrored_run_that_sees_one_device_trains_one_replica_and_says_so(worker_runs):
    run_dir, code = worker_runs["one_cpu"]
    status = run_dir.read_status()
    assert code == 0 and status["status"] == "completed", status.get("traceback")
    runtime = run_dir.read_spec_document()["runtime"]
    assert runtime["replicas"] == 1 and runtime["devices"] == ["/cpu:0"]
    assert runtime["global_batch_size"] == PER_REPLICA
    assert runtime["steps_per_epoch"] == math.ceil(runtime["examples"]["train"] / PER_REPLICA)
    events, _ = read_events(run_dir.events_path)
    logged = [event["message"] for event in events if event["type"] == "log"]
    assert runtime["note"] in logged and "trained on one replica" in runtime["note"]
    losses = _epoch_losses(run_dir)
    assert len(losses) == 3 and losses[-1] < losses[0]


def test_a_mirrored_text_run_trains_on_one_replica_and_says_why(worker_runs):
    run_dir, code = worker_runs["text_two_cpus"]
    status = run_dir.read_status()
    assert code == 0 and status["status"] == "completed", status.get("traceback")
    runtime = run_dir.read_spec_document()["runtime"]
    assert runtime["replicas"] == 1 and runtime["global_batch_size"] == PER_REPLICA
    assert "text model reads raw strings" in runtime["note"] and "one replica" in runtime["note"]
    assert len(_epoch_losses(run_dir)) == 3 and run_dir.model_path.is_file()


def test_worker_with_a_bad_logical_device_count_fails_naming_the_variable(worker_runs):
    run_dir, code = worker_runs["bad_count"]
    status = run_dir.read_status()
    assert code == 1 and status["status"] == "failed"
    assert f"{LOGICAL_CPUS_ENV}='two' is not a device count" in status["error"]


def test_the_runtime_line_of_show_names_the_replicas_and_global_batch(worker_runs):
    runtime = worker_runs["two_cpus"][0].read_spec_document()["runtime"]
    assert runtime_policy.describe(runtime)[0][1].endswith(f" · 2 replicas, global batch {2 * PER_REPLICA}")
    one = worker_runs["one_cpu"][0].read_spec_document()["runtime"]
    assert "replicas" not in runtime_policy.describe(one)[0][1]
