"""One way to show a time: ``2026-12-06 18:30 UTC+8``, in the company's zone
(``ORDERFLOW_DISPLAY_TIMEZONE``) or the reader's own (``users.time_zone``), always with its zone.
Pages (``web/present.local_time``), mails and notifications all format through here, so the
customer's mail and page, and the manager's board and digest, say the same time."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUTE = "%Y-%m-%d %H:%M"


def zone_named(name: Any) -> ZoneInfo | None:
    """The IANA zone ``name`` (``Asia/Shanghai``), or None when there is no such zone."""
    if not isinstance(name, str) or not name or len(name) > 64 or ".." in name or name.startswith("/"):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def company_zone(config: Mapping[str, Any]) -> ZoneInfo:
    return zone_named(config.get("ORDERFLOW_DISPLAY_TIMEZONE")) or ZoneInfo("UTC")


def zone_for(config: Mapping[str, Any], user: Any = None) -> ZoneInfo:
    """The reader's zone: their own setting when it names a zone, else the company's."""
    return zone_named(getattr(user, "time_zone", None)) or company_zone(config)


def offset_label(moment: datetime) -> str:
    """``UTC``, ``UTC+8``, ``UTC-5``, ``UTC+5:30`` for an aware local time."""
    offset = moment.utcoffset() or timedelta(0)
    if not offset:
        return "UTC"
    sign = "+" if offset > timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    hours, rest = divmod(minutes, 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def at(value: datetime | None, zone: ZoneInfo, fmt: str = MINUTE) -> str:
    """``value`` in ``zone`` with the zone named; a date-only ``fmt`` gets no zone."""
    if value is None:
        return ""
    if value.tzinfo is None:   # stored naive times are UTC
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(zone)
    text = local.strftime(fmt)
    return f"{text} {offset_label(local)}" if "%H" in fmt else text
