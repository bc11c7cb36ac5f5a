"""Runtime choice: the runtime settings one run trains with, and the record of why.

:func:`choose` applies :mod:`lepton_lab.core.runtime_policy` to a run: pins from the spec, the
settings a resumed run recorded, a cached choice for this machine and model, a probe
(:mod:`lepton_lab.core.runtime_probe`) or the defaults, in that order. Its result is the
``runtime`` block of ``spec.json``: the settings, the hardware they were chosen for and a
``policy`` entry with the candidates, their measured step times, the probe's cost and the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lepton_lab.core import hardware, runtime_policy
from lepton_lab.core.datasets import pipeline
from lepton_lab.core.runtime_policy import ChoiceCache, Decision
from lepton_lab.core.specs import JobSpec

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

    from lepton_lab.core.datasets import Dataset


def apply_thread_pins(pins: dict[str, Any]) -> dict[str, Any]:
    """Set pinned TensorFlow thread pools if TensorFlow has not started; return what holds.

    TensorFlow fixes its pools when its runtime starts (the first op). A worker process sets them
    in time; a notebook kernel that has already trained keeps its pools, and the record says so.
    """
    from lepton_lab.core.tf_import import tf

    threading = tf.config.threading
    record: dict[str, Any] = {}
    for name, setter, getter in (
        ("intra_op", threading.set_intra_op_parallelism_threads, threading.get_intra_op_parallelism_threads),
        ("inter_op", threading.set_inter_op_parallelism_threads, threading.get_inter_op_parallelism_threads),
    ):
        wanted = pins.get(f"{name}_threads")
        if wanted is not None and getter() != wanted:
            try:
                setter(wanted)
            except RuntimeError:
                record[f"{name}_not_applied"] = (
                    f"{name}_threads={wanted} not applied: TensorFlow already started in this process "
                    "(pins apply in server jobs and fresh processes)"
                )
        record[name] = getter() or "default"  # 0: TensorFlow's default (the core count)
    return record


def choose(
    spec: JobSpec,
    data: Dataset,
    *,
    steps_per_epoch: int,
    build_model: Callable[[str], keras.Model],
    train_data: Callable[[dict[str, Any]], tf.data.Dataset],
    model_precision: str | None = None,
    recorded: dict[str, Any] | None = None,
    cache: ChoiceCache | None = None,
    log: Callable[[str], None] = lambda message: None,
    replicas: int = 1,
) -> dict[str, Any]:
    """Decide the run's runtime settings and return its ``runtime`` record.

    Parameters
    ----------
    spec
        The job.
    data
        Its loaded dataset.
    steps_per_epoch
        Training steps per epoch.
    build_model
        Builds a fresh copy of the run's model under a dtype policy (for the probe).
    train_data
        Builds the training pipeline for a setting (for the probe).
    model_precision
        The dtype policy of a model passed in ready-made: precision is then pinned to it.
    recorded
        The ``runtime`` block of an earlier session of this run (a resume keeps its settings).
    cache
        Where measured choices are kept (default: the user's cache directory).
    log
        Receives one line saying what was chosen and why.
    replicas
        Model replicas the run trains on (``train.distribute``); several skip the probe and the
        one-device cache (see :func:`runtime_policy.should_probe`).
    """
    from lepton_lab.core.tf_import import keras, tf

    pins = runtime_policy.pins_of(spec)
    if model_precision is not None:
        pins["precision"] = model_precision
    threads = apply_thread_pins(pins)
    cpu = hardware.cpu_info()
    gpus = hardware.gpu_details()
    native = hardware.native_precisions(cpu, gpus)
    space = runtime_policy.search_space(pins, bool(gpus), native, spec.train.mixed_precision, replicas)
    folder = isinstance(data._store, pipeline.FolderStore)
    if folder:  # a short probe would time decoding; the input options are not probed there
        space["parallel_map"], space["prefetch"] = space["parallel_map"][:1], space["prefetch"][:1]
    if data.kind == "text":
        # The vectorizer's string ops have no XLA kernels (Keras turns jit_compile=True off for such
        # models): compiling is no candidate there.
        compiled = space["jit_compile"]
        space["jit_compile"] = [value for value in compiled if value is not True] or compiled
    total_steps = steps_per_epoch * spec.train.epochs
    versions = {"tensorflow": tf.__version__, "keras": keras.__version__}
    machine = hardware.machine_key(cpu, gpus, versions)
    signature = runtime_policy.signature(
        spec, tuple(data.input_shape), data.num_classes, "folder" if folder else "memory", replicas
    )
    cache = cache or ChoiceCache()
    mode = spec.train.runtime.probe if spec.train.runtime else "auto"
    cache_file: Path | None = None

    previous = (recorded or {}).get("policy")
    entry = cache.get(machine, signature) if mode != "always" else None
    if previous and recorded is not None:
        decision = runtime_policy.from_cache(
            {
                "settings": {**recorded, **recorded.get("tf_data", {})},
                "candidates": previous.get("candidates", []),
            },
            pins,
            space,
        )
        decision.source, decision.reason = "resumed", "kept the settings this run started with"
    elif entry is not None:
        decision = runtime_policy.from_cache(entry, pins, space)
        cache_file = cache.path(machine, signature)
    else:
        probe, why = runtime_policy.should_probe(mode, total_steps, replicas)
        if probe and any(len(options) > 1 for options in space.values()):
            from lepton_lab.core.runtime_probe import step_timer

            measure = step_timer(spec.train, build_model, train_data, replay_first_batches=folder)
            # 'always' is the user asking for every candidate (to fill the cache): no budget then.
            share = float("inf") if mode == "always" else runtime_policy.PROBE_SHARE
            decision = runtime_policy.decide(space, measure, total_steps, budget_share=share)
            decision.reason = f"{why}; {decision.reason}"
            cache_file = cache.put(machine, signature, decision)
        else:
            settings = {name: options[0] for name, options in space.items()}
            decision = Decision(
                settings=settings, source="default", reason=why if probe is False else "all pinned"
            )
    decision.pinned = sorted(name for name in pins if name in space or name == "cache")
    settings = decision.settings
    cache_mode = pins.get("cache") or pipeline.default_cache(data, "train")
    log(
        f"runtime ({decision.source}): {settings}, cache {cache_mode}; {decision.reason}"
        + (
            f"; probe {decision.probe_s:.2f} s of a {decision.budget_s:.2f} s budget"
            if decision.probe_s
            else ""
        )
    )
    return {
        "device": "gpu" if gpus else "cpu",
        "gpus": [gpu["device"] for gpu in gpus],
        "steps_per_execution": settings["steps_per_execution"],
        "jit_compile": settings["jit_compile"],
        "precision": settings["precision"],
        "mixed_precision": settings["precision"] != "float32",
        "tf_data": {
            "parallel_map": settings["parallel_map"],
            "prefetch": settings["prefetch"],
            "cache": cache_mode,
        },
        "threads": threads,
        "hardware": {
            "cpu": cpu["model"],
            "cpu_flags": cpu["flags"],
            "native_precisions": native,
            "gpus": gpus,
        },
        "policy": {
            **decision.record(),
            "machine": machine,
            "signature": signature,
            "cache_file": str(cache_file) if cache_file else None,
        },
    }


def input_options(runtime: dict[str, Any], cache_dir: Path | None) -> pipeline.InputOptions:
    """Return the pipeline options a ``runtime`` record chose (``cache_dir`` for a disk cache)."""
    tf_data = runtime["tf_data"]
    return pipeline.InputOptions(
        parallel_map=bool(tf_data["parallel_map"]),
        prefetch=tf_data["prefetch"],
        cache=tf_data["cache"],
        cache_dir=cache_dir,
    )
