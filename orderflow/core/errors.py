"""One exception hierarchy; ``web/errors.py`` maps it to HTML, htmx fragments and JSON.

Every error carries a stable ``code`` and a sentence for a person: what happened, the
value involved, and what to do next. The sentence (and each ``InvalidInput.fields`` value) is
an ``orderflow.i18n.Msg``: English as a ``str``, translated at the web edge.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class OrderflowError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, **extra: Any):
        super().__init__(message)
        self.message = message
        self.extra = extra

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.extra}


class NotAuthenticated(OrderflowError):
    status, code = 401, "not_authenticated"


class Forbidden(OrderflowError):
    status, code = 403, "forbidden"


class NotFound(OrderflowError):
    status, code = 404, "not_found"


class Conflict(OrderflowError):
    status, code = 409, "conflict"


class TaskNotReady(Conflict):
    code = "task_not_ready"


class LostRace(Conflict):
    code = "lost_race"


class RuleViolated(Conflict):
    code = "rule_violated"


class TooLarge(OrderflowError):
    status, code = 413, "too_large"


class TooManyAttempts(OrderflowError):
    """Too many failed log-ins (``orderflow/access/throttle.py``): ``retry_after`` seconds to wait."""

    status, code = 429, "too_many_attempts"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


class Unavailable(OrderflowError):
    """Something the service needs is briefly out of reach (the database connection was lost):
    nothing was saved; worth trying again after ``retry_after`` seconds."""

    status, code = 503, "unavailable"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


class InvalidInput(OrderflowError):
    """Form or JSON input that fails validation: ``fields`` maps field name to message."""

    status, code = 422, "invalid_input"

    def __init__(self, message: str, fields: Mapping[str, str] | None = None, **extra: Any):
        super().__init__(message, fields=fields or {}, **extra)
        self.fields: Mapping[str, str] = fields or {}


class DeployFailed(OrderflowError):
    """A diagram refused at deploy: ``problems`` lists element id, line and message."""

    status, code = 422, "invalid_process"

    def __init__(self, message: str, problems: list[dict[str, Any]]):
        super().__init__(message, problems=problems)
        self.problems = problems


class StepFailed(OrderflowError):
    """A script, condition or service handler failed while the engine ran a step.

    Nothing is stored: the request's transaction is rolled back and the instance stays as
    it was before the request.
    """

    status, code = 409, "step_failed"

    def __init__(self, message: str, element_id: str | None = None, cause: str | None = None):
        super().__init__(message, element_id=element_id, cause=cause)
        self.element_id = element_id
        self.cause = cause
