"""``grader.course.sweeper.sweep`` as a plain function, on the real PostgreSQL and Redis (no worker).

Jobs it sends land in the Redis lists ``grading`` (new work) and ``grading_resume`` (interrupted
jobs) of the test db, where they are counted.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from grader import create_app
from grader.course import services
from grader.course.db import db
from grader.course.models import Submission, User, utcnow
from grader.course.queue import broker_recently_down, job_time_limits
from grader.course.sweeper import BROKER_MARKER_KEY, sweep
from worker_helpers import SETTINGS, reference

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def queued(app, assignments, make_student, redis_client):
    """Store a queued submission, drop its job from Redis; returns a setter for its columns."""
    with app.app_context():
        sid = services.submit(make_student(), assignments["xor"], "x.py", reference("xor")).id
    redis_client.delete("grading")
    redis_client.set(BROKER_MARKER_KEY, "up")  # the broker kept its messages all along

    def _set(**values):
        db.session.execute(update(Submission).where(Submission.id == sid).values(**values))
        db.session.commit()
        return sid

    return _set


def test_recent_queued_submission_is_left_alone(app, queued, redis_client):
    with app.app_context():
        sid = queued(queued_at=utcnow())
        report = sweep()
        assert report.resent == [] and redis_client.llen("grading") == 0
        assert db.session.get(Submission, sid).grading_tries == 0


def test_old_queued_submission_is_resent_with_backoff(app, queued, redis_client):
    with app.app_context():
        sid = queued(queued_at=utcnow() - timedelta(seconds=SETTINGS["SWEEP_QUEUED_AFTER_SECONDS"]
                                                   + 1))
        assert sweep().resent == [sid]
        assert redis_client.llen("grading") == 1
        sub = db.session.get(Submission, sid)
        assert (sub.status, sub.grading_tries) == ("queued", 1)
        # The next re-send waits twice as long: an immediate second sweep sends nothing.
        assert sweep().resent == []
        assert redis_client.llen("grading") == 1


def test_queued_submission_gives_up_after_max_tries(app, queued, redis_client):
    with app.app_context():
        sid = queued(queued_at=utcnow() - timedelta(days=1),
                     grading_tries=SETTINGS["GRADING_MAX_TRIES"])
        assert sweep().given_up == [sid]
        sub = db.session.get(Submission, sid)
        assert sub.status == "not_gradable" and sub.score is None
        assert "grading queue 4 times" in sub.error and "regrade" in sub.error
        assert [r.outcome for r in sub.runs] == ["not_gradable"]
        assert redis_client.llen("grading") == 0


def test_stuck_running_submission_is_requeued(app, queued, redis_client):
    with app.app_context():
        hard = job_time_limits("xor")[1]
        grace = SETTINGS["SWEEP_RUNNING_GRACE_SECONDS"]
        fresh = queued(status="running", started_at=utcnow(), grading_tries=1)
        assert sweep().resent == []
        stuck = queued(started_at=utcnow() - timedelta(seconds=hard + grace + 1))
        assert stuck == fresh
        assert sweep().resent == [stuck]
        sub = db.session.get(Submission, stuck)
        assert sub.status == "queued" and sub.grading_tries == 1
        # An interrupted job goes to the resume queue, ahead of new work.
        assert redis_client.llen("grading_resume") == 1


def test_broker_down_costs_no_try(app, pg_url, queued, redis_client):
    with app.app_context():
        sid = queued(queued_at=utcnow() - timedelta(hours=1))
    down = create_app({"TESTING": True, "DATABASE_URL": pg_url, **SETTINGS,
                       "REDIS_URL": "redis://127.0.0.1:1/11"})
    with down.app_context():
        report = sweep()
        tries = db.session.get(Submission, sid).grading_tries
        db.session.remove()
        db.engine.dispose()
    assert report.unsent == [sid] and report.resent == []
    assert tries == 0


def test_outbox_rows_are_sent_by_the_next_sweep_once_the_broker_answers(app, pg_url, assignments,
                                                                        make_student,
                                                                        redis_client):
    """Uploads while the broker is down are stored with send_pending; after the first failed send
    the process does not even try the broker for a moment (the web keeps answering); the sweep
    on a reachable broker sends them all, to the new-work queue, at no try."""
    with app.app_context():
        student_id = make_student().id
    redis_client.set(BROKER_MARKER_KEY, "up")
    down = create_app({"TESTING": True, "DATABASE_URL": pg_url, **SETTINGS,
                       "REDIS_URL": "redis://127.0.0.1:1/11"})
    with down.app_context():
        student = db.session.get(User, student_id)
        ids = [services.submit(student, db.session.merge(assignments[slug]), "f.py",
                               reference(slug)).id for slug in ("xor", "chain_rule")]
        db.session.remove()
        db.engine.dispose()
        assert broker_recently_down("redis://127.0.0.1:1/11")
    with app.app_context():
        rows = [db.session.get(Submission, sid) for sid in ids]
        assert [(r.status, r.send_pending, r.grading_tries) for r in rows] == [
            ("queued", True, 0)] * 2
        db.session.rollback()
        report = sweep(utcnow() + timedelta(seconds=SETTINGS["SWEEP_OUTBOX_GRACE_SECONDS"]))
        assert report.resent == ids and not report.unsent
        rows = [db.session.get(Submission, sid) for sid in ids]
        assert [(r.send_pending, r.grading_tries) for r in rows] == [(False, 0)] * 2
    assert redis_client.llen("grading") == 2 and redis_client.llen("grading_resume") == 0


def test_a_missing_broker_marker_resends_every_queued_row(app, queued, redis_client):
    with app.app_context():
        sid = queued(queued_at=utcnow())  # recent: no other rule would send it
        assert sweep().resent == []
        redis_client.delete(BROKER_MARKER_KEY)  # Redis restarted without its data
        report = sweep()
        assert report.broker_lost_messages and report.resent == [sid]
        assert redis_client.llen("grading") == 1
        assert sweep().resent == []  # the marker is back: nothing more
