"""Spec bounds: every number a spec accepts is one the code that uses it accepts, and the schema says so."""

from __future__ import annotations

import numpy as np
import pytest

from lepton_lab.core.specs import (
    SEED_MAX,
    TAG_MAX_LENGTH,
    TAGS_MAX,
    SpecError,
    json_schema,
    parse_job,
)

DIGITS = {"dataset": {"name": "digits"}}


def _problems(spec: dict) -> str:
    with pytest.raises(SpecError) as excinfo:
        parse_job(spec)
    return "\n".join(excinfo.value.problems)


@pytest.mark.parametrize("seed", [-1, SEED_MAX + 1, 10**40])
@pytest.mark.parametrize("where", ["dataset", "train"])
def test_seeds_outside_numpys_range_are_refused(where, seed):
    spec = {"dataset": {"name": "digits"}, where: {**({"name": "digits"} if where == "dataset" else {})}}
    spec[where]["seed"] = seed
    assert f"{where}.seed" in _problems(spec)


def test_the_extreme_seeds_accepted_are_ones_numpy_takes():
    for seed in (0, SEED_MAX):
        job = parse_job({"dataset": {"name": "digits", "seed": seed}, "train": {"seed": seed}})
        np.random.seed(job.train.seed)  # what keras.utils.set_random_seed does
        np.random.default_rng(job.dataset.seed)


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"dataset": {"name": "digits", "subset": 2**31}}, "dataset.subset"),
        ({**DIGITS, "train": {"early_stopping_patience": 10**6}}, "train.early_stopping_patience"),
        ({**DIGITS, "train": {"steps_per_execution": 10**19}}, "train.steps_per_execution"),
        ({**DIGITS, "tags": ["t"] * (TAGS_MAX + 1)}, "tags"),
        ({**DIGITS, "tags": ["t" * (TAG_MAX_LENGTH + 1)]}, "tags.0"),
        ({**DIGITS, "tags": [""]}, "tags.0"),
        ({"dataset": {"name": ""}}, "dataset.name"),
        ({"dataset": {"name": "folder:"}}, "dataset.name"),
        ({**DIGITS, "augment": {"ops": [{"op": "flip"}] * 33}}, "augment.ops"),
        ({**DIGITS, "model": {"layers": [{"type": "Dense", "units": -4}]}}, "units"),
        ({**DIGITS, "model": {"layers": [{"type": "Dense", "units": True}]}}, "units"),
        ({**DIGITS, "model": {"layers": [{"type": "Dense", "units": [[[1]]]}]}}, "units"),
        (
            {**DIGITS, "model": {"layers": [{"type": "Conv2D", "filters": 8, "kernel_size": [3, 3, 3]}]}},
            "kernel",
        ),
        ({**DIGITS, "model": {"layers": [{"type": "Dropout", "rate": float("nan")}]}}, "rate"),
        ({**DIGITS, "model": {"layers": [{"type": "Reshape", "target_shape": []}]}}, "target_shape"),
        (
            {
                **DIGITS,
                "model": {"layers": [{"type": "Conv2D", "filters": 8, "kernel_size": 3, "padding": "x"}]},
            },
            "padding",
        ),
    ],
)
def test_out_of_range_fields_are_refused_naming_them(spec, field):
    assert field in _problems(spec)


def test_valid_layer_arguments_still_pass():
    layers = [
        {
            "type": "Conv2D",
            "filters": 8,
            "kernel_size": [3, 3],
            "strides": 1,
            "padding": "same",
            "use_bias": False,
        },
        {"type": "BatchNormalization", "momentum": 0.9, "epsilon": 1e-3},
        {"type": "MaxPooling2D", "pool_size": 2},
        {"type": "Dropout", "rate": 0},
        {"type": "Flatten"},
        {"type": "Dense", "units": 16, "activation": "relu"},
    ]
    assert parse_job({**DIGITS, "model": {"layers": layers}}).model.layers[0].args["kernel_size"] == [3, 3]


def test_the_json_schema_states_the_same_bounds():
    defs = json_schema()["$defs"]
    assert defs["DatasetSpec"]["properties"]["seed"]["maximum"] == SEED_MAX
    assert defs["TrainSpec"]["properties"]["seed"]["minimum"] == 0
    assert "pattern" in defs["DatasetSpec"]["properties"]["name"]
    tags = json_schema()["properties"]["tags"]
    assert tags["maxItems"] == TAGS_MAX and tags["items"]["maxLength"] == TAG_MAX_LENGTH
    dense = defs["DenseLayer"]
    assert dense["properties"]["type"]["const"] == "Dense" and dense["required"] == ["type", "units"]
    assert dense["additionalProperties"] is False and dense["properties"]["units"]["minimum"] == 1
    assert dense["properties"]["use_bias"]["default"] is True  # Keras's default, stated
