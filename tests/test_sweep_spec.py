"""Sweep specs: search spaces over a base job, checked before any trial starts."""

from __future__ import annotations

import json

import pytest

from lepton_lab.core import specs
from lepton_lab.core.specs import JobSpec, SpecError
from lepton_lab.core.sweep_spec import (
    DEFAULT_MAX_TRIALS,
    SweepSpec,
    apply_params,
    grid_size,
    grid_values,
    parse_sweep,
    to_optuna,
    trial_count,
)

BASE = {"dataset": {"name": "digits"}, "model": {"preset": "mlp"}, "train": {"epochs": 3}}
LR = {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}


def sweep(space: dict, **fields) -> dict:
    return {"base": BASE, "space": space, **fields}


def problems_of(data: dict) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_sweep(data)
    return caught.value.problems


def test_defaults_fill_objective_strategy_and_trials():
    spec = parse_sweep(sweep({"train.learning_rate": LR}))
    assert (spec.name, spec.strategy, spec.pruner, spec.seed, spec.parallel) == (
        "sweep",
        "tpe",
        "median",
        0,
        None,
    )
    assert (spec.objective.metric, spec.objective.direction) == ("val_accuracy", "maximize")
    assert trial_count(spec) == DEFAULT_MAX_TRIALS


def test_a_loss_objective_is_minimised_unless_told_otherwise():
    assert (
        parse_sweep(sweep({"train.learning_rate": LR}, objective={"metric": "val_loss"})).objective.direction
        == "minimize"
    )
    told = parse_sweep(
        sweep({"train.learning_rate": LR}, objective={"metric": "val_loss", "direction": "maximize"})
    )
    assert told.objective.direction == "maximize"


def test_specs_module_re_exports_the_sweep_spec():
    assert specs.SweepSpec is SweepSpec and specs.parse_sweep is parse_sweep


def test_apply_params_sets_nested_fields_and_list_items_without_touching_the_base():
    base = JobSpec.model_validate({**BASE, "augment": {"ops": [{"op": "rotation", "factor": 0.1}]}})
    before = base.model_dump()
    trial = apply_params(
        base,
        {
            "train.learning_rate": 0.003,
            "train.batch_size": 64,
            "augment.ops.0.factor": 0.25,
            "model.preset": "small_cnn",
            "train.runtime.steps_per_execution": 4,  # a section the base left out
        },
    )
    assert (trial.train.learning_rate, trial.train.batch_size) == (0.003, 64)
    assert trial.augment.ops[0].factor == 0.25 and trial.model.preset == "small_cnn"
    assert trial.train.runtime is not None and trial.train.runtime.steps_per_execution == 4
    assert base.model_dump() == before


def test_apply_params_rejects_a_value_its_field_cannot_hold():
    with pytest.raises(SpecError, match=r"train\.batch_size"):
        apply_params(JobSpec.model_validate(BASE), {"train.batch_size": 0})


@pytest.mark.parametrize(
    ("space", "fields", "expected"),
    [
        (
            {"train.learning_rate": {"type": "float", "low": 0.1, "high": 0.01}},
            {},
            "low 0.1 must be below high 0.01",
        ),
        ({"train.learnin_rate": LR}, {}, "train has no field 'learnin_rate'; its fields are batch_size"),
        (
            {"train.learning_rate": {**LR, "high": 100.0}},
            {},
            "value 100.0 gives an invalid job: train.learning_rate",
        ),
        (
            {"train.learning_rate": LR},
            {"strategy": "grid"},
            "grid search needs a finite set of values; give 'step'",
        ),
        ({"train.learning_rate": {**LR, "low": 0.0}}, {}, "a log scale needs low > 0"),
        ({"train.learning_rate": {**LR, "step": 0.001}}, {}, "log and step cannot be combined"),
        (
            {"train.epochs": {"type": "float", "low": 1, "high": 3}},
            {},
            "train.epochs holds an integer (3); use type 'int'",
        ),
        ({"train": {"type": "int", "low": 1, "high": 3}}, {}, "names a whole section"),
        (
            {"train.epochs.x": {"type": "int", "low": 1, "high": 3}},
            {},
            "train.epochs is a value, not a section",
        ),
        (
            {"augment.ops.0.factor": {"type": "float", "low": 0.1, "high": 0.3}},
            {},
            "augment.ops is empty in the base spec",
        ),
        (
            {"model.preset": {"type": "categorical", "choices": ["mlp", "resnet"]}},
            {},
            "value 'resnet' gives an invalid job: model: unknown preset 'resnet'",
        ),
        (
            {"train.optimizer": {"type": "categorical", "choices": ["adam", "adam"]}},
            {},
            "choice 'adam' appears twice",
        ),
        (
            {"train.epochs": {"type": "int", "low": 1, "high": 3, "step": 5}},
            {},
            "step 5 is larger than high - low (2)",
        ),
    ],
)
def test_an_invalid_space_names_the_path_and_the_reason(space, fields, expected):
    (problem,) = problems_of(sweep(space, **fields))
    path = next(iter(space))
    assert problem.startswith(f"space.{path}: ") and expected in problem, problem


def test_structural_errors_name_the_field_inside_the_dimension():
    problems = problems_of(sweep({"train.learning_rate": {"type": "float", "lo": 1e-4, "high": 1e-2}}))
    assert "space.train.learning_rate.low: Field required" in problems
    assert any(p.startswith("space.train.learning_rate.lo:") for p in problems)


def test_every_bad_dimension_is_reported_at_once():
    problems = problems_of(
        sweep(
            {
                "train.learning_rate": {**LR, "low": 1.0},
                "train.batch_size": {"type": "int", "low": 0, "high": 8},
            }
        )
    )
    assert [p.split(":")[0] for p in problems] == ["space.train.learning_rate", "space.train.batch_size"]


def test_validating_the_model_directly_also_checks_the_space():
    with pytest.raises(ValueError, match=r"space\.x: the spec has no field"):
        SweepSpec.model_validate(sweep({"x": {"type": "int", "low": 1, "high": 3}}))


def test_strict_json_refuses_strings_for_numbers():
    text = json.dumps(sweep({"train.epochs": {"type": "int", "low": "1", "high": 3}}))
    with pytest.raises(SpecError, match=r"space\.train\.epochs\.low"):
        parse_sweep(text, strict=True)
    assert parse_sweep(text).space["train.epochs"].low == 1


def test_grid_values_and_size_cover_every_combination():
    spec = parse_sweep(
        sweep(
            {
                "train.batch_size": {"type": "categorical", "choices": [32, 64, 128]},
                "train.dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.25},
                "train.epochs": {"type": "int", "low": 2, "high": 7, "step": 2},
            },
            strategy="grid",
        )
    )
    values = grid_values(spec.space)
    assert values == {
        "train.batch_size": [32, 64, 128],
        "train.dropout": [0.0, 0.25, 0.5],
        "train.epochs": [2, 4, 6],
    }
    assert grid_size(spec.space) == 27 == trial_count(spec)
    capped = parse_sweep(
        sweep(
            {"train.batch_size": {"type": "categorical", "choices": [32, 64]}}, strategy="grid", max_trials=50
        )
    )
    assert trial_count(capped) == 2


def test_a_grid_too_large_is_refused_with_the_fix():
    (problem,) = problems_of(
        sweep(
            {
                "train.epochs": {"type": "int", "low": 1, "high": 1000},
                "train.batch_size": {"type": "int", "low": 1, "high": 1000},
            },
            strategy="grid",
        )
    )
    assert "1,000,000 combinations" in problem and "strategy 'random' or 'tpe'" in problem


def test_to_optuna_keeps_scale_step_and_choices():
    from optuna import distributions

    spec = parse_sweep(
        sweep(
            {
                "train.learning_rate": LR,
                "train.epochs": {"type": "int", "low": 2, "high": 8, "step": 2},
                "model.preset": {"type": "categorical", "choices": ["mlp", "small_cnn"]},
            }
        )
    )
    assert to_optuna(spec.space["train.learning_rate"]) == distributions.FloatDistribution(
        1e-4, 1e-2, log=True
    )
    assert to_optuna(spec.space["train.epochs"]) == distributions.IntDistribution(2, 8, step=2)
    assert to_optuna(spec.space["model.preset"]) == distributions.CategoricalDistribution(
        ("mlp", "small_cnn")
    )
