"""What the inbox's and the board's saved filters share: the name's rules, and who may rename or
delete one (who saved it, or an administrator; anyone else who sees it gets a 403 saying so).
Each page finds its own filters (``inbox.get_filter``, ``orders.board``) and hands the row here."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderflow.core.errors import Forbidden, InvalidInput
from orderflow.core.i18n import Msg
from orderflow.core.models import SavedFilter, User

MAX_NAME = 200      # saved_filters.name is a String(200)
ADMIN = "admin"


def checked_name(name: object) -> str:
    """The name stripped, or a 422 naming the field ``name``."""
    text = name.strip() if isinstance(name, str) else ""
    if not text or len(text) > MAX_NAME:
        raise InvalidInput(Msg("Give the filter a name of 1 to %(max)s characters.", max=MAX_NAME),
                           fields={"name": Msg("Enter a name.") if not text else
                                   Msg("Enter at most %(max)s characters.", max=MAX_NAME)})
    return text


def may_change(actor: User, row: SavedFilter) -> bool:
    """Who saved the filter, or an administrator."""
    return row.owner == actor.username or ADMIN in actor.group_ids


def rename(session: Session, actor: User, row: SavedFilter, name: object) -> SavedFilter:
    """Give a saved filter another name; its owner may not have another filter of that name on
    the same page (saving under a name replaces that filter, so two would be one)."""
    if not may_change(actor, row):
        raise Forbidden(Msg("Only %(owner)s, who saved the filter “%(name)s”, or an administrator may rename it.",
                            owner=row.owner, name=row.name))
    text = checked_name(name)
    taken = session.scalar(select(SavedFilter.id).where(
        SavedFilter.owner == row.owner, SavedFilter.page == row.page, SavedFilter.name == text,
        SavedFilter.id != row.id))
    if taken is not None:
        raise InvalidInput(Msg("There is already a saved filter named “%(name)s”; choose another name.", name=text),
                           fields={"name": Msg("This name is taken.")})
    row.name = text
    session.flush()
    return row


def delete(session: Session, actor: User, row: SavedFilter) -> None:
    if not may_change(actor, row):
        raise Forbidden(Msg("Only %(owner)s, who saved the filter “%(name)s”, or an administrator may delete it.",
                            owner=row.owner, name=row.name))
    session.delete(row)
    session.flush()
