"""Handler registry: service tasks name a handler by its registered name.

A handler is a plain function ``def name(ctx, **params) -> JSON-serialisable value``.
``ctx`` is supplied by the service and offers ``data`` (read-only copy of the task data),
``instance_id``, ``process_key``, ``config``, ``now()``, ``next_sequence(name)``,
``audit(action, detail)``, ``mail(to, subject, body)`` (queued in the outbox, sent after the commit)
and ``start_process(key, data)`` (another deployed process, same transaction). Handlers never import
flask, orderflow or SpiffWorkflow.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

Handler = Callable[..., Any]


class Refused(ValueError):
    """Raised by a handler when the data it was given breaks a rule (a payment dated in the
    future): the whole request is refused with this message on ``field`` and nothing is stored,
    instead of the step parking as an incident for a manager."""

    refuses_input = True

    def __init__(self, message: str, field: str | None = None, message_zh: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field
        self.message_zh = message_zh  # shown to Chinese readers

#: name -> handler function; filled by the ``@handler`` decorator at import time.
REGISTRY: dict[str, Handler] = {}


def handler(name: str | Callable | None = None, *, asynchronous: bool = False) -> Any:
    """Register a function as a service-task handler.

    Use as ``@handler``, ``@handler()``, ``@handler("other_name")`` or
    ``@handler(asynchronous=True)``. ``asynchronous`` marks a handler the service may run as a
    background job instead of inline; it is stored on the function as ``handler_asynchronous``.
    Registering two handlers under one name raises ``ValueError``.
    """

    def register(func: Handler, key: str | None = None) -> Handler:
        key = key or func.__name__
        if key in REGISTRY and REGISTRY[key] is not func:
            raise ValueError(f"handler name {key!r} is already registered by "
                             f"{REGISTRY[key].__module__}.{REGISTRY[key].__qualname__}")
        func.handler_name = key  # type: ignore[attr-defined]
        func.handler_asynchronous = asynchronous  # type: ignore[attr-defined]
        REGISTRY[key] = func
        return func

    if callable(name):  # bare @handler
        return register(name)
    return lambda func: register(func, name)
