"""What every domain function needs besides the session and the actor.

The platform rides on the SQLAlchemy session (``session.info['platform']``), so domain
functions keep the plain ``(session, actor, ...)`` signature and never reach for Flask.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from orderflow.core.hooks import Hooks
from orderflow.engine import Runtime, SpecCache


@dataclass
class Platform:
    config: Mapping[str, Any]
    handlers: Mapping[str, Callable[..., Any]]
    forms_dir: Path
    cache: SpecCache = field(default_factory=SpecCache)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    runtime: Runtime = None  # type: ignore[assignment]
    wake: Callable[[datetime], None] | None = None  # set by the scheduler running in this process
    hooks: Hooks = field(default_factory=Hooks)  # the business on top (orderflow/orders/plug.py)

    def __post_init__(self) -> None:
        if self.runtime is None:
            self.runtime = Runtime(self.handlers, int(self.config.get("ORDERFLOW_MAX_ENGINE_STEPS", 5000)),
                                   clock=lambda: self.clock(),  # late-bound: tests swap the clock
                                   cache_bytes=int(float(self.config.get("ORDERFLOW_WORKFLOW_CACHE_MB", 0)) * 2**20),
                                   verify_cache=bool(self.config.get("ORDERFLOW_WORKFLOW_CACHE_VERIFY")))

    def load_form(self, key: str) -> dict | None:
        """A form from forms/ by key; names with path parts are refused, not resolved."""
        if not key or "/" in key or "\\" in key or key.startswith("."):
            return None
        path = self.forms_dir / f"{key}.json"
        if not path.is_file():
            return None
        return json.loads(path.read_text(encoding="utf-8"))


def platform_of(session: Session) -> Platform:
    return session.info["platform"]
