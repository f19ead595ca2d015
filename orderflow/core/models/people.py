"""The staff: users, the groups they belong to, and their memberships."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orderflow.core.column_types import Base, UtcDateTime, utcnow


class Group(Base):
    __tablename__ = "groups"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str | None] = mapped_column(String(200))


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # logout bumps it
    time_zone: Mapped[str | None] = mapped_column(String(64))   # IANA name; None: the company's zone
    preferences: Mapped[dict | None] = mapped_column(JSON)      # e.g. {"inbox_columns": [...]}
    groups: Mapped[list[Group]] = relationship(secondary="memberships", lazy="selectin")

    @property
    def group_ids(self) -> frozenset[str]:
        """What permissions are decided on. Authentication reads the ids with the user
        (``known_group_ids``), so a request need not load the groups themselves."""
        known = self.__dict__.get("_known_group_ids")
        return known if known is not None else frozenset(g.id for g in self.groups)

    def known_group_ids(self, ids: frozenset[str]) -> None:
        self.__dict__["_known_group_ids"] = ids


@event.listens_for(User.groups, "append")
@event.listens_for(User.groups, "remove")
@event.listens_for(User.groups, "bulk_replace")
def _groups_changed(target: User, *_args: Any, **_kw: Any) -> None:
    target.__dict__.pop("_known_group_ids", None)   # the groups now decide again


class Membership(Base):
    __tablename__ = "memberships"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[str] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
