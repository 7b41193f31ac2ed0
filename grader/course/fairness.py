"""Fair share under a burst: at most one job per student and assignment waits in the broker.

A student who uploads ten files in a minute must not push everyone else's first submission back
by ten gradings. The rule: a new submission whose student already has an earlier submission of
the same assignment ``queued`` or ``running`` is stored ``queued`` but *held*: it is not sent to
the broker (``queued_at`` NULL and no ``send_pending``: the marker of a held row, see
:func:`held_clause`). When the earlier one reaches a final status, the worker *releases* the
oldest held one: it stamps ``queued_at`` and sets ``send_pending`` (a compare-and-set, so
exactly one releaser sends it; the outbox covers a broker that is down) and sends its job, which
then joins the queue behind everything sent meanwhile. Every attempt is still graded, in upload order per student;
nothing is dropped or superseded. Regrades (instructor) are not held.

Races: :func:`is_held` runs in ``services.submit`` under the student's row lock, and
:func:`release_next` takes the same lock before it looks, so a held row is always seen by the
release that follows its earlier submission (PostgreSQL; SQLite serialises writers anyway). The
sweeper releases a held row whose earlier submissions are all final (a worker that died between
storing a result and releasing).
"""
from __future__ import annotations

import logging

from sqlalchemy import exists, select, update
from sqlalchemy.orm import aliased

from grader.course.db import db
from grader.course.models import Submission, User, utcnow
from grader.course.queue import enqueue_grading

log = logging.getLogger(__name__)

#: Statuses of a submission that is not finished yet.
PENDING = ("queued", "running")


def held_clause(model=Submission):
    """WHERE clause of held rows: ``queued``, never stamped ``queued_at``, nothing to send.
    The sweeper's re-send paths exclude them (``~held_clause()``)."""
    return ((model.status == "queued") & model.queued_at.is_(None)
            & model.send_pending.is_(False))


def is_held(student_id: int, assignment_id: int) -> bool:
    """True when the student has a submission of the assignment that is not final yet, so a
    new one must wait for it (call inside the submit transaction, under the student's lock)."""
    return db.session.scalar(
        select(exists().where(Submission.student_id == student_id,
                              Submission.assignment_id == assignment_id,
                              Submission.status.in_(PENDING)))
    ) or False


def earlier_pending(sub: Submission) -> Submission | None:
    """The newest earlier submission of the same student and assignment that is not final (the
    one ``sub`` waits for), or None."""
    return db.session.scalar(
        select(Submission).where(Submission.student_id == sub.student_id,
                                 Submission.assignment_id == sub.assignment_id,
                                 Submission.id < sub.id, Submission.status.in_(PENDING))
        .order_by(Submission.id.desc()).limit(1))


def release_next(student_id: int, assignment_id: int) -> int | None:
    """Send the oldest held submission of the pair if no earlier one is still pending.

    Commits. Returns the id sent (or released while the broker is down: the sweeper re-sends
    it), or None when nothing was waiting or an earlier submission is still pending.
    """
    # The student's row lock: a submit of the same student is either done or not yet started.
    db.session.execute(select(User.id).where(User.id == student_id).with_for_update())
    earlier = aliased(Submission)
    held = db.session.scalar(
        select(Submission.id)
        .where(Submission.student_id == student_id, Submission.assignment_id == assignment_id,
               held_clause(),
               ~exists().where(earlier.student_id == student_id,
                               earlier.assignment_id == assignment_id,
                               earlier.id < Submission.id, earlier.status.in_(PENDING)))
        .order_by(Submission.id).limit(1))
    if held is None:
        db.session.rollback()
        return None
    result = db.session.execute(
        update(Submission).where(Submission.id == held, held_clause())
        .values(queued_at=utcnow(), send_pending=True)  # the outbox, as at upload
        .execution_options(synchronize_session=False))
    db.session.commit()
    if result.rowcount != 1:
        return None  # another releaser sent it
    log.info("released submission %s (its student's earlier submission is final)", held,
             extra={"submission_id": held})
    enqueue_grading(held)
    return held


def release_after(submission_id: int) -> int | None:
    """Call after ``submission_id`` reached a final status: :func:`release_next` for its
    student and assignment. Returns the id released, or None."""
    pair = db.session.execute(select(Submission.student_id, Submission.assignment_id)
                              .where(Submission.id == submission_id)).first()
    db.session.rollback()
    return None if pair is None else release_next(*pair)
