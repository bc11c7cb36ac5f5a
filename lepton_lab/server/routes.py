"""The route table of the Lepton Lab API: URL templates under ``/lepton-lab/api/`` and their handlers.

Templates use OpenAPI's ``{name}`` syntax; :func:`tornado_pattern` turns them into Tornado
regular expressions, so the served routes and ``openapi.json`` come from the same list.
"""

from __future__ import annotations

import re
from typing import Any

from lepton_lab.server import handlers, model_handlers, sweep_handlers, websockets

#: URL prefix of every route (after the server's base URL).
API_PREFIX = "/lepton-lab/api"

#: Regular expression of each path parameter.
PARAMETER_PATTERNS = {
    "job_id": r"[^/]+",
    "sweep_id": r"[^/]+",
    "name": r".+",  # artifact names may contain '/' (tensorboard/train/...)
    "model": r"[^/:]+",  # a deployed model; ':' starts TF Serving's verb (models/digits:predict)
    "version": r"[^/:]+",  # a model version (checked in the handler, so a bad one is a JSON 404)
}

#: (template, handler) for every route; WebSocket routes end in ``stream``.
ROUTES: list[tuple[str, type[Any]]] = [
    ("status", handlers.StatusHandler),
    ("openapi.json", handlers.OpenApiHandler),
    ("jobs", handlers.JobsHandler),
    ("jobs/{job_id}", handlers.JobHandler),
    ("jobs/{job_id}/run", handlers.JobRunHandler),
    ("jobs/{job_id}/resume", handlers.JobResumeHandler),
    ("jobs/{job_id}/events", handlers.JobEventsHandler),
    ("jobs/{job_id}/evaluation", handlers.JobEvaluationHandler),
    ("jobs/{job_id}/artifacts", handlers.JobArtifactsHandler),
    ("jobs/{job_id}/artifacts/{name}", handlers.JobArtifactHandler),
    ("jobs/{job_id}/stream", websockets.JobStreamSocket),
    ("stream", websockets.JobsStreamSocket),
    ("devices", handlers.DevicesHandler),
    ("datasets", handlers.DatasetsHandler),
    ("sweeps", sweep_handlers.SweepsHandler),
    ("sweeps/{sweep_id}", sweep_handlers.SweepHandler),
    ("sweeps/{sweep_id}/trials", sweep_handlers.SweepTrialsHandler),
    ("jobs/{job_id}/exports", model_handlers.JobExportsHandler),
    ("models", model_handlers.ModelsHandler),
    # The verb routes come before models/{model}: a client that quotes ':' sends tiny%3Apredict,
    # which {model} alone would match too.
    ("models/{model}:predict", model_handlers.ModelPredictHandler),
    ("models/{model}", model_handlers.ModelHandler),
    ("models/{model}/metrics", model_handlers.ModelMetricsHandler),
    ("v1/models/{model}:predict", model_handlers.ModelPredictHandler),
    ("v1/models/{model}/versions/{version}:predict", model_handlers.ModelPredictHandler),
    ("v1/models/{model}", model_handlers.ModelStatusHandler),
    ("metrics", model_handlers.MetricsHandler),
]


#: Pattern of the ':' before TF Serving's verb (``models/digits:predict``): as sent, or
#: percent-encoded by clients that quote it (Tornado matches the path before decoding it).
COLON = "(?::|%3[Aa])"


def tornado_pattern(template: str) -> str:
    """Turn a route template into a Tornado URL pattern.

    ``jobs/{job_id}`` becomes ``/lepton-lab/api/jobs/(?P<job_id>[^/]+)``; a ``:`` matches ``:`` or
    ``%3A``.
    """

    def group(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"(?P<{name}>{PARAMETER_PATTERNS[name]})"

    return f"{API_PREFIX}/" + re.sub(
        r"\{(\w+)\}", group, re.escape(template).replace(r"\{", "{").replace(r"\}", "}").replace(":", COLON)
    )


def template_of(pattern: str) -> str:
    """Inverse of :func:`tornado_pattern`: the template a Tornado pattern was made from."""
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern.replace(COLON, ":"))
    text = text.replace("\\", "").removesuffix("$")
    return text.split(f"{API_PREFIX}/", 1)[-1]


def handler_methods(handler: type[Any]) -> list[str]:
    """HTTP methods a handler class itself implements (lower case)."""
    return [
        m
        for m in ("get", "post", "put", "patch", "delete")
        if any(m in vars(k) for k in _own_classes(handler))
    ]


def _own_classes(handler: type[Any]) -> list[type[Any]]:
    # Methods defined by Lepton Lab classes count; Tornado's and Jupyter's defaults do not.
    return [klass for klass in handler.__mro__ if klass.__module__.startswith("lepton_lab.")]
