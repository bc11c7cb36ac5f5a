"""``GET openapi.json``: the OpenAPI 3.1 document of the Lepton Lab API.

Every route of :data:`lepton_lab.server.routes.ROUTES` has an entry in :data:`OPERATIONS` (a test
checks it). The component schemas are generated from the pydantic models that are the one source of
truth: specs (:mod:`lepton_lab.core.specs`), jobs (:mod:`lepton_lab.server.job_schema`) and events
(:mod:`lepton_lab.core.event_schema`); :func:`component_schemas` is also what the TypeScript types
are generated from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field, TypeAdapter
from pydantic.json_schema import models_json_schema

from lepton_lab._version import __version__
from lepton_lab.core.event_schema import EVENT_MODELS, Event
from lepton_lab.core.job_status import STATUSES
from lepton_lab.core.layer_specs import Layer
from lepton_lab.core.runmeta import NAME_MAX, NOTE_MAX
from lepton_lab.server.access import ARTIFACT_CONTENT_TYPES, DEFAULT_CONTENT_TYPE
from lepton_lab.server.bodies import MAX_DEPTH
from lepton_lab.server.job_schema import Job, JobProgress
from lepton_lab.server.routes import API_PREFIX, ROUTES
from lepton_lab.server.sweep_schema import SWEEP_MODELS


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
_SWEEP = {"$ref": "#/components/schemas/Sweep"}
_SWEEP_ID = {
    "name": "sweep_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "Sweep id (sw-...).",
}
_MODEL = {"$ref": "#/components/schemas/Model"}
_MODEL_NAME = {
    "name": "model",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[^/:]+$"},
    "description": "Deployed model name.",
}
_TF_ERROR = {
    "description": "Error, as TF Serving answers it",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PredictError"}}},
}


def _predict(parameters: list[dict[str, Any]], summary: str) -> dict[str, Any]:
    """Describe TF Serving's predict operation (``models/{model}:predict`` and its ``v1/`` forms)."""
    return _tf_serving_errors(
        _op(
            summary,
            {
                "200": _json(
                    "predictions (row request) or outputs (columnar request)",
                    {"$ref": "#/components/schemas/PredictResponse"},
                ),
                "400": {
                    **_TF_ERROR,
                    "description": "Not a predict body, or an instance of the wrong shape, dtype or range "
                    "(the message names it and the expected shape and dtype)",
                },
                "404": {**_TF_ERROR, "description": "No such model (or version)"},
                "413": {**_TF_ERROR, "description": "The body is larger than c.LeptonLabApp.max_body_bytes"},
                "503": {
                    **_TF_ERROR,
                    "description": "The model's worker is starting, restarting or failed (the message says)",
                },
            },
            parameters,
            requestBody={
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PredictRequest"}}},
            },
            description="TensorFlow Serving's REST predict API (tensorflow.org/tfx/serving/api_rest): "
            'row format {"instances": [<[H][W][C] uint8>, ...]} (or {"images": ...} per instance) answered '
            'with {"predictions": [{"probabilities": [...], "classes": k}, ...]}; columnar format '
            '{"inputs": <[n][H][W][C]>} (or {"inputs": {"images": ...}}) answered with '
            '{"outputs": {"probabilities": [[...]], "classes": [...]}}.',
        )
    )


def _tf_serving_errors(operation: dict[str, Any]) -> dict[str, Any]:
    """``operation`` with TF Serving's ``{"error"}`` body for 404 (``_op`` adds the API's own)."""
    operation["responses"]["404"] = {**_TF_ERROR, "description": "No such model (or version)"}
    return operation


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
    by_id = any(p["name"] in ("job_id", "sweep_id", "model") for p in parameters)
    errors = {"403": _ERROR, "404": _ERROR} if by_id else {"403": _ERROR}
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
            '{"type": "snapshot", "jobs": [...], "sweeps": [...], "models": [...]}, '
            '{"type": "sweep", "sweep": {...}} (the all-jobs stream: a sweep changed; at most a few per '
            'second per sweep), {"type": "model", "model": {...}} (a deployed model changed: at once on '
            'a state change, about once a second while it serves; "deleted": true once undeployed). '
            "A client that falls behind is closed with code "
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
                "200": {
                    **_json(
                        "Jobs",
                        {
                            "type": "object",
                            "required": ["jobs"],
                            "properties": {"jobs": {"type": "array", "items": _JOB}},
                        },
                    ),
                    "headers": {
                        "ETag": {
                            "schema": {"type": "string"},
                            "description": "Changes whenever the list would; send it back as If-None-Match.",
                        }
                    },
                },
                "304": {"description": "Not modified: the list is the one the If-None-Match ETag names."},
                "400": _ERROR,
            },
            [
                {
                    "name": "status",
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": f"Comma-separated statuses to keep: {', '.join(STATUSES)}.",
                },
                {
                    "name": "If-None-Match",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "An ETag from an earlier answer: 304, no body, while the list holds.",
                },
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
    "sweeps": {
        "get": _op(
            "List sweeps, newest first",
            {
                "200": _json(
                    "Sweeps",
                    {
                        "type": "object",
                        "required": ["sweeps"],
                        "properties": {"sweeps": {"type": "array", "items": _SWEEP}},
                    },
                )
            },
        ),
        "post": _op(
            "Start a hyperparameter sweep: trials of the base job, chosen by Optuna, run as jobs tagged "
            "sweep:<id> and trial:<n>; an invalid space is refused (naming space.<path>) before any trial",
            {"201": _json("The new sweep", _SWEEP), **_BODY_ERRORS, "409": _ERROR},
            requestBody={
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SweepSpec"}}},
            },
        ),
    },
    "sweeps/{sweep_id}": {
        "get": _op(
            "One sweep: state, trial counts, best trial, parameter importance",
            {"200": _json("Sweep", _SWEEP)},
            [_SWEEP_ID],
        ),
        "delete": _op(
            "Cancel a sweep: no more trials, its queued trials cancelled and its running ones stopped "
            "(their events are kept)",
            {"200": _json("Cancelled", _SWEEP), "409": _ERROR},
            [_SWEEP_ID],
        ),
    },
    "sweeps/{sweep_id}/trials": {
        "get": _op(
            "The sweep's trials by number: job, status, parameters, objective value per epoch",
            {
                "200": _json(
                    "Trials",
                    {
                        "type": "object",
                        "required": ["trials"],
                        "properties": {
                            "trials": {"type": "array", "items": {"$ref": "#/components/schemas/Trial"}}
                        },
                    },
                )
            },
            [_SWEEP_ID],
        ),
    },
}

_LIST = {"type": "array", "items": {"type": "integer"}}

OPERATIONS.update(
    {
        "jobs/{job_id}/exports": {
            "get": _op(
                "The run's exports: the export.json of each (format, quantization, size, accuracy, latency)",
                {
                    "200": _json(
                        "Exports",
                        {
                            "type": "object",
                            "required": ["exports"],
                            "properties": {
                                "exports": {"type": "array", "items": {"$ref": "#/components/schemas/Export"}}
                            },
                        },
                    )
                },
                [_JOB_ID],
            ),
            "post": _op(
                "Export the run's model (SavedModel, TFLite or ONNX, optionally quantized) in a child "
                "process, verified by scoring the test split in its own runtime",
                {
                    "201": _json("The export.json", {"$ref": "#/components/schemas/Export"}),
                    **_BODY_ERRORS,
                    "409": _ERROR,
                    "500": _ERROR,
                },
                [_JOB_ID],
                requestBody={
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ExportRequest"}}
                    },
                },
            ),
        },
        "models": {
            "get": _op(
                "Deployed models",
                {
                    "200": _json(
                        "Models",
                        {
                            "type": "object",
                            "required": ["models"],
                            "properties": {"models": {"type": "array", "items": _MODEL}},
                        },
                    )
                },
            ),
            "post": _op(
                "Deploy a run's SavedModel export (exported first if the run has none) under a name; "
                "deploying a name again serves the next version",
                {"201": _json("The deployed model", _MODEL), **_BODY_ERRORS, "404": _ERROR, "503": _ERROR},
                requestBody={
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/DeployRequest"}}
                    },
                },
            ),
        },
        "models/{model}": {
            "get": _op("One deployed model", {"200": _json("Model", _MODEL)}, [_MODEL_NAME]),
            "delete": _op(
                "Undeploy: stop the model's worker and remove the deployment (the run's export stays)",
                {
                    "200": _json(
                        "Deleted",
                        {
                            "type": "object",
                            "required": ["deleted"],
                            "properties": {"deleted": {"type": "string"}},
                        },
                    )
                },
                [_MODEL_NAME],
            ),
        },
        "models/{model}:predict": {"post": _predict([_MODEL_NAME], "Predict (TF Serving REST API)")},
        "models/{model}/metrics": {
            "get": _op(
                "The model's monitoring: requests, errors, latency p50/p95/p99, batch sizes, predicted vs "
                "training class distribution, drift score, history",
                {"200": _json("Metrics", {"type": "object"})},
                [_MODEL_NAME],
            )
        },
        "v1/models/{model}": {
            "get": _tf_serving_errors(
                _op(
                    "TF Serving's model status (GetModelStatusResponse)",
                    {
                        "200": _json(
                            "Model status",
                            {
                                "type": "object",
                                "required": ["model_version_status"],
                                "properties": {
                                    "model_version_status": {"type": "array", "items": {"type": "object"}}
                                },
                            },
                        ),
                        "404": {**_TF_ERROR, "description": "No such model"},
                    },
                    [_MODEL_NAME],
                )
            )
        },
        "v1/models/{model}:predict": {
            "post": _predict([_MODEL_NAME], "Predict (TF Serving REST API, its path)")
        },
        "v1/models/{model}/versions/{version}:predict": {
            "post": _predict(
                [
                    _MODEL_NAME,
                    {
                        "name": "version",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                        "description": "The served version (another is a 404).",
                    },
                ],
                "Predict with a given version (TF Serving REST API)",
            )
        },
        "metrics": {
            "get": _op(
                "Every deployed model's metrics in the Prometheus text exposition format (a scrape target)",
                {
                    "200": {
                        "description": "Prometheus text format 0.0.4",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            )
        },
    }
)

#: Schemas of the model and export payloads (by hand: the registry and exporter are not pydantic);
#: in openapi.json, not in the TypeScript bundle of :func:`component_schemas`.
MODEL_SCHEMAS: dict[str, Any] = {
    "Model": {
        "type": "object",
        "description": "A deployed model.",
        "required": ["name", "version", "state"],
        "properties": {
            "name": {"type": "string"},
            "version": {"type": "integer"},
            "versions": _LIST,
            "run_id": {"type": ["string", "null"]},
            "state": {"type": "string", "enum": ["starting", "ready", "restarting", "failed"]},
            "input": {"type": "object"},
            "classes": {"type": "array", "items": {"type": "string"}},
            "created": {"type": "number"},
            "pid": {"type": ["integer", "null"]},
            "error": {"type": ["string", "null"]},
            "restarts": {"type": "integer"},
            "summary": {"type": "object"},
        },
    },
    "DeployRequest": {
        "type": "object",
        "additionalProperties": False,
        "required": ["run"],
        "properties": {
            "run": {"type": "string", "minLength": 1, "description": "Run id."},
            "name": {"type": ["string", "null"], "description": "Deployment name (default: the export's)."},
            "export": {
                "type": ["string", "null"],
                "description": "SavedModel export name (default: latest).",
            },
        },
    },
    "ExportRequest": {
        "type": "object",
        "additionalProperties": False,
        "required": ["format"],
        "properties": {
            "format": {"type": "string", "enum": ["savedmodel", "tflite", "onnx"]},
            "quantize": {"type": "string", "enum": ["none", "float16", "dynamic", "int8"], "default": "none"},
            "name": {"type": ["string", "null"]},
        },
    },
    "Export": {
        "type": "object",
        "description": "An export's export.json.",
        "required": ["format"],
        "properties": {
            "format": {"type": "string"},
            "quantize": {"type": "string"},
            "path": {"type": "string"},
        },
    },
    "PredictRequest": {
        "type": "object",
        "description": "TF Serving's predict body: instances (row format) or inputs (columnar), not both.",
        "properties": {
            "signature_name": {"type": "string", "enum": ["serving_default"]},
            "instances": {"type": "array", "minItems": 1},
            "inputs": {"type": ["array", "object"]},
        },
    },
    "PredictResponse": {
        "type": "object",
        "properties": {
            "predictions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "probabilities": {"type": "array", "items": {"type": "number"}},
                        "classes": {"type": "integer"},
                    },
                },
            },
            "outputs": {
                "type": "object",
                "properties": {
                    "probabilities": {"type": "array"},
                    "classes": {"type": "array", "items": {"type": "integer"}},
                },
            },
        },
    },
    "PredictError": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
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


def _with_ids(template: str, operations: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``operations`` with an ``operationId`` each, e.g. ``get_jobs_job_id_events``."""
    words = re.sub(r"[^A-Za-z0-9]+", "_", template).strip("_")
    return {
        method: {"operationId": f"{method}_{words}", **operation} for method, operation in operations.items()
    }


#: Where a schema finds another: components of the OpenAPI document.
REF_TEMPLATE = "#/components/schemas/{model}"


def component_schemas(ref_template: str = REF_TEMPLATE) -> dict[str, Any]:
    """JSON Schemas of every payload, by name, generated from the pydantic models.

    ``Event`` is the union of the event models, discriminated on ``type``; ``JobPatch`` is the
    one schema written by hand here (its rules live in :mod:`lepton_lab.core.runmeta`).
    """
    from lepton_lab.core.specs import JobSpec

    models: list[type[BaseModel]] = [JobSpec, Job, JobProgress, ErrorBody, *EVENT_MODELS, *SWEEP_MODELS]
    _, document = models_json_schema([(model, "validation") for model in models], ref_template=ref_template)
    schemas: dict[str, Any] = document["$defs"]
    schemas["Error"] = schemas.pop("ErrorBody")
    event = TypeAdapter(Event).json_schema(ref_template=ref_template)
    event.pop("$defs", None)
    schemas["Event"] = {"description": "One line of a run's events.jsonl.", **event}
    layer = TypeAdapter(Layer).json_schema(ref_template=ref_template)
    layer.pop("$defs", None)
    schemas["LayerSpec"] = {"description": "One layer of a model spec, chosen by its type.", **layer}
    # ModelSpec's layers are LayerSpecs (pydantic writes the union out in place).
    layers = schemas["ModelSpec"]["properties"]["layers"]["anyOf"][0]
    layers["items"] = {"$ref": ref_template.format(model="LayerSpec")}
    schemas["JobPatch"] = _JOB_PATCH_SCHEMA
    return dict(sorted(schemas.items()))


def openapi_document() -> dict[str, Any]:
    """Build the OpenAPI document (paths relative to the server's base URL)."""
    # The model payloads are in the document only: the Lab panel's model types are written by hand.
    schemas = dict(sorted({**component_schemas(), **MODEL_SCHEMAS}.items()))
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
