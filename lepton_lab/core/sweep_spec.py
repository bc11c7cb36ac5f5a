"""Sweep specs: a base job, a search space over its fields, an objective and a search strategy.

A sweep trains the base :class:`~lepton_lab.core.specs.JobSpec` many times, each trial with other
values for the fields its ``space`` names by dotted path (``train.learning_rate``,
``model.layers.2.rate``, ``augment.ops.0.factor``). The server's sweep manager hands the space to
Optuna (:func:`to_optuna`), asks it for each trial's values and trains :func:`apply_params` of
them as an ordinary job.

Every value a dimension can take is checked against the base spec before any trial starts, so a
space that could only fail (a learning rate above the schema's bound, a field that does not
exist) is refused with the path and the reason. Optuna is imported only by :func:`to_optuna`.

Examples
--------
>>> spec = parse_sweep({
...     "base": {"dataset": {"name": "digits"}},
...     "space": {"train.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
...               "train.batch_size": {"type": "categorical", "choices": [32, 64]}},
... })
>>> spec.strategy, spec.objective.metric, spec.objective.direction, trial_count(spec)
('tpe', 'val_accuracy', 'maximize', 20)
>>> apply_params(spec.base, {"train.learning_rate": 0.003, "train.batch_size": 64}).train.batch_size
64
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Union

from pydantic import Field, ValidationError, ValidationInfo, model_validator

from lepton_lab.core.specs import SEED_MAX, JobSpec, SpecError, _Spec, describe_errors, parse_job

#: Trials a sweep runs when ``max_trials`` is not given (and the strategy is not ``grid``).
DEFAULT_MAX_TRIALS = 20
#: Most trials one sweep may ask for, and the largest grid ``grid`` search accepts.
MAX_TRIALS = 10_000
#: Most dimensions one space may have.
MAX_DIMENSIONS = 64
STRATEGIES = ("grid", "random", "tpe")
PRUNERS = ("none", "median", "hyperband")

#: A categorical choice: what Optuna stores and JSON carries.
Choice = Union[bool, int, float, str, None]


class FloatDimension(_Spec):
    """A real number between ``low`` and ``high``: on a log scale, or in steps of ``step``."""

    type: Literal["float"]
    low: float
    high: float
    log: bool = Field(False, description="Sample uniformly in log space (learning rates).")
    step: float | None = Field(None, gt=0, description="Only low, low + step, ... (needed by grid search).")


class IntDimension(_Spec):
    """An integer between ``low`` and ``high`` inclusive, in steps of ``step``."""

    type: Literal["int"]
    low: int
    high: int
    step: int = Field(1, ge=1)
    log: bool = Field(False, description="Sample uniformly in log space (needs step 1).")


class CategoricalDimension(_Spec):
    """One of a list of values (numbers, strings, booleans or null)."""

    type: Literal["categorical"]
    choices: list[Choice] = Field(min_length=1, max_length=1000)


#: One axis of a search space.
Dimension = Annotated[Union[FloatDimension, IntDimension, CategoricalDimension], Field(discriminator="type")]


class Objective(_Spec):
    """The metric a sweep optimises, read from each trial's epoch events."""

    metric: str = Field(
        "val_accuracy",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="An epoch metric: val_accuracy, val_loss, accuracy, loss, ...",
    )
    direction: Literal["maximize", "minimize"] | None = Field(
        None, description="None: 'minimize' for a metric ending in 'loss', else 'maximize'."
    )

    @model_validator(mode="after")
    def _default_direction(self) -> Objective:
        if self.direction is None:
            direction = "minimize" if self.metric.endswith("loss") else "maximize"
            object.__setattr__(self, "direction", direction)
        return self


class SweepSpec(_Spec):
    """A hyperparameter sweep: trials of ``base`` with the values ``space`` names."""

    name: str = Field("sweep", min_length=1, max_length=100)
    base: JobSpec
    space: dict[str, Dimension] = Field(min_length=1, max_length=MAX_DIMENSIONS)
    objective: Objective = Field(default_factory=Objective)
    strategy: Literal["grid", "random", "tpe"] = Field(
        "tpe", description="grid: every combination once; random; tpe: Optuna's TPE sampler."
    )
    max_trials: int | None = Field(
        None,
        ge=1,
        le=MAX_TRIALS,
        description=f"Trials to run (default {DEFAULT_MAX_TRIALS}; grid: the grid's size, and at most that).",
    )
    parallel: int | None = Field(
        None, ge=1, le=256, description="Trials in flight at once; None: the server's job slots."
    )
    pruner: Literal["none", "median", "hyperband"] = Field(
        "median", description="Stop clearly losing trials early: Optuna's median or Hyperband pruner."
    )
    seed: int = Field(0, ge=0, le=SEED_MAX, description="Seeds the sampler (same seed, same trials).")

    @model_validator(mode="after")
    def _space_fits_base(self, info: ValidationInfo) -> SweepSpec:
        # parse_sweep reports each problem on its own line; direct validation joins them.
        if not (info.context or {}).get("defer_space_check"):
            problems = space_problems(self)
            if problems:
                raise ValueError("; ".join(problems))
        return self


def parse_sweep(data: str | bytes | dict[str, Any] | SweepSpec, strict: bool = False) -> SweepSpec:
    """Validate a sweep from JSON text or a dict, and check its space against its base spec.

    ``strict`` takes JSON types exactly as the schema states them (the REST API).

    Raises
    ------
    SpecError
        Listing each problem as ``path: what is wrong``; a space's problems start ``space.<path>``.
    """
    if isinstance(data, SweepSpec):
        return data
    mode = True if strict else None
    context = {"defer_space_check": True}
    try:
        if isinstance(data, (str, bytes)):
            spec = SweepSpec.model_validate_json(data, strict=mode, context=context)
        else:
            spec = SweepSpec.model_validate(data, strict=mode, context=context)
    except ValidationError as error:
        raise SpecError(describe_errors([_without_dimension_tag(item) for item in error.errors()])) from None
    problems = space_problems(spec)
    if problems:
        raise SpecError(problems)
    return spec


def _without_dimension_tag(item: Any) -> Any:
    # pydantic puts the union's tag in the location (space.<path>.float.low); the user wrote
    # space.<path>.low.
    loc = item["loc"]
    if len(loc) > 2 and loc[0] == "space" and loc[2] in ("float", "int", "categorical"):
        return {**item, "loc": (*loc[:2], *loc[3:])}
    return item


def space_problems(spec: SweepSpec) -> list[str]:
    """Every reason ``spec``'s space cannot be searched, as ``space.<path>: reason`` lines."""
    problems: list[str] = []
    base = spec.base.model_dump(mode="json")
    for path, dimension in spec.space.items():
        where = f"space.{path}"
        problem = (
            _path_problem(base, path)
            or _range_problem(dimension, spec.strategy)
            or _type_problem(base, path, dimension)
        )
        if problem is None:
            problem = _value_problem(spec.base, path, dimension)
        if problem is not None:
            problems.append(f"{where}: {problem}")
    if not problems and spec.strategy == "grid" and grid_size(spec.space) > MAX_TRIALS:
        problems.append(
            f"space: the grid has {grid_size(spec.space):,} combinations, more than {MAX_TRIALS:,}; "
            "use fewer values (a larger step) or strategy 'random' or 'tpe'"
        )
    return problems


def _path_problem(base: dict[str, Any], path: str) -> str | None:
    """Why ``path`` does not name a single field of the base spec, or None."""
    node: Any = base
    walked: list[str] = []
    for part in path.split("."):
        if node is None:
            # An optional section left out of the base (train.runtime): the values' check decides.
            return None
        if isinstance(node, list):
            where = ".".join(walked)
            if not node:
                return f"{where} is empty in the base spec; add the item there first, then search its values"
            if not part.isdigit() or int(part) >= len(node):
                return f"{where} is a list of {len(node)}; give an index 0..{len(node) - 1} after '{where}.'"
            node = node[int(part)]
        elif isinstance(node, dict):
            if part not in node:
                where = ".".join(walked) or "the spec"
                known = ", ".join(sorted(node))
                return f"{where} has no field {part!r}; its fields are {known}"
            node = node[part]
        else:
            return f"{'.'.join(walked)} is a value, not a section; it has no field {part!r}"
        walked.append(part)
    if isinstance(node, (dict, list)):
        return "names a whole section; give the path of one value inside it"
    return None


def _type_problem(base: dict[str, Any], path: str, dimension: Any) -> str | None:
    """Why a float dimension cannot set an integer field, or None."""
    node: Any = base
    for part in path.split("."):
        if node is None:
            return None
        node = node[int(part)] if isinstance(node, list) else node.get(part)
    if isinstance(dimension, FloatDimension) and isinstance(node, int) and not isinstance(node, bool):
        return f"{path} holds an integer ({node}); use type 'int' for it"
    return None


def _range_problem(dimension: Any, strategy: str) -> str | None:
    """Why a dimension's own bounds make no sense (or cannot be gridded), or None."""
    if isinstance(dimension, CategoricalDimension):
        seen: list[Any] = []
        for choice in dimension.choices:
            if any(choice == other and type(choice) is type(other) for other in seen):
                return f"choice {choice!r} appears twice; give each value once"
            if isinstance(choice, float) and not math.isfinite(choice):
                return f"choice {choice!r} is not a finite number"
            seen.append(choice)
        return None
    if not (math.isfinite(dimension.low) and math.isfinite(dimension.high)):
        return "low and high must be finite numbers"
    if dimension.low >= dimension.high:
        return f"low {dimension.low:g} must be below high {dimension.high:g}"
    if dimension.log and dimension.low <= 0:
        return f"a log scale needs low > 0, got {dimension.low:g}; raise low or set log to false"
    stepped = dimension.step != 1 if isinstance(dimension, IntDimension) else dimension.step is not None
    if dimension.log and stepped:
        return "log and step cannot be combined (Optuna samples a log scale continuously); drop one"
    if dimension.step is not None and dimension.step > dimension.high - dimension.low:
        return f"step {dimension.step:g} is larger than high - low ({dimension.high - dimension.low:g})"
    if strategy == "grid" and isinstance(dimension, FloatDimension) and dimension.step is None:
        return (
            "grid search needs a finite set of values; give 'step' or use type 'categorical' "
            "(e.g. choices [0.0001, 0.001, 0.01])"
        )
    return None


def _value_problem(base: JobSpec, path: str, dimension: Any) -> str | None:
    """Why some value of the dimension gives an invalid job spec, or None."""
    for value in _extremes(dimension):
        try:
            apply_params(base, {path: value})
        except SpecError as error:
            return f"value {value!r} gives an invalid job: {'; '.join(error.problems)}"
    return None


def _extremes(dimension: Any) -> list[Any]:
    # Bounds checked by the schema are monotone, so the ends of a range stand for all of it.
    if isinstance(dimension, CategoricalDimension):
        return list(dimension.choices)
    return [dimension.low, _top(dimension)]


def _top(dimension: FloatDimension | IntDimension) -> float | int:
    """Return the largest value the dimension yields (high, or the last step at or below it)."""
    if dimension.step is None:
        return dimension.high
    count = math.floor((dimension.high - dimension.low) / dimension.step + 1e-9)
    top = dimension.low + count * dimension.step
    return top if isinstance(dimension, IntDimension) else round(top, 12)


def apply_params(base: JobSpec, params: dict[str, Any]) -> JobSpec:
    """Return ``base`` with each dotted path in ``params`` set to its value (validated).

    Raises
    ------
    SpecError
        When a value does not fit its field, naming the field.
    """
    data = base.model_dump(mode="json")
    for path, value in params.items():
        _set_path(data, path.split("."), value)
    return parse_job(data)


def _set_path(data: Any, parts: list[str], value: Any) -> None:
    node = data
    for index, part in enumerate(parts[:-1]):
        key: Any = int(part) if isinstance(node, list) else part
        if isinstance(node, dict) and node.get(key) is None:
            node[key] = {}  # an optional section the base left out
        node = node[key]
        if not isinstance(node, (dict, list)):
            raise SpecError([f"{'.'.join(parts[: index + 1])}: is a value, not a section"])
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def grid_values(space: dict[str, Any]) -> dict[str, list[Any]]:
    """Every value of each dimension, for a grid search (floats need a ``step``)."""
    values: dict[str, list[Any]] = {}
    for path, dimension in space.items():
        if isinstance(dimension, CategoricalDimension):
            values[path] = list(dimension.choices)
        elif isinstance(dimension, IntDimension):
            values[path] = list(range(dimension.low, dimension.high + 1, dimension.step))
        elif dimension.step is None:
            raise SpecError([f"space.{path}: grid search needs a finite set of values; give 'step'"])
        else:
            count = math.floor((dimension.high - dimension.low) / dimension.step + 1e-9) + 1
            values[path] = [round(dimension.low + k * dimension.step, 12) for k in range(count)]
    return values


def grid_size(space: dict[str, Any]) -> int:
    """How many combinations a grid search over ``space`` has (without building them)."""
    size = 1
    for dimension in space.values():
        if isinstance(dimension, CategoricalDimension):
            size *= len(dimension.choices)
        elif isinstance(dimension, FloatDimension) and dimension.step is None:
            return math.inf  # type: ignore[return-value]  # a continuous axis: no grid
        else:
            size *= math.floor((dimension.high - dimension.low) / dimension.step + 1e-9) + 1
    return size


def trial_count(spec: SweepSpec) -> int:
    """How many trials the sweep runs: ``max_trials``, and for a grid at most its size."""
    if spec.strategy == "grid":
        size = grid_size(spec.space)
        return size if spec.max_trials is None else min(spec.max_trials, size)
    return spec.max_trials if spec.max_trials is not None else DEFAULT_MAX_TRIALS


def to_optuna(dimension: Any) -> Any:
    """Return the :mod:`optuna.distributions` object that samples ``dimension``."""
    from optuna import distributions

    if isinstance(dimension, CategoricalDimension):
        return distributions.CategoricalDistribution(tuple(dimension.choices))
    if isinstance(dimension, IntDimension):
        return distributions.IntDistribution(
            dimension.low, dimension.high, log=dimension.log, step=dimension.step
        )
    return distributions.FloatDistribution(
        dimension.low, dimension.high, log=dimension.log, step=dimension.step
    )
