"""Pruning delivered messages of the embedded broker, with kombu's real SQLAlchemy transport."""
from __future__ import annotations

from datetime import datetime, timedelta

from kombu import Connection

from worker.embedded_broker import prune_delivered


def test_prune_deletes_only_old_delivered_messages(tmp_path):
    url = f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"
    assert prune_delivered(url) == 0  # no tables yet
    with Connection(url) as conn:
        queue = conn.SimpleQueue("grading")
        for i in range(3):
            queue.put({"job": i})
        for _ in range(2):
            queue.get(timeout=5).ack()

        assert prune_delivered(url) == 0  # delivered just now: kept for an hour
        assert prune_delivered(url, now=datetime.now() + timedelta(hours=2)) == 2
        assert prune_delivered(url, now=datetime.now() + timedelta(hours=2)) == 0
        assert queue.get(timeout=5).payload == {"job": 2}  # the waiting one is intact
        queue.close()


def test_other_brokers_are_left_alone():
    assert prune_delivered("redis://127.0.0.1:6379/11", now=datetime.now()) == 0
