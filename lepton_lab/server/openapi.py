"""``GET openapi.json``: the OpenAPI 3.1 document of the Lepton Lab API.

Every route of :data:`lepton_lab.server.routes.ROUTES` has an entry in :data:`OPERATIONS` (a test
checks it). Schemas of specs come from :mod:`lepton_lab.core.specs`, the one source of truth.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from lepton_lab._version import __version__
from lepton_lab.core.rundir import ORIGINS, STATUSES
from lepton_lab.core.runmeta import NAME_MAX, NOTE_MAX
from lepton_lab.server.access import ARTIFACT_CONTENT_TYPES, DEFAULT_CONTENT_TYPE
from lepton_lab.server.bodies import MAX_DEPTH
from lepton_lab.server.routes import API_PREFIX, ROUTES


class ErrorBody(BaseModel):
    """Body of every error answer of the API."""

    message: str = Field(description="What is wrong and, where there is one, the fix.")
    reason: str = Field(description="The error's class name, or the HTTP reason phrase.")


_JOB = {"$ref": "#/components/schemas/Job"}
_ERROR = {
    "description": "Error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_BODY_ERRORS = {
    "400": {
        **_ERROR,
        "description": "The body is not UTF-8 or not JSON, holds an integer of more than 4300 digits, "
        f"nests arrays/objects more than {MAX_DEPTH} levels deep, or does not follow the schema",
    },
    "413": {
        **_ERROR,
        "description": "The body is larger than c.LeptonLabApp.max_body_bytes (default 1 MiB)",
    },
}
_JOB_ID = {
    "name": "job_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "Run id.",
}
_AFTER = {
    "name": "after",
    "in": "query",
    "schema": {"type": "integer", "minimum": 0, "default": 0},
    "description": "Line offset of events.jsonl to start after (the `next` of a previous answer).",
}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _op(
    summary: str, responses: dict[str, Any], parameters: Sequence[dict[str, Any]] = (), **extra: Any
) -> dict[str, Any]:
    errors = (
        {"403": _ERROR, "404": _ERROR} if any(p["name"] == "job_id" for p in parameters) else {"403": _ERROR}
    )
    return {"summary": summary, "parameters": list(parameters), "responses": {**responses, **errors}, **extra}


def _websocket(summary: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    return _op(
        summary,
        {
            "101": {"description": "WebSocket upgrade; JSON text messages (see the description)."},
            "400": {**_ERROR, "description": "Not a WebSocket request, or a bad `after`"},
        },
        parameters,
        description=(
            'WebSocket. Messages: {"type": "events", "events": [...], "next": N}, '
            '{"type": "status", "job": {...}}, {"type": "progress", "id": ..., ...}, '
            '{"type": "snapshot", "jobs": [...]}. A client that falls behind is closed with code '
            "1013 and a reason naming the offset to reconnect from."
        ),
    )


#: Operations of every route template, by HTTP method.
OPERATIONS: dict[str, dict[str, dict[str, Any]]] = {
    "status": {
        "get": _op(
            "Server status: versions, runs directory, executor, job counts",
            {"200": _json("Status", {"type": "object"})},
        )
    },
    "openapi.json": {"get": _op("This document", {"200": _json("OpenAPI document", {"type": "object"})})},
    "jobs": {
        "get": _op(
            "List jobs, newest first",
            {
                "200": _json(
                    "Jobs",
                    {
                        "type": "object",
                        "required": ["jobs"],
                        "properties": {"jobs": {"type": "array", "items": _JOB}},
                    },
                ),
                "400": _ERROR,
            },
            [
                {
                    "name": "status",
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": f"Comma-separated statuses to keep: {', '.join(STATUSES)}.",
                }
            ],
        ),
        "post": _op(
            "Queue a training job",
            {"201": _json("The new job", _JOB), **_BODY_ERRORS},
            requestBody={
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobSpec"}}},
            },
        ),
    },
    "jobs/{job_id}": {
        "get": _op("One job, with its spec and traceback", {"200": _json("Job", _JOB)}, [_JOB_ID]),
        "patch": _op(
            "Rename a job, set its note or archive it (stored in the run directory's meta.json; "
            "spec.json keeps the trained name)",
            {"200": _json("The updated job", _JOB), **_BODY_ERRORS},
            [_JOB_ID],
            requestBody={
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobPatch"}}},
            },
        ),
        "delete": _op(
            "Cancel a job (SIGTERM, then SIGKILL after the grace period; a run trained by a kernel or "
            "a script is asked to stop through its stop-requested file); events are kept",
            {
                "200": _json("Cancelled (it was queued)", _JOB),
                "202": _json("Cancelling", _JOB),
                "409": _ERROR,
            },
            [_JOB_ID],
        ),
    },
    "jobs/{job_id}/run": {
        "delete": _op(
            "Delete the job's run directory (events, checkpoints, model, everything) and forget the "
            "job; a queued or running job must be cancelled first",
            {"204": {"description": "Deleted"}, "409": _ERROR},
            [_JOB_ID],
        ),
    },
    "jobs/{job_id}/resume": {
        "post": _op(
            "Resume an interrupted, failed or cancelled job from its checkpoints (in a server worker, "
            "whoever trained it first)",
            {"202": _json("Queued again", _JOB), "409": _ERROR},
            [_JOB_ID],
        ),
    },
    "jobs/{job_id}/events": {
        "get": _op(
            "Events after a line offset",
            {
                "200": _json(
                    "Events and the offset to continue from",
                    {
                        "type": "object",
                        "properties": {
                            "events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
                            "next": {"type": "integer"},
                        },
                    },
                ),
                "400": _ERROR,
            },
            [_JOB_ID, _AFTER, {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1}}],
        ),
    },
    "jobs/{job_id}/evaluation": {
        "get": _op("The job's evaluation.json", {"200": _json("Evaluation", {"type": "object"})}, [_JOB_ID]),
    },
    "jobs/{job_id}/artifacts": {
        "get": _op(
            "Files of the run directory",
            {
                "200": _json(
                    "Artifacts",
                    {
                        "type": "object",
                        "properties": {
                            "artifacts": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {"name": {"type": "string"}, "size": {"type": "integer"}},
                                },
                            }
                        },
                    },
                )
            },
            [_JOB_ID],
        ),
    },
    "jobs/{job_id}/artifacts/{name}": {
        "get": _op(
            "Download a file of the run directory (never one outside it)",
            {
                "200": {
                    "description": "The file; its content type follows its suffix (.json, .jsonl, .log, "
                    ".html, .keras, ...), anything else is application/octet-stream",
                    "content": {
                        media: {"schema": {}}
                        for media in sorted({*ARTIFACT_CONTENT_TYPES.values(), DEFAULT_CONTENT_TYPE})
                    },
                },
            },
            [
                _JOB_ID,
                {
                    "name": "name",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "Path inside the run directory, or model, report, log, spec, status, "
                    "events, evaluation.",
                },
            ],
        ),
    },
    "jobs/{job_id}/stream": {
        "get": _websocket("WebSocket: the job's events from `after`, then live", [_JOB_ID, _AFTER])
    },
    "stream": {"get": _websocket("WebSocket: every job's status and progress", [])},
    "devices": {
        "get": _op("CPU and GPUs with the jobs placed on each", {"200": _json("Devices", {"type": "object"})})
    },
    "datasets": {
        "get": _op(
            "Dataset registry and allowed folder roots", {"200": _json("Datasets", {"type": "object"})}
        )
    },
}

_JOB_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "status"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string", "description": "As renamed (PATCH), else as trained."},
        "tags": {"type": "array", "items": {"type": "string"}},
        "status": {"enum": list(STATUSES)},
        "created": {"type": ["string", "null"]},
        "started": {"type": ["string", "null"]},
        "finished": {"type": ["string", "null"]},
        "pid": {"type": ["integer", "null"]},
        "gpu": {"type": ["integer", "null"]},
        "exit_code": {"type": ["integer", "null"]},
        "error": {"type": ["string", "null"]},
        "epoch": {"type": ["integer", "null"], "description": "Epochs completed."},
        "epochs": {"type": ["integer", "null"]},
        "dataset": {"type": ["string", "null"]},
        "run_dir": {"type": "string"},
        "origin": {
            "enum": list(ORIGINS),
            "description": "Who trains it: a worker of this server, lepton_lab.train in a kernel, "
            "or a script/the CLI writing into the runs directory (cancel asks those to stop).",
        },
        "note": {"type": ["string", "null"], "description": "A person's note on the run (meta.json)."},
        "archived": {
            "type": "boolean",
            "description": "Hidden from lists unless archived runs are asked for.",
        },
        "cancel_requested": {"type": "boolean"},
        "queue_position": {"type": ["integer", "null"]},
        "progress": {"type": ["object", "null"], "description": "Latest step, epoch, total_steps, metrics."},
        "traceback": {"type": ["string", "null"], "description": "Only in GET jobs/{job_id}."},
        "spec": {"description": "Only in GET jobs/{job_id}.", "$ref": "#/components/schemas/JobSpec"},
    },
}

_JOB_PATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        "name": {
            "type": ["string", "null"],
            "maxLength": NAME_MAX,
            "description": "Display name; null or '' shows the trained name again.",
        },
        "note": {"type": ["string", "null"], "maxLength": NOTE_MAX, "description": "null or '' removes it."},
        "archived": {"type": "boolean"},
    },
}

_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "t": {"type": "number"},
        "type": {"enum": ["batch", "epoch", "status", "log", "eval"]},
        "step": {"type": ["integer", "null"]},
        "epoch": {"type": ["integer", "null"]},
        "metrics": {"type": "object"},
    },
}


def _with_ids(template: str, operations: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``operations`` with an ``operationId`` each, e.g. ``get_jobs_job_id_events``."""
    words = re.sub(r"[^A-Za-z0-9]+", "_", template).strip("_")
    return {
        method: {"operationId": f"{method}_{words}", **operation} for method, operation in operations.items()
    }


def openapi_document() -> dict[str, Any]:
    """Build the OpenAPI document (paths relative to the server's base URL)."""
    from lepton_lab.core.specs import JobSpec

    spec_schema = JobSpec.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas = spec_schema.pop("$defs", {})
    schemas.update(
        JobSpec=spec_schema,
        Job=_JOB_SCHEMA,
        JobPatch=_JOB_PATCH_SCHEMA,
        Event=_EVENT_SCHEMA,
        Error=ErrorBody.model_json_schema(),
    )
    paths = {
        f"{API_PREFIX}/{template}": _with_ids(template, OPERATIONS[template])
        for template, _handler in ROUTES
        if template in OPERATIONS
    }
    # A created job's id leads to every operation on it (clients and property tests follow these).
    links = {
        operation["operationId"]: {
            "operationId": operation["operationId"],
            "parameters": {"job_id": "$response.body#/id"},
        }
        for path in paths.values()
        for operation in path.values()
        if any(parameter["name"] == "job_id" for parameter in operation["parameters"])
        and "101" not in operation["responses"]
    }
    created = paths[f"{API_PREFIX}/jobs"]["post"]["responses"]["201"]
    paths[f"{API_PREFIX}/jobs"]["post"]["responses"]["201"] = {**created, "links": links}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Lepton Lab API", "version": __version__},
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "token": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "'token <Jupyter server token>'",
                }
            },
        },
        "security": [{"token": []}],
        "paths": paths,
    }
