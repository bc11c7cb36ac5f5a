"""A recording comm for widget tests: every message a widget would send to the front end.

ipywidgets' own tests swap the comm factory for a dummy; this one keeps what is sent so tests
can assert on the messages (their count, their mimetypes, their size).
"""

from __future__ import annotations

import itertools
import json

import pytest

_ids = itertools.count()


class RecordingComm:
    """Stands in for a kernel comm; records ``send`` calls as ``(data, buffers)``."""

    kernel = "recording"

    def __init__(self, **kwargs):
        self.comm_id = kwargs.get("comm_id") or f"comm-{next(_ids)}"
        self.opened = kwargs
        self.messages = []

    def open(self, *args, **kwargs):
        pass

    def on_msg(self, *args, **kwargs):
        pass

    def on_close(self, *args, **kwargs):
        pass

    def send(self, data=None, metadata=None, buffers=None):
        self.messages.append((data, buffers))

    def close(self, *args, **kwargs):
        pass

    def updates(self, key):
        """Values of trait ``key`` in the update messages sent, oldest first."""
        return [data["state"][key] for data, _ in self.messages if data and key in data.get("state", {})]

    def sent_bytes(self):
        return sum(len(json.dumps(data)) for data, _ in self.messages if data)


@pytest.fixture(name="comms")
def comms_fixture(monkeypatch):
    """Make new widgets talk to RecordingComms; yields the list of comms created."""
    import ipywidgets.widgets.widget as widget_module

    created = []

    def create_comm(**kwargs):
        comm = RecordingComm(**kwargs)
        created.append(comm)
        return comm

    monkeypatch.setattr(widget_module.comm, "create_comm", create_comm)
    yield created
