"""Tests of the runtime policy: measured choices, pins, probe budget, cache, recorded block.

Step times are injected (a fake ``measure`` and clock): no test here depends on how fast this
machine is. One real short run checks that the runner records what the policy chose.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lepton_lab.core import hardware, runtime_policy
from lepton_lab.core.runtime_policy import ChoiceCache, Decision
from lepton_lab.core.specs import JobSpec, SpecError, TrainSpec, parse_job


class FakeClock:
    """A clock that moves only when a fake measurement says it took time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def fake_measure(step_s: dict[tuple[str, Any], float], clock: FakeClock, cost_s: float = 1.0) -> Any:
    """Seconds per step: a baseline of 10 ms, changed by the (dimension, option) pairs given."""
    seen: list[dict[str, Any]] = []

    def measure(settings: dict[str, Any]) -> float:
        seen.append(dict(settings))
        clock.now += cost_s
        seconds = 0.010
        for (name, option), value in step_s.items():
            if settings.get(name) == option:
                seconds = value
        return seconds

    measure.seen = seen  # type: ignore[attr-defined]
    return measure


def _space(**pins: Any) -> dict[str, list[Any]]:
    return runtime_policy.search_space(pins, on_gpu=False, native=["mixed_bfloat16"], mixed_precision=None)


def test_policy_picks_the_faster_of_two_candidates() -> None:
    clock = FakeClock()
    space = {"steps_per_execution": [16, 1]}
    faster_one = runtime_policy.decide(
        space, fake_measure({("steps_per_execution", 1): 0.004}, clock), 10**6, clock=clock
    )
    assert faster_one.settings == {"steps_per_execution": 1}
    slower_one = runtime_policy.decide(
        space, fake_measure({("steps_per_execution", 1): 0.020}, clock), 10**6, clock=clock
    )
    assert slower_one.settings == {"steps_per_execution": 16}
    chosen = [c for c in faster_one.candidates if c["chosen"]]
    assert [c["settings"] for c in chosen] == [{"steps_per_execution": 1}] and chosen[0]["step_ms"] == 4.0
    # Three fake measurements: the baseline, the change, and the baseline again before it lost.
    assert faster_one.source == "measured" and faster_one.probe_s == 3.0
    assert faster_one.candidates[0]["measurements"] == 2


def test_a_baseline_slowed_by_load_once_is_timed_again_and_kept() -> None:
    # The first timing of the baseline met a busy machine (30 ms); really it takes 4 ms, and the
    # change to float32 (6 ms) only looks faster than that first figure.
    clock = FakeClock()
    timings = {"mixed_bfloat16": [0.030, 0.004], "float32": [0.006]}
    seen: list[str] = []

    def measure(settings: dict[str, Any]) -> float:
        clock.now += 1.0
        seen.append(settings["precision"])
        times = timings[settings["precision"]]
        return times.pop(0) if len(times) > 1 else times[0]

    space = {"precision": ["mixed_bfloat16", "float32"]}
    decision = runtime_policy.decide(space, measure, 10**7, clock=clock)
    assert decision.settings == {"precision": "mixed_bfloat16"}
    assert seen == ["mixed_bfloat16", "float32", "mixed_bfloat16"]
    baseline, changed = decision.candidates
    assert baseline["step_ms"] == 4.0 and baseline["measurements"] == 2 and baseline["chosen"]
    assert changed["step_ms"] == 6.0 and not changed["chosen"]


def test_keras_defaults_are_measured_and_win_when_fastest() -> None:
    clock = FakeClock()
    plain = {"precision": "float32", "steps_per_execution": 1, "jit_compile": True}
    # Fast only all together: no single change from the baseline would find it.
    measure = fake_measure({}, clock)
    seconds = {json.dumps(plain, sort_keys=True): 0.002}
    timed = lambda settings: seconds.get(  # noqa: E731
        json.dumps({k: settings[k] for k in plain}, sort_keys=True), measure(settings)
    )
    decision = runtime_policy.decide(_space(), timed, 10**7, clock=clock)
    assert {k: decision.settings[k] for k in plain} == plain
    assert (
        runtime_policy.keras_defaults(_space(steps_per_execution=8))["steps_per_execution"] == 8
    )  # pins stay


def test_a_change_within_the_noise_margin_keeps_the_baseline() -> None:
    clock = FakeClock()
    measure = fake_measure({("jit_compile", True): 0.0099}, clock)  # 1 % faster: noise
    decision = runtime_policy.decide({"jit_compile": [False, True]}, measure, 10**6, clock=clock)
    assert decision.settings == {"jit_compile": False}


def test_each_dimension_keeps_its_fastest_option() -> None:
    clock = FakeClock()
    measure = fake_measure({("precision", "float32"): 0.02, ("steps_per_execution", 64): 0.005}, clock)
    decision = runtime_policy.decide(_space(), measure, 10**7, clock=clock)
    assert decision.settings["precision"] == "mixed_bfloat16"  # the baseline here: native bfloat16
    assert decision.settings["steps_per_execution"] == 64
    assert all(c["step_ms"] is not None for c in decision.candidates)  # budget was ample


def test_a_pinned_setting_is_never_overridden() -> None:
    clock = FakeClock()
    space = _space(steps_per_execution=4, precision="float32")
    assert space["steps_per_execution"] == [4] and space["precision"] == ["float32"]
    # Every other option would be far faster; the pins still hold.
    measure = fake_measure(
        {("steps_per_execution", 64): 0.0001, ("precision", "mixed_bfloat16"): 0.0001}, clock
    )
    decision = runtime_policy.decide(space, measure, 10**7, clock=clock)
    assert decision.settings["steps_per_execution"] == 4 and decision.settings["precision"] == "float32"
    assert all(s["steps_per_execution"] == 4 and s["precision"] == "float32" for s in measure.seen)
    cached = {"settings": {"steps_per_execution": 64, "precision": "mixed_bfloat16", "jit_compile": True}}
    from_cache = runtime_policy.from_cache(cached, {"steps_per_execution": 4, "precision": "float32"}, space)
    assert from_cache.settings["steps_per_execution"] == 4 and from_cache.settings["precision"] == "float32"
    assert from_cache.settings["jit_compile"] is True  # unpinned: the cached measurement holds


def test_older_train_fields_pin_too_and_float32_is_never_probed_away() -> None:
    spec = JobSpec.model_validate(
        {"dataset": {"name": "digits"}, "train": {"steps_per_execution": 2, "mixed_precision": False}}
    )
    pins = runtime_policy.pins_of(spec)
    assert pins == {"steps_per_execution": 2, "precision": "float32"}
    space = runtime_policy.search_space(pins, False, ["mixed_bfloat16"], spec.train.mixed_precision)
    assert space["precision"] == ["float32"] and space["steps_per_execution"] == [2]


def test_lower_precision_is_offered_only_where_it_is_native() -> None:
    emulated = runtime_policy.search_space({}, on_gpu=False, native=[], mixed_precision=None)
    assert emulated["precision"] == ["float32"]
    old_gpu = [{"name": "K80", "compute_capability": [3, 7]}]
    ampere = [{"name": "A100", "compute_capability": [8, 0]}]
    volta = [{"name": "V100", "compute_capability": [7, 0]}]
    cpu_bf16 = {"native_bfloat16": True}
    assert hardware.native_precisions(cpu_bf16, old_gpu) == []
    assert hardware.native_precisions(cpu_bf16, volta) == ["mixed_float16"]
    assert hardware.native_precisions({}, ampere) == ["mixed_float16", "mixed_bfloat16"]
    assert hardware.native_precisions(cpu_bf16, []) == ["mixed_bfloat16"]
    assert hardware.native_precisions({"native_bfloat16": False}, []) == []
    unknown = [{"name": "?", "compute_capability": None}]
    assert hardware.native_precisions(cpu_bf16, unknown) == []


@pytest.mark.parametrize(
    ("mixed_precision", "on_gpu", "native", "policy"),
    [
        (None, False, ["mixed_bfloat16"], "mixed_bfloat16"),  # the default on CPUs with native bfloat16
        (None, False, [], "float32"),  # emulated bfloat16 would be slower than float32
        (True, False, ["mixed_bfloat16"], "mixed_bfloat16"),
        (True, False, [], "float32"),
        (False, False, ["mixed_bfloat16"], "float32"),
        (None, True, ["mixed_float16"], "float32"),  # float16 on a GPU only when asked for
        (True, True, [], "mixed_float16"),
    ],
)
def test_fallback_precision_follows_the_spec_and_the_hardware(
    mixed_precision, on_gpu, native, policy
) -> None:
    settings = runtime_policy.fallback_settings(on_gpu, native, mixed_precision)
    assert settings["precision"] == policy
    assert settings["steps_per_execution"] == 16
    assert settings["jit_compile"] == ("auto" if on_gpu else False)


def test_native_bfloat16_and_the_cpu_model_are_read_from_cpuinfo(tmp_path: Path) -> None:
    with_bf16, without = tmp_path / "bf16", tmp_path / "plain"
    with_bf16.write_text(
        "processor\t: 0\nmodel name\t: Example Xeon\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_tile\n"
    )
    without.write_text("processor\t: 0\nmodel name\t: Example EPYC\nflags\t\t: fpu sse2 avx2 fma\n")
    assert hardware.cpu_has_native_bfloat16(with_bf16) is True
    assert hardware.cpu_has_native_bfloat16(without) is False
    assert hardware.cpu_has_native_bfloat16(tmp_path / "missing") is False
    info = hardware.cpu_info(with_bf16)
    assert info["model"] == "Example Xeon" and info["flags"] == ["avx2", "avx512f", "avx512_bf16", "amx_tile"]
    assert hardware.cpu_info(without)["flags"] == ["avx2", "fma"]


def test_the_probe_is_skipped_for_runs_too_short_to_repay_it() -> None:
    probe, why = runtime_policy.should_probe("auto", runtime_policy.PROBE_MIN_STEPS - 1)
    assert probe is False and "too short" in why
    assert runtime_policy.should_probe("auto", runtime_policy.PROBE_MIN_STEPS)[0] is True
    assert runtime_policy.should_probe("never", 10**9)[0] is False
    assert runtime_policy.should_probe("always", 1)[0] is True


def test_the_probe_stops_at_its_share_of_the_run() -> None:
    clock = FakeClock()
    # 10 ms steps x 100 000 steps = 1000 s of training; 3 % of it is 30 s; each probe costs 12 s.
    measure = fake_measure({}, clock, cost_s=12.0)
    decision = runtime_policy.decide(_space(), measure, 100_000, clock=clock)
    measured = [c for c in decision.candidates if c["step_ms"] is not None]
    skipped = [c for c in decision.candidates if c.get("skipped") == "budget"]
    assert len(measured) == 3 and skipped  # 0 s, 12 s, 24 s < 30 s: three measured, then stop
    assert decision.budget_s == pytest.approx(30.0) and decision.probe_s == 36.0


def test_choices_are_cached_per_machine_and_model_signature(tmp_path: Path) -> None:
    cache = ChoiceCache(tmp_path)
    decision = Decision(settings={"steps_per_execution": 64}, source="measured", reason="test")
    path = cache.put("machine-a", "model-1", decision)
    assert path.is_relative_to(tmp_path) and json.loads(path.read_text())["settings"] == {
        "steps_per_execution": 64
    }
    assert cache.get("machine-a", "model-1")["settings"] == {"steps_per_execution": 64}
    assert cache.get("machine-b", "model-1") is None and cache.get("machine-a", "model-2") is None
    path.write_text("{not json")
    assert cache.get("machine-a", "model-1") is None  # a damaged entry is ignored, not fatal


def test_the_cache_lives_under_the_users_cache_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("LEPTON_LAB_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert runtime_policy.cache_dir() == tmp_path / "xdg" / "lepton-lab"
    monkeypatch.setenv("LEPTON_LAB_CACHE_DIR", str(tmp_path / "explicit"))
    assert runtime_policy.cache_dir() == tmp_path / "explicit"


def test_signature_ignores_what_does_not_change_a_steps_cost() -> None:
    def signature(**train: Any) -> str:
        spec = JobSpec.model_validate(
            {"dataset": {"name": "digits"}, "model": {"preset": "mlp"}, "train": train}
        )
        return runtime_policy.signature(spec, (8, 8, 1), 10, "memory")

    assert signature(epochs=3, seed=1, learning_rate=0.1) == signature(epochs=30, seed=7)
    assert signature(batch_size=32) != signature(batch_size=256)
    assert signature() != signature(runtime={"steps_per_execution": 2})


@pytest.mark.parametrize(
    ("train", "named"),
    [
        ({"runtime": {"threads": 2}}, "unknown runtime setting 'threads'"),
        ({"runtime": {"precision": "float16"}}, "train.runtime.precision"),
        ({"runtime": {"prefetch": -1}}, "prefetch -1 is out of range"),
        ({"runtime": {"cache": "ssd"}}, "train.runtime.cache"),
        ({"runtime": {"steps_per_execution": 0}}, "train.runtime.steps_per_execution"),
        (
            {"steps_per_execution": 2, "runtime": {"steps_per_execution": 4}},
            "set only runtime.steps_per_execution",
        ),
        (
            {"mixed_precision": False, "runtime": {"precision": "mixed_bfloat16"}},
            "set only runtime.precision",
        ),
    ],
)
def test_bad_runtime_pins_are_refused_naming_the_setting(train: dict[str, Any], named: str) -> None:
    with pytest.raises(SpecError) as error:
        parse_job({"dataset": {"name": "digits"}, "train": train})
    assert named in str(error.value)


def test_runtime_pins_round_trip_through_the_spec() -> None:
    train = TrainSpec.model_validate(
        {"runtime": {"steps_per_execution": 8, "prefetch": "auto", "cache": "disk"}}
    )
    again = TrainSpec.model_validate_json(train.model_dump_json())
    assert again == train and again.runtime is not None
    assert again.runtime.pins() == {"steps_per_execution": 8, "prefetch": "auto", "cache": "disk"}


def test_thread_pins_apply_before_tensorflow_starts_and_say_so_after() -> None:
    # A fresh process stands in for a worker: TensorFlow's pools are fixed at its first op.
    code = (
        "import json\n"
        "from lepton_lab.core.runtime_choice import apply_thread_pins\n"
        "from lepton_lab.core.tf_import import tf\n"
        "before = apply_thread_pins({'intra_op_threads': 1, 'inter_op_threads': 1})\n"
        "tf.constant(1.0) + 1.0\n"
        "after = apply_thread_pins({'intra_op_threads': 2})\n"
        "print(json.dumps([before, after]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    before, after = json.loads(result.stdout.strip().splitlines()[-1])
    assert before == {"intra_op": 1, "inter_op": 1}
    assert after["intra_op"] == 1 and "TensorFlow already started" in after["intra_op_not_applied"]
