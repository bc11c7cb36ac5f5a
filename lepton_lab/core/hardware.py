"""Hardware: what this machine computes natively, read without starting TensorFlow where possible.

The runtime policy offers a lower precision only where the hardware runs it natively: on a CPU
with AVX512_BF16 or AMX (oneDNN then runs bfloat16 fast; elsewhere TensorFlow emulates it and it
is slower than float32), and on GPUs by compute capability (float16 tensor cores from 7.0,
bfloat16 from 8.0). :func:`cpu_info` reads ``/proc/cpuinfo``; :func:`gpu_details` asks
TensorFlow, which the caller has imported already.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

#: CPU flags that matter for training speed, recorded with each runtime choice.
CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_fp16")
#: Flags that mean native bfloat16 arithmetic.
BFLOAT16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def cpu_info(cpuinfo: str | os.PathLike[str] = "/proc/cpuinfo") -> dict[str, Any]:
    """Return the CPU model, the speed-relevant flags present and the logical core count.

    Off Linux (no ``/proc/cpuinfo``) the model is ``"unknown"`` and no flags are listed.
    """
    model, flags = "unknown", set()
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("model name") and model == "unknown":
                    model = line.split(":", 1)[-1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[-1].split())
                    if model != "unknown":
                        break
    except OSError:
        pass
    return {
        "model": model,
        "flags": [flag for flag in CPU_FLAGS if flag in flags],
        "cores": os.cpu_count() or 1,
        "native_bfloat16": bool(flags & BFLOAT16_FLAGS),
    }


def cpu_has_native_bfloat16(cpuinfo: str | os.PathLike[str] = "/proc/cpuinfo") -> bool:
    """Whether this CPU computes bfloat16 in hardware (AVX512_BF16 or AMX). False off Linux."""
    return bool(cpu_info(cpuinfo)["native_bfloat16"])


def gpu_details() -> list[dict[str, Any]]:
    """Name and compute capability of each visible GPU (imports TensorFlow)."""
    from lepton_lab.core.tf_import import tf

    found = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        capability = details.get("compute_capability")
        found.append(
            {
                "device": device.name,
                "name": details.get("device_name", device.name),
                "compute_capability": list(capability) if capability else None,
            }
        )
    return found


def native_precisions(cpu: dict[str, Any], gpus: list[dict[str, Any]]) -> list[str]:
    """Mixed-precision policies this machine runs natively, fastest-first guess last.

    On a GPU: ``mixed_float16`` from compute capability 7.0 (tensor cores), ``mixed_bfloat16``
    from 8.0. On a CPU: ``mixed_bfloat16`` with AVX512_BF16/AMX. A GPU with unknown capability
    gets no lower precision: it is never offered where it might be emulated.
    """
    if gpus:
        capabilities = [tuple(g["compute_capability"]) for g in gpus if g.get("compute_capability")]
        if len(capabilities) != len(gpus):
            return []
        lowest = min(capabilities)
        return [p for p, needs in (("mixed_float16", (7, 0)), ("mixed_bfloat16", (8, 0))) if lowest >= needs]
    return ["mixed_bfloat16"] if cpu.get("native_bfloat16") else []


def machine_key(cpu: dict[str, Any], gpus: list[dict[str, Any]], versions: dict[str, str]) -> str:
    """Return a short stable id of this machine (CPU model, flags, cores, GPUs, TF/Keras versions)."""
    text = json.dumps(
        {"cpu": cpu, "gpus": [(g["name"], g["compute_capability"]) for g in gpus], "versions": versions},
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]
