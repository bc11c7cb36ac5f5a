"""Python client of the server's deployed models: deploy a run, predict, read its monitoring.

A deployment (``POST models``) is owned by the server: a model-server worker process serving a
run's SavedModel behind TF Serving's REST API. :class:`DeployedModel` is the client's handle on
one, in the style of :class:`lepton_lab.client.Job`: attributes reflect the last fetch, errors are
:class:`~lepton_lab.client.ApiError` carrying the server's message. :meth:`DeployedModel.predict`
sends the raw uint8 images, as the dataset stores them, exactly as a TF Serving client would
(``{"instances": ...}``); :attr:`DeployedModel.predict_url` and :attr:`DeployedModel.headers`
are what another TF Serving client needs to call it. No widgets, no TensorFlow.

Examples
--------
>>> import lepton_lab as ll
>>> model = ll.deploy(run, name="digits")                         # doctest: +SKIP
>>> model.predict(images)["classes"]                              # doctest: +SKIP
array([0, 1, 2, ...])
>>> model.metrics()["latency_ms"]                                 # doctest: +SKIP
{'p50': 1.2, 'p95': 3.4, 'p99': 5.0}
"""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from lepton_lab.client import LabClient

#: Seconds a deploy or an export may take: the server may export a SavedModel first, in a
#: child process that loads TensorFlow and scores the test split.
EXPORT_TIMEOUT_S = 600.0

#: Images per predict request (TF Serving's JSON is about 4 bytes per pixel).
PREDICT_CHUNK = 256


def run_id(run: Any) -> str:
    """Return the run id of a :class:`~lepton_lab.core.run_store.Run`, a client Job, or an id string."""
    if isinstance(run, str):
        return run
    found = getattr(run, "id", None)
    if isinstance(found, str) and found:
        return found
    raise TypeError(f"deploy takes a run, a job or a run id (str), not {type(run).__name__}")


def deploy_body(run: Any, name: str | None = None, export: str | None = None) -> dict[str, Any]:
    """Return the body of ``POST models``: ``{"run", "name"?, "export"?}``."""
    body: dict[str, Any] = {"run": run_id(run)}
    if name is not None:
        body["name"] = name
    if export is not None:
        body["export"] = export
    return body


def raw_images(images: Any, shape: list[Any] | None) -> np.ndarray:
    """``images`` as a uint8 batch ``[n, H, W, C]`` for a model whose input is ``shape``.

    One image (``[H, W, C]``, or ``[H, W]`` for one channel) becomes a batch of one; a batch
    without its channel axis gets it. Values must be the raw stored integers (0..255; digits
    0..16): floats with fractions (images scaled to [0, 1]) are refused.

    Raises
    ------
    ValueError
        Naming the shape or values received and what the model expects.
    """
    array = np.asarray(images)
    expected = [int(d) for d in (shape or [None])[1:] if d is not None]
    if expected and array.shape == tuple(expected):
        array = array[None]
    elif expected and expected[-1] == 1 and array.shape == tuple(expected[:-1]):
        array = array[None, ..., None]
    elif expected and expected[-1] == 1 and array.shape[1:] == tuple(expected[:-1]):
        array = array[..., None]
    if expected and array.shape[1:] != tuple(expected):
        raise ValueError(
            f"images have shape {list(array.shape)}; the model expects [n, {', '.join(map(str, expected))}] "
            "(or one image without the batch axis)"
        )
    if array.dtype.kind == "f":
        if array.size and np.any(array != np.round(array)):
            raise ValueError(
                "images are floats; send the raw uint8 values as the dataset stores them "
                "(0..255, digits 0..16), e.g. dataset.raw('test'), not images scaled to [0, 1]"
            )
    elif array.dtype.kind not in "iub":
        raise ValueError(f"images have dtype {array.dtype}; send uint8 values (0..255)")
    if array.size and (array.min() < 0 or array.max() > 255):
        raise ValueError(f"image values span {array.min()}..{array.max()}; uint8 holds 0..255")
    return array.astype(np.uint8)


class DeployedModel:
    """A model deployed on the server; attributes reflect the last fetch (``state`` always fetches).

    Parameters
    ----------
    client
        The :class:`~lepton_lab.client.LabClient` of the server.
    info
        The server's ``Model`` JSON (``GET models/{name}``).
    """

    def __init__(self, client: LabClient, info: dict[str, Any]) -> None:
        self.client = client
        self.info = info
        self.name: str = info["name"]

    def __repr__(self) -> str:
        return f"<DeployedModel {self.name} v{self.info.get('version')} {self.info.get('state')}>"

    def _path(self, suffix: str = "") -> str:
        return f"models/{urllib.parse.quote(self.name, safe='')}{suffix}"

    def refresh(self) -> DeployedModel:
        """Fetch the deployment's current state into :attr:`info`."""
        self.info = self.client.request("GET", self._path())
        return self

    @property
    def state(self) -> str:
        """``starting``, ``ready``, ``restarting`` or ``failed``; fetched."""
        return str(self.refresh().info["state"])

    @property
    def version(self) -> int | None:
        """The version served, as last fetched."""
        version = self.info.get("version")
        return None if version is None else int(version)

    @property
    def classes(self) -> list[str]:
        """The class names, index ``k`` for class ``k``."""
        return [str(c) for c in self.info.get("classes") or []]

    @property
    def predict_url(self) -> str:
        """TF Serving's predict URL of this model (``.../v1/models/<name>:predict``)."""
        return self.client._url(f"v1/models/{urllib.parse.quote(self.name, safe='')}:predict")

    @property
    def headers(self) -> dict[str, str]:
        """The headers a request to :attr:`predict_url` needs (the server's token)."""
        return {"Authorization": f"token {self.client.token}"} if self.client.token else {}

    def predict(self, images: Any) -> dict[str, np.ndarray]:
        """Classify raw uint8 ``images`` (``[n, H, W, C]``, or one image) on the server.

        Sent as TF Serving's row format, ``{"instances": [...]}``, in requests of at most
        :data:`PREDICT_CHUNK` images.

        Returns
        -------
        dict
            ``{"probabilities": float32 [n, classes], "classes": int64 [n]}``.

        Raises
        ------
        ValueError
            The images are not raw uint8 values of the model's input shape.
        lepton_lab.client.ApiError
            The server refused them (400, naming the expected shape) or the worker is restarting (503).
        """
        batch = raw_images(images, (self.info.get("input") or {}).get("shape"))
        probabilities: list[Any] = []
        classes: list[int] = []
        for start in range(0, len(batch), PREDICT_CHUNK):
            chunk = batch[start : start + PREDICT_CHUNK]
            answer = self.client.request("POST", self._path(":predict"), {"instances": chunk.tolist()})
            for prediction in answer["predictions"]:
                probabilities.append(prediction["probabilities"])
                classes.append(int(prediction["classes"]))
        count = len(self.classes) or (len(probabilities[0]) if probabilities else 0)
        return {
            "probabilities": np.asarray(probabilities, np.float32).reshape(len(batch), count),
            "classes": np.asarray(classes, np.int64),
        }

    def metrics(self) -> dict[str, Any]:
        """Fetch the monitoring JSON: counts, latency quantiles, batch sizes, classes, drift, history."""
        result: dict[str, Any] = self.client.request("GET", self._path("/metrics"))
        return result

    def prometheus(self) -> str:
        """Fetch the server's Prometheus text (every deployed model's series; ``GET metrics``)."""
        text: bytes = self.client.request("GET", "metrics", raw=True)
        return text.decode()

    def undeploy(self) -> None:
        """Stop the model's worker and remove the deployment (the run and its exports stay)."""
        self.client.request("DELETE", self._path())
