"""Devices and GPU assignment: the CPU is always there, GPUs come from NVML."""

from __future__ import annotations

import pytest

from lepton_lab.server import devices
from lepton_lab.server.devices import WAIT, Gpu, GpuAllocator, visible_devices


def two_gpus() -> list[Gpu]:
    gib = 1 << 30
    return [
        Gpu(index=0, name="A", uuid="GPU-a", memory_total=80 * gib, memory_used=60 * gib, utilization=90),
        Gpu(index=1, name="B", uuid="GPU-b", memory_total=80 * gib, memory_used=1 * gib, utilization=0),
    ]


def test_host_answer_always_starts_with_the_cpu():
    found = devices.devices({None: ["job-1"]})
    assert found[0]["id"] == "cpu" and found[0]["jobs"] == ["job-1"]
    assert found[0]["memory_total"] > 0
    assert len(found) == 1 + len(devices.gpus())
    if not devices.gpus():
        assert devices.nvml_error()  # says why there is no GPU instead of failing


def test_exclusive_policy_gives_each_job_a_free_gpu_then_waits():
    allocator = GpuAllocator("exclusive", inventory=two_gpus)
    assert allocator.choose({}) == 1  # the emptier GPU first
    assert allocator.choose({1: 1}) == 0
    assert allocator.choose({0: 1, 1: 1}) == WAIT


def test_shared_policy_places_jobs_on_the_least_loaded_gpu():
    allocator = GpuAllocator("shared", inventory=two_gpus)
    assert allocator.choose({0: 1, 1: 1}) == 1
    assert allocator.choose({0: 1, 1: 2}) == 0


def test_cpu_only_host_and_none_policy_hide_gpus_from_workers():
    assert GpuAllocator("exclusive", inventory=list).choose({}) is None
    assert GpuAllocator("none", inventory=two_gpus).choose({}) is None
    assert visible_devices(None) == "-1" and visible_devices(1) == "1"


def test_unknown_policy_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="exclusive, shared, none"):
        GpuAllocator("round-robin")
