"""Domain errors of the job manager; each carries the ``http_status`` the handlers answer with."""

from __future__ import annotations


class JobError(Exception):
    """A request about a job that cannot be served as asked."""

    http_status = 400


class JobNotFound(JobError):
    """No job has this id."""

    http_status = 404


class JobStateError(JobError):
    """The job's status does not allow the operation (cancel a finished job, resume a running one)."""

    http_status = 409
