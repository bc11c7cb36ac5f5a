"""Deployed models on the all-jobs ``stream`` WebSocket: ``{"type": "model", "model": Model}`` messages.

The registry calls its listeners on every state change and about once a second while a model
serves (its request rate and latency move). A state change is sent at once; other changes at most
once per ``interval_s`` per model, the latest state always sent last (:class:`.sweep_publish.Throttle`).
An undeployed model's last message carries ``"deleted": true``.
"""

from __future__ import annotations

from typing import Any

from lepton_lab.server.streams import Broadcaster
from lepton_lab.server.sweep_publish import Throttle

#: Seconds between two messages about one serving model.
PUBLISH_INTERVAL_S = 1.0


class ModelStream:
    """Publish deployed models' changes to the all-jobs stream's subscribers.

    Parameters
    ----------
    broadcaster
        The all-jobs stream (:attr:`.jobs.JobManager.broadcaster`).
    interval_s
        Seconds between two messages about one model, unless its state changes.
    """

    def __init__(self, broadcaster: Broadcaster, interval_s: float = PUBLISH_INTERVAL_S) -> None:
        self.broadcaster = broadcaster
        self.throttle = Throttle(self._send, interval_s)
        self._latest: dict[str, dict[str, Any]] = {}
        self._sent_state: dict[str, Any] = {}

    def changed(self, model: dict[str, Any]) -> None:
        """Registry listener: ``model`` (a Model dict) changed."""
        name = str(model["name"])
        self._latest[name] = model
        if self._sent_state.get(name) != model.get("state"):
            self.throttle.now(name)
        else:
            self.throttle.changed(name)

    def deleted(self, model: dict[str, Any]) -> None:
        """``model`` was undeployed: send its last message, ``"deleted": true``, at once."""
        name = str(model["name"])
        self._latest[name] = {**model, "deleted": True}
        self.throttle.now(name)
        self._latest.pop(name, None)
        self._sent_state.pop(name, None)

    def _send(self, name: str) -> None:
        model = self._latest.get(name)
        if model is None:  # undeployed while a throttled send waited
            return
        self._sent_state[name] = model.get("state")
        self.broadcaster.publish({"type": "model", "model": model})

    def close(self) -> None:
        """Send nothing more."""
        self.throttle.close()
