"""Event schema: the five kinds of line in a run's ``events.jsonl``, as pydantic models.

:data:`Event` is a union discriminated on ``type``; ``openapi.json`` (``Event`` and its members)
and the TypeScript client's types are generated from it, and :data:`EVENT_TYPES` is derived from
it. Writers build plain dicts (:func:`lepton_lab.core.events.make_event`) and readers do not
validate each line, so a run's metrics never pay for pydantic; the tests hold what a real run
writes to these models.

Examples
--------
>>> event = validate_event({"t": 1.0, "type": "log", "message": "hello"})
>>> type(event).__name__, event.message
('LogEvent', 'hello')
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from lepton_lab.core.job_status import JobStatus

#: A metric's value; NaN and infinities are written as null (strict JSON).
Metrics = dict[str, Union[float, None]]


class _Event(BaseModel):
    """Fields every event has."""

    model_config = ConfigDict(extra="forbid")

    t: float = Field(description="Unix time in seconds.")
    step: int | None = Field(None, description="Global training step (batches since the run began).")
    epoch: int | None = Field(None, description="1-based epoch (status events: epochs completed).")
    metrics: Metrics = Field(default_factory=dict)


class BatchEvent(_Event):
    """Running metrics after a batch (or a ``steps_per_execution`` group of them)."""

    type: Literal["batch"]
    total_steps: int | None = Field(None, description="Steps of the whole run (for progress and ETA).")
    epochs: int | None = Field(None, description="Epochs of the whole run.")


class EpochEvent(_Event):
    """Every metric of a finished epoch, ``val_`` ones included."""

    type: Literal["epoch"]
    epochs: int | None = Field(None, description="Epochs of the whole run.")


class StatusEvent(_Event):
    """The run changed status; ``running`` with ``epoch`` N is a restart point after N epochs."""

    type: Literal["status"]
    status: JobStatus
    epochs: int | None = Field(None, description="Epochs of the whole run.")
    error: str | None = Field(None, description="Why it failed or was cancelled.")


class LogEvent(_Event):
    """A line of the run's log."""

    type: Literal["log"]
    message: str


class EvalEvent(_Event):
    """Test-set metrics after training (``test_accuracy``, ``test_loss``)."""

    type: Literal["eval"]


#: One line of ``events.jsonl``.
Event = Annotated[
    Union[BatchEvent, EpochEvent, StatusEvent, LogEvent, EvalEvent], Field(discriminator="type")
]
EVENT_MODELS: tuple[type[_Event], ...] = get_args(get_args(Event)[0])
#: Every value an event's ``type`` may take, in the union's order.
EVENT_TYPES: tuple[str, ...] = tuple(
    get_args(model.model_fields["type"].annotation)[0] for model in EVENT_MODELS
)

EVENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(Event)


def validate_event(data: dict[str, Any]) -> _Event:
    """Parse one event dict into its model; raises ``pydantic.ValidationError`` naming the field."""
    event: _Event = EVENT_ADAPTER.validate_python(data)
    return event
