"""Student regrade requests (issue 14): a question about one test of one submission, answered
by an instructor or a TA of the student's section from a queue.

A student asks (:func:`ask`) with a message; staff answer (:func:`answer`) with words only,
with a regrade of the submission (:func:`grader.course.services.regrade`), or with a manual
score through the bounded, audited override path
(:func:`grader.course.grade_changes.override_score`). The student sees the answer on the submission
page. Asking writes a ``regrade_request`` audit row, answering a ``regrade_answer`` row (plus
the ``regrade`` or ``override`` row of the action).
"""
from __future__ import annotations

import logging

from sqlalchemy import select

from grader.course import grade_changes, services
from grader.course.audit import audit
from grader.course.db import db
from grader.course.grade_changes import GradeChangeRefused
from grader.course.models import RegradeRequest, Submission, User, utcnow

log = logging.getLogger(__name__)

#: Longest message or answer, characters.
MAX_TEXT = 2000
#: Open requests one student may have at a time (all assignments).
MAX_OPEN_PER_STUDENT = 10
ACTIONS = ("answer", "regrade", "override")


def askable_tests(user: User, submission: Submission) -> list[str]:
    """Names of the tests ``user`` may ask about: the tests of the submission's latest run as
    the student sees them (:func:`grader.course.services.feedback_for`); none for other users,
    for a submission not graded yet, or one without results."""
    if user.id != submission.student_id or not submission.is_final:
        return []
    return [str(r.get("name") or f"test {i + 1}")
            for i, r in enumerate(services.feedback_for(user, submission))]


def ask(student: User, submission: Submission, test_name: str, message: str) -> RegradeRequest:
    """Store a regrade request of ``student`` about test ``test_name`` of ``submission``.

    Raises :class:`grader.course.grade_changes.GradeChangeRefused` (nothing stored) when the
    submission is not the student's or not graded, the test is not one of its tests, the
    message is empty or longer than :data:`MAX_TEXT`, the same test already has an open
    request, or the student has :data:`MAX_OPEN_PER_STUDENT` open requests.
    """
    tests = askable_tests(student, submission)
    if not tests:
        raise GradeChangeRefused("You can ask about a test once your submission is graded.")
    if test_name not in tests:
        raise GradeChangeRefused("Choose one of the tests of this submission.")
    message = (message or "").strip()
    if not message:
        raise GradeChangeRefused("Write what you would like checked: which result and why.")
    if len(message) > MAX_TEXT:
        raise GradeChangeRefused(f"Your message has {len(message)} characters; at most "
                                 f"{MAX_TEXT}. Shorten it and send it again.")
    open_rows = db.session.scalars(select(RegradeRequest).filter_by(
        student_id=student.id, status="open")).all()
    if any(r.submission_id == submission.id and r.test_name == test_name for r in open_rows):
        raise GradeChangeRefused(f"You already asked about '{test_name}' of this submission; "
                                 "the answer will appear here.")
    if len(open_rows) >= MAX_OPEN_PER_STUDENT:
        raise GradeChangeRefused(f"You have {len(open_rows)} open regrade requests; wait for "
                                 "answers before asking more.")
    row = RegradeRequest(submission_id=submission.id, student_id=student.id,
                         assignment_id=submission.assignment_id, test_name=test_name[:300],
                         message=message, status="open", created_at=utcnow(), answer="")
    db.session.add(row)
    audit("regrade_request", actor=student, student_id=student.id,
                   assignment_id=submission.assignment_id, submission_id=submission.id,
                   old=None, new=f"asked about: {test_name}"[:200], reason=message)
    db.session.commit()
    log.info("%s asked about %r of submission %d", student.username, test_name, submission.id)
    return row


def for_submission(submission: Submission) -> list[RegradeRequest]:
    """The regrade requests of one submission, oldest first."""
    return list(db.session.scalars(select(RegradeRequest).filter_by(
        submission_id=submission.id).order_by(RegradeRequest.created_at, RegradeRequest.id)))


def of_student(student: User) -> list[RegradeRequest]:
    """Every regrade request of ``student``, newest first."""
    return list(db.session.scalars(select(RegradeRequest).filter_by(student_id=student.id)
                                   .order_by(RegradeRequest.created_at.desc(),
                                             RegradeRequest.id.desc())))


def queue(viewer: User, status: str = "open", limit: int = 200) -> list[RegradeRequest]:
    """Requests ``viewer`` may handle (instructors: all; a TA: their sections), oldest first for
    ``open``, newest first for ``answered``; at most ``limit``."""
    query = select(RegradeRequest).join(User, User.id == RegradeRequest.student_id).where(
        RegradeRequest.status == status)
    scope = viewer.section_scope
    if scope is not None:
        query = query.where(User.section.in_(scope))
    order = (RegradeRequest.created_at, RegradeRequest.id) if status == "open" else (
        RegradeRequest.answered_at.desc(), RegradeRequest.id.desc())
    return list(db.session.scalars(query.order_by(*order).limit(limit)))


def answer(staff: User, request: RegradeRequest, text: str, action: str = "answer",
           score: float | None = None) -> RegradeRequest:
    """Answer ``request``: ``action`` ``answer`` (words only), ``regrade`` (requeue the
    submission) or ``override`` (manual ``score`` in ``[0, max]``, the answer as its reason).

    Raises :class:`grader.course.grade_changes.GradeChangeRefused` (nothing stored) when ``staff``
    may not see the student, the request is answered already, the answer is empty or too long,
    the action is unknown, or the override score is refused by
    :func:`grader.course.grade_changes.check_override_score`.
    """
    if not staff.is_staff or not staff.can_see_student(request.student):
        raise GradeChangeRefused("You cannot answer requests of this student.")
    if request.status != "open":
        raise GradeChangeRefused("This request was answered already.")
    text = (text or "").strip()
    if not text:
        raise GradeChangeRefused("Write an answer; the student sees it.")
    if len(text) > MAX_TEXT:
        raise GradeChangeRefused(f"The answer has {len(text)} characters; at most {MAX_TEXT}.")
    if action not in ACTIONS:
        raise GradeChangeRefused(f"Choose one of: {', '.join(ACTIONS)}.")
    assignment = request.assignment
    if action == "override":
        if score is None:
            raise GradeChangeRefused("Give the manual score in points.")
        grade_changes.check_override_score(assignment, score)
    request.status, request.resolution = "answered", action
    request.answer, request.answered_at, request.answered_by_id = text, utcnow(), staff.id
    audit("regrade_answer", actor=staff, student_id=request.student_id,
                   assignment_id=request.assignment_id, submission_id=request.submission_id,
                   old=f"open: {request.test_name}"[:200], new=action, reason=text)
    if action == "override":  # commits the answer with the override and its audit row
        grade_changes.override_score(staff, request.student, assignment, score,
                                f"{text} (regrade request #{request.id})")
    elif action == "regrade":  # commits too
        services.regrade(request.submission, staff, reason=f"regrade request #{request.id}")
    else:
        db.session.commit()
    log.info("%s answered regrade request %d (%s)", staff.username, request.id, action)
    return request
