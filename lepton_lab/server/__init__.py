"""Lepton Lab server extension: jobs, streams, devices and the REST/WebSocket API."""
