"""Runtime policy: choose a run's runtime settings by measuring them on this machine.

A *setting* is one way to execute the same training: steps per ``tf.function`` call, XLA on or
off, the input pipeline (parallel batch conversion, prefetch depth) and, only where the hardware
computes it natively (:func:`~lepton_lab.core.hardware.native_precisions`), a mixed precision.
Every choice but precision leaves the mathematics of training unchanged; mixed precision changes
rounding, so it is offered only where it is native and never when the spec says float32.

How a run gets its settings, in order:

1. ``train.runtime`` pins (and the older ``train.steps_per_execution`` / ``mixed_precision``)
   fix those dimensions; nothing overrides them.
2. A choice measured before on this machine for the same model signature, read from the cache
   (``$LEPTON_LAB_CACHE_DIR`` or ``$XDG_CACHE_HOME/lepton-lab``, default ``~/.cache/lepton-lab``).
3. A probe: :func:`decide` times the baseline, then changes one dimension at a time and keeps a
   change only when it is faster (coordinate descent), while the probe's cost stays within
   :data:`PROBE_SHARE` of the run's estimated time. Runs shorter than :data:`PROBE_MIN_STEPS`
   steps skip it: they would not repay even the baseline's tracing.
4. Otherwise :func:`fallback_settings`, the defaults measured on the machines in the README.

TensorFlow's thread pools are not a candidate: they can be set only before TensorFlow starts in
a process, so timing them needs one fresh process per candidate (seconds of import each), far
beyond the probe's budget. They can be pinned (``intra_op_threads``, ``inter_op_threads``); the
runner applies the pins when TensorFlow has not started yet and says so when it has.

This module imports no TensorFlow; :mod:`lepton_lab.core.runtime_probe` does the timing.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lepton_lab.core.specs import JobSpec, RuntimeSpec

#: The probe may cost at most this share of the run's estimated training time.
PROBE_SHARE = 0.03
#: Runs with fewer training steps than this skip the probe ("auto"): at a millisecond a step,
#: 20 000 steps take 20 s, and 3 % of that barely pays for tracing the baseline once.
PROBE_MIN_STEPS = 20_000
#: A change is kept only when it is at least this much faster than the incumbent: ties and
#: noise keep the baseline, whose behaviour is the best known.
KEEP_MARGIN = 0.02
#: Version of the cache entries; older entries are ignored.
CACHE_VERSION = 1

#: Settings the policy chooses, in the order the probe tries them (largest effects first).
DIMENSIONS = ("precision", "steps_per_execution", "jit_compile", "parallel_map", "prefetch")

Settings = dict[str, Any]
#: Seconds per training step of a setting (what the probe measures, or a test injects).
Measure = Callable[[Settings], float]


def cache_dir() -> Path:
    """Return Lepton Lab's cache directory (``LEPTON_LAB_CACHE_DIR``, else XDG's cache home)."""
    explicit = os.environ.get("LEPTON_LAB_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lepton-lab"


def pins_of(spec: JobSpec) -> Settings:
    """Return the settings fixed by the spec: ``train.runtime`` plus the older top-level train fields."""
    train = spec.train
    pins = (train.runtime or RuntimeSpec()).pins()
    if train.steps_per_execution is not None:
        pins.setdefault("steps_per_execution", train.steps_per_execution)
    if train.mixed_precision is False:
        pins.setdefault("precision", "float32")
    return pins


def fallback_settings(on_gpu: bool, native: list[str], mixed_precision: bool | None) -> Settings:
    """Return the settings used when nothing was measured: the best defaults measured so far.

    ``steps_per_execution=16`` cut per-step overhead for small models on CPU; XLA ("auto") only
    on a GPU, where Keras enables it when every layer supports it; mixed precision where it is
    native (bfloat16 on CPUs with AVX512_BF16/AMX) unless the spec says otherwise; float16 on a GPU
    only when asked for, since it changes the numerics more than bfloat16.
    """
    if mixed_precision is False:
        precision = "float32"
    elif on_gpu:  # float16 when asked for, even where the capability is unknown
        precision = "mixed_float16" if mixed_precision else "float32"
    else:
        precision = native[0] if native else "float32"
    return {
        "steps_per_execution": 16,
        "jit_compile": "auto" if on_gpu else False,
        "precision": precision,
        "parallel_map": True,
        "prefetch": "auto",
    }


def search_space(
    pins: Mapping[str, Any],
    on_gpu: bool,
    native: list[str],
    mixed_precision: bool | None,
    replicas: int = 1,
) -> dict[str, list[Any]]:
    """Options per dimension, the baseline first; a pinned dimension has just its pin.

    Mixed precision is offered only where native; with ``mixed_precision=True`` it is the baseline,
    with ``None`` a candidate, with ``False`` (or a float32 pin) not offered.

    Several ``replicas`` (``train.distribute="mirrored"``) run one step per execution: Keras
    3.15's multi-step loop fails under ``MirroredStrategy`` with TensorFlow 2.21 ("You must feed a
    value for placeholder tensor", reproduced with a plain ``model.fit``), so a pin above 1 is
    refused with the fix rather than left to fail inside ``fit``.

    Raises
    ------
    ValueError
        When ``steps_per_execution`` is pinned above 1 and the run has several replicas.
    """
    base = fallback_settings(on_gpu, native, mixed_precision)
    precisions = [base["precision"]]
    if mixed_precision is None:  # True and False are the user's choice already
        precisions += [p for p in ["float32", *native] if p not in precisions]
    options: dict[str, list[Any]] = {
        "precision": precisions,
        "steps_per_execution": [16, 1, 64],
        "jit_compile": [base["jit_compile"], not on_gpu],
        "parallel_map": [True, False],
        "prefetch": ["auto", 2],
    }
    if replicas > 1:
        pinned = pins.get("steps_per_execution", 1)
        if pinned != 1:
            raise ValueError(
                f"steps_per_execution {pinned} cannot run with {replicas} mirrored replicas "
                "(Keras's multi-step loop fails under MirroredStrategy); unset it or set 1, or set "
                "train.distribute to 'none'"
            )
        options["steps_per_execution"] = [1]
    for name, value in pins.items():
        if name in options:
            options[name] = [value]
    return options


@dataclass
class Budget:
    """Seconds the probe may spend, counted on ``clock`` (injectable for tests)."""

    limit_s: float
    clock: Callable[[], float] = time.perf_counter
    start: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.start = self.clock()

    @property
    def spent_s(self) -> float:
        """Seconds since the budget was opened."""
        return self.clock() - self.start

    def exhausted(self) -> bool:
        """Whether the probe has used its budget."""
        return self.spent_s >= self.limit_s


@dataclass
class Decision:
    """What the policy chose and why (written to ``spec.json``'s ``runtime.policy``)."""

    settings: Settings
    source: str  # "measured", "cache", "default" or "resumed"
    reason: str
    candidates: list[dict[str, Any]] = field(default_factory=list)
    probe_s: float = 0.0
    budget_s: float | None = None
    pinned: list[str] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """JSON-ready record of the decision."""
        return {
            "source": self.source,
            "reason": self.reason,
            "pinned": self.pinned,
            "probe_s": round(self.probe_s, 3),
            # No budget ('always') is null: spec.json stays strict JSON (no Infinity).
            "budget_s": round(self.budget_s, 3)
            if self.budget_s is not None and math.isfinite(self.budget_s)
            else None,
            "candidates": self.candidates,
        }


def decide(
    space: Mapping[str, list[Any]],
    measure: Measure,
    total_steps: int,
    *,
    budget_share: float = PROBE_SHARE,
    clock: Callable[[], float] = time.perf_counter,
) -> Decision:
    """Time the baseline, then one change at a time; keep each change that is faster.

    The baseline (first option of every dimension) is measured first; its step time times
    ``total_steps`` estimates the run, and later candidates are tried only while the probe's
    cost stays within ``budget_share`` of that estimate. Candidates left untried are recorded
    with ``"skipped": "budget"``. A change that looks faster than the incumbent is kept only if
    it still is after the incumbent is timed once more (its fastest time counts; such entries
    record how many ``measurements`` they took).

    Parameters
    ----------
    space
        Options per dimension (:func:`search_space`), baseline first.
    measure
        Seconds per training step of a setting.
    total_steps
        Training steps of the run (epochs x steps per epoch).
    budget_share
        Largest share of the estimated run the probe may cost.
    clock
        Seconds counter for the budget (a fake one in tests).
    """
    budget = Budget(float("inf"), clock)
    current = {name: options[0] for name, options in space.items()}
    best = measure(current)
    candidates: list[dict[str, Any]] = [{"settings": dict(current), "step_ms": round(1000 * best, 4)}]
    incumbent = candidates[0]
    budget.limit_s = budget_share * best * total_steps

    def beats_incumbent(seconds: float) -> bool:
        # Load on a shared machine only ever slows a measurement, so a low figure is trustworthy
        # and a high one may not be: before a change replaces the incumbent, time the incumbent
        # again and let its fastest measurement stand. One busy moment during the baseline's
        # timing once made a float32 run win over a bfloat16 one three times as fast.
        nonlocal best
        if seconds >= best * (1 - KEEP_MARGIN):
            return False
        if not budget.exhausted():
            best = min(best, measure(current))
            incumbent["step_ms"] = round(1000 * best, 4)
            incumbent["measurements"] = incumbent.get("measurements", 1) + 1
        return seconds < best * (1 - KEEP_MARGIN)

    # Keras's own defaults next: one change at a time never reaches them from the baseline (they
    # differ in several dimensions at once), and a run must not be slower than a plain fit.
    plain = keras_defaults(space)
    if plain != current and not budget.exhausted():
        seconds = measure(plain)
        candidates.append({"settings": plain, "step_ms": round(1000 * seconds, 4)})
        if beats_incumbent(seconds):
            current, best, incumbent = plain, seconds, candidates[-1]
    for name in DIMENSIONS:
        for option in space.get(name, [])[1:]:
            candidate = {**current, name: option}
            if any(entry["settings"] == candidate for entry in candidates):
                continue  # measured already (Keras's defaults can be one change away)
            if budget.exhausted():
                candidates.append({"settings": candidate, "step_ms": None, "skipped": "budget"})
                continue
            seconds = measure(candidate)
            candidates.append({"settings": candidate, "step_ms": round(1000 * seconds, 4)})
            if beats_incumbent(seconds):
                current, best, incumbent = candidate, seconds, candidates[-1]
    for entry in candidates:
        entry["chosen"] = entry["settings"] == current
    return Decision(
        settings=current,
        source="measured",
        reason=f"fastest of {sum(c['step_ms'] is not None for c in candidates)} measured settings",
        candidates=candidates,
        probe_s=budget.spent_s,
        budget_s=budget.limit_s,
    )


def keras_defaults(space: Mapping[str, list[Any]]) -> Settings:
    """Return what ``model.fit`` does by default, as far as ``space`` allows (pins stay).

    float32, one step per execution, XLA where Keras's ``"auto"`` turns it on (TensorFlow: every
    supported model), batches converted one by one.
    """
    wanted = {
        "precision": "float32",
        "steps_per_execution": 1,
        "jit_compile": "auto" if "auto" in space.get("jit_compile", []) else True,
        "parallel_map": False,
        "prefetch": "auto",
    }
    return {
        name: wanted[name] if wanted.get(name) in options else options[0] for name, options in space.items()
    }


def should_probe(mode: str, total_steps: int, replicas: int = 1) -> tuple[bool, str]:
    """Whether to run the probe, and why (``mode`` is ``train.runtime.probe``).

    A run distributed over several replicas (``train.distribute``) is never probed, even with
    'always': the probe times a model on one device, and its choice would be a guess for the
    replicas (timing them would mean building every candidate inside the strategy). Such runs
    take the defaults, and the record says why.
    """
    if mode == "never":
        return False, "probe disabled (train.runtime.probe='never')"
    if replicas > 1:
        return False, f"probe skipped: it times one device and this run has {replicas} replicas"
    if mode == "always":
        return True, "probe requested (train.runtime.probe='always')"
    if total_steps < PROBE_MIN_STEPS:
        return False, f"run too short to repay a probe ({total_steps} < {PROBE_MIN_STEPS} steps)"
    return True, f"run long enough to repay a probe ({total_steps} steps)"


def signature(
    spec: JobSpec, input_shape: tuple[int, ...], num_classes: int, pipeline: str, replicas: int = 1
) -> str:
    """Return a short id of what decides step time: model, input, batch, optimizer, pipeline, pins.

    Epochs, seed, learning rate and dataset size do not change a step's cost, so runs that
    differ only there share a cached choice. Distributed runs (``replicas`` > 1) get ids of their
    own, so a choice measured on one device is never read back for them.
    """
    distributed = {"replicas": replicas} if replicas > 1 else {}  # one-device ids stay as they were
    text = json.dumps(
        {
            **distributed,
            "model": spec.model.model_dump(mode="json"),
            "input_shape": list(input_shape),
            "num_classes": num_classes,
            "batch_size": spec.train.batch_size,
            "optimizer": spec.train.optimizer,
            "augment": bool(spec.augment.ops),
            "pipeline": pipeline,
            "pins": pins_of(spec),
            "mixed_precision": spec.train.mixed_precision,
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class ChoiceCache:
    """Measured choices, one JSON file per machine and model signature.

    Parameters
    ----------
    root
        The cache directory (default :func:`cache_dir`).
    """

    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or cache_dir()) / "runtime"

    def path(self, machine: str, model_signature: str) -> Path:
        """File holding the choice for ``machine`` and ``model_signature``."""
        return self.root / machine / f"{model_signature}.json"

    def get(self, machine: str, model_signature: str) -> dict[str, Any] | None:
        """Return the cached entry (``settings``, ``candidates`` ...) or None if absent or unreadable."""
        try:
            entry = json.loads(self.path(machine, model_signature).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("version") != CACHE_VERSION:
            return None
        return entry if isinstance(entry.get("settings"), dict) else None

    def put(self, machine: str, model_signature: str, decision: Decision) -> Path:
        """Store a measured decision (atomically: a reader never sees half a file)."""
        path = self.path(machine, model_signature)
        path.parent.mkdir(parents=True, exist_ok=True)
        entry = {
            "version": CACHE_VERSION,
            "measured_at": time.time(),
            "settings": decision.settings,
            "candidates": decision.candidates,
        }
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(entry, indent=1), encoding="utf-8")
        os.replace(temporary, path)
        return path


def from_cache(entry: Mapping[str, Any], pins: Mapping[str, Any], space: Mapping[str, list[Any]]) -> Decision:
    """Make a decision from a cached entry; pins still win, options no longer offered are dropped."""
    settings = {name: options[0] for name, options in space.items()}
    for name, value in entry["settings"].items():
        if name in settings and value in space[name]:
            settings[name] = value
    settings.update({name: value for name, value in pins.items() if name in settings})
    return Decision(
        settings=settings,
        source="cache",
        reason="measured before on this machine for this model",
        candidates=list(entry.get("candidates", [])),
    )


def settings_text(settings: Mapping[str, Any]) -> str:
    """Return a setting as one line: ``steps/execution 16 · XLA off · mixed_bfloat16 · prefetch auto``."""
    parts = []
    if "steps_per_execution" in settings:
        parts.append(f"steps/execution {settings['steps_per_execution']}")
    if "jit_compile" in settings:
        jit = settings["jit_compile"]
        parts.append("XLA auto" if jit == "auto" else f"XLA {'on' if jit else 'off'}")
    if "precision" in settings:
        parts.append(str(settings["precision"]))
    if "parallel_map" in settings:
        parts.append("parallel map" if settings["parallel_map"] else "sequential map")
    if "prefetch" in settings:
        parts.append(f"prefetch {settings['prefetch']}")
    return " · ".join(parts)


def describe(runtime: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return (label, text) lines saying what a run's ``runtime`` block chose and why (for the CLI).

    Older runs, whose block has no ``policy``, get the settings line only.
    """
    if not runtime:
        return []
    tf_data = runtime.get("tf_data") or {}
    settings = {**runtime, **tf_data}
    line = f"{runtime.get('device', '?')} · {settings_text(settings)}"
    if "cache" in tf_data:
        line += f" · cache {tf_data['cache']}"
    if runtime.get("replicas", 1) > 1:
        line += f" · {runtime['replicas']} replicas, global batch {runtime.get('global_batch_size')}"
    lines = [("runtime", line)]
    policy = runtime.get("policy")
    if not policy:
        return lines
    why = f"{policy.get('source')}: {policy.get('reason')}"
    if policy.get("probe_s"):
        budget = policy.get("budget_s")
        why += f"; probe {policy['probe_s']:.2f} s" + (
            f" (budget {budget:.2f} s)" if budget is not None else ""
        )
    if policy.get("pinned"):
        why += f"; pinned {', '.join(policy['pinned'])}"
    lines.append(("chosen", why))
    for candidate in policy.get("candidates") or []:
        step = candidate.get("step_ms")
        timing = f"{step:.3f} ms/step" if step is not None else f"not measured ({candidate.get('skipped')})"
        mark = "  <- chosen" if candidate.get("chosen") else ""
        lines.append(("candidate", f"{settings_text(candidate.get('settings') or {})}: {timing}{mark}"))
    return lines
