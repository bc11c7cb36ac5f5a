"""One TF Serving predict call, end to end: body bytes in, (HTTP status, JSON text) out.

Shared by the Jupyter extension's ``models/{model}:predict`` routes and ``lepton-lab serve``, so
both answer every request, and every error, the same way. No Tornado and no Jupyter here: the
callers write the answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from lepton_lab.server.bodies import BodyError
from lepton_lab.server.tf_serving import (
    PredictRequestError,
    error_body,
    parse_predict_bytes,
    predictions_json,
)


class Registry(Protocol):
    """The part of :class:`~lepton_lab.server.model_registry.ModelRegistry` a predict call uses."""

    def input_spec(self, name: str) -> dict[str, Any]:
        """Return the model's input spec (raising its not-found error)."""
        ...

    async def predict(self, name: str, images: np.ndarray) -> dict[str, Any]:
        """Run the model on a validated batch."""
        ...

    def metrics(self, name: str) -> Any:
        """Return the model's ModelMetrics."""
        ...


def error_status(error: Exception) -> int | None:
    """HTTP status a domain error declares, None for unexpected ones.

    Lepton Lab's errors declare ``http_status``; the model registry's (:class:`.ModelError`)
    ``status_code``.
    """
    for cls in type(error).__mro__:
        for attribute in ("http_status", "status_code"):
            status = vars(cls).get(attribute)
            if isinstance(status, int):
                return status
    return None


async def predict(
    registry: Registry,
    name: str,
    body: bytes,
    *,
    limit: int,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[int, str]:
    """Answer a TF Serving predict request for model ``name``.

    Returns
    -------
    tuple
        ``(200, '{"predictions": ...}' or '{"outputs": ...}')``, or ``(status, '{"error": message}')``:
        the answer's JSON text (written directly, the hot path's costliest step otherwise); 404 for
        an unknown model, 400 (413) for a body TF Serving would refuse, 503 while the model's
        worker is restarting or failed.

    Notes
    -----
    A refused body counts as an error in the model's metrics (the registry counts what it runs).
    """
    start = clock()
    try:
        spec = registry.input_spec(name)
    except Exception as error:
        status = error_status(error)
        if status is None:
            raise
        return status, json.dumps(error_body(str(error)))
    try:
        request = parse_predict_bytes(body, spec, limit=limit)
    except (BodyError, PredictRequestError) as error:
        registry.metrics(name).observe(max(0.0, clock() - start), 0, [], error=True)
        return error_status(error) or 400, json.dumps(error_body(str(error)))
    try:
        result = await registry.predict(name, request.images)
    except Exception as error:
        status = error_status(error)
        if status is None:
            raise
        return status, json.dumps(error_body(str(error)))
    return 200, predictions_json(result, columnar=request.columnar)
