"""Login throttling: wrong passwords counted per user name and address, and per address.

Each wrong password is a row in ``login_failures``, so every app process (and every node on
one database) sees the same counts. The window slides: once a user name has
``ORDERFLOW_LOGIN_MAX_FAILURES`` failures from one client address within the last
``ORDERFLOW_LOGIN_LOCK_SECONDS`` (or a client address ``ORDERFLOW_LOGIN_MAX_FAILURES_PER_IP``
over all names), further attempts are refused
with ``TooManyAttempts`` (429) *before* the password is looked at — the same small work
whatever the password — until enough of those failures have aged out of the window. A
correct password clears the user name's failures (not the address's: one valid account must
not reset the count of an address guessing at others). A limit of 0 turns that count off.

Failures are written in their own short transaction: the request that carries a wrong
password fails and rolls back, the count must stay.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from orderflow.core.errors import TooManyAttempts
from orderflow.core.i18n import Msg
from orderflow.core.models import LoginFailure
from orderflow.core.platform import platform_of

KEY_CHARS = 200


def _settings(session: Session) -> tuple[int, int, int]:
    config = platform_of(session).config
    return (int(config.get("ORDERFLOW_LOGIN_MAX_FAILURES", 5)),
            int(config.get("ORDERFLOW_LOGIN_MAX_FAILURES_PER_IP", 20)),
            max(int(config.get("ORDERFLOW_LOGIN_LOCK_SECONDS", 300)), 1))


def _user_key(username: str, client: str | None) -> str:
    """The user name *from this address*: a stranger's guesses lock the name only for them."""
    name = (username or "")[:KEY_CHARS // 2]
    return f"{name}@{client}"[:KEY_CHARS] if client else name


def _keys(username: str, client: str | None) -> list[tuple[str, str]]:
    keys = [("user", _user_key(username, client))]
    if client:
        keys.append(("client", client[:KEY_CHARS]))
    return keys


def _side(session: Session) -> Session:
    """A session of its own on the same database, committed at once."""
    return Session(bind=session.get_bind(), expire_on_commit=False)


def check(session: Session, username: str, client: str | None = None) -> int:
    """Raise ``TooManyAttempts`` while the user name (from this address) or the address is
    locked; otherwise return how many recent failures the name has from this address (0: nothing
    to clear on success). A stranger's guesses elsewhere never lock a user out of their address."""
    per_user, per_client, window = _settings(session)
    now = platform_of(session).clock()
    since = now - timedelta(seconds=window)
    locked_until: datetime | None = None
    user_failures = 0
    for kind, key in _keys(username, client):
        limit = per_user if kind == "user" else per_client
        if limit <= 0:
            continue
        recent = list(session.scalars(select(LoginFailure.at).where(
            LoginFailure.kind == kind, LoginFailure.key == key, LoginFailure.at > since)
            .order_by(LoginFailure.at.desc()).limit(limit)))
        if kind == "user":
            user_failures = len(recent)
        if len(recent) >= limit:
            until = recent[limit - 1] + timedelta(seconds=window)
            locked_until = max(locked_until or until, until)
    if locked_until is not None:
        seconds = max(1, math.ceil((locked_until - now).total_seconds()))
        minutes = math.ceil(seconds / 60)
        message = (Msg("Too many failed log-ins; try again in a minute.") if minutes <= 1 else
                   Msg("Too many failed log-ins; try again in %(minutes)s minutes.", minutes=minutes))
        raise TooManyAttempts(message, retry_after=seconds)
    return user_failures


def failed(session: Session, username: str, client: str | None = None) -> None:
    """Count a wrong password (and forget failures older than the window)."""
    _, _, window = _settings(session)
    now = platform_of(session).clock()
    with _side(session) as side:
        side.execute(delete(LoginFailure).where(LoginFailure.at <= now - timedelta(seconds=window)))
        side.add_all([LoginFailure(kind=kind, key=key, at=now) for kind, key in _keys(username, client)])
        side.commit()


def succeeded(session: Session, username: str, client: str | None = None) -> None:
    """A correct password: the user name's failures from this address are forgotten."""
    with _side(session) as side:
        side.execute(delete(LoginFailure).where(LoginFailure.kind == "user",
                                                LoginFailure.key == _user_key(username, client)))
        side.commit()
