"""Tables of who gets in from outside the staff's log-in: wrong passwords counted for throttling,
API tokens, and the customers' single-use links. Exported by ``orderflow.core.models``."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orderflow.core.column_types import Base, UtcDateTime, utcnow

if TYPE_CHECKING:
    from orderflow.core.models.people import User
    from orderflow.core.models.workflow import HumanTask


class LoginFailure(Base):
    """A wrong password, counted per user name and per client address (orderflow/access/throttle.py)."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key", "kind", "key", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))     # "user" or "client"
    key: Mapped[str] = mapped_column(String(200))     # the user name as typed, or the client address
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class ApiToken(Base):
    """A bearer token for API clients (orderflow/access/tokens.py). Only the SHA-256 of the secret is
    kept: the secret is shown once, when the token is issued."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(8))           # the secret's first 8 characters, for lists
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    user: Mapped[User] = relationship(lazy="joined")


class CustomerLink(Base):
    """A signed, expiring, single-use link that lets a customer without an account complete their own
    step (orderflow/workflow/customer_links.py). Only the SHA-256 of the link's secret is kept."""

    __tablename__ = "customer_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("human_tasks.id", ondelete="CASCADE"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(300))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    task: Mapped[HumanTask] = relationship()
