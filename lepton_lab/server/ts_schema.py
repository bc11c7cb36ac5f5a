"""TypeScript schema: the JSON Schema bundle that ``labextension/src/types.ts`` is generated from.

``jlpm gen:types`` runs ``python -m lepton_lab.server.ts_schema`` and compiles its output with
json-schema-to-typescript (``labextension/scripts/gen-types.mjs``); ``make lint`` regenerates into
memory and fails when the committed file differs. The bundle is :func:`component_schemas` of
``openapi.json`` with TypeScript names (``Job`` becomes ``IJob``, the ``Event`` union
``JobEvent``) plus the constants Python derives from the same models (statuses, event types,
presets, limits), so the panel lists exactly what the server accepts.
"""

from __future__ import annotations

import json
import sys
from typing import Any, get_args

from lepton_lab.core import job_status
from lepton_lab.core.event_schema import EVENT_TYPES
from lepton_lab.core.runmeta import NAME_MAX, NOTE_MAX
from lepton_lab.core.specs import PRESET_NAMES, TrainSpec
from lepton_lab.server.openapi import component_schemas

#: Components whose TypeScript name is not ``I`` + their name (unions are types, not interfaces).
_UNION_NAMES = {"Event": "JobEvent"}


def ts_name(component: str) -> str:
    """TypeScript name of an OpenAPI component: ``IJob`` for ``Job``, ``JobEvent`` for ``Event``."""
    return _UNION_NAMES.get(component, f"I{component}")


def _untitled(schema: Any) -> Any:
    # json-schema-to-typescript turns every titled sub-schema into a named type ("Status",
    # "Status1", ...); only components should be named.
    if isinstance(schema, dict):
        return {key: _untitled(value) for key, value in schema.items() if key != "title"}
    if isinstance(schema, list):
        return [_untitled(item) for item in schema]
    return schema


def constants() -> dict[str, Any]:
    """Values the TypeScript code lists, each derived from a model's ``Literal`` type or a limit."""
    return {
        "JOB_STATUSES": job_status.STATUSES,
        "ACTIVE_STATUSES": job_status.ACTIVE_STATUSES,
        "FINISHED_STATUSES": job_status.FINISHED_STATUSES,
        "RESUMABLE_STATUSES": job_status.RESUMABLE_STATUSES,
        "ORIGINS": job_status.ORIGINS,
        "EVENT_TYPES": EVENT_TYPES,
        "PRESET_NAMES": PRESET_NAMES,
        "OPTIMIZERS": get_args(TrainSpec.model_fields["optimizer"].annotation),
        "LR_SCHEDULES": get_args(TrainSpec.model_fields["lr_schedule"].annotation),
        "NAME_MAX": NAME_MAX,
        "NOTE_MAX": NOTE_MAX,
    }


def typescript_schema() -> dict[str, Any]:
    """One JSON Schema whose ``$defs`` are every component, titled with its TypeScript name."""
    schemas = component_schemas(ref_template="#/$defs/{model}")
    defs = {name: {**_untitled(schema), "title": ts_name(name)} for name, schema in schemas.items()}
    return {
        "title": "IApiSchemas",
        "description": "Every schema of openapi.json by name (generated: a map of the types above).",
        "type": "object",
        "properties": {name: {"$ref": f"#/$defs/{name}"} for name in defs},
        "additionalProperties": False,
        "$defs": defs,
        "x-constants": constants(),
    }


if __name__ == "__main__":
    json.dump(typescript_schema(), sys.stdout, indent=1)
