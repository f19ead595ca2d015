"""API tokens: bearer secrets for scripts and systems outside (``Authorization: Bearer of_…``).

Only the SHA-256 of a token is stored, so the secret is shown once, when it is issued, and a
copy of the database lets nobody in. Administrators issue and revoke anyone's tokens; every user
may hold tokens of their own. Issuing and revoking are audited.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from orderflow.access import accounts
from orderflow.access.permissions import can, denial, require
from orderflow.core import audit
from orderflow.core.errors import Forbidden, InvalidInput, NotAuthenticated, NotFound
from orderflow.core.i18n import Msg
from orderflow.core.models import ApiToken, User
from orderflow.core.platform import platform_of

TOKEN_PREFIX = "of_"
# last_used_at is written at most this often per token: a busy client must not cost a write per request
TOUCH_EVERY = timedelta(minutes=1)
MAX_DAYS = 3650


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def status(row: ApiToken, now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return "active"


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def _days(value: object, default: int) -> int:
    """Validity in days: ``None`` or '' takes the default, 0 means no expiry."""
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
        raise InvalidInput(Msg("The validity must be a number of days from 0 (no expiry) to %(max)s.", max=MAX_DAYS),
                           fields={"expires_in_days": Msg("Enter a whole number of days.")})
    return value


def issue(session: Session, actor: User, username: str | None, name: object,
          expires_in_days: object = None, *, via: str) -> tuple[ApiToken, str]:
    """A new token for ``username`` (default: the actor); returns the row and the secret, which
    the caller shows once and never stores. The one code path that mints tokens, with one rule for
    the API and the pages alike: ``via`` is how the actor authenticated, and an API token never
    mints tokens (a leaked one must not mint its successors); the lifetime is at most
    ``ORDERFLOW_TOKEN_MAX_DAYS`` when set, and then a token without expiry is refused."""
    if via == "token":
        raise Forbidden(Msg("An API token cannot issue tokens; authenticate with your password."))
    if not username or username == actor.username:
        require(actor, "token.own")
        owner = actor
    else:
        require(actor, "admin.tokens")
        named = accounts.by_username(session, username)
        if named is None:
            raise InvalidInput(Msg("There is no user '%(user)s'.", user=username), fields={"user": Msg("unknown user")})
        owner = named
    fields: dict[str, str] = {}
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > 200:
        fields["name"] = Msg("Name the token (at most 200 characters), e.g. what uses it.")
    if not owner.active:
        fields["user"] = Msg("This account is deactivated.")
    config = platform_of(session).config
    limit = config.get("ORDERFLOW_TOKEN_MAX_DAYS")
    try:
        days = _days(expires_in_days, int(config.get("ORDERFLOW_TOKEN_DAYS", 365)))
        if limit and not 0 < days <= int(limit):
            raise InvalidInput(Msg("The validity must be from 1 to %(max)s days.", max=int(limit)),
                               fields={"expires_in_days": Msg("from 1 to %(max)s days", max=int(limit))})
    except InvalidInput as exc:
        fields.update(exc.fields)
    if fields:
        raise InvalidInput(Msg("The token was not issued; correct the fields marked."), fields=fields)
    now = platform_of(session).clock()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=owner.id, name=name, prefix=token[:8], token_hash=token_hash(token), created_at=now,
                   created_by=actor.username, expires_at=now + timedelta(days=days) if days else None)
    session.add(row)
    session.flush()
    audit.record(session, None, actor.username, "token_issued", None,
                 {"token_id": row.id, "user": owner.username, "name": name, "prefix": row.prefix,
                  "expires_at": row.expires_at.isoformat() if row.expires_at else None})
    return row, token


def listing(session: Session, actor: User, everyone: bool = False) -> list[ApiToken]:
    """The actor's own tokens, or with ``everyone`` (administrators) all tokens; newest first."""
    query = select(ApiToken).order_by(ApiToken.id.desc())
    if everyone:
        require(actor, "admin.tokens")
    else:
        require(actor, "token.own")
        query = query.where(ApiToken.user_id == actor.id)
    return list(session.scalars(query))


def revoke(session: Session, actor: User, token_id: int) -> ApiToken:
    """Revoke a token (again is fine: it stays revoked as it was)."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(Msg("There is no API token with id %(id)s.", id=token_id))
    if row.user_id != actor.id and not can(actor, "admin.tokens"):
        raise Forbidden(denial("admin.tokens"))
    if row.revoked_at is None:
        row.revoked_at = platform_of(session).clock()
        audit.record(session, None, actor.username, "token_revoked", None,
                     {"token_id": row.id, "user": row.user.username, "prefix": row.prefix})
    return row


def verify(session: Session, token: str) -> int:
    """The id of the user a presented token authenticates, or NotAuthenticated saying why not.
    Notes the use (at most once per ``TOUCH_EVERY``); the caller commits."""
    if not token.startswith(TOKEN_PREFIX):
        raise NotAuthenticated(Msg("This is not an Orderflow API token: they begin with 'of_'."))
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    if row is None:
        raise NotAuthenticated(Msg("This API token is not known; check it, or ask an administrator for a new one."))
    now = platform_of(session).clock()
    if row.revoked_at is not None:
        raise NotAuthenticated(Msg("This API token was revoked on %(when)s; ask an administrator for a new one.",
                                   when=_when(row.revoked_at)))
    if row.expires_at is not None and row.expires_at <= now:
        raise NotAuthenticated(Msg("This API token expired on %(when)s; ask an administrator for a new one.",
                                   when=_when(row.expires_at)))
    if not row.user.active:
        raise NotAuthenticated(Msg("The account of this API token is deactivated."))
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        # guarded: of several requests in the same minute, one writes
        session.execute(update(ApiToken).where(
            ApiToken.id == row.id, or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - TOUCH_EVERY))
            .values(last_used_at=now).execution_options(synchronize_session=False))
    return row.user_id
