"""Several GPUs for one job: the allocator gives N GPUs at once, waits for them, or refuses N."""

from __future__ import annotations

import pytest

from lepton_lab.core.specs import SpecError, parse_job
from lepton_lab.server.devices import WAIT, Gpu, GpuAllocator, GpuRequestError, visible_devices
from lepton_lab.server.handlers import _status_for

GIB = 1 << 30


def four_gpus() -> list[Gpu]:
    # Free memory: GPU 2 > GPU 0 > GPU 3 > GPU 1.
    used = {0: 10, 1: 70, 2: 1, 3: 40}
    return [
        Gpu(index=i, name="H", uuid=f"GPU-{i}", memory_total=80 * GIB, memory_used=u * GIB, utilization=0)
        for i, u in used.items()
    ]


def test_exclusive_gives_n_free_gpus_at_once_preferring_free_memory():
    allocator = GpuAllocator("exclusive", inventory=four_gpus)
    assert allocator.choose_many({}, 2) == [0, 2]  # the two emptiest, listed in index order
    assert allocator.choose_many({}, 4) == [0, 1, 2, 3]
    assert allocator.choose_many({2: 1}, 3) == [0, 1, 3]


def test_exclusive_waits_until_all_n_are_free_together():
    allocator = GpuAllocator("exclusive", inventory=four_gpus)
    held = {0: 1, 2: 1, 3: 1}  # one GPU free: a 2-GPU job takes none of it and waits
    assert allocator.choose_many(held, 2) == WAIT
    assert allocator.choose_many(held, 1) == [1]  # a smaller job behind it can still start
    assert allocator.choose_many({0: 1, 2: 1}, 2) == [1, 3]


def test_shared_gives_the_n_least_loaded_gpus_and_never_waits():
    allocator = GpuAllocator("shared", inventory=four_gpus)
    assert allocator.choose_many({0: 2, 1: 1, 2: 3, 3: 1}, 2) == [1, 3]
    assert allocator.choose_many({0: 1, 1: 1, 2: 1, 3: 1}, 4) == [0, 1, 2, 3]


def test_default_count_places_like_choose_and_zero_means_the_cpu():
    allocator = GpuAllocator("exclusive", inventory=four_gpus)
    assert allocator.choose_many({}, None) == [allocator.choose({})] == [2]
    assert allocator.choose_many({0: 1, 1: 1, 2: 1, 3: 1}, None) == WAIT
    assert allocator.choose_many({0: 1, 1: 1, 2: 1, 3: 1}, 0) == []  # a CPU job never waits for GPUs
    assert GpuAllocator("exclusive", inventory=list).choose_many({}, None) == []
    assert GpuAllocator("none", inventory=four_gpus).choose_many({}, None) == []


def test_more_gpus_than_the_host_has_is_refused_with_the_count_and_fix():
    allocator = GpuAllocator("exclusive", inventory=four_gpus)
    allocator.check_request(4)
    allocator.check_request(None)
    with pytest.raises(
        GpuRequestError, match=r"resources\.gpus 5 but this host has 4 GPUs \(0, 1, 2, 3\); ask for at most 4"
    ):
        allocator.check_request(5)
    with pytest.raises(GpuRequestError, match=r"resources\.gpus 5"):
        allocator.choose_many({}, 5)  # never a WAIT that could not end
    with pytest.raises(
        GpuRequestError, match=r"this host has 0 GPUs; ask for at most 0, or leave resources\.gpus unset"
    ):
        GpuAllocator("exclusive", inventory=list).check_request(1)
    with pytest.raises(GpuRequestError, match="GPU policy is 'none'"):
        GpuAllocator("none", inventory=four_gpus).check_request(1)
    GpuAllocator("none", inventory=four_gpus).check_request(0)


def test_a_refused_gpu_count_is_an_http_400():
    assert _status_for(GpuRequestError("resources.gpus 5 but this host has 4 GPUs")) == 400


def test_worker_sees_every_gpu_it_was_given():
    assert visible_devices([1, 3]) == "1,3"
    assert visible_devices([]) == visible_devices(None) == "-1"
    assert visible_devices(2) == "2"


def test_spec_resources_take_a_gpu_count_and_refuse_anything_else():
    spec = parse_job({"dataset": {"name": "digits"}, "resources": {"gpus": 2}}, strict=True)
    assert spec.resources.gpus == 2
    assert parse_job({"dataset": {"name": "digits"}}).resources.gpus is None
    for bad, message in (
        ({"gpus": -1}, "resources.gpus: Input should be greater than or equal to 0"),
        ({"gpus": "2"}, "resources.gpus: Input should be a valid integer"),
        ({"gpus": 65}, "resources.gpus: Input should be less than or equal to 64"),
        ({"gpu": 2}, "resources.gpu: Extra inputs are not permitted"),
    ):
        with pytest.raises(SpecError) as caught:
            parse_job({"dataset": {"name": "digits"}, "resources": bad}, strict=True)
        assert message in str(caught.value)
