"""Devices: the host's GPUs (through NVML) and CPU, and which GPU a new job gets.

NVML comes from ``nvidia-ml-py`` (module ``pynvml``). Its import and every call are guarded:
a host without NVIDIA drivers, or without the package, simply has no GPUs, which is a normal
answer and not an error.
"""

from __future__ import annotations

import os
import platform
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal

import psutil

#: GPU assignment policies (``LeptonLabApp.gpu_policy``).
GPU_POLICIES = ("exclusive", "shared", "none")

#: ``CUDA_VISIBLE_DEVICES`` value that hides every GPU from a worker.
NO_GPU = "-1"

#: :meth:`GpuAllocator.choose` result for "no GPU free now: keep the job queued".
WAIT: Final = "wait"


class GpuRequestError(ValueError):
    """A job asks for more GPUs than this host can ever give it (an HTTP 400 through the API)."""

    http_status = 400


@dataclass
class Gpu:
    """One GPU as NVML reports it (memory in bytes, utilisation in percent)."""

    index: int
    name: str
    uuid: str
    memory_total: int
    memory_used: int
    utilization: int | None
    jobs: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Return the ``devices`` entry of this GPU."""
        return {"id": f"gpu:{self.index}", "kind": "gpu", **asdict(self)}


class _Nvml:
    """Lazily initialised NVML session shared by the whole server process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._module: Any = None
        self.error: str | None = None
        self._tried = False

    def module(self) -> Any:
        """Return the initialised ``pynvml`` module, or None (the reason is in :attr:`error`)."""
        with self._lock:
            if not self._tried:
                self._tried = True
                try:
                    import pynvml

                    pynvml.nvmlInit()
                    self._module = pynvml
                except ImportError:
                    self.error = "nvidia-ml-py is not installed"
                except Exception as error:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
                    self.error = f"NVML unavailable: {error}"
            return self._module


_NVML = _Nvml()


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def gpus() -> list[Gpu]:
    """List the GPUs NVML sees, in PCI bus order; an empty list on hosts without GPUs."""
    nvml = _NVML.module()
    if nvml is None:
        return []
    found = []
    try:
        count = nvml.nvmlDeviceGetCount()
        for index in range(count):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            try:
                utilization: int | None = int(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
            except nvml.NVMLError:  # not supported on some boards and on MIG instances
                utilization = None
            found.append(
                Gpu(
                    index=index,
                    name=_text(nvml.nvmlDeviceGetName(handle)),
                    uuid=_text(nvml.nvmlDeviceGetUUID(handle)),
                    memory_total=int(memory.total),
                    memory_used=int(memory.used),
                    utilization=utilization,
                )
            )
    except nvml.NVMLError as error:
        _NVML.error = f"NVML query failed: {error}"
        return []
    return found


def gpu_count() -> int:
    """Count the GPUs of this host (0 without NVML)."""
    return len(gpus())


def nvml_error() -> str | None:
    """Why NVML reports no GPUs, or None when it works."""
    _NVML.module()
    return _NVML.error


def _cpu_name() -> str:
    # platform.processor() is empty on most Linux systems; /proc/cpuinfo names the model.
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu() -> dict[str, Any]:
    """Describe the CPU: the ``devices`` entry that is always present."""
    memory = psutil.virtual_memory()
    return {
        "id": "cpu",
        "kind": "cpu",
        "name": _cpu_name(),
        "cores": os.cpu_count(),
        "memory_total": int(memory.total),
        "memory_used": int(memory.total - memory.available),
        # Usage since the previous call: the first call of a process reports 0.0.
        "utilization": psutil.cpu_percent(interval=None),
        "jobs": [],
    }


def devices(holders: Mapping[int | None, Iterable[str]]) -> list[dict[str, Any]]:
    """List the CPU and every GPU, each with the ids of the running jobs placed on it.

    Parameters
    ----------
    holders
        Running job ids by GPU index; ``None`` collects jobs running on the CPU.
    """
    entry = cpu()
    entry["jobs"] = sorted(holders.get(None, ()))
    found = [entry]
    for gpu in gpus():
        gpu.jobs = sorted(holders.get(gpu.index, ()))
        found.append(gpu.to_json())
    return found


class GpuAllocator:
    """Chooses the GPU of a job that is about to start.

    Policies:

    ``exclusive``
        A job gets a GPU that no other Lepton Lab job holds; it waits in the queue while every
        GPU is taken. One job per GPU keeps memory and timings predictable.
    ``shared``
        A job gets the GPU holding the fewest jobs (ties: the most free memory), so several jobs
        share GPUs when more may run than there are GPUs.
    ``none``
        Workers never see a GPU and train on the CPU.

    Parameters
    ----------
    policy
        One of :data:`GPU_POLICIES`.
    inventory
        Returns the host's GPUs (default: :func:`gpus`, through NVML).
    """

    def __init__(self, policy: str = "exclusive", inventory: Callable[[], list[Gpu]] | None = None) -> None:
        if policy not in GPU_POLICIES:
            raise ValueError(f"unknown GPU policy {policy!r}; use one of {', '.join(GPU_POLICIES)}")
        self.policy = policy
        self._inventory = inventory or gpus

    def usable(self) -> list[Gpu]:
        """GPUs jobs may be placed on under this policy."""
        return [] if self.policy == "none" else self._inventory()

    def choose(self, held: Mapping[int, int]) -> int | Literal["wait"] | None:
        """Pick a GPU given how many running jobs each GPU holds.

        Returns
        -------
        int, None or "wait"
            The GPU index; ``None`` to run on the CPU (no usable GPU on this host); ``"wait"``
            when the job must stay queued until a GPU is free.
        """
        candidates = self.usable()
        if not candidates:
            return None
        if self.policy == "exclusive":
            free = [gpu for gpu in candidates if held.get(gpu.index, 0) == 0]
            if not free:
                return WAIT
            candidates = free
        best = min(candidates, key=lambda gpu: (held.get(gpu.index, 0), gpu.memory_used - gpu.memory_total))
        return best.index

    def check_request(self, count: int | None) -> None:
        """Refuse a job that asks for more GPUs than this host has under this policy (at submit).

        Such a job would wait in the queue forever; ``None`` and ``0`` (the default placement,
        the CPU) always pass.

        Raises
        ------
        GpuRequestError
            Naming the count, the host's GPUs and the fix.
        """
        if not count:
            return
        if self.policy == "none":
            raise GpuRequestError(
                f"resources.gpus {count}: this server's GPU policy is 'none', so jobs never get a GPU; "
                "remove resources.gpus, or start the server with c.LeptonLabApp.gpu_policy='exclusive'"
            )
        usable = [gpu.index for gpu in self._inventory()]
        if count > len(usable):
            have = f"{len(usable)} GPU{'s' if len(usable) != 1 else ''}" + (
                f" ({', '.join(map(str, usable))})" if usable else ""
            )
            raise GpuRequestError(
                f"resources.gpus {count} but this host has {have}; ask for at most {len(usable)}"
                + (", or leave resources.gpus unset to train on the CPU" if not usable else "")
            )

    def choose_many(self, held: Mapping[int, int], count: int | None) -> list[int] | Literal["wait"]:
        """Pick ``count`` GPUs for a job at once, given how many running jobs each GPU holds.

        All or nothing: under ``exclusive`` a job asking for N GPUs waits until N are free
        together (a job holding some while it waits for the rest could block another forever).
        Under ``shared`` it gets the N GPUs holding the fewest jobs (ties: the most free memory).

        Parameters
        ----------
        held
            Running jobs per GPU index; a job holding several GPUs counts on each.
        count
            ``resources.gpus`` of the job: None for the default placement (as :meth:`choose`:
            one GPU when the policy gives one, else the CPU), 0 for the CPU, N for N GPUs.

        Returns
        -------
        list of int or "wait"
            The GPU indices, ascending (empty: run on the CPU); ``"wait"`` while too few are free.

        Raises
        ------
        GpuRequestError
            When ``count`` exceeds the GPUs the host has under this policy (see
            :meth:`check_request`, which the server calls at submit time).
        """
        if count is None:
            single = self.choose(held)
            if isinstance(single, int):
                return [single]
            return WAIT if single == WAIT else []
        if count == 0:
            return []
        self.check_request(count)
        candidates = self.usable()
        if self.policy == "exclusive":
            candidates = [gpu for gpu in candidates if held.get(gpu.index, 0) == 0]
            if len(candidates) < count:
                return WAIT
        ranked = sorted(
            candidates, key=lambda gpu: (held.get(gpu.index, 0), gpu.memory_used - gpu.memory_total)
        )
        return sorted(gpu.index for gpu in ranked[:count])


def visible_devices(gpu: int | Sequence[int] | None) -> str:
    """``CUDA_VISIBLE_DEVICES`` for a worker placed on ``gpu``: one index, several, or None/[] (no GPU)."""
    if gpu is None:
        return NO_GPU
    if isinstance(gpu, int):
        return str(gpu)
    return ",".join(str(index) for index in gpu) or NO_GPU
