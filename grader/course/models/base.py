"""What every model shares: aware UTC timestamps (the ``UTCDateTime`` column type, ``utcnow``)
and their ISO 8601 display.

All timestamps are timezone-aware UTC datetimes (stored as naive UTC, which works the same on
SQLite and PostgreSQL).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import DateTime, TypeDecorator


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A datetime stored as naive UTC and read back as an aware UTC datetime."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use datetime.now(timezone.utc)")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


def iso(value: datetime | None) -> str | None:
    """Format an aware datetime as ISO 8601 with a ``Z`` suffix, or None."""
    return None if value is None else value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def iso_minute(value: datetime | None) -> str | None:
    """:func:`iso` of ``value`` truncated to the whole minute (seconds and below zeroed)."""
    return None if value is None else iso(value.replace(second=0, microsecond=0))

