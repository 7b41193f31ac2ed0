"""Housekeeping of the embedded broker (kombu's SQLAlchemy transport on a SQLite file).

kombu's SQLAlchemy transport never deletes a message it delivered: it only marks the row
``visible = false`` and stamps ``timestamp`` with the delivery time (local time). The sweeper
calls :func:`prune_delivered` so that ``broker.sqlite3`` does not grow for ever. Messages that
are still waiting (``visible``) are never touched.
"""
from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta

from sqlalchemy import Engine, create_engine, inspect, text

log = logging.getLogger(__name__)

#: Delivered messages older than this (seconds) are deleted.
PRUNE_AFTER_S = 3600.0
MESSAGE_TABLE = "kombu_message"  # kombu's default ``message_tablename``


def is_embedded(broker_url: str) -> bool:
    """True for a kombu SQLAlchemy transport URL (``sqla+…`` or ``sqlalchemy+…``)."""
    return broker_url.startswith(("sqla+", "sqlalchemy+"))


@functools.lru_cache(maxsize=4)
def _engine(database_url: str) -> Engine:
    options = {"connect_args": {"timeout": 30}} if database_url.startswith("sqlite") else {}
    return create_engine(database_url, **options)


def prune_delivered(broker_url: str, older_than_s: float = PRUNE_AFTER_S,
                    now: datetime | None = None) -> int:
    """Delete messages delivered more than ``older_than_s`` seconds ago; return how many.

    ``now`` is a naive local time (kombu's clock). Returns 0 for any other broker and before
    the transport has created its tables.
    """
    if not is_embedded(broker_url):
        return 0
    engine = _engine(broker_url.split("+", 1)[1])
    cutoff = (now or datetime.now()) - timedelta(seconds=older_than_s)
    with engine.begin() as conn:
        if not inspect(conn).has_table(MESSAGE_TABLE):
            return 0
        deleted = conn.execute(
            text(f"DELETE FROM {MESSAGE_TABLE} WHERE visible = :no AND timestamp < :cutoff"),
            {"no": False, "cutoff": cutoff},
        ).rowcount
    if deleted:
        log.info("pruned %s delivered messages from the embedded broker", deleted)
    return deleted
